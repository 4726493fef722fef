//! The contract (`docs/CONTRACT.md`) where the Rust API says more than the
//! cases every layer runs (`docs/contract-cases.txt`, run here by
//! `tests/cases.rs`): the details errors carry, zero-copy `Bytes`, key and
//! data types, options and stats, reservations, and the rules that need
//! threads or whole walks (atomic replacement, close races, one snapshot
//! per stats call, paging by every limit).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use blockmem::{Bytes, Error, MemoryStore, Options, DEFAULT_MAX_KEY_LEN};

fn with(options: Options) -> MemoryStore {
    MemoryStore::with_options(options)
}

/// A store with no limit but `max_bytes`.
fn capped(max_bytes: u64) -> MemoryStore {
    with(Options {
        max_bytes,
        ..Options::default()
    })
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

// ---------------------------------------------------------------- write

#[test]
fn write_replaces_existing_block_atomically() {
    // Readers racing the writes see one whole version or the other, never a
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

// ---------------------------------------------------------------- read

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

// ---------------------------------------------------------------- caller buffers

// ---------------------------------------------------------------- stat / exists

// ---------------------------------------------------------------- delete

// ---------------------------------------------------------------- list

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

// ---------------------------------------------------------------- options and limits

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
            max_key_len: DEFAULT_MAX_KEY_LEN,
            evict: false,
        }
    );
    assert_eq!(DEFAULT_MAX_KEY_LEN, 1024);
    // Zero max_key_len selects the default.
    assert_eq!(
        with(Options::default()).options().max_key_len,
        DEFAULT_MAX_KEY_LEN
    );
    store.write("k", b"1").unwrap();
    let stats = store.stats();
    assert_eq!((stats.block_count, stats.total_size), (1, 1));
    assert_eq!(stats.max_bytes, 0);
    assert_eq!(stats.max_block_size, 0);
    assert_eq!(stats.max_key_len, 1024);
    assert!(!stats.closed);
}

#[test]
fn errors_carry_their_details() {
    let store = with(Options {
        max_bytes: 20,
        max_block_size: 12,
        max_key_len: 4,
        ..Options::default()
    });
    store.write("d", b"0123456789").unwrap();
    let mut small = [0xEEu8; 3];
    assert_eq!(
        store.write("", b"x"),
        Err(Error::InvalidKey { len: 0, max_len: 4 })
    );
    assert_eq!(
        store.read("abcde").map(drop),
        Err(Error::InvalidKey { len: 5, max_len: 4 })
    );
    assert_eq!(
        store.read_range("d", 11, 1).map(drop),
        Err(Error::InvalidRange {
            offset: 11,
            size: 10
        })
    );
    assert_eq!(
        store.read_range_into("d", u64::MAX, 0, &mut small),
        Err(Error::InvalidRange {
            offset: u64::MAX,
            size: 10
        })
    );
    assert_eq!(
        store.read_into("d", &mut small),
        Err(Error::BufferTooSmall {
            needed: 10,
            capacity: 3
        })
    );
    // A range's need is the clamped range.
    assert_eq!(
        store.read_range_into("d", 4, u64::MAX, &mut small),
        Err(Error::BufferTooSmall {
            needed: 6,
            capacity: 3
        })
    );
    assert_eq!(small, [0xEE; 3]);
    assert_eq!(
        store.write("d", [0u8; 13]),
        Err(Error::BlockTooLarge { size: 13, max: 12 })
    );
    // A replacement counts as total - old + new.
    assert_eq!(store.write("e", [0u8; 11]), store_full(21, 20));
    assert_eq!(store.write("d", [0u8; 12]), Ok(()));
    assert_eq!(store.write("e", [0u8; 9]), store_full(21, 20));
    // Too large for the cap even alone: reported so on a closed store too.
    let never_fits = capped(10);
    never_fits.close();
    assert_eq!(never_fits.write("k", [0u8; 11]), store_full(11, 10));
    assert!(never_fits.is_closed());
}

#[test]
fn options_are_reported_as_given() {
    let opts = Options {
        max_bytes: 1000,
        max_block_size: 100,
        max_key_len: 16,
        ..Options::default()
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
fn total_size_never_exceeds_max_bytes() {
    let store = capped(1000);
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
    #[rustfmt::skip]
    let detailed: [(Error, &[&str]); 6] = [
        (Error::InvalidKey { len: 1025, max_len: 1024 }, &["invalid key", "1025", "1024"]),
        (Error::InvalidRange { offset: 11, size: 10 }, &["invalid range", "11", "10"]),
        (Error::BufferTooSmall { needed: 100, capacity: 7 }, &["buffer too small", "100", "7"]),
        (Error::BlockTooLarge { size: 99, max: 98 }, &["block too large", "99", "98"]),
        (Error::StoreFull { needed: 501, max: 500 }, &["store full", "501", "500"]),
        (Error::OutOfMemory { size: 4242 }, &["out of memory", "4242"]),
    ];
    for (err, parts) in detailed {
        let msg = err.to_string();
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
        ..Options::default()
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
    let roomy = capped(100);
    assert_eq!(roomy.reserve("k", 101).map(|_| ()), store_full(101, 100));
    assert!(matches!(
        MemoryStore::new().reserve("k", usize::MAX),
        Err(Error::OutOfMemory { .. })
    ));
}

#[test]
fn reserve_counts_what_is_stored_against_the_cap() {
    let store = capped(100);
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
    let store = capped(100);
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
