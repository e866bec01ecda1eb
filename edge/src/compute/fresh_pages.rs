//! The program's allocator: wasi-libc's `malloc`, except for large zeroed blocks, which come
//! straight from `memory.grow`.
//!
//! Why: every request runs in a fresh instance whose memory has never been touched, and
//! wasi-libc's `calloc` zero-fills what it hands out, so a large zeroed buffer costs a page
//! fault for every 4 KiB of it before it is used. The brotli decoder's window (4 MiB for a
//! common origin) and the encoder's tables are such buffers: measured under Viceroy, they made
//! a brotli response take about 2,200 minor page faults where a gzip one takes about 230
//! (BENCHMARKS.md). Pages `memory.grow` adds are zero already; handed out untouched, they
//! fault only where the program writes.
//!
//! A freed block is kept for the next large request of this instance (zeroed again then, which
//! is cheap: its pages are already in). Instances serve one request and end, so blocks are
//! never returned to the heap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// Zeroed blocks at least this large come from fresh pages: the codecs' windows and tables,
/// allocated once per stream. (At 64 KiB the brotli encoder's smaller, changing buffers took
/// blocks too, and a Next.js brotli response grew from 15.6 to 19.2 MiB.)
const LARGE: usize = 512 * 1024;
/// WebAssembly's page size.
const WASM_PAGE: usize = 64 * 1024;
/// The most fresh blocks one instance tracks; past that, large blocks come from `malloc`.
const SLOTS: usize = 32;

#[derive(Clone, Copy)]
struct Block {
    start: usize,
    len: usize,
    in_use: bool,
}

/// The allocator; see the module's documentation.
pub(crate) struct FreshPages {
    blocks: UnsafeCell<[Option<Block>; SLOTS]>,
}

// SAFETY: a Compute instance runs one thread; nothing here is shared across threads.
unsafe impl Sync for FreshPages {}

impl FreshPages {
    pub(crate) const fn new() -> Self {
        FreshPages {
            blocks: UnsafeCell::new([None; SLOTS]),
        }
    }

    /// The tracked blocks. SAFETY: single-threaded, and no caller holds the reference across
    /// another allocation.
    #[allow(clippy::mut_from_ref)]
    unsafe fn blocks(&self) -> &mut [Option<Block>; SLOTS] {
        unsafe { &mut *self.blocks.get() }
    }

    /// The tracked block that starts at `ptr`, if any.
    #[allow(clippy::mut_from_ref)]
    unsafe fn owner(&self, ptr: *mut u8) -> Option<&mut Block> {
        let blocks = unsafe { self.blocks() };
        blocks
            .iter_mut()
            .flatten()
            .find(|block| block.start == ptr as usize)
    }

    /// A zeroed block of at least `size` bytes: a free tracked one (zeroed again), or fresh
    /// pages. `None` when neither is possible (the caller falls back to `malloc`).
    unsafe fn take_zeroed(&self, size: usize) -> Option<*mut u8> {
        let blocks = unsafe { self.blocks() };
        let reusable = blocks
            .iter_mut()
            .flatten()
            .filter(|block| !block.in_use && block.len >= size)
            .min_by_key(|block| block.len);
        if let Some(block) = reusable {
            block.in_use = true;
            let ptr = block.start as *mut u8;
            unsafe { ptr.write_bytes(0, size) };
            return Some(ptr);
        }
        let slot = blocks.iter_mut().find(|slot| slot.is_none())?;
        let pages = size.div_ceil(WASM_PAGE);
        let previous = core::arch::wasm32::memory_grow(0, pages);
        if previous == usize::MAX {
            return None;
        }
        let start = previous * WASM_PAGE;
        *slot = Some(Block {
            start,
            len: pages * WASM_PAGE,
            in_use: true,
        });
        Some(start as *mut u8)
    }
}

unsafe impl GlobalAlloc for FreshPages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE
            && layout.align() <= WASM_PAGE
            && let Some(ptr) = unsafe { self.take_zeroed(layout.size()) }
        {
            return ptr;
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // A tracked block is always at least LARGE (see `realloc`): smaller ones are malloc's.
        if layout.size() >= LARGE
            && let Some(block) = unsafe { self.owner(ptr) }
        {
            block.in_use = false;
            return;
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let owned = if layout.size() >= LARGE {
            unsafe { self.owner(ptr) }
        } else {
            None
        };
        let Some(block) = owned else {
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        if (LARGE..=block.len).contains(&new_size) {
            return ptr;
        }
        // Out of its block (or below LARGE): into malloc's memory, and the block is free again.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let moved = unsafe { System.alloc(new_layout) };
        if !moved.is_null() {
            let kept = layout.size().min(new_size);
            unsafe { std::ptr::copy_nonoverlapping(ptr, moved, kept) };
            block.in_use = false;
        }
        moved
    }
}
