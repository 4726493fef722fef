//! A small per-thread cache of freed block allocations.
//!
//! A 1 KiB block with its header and key is about 1,060 bytes, just over
//! the largest size glibc's per-thread cache serves (1,032 bytes): past it,
//! every malloc and free goes to the shared arena and costs about twice as
//! much, which dominated a 1 KiB write. So a thread keeps the last few
//! block allocations it freed, by exact size, and reuses one when it next
//! allocates a block of that size (a write replacing a block of the same
//! size, or writes of a few common sizes, hit it every time).
//!
//! Bounds: only allocations of at most [`MAX_SIZE`] bytes are kept, at most
//! [`SLOTS`] of them per thread, so a thread holds at most
//! `SLOTS * MAX_SIZE` (160 KiB) of freed memory, usually far less; all of
//! it is returned when the thread exits. A size that finds no free slot
//! evicts (frees) the entry in the slot it maps to.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;

/// Largest allocation the cache keeps: a 4 KiB block with a key of up to
/// about 1 KiB.
pub(crate) const MAX_SIZE: usize = 5 * 1024;
/// Entries per thread: `SETS` sets of `WAYS`, a set chosen by size.
const SETS: usize = 16;
const WAYS: usize = 2;
pub(crate) const SLOTS: usize = SETS * WAYS;

#[derive(Clone, Copy)]
struct Entry {
    size: usize,
    ptr: Option<NonNull<u8>>,
}

struct Cache {
    entries: [Entry; SLOTS],
    /// Which way of each set to evict next.
    victim: [u8; SETS],
}

impl Drop for Cache {
    fn drop(&mut self) {
        for e in &self.entries {
            if let Some(ptr) = e.ptr {
                // SAFETY: the entry holds a live allocation of `size` bytes
                // made with alignment ALIGN (see `put`).
                unsafe { alloc::dealloc(ptr.as_ptr(), layout_of(e.size)) };
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache {
            entries: [Entry { size: 0, ptr: None }; SLOTS],
            victim: [0; SETS],
        })
    };
}

/// The one alignment of every allocation this cache serves (block data
/// starts at a multiple of it, see `block.rs`).
pub(crate) const ALIGN: usize = 16;

fn layout_of(size: usize) -> Layout {
    Layout::from_size_align(size, ALIGN).expect("a cached size was a valid layout")
}

fn set_of(size: usize) -> usize {
    (size / 16) % SETS
}

/// Rounds a block allocation size up so that sizes an allocator would
/// serve from the same chunk share one cache entry: to 8 past a multiple
/// of 16, which is exactly what glibc can hand out from a 16-byte-granular
/// chunk with its 8-byte header, so the rounding costs no memory there.
pub(crate) fn round(size: usize) -> Option<usize> {
    if size > MAX_SIZE {
        return Some(size);
    }
    Some((size.checked_add(7)? | 15) - 7)
}

/// Allocates `layout` (aligned to [`ALIGN`]), reusing a cached allocation of
/// the same size when there is one. Null on failure.
pub(crate) fn alloc(layout: Layout, zeroed: bool) -> *mut u8 {
    debug_assert_eq!(layout.align(), ALIGN);
    if layout.size() <= MAX_SIZE {
        let hit = CACHE
            .try_with(|c| {
                let mut c = c.try_borrow_mut().ok()?;
                let set = set_of(layout.size());
                c.entries[set * WAYS..(set + 1) * WAYS]
                    .iter_mut()
                    .find(|e| e.size == layout.size() && e.ptr.is_some())
                    .and_then(|e| e.ptr.take())
            })
            .ok()
            .flatten();
        if let Some(ptr) = hit {
            if zeroed {
                // SAFETY: the cached allocation has `layout.size()` bytes.
                unsafe { ptr.as_ptr().write_bytes(0, layout.size()) };
            }
            return ptr.as_ptr();
        }
    }
    // SAFETY: block layouts have non-zero size (they include the header).
    unsafe {
        if zeroed {
            alloc::alloc_zeroed(layout)
        } else {
            alloc::alloc(layout)
        }
    }
}

/// Frees an allocation made by [`alloc`] with the same layout, keeping it
/// for reuse by this thread when it is small enough.
///
/// # Safety
/// `ptr` must come from [`alloc`] with `layout`, and not be used again.
pub(crate) unsafe fn dealloc(ptr: NonNull<u8>, layout: Layout) {
    let kept = layout.size() <= MAX_SIZE
        && CACHE
            .try_with(|c| {
                let Ok(mut c) = c.try_borrow_mut() else {
                    return false;
                };
                let set = set_of(layout.size());
                let ways = set * WAYS..(set + 1) * WAYS;
                let slot = match c.entries[ways.clone()].iter().position(|e| e.ptr.is_none()) {
                    Some(way) => ways.start + way,
                    None => {
                        let way = c.victim[set] as usize;
                        c.victim[set] = ((way + 1) % WAYS) as u8;
                        let old = c.entries[ways.start + way];
                        if let Some(old_ptr) = old.ptr {
                            // SAFETY: evicting a live cached allocation of
                            // `old.size` bytes; it leaves the cache below.
                            unsafe { alloc::dealloc(old_ptr.as_ptr(), layout_of(old.size)) };
                        }
                        ways.start + way
                    }
                };
                c.entries[slot] = Entry {
                    size: layout.size(),
                    ptr: Some(ptr),
                };
                true
            })
            .unwrap_or(false);
    if !kept {
        // SAFETY: per this function's contract.
        unsafe { alloc::dealloc(ptr.as_ptr(), layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_monotonic_and_bounded() {
        for size in 1..=MAX_SIZE {
            let r = round(size).unwrap();
            assert!(r >= size && r < size + 16 && r % 16 == 8, "{size} -> {r}");
        }
        assert_eq!(round(MAX_SIZE + 1), Some(MAX_SIZE + 1));
        assert_eq!(round(usize::MAX), Some(usize::MAX));
    }

    #[test]
    fn freed_allocation_is_reused_for_the_same_size_only() {
        let l = layout_of(1096);
        let a = alloc(l, false);
        // SAFETY: `a` came from `alloc` with `l`.
        unsafe { dealloc(NonNull::new(a).unwrap(), l) };
        let other = layout_of(2056);
        let b = alloc(other, true);
        assert_ne!(a, b);
        let c = alloc(l, true);
        assert_eq!(a, c, "same size reuses");
        // SAFETY: zeroed on reuse; `c` has 1096 bytes.
        assert!(unsafe { std::slice::from_raw_parts(c, 1096) }
            .iter()
            .all(|&x| x == 0));
        // SAFETY: both came from `alloc` with these layouts.
        unsafe {
            dealloc(NonNull::new(b).unwrap(), other);
            dealloc(NonNull::new(c).unwrap(), l);
        }
    }
}
