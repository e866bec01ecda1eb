//! The program's allocator: wasi-libc's `malloc`, except for large zeroed blocks, which come
//! straight from `memory.grow` and are handed out untouched. Which blocks, and when a freed one
//! serves again, is decided in `sluice_edge::fresh_blocks` (with the reasons and the tests);
//! this file only does the memory work.
//!
//! A freed block is kept for the next large zeroed request of this instance (zeroed again then,
//! cheaply: its pages are already in). Instances serve one request and end, so blocks are never
//! given back.

use sluice_edge::fresh_blocks::{Blocks, Resize, WASM_PAGE, Zeroed};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// The allocator; see the module's documentation.
pub(crate) struct FreshPages {
    blocks: UnsafeCell<Blocks>,
}

// SAFETY: a Compute instance runs one thread; nothing here is shared across threads.
unsafe impl Sync for FreshPages {}

impl FreshPages {
    pub(crate) const fn new() -> Self {
        FreshPages {
            blocks: UnsafeCell::new(Blocks::new()),
        }
    }

    /// The bookkeeping. SAFETY: one thread, and no caller keeps the reference across a call
    /// that takes it again.
    #[allow(clippy::mut_from_ref)]
    unsafe fn blocks(&self) -> &mut Blocks {
        unsafe { &mut *self.blocks.get() }
    }
}

unsafe impl GlobalAlloc for FreshPages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Blocks::wants(layout.size(), layout.align()) {
            return unsafe { System.alloc_zeroed(layout) };
        }
        let blocks = unsafe { self.blocks() };
        match blocks.zeroed(layout.size()) {
            Zeroed::Reuse { start } => {
                let ptr = start as *mut u8;
                unsafe { ptr.write_bytes(0, layout.size()) };
                ptr
            }
            Zeroed::Grow { pages } => {
                let previous = core::arch::wasm32::memory_grow(0, pages);
                if previous == usize::MAX {
                    return std::ptr::null_mut();
                }
                let start = previous * WASM_PAGE;
                blocks.record(start, pages);
                start as *mut u8
            }
            Zeroed::Malloc => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !unsafe { self.blocks() }.release(ptr as usize, layout.size()) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match unsafe { self.blocks() }.resize(ptr as usize, layout.size(), new_size) {
            Resize::NotOurs => unsafe { System.realloc(ptr, layout, new_size) },
            Resize::Keep => ptr,
            Resize::Move => {
                // SAFETY: the caller promises `new_size` is a valid size for `layout.align()`.
                let moved_layout =
                    unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                let moved = unsafe { System.alloc(moved_layout) };
                if !moved.is_null() {
                    let kept = layout.size().min(new_size);
                    unsafe { std::ptr::copy_nonoverlapping(ptr, moved, kept) };
                    unsafe { self.blocks() }.release(ptr as usize, layout.size());
                }
                moved
            }
        }
    }
}
