//! The C ABI from Rust, for what the C suite (`bindings/c/tests`, which
//! tests the ABI as C callers use it) cannot express well:
//! - options structs whose `struct_size` ends inside a field, built as
//!   Rust values of every size;
//! - with the `fault-injection` feature, the panic boundary of every
//!   exported function that takes the store lock, driven from one table.

use std::mem::size_of;
use std::ptr::null_mut;

use blockmem::ffi::blockmem_status::*;
use blockmem::ffi::*;

/// An owned handle, freed on drop (as a C caller would, exactly once).
struct Handle(*mut blockmem_store);

impl Handle {
    fn with(options: *const blockmem_options) -> Handle {
        let mut h = null_mut();
        // SAFETY: `options` is NULL or a whole struct (the callers' duty);
        // `h` is writable.
        let st = unsafe { blockmem_store_new(options, &mut h) };
        assert_eq!(st, BLOCKMEM_STATUS_OK);
        assert!(!h.is_null());
        Handle(h)
    }

    fn p(&self) -> *const blockmem_store {
        self.0
    }

    fn limits(&self) -> (u64, u64, u64) {
        let mut s = blockmem_stats::default();
        // SAFETY: a live handle and a writable struct.
        let st = unsafe { blockmem_store_stats(self.p(), &mut s) };
        assert_eq!(st, BLOCKMEM_STATUS_OK);
        (s.max_bytes, s.max_block_size, s.max_key_len)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle is owned here and freed once, with no call on
        // it running.
        unsafe { blockmem_store_free(self.0) };
    }
}

#[test]
fn options_struct_size_covers_only_the_fields_given() {
    let all = blockmem_options {
        struct_size: 0,
        max_bytes: 1000,
        max_block_size: 700,
        max_key_len: 10,
        evict: true,
    };
    let word = size_of::<usize>();
    // Every size from the bare size field to the whole struct: a field is
    // read only when it lies wholly inside `struct_size`.
    for size in word..=size_of::<blockmem_options>() {
        let o = blockmem_options {
            struct_size: size,
            ..all
        };
        let covered = |end: usize| size >= end;
        let want = (
            if covered(word + 8) { 1000 } else { 0 },
            if covered(word + 16) { 700 } else { 0 },
            if covered(word + 24) { 10 } else { 1024 },
        );
        let h = Handle::with(&o);
        assert_eq!(h.limits(), want, "struct_size {size}");
        // Two blocks of 600 bytes: the second fits under a cap of 1000
        // only by evicting the first.
        let write = |key: &[u8]| {
            let data = [7u8; 600];
            // SAFETY: a live handle and two slices borrowed for the call.
            unsafe { blockmem_write(h.p(), key.as_ptr(), key.len(), data.as_ptr(), data.len()) }
        };
        assert_eq!(write(b"a"), BLOCKMEM_STATUS_OK);
        let want = if !covered(word + 8) || covered(word + 25) {
            BLOCKMEM_STATUS_OK
        } else {
            BLOCKMEM_STATUS_STORE_FULL
        };
        assert_eq!(write(b"b"), want, "struct_size {size}");
    }
}

#[test]
fn cache_stats_fill_only_the_fields_given() {
    let o = blockmem_options {
        struct_size: size_of::<blockmem_options>(),
        max_bytes: 10,
        evict: true,
        ..Default::default()
    };
    let h = Handle::with(&o);
    let (mut buf, mut n) = ([0u8; 8], 0);
    for (key, data) in [(&b"a"[..], &[1u8; 6][..]), (b"b", &[2; 6])] {
        // SAFETY: a live handle and two slices borrowed for the call.
        let st = unsafe { blockmem_write(h.p(), key.as_ptr(), 1, data.as_ptr(), data.len()) };
        assert_eq!(st, BLOCKMEM_STATUS_OK);
        // SAFETY: a live handle, a key, a buffer and a writable length.
        let st = unsafe { blockmem_read(h.p(), key.as_ptr(), 1, buf.as_mut_ptr(), 8, &mut n) };
        assert_eq!(st, BLOCKMEM_STATUS_OK);
    }
    // SAFETY: as above; "a" was evicted.
    let st = unsafe { blockmem_read(h.p(), b"a".as_ptr(), 1, buf.as_mut_ptr(), 8, &mut n) };
    assert_eq!(st, BLOCKMEM_STATUS_NOT_FOUND);
    let word = size_of::<usize>();
    for size in word..=size_of::<blockmem_cache_stats>() {
        let mut s = blockmem_cache_stats {
            struct_size: size,
            hits: 99,
            misses: 99,
            evictions: 99,
            evicted_bytes: 99,
        };
        // SAFETY: a live handle and a struct of at least `size` bytes.
        let st = unsafe { blockmem_store_cache_stats(h.p(), &mut s) };
        assert_eq!(st, BLOCKMEM_STATUS_OK);
        let covered = |end: usize, v: u64| if size >= end { v } else { 99 };
        let got = (s.hits, s.misses, s.evictions, s.evicted_bytes);
        let want = (
            covered(word + 8, 2),
            covered(word + 16, 1),
            covered(word + 24, 1),
            covered(word + 32, 6),
        );
        assert_eq!(got, want, "struct_size {size}");
    }
    let mut s = blockmem_cache_stats::default();
    // SAFETY: a live handle; `struct_size` 0 is refused before any write.
    let st = unsafe { blockmem_store_cache_stats(h.p(), &mut s) };
    assert_eq!(st, BLOCKMEM_STATUS_INVALID_ARGUMENT);
    // SAFETY: NULL out-pointer, refused.
    let st = unsafe { blockmem_store_cache_stats(h.p(), null_mut()) };
    assert_eq!(st, BLOCKMEM_STATUS_INVALID_ARGUMENT);
}

#[cfg(feature = "fault-injection")]
mod panics {
    use super::*;
    use std::ptr::null;

    fn write(h: &Handle, key: &[u8], data: &[u8]) -> blockmem_status {
        // SAFETY: a live handle and two slices borrowed for the call.
        unsafe { blockmem_write(h.p(), key.as_ptr(), key.len(), data.as_ptr(), data.len()) }
    }

    /// The counters and the bytes (or the status) of every key the table
    /// touches.
    fn snapshot(h: &Handle) -> (u64, u64, Vec<Vec<u8>>) {
        let read = |k: &[u8]| {
            let (mut buf, mut n) = ([0u8; 16], 0);
            // SAFETY: a live handle, a key slice, a 16-byte buffer and a
            // writable length.
            let st =
                unsafe { blockmem_read(h.p(), k.as_ptr(), k.len(), buf.as_mut_ptr(), 16, &mut n) };
            match st {
                BLOCKMEM_STATUS_OK => buf[..n].to_vec(),
                st => format!("{st:?}").into_bytes(),
            }
        };
        let blocks = [&b"a/1"[..], b"a/2", b"b", b"c"].map(read).to_vec();
        // SAFETY: a live handle.
        let (count, size) = unsafe { (blockmem_block_count(h.p()), blockmem_total_size(h.p())) };
        (count, size, blocks)
    }

    /// Where a call writes its outputs; each starts as a sentinel that a
    /// call ending in PANIC must leave alone.
    struct Outputs {
        buf: [u8; 16],
        len: usize,
        size: u64,
        flag: bool,
        counts: (u64, u64),
        data: *const u8,
        block: *mut blockmem_block,
        page: *mut blockmem_list_page,
    }

    const UNSET: u64 = 0xDEAD;

    impl Outputs {
        fn new() -> Outputs {
            Outputs {
                buf: [0xEE; 16],
                len: UNSET as usize,
                size: UNSET,
                flag: true,
                counts: (UNSET, UNSET),
                data: null(),
                block: null_mut(),
                page: null_mut(),
            }
        }

        fn untouched(&self) -> bool {
            self.buf == [0xEE; 16]
                && self.len == UNSET as usize
                && (self.size, self.flag, self.counts) == (UNSET, true, (UNSET, UNSET))
                && self.data.is_null()
                && self.block.is_null()
                && self.page.is_null()
        }

        /// Releases what a successful call handed out.
        fn release(&mut self) {
            // SAFETY: a pin and a page from successful calls (or NULL),
            // each released once.
            unsafe {
                blockmem_block_free(self.block);
                blockmem_list_page_free(self.page);
            }
        }
    }

    type Call = fn(&Handle, &mut Outputs) -> blockmem_status;

    /// Every exported function that takes the store lock, with arguments
    /// that succeed when no fault is armed. Each passes a live handle,
    /// literal keys with their lengths, and pointers into `Outputs` that
    /// match the lengths given.
    const CALLS: &[(&str, Call)] = &[
        ("write new key", |h, _| write(h, b"c", b"new")),
        ("write replacing", |h, _| write(h, b"a/1", b"replacement")),
        ("read", |h, o| {
            let (key, buf) = (b"a/2".as_ptr(), o.buf.as_mut_ptr());
            // SAFETY: see above.
            unsafe { blockmem_read(h.p(), key, 3, buf, 16, &mut o.len) }
        }),
        ("read_range", |h, o| {
            let (key, buf) = (b"a/2".as_ptr(), o.buf.as_mut_ptr());
            // SAFETY: see above.
            unsafe { blockmem_read_range(h.p(), key, 3, 1, u64::MAX, buf, 16, &mut o.len) }
        }),
        ("get", |h, o| {
            let (data, len, block) = (&mut o.data, &mut o.len, &mut o.block);
            // SAFETY: see above.
            unsafe { blockmem_get(h.p(), b"a/1".as_ptr(), 3, data, len, block) }
        }),
        ("stat", |h, o| {
            // SAFETY: see above.
            unsafe { blockmem_stat(h.p(), b"a/1".as_ptr(), 3, &mut o.size) }
        }),
        ("exists", |h, o| {
            // SAFETY: see above.
            unsafe { blockmem_exists(h.p(), b"b".as_ptr(), 1, &mut o.flag) }
        }),
        ("delete", |h, o| {
            // SAFETY: see above.
            unsafe { blockmem_delete(h.p(), b"a/1".as_ptr(), 3, &mut o.flag) }
        }),
        ("delete_prefix", |h, o| {
            let (blocks, bytes) = (&mut o.counts.0, &mut o.counts.1);
            // SAFETY: see above.
            unsafe { blockmem_delete_prefix(h.p(), b"a/".as_ptr(), 2, blocks, bytes) }
        }),
        ("list", |h, o| {
            // SAFETY: see above.
            unsafe { blockmem_list(h.p(), null(), 0, null(), 0, 1, &mut o.page) }
        }),
        ("list after a key", |h, o| {
            let (prefix, after) = (b"a/".as_ptr(), b"a/1".as_ptr());
            // SAFETY: see above.
            unsafe { blockmem_list(h.p(), prefix, 2, after, 3, 0, &mut o.page) }
        }),
        ("reserve", |h, _| {
            let (mut data, mut res) = (null_mut(), null_mut());
            // SAFETY: see above; `data` and `res` are writable locals.
            let st = unsafe { blockmem_reserve(h.p(), b"r".as_ptr(), 1, 4, &mut data, &mut res) };
            // SAFETY: `res` is NULL or a reservation owned here, freed once.
            unsafe { blockmem_reservation_free(res) };
            st
        }),
        ("commit", |h, _| {
            // Reserved from another store (a reservation does not belong to
            // one), so that only the commit meets the armed fault.
            let other = Handle::with(null());
            let (mut data, mut res) = (null_mut(), null_mut());
            // SAFETY: see above; `data` and `res` are writable locals.
            let st =
                unsafe { blockmem_reserve(other.p(), b"r".as_ptr(), 1, 4, &mut data, &mut res) };
            assert_eq!(st, BLOCKMEM_STATUS_OK);
            // SAFETY: see above; the reservation is consumed by the commit.
            unsafe { blockmem_commit(h.p(), res) }
        }),
        ("health_check", |h, _| {
            // SAFETY: see above.
            unsafe { blockmem_health_check(h.p()) }
        }),
    ];

    /// Each call, with a fault armed, returns PANIC, writes no output and
    /// changes nothing; the store stays healthy, the same call then
    /// succeeds, and the store closes cleanly.
    #[test]
    fn every_locking_call_turns_a_panic_into_a_status() {
        for (name, call) in CALLS {
            let h = Handle::with(null());
            for (k, d) in [(&b"a/1"[..], &b"one"[..]), (b"a/2", b"two!"), (b"b", b"")] {
                assert_eq!(write(&h, k, d), BLOCKMEM_STATUS_OK);
            }
            let before = snapshot(&h);
            let mut out = Outputs::new();
            // SAFETY: a live handle.
            let armed = unsafe { blockmem_test_arm_panic(h.p()) };
            assert_eq!(armed, BLOCKMEM_STATUS_OK);
            assert_eq!(call(&h, &mut out), BLOCKMEM_STATUS_PANIC, "{name}");
            assert!(out.untouched(), "{name} wrote an output");
            assert_eq!(snapshot(&h), before, "{name} changed the store");
            // SAFETY: a live handle.
            assert_eq!(unsafe { blockmem_health_check(h.p()) }, BLOCKMEM_STATUS_OK);
            assert_eq!(
                call(&h, &mut out),
                BLOCKMEM_STATUS_OK,
                "{name} after the panic"
            );
            out.release();
            // SAFETY: a live handle.
            assert_eq!(unsafe { blockmem_store_close(h.p()) }, BLOCKMEM_STATUS_OK);
            assert_eq!(snapshot(&h).0, 0);
        }
    }

    #[test]
    fn panic_in_the_rust_api_leaves_store_usable() {
        let store = blockmem::MemoryStore::new();
        store.write("k", b"v").unwrap();
        store.arm_panic();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.write("k", b"w")));
        assert!(r.is_err());
        assert_eq!(&store.read("k").unwrap()[..], b"v");
        assert_eq!((store.block_count(), store.total_size()), (1, 1));
        store.write("k", b"w").unwrap();
        assert_eq!(&store.read("k").unwrap()[..], b"w");
    }
}
