//! The C ABI, called from Rust exactly as a C program would: every exported
//! function, every reachable status, NULL handles and pointers, buffer
//! negotiation, the options struct's `struct_size`, pinned blocks, list
//! pages, and (with the `fault-injection` feature) the panic boundary.
//!
//! `OUT_OF_MEMORY` needs a process-wide memory limit, so it is tested in
//! `tests/oom.rs`.

use std::ffi::CStr;
use std::mem::size_of;
use std::ptr::{null, null_mut};

use blockmem::ffi::blockmem_status::*;
use blockmem::ffi::*;

/// An owned handle, freed on drop (as a C caller would, exactly once).
struct Handle(*mut blockmem_store);

impl Handle {
    fn new() -> Handle {
        Handle::with(null())
    }

    fn with(options: *const blockmem_options) -> Handle {
        let mut h = null_mut();
        assert_eq!(blockmem_store_new(options, &mut h), BLOCKMEM_STATUS_OK);
        assert!(!h.is_null());
        Handle(h)
    }

    fn limits(max_bytes: u64, max_block_size: u64, max_key_len: u64) -> Handle {
        let mut o = blockmem_options::default();
        assert_eq!(blockmem_options_init(&mut o), BLOCKMEM_STATUS_OK);
        o.max_bytes = max_bytes;
        o.max_block_size = max_block_size;
        o.max_key_len = max_key_len;
        Handle::with(&o)
    }

    fn p(&self) -> *const blockmem_store {
        self.0
    }

    /// Gives up ownership (for tests that free the handle themselves).
    fn into_raw(self) -> *mut blockmem_store {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        blockmem_store_free(self.0);
    }
}

// Thin wrappers taking slices, so the tests read like the contract.

fn write(h: &Handle, key: &[u8], data: &[u8]) -> blockmem_status {
    blockmem_write(h.p(), key.as_ptr(), key.len(), data.as_ptr(), data.len())
}

const SENTINEL: usize = 0xDEAD_BEEF;
const FILL: u8 = 0xEE;

/// Reads into a `cap`-byte buffer pre-filled with FILL. Returns the
/// status, the buffer and `*out_len` (SENTINEL if not written).
fn read(h: &Handle, key: &[u8], cap: usize) -> (blockmem_status, Vec<u8>, usize) {
    let mut buf = vec![FILL; cap];
    let mut n = SENTINEL;
    let st = blockmem_read(
        h.p(),
        key.as_ptr(),
        key.len(),
        buf.as_mut_ptr(),
        cap,
        &mut n,
    );
    (st, buf, n)
}

fn read_range(
    h: &Handle,
    key: &[u8],
    offset: u64,
    length: u64,
    cap: usize,
) -> (blockmem_status, Vec<u8>, usize) {
    let mut buf = vec![FILL; cap];
    let mut n = SENTINEL;
    let st = blockmem_read_range(
        h.p(),
        key.as_ptr(),
        key.len(),
        offset,
        length,
        buf.as_mut_ptr(),
        cap,
        &mut n,
    );
    (st, buf, n)
}

/// Reads a whole block with size negotiation, as a C caller would.
fn read_all(h: &Handle, key: &[u8]) -> Result<Vec<u8>, blockmem_status> {
    let mut n = 0usize;
    let st = blockmem_read(h.p(), key.as_ptr(), key.len(), null_mut(), 0, &mut n);
    match st {
        BLOCKMEM_STATUS_OK => return Ok(Vec::new()),
        BLOCKMEM_STATUS_BUFFER_TOO_SMALL => {}
        st => return Err(st),
    }
    let (st, buf, got) = read(h, key, n);
    assert_eq!(st, BLOCKMEM_STATUS_OK);
    assert_eq!(got, n);
    Ok(buf)
}

fn stat(h: &Handle, key: &[u8]) -> (blockmem_status, u64) {
    let mut size = u64::MAX;
    let st = blockmem_stat(h.p(), key.as_ptr(), key.len(), &mut size);
    (st, size)
}

fn exists(h: &Handle, key: &[u8]) -> (blockmem_status, bool) {
    let mut e = false;
    let st = blockmem_exists(h.p(), key.as_ptr(), key.len(), &mut e);
    (st, e)
}

fn delete(h: &Handle, key: &[u8]) -> (blockmem_status, bool) {
    let mut existed = false;
    let st = blockmem_delete(h.p(), key.as_ptr(), key.len(), &mut existed);
    (st, existed)
}

fn delete_prefix(h: &Handle, prefix: &[u8]) -> (blockmem_status, u64, u64) {
    let (mut blocks, mut bytes) = (u64::MAX, u64::MAX);
    let st = blockmem_delete_prefix(
        h.p(),
        prefix.as_ptr(),
        prefix.len(),
        &mut blocks,
        &mut bytes,
    );
    (st, blocks, bytes)
}

type Page = (Vec<(Vec<u8>, u64)>, bool);

/// Copies a page's contents out, checking its layout, then frees it.
fn take_page(page: *mut blockmem_list_page) -> Page {
    assert!(!page.is_null());
    // SAFETY: a page from `blockmem_list`, not yet freed; its arrays hold
    // `count` (+1 for offsets) elements.
    let result = unsafe {
        let p = &*page;
        let offsets = std::slice::from_raw_parts(p.key_offsets, p.count + 1);
        assert_eq!(offsets[0], 0);
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        let keys = std::slice::from_raw_parts(p.keys, offsets[p.count]);
        let sizes = std::slice::from_raw_parts(p.sizes, p.count);
        let entries = (0..p.count)
            .map(|i| (keys[offsets[i]..offsets[i + 1]].to_vec(), sizes[i]))
            .collect();
        (entries, p.has_more)
    };
    blockmem_list_page_free(page);
    result
}

fn list(h: &Handle, prefix: &[u8], after: &[u8], limit: usize) -> Result<Page, blockmem_status> {
    let mut page = null_mut();
    let st = blockmem_list(
        h.p(),
        prefix.as_ptr(),
        prefix.len(),
        after.as_ptr(),
        after.len(),
        limit,
        &mut page,
    );
    if st != BLOCKMEM_STATUS_OK {
        assert!(page.is_null(), "page written on error");
        return Err(st);
    }
    Ok(take_page(page))
}

fn keys(page: &Page) -> Vec<Vec<u8>> {
    page.0.iter().map(|(k, _)| k.clone()).collect()
}

fn stats(h: &Handle) -> blockmem_stats {
    let mut s = blockmem_stats::default();
    assert_eq!(blockmem_store_stats(h.p(), &mut s), BLOCKMEM_STATUS_OK);
    s
}

/// Every key with its data, plus the counters: proves an error changed
/// nothing.
type Snapshot = (Vec<(Vec<u8>, Vec<u8>)>, u64, u64);

fn snapshot(h: &Handle) -> Snapshot {
    let page = list(h, b"", b"", 0).unwrap();
    let blocks = page
        .0
        .iter()
        .map(|(k, _)| (k.clone(), read_all(h, k).unwrap()))
        .collect();
    (
        blocks,
        blockmem_block_count(h.p()),
        blockmem_total_size(h.p()),
    )
}

/// `block_count` and `total_size` equal a recount through the ABI.
fn assert_recount(h: &Handle) {
    let (entries, more) = list(h, b"", b"", 0).unwrap();
    assert!(!more);
    let mut total = 0;
    for (k, size) in &entries {
        assert_eq!(read_all(h, k).unwrap().len() as u64, *size);
        total += size;
    }
    assert_eq!(blockmem_block_count(h.p()), entries.len() as u64);
    assert_eq!(blockmem_total_size(h.p()), total);
}

// ---------------------------------------------------------------- statuses

#[test]
fn status_numbers_are_stable() {
    let expected = [
        (BLOCKMEM_STATUS_OK, 0),
        (BLOCKMEM_STATUS_NOT_FOUND, 1),
        (BLOCKMEM_STATUS_STORE_CLOSED, 2),
        (BLOCKMEM_STATUS_INVALID_KEY, 3),
        (BLOCKMEM_STATUS_INVALID_RANGE, 4),
        (BLOCKMEM_STATUS_BUFFER_TOO_SMALL, 5),
        (BLOCKMEM_STATUS_BLOCK_TOO_LARGE, 6),
        (BLOCKMEM_STATUS_STORE_FULL, 7),
        (BLOCKMEM_STATUS_OUT_OF_MEMORY, 8),
        (BLOCKMEM_STATUS_INVALID_ARGUMENT, 9),
        (BLOCKMEM_STATUS_PANIC, 10),
    ];
    for (status, number) in expected {
        assert_eq!(status as i32, number, "{status:?}");
    }
    assert_eq!(size_of::<blockmem_status>(), size_of::<i32>());
}

fn status_str(code: i32) -> &'static str {
    let p = blockmem_status_str(code);
    assert!(!p.is_null());
    // SAFETY: the library returns static NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

#[test]
fn status_str_for_every_code() {
    let expected = [
        "ok",
        "block not found",
        "store is closed",
        "invalid key",
        "invalid range",
        "buffer too small",
        "block too large",
        "store full",
        "out of memory",
        "invalid argument",
        "internal panic",
    ];
    for (code, msg) in expected.iter().enumerate() {
        assert_eq!(status_str(code as i32), *msg, "status {code}");
    }
    for code in [-1, 11, 12, 100, i32::MAX, i32::MIN] {
        assert_eq!(status_str(code), "unknown status");
    }
    // Static: the same pointer every time, valid forever.
    assert_eq!(blockmem_status_str(1), blockmem_status_str(1));
}

#[test]
fn version_is_the_crate_version() {
    let p = blockmem_version();
    assert!(!p.is_null());
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(p) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}

// ---------------------------------------------------------------- options and lifetime

#[test]
fn options_init_fills_defaults() {
    let mut o = blockmem_options {
        struct_size: 1,
        max_bytes: 9,
        max_block_size: 9,
        max_key_len: 9,
    };
    assert_eq!(blockmem_options_init(&mut o), BLOCKMEM_STATUS_OK);
    assert_eq!(o.struct_size, size_of::<blockmem_options>());
    assert_eq!((o.max_bytes, o.max_block_size, o.max_key_len), (0, 0, 0));
    assert_eq!(
        blockmem_options_init(null_mut()),
        BLOCKMEM_STATUS_INVALID_ARGUMENT
    );
}

#[test]
fn store_new_with_null_options_uses_defaults() {
    let h = Handle::new();
    let s = stats(&h);
    assert_eq!((s.block_count, s.total_size), (0, 0));
    assert_eq!((s.max_bytes, s.max_block_size), (0, 0));
    assert_eq!(s.max_key_len, BLOCKMEM_DEFAULT_MAX_KEY_LEN);
    assert_eq!(BLOCKMEM_DEFAULT_MAX_KEY_LEN, 1024);
    assert!(!s.closed);
    assert_eq!(
        blockmem_store_new(null(), null_mut()),
        BLOCKMEM_STATUS_INVALID_ARGUMENT
    );
}

#[test]
fn options_are_applied() {
    let h = Handle::limits(100, 10, 4);
    let s = stats(&h);
    assert_eq!((s.max_bytes, s.max_block_size, s.max_key_len), (100, 10, 4));
    assert_eq!(write(&h, b"abcde", b""), BLOCKMEM_STATUS_INVALID_KEY);
    assert_eq!(write(&h, b"k", &[0; 11]), BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    for i in 0..10u8 {
        assert_eq!(write(&h, &[b'k', i], &[0; 10]), BLOCKMEM_STATUS_OK);
    }
    assert_eq!(write(&h, b"x", &[0; 1]), BLOCKMEM_STATUS_STORE_FULL);
}

#[test]
fn options_struct_size_too_small_is_invalid_argument() {
    let marker = 0x1234usize as *mut blockmem_store;
    for size in [0, 1, size_of::<usize>() - 1] {
        let o = blockmem_options {
            struct_size: size,
            ..Default::default()
        };
        let mut h = marker;
        assert_eq!(
            blockmem_store_new(&o, &mut h),
            BLOCKMEM_STATUS_INVALID_ARGUMENT,
            "struct_size {size}"
        );
        assert_eq!(h, marker, "out_store written on error");
    }
}

#[test]
fn options_struct_size_covers_only_the_fields_given() {
    let all = blockmem_options {
        struct_size: 0,
        max_bytes: 1000,
        max_block_size: 100,
        max_key_len: 10,
    };
    // Only the size field: every limit at its default, whatever follows.
    let cases = [
        (size_of::<usize>(), (0, 0, 1024)),
        (size_of::<usize>() + 8, (1000, 0, 1024)),
        (size_of::<usize>() + 16, (1000, 100, 1024)),
        (size_of::<blockmem_options>(), (1000, 100, 10)),
        // A size that ends inside a field: that field is not read at all.
        (size_of::<usize>() + 4, (0, 0, 1024)),
        (size_of::<usize>() + 12, (1000, 0, 1024)),
    ];
    for (size, want) in cases {
        let o = blockmem_options {
            struct_size: size,
            ..all
        };
        let h = Handle::with(&o);
        let s = stats(&h);
        assert_eq!(
            (s.max_bytes, s.max_block_size, s.max_key_len),
            want,
            "struct_size {size}"
        );
    }
}

#[test]
fn options_struct_from_a_newer_caller_is_accepted() {
    // A caller compiled against a future header with one more field.
    #[repr(C)]
    struct Newer {
        base: blockmem_options,
        extra: u64,
    }
    let o = Newer {
        base: blockmem_options {
            struct_size: size_of::<Newer>(),
            max_bytes: 77,
            max_block_size: 7,
            max_key_len: 3,
        },
        extra: u64::MAX,
    };
    let h = Handle::with(&o.base);
    let s = stats(&h);
    assert_eq!((s.max_bytes, s.max_block_size, s.max_key_len), (77, 7, 3));
    assert_eq!(o.extra, u64::MAX);
}

#[test]
fn store_free_null_and_free_without_or_after_close() {
    blockmem_store_free(null_mut());
    blockmem_block_free(null_mut());
    blockmem_list_page_free(null_mut());
    // Free with blocks still stored, without closing.
    let h = Handle::new();
    assert_eq!(write(&h, b"k", b"data"), BLOCKMEM_STATUS_OK);
    blockmem_store_free(h.into_raw());
    // Free after close (twice closed).
    let h = Handle::new();
    assert_eq!(write(&h, b"k", b"data"), BLOCKMEM_STATUS_OK);
    assert_eq!(blockmem_store_close(h.p()), BLOCKMEM_STATUS_OK);
    assert_eq!(blockmem_store_close(h.p()), BLOCKMEM_STATUS_OK);
    blockmem_store_free(h.into_raw());
}

// ---------------------------------------------------------------- NULL arguments

#[test]
fn null_handle_is_invalid_argument_everywhere() {
    const INVALID: blockmem_status = BLOCKMEM_STATUS_INVALID_ARGUMENT;
    let s = null();
    let k = b"key";
    let mut buf = [FILL; 8];
    let mut n = SENTINEL;
    let mut size = 7u64;
    let mut flag = true;
    let (mut blocks, mut bytes) = (7u64, 7u64);
    let mut page = null_mut();
    let mut st = blockmem_stats {
        block_count: 7,
        ..Default::default()
    };
    let (mut data, mut block) = (null(), null_mut());
    assert_eq!(blockmem_store_close(s), INVALID);
    assert_eq!(blockmem_health_check(s), INVALID);
    assert_eq!(blockmem_block_count(s), 0);
    assert_eq!(blockmem_total_size(s), 0);
    assert_eq!(blockmem_store_stats(s, &mut st), INVALID);
    assert_eq!(blockmem_write(s, k.as_ptr(), 3, k.as_ptr(), 3), INVALID);
    assert_eq!(
        blockmem_read(s, k.as_ptr(), 3, buf.as_mut_ptr(), 8, &mut n),
        INVALID
    );
    assert_eq!(
        blockmem_read_range(s, k.as_ptr(), 3, 0, 1, buf.as_mut_ptr(), 8, &mut n),
        INVALID
    );
    assert_eq!(
        blockmem_get(s, k.as_ptr(), 3, &mut data, &mut n, &mut block),
        INVALID
    );
    assert_eq!(blockmem_stat(s, k.as_ptr(), 3, &mut size), INVALID);
    assert_eq!(blockmem_exists(s, k.as_ptr(), 3, &mut flag), INVALID);
    assert_eq!(blockmem_delete(s, k.as_ptr(), 3, &mut flag), INVALID);
    assert_eq!(
        blockmem_delete_prefix(s, k.as_ptr(), 3, &mut blocks, &mut bytes),
        INVALID
    );
    assert_eq!(
        blockmem_list(s, null(), 0, null(), 0, 0, &mut page),
        INVALID
    );
    // No output was written.
    assert_eq!(buf, [FILL; 8]);
    assert_eq!(n, SENTINEL);
    assert_eq!((size, flag, blocks, bytes), (7, true, 7, 7));
    assert!(page.is_null() && data.is_null() && block.is_null());
    assert_eq!(st.block_count, 7);
}

#[test]
fn null_pointers_with_nonzero_length_are_invalid_argument() {
    const INVALID: blockmem_status = BLOCKMEM_STATUS_INVALID_ARGUMENT;
    let h = Handle::new();
    assert_eq!(write(&h, b"key", b"value"), BLOCKMEM_STATUS_OK);
    let before = snapshot(&h);
    let k = b"key";
    let mut buf = [FILL; 8];
    let mut n = SENTINEL;
    let mut size = 7u64;
    let mut flag = true;
    let mut page = null_mut();
    let (mut data, mut block) = (null(), null_mut());
    let p = h.p();
    // NULL key.
    assert_eq!(blockmem_write(p, null(), 3, k.as_ptr(), 3), INVALID);
    assert_eq!(
        blockmem_read(p, null(), 3, buf.as_mut_ptr(), 8, &mut n),
        INVALID
    );
    assert_eq!(
        blockmem_read_range(p, null(), 3, 0, 1, buf.as_mut_ptr(), 8, &mut n),
        INVALID
    );
    assert_eq!(
        blockmem_get(p, null(), 3, &mut data, &mut n, &mut block),
        INVALID
    );
    assert_eq!(blockmem_stat(p, null(), 3, &mut size), INVALID);
    assert_eq!(blockmem_exists(p, null(), 3, &mut flag), INVALID);
    assert_eq!(blockmem_delete(p, null(), 3, &mut flag), INVALID);
    // NULL data, buffer, prefix, start_after.
    assert_eq!(blockmem_write(p, k.as_ptr(), 3, null(), 5), INVALID);
    assert_eq!(
        blockmem_read(p, k.as_ptr(), 3, null_mut(), 8, &mut n),
        INVALID
    );
    assert_eq!(
        blockmem_read_range(p, k.as_ptr(), 3, 0, 1, null_mut(), 8, &mut n),
        INVALID
    );
    assert_eq!(
        blockmem_delete_prefix(p, null(), 1, null_mut(), null_mut()),
        INVALID
    );
    assert_eq!(
        blockmem_list(p, null(), 1, null(), 0, 0, &mut page),
        INVALID
    );
    assert_eq!(
        blockmem_list(p, null(), 0, null(), 1, 0, &mut page),
        INVALID
    );
    // Nothing written, nothing changed.
    assert_eq!(buf, [FILL; 8]);
    assert_eq!(n, SENTINEL);
    assert_eq!((size, flag), (7, true));
    assert!(page.is_null() && data.is_null() && block.is_null());
    assert_eq!(snapshot(&h), before);
}

#[test]
fn null_out_pointers_are_invalid_argument() {
    const INVALID: blockmem_status = BLOCKMEM_STATUS_INVALID_ARGUMENT;
    let h = Handle::new();
    assert_eq!(write(&h, b"key", b"value"), BLOCKMEM_STATUS_OK);
    let p = h.p();
    let k = b"key";
    let mut buf = [FILL; 8];
    let mut n = SENTINEL;
    let (mut data, mut block) = (null(), null_mut());
    assert_eq!(
        blockmem_read(p, k.as_ptr(), 3, buf.as_mut_ptr(), 8, null_mut()),
        INVALID
    );
    assert_eq!(
        blockmem_read_range(p, k.as_ptr(), 3, 0, 9, buf.as_mut_ptr(), 8, null_mut()),
        INVALID
    );
    assert_eq!(buf, [FILL; 8], "buffer written without out_len");
    assert_eq!(
        blockmem_get(p, k.as_ptr(), 3, null_mut(), &mut n, &mut block),
        INVALID
    );
    assert_eq!(
        blockmem_get(p, k.as_ptr(), 3, &mut data, null_mut(), &mut block),
        INVALID
    );
    assert_eq!(
        blockmem_get(p, k.as_ptr(), 3, &mut data, &mut n, null_mut()),
        INVALID
    );
    assert!(data.is_null() && block.is_null());
    assert_eq!(n, SENTINEL);
    assert_eq!(blockmem_stat(p, k.as_ptr(), 3, null_mut()), INVALID);
    assert_eq!(blockmem_exists(p, k.as_ptr(), 3, null_mut()), INVALID);
    assert_eq!(
        blockmem_list(p, null(), 0, null(), 0, 0, null_mut()),
        INVALID
    );
    assert_eq!(blockmem_store_stats(p, null_mut()), INVALID);
    assert_eq!(blockmem_store_new(null(), null_mut()), INVALID);
    assert_eq!(blockmem_options_init(null_mut()), INVALID);
    assert_eq!(read_all(&h, k).unwrap(), b"value");

    // Optional out-pointers: NULL means "not wanted"; the call still works.
    assert_eq!(write(&h, b"a/1", b"12"), BLOCKMEM_STATUS_OK);
    assert_eq!(write(&h, b"a/2", b"345"), BLOCKMEM_STATUS_OK);
    assert_eq!(
        blockmem_delete(p, k.as_ptr(), 3, null_mut()),
        BLOCKMEM_STATUS_OK
    );
    assert_eq!(exists(&h, k), (BLOCKMEM_STATUS_OK, false));
    let mut blocks = 0;
    assert_eq!(
        blockmem_delete_prefix(p, b"a/".as_ptr(), 2, &mut blocks, null_mut()),
        BLOCKMEM_STATUS_OK
    );
    assert_eq!(blocks, 2);
    assert_eq!(write(&h, b"a/3", b"6789"), BLOCKMEM_STATUS_OK);
    let mut bytes = 0;
    assert_eq!(
        blockmem_delete_prefix(p, b"a/".as_ptr(), 2, null_mut(), &mut bytes),
        BLOCKMEM_STATUS_OK
    );
    assert_eq!(bytes, 4);
    assert_eq!(blockmem_block_count(p), 0);
}

#[test]
fn null_pointers_with_zero_length_are_empty_inputs() {
    let h = Handle::new();
    let p = h.p();
    // Empty data: an empty block.
    assert_eq!(
        blockmem_write(p, b"e".as_ptr(), 1, null(), 0),
        BLOCKMEM_STATUS_OK
    );
    assert_eq!(stat(&h, b"e"), (BLOCKMEM_STATUS_OK, 0));
    // Empty key: InvalidKey, not InvalidArgument.
    assert_eq!(
        blockmem_write(p, null(), 0, b"x".as_ptr(), 1),
        BLOCKMEM_STATUS_INVALID_KEY
    );
    let mut n = SENTINEL;
    assert_eq!(
        blockmem_read(p, null(), 0, null_mut(), 0, &mut n),
        BLOCKMEM_STATUS_INVALID_KEY
    );
    // Empty block into a NULL, empty buffer.
    assert_eq!(
        blockmem_read(p, b"e".as_ptr(), 1, null_mut(), 0, &mut n),
        BLOCKMEM_STATUS_OK
    );
    assert_eq!(n, 0);
    n = SENTINEL;
    assert_eq!(
        blockmem_read_range(p, b"e".as_ptr(), 1, 0, u64::MAX, null_mut(), 0, &mut n),
        BLOCKMEM_STATUS_OK
    );
    assert_eq!(n, 0);
    // Empty prefix and start_after: everything.
    assert_eq!(write(&h, b"f", b"1"), BLOCKMEM_STATUS_OK);
    let mut page = null_mut();
    assert_eq!(
        blockmem_list(p, null(), 0, null(), 0, 0, &mut page),
        BLOCKMEM_STATUS_OK
    );
    assert_eq!(keys(&take_page(page)), [b"e".to_vec(), b"f".to_vec()]);
    let (mut blocks, mut bytes) = (0, 0);
    assert_eq!(
        blockmem_delete_prefix(p, null(), 0, &mut blocks, &mut bytes),
        BLOCKMEM_STATUS_OK
    );
    assert_eq!((blocks, bytes), (2, 1));
    assert_eq!(blockmem_block_count(p), 0);
}

// ---------------------------------------------------------------- write and read

#[test]
fn write_read_round_trip_with_binary_keys() {
    let h = Handle::new();
    let keys: [&[u8]; 5] = [b"\x00", b"a\x00b", b"a\x00c", b"\xff\xfe", b"\xc3\x28"];
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(write(&h, k, &vec![i as u8; i * 100]), BLOCKMEM_STATUS_OK);
    }
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(read_all(&h, k).unwrap(), vec![i as u8; i * 100], "{k:?}");
    }
    // Keys are (pointer, length), never NUL-terminated.
    assert_eq!(read_all(&h, b"a"), Err(BLOCKMEM_STATUS_NOT_FOUND));
    // Replacing.
    assert_eq!(write(&h, b"\x00", b"new"), BLOCKMEM_STATUS_OK);
    assert_eq!(read_all(&h, b"\x00").unwrap(), b"new");
    assert_eq!(blockmem_block_count(h.p()), 5);
    assert_eq!(blockmem_total_size(h.p()), 3 + 100 + 200 + 300 + 400);
    assert_recount(&h);
}

#[test]
fn write_status_codes_and_store_unchanged_on_error() {
    let h = Handle::limits(10, 6, 4);
    assert_eq!(write(&h, b"a", b"123456"), BLOCKMEM_STATUS_OK);
    let before = snapshot(&h);
    assert_eq!(write(&h, b"", b"x"), BLOCKMEM_STATUS_INVALID_KEY);
    assert_eq!(write(&h, b"abcde", b"x"), BLOCKMEM_STATUS_INVALID_KEY);
    assert_eq!(write(&h, b"a", b"1234567"), BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    assert_eq!(write(&h, b"b", b"12345"), BLOCKMEM_STATUS_STORE_FULL);
    assert_eq!(snapshot(&h), before);
    // The replacement counts: 10 - 6 + 5 fits.
    assert_eq!(write(&h, b"a", b"12345"), BLOCKMEM_STATUS_OK);
    assert_eq!(write(&h, b"b", b"12345"), BLOCKMEM_STATUS_OK);
    assert_eq!(blockmem_total_size(h.p()), 10);
    // Default key limit.
    let h = Handle::new();
    assert_eq!(write(&h, &[b'k'; 1024], b""), BLOCKMEM_STATUS_OK);
    assert_eq!(write(&h, &[b'k'; 1025], b""), BLOCKMEM_STATUS_INVALID_KEY);
}

#[test]
fn read_status_codes() {
    let h = Handle::new();
    assert_eq!(write(&h, b"k", b"data"), BLOCKMEM_STATUS_OK);
    for (key, want) in [
        (&b"missing"[..], BLOCKMEM_STATUS_NOT_FOUND),
        (b"", BLOCKMEM_STATUS_INVALID_KEY),
        (&[b'k'; 1025][..], BLOCKMEM_STATUS_INVALID_KEY),
    ] {
        let (st, buf, n) = read(&h, key, 16);
        assert_eq!(st, want);
        assert_eq!(buf, [FILL; 16]);
        assert_eq!(n, SENTINEL, "out_len written on {want:?}");
        let (st, _, n) = read_range(&h, key, 0, 1, 16);
        assert_eq!((st, n), (want, SENTINEL));
    }
}

#[test]
fn read_buffer_negotiation_reports_needed_and_writes_nothing() {
    let h = Handle::new();
    let data: Vec<u8> = (0..100u8).collect();
    assert_eq!(write(&h, b"k", &data), BLOCKMEM_STATUS_OK);
    // Size query with no buffer.
    let mut n = 0;
    assert_eq!(
        blockmem_read(h.p(), b"k".as_ptr(), 1, null_mut(), 0, &mut n),
        BLOCKMEM_STATUS_BUFFER_TOO_SMALL
    );
    assert_eq!(n, 100);
    // One byte short: untouched.
    let (st, buf, n) = read(&h, b"k", 99);
    assert_eq!((st, n), (BLOCKMEM_STATUS_BUFFER_TOO_SMALL, 100));
    assert!(buf.iter().all(|&b| b == FILL));
    // Exact, and larger (the tail is untouched).
    let (st, buf, n) = read(&h, b"k", 100);
    assert_eq!((st, n), (BLOCKMEM_STATUS_OK, 100));
    assert_eq!(buf, data);
    let (st, buf, n) = read(&h, b"k", 150);
    assert_eq!((st, n), (BLOCKMEM_STATUS_OK, 100));
    assert_eq!(&buf[..100], &data[..]);
    assert!(buf[100..].iter().all(|&b| b == FILL));
    // Ranges negotiate the clamped size.
    let (st, buf, n) = read_range(&h, b"k", 90, u64::MAX, 9);
    assert_eq!((st, n), (BLOCKMEM_STATUS_BUFFER_TOO_SMALL, 10));
    assert!(buf.iter().all(|&b| b == FILL));
    let (st, buf, n) = read_range(&h, b"k", 90, u64::MAX, 10);
    assert_eq!((st, n), (BLOCKMEM_STATUS_OK, 10));
    assert_eq!(buf, &data[90..]);
}

#[test]
fn read_range_offsets_and_lengths() {
    let h = Handle::new();
    assert_eq!(write(&h, b"d", b"0123456789"), BLOCKMEM_STATUS_OK);
    let ok = |off, len, want: &[u8]| {
        let (st, buf, n) = read_range(&h, b"d", off, len, 16);
        assert_eq!((st, n), (BLOCKMEM_STATUS_OK, want.len()), "{off} {len}");
        assert_eq!(&buf[..n], want);
        assert!(buf[n..].iter().all(|&b| b == FILL));
    };
    ok(2, 3, b"234");
    ok(0, 0, b"");
    ok(10, 0, b"");
    ok(10, u64::MAX, b"");
    ok(3, u64::MAX, b"3456789");
    ok(9, u64::MAX - 8, b"9");
    ok(0, 1 << 63, b"0123456789");
    for off in [11, 1 << 32, u64::MAX - 1, u64::MAX] {
        for len in [0, 1, u64::MAX] {
            let (st, buf, n) = read_range(&h, b"d", off, len, 16);
            assert_eq!((st, n), (BLOCKMEM_STATUS_INVALID_RANGE, SENTINEL));
            assert!(buf.iter().all(|&b| b == FILL));
        }
    }
    // NotFound before the range is looked at.
    let (st, _, _) = read_range(&h, b"x", u64::MAX, u64::MAX, 0);
    assert_eq!(st, BLOCKMEM_STATUS_NOT_FOUND);
}

#[test]
fn isolation_caller_buffers_are_copied() {
    let h = Handle::new();
    let mut data = b"original".to_vec();
    assert_eq!(write(&h, b"k", &data), BLOCKMEM_STATUS_OK);
    data.fill(b'X');
    let (_, mut buf, _) = read(&h, b"k", 8);
    assert_eq!(buf, b"original");
    buf.fill(b'Y');
    assert_eq!(read_all(&h, b"k").unwrap(), b"original");
}

// ---------------------------------------------------------------- pinned blocks

fn get(h: &Handle, key: &[u8]) -> (blockmem_status, *const u8, usize, *mut blockmem_block) {
    let (mut data, mut len, mut block) = (null(), SENTINEL, null_mut());
    let st = blockmem_get(
        h.p(),
        key.as_ptr(),
        key.len(),
        &mut data,
        &mut len,
        &mut block,
    );
    (st, data, len, block)
}

fn view<'a>(data: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: `data`/`len` from `blockmem_get`, used only while the pin
    // is held.
    unsafe { std::slice::from_raw_parts(data, len) }
}

#[test]
fn get_pins_block_across_overwrite_delete_close_and_free() {
    let h = Handle::new();
    assert_eq!(write(&h, b"k", b"version-1"), BLOCKMEM_STATUS_OK);
    let (st, d1, n1, b1) = get(&h, b"k");
    assert_eq!(st, BLOCKMEM_STATUS_OK);
    assert!(!d1.is_null() && !b1.is_null());
    assert_eq!(view(d1, n1), b"version-1");
    // Overwrite: the pin still shows the old block.
    assert_eq!(write(&h, b"k", b"version-two"), BLOCKMEM_STATUS_OK);
    assert_eq!(view(d1, n1), b"version-1");
    let (_, d2, n2, b2) = get(&h, b"k");
    assert_eq!(view(d2, n2), b"version-two");
    // Delete.
    assert_eq!(delete(&h, b"k"), (BLOCKMEM_STATUS_OK, true));
    assert_eq!(view(d2, n2), b"version-two");
    // Close and free the store: pins outlive both.
    assert_eq!(write(&h, b"j", b"version-3"), BLOCKMEM_STATUS_OK);
    let (_, d3, n3, b3) = get(&h, b"j");
    assert_eq!(blockmem_store_close(h.p()), BLOCKMEM_STATUS_OK);
    assert_eq!(view(d3, n3), b"version-3");
    blockmem_store_free(h.into_raw());
    assert_eq!(view(d1, n1), b"version-1");
    assert_eq!(view(d2, n2), b"version-two");
    assert_eq!(view(d3, n3), b"version-3");
    blockmem_block_free(b1);
    blockmem_block_free(b3);
    assert_eq!(view(d2, n2), b"version-two");
    blockmem_block_free(b2);
}

#[test]
fn get_status_codes_and_empty_block() {
    let h = Handle::new();
    assert_eq!(write(&h, b"e", b""), BLOCKMEM_STATUS_OK);
    let (st, _, len, block) = get(&h, b"e");
    assert_eq!((st, len), (BLOCKMEM_STATUS_OK, 0));
    blockmem_block_free(block);
    for (key, want) in [
        (&b"missing"[..], BLOCKMEM_STATUS_NOT_FOUND),
        (b"", BLOCKMEM_STATUS_INVALID_KEY),
    ] {
        let (st, data, len, block) = get(&h, key);
        assert_eq!(st, want);
        assert!(data.is_null() && block.is_null());
        assert_eq!(len, SENTINEL);
    }
    // Two pins of one block share its bytes (zero copy).
    assert_eq!(write(&h, b"k", b"shared"), BLOCKMEM_STATUS_OK);
    let (_, a, _, ba) = get(&h, b"k");
    let (_, b, _, bb) = get(&h, b"k");
    assert_eq!(a, b);
    blockmem_block_free(ba);
    blockmem_block_free(bb);
}

// ---------------------------------------------------------------- stat, exists, delete

#[test]
fn stat_exists_delete_status_codes() {
    let h = Handle::new();
    assert_eq!(write(&h, b"k", &[0; 42]), BLOCKMEM_STATUS_OK);
    assert_eq!(stat(&h, b"k"), (BLOCKMEM_STATUS_OK, 42));
    assert_eq!(stat(&h, b"x"), (BLOCKMEM_STATUS_NOT_FOUND, u64::MAX));
    assert_eq!(stat(&h, b""), (BLOCKMEM_STATUS_INVALID_KEY, u64::MAX));
    assert_eq!(exists(&h, b"k"), (BLOCKMEM_STATUS_OK, true));
    let mut e = true;
    assert_eq!(
        blockmem_exists(h.p(), b"x".as_ptr(), 1, &mut e),
        BLOCKMEM_STATUS_OK
    );
    assert!(!e);
    assert_eq!(exists(&h, b"").0, BLOCKMEM_STATUS_INVALID_KEY);
    let mut existed = true;
    assert_eq!(
        blockmem_delete(h.p(), b"x".as_ptr(), 1, &mut existed),
        BLOCKMEM_STATUS_OK
    );
    assert!(!existed, "missing key reported as existing");
    assert_eq!(delete(&h, b"k"), (BLOCKMEM_STATUS_OK, true));
    assert_eq!(delete(&h, b"k"), (BLOCKMEM_STATUS_OK, false));
    assert_eq!(delete(&h, b"").0, BLOCKMEM_STATUS_INVALID_KEY);
    assert_eq!(blockmem_block_count(h.p()), 0);
}

#[test]
fn delete_prefix_reports_blocks_and_bytes() {
    let h = Handle::new();
    for (k, n) in [(&b"a/1"[..], 3), (b"a/2", 5), (b"a\xff", 7), (b"b", 11)] {
        assert_eq!(write(&h, k, &vec![0; n]), BLOCKMEM_STATUS_OK);
    }
    assert_eq!(delete_prefix(&h, b"a/"), (BLOCKMEM_STATUS_OK, 2, 8));
    assert_eq!(delete_prefix(&h, b"a/"), (BLOCKMEM_STATUS_OK, 0, 0));
    assert_eq!(delete_prefix(&h, b"a\xff"), (BLOCKMEM_STATUS_OK, 1, 7));
    assert_eq!(blockmem_block_count(h.p()), 1);
    assert_eq!(blockmem_total_size(h.p()), 11);
    assert_eq!(delete_prefix(&h, b""), (BLOCKMEM_STATUS_OK, 1, 11));
    assert_recount(&h);
}

// ---------------------------------------------------------------- listing

#[test]
fn list_pages_walk_with_start_after() {
    let h = Handle::new();
    let mut want = Vec::new();
    for i in 0..25u32 {
        let k = format!("dir/{i:03}").into_bytes();
        assert_eq!(write(&h, &k, &vec![1; i as usize]), BLOCKMEM_STATUS_OK);
        want.push((k, i as u64));
    }
    assert_eq!(write(&h, b"dir", b"x"), BLOCKMEM_STATUS_OK);
    assert_eq!(write(&h, b"dis", b"x"), BLOCKMEM_STATUS_OK);
    let full = list(&h, b"dir/", b"", 0).unwrap();
    assert_eq!(full, (want.clone(), false));
    for limit in [1, 7, 24, 25, 26] {
        let mut walked = Vec::new();
        let mut after = Vec::new();
        let mut pages = 0;
        loop {
            let (entries, more) = list(&h, b"dir/", &after, limit).unwrap();
            assert!(entries.len() <= limit);
            pages += 1;
            assert!(pages <= 26, "the walk does not advance");
            after = entries.last().map(|(k, _)| k.clone()).unwrap_or_default();
            walked.extend(entries);
            if !more {
                break;
            }
        }
        assert_eq!(walked, want, "limit {limit}");
        assert_eq!(pages, 25usize.div_ceil(limit));
    }
    // A start_after outside the prefix range.
    assert_eq!(keys(&list(&h, b"dir/", b"a", 1).unwrap())[0], b"dir/000");
    let (entries, more) = list(&h, b"dir/", b"zzz", 5).unwrap();
    assert!(entries.is_empty() && !more);
}

#[test]
fn list_empty_result_is_a_valid_page() {
    let h = Handle::new();
    assert_eq!(list(&h, b"", b"", 0).unwrap(), (Vec::new(), false));
    assert_eq!(write(&h, b"k", b"1"), BLOCKMEM_STATUS_OK);
    assert_eq!(list(&h, b"x", b"", 10).unwrap(), (Vec::new(), false));
    // The whole listing in byte order.
    assert_eq!(write(&h, b"\xff", b"22"), BLOCKMEM_STATUS_OK);
    assert_eq!(write(&h, b"\x00", b""), BLOCKMEM_STATUS_OK);
    assert_eq!(
        list(&h, b"", b"", 0).unwrap().0,
        vec![
            (b"\x00".to_vec(), 0),
            (b"k".to_vec(), 1),
            (b"\xff".to_vec(), 2)
        ]
    );
}

// ---------------------------------------------------------------- close and health

#[test]
fn ops_after_close_return_store_closed() {
    const CLOSED: blockmem_status = BLOCKMEM_STATUS_STORE_CLOSED;
    let h = Handle::new();
    assert_eq!(write(&h, b"k", b"data"), BLOCKMEM_STATUS_OK);
    assert_eq!(blockmem_health_check(h.p()), BLOCKMEM_STATUS_OK);
    assert_eq!(blockmem_store_close(h.p()), BLOCKMEM_STATUS_OK);
    assert_eq!(blockmem_store_close(h.p()), BLOCKMEM_STATUS_OK);
    assert_eq!(blockmem_health_check(h.p()), CLOSED);
    assert_eq!(write(&h, b"k", b"new"), CLOSED);
    let (st, buf, n) = read(&h, b"k", 8);
    assert_eq!((st, n), (CLOSED, SENTINEL));
    assert_eq!(buf, [FILL; 8]);
    assert_eq!(read_range(&h, b"k", 0, 1, 8).0, CLOSED);
    assert_eq!(get(&h, b"k").0, CLOSED);
    assert_eq!(stat(&h, b"k").0, CLOSED);
    assert_eq!(exists(&h, b"k").0, CLOSED);
    assert_eq!(delete(&h, b"k").0, CLOSED);
    assert_eq!(delete_prefix(&h, b""), (CLOSED, u64::MAX, u64::MAX));
    assert_eq!(list(&h, b"", b"", 0), Err(CLOSED));
    assert_eq!(blockmem_block_count(h.p()), 0);
    assert_eq!(blockmem_total_size(h.p()), 0);
    let s = stats(&h);
    assert!(s.closed);
    assert_eq!((s.block_count, s.total_size), (0, 0));
    assert_eq!(s.max_key_len, 1024);
}

#[test]
fn stats_report_counts_and_limits() {
    let h = Handle::limits(1 << 20, 1 << 10, 16);
    assert_eq!(write(&h, b"a", &[0; 1000]), BLOCKMEM_STATUS_OK);
    assert_eq!(write(&h, b"b", &[0; 24]), BLOCKMEM_STATUS_OK);
    let s = stats(&h);
    assert_eq!((s.block_count, s.total_size), (2, 1024));
    assert_eq!(
        (s.max_bytes, s.max_block_size, s.max_key_len),
        (1 << 20, 1 << 10, 16)
    );
    assert!(!s.closed);
    assert_eq!(blockmem_block_count(h.p()), 2);
    assert_eq!(blockmem_total_size(h.p()), 1024);
}

#[test]
fn calls_racing_with_close_complete_or_report_closed() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let h = Handle::new();
    for i in 0..50u8 {
        assert_eq!(write(&h, &[b'k', i], &[i; 256]), BLOCKMEM_STATUS_OK);
    }
    // The handle is shared as an address; it is freed only after the
    // threads are joined, as the ABI requires.
    let addr = h.p() as usize;
    let done_before_close = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..2u32)
        .map(|t| {
            let done_before_close = done_before_close.clone();
            std::thread::spawn(move || {
                let p = addr as *const blockmem_store;
                let mut buf = [0u8; 256];
                let mut closed_seen = 0;
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut i = t;
                // Run until the close has been seen many times.
                while closed_seen < 1000 {
                    assert!(Instant::now() < deadline, "close never observed");
                    let k = [b'k', (i % 50) as u8];
                    let mut n = 0;
                    let st = match i % 3 {
                        0 => blockmem_write(p, k.as_ptr(), 2, buf.as_ptr(), 256),
                        1 => blockmem_read(p, k.as_ptr(), 2, buf.as_mut_ptr(), 256, &mut n),
                        _ => {
                            let mut page = null_mut();
                            let st = blockmem_list(p, null(), 0, null(), 0, 5, &mut page);
                            blockmem_list_page_free(page);
                            st
                        }
                    };
                    match st {
                        BLOCKMEM_STATUS_OK => {
                            assert_eq!(closed_seen, 0, "OK after STORE_CLOSED");
                            done_before_close.fetch_add(1, Ordering::Relaxed);
                        }
                        BLOCKMEM_STATUS_STORE_CLOSED => closed_seen += 1,
                        st => panic!("unexpected {st:?}"),
                    }
                    i += 1;
                }
            })
        })
        .collect();
    // Close once the threads are busy.
    while done_before_close.load(Ordering::Relaxed) < 2000 {
        std::thread::yield_now();
    }
    assert_eq!(blockmem_store_close(h.p()), BLOCKMEM_STATUS_OK);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(blockmem_block_count(h.p()), 0);
    assert_eq!(blockmem_total_size(h.p()), 0);
}

// ---------------------------------------------------------------- panics

#[cfg(feature = "fault-injection")]
mod panics {
    use super::*;
    use std::sync::Once;

    /// Keeps the injected panics out of the test output; any other panic
    /// (a failing assertion) is reported as usual.
    fn quiet_injected_panics() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .copied()
                    .unwrap_or_default();
                if !msg.contains("injected fault") {
                    previous(info);
                }
            }));
        });
    }

    fn setup() -> Handle {
        quiet_injected_panics();
        let h = Handle::new();
        for (k, d) in [(&b"a/1"[..], &b"one"[..]), (b"a/2", b"two!"), (b"b", b"")] {
            assert_eq!(write(&h, k, d), BLOCKMEM_STATUS_OK);
        }
        h
    }

    /// Arms a panic, runs `call` (which must report PANIC), then checks
    /// that nothing changed, the store is healthy, and the same call now
    /// succeeds.
    fn check(name: &str, call: impl Fn(&Handle) -> blockmem_status) {
        let h = setup();
        let before = snapshot(&h);
        assert_eq!(blockmem_test_arm_panic(h.p()), BLOCKMEM_STATUS_OK);
        assert_eq!(call(&h), BLOCKMEM_STATUS_PANIC, "{name}");
        assert_eq!(snapshot(&h), before, "{name} changed the store");
        assert_eq!(blockmem_health_check(h.p()), BLOCKMEM_STATUS_OK);
        assert_eq!(call(&h), BLOCKMEM_STATUS_OK, "{name} after the panic");
        assert_recount(&h);
        // Still fully usable, and closes cleanly.
        assert_eq!(write(&h, b"z", b"after"), BLOCKMEM_STATUS_OK);
        assert_eq!(read_all(&h, b"z").unwrap(), b"after");
        assert_recount(&h);
        assert_eq!(blockmem_store_close(h.p()), BLOCKMEM_STATUS_OK);
        assert_eq!(blockmem_block_count(h.p()), 0);
    }

    #[test]
    fn arm_panic_null_handle() {
        assert_eq!(
            blockmem_test_arm_panic(null()),
            BLOCKMEM_STATUS_INVALID_ARGUMENT
        );
    }

    #[test]
    fn write_panic() {
        check("write", |h| write(h, b"a/1", b"replacement"));
        check("write new key", |h| write(h, b"c", b"new"));
    }

    #[test]
    fn read_panic() {
        let h = setup();
        assert_eq!(blockmem_test_arm_panic(h.p()), BLOCKMEM_STATUS_OK);
        let (st, buf, n) = read(&h, b"a/1", 8);
        assert_eq!(st, BLOCKMEM_STATUS_PANIC);
        assert_eq!((buf, n), (vec![FILL; 8], SENTINEL), "outputs written");
        check("read", |h| read(h, b"a/2", 8).0);
    }

    #[test]
    fn read_range_panic() {
        check("read_range", |h| read_range(h, b"a/2", 1, u64::MAX, 8).0);
    }

    #[test]
    fn get_panic() {
        let h = setup();
        assert_eq!(blockmem_test_arm_panic(h.p()), BLOCKMEM_STATUS_OK);
        let (st, data, len, block) = get(&h, b"a/1");
        assert_eq!(st, BLOCKMEM_STATUS_PANIC);
        assert!(data.is_null() && block.is_null());
        assert_eq!(len, SENTINEL);
        check("get", |h| {
            let (st, _, _, block) = get(h, b"a/1");
            blockmem_block_free(block);
            st
        });
    }

    #[test]
    fn stat_and_exists_panic() {
        check("stat", |h| stat(h, b"a/1").0);
        check("exists", |h| exists(h, b"a/1").0);
    }

    #[test]
    fn delete_panic() {
        check("delete", |h| delete(h, b"a/1").0);
    }

    #[test]
    fn delete_prefix_panic() {
        let h = setup();
        assert_eq!(blockmem_test_arm_panic(h.p()), BLOCKMEM_STATUS_OK);
        assert_eq!(
            delete_prefix(&h, b"a/"),
            (BLOCKMEM_STATUS_PANIC, u64::MAX, u64::MAX)
        );
        assert_eq!(blockmem_block_count(h.p()), 3);
        check("delete_prefix", |h| delete_prefix(h, b"a/").0);
    }

    #[test]
    fn list_panic() {
        let h = setup();
        assert_eq!(blockmem_test_arm_panic(h.p()), BLOCKMEM_STATUS_OK);
        assert_eq!(list(&h, b"a/", b"", 0), Err(BLOCKMEM_STATUS_PANIC));
        check("list", |h| {
            list(h, b"", b"", 1).map_or_else(|st| st, |_| BLOCKMEM_STATUS_OK)
        });
        check("list with start_after", |h| {
            list(h, b"a/", b"a/1", 0).map_or_else(|st| st, |_| BLOCKMEM_STATUS_OK)
        });
    }

    #[test]
    fn health_check_panic() {
        check("health_check", |h| blockmem_health_check(h.p()));
    }

    #[test]
    fn panic_in_the_rust_api_leaves_store_usable() {
        quiet_injected_panics();
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
