//! A global allocator that aligns large buffers to cache lines, for the binaries that run the engine.
//!
//! The engine's maps are `Vec<f32>`s, which the system allocator aligns to 16 bytes. A 64-byte vector
//! load from a 16-byte-aligned address straddles two cache lines, and the channels-last depthwise
//! kernel loads one per tap: measured 15–20% slower on misaligned maps than on aligned ones (56×56
//! and 112×112 maps; smaller maps happened to be aligned). Allocations of 4 KiB and more are aligned
//! to 64 bytes here; smaller ones, which no kernel streams through, keep their alignment.
//!
//! Install it in a binary with `#[global_allocator] static A: convscope_cpu::alloc::CacheAligned =
//! convscope_cpu::alloc::CacheAligned;` (the CLI and the app do).

#![allow(unsafe_code)] // `GlobalAlloc` is an unsafe trait; every method forwards to `System`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Allocations this large or larger are aligned to [`LINE`].
const LARGE: usize = 4096;
/// A cache line, and one AVX-512 vector.
const LINE: usize = 64;

pub struct CacheAligned;

/// Bytes allocated through [`CacheAligned`] and not yet freed (as asked for, before alignment).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Bytes the program holds through [`CacheAligned`] now: unlike the size of wasm memory, which never
/// shrinks and grows with fragmentation too, this goes back down when values are freed (the page's
/// endurance test tells a leak from fragmentation with it).
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The layout actually requested from `System` for `layout`: the same for a given layout every time,
/// so `dealloc` and `realloc` hand `System` back the layout it allocated with.
fn aligned(layout: Layout) -> Layout {
    if layout.size() >= LARGE && layout.align() < LINE { layout.align_to(LINE).unwrap_or(layout) } else { layout }
}

// SAFETY: every method forwards to `System` with `aligned(layout)`, a valid layout (same size, a larger
// power-of-two alignment) that is a pure function of `layout`, so a block is always freed or resized
// with the layout it was allocated with. `realloc` changes alignment class only through alloc, copy
// of the smaller size, and dealloc, as `GlobalAlloc::realloc`'s default does.
unsafe impl GlobalAlloc for CacheAligned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `aligned(layout)` has the non-zero size of `layout` (the caller's contract).
        let block = unsafe { System.alloc(aligned(layout)) };
        if !block.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let block = unsafe { System.alloc_zeroed(aligned(layout)) };
        if !block.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `alloc`/`realloc` with `aligned(layout)` (the caller passes the
        // layout it allocated with, and `aligned` is deterministic).
        unsafe { System.dealloc(ptr, aligned(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = aligned(layout);
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else { return std::ptr::null_mut() };
        let new = aligned(new_layout);
        if new.align() == old.align() {
            // SAFETY: `ptr` was allocated with `old`; the new size keeps that alignment class.
            let block = unsafe { System.realloc(ptr, old, new_size) };
            if !block.is_null() {
                LIVE.fetch_add(new_size, Ordering::Relaxed);
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            }
            return block;
        }
        // SAFETY: a fresh block of `new_layout` (non-zero size: the caller's contract); both blocks are
        // valid for the smaller of the two sizes and do not overlap; `ptr` is then freed with its layout.
        unsafe {
            let fresh = self.alloc(new_layout);
            if !fresh.is_null() {
                std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests of this module run one at a time: `live_bytes` counts every test's calls.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn large_blocks_are_cache_line_aligned_and_resize_across_the_threshold() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let a = CacheAligned;
        for size in [LARGE, LARGE + 4, 1 << 20] {
            let layout = Layout::from_size_align(size, 4).expect("layout");
            // SAFETY: non-zero size; freed below with the same layout.
            let p = unsafe { a.alloc(layout) };
            assert!(!p.is_null());
            assert_eq!(p as usize % LINE, 0, "{size} bytes");
            // SAFETY: `p` came from `a` with `layout`.
            unsafe { a.dealloc(p, layout) };
        }
        // Grow a small block past the threshold and shrink it back: contents kept, alignment right.
        let small = Layout::from_size_align(64, 4).expect("layout");
        // SAFETY: non-zero sizes; each pointer is resized or freed with the layout it has.
        unsafe {
            let p = a.alloc(small);
            p.write_bytes(7, 64);
            let big = a.realloc(p, small, 2 * LARGE);
            assert_eq!(big as usize % LINE, 0);
            assert_eq!(*big.add(63), 7);
            let back = a.realloc(big, Layout::from_size_align(2 * LARGE, 4).expect("layout"), 32);
            assert_eq!(*back.add(31), 7);
            a.dealloc(back, Layout::from_size_align(32, 4).expect("layout"));
        }
    }

    /// The count follows every allocation, resize and free made through the allocator (this test
    /// binary's allocations go to `System`, so only these calls move it).
    #[test]
    fn live_bytes_count_what_is_held() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let a = CacheAligned;
        let before = live_bytes();
        let small = Layout::from_size_align(100, 4).expect("layout");
        let large = Layout::from_size_align(3 * LARGE, 4).expect("layout");
        // SAFETY: non-zero sizes; each pointer is resized or freed with the layout it has.
        unsafe {
            let p = a.alloc(small);
            let q = a.alloc_zeroed(large);
            assert_eq!(live_bytes(), before + 100 + 3 * LARGE);
            let p = a.realloc(p, small, 2 * LARGE); // across the alignment threshold
            let q = a.realloc(q, large, 5 * LARGE); // within it
            assert_eq!(live_bytes(), before + 2 * LARGE + 5 * LARGE);
            a.dealloc(p, Layout::from_size_align(2 * LARGE, 4).expect("layout"));
            a.dealloc(q, Layout::from_size_align(5 * LARGE, 4).expect("layout"));
        }
        assert_eq!(live_bytes(), before);
    }
}
