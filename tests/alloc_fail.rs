//! Removing blocks never needs memory, so running out of it cannot crash
//! a delete or leave a prefix deletion half done.
//!
//! A global allocator that refuses every allocation past a count, on the
//! test's own thread only, runs deletes with no memory at all, and prefix
//! deletions with their allocations cut off at every point in turn. A
//! refused allocation that the store did not ask for fallibly aborts the
//! process, so the test fails then too.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use blockmem::{Error, MemoryStore, Options};

thread_local! {
    /// How many more allocations this thread may make; `None`: no limit.
    static ALLOWED: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Whether to refuse this allocation, counting it against the allowance.
fn refuse() -> bool {
    ALLOWED
        .try_with(|allowed| match allowed.get() {
            None => false,
            Some(0) => true,
            Some(n) => {
                allowed.set(Some(n - 1));
                false
            }
        })
        .unwrap_or(false)
}

struct Refusing;

// SAFETY: every call goes to the system allocator unchanged, or returns
// null, which is how an allocator reports failure.
unsafe impl GlobalAlloc for Refusing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refuse() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refuse() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if refuse() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Refusing = Refusing;

/// Runs `f` with at most `n` allocations allowed on this thread.
fn with_allowance<R>(n: usize, f: impl FnOnce() -> R) -> R {
    ALLOWED.with(|a| a.set(Some(n)));
    let result = f();
    ALLOWED.with(|a| a.set(None));
    result
}

/// Keys shaped like a file system's blocks, `files` files of 8 blocks,
/// in a shuffled order (a fixed one: a linear congruential sequence).
fn keys(files: usize) -> Vec<String> {
    let mut keys: Vec<String> = (0..files * 8)
        .map(|i| format!("share/content/file-{}/block-{}", i / 8, i % 8))
        .collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in (1..keys.len()).rev() {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        keys.swap(i, (x >> 33) as usize % (i + 1));
    }
    keys
}

/// A store in store mode, or in cache mode (with a cap it never reaches).
fn store(cache_mode: bool) -> MemoryStore {
    if !cache_mode {
        return MemoryStore::new();
    }
    MemoryStore::with_options(Options {
        max_bytes: 1 << 30,
        evict: true,
        ..Options::default()
    })
}

fn mode(cache_mode: bool) -> &'static str {
    if cache_mode {
        "cache mode"
    } else {
        "store mode"
    }
}

#[test]
fn deletes_need_no_memory() {
    for cache_mode in [false, true] {
        let (mode, store) = (mode(cache_mode), store(cache_mode));
        // Enough keys for many leaves of the key order and for the shard
        // tables to grow, so that deleting them all empties leaves and
        // shrinks tables (each of which allocated before).
        let keys = keys(4096);
        for key in &keys {
            store.write(key, b"data").unwrap();
        }
        let mut results: Vec<bool> = Vec::with_capacity(keys.len());
        with_allowance(0, || {
            for key in &keys {
                results.push(store.delete(key).unwrap_or(false));
            }
        });
        assert!(results.iter().all(|&r| r), "{mode}: every delete succeeds");
        assert_eq!(store.block_count(), 0, "{mode}");
        assert_eq!(store.total_size(), 0, "{mode}");
        assert!(store.list("").unwrap().is_empty(), "{mode}");
        store
            .write("share/content/file-0/block-0", b"again")
            .unwrap();
        assert_eq!(store.list("share/").unwrap().len(), 1, "{mode}");
    }
}

#[test]
fn prefix_deletion_out_of_memory_removes_all_or_nothing() {
    // One file prefix with more keys than one scan returns (so the
    // deletion copies a key to go on from), among other files.
    const FILES: usize = 256;
    let under = |key: &str| key.starts_with("share/content/file-1");
    for cache_mode in [false, true] {
        let mode = mode(cache_mode);
        let mut failures = 0;
        for allowance in 0.. {
            let store = store(cache_mode);
            let keys = keys(FILES);
            for key in &keys {
                store.write(key, key.as_bytes()).unwrap();
            }
            let matching = keys.iter().filter(|k| under(k)).count();
            assert!(matching > 256, "more than one scan's batch");
            let result =
                with_allowance(allowance, || store.delete_by_prefix("share/content/file-1"));
            match result {
                Err(Error::OutOfMemory { .. }) => {
                    failures += 1;
                    assert_eq!(
                        store.block_count(),
                        keys.len() as u64,
                        "{mode}: nothing removed"
                    );
                    for key in &keys {
                        assert_eq!(&store.read(key).unwrap()[..], key.as_bytes(), "{mode}");
                    }
                }
                Ok(deleted) => {
                    assert_eq!(deleted.blocks, matching as u64, "{mode}: all removed");
                    for key in &keys {
                        assert_eq!(store.exists(key).unwrap(), !under(key), "{mode}: {key}");
                    }
                    assert_eq!(
                        store.list("share/").unwrap().len(),
                        keys.len() - matching,
                        "{mode}"
                    );
                    break;
                }
                Err(e) => panic!("{mode}: {e}"),
            }
        }
        assert!(
            failures > 0,
            "{mode}: the collection allocates, so an allowance of 0 fails"
        );
    }
}

#[test]
fn listing_out_of_memory_is_an_error() {
    const FILES: usize = 256;
    let store = store(false);
    let keys = keys(FILES);
    for key in &keys {
        store.write(key, key.as_bytes()).unwrap();
    }
    let prefix = "share/content/file-1";
    let matching = keys.iter().filter(|k| k.starts_with(prefix)).count();
    for page in [0, 100] {
        let want = if page == 0 { matching } else { page };
        let mut failures = 0;
        for allowance in 0.. {
            let result = with_allowance(allowance, || store.list_page(prefix, None::<&str>, page));
            match result {
                Err(Error::OutOfMemory { .. }) => failures += 1,
                Ok(listing) => {
                    assert_eq!(listing.len(), want, "page {page}");
                    break;
                }
                Err(e) => panic!("page {page}: {e}"),
            }
        }
        assert!(failures > 0, "page {page}: a listing allocates");
    }
    assert_eq!(store.block_count(), keys.len() as u64);
}
