//! One test per rule of the behaviour contract (`docs/CONTRACT.md`), named after
//! the rule, through the safe Rust API. Each test checks observable results
//! precisely enough to fail if its rule breaks.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use blockmem::{Bytes, Deleted, Error, MemoryStore, Options, DEFAULT_MAX_KEY_LEN};

fn with(options: Options) -> MemoryStore {
    MemoryStore::with_options(options)
}

/// Everything observable about a store: every key with its data, and the
/// counters. Used to prove that a failed operation changed nothing.
type Snapshot = (Vec<(Vec<u8>, Vec<u8>)>, u64, u64);

/// The error of a write that would take the total to `needed` bytes, over
/// `max_bytes`.
fn store_full(needed: u64, max: u64) -> Result<(), Error> {
    Err(Error::StoreFull { needed, max })
}

fn snapshot(store: &MemoryStore) -> Snapshot {
    let blocks = store
        .list("")
        .unwrap()
        .keys()
        .map(|k| (k.to_vec(), store.read(k).unwrap().to_vec()))
        .collect();
    (blocks, store.block_count(), store.total_size())
}

/// Asserts that `block_count` and `total_size` equal a recount.
fn assert_accounting(store: &MemoryStore) {
    let listing = store.list("").unwrap();
    let mut bytes = 0;
    for (key, size) in &listing {
        let data = store.read(key).unwrap();
        assert_eq!(data.len() as u64, size, "listed size of {key:?}");
        bytes += size;
    }
    assert_eq!(store.block_count(), listing.len() as u64, "block_count");
    assert_eq!(store.total_size(), bytes, "total_size");
}

fn keys_of(store: &MemoryStore, prefix: &[u8]) -> Vec<Vec<u8>> {
    store.list(prefix).unwrap().to_vecs()
}

// ---------------------------------------------------------------- write

#[test]
fn write_then_read_returns_the_data() {
    let store = MemoryStore::new();
    store
        .write("share/content/chunk-0/block-0", b"hello")
        .unwrap();
    assert_eq!(
        &store.read("share/content/chunk-0/block-0").unwrap()[..],
        b"hello"
    );
    assert_eq!(store.block_count(), 1);
    assert_eq!(store.total_size(), 5);
}

#[test]
fn write_replaces_existing_block_atomically() {
    // Sequentially: the whole block is replaced, the count does not change
    // and the size is adjusted by the difference.
    let store = MemoryStore::new();
    store.write("k", vec![1u8; 100]).unwrap();
    store.write("k", vec![2u8; 10]).unwrap();
    assert_eq!(&store.read("k").unwrap()[..], &[2u8; 10][..]);
    assert_eq!(store.block_count(), 1);
    assert_eq!(store.total_size(), 10);
    store.write("k", vec![3u8; 50]).unwrap();
    assert_eq!(&store.read("k").unwrap()[..], &[3u8; 50][..]);
    assert_eq!(store.total_size(), 50);

    // Concurrently: readers see one whole version or the other, never a
    // mix of bytes or a length from one and data from the other.
    let store = Arc::new(MemoryStore::new());
    let a = vec![0xAAu8; 64 * 1024];
    let b = vec![0xBBu8; 3 * 1024];
    store.write("k", &a).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(3));
    let reads = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (store, done, start) = (store.clone(), done.clone(), start.clone());
            let reads = reads.clone();
            thread::spawn(move || {
                let mut seen = [0usize; 2];
                let mut buf = vec![0u8; 64 * 1024];
                start.wait();
                while !done.load(Ordering::Relaxed) {
                    let data = store.read("k").unwrap();
                    let n = store.read_into("k", &mut buf).unwrap();
                    reads[r].fetch_add(1, Ordering::Relaxed);
                    for view in [&data[..], &buf[..n]] {
                        match view.len() {
                            65536 => {
                                assert!(view.iter().all(|&x| x == 0xAA), "torn read");
                                seen[0] += 1;
                            }
                            3072 => {
                                assert!(view.iter().all(|&x| x == 0xBB), "torn read");
                                seen[1] += 1;
                            }
                            n => panic!("read a block of impossible size {n}"),
                        }
                    }
                }
                seen
            })
        })
        .collect();
    start.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut i = 0u64;
    let mut last = &a;
    // Enough writes to overlap many reads, however the threads are scheduled.
    while i < 2_000
        || (reads.iter().any(|n| n.load(Ordering::Relaxed) < 100) && Instant::now() < deadline)
    {
        last = if last == &a { &b } else { &a };
        store.write("k", last).unwrap();
        i += 1;
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        let seen = r.join().unwrap();
        assert!(seen[0] + seen[1] > 0, "a reader never ran");
    }
    assert_eq!(store.block_count(), 1);
    assert_eq!(store.total_size(), last.len() as u64);
    assert_eq!(&store.read("k").unwrap()[..], &last[..]);
}

#[test]
fn write_stores_a_private_copy() {
    let store = MemoryStore::new();
    let mut data = b"original".to_vec();
    store.write("k", &data).unwrap();
    data.copy_from_slice(b"mutated!");
    data.push(b'x');
    assert_eq!(&store.read("k").unwrap()[..], b"original");
    // Not the caller's memory.
    let stored = store.read("k").unwrap();
    assert_ne!(stored.as_ptr(), data.as_ptr());
}

#[test]
fn write_errors_change_nothing() {
    let store = with(Options {
        max_bytes: 20,
        max_block_size: 12,
        max_key_len: 8,
    });
    store.write("a", b"0123456789").unwrap();
    store.write("b", b"").unwrap();
    let before = snapshot(&store);
    let attempts: Vec<(&[u8], Vec<u8>)> = vec![
        (b"", b"x".to_vec()),          // empty key
        (b"123456789", b"x".to_vec()), // key over max_key_len
        (b"a", vec![7; 13]),           // block over max_block_size
        (b"b", vec![7; 11]),           // store full (new total 21)
        (b"c", vec![7; 11]),           // store full, new key
        (b"a", vec![7; 21]),           // both limits
        (b"123456789", vec![7; 100]),  // several errors at once
        (b"", Vec::new()),             // empty key, empty block
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff", b"x".to_vec()),
    ];
    for (key, data) in attempts {
        let err = store.write(key, &data).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidKey { .. } | Error::BlockTooLarge { .. } | Error::StoreFull { .. }
            ),
            "{key:?}: {err}"
        );
        assert_eq!(snapshot(&store), before, "after failed write of {key:?}");
    }
}

// ---------------------------------------------------------------- read

#[test]
fn read_of_empty_block_is_empty_not_missing() {
    let store = MemoryStore::new();
    store.write("empty", b"").unwrap();
    assert_eq!(store.read("empty"), Ok(Bytes::new()));
    assert_eq!(store.read_into("empty", &mut []), Ok(0));
    assert_eq!(store.read_range("empty", 0, 10), Ok(Bytes::new()));
    assert_eq!(store.read_range_into("empty", 0, 10, &mut []), Ok(0));
    assert_eq!(store.stat("empty"), Ok(0));
    assert_eq!(store.exists("empty"), Ok(true));
    assert_eq!(store.block_count(), 1);
    assert_eq!(store.total_size(), 0);
    assert_eq!(store.list("").unwrap().to_vecs(), vec![b"empty".to_vec()]);
    assert_eq!(store.delete("empty"), Ok(true));
    assert_eq!(store.read("empty"), Err(Error::NotFound));
}

#[test]
fn read_of_missing_key_is_not_found() {
    let store = MemoryStore::new();
    store.write("present", b"x").unwrap();
    assert_eq!(store.read("absent"), Err(Error::NotFound));
    assert_eq!(store.read("presen"), Err(Error::NotFound));
    assert_eq!(store.read("present\0"), Err(Error::NotFound));
    let mut buf = [0u8; 8];
    assert_eq!(store.read_into("absent", &mut buf), Err(Error::NotFound));
    assert_eq!(store.read_range("absent", 0, 1), Err(Error::NotFound));
    // NotFound wins over a bad range or a small buffer: the block is not there.
    assert_eq!(
        store.read_range("absent", u64::MAX, 1),
        Err(Error::NotFound)
    );
    assert_eq!(
        store.read_range_into("absent", 0, 1, &mut []),
        Err(Error::NotFound)
    );
    assert_eq!(store.stat("absent"), Err(Error::NotFound));
    assert_eq!(buf, [0u8; 8]);
}

#[test]
fn read_is_zero_copy_and_immutable() {
    let store = MemoryStore::new();
    store.write("k", vec![5u8; 4096]).unwrap();
    let a = store.read("k").unwrap();
    let b = store.read("k").unwrap();
    // Both views share the stored allocation: no copy per read.
    assert_eq!(a.as_ptr(), b.as_ptr());
    let r = store.read_range("k", 100, 10).unwrap();
    assert_eq!(r.as_ptr(), a[100..].as_ptr());
}

// ---------------------------------------------------------------- ranges

fn digits_store() -> MemoryStore {
    let store = MemoryStore::new();
    store.write("d", b"0123456789").unwrap();
    store
}

#[test]
fn read_range_returns_requested_bytes() {
    let store = digits_store();
    assert_eq!(&store.read_range("d", 0, 10).unwrap()[..], b"0123456789");
    assert_eq!(&store.read_range("d", 2, 3).unwrap()[..], b"234");
    assert_eq!(&store.read_range("d", 9, 1).unwrap()[..], b"9");
    let mut buf = [0u8; 4];
    assert_eq!(store.read_range_into("d", 6, 4, &mut buf), Ok(4));
    assert_eq!(&buf, b"6789");
}

#[test]
fn read_range_offset_equal_size_is_empty() {
    let store = digits_store();
    assert_eq!(store.read_range("d", 10, 5), Ok(Bytes::new()));
    assert_eq!(store.read_range("d", 10, u64::MAX), Ok(Bytes::new()));
    assert_eq!(store.read_range_into("d", 10, 5, &mut []), Ok(0));
    store.write("e", b"").unwrap();
    assert_eq!(store.read_range("e", 0, 0), Ok(Bytes::new()));
}

#[test]
fn read_range_length_zero_is_empty() {
    let store = digits_store();
    for offset in [0, 5, 10] {
        assert_eq!(store.read_range("d", offset, 0), Ok(Bytes::new()));
        assert_eq!(store.read_range_into("d", offset, 0, &mut []), Ok(0));
    }
}

#[test]
fn read_range_offset_past_end_is_invalid_range() {
    let store = digits_store();
    for offset in [11, 12, 1 << 32, u64::MAX - 1, u64::MAX] {
        for length in [0, 1, u64::MAX] {
            assert_eq!(
                store.read_range("d", offset, length),
                Err(Error::InvalidRange { offset, size: 10 })
            );
            let mut buf = [0xEEu8; 16];
            assert_eq!(
                store.read_range_into("d", offset, length, &mut buf),
                Err(Error::InvalidRange { offset, size: 10 })
            );
            assert_eq!(buf, [0xEEu8; 16]);
        }
    }
    store.write("e", b"").unwrap();
    assert_eq!(
        store.read_range("e", 1, 0),
        Err(Error::InvalidRange { offset: 1, size: 0 })
    );
}

#[test]
fn read_range_length_overflow_clamps() {
    let store = digits_store();
    assert_eq!(&store.read_range("d", 3, u64::MAX).unwrap()[..], b"3456789");
    assert_eq!(&store.read_range("d", 9, u64::MAX - 8).unwrap()[..], b"9");
    assert_eq!(&store.read_range("d", 0, 11).unwrap()[..], b"0123456789");
    assert_eq!(&store.read_range("d", 5, 1 << 63).unwrap()[..], b"56789");
    let mut buf = [0u8; 10];
    assert_eq!(store.read_range_into("d", 4, u64::MAX, &mut buf), Ok(6));
    assert_eq!(&buf[..6], b"456789");
    assert_eq!(&buf[6..], &[0u8; 4]);
}

// ---------------------------------------------------------------- caller buffers

#[test]
fn read_into_copies_and_reports_bytes_written() {
    let store = digits_store();
    let mut buf = [0xEEu8; 16];
    assert_eq!(store.read_into("d", &mut buf), Ok(10));
    assert_eq!(&buf[..10], b"0123456789");
    // Bytes past the block are not touched.
    assert_eq!(&buf[10..], &[0xEEu8; 6]);
    let mut exact = [0u8; 10];
    assert_eq!(store.read_into("d", &mut exact), Ok(10));
    assert_eq!(&exact, b"0123456789");
}

#[test]
fn read_into_too_small_buffer_reports_needed_and_writes_nothing() {
    let store = digits_store();
    for cap in [0usize, 1, 9] {
        let mut buf = vec![0xEEu8; cap];
        assert_eq!(
            store.read_into("d", &mut buf),
            Err(Error::BufferTooSmall {
                needed: 10,
                capacity: cap
            })
        );
        assert!(buf.iter().all(|&b| b == 0xEE), "buffer written on error");
    }
    // For a range, the needed size is the clamped range.
    let mut buf = [0xEEu8; 3];
    assert_eq!(
        store.read_range_into("d", 6, u64::MAX, &mut buf),
        Err(Error::BufferTooSmall {
            needed: 4,
            capacity: 3
        })
    );
    assert_eq!(buf, [0xEEu8; 3]);
    assert_eq!(store.read_range_into("d", 7, u64::MAX, &mut buf), Ok(3));
    assert_eq!(&buf, b"789");
}

// ---------------------------------------------------------------- stat / exists

#[test]
fn stat_reports_size_and_exists_reports_presence() {
    let store = MemoryStore::new();
    store.write("a", vec![0u8; 1234]).unwrap();
    store.write("b", b"").unwrap();
    assert_eq!(store.stat("a"), Ok(1234));
    assert_eq!(store.stat("b"), Ok(0));
    assert_eq!(store.stat("c"), Err(Error::NotFound));
    assert_eq!(store.exists("a"), Ok(true));
    assert_eq!(store.exists("b"), Ok(true));
    assert_eq!(store.exists("c"), Ok(false));
    store.write("a", vec![0u8; 7]).unwrap();
    assert_eq!(store.stat("a"), Ok(7));
    store.delete("a").unwrap();
    assert_eq!(store.stat("a"), Err(Error::NotFound));
    assert_eq!(store.exists("a"), Ok(false));
}

// ---------------------------------------------------------------- delete

#[test]
fn delete_missing_key_is_ok() {
    let store = MemoryStore::new();
    store.write("keep", b"1").unwrap();
    assert_eq!(store.delete("missing"), Ok(false));
    assert_eq!(store.delete("missing"), Ok(false));
    assert_eq!(store.block_count(), 1);
    assert_eq!(store.total_size(), 1);
}

#[test]
fn delete_removes_block_and_reports_it_existed() {
    let store = MemoryStore::new();
    store.write("a", b"123").unwrap();
    store.write("ab", b"45").unwrap();
    assert_eq!(store.delete("a"), Ok(true));
    assert_eq!(store.read("a"), Err(Error::NotFound));
    // Only the exact key: not a prefix delete.
    assert_eq!(&store.read("ab").unwrap()[..], b"45");
    assert_eq!(store.block_count(), 1);
    assert_eq!(store.total_size(), 2);
    assert_eq!(store.delete("a"), Ok(false));
}

#[test]
fn delete_by_prefix_reports_blocks_and_bytes() {
    let store = MemoryStore::new();
    store.write("dir/a", vec![0u8; 3]).unwrap();
    store.write("dir/b", vec![0u8; 5]).unwrap();
    store.write("dir/sub/c", vec![0u8; 7]).unwrap();
    store.write("dir", vec![0u8; 100]).unwrap();
    store.write("dis", vec![0u8; 200]).unwrap();
    store.write("dir0", vec![0u8; 300]).unwrap();
    assert_eq!(
        store.delete_by_prefix("dir/"),
        Ok(Deleted {
            blocks: 3,
            bytes: 15
        })
    );
    assert_eq!(keys_of(&store, b""), [&b"dir"[..], b"dir0", b"dis"]);
    assert_eq!(store.block_count(), 3);
    assert_eq!(store.total_size(), 600);
    assert_eq!(
        store.delete_by_prefix("dir/"),
        Ok(Deleted {
            blocks: 0,
            bytes: 0
        })
    );
    // Byte-wise, not path-wise: "dir" matches "dir" and "dir0".
    assert_eq!(
        store.delete_by_prefix("dir"),
        Ok(Deleted {
            blocks: 2,
            bytes: 400
        })
    );
    assert_eq!(keys_of(&store, b""), [&b"dis"[..]]);
    assert_accounting(&store);
}

#[test]
fn delete_by_prefix_handles_ff_and_nul_bytes() {
    let store = MemoryStore::new();
    let keys: [&[u8]; 7] = [
        b"a\xfe",
        b"a\xff",
        b"a\xff\x00",
        b"a\xff\xff",
        b"b",
        b"\xff",
        b"\xff\xff",
    ];
    for k in keys {
        store.write(k, k).unwrap();
    }
    assert_eq!(store.delete_by_prefix(b"a\xff").unwrap().blocks, 3);
    assert_eq!(
        keys_of(&store, b""),
        [&b"a\xfe"[..], b"b", b"\xff", b"\xff\xff"]
    );
    assert_eq!(
        store.delete_by_prefix(b"\xff"),
        Ok(Deleted {
            blocks: 2,
            bytes: 3
        })
    );
    assert_eq!(keys_of(&store, b""), [&b"a\xfe"[..], b"b"]);
    // A prefix longer than any key (and than max_key_len) matches nothing.
    assert_eq!(store.delete_by_prefix(vec![b'a'; 5000]).unwrap().blocks, 0);
    assert_accounting(&store);
}

// ---------------------------------------------------------------- list

#[test]
fn list_is_sorted_bytewise() {
    let store = MemoryStore::new();
    let mut keys: Vec<Vec<u8>> = vec![
        b"b".to_vec(),
        b"a".to_vec(),
        b"B".to_vec(),
        b"a\x00".to_vec(),
        b"a\x01".to_vec(),
        b"ab".to_vec(),
        b"\xff".to_vec(),
        b"\x00".to_vec(),
        b"\x7f".to_vec(),
        b"\x80".to_vec(),
        "\u{e9}".as_bytes().to_vec(),
        b"a/b".to_vec(),
        b"a0".to_vec(),
        b"aa".to_vec(),
        b"Z".to_vec(),
    ];
    for (i, k) in keys.iter().enumerate() {
        store.write(k, vec![0u8; i]).unwrap();
    }
    keys.sort();
    let listing = store.list("").unwrap();
    assert_eq!(listing.to_vecs(), keys);
    // Spelled out, so that a different comparison cannot hide behind sort().
    assert_eq!(listing.key(0), Some(&b"\x00"[..]));
    assert_eq!(listing.key(1), Some(&b"B"[..]));
    assert_eq!(listing.key(2), Some(&b"Z"[..]));
    assert_eq!(listing.key(3), Some(&b"a"[..]));
    assert_eq!(listing.key(4), Some(&b"a\x00"[..]));
    assert_eq!(listing.last_key(), Some(&b"\xff"[..]));
    assert!(!listing.has_more());
}

#[test]
fn list_reports_sizes_and_matches_prefix_bytewise() {
    let store = MemoryStore::new();
    store.write("a/1", b"x").unwrap();
    store.write("a/2", b"yy").unwrap();
    store.write("a/20", b"zzz").unwrap();
    store.write("a", b"root").unwrap();
    store.write("b/1", b"w").unwrap();
    let listing = store.list("a/2").unwrap();
    let got: Vec<(Vec<u8>, u64)> = listing.iter().map(|(k, s)| (k.to_vec(), s)).collect();
    assert_eq!(got, vec![(b"a/2".to_vec(), 2), (b"a/20".to_vec(), 3)]);
    assert_eq!(keys_of(&store, b"a"), [&b"a"[..], b"a/1", b"a/2", b"a/20"]);
    assert_eq!(keys_of(&store, b"a/"), [&b"a/1"[..], b"a/2", b"a/20"]);
}

#[test]
fn list_with_no_match_is_empty() {
    let store = MemoryStore::new();
    assert!(store.list("").unwrap().is_empty());
    store.write("abc", b"1").unwrap();
    for prefix in [&b"abd"[..], b"abcd", b"b", b"\x00", b"\xff", b"ab\xff"] {
        let listing = store.list(prefix).unwrap();
        assert!(listing.is_empty(), "{prefix:?}");
        assert_eq!(listing.len(), 0);
        assert_eq!(listing.last_key(), None);
        assert!(!listing.has_more());
    }
}

#[test]
fn empty_prefix_matches_all() {
    let store = MemoryStore::new();
    let keys: [&[u8]; 4] = [b"\x00", b"a", b"zz", b"\xff\xff"];
    for k in keys {
        store.write(k, b"12").unwrap();
    }
    assert_eq!(keys_of(&store, b""), keys);
    let page = store.list_page("", None::<&[u8]>, 0).unwrap();
    assert_eq!(page.len(), 4);
    assert_eq!(
        store.delete_by_prefix(""),
        Ok(Deleted {
            blocks: 4,
            bytes: 8
        })
    );
    assert!(store.list("").unwrap().is_empty());
    assert_eq!(store.block_count(), 0);
    assert_eq!(store.total_size(), 0);
}

fn paged_store() -> MemoryStore {
    let store = MemoryStore::new();
    for i in 0..10u8 {
        store
            .write(format!("p/{i}"), vec![0u8; i as usize])
            .unwrap();
    }
    store.write("o", b"before").unwrap();
    store.write("q", b"after").unwrap();
    store
}

#[test]
fn list_page_returns_at_most_limit_keys_with_sizes_and_has_more() {
    let store = paged_store();
    let page = store.list_page("p/", None::<&[u8]>, 3).unwrap();
    assert_eq!(page.to_vecs(), [&b"p/0"[..], b"p/1", b"p/2"]);
    assert_eq!(
        page.iter().map(|(_, s)| s).collect::<Vec<_>>(),
        [0u64, 1, 2]
    );
    assert!(page.has_more());
    // Exactly the remaining keys: has_more is false.
    let page = store.list_page("p/", Some("p/6"), 3).unwrap();
    assert_eq!(page.to_vecs(), [&b"p/7"[..], b"p/8", b"p/9"]);
    assert!(!page.has_more());
    // One short of the remaining keys: has_more is true.
    let page = store.list_page("p/", Some("p/5"), 3).unwrap();
    assert_eq!(page.to_vecs(), [&b"p/6"[..], b"p/7", b"p/8"]);
    assert!(page.has_more());
}

#[test]
fn list_page_start_after_is_exclusive_and_need_not_exist() {
    let store = paged_store();
    let page = store.list_page("p/", Some("p/3"), 2).unwrap();
    assert_eq!(page.to_vecs(), [&b"p/4"[..], b"p/5"]);
    // A start_after that is not a key: the next key after it.
    let page = store.list_page("p/", Some("p/35"), 2).unwrap();
    assert_eq!(page.to_vecs(), [&b"p/4"[..], b"p/5"]);
    // Before the prefix: from the first match.
    let page = store.list_page("p/", Some("a"), 1).unwrap();
    assert_eq!(page.to_vecs(), [&b"p/0"[..]]);
    let page = store.list_page("p/", Some("p"), 1).unwrap();
    assert_eq!(page.to_vecs(), [&b"p/0"[..]]);
    // At or after the last match (even past the prefix range): empty.
    for after in [&b"p/9"[..], b"p/9\xff", b"p0", b"q", b"\xff\xff"] {
        let page = store.list_page("p/", Some(after), 5).unwrap();
        assert!(page.is_empty(), "{after:?}");
        assert!(!page.has_more());
    }
}

#[test]
fn list_page_limit_zero_means_no_limit() {
    let store = paged_store();
    let page = store.list_page("p/", None::<&[u8]>, 0).unwrap();
    assert_eq!(page.len(), 10);
    assert!(!page.has_more());
    let page = store.list_page("", Some("p/4"), 0).unwrap();
    assert_eq!(page.len(), 6);
    assert_eq!(page.last_key(), Some(&b"q"[..]));
}

#[test]
fn list_page_walk_visits_every_key_once_in_order() {
    let store = paged_store();
    for prefix in [&b""[..], b"p/", b"p/1", b"zz"] {
        let full = store.list(prefix).unwrap().to_vecs();
        for limit in 1..=full.len() + 1 {
            let mut walked = Vec::new();
            let mut after: Option<Vec<u8>> = None;
            let mut pages = 0;
            loop {
                let page = store.list_page(prefix, after.as_deref(), limit).unwrap();
                assert!(page.len() <= limit);
                walked.extend(page.to_vecs());
                pages += 1;
                assert!(pages <= full.len() + 1, "the walk does not advance");
                if !page.has_more() {
                    break;
                }
                assert_eq!(page.len(), limit, "a short page must be the last");
                after = page.last_key().map(<[u8]>::to_vec);
            }
            assert_eq!(walked, full, "prefix {prefix:?} limit {limit}");
            assert_eq!(pages, full.len().div_ceil(limit).max(1));
        }
    }
}

#[test]
fn list_page_with_all_ff_prefix() {
    let store = MemoryStore::new();
    for k in [
        &b"\xfe"[..],
        b"\xff",
        b"\xff\x00",
        b"\xff\xff",
        b"\xff\xff\xff",
    ] {
        store.write(k, b"").unwrap();
    }
    let page = store.list_page(b"\xff", Some(b"\xff\x00"), 0).unwrap();
    assert_eq!(page.to_vecs(), [&b"\xff\xff"[..], b"\xff\xff\xff"]);
    let page = store.list_page(b"\xff\xff", Some(b"\xff\xff"), 1).unwrap();
    assert_eq!(page.to_vecs(), [&b"\xff\xff\xff"[..]]);
    assert!(!page.has_more());
}

// ---------------------------------------------------------------- options and limits

#[test]
fn store_full_counts_replacement() {
    let store = with(Options {
        max_bytes: 100,
        ..Options::default()
    });
    store.write("a", vec![0u8; 60]).unwrap();
    store.write("b", vec![0u8; 30]).unwrap();
    // 90 - 60 + 70 = 100: fits exactly.
    store.write("a", vec![1u8; 70]).unwrap();
    assert_eq!(store.total_size(), 100);
    // 100 - 30 + 31 = 101: over.
    assert_eq!(store.write("b", vec![1u8; 31]), store_full(101, 100));
    // Shrinking a block is always possible, even when full.
    store.write("b", vec![1u8; 29]).unwrap();
    assert_eq!(store.total_size(), 99);
    assert_eq!(store.write("c", vec![1u8; 2]), store_full(101, 100));
    store.write("c", vec![1u8; 1]).unwrap();
    // A block larger than the whole cap.
    assert_eq!(store.write("d", vec![1u8; 101]), store_full(101, 100));
    // Replacing one block by a bigger one of the full size after deletes.
    store.delete_by_prefix("").unwrap();
    store.write("a", vec![1u8; 100]).unwrap();
    assert_eq!(store.total_size(), 100);
}

#[test]
fn store_full_leaves_store_unchanged() {
    let store = with(Options {
        max_bytes: 10,
        ..Options::default()
    });
    store.write("a", b"12345").unwrap();
    store.write("b", b"678").unwrap();
    let before = snapshot(&store);
    assert!(matches!(
        store.write("a", b"123456789"),
        Err(Error::StoreFull { .. })
    ));
    assert!(matches!(
        store.write("c", b"123"),
        Err(Error::StoreFull { .. })
    ));
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.read("c"), Err(Error::NotFound));
    assert_eq!(&store.read("a").unwrap()[..], b"12345");
    assert!(store.total_size() <= 10);
}

#[test]
fn block_too_large() {
    let store = with(Options {
        max_block_size: 10,
        ..Options::default()
    });
    store.write("ok", vec![0u8; 10]).unwrap();
    assert_eq!(
        store.write("big", vec![0u8; 11]),
        Err(Error::BlockTooLarge { size: 11, max: 10 })
    );
    assert_eq!(
        store.write("ok", vec![0u8; 11]),
        Err(Error::BlockTooLarge { size: 11, max: 10 })
    );
    assert_eq!(store.read("big"), Err(Error::NotFound));
    assert_eq!(store.stat("ok"), Ok(10));
    assert_eq!(store.block_count(), 1);
    assert_eq!(store.total_size(), 10);
}

#[test]
fn invalid_key_empty_and_oversize() {
    let store = MemoryStore::new();
    store.write("x", b"1").unwrap();
    let max = DEFAULT_MAX_KEY_LEN;
    let long = vec![b'k'; max + 1];
    for key in [&b""[..], &long[..]] {
        let err = Error::InvalidKey {
            len: key.len(),
            max_len: max,
        };
        let mut buf = [0u8; 4];
        assert_eq!(store.write(key, b"1"), Err(err.clone()));
        assert_eq!(store.read(key), Err(err.clone()));
        assert_eq!(store.read_into(key, &mut buf), Err(err.clone()));
        assert_eq!(store.read_range(key, 0, 1), Err(err.clone()));
        assert_eq!(store.read_range_into(key, 0, 1, &mut buf), Err(err.clone()));
        assert_eq!(store.stat(key), Err(err.clone()));
        assert_eq!(store.exists(key), Err(err.clone()));
        assert_eq!(store.delete(key), Err(err.clone()));
    }
    let longest = vec![0xFFu8; max];
    store.write(&longest, b"2").unwrap();
    assert_eq!(&store.read(&longest).unwrap()[..], b"2");
    assert_eq!(store.block_count(), 2);

    // A custom limit.
    let store = with(Options {
        max_key_len: 4,
        ..Options::default()
    });
    store.write("abcd", b"").unwrap();
    assert_eq!(
        store.write("abcde", b""),
        Err(Error::InvalidKey { len: 5, max_len: 4 })
    );
    assert_eq!(store.block_count(), 1);
}

#[test]
fn keys_with_any_bytes_accepted() {
    let store = MemoryStore::new();
    let keys: [&[u8]; 8] = [
        b"\x00",
        b"\xff",
        b"\x00\x00",
        b"a\x00b",
        b"a\x00c",
        b"\xc3\x28",     // invalid UTF-8
        b"\xed\xa0\x80", // UTF-16 surrogate, invalid UTF-8
        b"\xff\xfe\xfd\xfc",
    ];
    for (i, k) in keys.iter().enumerate() {
        store.write(k, [i as u8]).unwrap();
    }
    assert_eq!(store.block_count(), keys.len() as u64);
    for (i, k) in keys.iter().enumerate() {
        // Keys that share a prefix up to a NUL stay distinct.
        assert_eq!(&store.read(k).unwrap()[..], &[i as u8], "{k:?}");
        assert_eq!(store.stat(k), Ok(1));
    }
    assert_eq!(store.read(b"a"), Err(Error::NotFound));
    assert_eq!(keys_of(&store, b"a\x00").len(), 2);
}

#[test]
fn keys_accept_str_string_and_byte_types() {
    let store = MemoryStore::new();
    store.write("k", b"1").unwrap();
    assert_eq!(&store.read(String::from("k")).unwrap()[..], b"1");
    assert_eq!(&store.read(&b"k"[..]).unwrap()[..], b"1");
    assert_eq!(&store.read(vec![b'k']).unwrap()[..], b"1");
    assert_eq!(&store.read(b"k").unwrap()[..], b"1");
    store.write(vec![b'v'], String::from("2")).unwrap();
    assert_eq!(&store.read("v").unwrap()[..], b"2");
}

#[test]
fn default_options_have_no_caps_but_key_length() {
    let store = MemoryStore::new();
    assert_eq!(
        store.options(),
        Options {
            max_bytes: 0,
            max_block_size: 0,
            max_key_len: DEFAULT_MAX_KEY_LEN
        }
    );
    assert_eq!(DEFAULT_MAX_KEY_LEN, 1024);
    // Zero max_key_len selects the default.
    assert_eq!(
        with(Options::default()).options().max_key_len,
        DEFAULT_MAX_KEY_LEN
    );
    store.write("big", vec![7u8; 16 << 20]).unwrap();
    store.write("big2", vec![7u8; 16 << 20]).unwrap();
    assert_eq!(store.total_size(), 32 << 20);
    let stats = store.stats();
    assert_eq!(stats.block_count, 2);
    assert_eq!(stats.total_size, 32 << 20);
    assert_eq!(stats.max_bytes, 0);
    assert_eq!(stats.max_block_size, 0);
    assert_eq!(stats.max_key_len, 1024);
    assert!(!stats.closed);
}

#[test]
fn options_are_reported_as_given() {
    let opts = Options {
        max_bytes: 1000,
        max_block_size: 100,
        max_key_len: 16,
    };
    let store = with(opts);
    assert_eq!(store.options(), opts);
    let stats = store.stats();
    assert_eq!(
        (stats.max_bytes, stats.max_block_size, stats.max_key_len),
        (1000, 100, 16)
    );
}

// ---------------------------------------------------------------- isolation

#[test]
fn isolation_mutating_written_buffer_changes_nothing() {
    let store = MemoryStore::new();
    let mut buf = vec![1u8; 1000];
    store.write("k", &buf).unwrap();
    buf.fill(2);
    store.write("k2", &buf).unwrap();
    buf.fill(3);
    assert!(store.read("k").unwrap().iter().all(|&b| b == 1));
    assert!(store.read("k2").unwrap().iter().all(|&b| b == 2));
}

#[test]
fn isolation_mutating_read_buffer_changes_nothing() {
    let store = MemoryStore::new();
    store.write("k", b"stored").unwrap();
    let mut buf = [0u8; 6];
    store.read_into("k", &mut buf).unwrap();
    buf.copy_from_slice(b"XXXXXX");
    let mut copy = store.read("k").unwrap().to_vec();
    copy[0] = b'Y';
    let mut range = [0u8; 3];
    store.read_range_into("k", 0, 3, &mut range).unwrap();
    range.fill(b'Z');
    assert_eq!(&store.read("k").unwrap()[..], b"stored");
}

#[test]
fn isolation_returned_bytes_survive_overwrite_delete_and_close() {
    let store = MemoryStore::new();
    store.write("k", b"version-1").unwrap();
    let v1 = store.read("k").unwrap();
    let r1 = store.read_range("k", 8, 1).unwrap();
    store.write("k", b"version-2").unwrap();
    assert_eq!(&v1[..], b"version-1");
    assert_eq!(&r1[..], b"1");
    let v2 = store.read("k").unwrap();
    assert_eq!(store.delete("k"), Ok(true));
    assert_eq!(&v2[..], b"version-2");
    store.write("k", b"version-3").unwrap();
    let v3 = store.read("k").unwrap();
    store.close();
    drop(store);
    assert_eq!(&v1[..], b"version-1");
    assert_eq!(&v2[..], b"version-2");
    assert_eq!(&v3[..], b"version-3");
}

// ---------------------------------------------------------------- close and health

#[test]
fn close_is_idempotent() {
    let store = MemoryStore::new();
    store.write("k", b"1").unwrap();
    assert!(!store.is_closed());
    store.close();
    assert!(store.is_closed());
    store.close();
    store.close();
    assert!(store.is_closed());
    assert_eq!(store.health_check(), Err(Error::StoreClosed));
    assert_eq!(store.block_count(), 0);
}

#[test]
fn ops_after_close_return_store_closed() {
    let store = MemoryStore::new();
    store.write("k", b"data").unwrap();
    store.close();
    let closed = Err(Error::StoreClosed);
    let mut buf = [0xEEu8; 8];
    assert_eq!(store.write("k", b"new"), closed);
    assert_eq!(store.write("other", b""), closed);
    assert_eq!(store.read("k").map(drop), closed);
    assert_eq!(store.read_into("k", &mut buf).map(drop), closed);
    assert_eq!(store.read_range("k", 0, 1).map(drop), closed);
    assert_eq!(store.read_range_into("k", 0, 1, &mut buf).map(drop), closed);
    assert_eq!(store.stat("k").map(drop), closed);
    assert_eq!(store.exists("k").map(drop), closed);
    assert_eq!(store.delete("k").map(drop), closed);
    assert_eq!(store.delete("missing").map(drop), closed);
    assert_eq!(store.delete_by_prefix("").map(drop), closed);
    assert_eq!(store.list("").map(drop), closed);
    assert_eq!(store.list_page("", None::<&[u8]>, 1).map(drop), closed);
    assert_eq!(store.list_page("a", Some("b"), 1).map(drop), closed);
    assert_eq!(store.health_check(), closed);
    assert_eq!(buf, [0xEEu8; 8]);
}

#[test]
fn argument_checks_come_first_then_closed() {
    let store = with(Options {
        max_bytes: 10,
        max_block_size: 8,
        max_key_len: 4,
    });
    store.write("k", b"1234").unwrap();
    store.close();
    // Errors that depend only on the arguments are reported as such ...
    assert_eq!(
        store.write("", b"1"),
        Err(Error::InvalidKey { len: 0, max_len: 4 })
    );
    assert_eq!(
        store.read("abcde").map(drop),
        Err(Error::InvalidKey { len: 5, max_len: 4 })
    );
    assert_eq!(
        store.write("k", [0u8; 9]),
        Err(Error::BlockTooLarge { size: 9, max: 8 })
    );
    let never_fits = with(Options {
        max_bytes: 10,
        ..Options::default()
    });
    never_fits.close();
    assert_eq!(never_fits.write("k", [0u8; 11]), store_full(11, 10));
    // ... and everything else is StoreClosed, including a write that would
    // fit an empty store but not the one that was closed.
    assert_eq!(store.write("k", [0u8; 8]), Err(Error::StoreClosed));
    assert_eq!(never_fits.write("k", [0u8; 10]), Err(Error::StoreClosed));
    assert_eq!(store.read("zz").map(drop), Err(Error::StoreClosed));
    assert_eq!(
        store.read_range("k", u64::MAX, 0).map(drop),
        Err(Error::StoreClosed)
    );
    assert_eq!(store.read_into("k", &mut []), Err(Error::StoreClosed));
}

#[test]
fn stats_zero_after_close() {
    let store = with(Options {
        max_bytes: 1 << 20,
        max_block_size: 1 << 10,
        max_key_len: 10,
    });
    store.write("a", vec![0u8; 1000]).unwrap();
    store.write("b", vec![0u8; 24]).unwrap();
    assert_eq!((store.block_count(), store.total_size()), (2, 1024));
    store.close();
    assert_eq!(store.block_count(), 0);
    assert_eq!(store.total_size(), 0);
    let stats = store.stats();
    assert_eq!((stats.block_count, stats.total_size), (0, 0));
    assert!(stats.closed);
    // The limits are still reported.
    assert_eq!(stats.max_bytes, 1 << 20);
    store.close();
    assert_eq!(store.total_size(), 0);
}

#[test]
fn stats_is_one_snapshot_even_racing_close() {
    // Every block has SIZE bytes, so in any consistent snapshot
    // total_size == SIZE * block_count, and a closed store shows zeros.
    const SIZE: usize = 8;
    let mut closed_seen = 0;
    for round in 0..50 {
        let store = Arc::new(MemoryStore::new());
        for i in 0..200 {
            store.write(format!("k{i}"), [0u8; SIZE]).unwrap();
        }
        let start = Arc::new(Barrier::new(3));
        let writer = {
            let (store, start) = (store.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for i in 0.. {
                    if store.write(format!("w{round}/{i}"), [1u8; SIZE]).is_err() {
                        break;
                    }
                }
            })
        };
        let watcher = {
            let (store, start) = (store.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                loop {
                    let s = store.stats();
                    assert_eq!(s.total_size, SIZE as u64 * s.block_count, "{s:?}");
                    if s.closed {
                        assert_eq!((s.block_count, s.total_size), (0, 0), "{s:?}");
                        return 1;
                    }
                }
            })
        };
        start.wait();
        thread::sleep(Duration::from_micros(200));
        store.close();
        writer.join().unwrap();
        closed_seen += watcher.join().unwrap();
    }
    assert_eq!(closed_seen, 50);
}

#[test]
fn health_check() {
    let store = MemoryStore::new();
    assert_eq!(store.health_check(), Ok(()));
    store.write("k", b"").unwrap();
    assert_eq!(store.health_check(), Ok(()));
    store.close();
    assert_eq!(store.health_check(), Err(Error::StoreClosed));
}

#[test]
fn close_racing_with_operations_completes_or_reports_closed() {
    let store = Arc::new(MemoryStore::new());
    for i in 0..100 {
        store.write(format!("k{i}"), vec![i as u8; 512]).unwrap();
    }
    let ops_before_close = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let (store, ops) = (store.clone(), ops_before_close.clone());
            thread::spawn(move || {
                let mut buf = vec![0u8; 512];
                let mut closed_seen = 0;
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut i = t;
                while closed_seen < 1000 {
                    assert!(Instant::now() < deadline, "close never observed");
                    let key = format!("k{}", i % 100);
                    let was_closed = store.is_closed();
                    let r = match i % 4 {
                        0 => store.write(&key, vec![(i % 100) as u8; 512]).map(drop),
                        1 => store
                            .read(&key)
                            .map(|d| assert!(d.len() == 512 && d.iter().all(|&b| b == d[0]))),
                        2 => store.read_into(&key, &mut buf).map(drop),
                        _ => store.list("k1").map(drop),
                    };
                    match r {
                        Ok(()) => {
                            assert!(!was_closed, "succeeded after close");
                            ops.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Error::StoreClosed) => closed_seen += 1,
                        Err(e) => panic!("unexpected error {e}"),
                    }
                    i += 1;
                }
            })
        })
        .collect();
    // Close while both threads are busy.
    while ops_before_close.load(Ordering::Relaxed) < 2000 {
        thread::yield_now();
    }
    store.close();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.block_count(), 0);
    assert_eq!(store.total_size(), 0);
    assert_eq!(store.list(""), Err(Error::StoreClosed));
}

// ---------------------------------------------------------------- accounting

#[test]
fn accounting_count_and_size_match_recount() {
    let store = MemoryStore::new();
    for i in 0..200u32 {
        store
            .write(format!("a/{i}"), vec![0u8; i as usize])
            .unwrap();
    }
    assert_eq!(store.block_count(), 200);
    assert_eq!(store.total_size(), (0..200).sum::<u64>());
    for i in (0..200u32).step_by(3) {
        store.write(format!("a/{i}"), vec![0u8; 5]).unwrap();
    }
    for i in (0..200u32).step_by(7) {
        store.delete(format!("a/{i}")).unwrap();
    }
    store.delete_by_prefix("a/1").unwrap();
    store.write("b", b"tail").unwrap();
    assert_accounting(&store);
    assert!(store.block_count() > 0);
}

#[test]
fn total_size_never_exceeds_max_bytes() {
    let store = with(Options {
        max_bytes: 1000,
        ..Options::default()
    });
    let mut ok = 0;
    let mut full = 0;
    for i in 0..500u64 {
        let size = (i * 37) % 200;
        match store.write(format!("k{}", i % 23), vec![0u8; size as usize]) {
            Ok(()) => ok += 1,
            Err(Error::StoreFull { needed, max }) => {
                assert!(needed > max && max == 1000);
                full += 1;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(store.total_size() <= 1000);
        if i % 50 == 49 {
            store.delete(format!("k{}", i % 23)).unwrap();
        }
    }
    assert!(ok > 0 && full > 0, "ok {ok} full {full}");
    assert_accounting(&store);
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<MemoryStore>();
    assert_send_sync::<Bytes>();
    assert_send_sync::<Error>();
}

#[test]
fn error_messages() {
    assert_eq!(Error::NotFound.to_string(), "block not found");
    assert_eq!(Error::StoreClosed.to_string(), "store is closed");
    // Every variant has its own message, and the details are in it.
    let detailed = [
        (
            Error::InvalidKey {
                len: 1025,
                max_len: 1024,
            }
            .to_string(),
            &["invalid key", "1025", "1024"][..],
        ),
        (
            Error::InvalidRange {
                offset: 11,
                size: 10,
            }
            .to_string(),
            &["invalid range", "11", "10"][..],
        ),
        (
            Error::BufferTooSmall {
                needed: 100,
                capacity: 7,
            }
            .to_string(),
            &["buffer too small", "100", "7"][..],
        ),
        (
            Error::BlockTooLarge { size: 99, max: 98 }.to_string(),
            &["block too large", "99", "98"][..],
        ),
        (
            Error::StoreFull {
                needed: 501,
                max: 500,
            }
            .to_string(),
            &["store full", "501", "500"][..],
        ),
        (
            Error::OutOfMemory { size: 4242 }.to_string(),
            &["out of memory", "4242"][..],
        ),
    ];
    for (msg, parts) in detailed {
        for part in parts {
            assert!(msg.contains(part), "{msg:?} lacks {part:?}");
        }
    }
    // It is a std error, usable with `?` into Box<dyn Error>.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Error::NotFound);
    assert_eq!(boxed.to_string(), "block not found");
    // Errors returned by the store carry the same message.
    let store = MemoryStore::new();
    assert_eq!(store.read("x").unwrap_err().to_string(), "block not found");
    store.close();
    assert_eq!(store.read("x").unwrap_err().to_string(), "store is closed");
}

// ---------------------------------------------------------------- reserve / commit

/// Counts the bytes each thread has allocated and not yet freed, so a test
/// can see whether an operation on its own thread leaked.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<i64> = const { Cell::new(0) };
    }

    pub struct Counting;

    fn add(n: i64) {
        // `try_with`: allocations during thread teardown are not counted.
        let _ = LIVE.try_with(|live| live.set(live.get() + n));
    }

    /// Bytes allocated minus bytes freed by this thread so far.
    pub fn live() -> i64 {
        LIVE.with(Cell::get)
    }

    // SAFETY: every call is forwarded unchanged to the system allocator;
    // the counter is thread-local and never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as i64);
            // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as i64);
            // SAFETY: as for `alloc`.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            add(-(layout.size() as i64));
            // SAFETY: `ptr` was allocated by `System` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

#[test]
fn reservation_is_invisible_until_commit() {
    let store = MemoryStore::new();
    let mut r = store.reserve("dir/k", 5).unwrap();
    assert_eq!((r.key(), r.len(), r.is_empty()), (&b"dir/k"[..], 5, false));
    assert_eq!(r.as_mut_slice(), &[0u8; 5], "reserved memory is zeroed");
    r.as_mut_slice().copy_from_slice(b"hello");
    assert_eq!(store.exists("dir/k"), Ok(false));
    assert_eq!(store.read("dir/k"), Err(Error::NotFound));
    assert!(store.list("dir/").unwrap().is_empty());
    assert_eq!((store.block_count(), store.total_size()), (0, 0));
    store.commit(r).unwrap();
    assert_eq!(&store.read("dir/k").unwrap()[..], b"hello");
    assert_eq!((store.block_count(), store.total_size()), (1, 5));
    // An empty reservation makes an empty block, not a missing one.
    let r = store.reserve("empty", 0).unwrap();
    assert!(r.is_empty());
    store.commit(r).unwrap();
    assert_eq!(store.read("empty").unwrap().len(), 0);
    assert_accounting(&store);
}

#[test]
fn reservation_dropped_without_commit_frees_it_and_changes_nothing() {
    let store = MemoryStore::new();
    store.write("k", b"old").unwrap();
    let before = snapshot(&store);
    // A small block lives in the Rust allocator, which `counting` sees.
    const LEN: usize = 8 << 10;
    let live = counting::live();
    for _ in 0..8 {
        let mut r = store.reserve("k", LEN).unwrap();
        r.as_mut_slice().fill(7);
        assert!(
            counting::live() - live >= LEN as i64,
            "reservation not counted"
        );
        drop(r);
    }
    assert!(
        counting::live() - live < LEN as i64,
        "an aborted reservation leaked"
    );
    assert_eq!(snapshot(&store), before);
}

#[test]
fn reserve_checks_key_and_limits_before_allocating() {
    let store = with(Options {
        max_bytes: 100,
        max_block_size: 50,
        max_key_len: 4,
    });
    assert!(matches!(
        store.reserve("", 1),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.reserve("12345", 1),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.reserve("k", 51),
        Err(Error::BlockTooLarge { size: 51, max: 50 })
    ));
    // An impossible size is refused by the caps without allocating.
    assert!(matches!(
        store.reserve("k", usize::MAX),
        Err(Error::BlockTooLarge { .. })
    ));
    let roomy = with(Options {
        max_bytes: 100,
        ..Options::default()
    });
    assert_eq!(roomy.reserve("k", 101).map(|_| ()), store_full(101, 100));
    assert!(matches!(
        MemoryStore::new().reserve("k", usize::MAX),
        Err(Error::OutOfMemory { .. })
    ));
}

#[test]
fn reserve_counts_what_is_stored_against_the_cap() {
    let store = with(Options {
        max_bytes: 100,
        ..Options::default()
    });
    store.write("a", vec![1u8; 70]).unwrap();
    // 70 stored + 40 new = 110: refused before anything is filled.
    assert_eq!(store.reserve("b", 40).map(|_| ()), store_full(110, 100));
    // A replacement counts as total - old + new: 70 - 70 + 100 fits.
    let mut r = store.reserve("a", 100).unwrap();
    r.as_mut_slice().fill(2);
    store.commit(r).unwrap();
    assert_eq!((store.block_count(), store.total_size()), (1, 100));
    assert_eq!(store.reserve("b", 1).map(|_| ()), store_full(101, 100));
    store.delete("a").unwrap();
    assert!(store.reserve("b", 100).is_ok());
}

#[test]
fn commit_checks_the_cap_again_and_changes_nothing_on_error() {
    let store = with(Options {
        max_bytes: 100,
        ..Options::default()
    });
    store.write("r", vec![1u8; 30]).unwrap();
    let mut r = store.reserve("r", 60).unwrap();
    r.as_mut_slice().fill(2);
    // Meanwhile the store fills up: 30 + 50 = 80, and replacing "r" with 60
    // bytes would make 110.
    store.write("other", vec![3u8; 50]).unwrap();
    let before = snapshot(&store);
    assert_eq!(store.commit(r), store_full(110, 100));
    assert_eq!(snapshot(&store), before);
    // A replacement is counted as such: 50 + 50 fits.
    let mut r = store.reserve("r", 50).unwrap();
    r.as_mut_slice().fill(4);
    store.commit(r).unwrap();
    assert_eq!(&store.read("r").unwrap()[..], &[4u8; 50][..]);
    assert_eq!((store.block_count(), store.total_size()), (2, 100));

    // Limits are those of the store committed to.
    let strict = with(Options {
        max_block_size: 10,
        max_key_len: 1,
        ..Options::default()
    });
    let r = MemoryStore::new().reserve("kk", 5).unwrap();
    assert!(matches!(strict.commit(r), Err(Error::InvalidKey { .. })));
    let r = MemoryStore::new().reserve("k", 11).unwrap();
    assert!(matches!(strict.commit(r), Err(Error::BlockTooLarge { .. })));
    assert_eq!(strict.block_count(), 0);
}

#[test]
fn reserve_and_commit_after_close_are_store_closed() {
    let store = MemoryStore::new();
    let r = store.reserve("k", 3).unwrap();
    store.close();
    assert_eq!(store.commit(r), Err(Error::StoreClosed));
    assert!(matches!(store.reserve("k", 3), Err(Error::StoreClosed)));
    assert_eq!((store.block_count(), store.total_size()), (0, 0));
}

#[test]
fn commit_replaces_atomically() {
    let store = Arc::new(MemoryStore::new());
    let (a, b) = (vec![0xAAu8; 16 * 1024], vec![0xBBu8; 8 * 1024]);
    store.write("k", &a).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        let (a, b) = (a.clone(), b.clone());
        thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) || reads == 0 {
                let data = store.read("k").unwrap();
                assert!(data[..] == a[..] || data[..] == b[..], "a mixed block");
                reads += 1;
            }
        })
    };
    for i in 0..200 {
        let (data, other) = if i % 2 == 0 { (&b, &a) } else { (&a, &b) };
        let mut r = store.reserve("k", data.len()).unwrap();
        r.as_mut_slice().copy_from_slice(data);
        // Until the commit, readers still see the previous block whole.
        assert_eq!(&store.read("k").unwrap()[..], &other[..]);
        store.commit(r).unwrap();
        assert_eq!(store.block_count(), 1);
        assert_eq!(store.total_size(), data.len() as u64);
    }
    done.store(true, Ordering::Relaxed);
    reader.join().unwrap();
}

#[test]
fn write_with_fills_in_place_and_failures_change_nothing() {
    use std::io::Read;

    let store = MemoryStore::new();
    let mut src: &[u8] = b"0123456789";
    store.write_with("k", 4, |buf| src.read_exact(buf)).unwrap();
    assert_eq!(&store.read("k").unwrap()[..], b"0123");
    let before = snapshot(&store);

    // A short reader: the error is the reader's, and nothing is stored.
    let mut short: &[u8] = b"ab";
    let err = store
        .write_with("k", 4, |buf| short.read_exact(buf))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    // A failing filler with its own error type.
    let err = store
        .write_with("new", 4, |_| Err::<(), _>(Error::NotFound))
        .unwrap_err();
    assert_eq!(err, Error::NotFound);
    assert_eq!(snapshot(&store), before);

    // Store errors come back through `From`, still recognisable.
    store.close();
    let err = store
        .write_with("k", 1, |_| Ok::<(), std::io::Error>(()))
        .unwrap_err();
    assert_eq!(
        err.get_ref().and_then(|e| e.downcast_ref::<Error>()),
        Some(&Error::StoreClosed)
    );
}

#[test]
fn reservation_is_send_and_outlives_borrows() {
    fn assert_send<T: Send + 'static>(_: &T) {}
    let store = MemoryStore::new();
    let mut r = store.reserve("k", 2).unwrap();
    assert_send(&r);
    r = thread::spawn(move || {
        r.as_mut_slice().copy_from_slice(b"hi");
        r
    })
    .join()
    .unwrap();
    store.commit(r).unwrap();
    assert_eq!(&store.read("k").unwrap()[..], b"hi");
}

#[test]
fn reserved_memory_does_not_move_with_the_reservation() {
    let store = MemoryStore::new();
    let mut r = store.reserve("k", 100).unwrap();
    let at = r.as_mut_slice().as_ptr();
    let mut moved = Box::new(r);
    assert_eq!(moved.as_mut_slice().as_ptr(), at);
    assert_eq!(at as usize % 16, 0, "block data is 16-byte aligned");
    store.commit(*moved).unwrap();
    assert_eq!(
        store.read("k").unwrap().as_ptr(),
        at,
        "commit publishes in place"
    );
}
