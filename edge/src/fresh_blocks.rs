//! Which large zeroed blocks the program's allocator hands out from fresh WebAssembly pages,
//! and which of them are free again: the bookkeeping, in safe code that tests natively. The
//! allocator itself (`compute/fresh_pages.rs`) does the memory work this decides.
//!
//! Why fresh pages: each request runs in a fresh instance whose memory has never been touched,
//! and wasi-libc's `calloc` writes zeros over what it hands out, a page fault per 4 KiB before
//! the buffer is used. Pages `memory.grow` adds are zero already.

/// Zeroed blocks at least this large come from fresh pages: the codecs' windows and tables,
/// allocated once per stream. (At 64 KiB the brotli encoder's smaller, changing buffers took
/// blocks too, and a Next.js brotli response's heap grew further.)
pub const LARGE: usize = 512 * 1024;
/// WebAssembly's page size.
pub const WASM_PAGE: usize = 64 * 1024;
/// The most blocks one instance tracks; past that, large blocks come from `malloc`.
const SLOTS: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    start: usize,
    len: usize,
    in_use: bool,
}

/// The blocks of one instance.
///
/// ```
/// use sluice_edge::fresh_blocks::{Blocks, Zeroed, LARGE};
/// let mut blocks = Blocks::new();
/// assert_eq!(blocks.zeroed(LARGE), Zeroed::Grow { pages: 8 });
/// blocks.record(1 << 20, 8);
/// assert!(blocks.release(1 << 20, LARGE));
/// assert_eq!(blocks.zeroed(LARGE), Zeroed::Reuse { start: 1 << 20 });
/// ```
#[derive(Debug)]
pub struct Blocks {
    slots: [Option<Block>; SLOTS],
}

/// Where a zeroed block comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zeroed {
    /// A free block, marked in use: the caller zeroes the bytes it asked for (its pages are in).
    Reuse {
        /// Its address.
        start: usize,
    },
    /// Fresh pages: the caller grows memory by `pages` and [`records`](Blocks::record) them.
    Grow {
        /// How many WebAssembly pages.
        pages: usize,
    },
    /// No slot left: the caller asks `malloc`.
    Malloc,
}

/// What happens to a block asked to change size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resize {
    /// Not one of these blocks: `malloc`'s to resize.
    NotOurs,
    /// It still fits: the same address.
    Keep,
    /// It leaves its block (larger than it, or below [`LARGE`]): the caller moves it into
    /// `malloc`'s memory, then [`releases`](Blocks::release) the block.
    Move,
}

impl Default for Blocks {
    fn default() -> Self {
        Self::new()
    }
}

impl Blocks {
    /// No blocks yet.
    pub const fn new() -> Self {
        Blocks {
            slots: [None; SLOTS],
        }
    }

    /// Whether a zeroed allocation of `size` bytes aligned to `align` is one for fresh pages.
    pub fn wants(size: usize, align: usize) -> bool {
        size >= LARGE && align <= WASM_PAGE
    }

    /// Where a zeroed block of `size` bytes comes from: the smallest free block that holds it,
    /// else fresh pages if a slot is left.
    pub fn zeroed(&mut self, size: usize) -> Zeroed {
        let reusable = self
            .slots
            .iter_mut()
            .flatten()
            .filter(|block| !block.in_use && block.len >= size)
            .min_by_key(|block| block.len);
        if let Some(block) = reusable {
            block.in_use = true;
            return Zeroed::Reuse { start: block.start };
        }
        if self.slots.iter().any(Option::is_none) {
            Zeroed::Grow {
                pages: size.div_ceil(WASM_PAGE),
            }
        } else {
            Zeroed::Malloc
        }
    }

    /// Records `pages` fresh pages at `start`, in use, after a [`Zeroed::Grow`] (which is only
    /// answered while a slot is free: a block handed out untracked would later be given to
    /// `malloc` to free).
    pub fn record(&mut self, start: usize, pages: usize) {
        let slot = self
            .slots
            .iter_mut()
            .find(|slot| slot.is_none())
            .expect("Zeroed::Grow is answered only while a slot is free");
        *slot = Some(Block {
            start,
            len: pages * WASM_PAGE,
            in_use: true,
        });
    }

    /// Frees the block at `start` (allocated with `size` bytes); false when it is not one of
    /// these (a block is always at least [`LARGE`], so smaller ones are `malloc`'s at once).
    pub fn release(&mut self, start: usize, size: usize) -> bool {
        match self.find(start, size) {
            Some(block) => {
                block.in_use = false;
                true
            }
            None => false,
        }
    }

    /// What happens when the allocation at `start` of `size` bytes is asked to be `new_size`.
    pub fn resize(&mut self, start: usize, size: usize, new_size: usize) -> Resize {
        match self.find(start, size) {
            None => Resize::NotOurs,
            Some(block) if (LARGE..=block.len).contains(&new_size) => Resize::Keep,
            Some(_) => Resize::Move,
        }
    }

    fn find(&mut self, start: usize, size: usize) -> Option<&mut Block> {
        if size < LARGE {
            return None;
        }
        self.slots
            .iter_mut()
            .flatten()
            .find(|block| block.start == start && block.in_use)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn small_or_over_aligned_allocations_are_mallocs() {
        assert!(!Blocks::wants(LARGE - 1, 8));
        assert!(!Blocks::wants(LARGE, 2 * WASM_PAGE));
        assert!(Blocks::wants(4 * MIB, 16));
    }

    #[test]
    fn a_freed_block_serves_the_next_request_that_fits_it_best() {
        let mut blocks = Blocks::new();
        assert_eq!(blocks.zeroed(4 * MIB), Zeroed::Grow { pages: 64 });
        blocks.record(8 * MIB, 64);
        assert_eq!(blocks.zeroed(MIB), Zeroed::Grow { pages: 16 });
        blocks.record(16 * MIB, 16);
        assert!(blocks.release(8 * MIB, 4 * MIB));
        assert!(blocks.release(16 * MIB, MIB));

        assert_eq!(blocks.zeroed(LARGE), Zeroed::Reuse { start: 16 * MIB });
        assert_eq!(blocks.zeroed(2 * MIB), Zeroed::Reuse { start: 8 * MIB });
        assert_eq!(blocks.zeroed(2 * MIB), Zeroed::Grow { pages: 32 });
    }

    #[test]
    fn only_blocks_in_use_are_released_and_only_once() {
        let mut blocks = Blocks::new();
        blocks.record(8 * MIB, 16);
        assert!(!blocks.release(9 * MIB, MIB), "not a block's start");
        assert!(!blocks.release(8 * MIB, 64), "too small to be a block");
        assert!(blocks.release(8 * MIB, MIB));
        assert!(!blocks.release(8 * MIB, MIB), "already free");
    }

    #[test]
    fn a_block_keeps_what_fits_and_moves_out_what_does_not() {
        let mut blocks = Blocks::new();
        blocks.record(8 * MIB, 16);
        assert_eq!(blocks.resize(8 * MIB, MIB, MIB - 4096), Resize::Keep);
        assert_eq!(blocks.resize(8 * MIB, MIB, MIB + 1), Resize::Move);
        assert_eq!(blocks.resize(8 * MIB, MIB, LARGE - 1), Resize::Move);
        assert_eq!(blocks.resize(4 * MIB, MIB, 2 * MIB), Resize::NotOurs);
        assert_eq!(blocks.resize(8 * MIB, 4096, 8192), Resize::NotOurs);
    }

    #[test]
    fn with_every_slot_taken_large_blocks_come_from_malloc() {
        let mut blocks = Blocks::new();
        for i in 0..SLOTS {
            blocks.record((i + 1) * 16 * MIB, 8);
        }
        assert_eq!(blocks.zeroed(LARGE), Zeroed::Malloc);
    }
}
