//! Memory per block: a store of many 1 KiB blocks costs at most
//! `MAX_OVERHEAD` bytes per block beyond the key and data bytes: 72 bytes
//! of bookkeeping (block header, allocator chunk and rounding, and an index
//! entry of 16 bytes, a pointer and 8 key bytes, with its share of the
//! tree's nodes) plus up to 15 bytes of padding that starts the data on a
//! 16-byte boundary.
//!
//! Counted, not sampled: a global allocator wrapping the system one adds up
//! what every live allocation costs the process, so the figure is the same
//! on every run and does not depend on what the kernel keeps resident. It
//! covers everything the store allocates per block: the block (header,
//! alignment padding, key, data), the index, and the allocator's own chunk
//! header and rounding.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};

use blockmem::MemoryStore;

/// The bound the README states for 1 KiB blocks with typical keys.
const MAX_OVERHEAD: f64 = 72.0 + 15.0;
const BLOCKS: usize = 200_000;
const DATA_SIZE: usize = 1024;

/// Bytes held by live allocations, as the allocator accounts them.
static LIVE: AtomicI64 = AtomicI64::new(0);

struct Counting;

/// What one allocation costs: glibc's chunk (usable size plus its 8-byte
/// header). On other allocators, a model of the same: the request rounded
/// up to 16 bytes plus 16.
fn footprint(ptr: *mut u8, layout: Layout) -> i64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let _ = layout;
        // SAFETY: `ptr` is a live allocation from the system allocator,
        // which is glibc's malloc on this target.
        let usable = unsafe { libc::malloc_usable_size(ptr.cast()) };
        usable as i64 + 8
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = ptr;
        (layout.size().div_ceil(16) * 16 + 16) as i64
    }
}

// SAFETY: every call forwards to `System` with the caller's arguments and
// returns its result unchanged; the counter has no effect on allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(footprint(p, layout), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(footprint(ptr, layout), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn overhead_per_block_is_bounded() {
    let data = vec![7u8; DATA_SIZE];
    let keys: Vec<String> = (0..BLOCKS)
        .map(|i| {
            let mut key = String::with_capacity(48);
            write!(key, "share/content/chunk-{:07}/block-{}", i / 8, i % 8).unwrap();
            key
        })
        .collect();
    let payload: usize = keys.iter().map(|k| k.len() + DATA_SIZE).sum();

    // Counted from an empty store, so fixed costs (shards, caches) do not
    // count per block.
    let store = MemoryStore::new();
    let before = LIVE.load(Ordering::Relaxed);
    for key in &keys {
        store.write(key, &data).unwrap();
    }
    let added = LIVE.load(Ordering::Relaxed) - before;
    assert_eq!(store.block_count(), BLOCKS as u64);

    // The blocks must have gone through the global allocator, or the count
    // would miss them and the bound below would prove nothing.
    assert!(
        added >= payload as i64,
        "counted {added} bytes for {payload} bytes of keys and data: \
         the store no longer allocates through the global allocator"
    );
    let per_block = (added - payload as i64) as f64 / BLOCKS as f64;
    println!("overhead per 1 KiB block: {per_block:.1} bytes");
    assert!(
        per_block <= MAX_OVERHEAD,
        "{per_block:.1} bytes per block beyond key and data, over the {MAX_OVERHEAD} bound"
    );
    drop(store);
}
