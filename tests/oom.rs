//! `OutOfMemory` is a typed error, never an abort, and a failed write
//! changes nothing.
//!
//! A block too large to allocate cannot be built from safe Rust (its source
//! slice would have to exist first), so this test maps a large source that
//! is never touched, then lowers the process's address-space limit
//! (`RLIMIT_AS`) to just above what is in use: the store's copy of the
//! source cannot be allocated, while small allocations still succeed.
//!
//! The limit is process-wide, so this file holds exactly one test and runs
//! every check inside it, in order.

#![cfg(target_os = "linux")]

use std::ptr::null_mut;

use blockmem::{Error, MemoryStore, Options};

mod common;

/// A read-only, never-touched mapping of zero bytes: it takes address
/// space but no memory.
struct Source {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Source {
    fn map(len: usize) -> Source {
        // SAFETY: an anonymous private mapping with no address hint.
        let ptr = unsafe {
            libc::mmap(
                null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "cannot map a {len}-byte source");
        Source { ptr, len }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is readable for `len` bytes while `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// Lowers RLIMIT_AS for as long as it lives; restores the old limit on drop.
struct AddressLimit {
    old: libc::rlimit,
}

impl AddressLimit {
    /// `None` when the limit cannot be set (the test is then skipped).
    fn set(limit: u64) -> Option<AddressLimit> {
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `old` is a valid out-pointer.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut old) } != 0 {
            return None;
        }
        let new = libc::rlimit {
            rlim_cur: limit.min(old.rlim_cur),
            rlim_max: old.rlim_max,
        };
        // SAFETY: `new` is a valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_AS, &new) } != 0 {
            return None;
        }
        Some(AddressLimit { old })
    }
}

impl Drop for AddressLimit {
    fn drop(&mut self) {
        // Raising the soft limit back up to the unchanged hard limit is
        // always allowed.
        // SAFETY: `old` is the rlimit read before lowering it.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &self.old) };
        assert_eq!(rc, 0, "restoring RLIMIT_AS");
    }
}

const SOURCE_LEN: usize = 1 << 30;
const MARGIN: u64 = 128 << 20;
/// Larger than [`MARGIN`], so a copy of a key this long cannot be made
/// under the limit.
const HUGE_KEY: usize = 192 << 20;

#[test]
fn out_of_memory_is_a_typed_error_and_changes_nothing() {
    let store = MemoryStore::new();
    store.write("a", b"first").unwrap();
    store.write("b", vec![7u8; 1000]).unwrap();
    let capped = MemoryStore::with_options(Options {
        max_bytes: 4 << 30,
        max_block_size: 2 << 30,
        ..Options::default()
    });
    capped.write("a", b"first").unwrap();
    // A store whose full listing (key bytes alone: 256 MiB) cannot be
    // allocated under the limit, although every key is already stored.
    let many = MemoryStore::with_options(Options {
        max_key_len: 4096,
        ..Options::default()
    });
    let mut long_key = vec![b'k'; 4096];
    for i in 0..(1u32 << 16) {
        long_key[4092..].copy_from_slice(&i.to_be_bytes());
        many.write(&long_key, b"").unwrap();
    }
    // A cache whose only block has a key larger than the margin: making
    // room for another block means copying that key (the eviction queues
    // name their blocks by key), which cannot be allocated.
    let cache = MemoryStore::with_options(Options {
        max_bytes: 1000,
        max_key_len: HUGE_KEY,
        evict: true,
        ..Options::default()
    });
    let huge_key = vec![b'h'; HUGE_KEY];
    cache.write(&huge_key, [1u8; 600]).unwrap();
    let source = Source::map(SOURCE_LEN);
    let big = source.bytes();

    let limit = common::status_bytes("VmSize") + MARGIN;
    let Some(guard) = AddressLimit::set(limit) else {
        println!("SKIPPED: setrlimit(RLIMIT_AS) failed; cannot provoke OutOfMemory here");
        return;
    };

    // A new block that cannot be allocated.
    match store.write("big", big) {
        Err(Error::OutOfMemory { size }) => assert!(size >= SOURCE_LEN as u64, "size {size}"),
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    // Replacing an existing block: the old one stays.
    assert!(matches!(
        store.write("a", big),
        Err(Error::OutOfMemory { .. })
    ));
    // On a store with limits that the block satisfies.
    assert!(matches!(
        capped.write("big", big),
        Err(Error::OutOfMemory { .. })
    ));

    // A listing too large to allocate.
    assert!(matches!(many.list(""), Err(Error::OutOfMemory { .. })));
    assert_eq!(many.block_count(), 1 << 16);
    assert_eq!(many.list_page("", None::<&[u8]>, 2).unwrap().len(), 2);
    // A prefix deletion whose list of keys cannot be allocated removes
    // nothing.
    assert!(matches!(
        many.delete_by_prefix("kkkk"),
        Err(Error::OutOfMemory { .. })
    ));
    assert_eq!(many.block_count(), 1 << 16);
    assert_eq!(many.stat(&long_key), Ok(0));
    assert_eq!(many.list_page("", None::<&[u8]>, 3).unwrap().len(), 3);

    // Running out of memory while evicting: a typed error, and nothing
    // changed, not even the block that was about to go.
    assert!(matches!(
        cache.write("small", [2u8; 600]),
        Err(Error::OutOfMemory { .. })
    ));
    assert_eq!((cache.block_count(), cache.total_size()), (1, 600));
    assert_eq!(cache.stat(&huge_key), Ok(600));
    assert_eq!(cache.read("small"), Err(Error::NotFound));
    assert_eq!(cache.stats().evictions, 0);

    // Nothing changed, and small operations still work under the limit.
    assert_eq!(store.block_count(), 2);
    assert_eq!(store.total_size(), 1005);
    assert_eq!(&store.read("a").unwrap()[..], b"first");
    assert_eq!(store.read("big"), Err(Error::NotFound));
    assert_eq!(store.list("").unwrap().len(), 2);
    store.write("small", b"still works").unwrap();
    assert_eq!(&store.read("small").unwrap()[..], b"still works");
    assert_eq!(store.block_count(), 3);
    assert_eq!((capped.block_count(), capped.total_size()), (1, 5));
    capped.write("small", b"ok").unwrap();

    drop(guard);
    // With the limit lifted, the eviction goes through.
    cache.write("small", [2u8; 600]).unwrap();
    assert_eq!(cache.stat(&huge_key), Err(Error::NotFound));
    assert!(cache.total_size() <= 1000);
    assert!(cache.stats().evictions >= 1);
    // With the limit lifted, the deletion goes through.
    let all = many.delete_by_prefix("kkkk").unwrap();
    assert_eq!((all.blocks, many.block_count()), (1 << 16, 0));
    // With the limit lifted, a large block fits again (64 MiB, touched).
    store.write("big", vec![1u8; 64 << 20]).unwrap();
    assert_eq!(store.stat("big"), Ok(64 << 20));
    assert_eq!(store.total_size(), 1005 + 11 + (64 << 20));
}
