//! Multi-threaded stress: writers, readers, listers and deleters at once,
//! with self-verifying payloads so a torn or misdirected read is caught,
//! plus a close in the middle, a quiet recount, and a byte-capped store.
//!
//! Every test runs for a bounded wall-clock time (well under two seconds)
//! so the suite stays quick in both release and debug builds.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use blockmem::{Error, MemoryStore, Options};

mod common;
use common::payload::{self, Rng};

const GROUPS: u64 = 8;
const KEYS_PER_GROUP: u64 = 32;

fn key_for(rng: &mut Rng) -> Vec<u8> {
    let g = rng.below(GROUPS);
    let k = rng.below(KEYS_PER_GROUP);
    format!("g{g}/k{k:02}").into_bytes()
}

fn group_prefix(rng: &mut Rng) -> Vec<u8> {
    format!("g{}/", rng.below(GROUPS)).into_bytes()
}

/// Payload sizes from 3 words (24 bytes) to about 16 KiB, mostly small.
fn words_for(rng: &mut Rng) -> usize {
    match rng.below(8) {
        0 => 3 + rng.below(2048) as usize,
        _ => 3 + rng.below(64) as usize,
    }
}

/// Fails the test on any error other than the ones listed.
fn expect_ok_or<T>(r: Result<T, Error>, allowed: &[Error], what: &str) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) if allowed.contains(&e) => None,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

/// For a ranged read: `InvalidRange` (the block is now shorter than the
/// offset) counts as done like a success, whose value `check` verifies.
fn expect_range<T>(r: Result<T, Error>, what: &str, check: impl FnOnce(T)) -> Option<()> {
    match r {
        Err(Error::InvalidRange { offset, size }) => {
            assert!(offset > size, "{what}: offset {offset} <= size {size}");
            Some(())
        }
        r => expect_ok_or(r, &[Error::NotFound, Error::StoreClosed], what).map(check),
    }
}

fn assert_recount(store: &MemoryStore) {
    common::recount(store).unwrap_or_else(|e| panic!("recount: {e}"));
}

#[derive(Clone, Copy)]
enum Role {
    Writer,
    Reader,
    Lister,
    Deleter,
}

/// One worker: runs its role's operations until `stop` is set. `closed` is
/// set by the main thread once `close()` has returned; an operation that
/// starts after that must fail with `StoreClosed`. Returns the number of
/// operations that succeeded.
fn worker(
    store: &MemoryStore,
    role: Role,
    seed: u64,
    stop: &AtomicBool,
    closed: &AtomicBool,
) -> u64 {
    let mut rng = Rng::new(seed);
    let mut version = (seed as u32) << 20;
    let mut buf = vec![0u8; 16 * 1024 + 64];
    let mut ok = 0u64;
    let mut held = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let was_closed = closed.load(Ordering::SeqCst);
        let key = key_for(&mut rng);
        let done: Option<()> = match role {
            Role::Writer => {
                version += 1;
                let data = payload::make(&key, version, words_for(&mut rng));
                expect_ok_or(store.write(&key, &data), &[Error::StoreClosed], "write")
            }
            Role::Reader => match rng.below(5) {
                0 => {
                    let r = store.read(&key);
                    expect_ok_or(r, &[Error::NotFound, Error::StoreClosed], "read").map(|d| {
                        payload::verify(&key, &d).unwrap_or_else(|e| panic!("read: {e}"));
                        // Keep a few views alive across later writes and
                        // the close; they are checked again at the end.
                        if rng.below(64) == 0 && held.len() < 32 {
                            held.push((key.clone(), d));
                        }
                    })
                }
                1 => {
                    let r = store.read_into(&key, &mut buf);
                    expect_ok_or(r, &[Error::NotFound, Error::StoreClosed], "read_into").map(|n| {
                        payload::verify(&key, &buf[..n])
                            .unwrap_or_else(|e| panic!("read_into: {e}"));
                    })
                }
                2 => {
                    let first = rng.below(70) as usize;
                    let len = rng.below(70) * 8;
                    let r = store.read_range(&key, first as u64 * 8, len);
                    expect_range(r, "read_range", |d| {
                        assert!(d.len() as u64 <= len);
                        payload::verify_range(&key, first, &d)
                            .unwrap_or_else(|e| panic!("read_range: {e}"))
                    })
                }
                3 => {
                    let first = rng.below(70) as usize;
                    let r = store.read_range_into(&key, first as u64 * 8, u64::MAX, &mut buf);
                    expect_range(r, "read_range_into", |n| {
                        payload::verify_range(&key, first, &buf[..n])
                            .unwrap_or_else(|e| panic!("read_range_into: {e}"))
                    })
                }
                _ => {
                    let r = store.stat(&key);
                    expect_ok_or(r, &[Error::NotFound, Error::StoreClosed], "stat").map(|s| {
                        assert!(s >= 24 && s.is_multiple_of(8), "stat {s}");
                    })
                }
            },
            Role::Lister => {
                let prefix = if rng.below(4) == 0 {
                    Vec::new()
                } else {
                    group_prefix(&mut rng)
                };
                let r = if rng.below(2) == 0 {
                    store.list(&prefix)
                } else {
                    store.list_page(&prefix, Some(&key), 1 + rng.below(20) as usize)
                };
                expect_ok_or(r, &[Error::StoreClosed], "list").map(|l| {
                    let keys: Vec<&[u8]> = l.keys().collect();
                    assert!(keys.windows(2).all(|w| w[0] < w[1]), "not sorted");
                    assert!(keys.iter().all(|k| k.starts_with(&prefix)), "prefix");
                    for (_, size) in &l {
                        assert!(size >= 24 && size.is_multiple_of(8), "listed size {size}");
                    }
                })
            }
            Role::Deleter => {
                if rng.below(16) == 0 {
                    let r = store.delete_by_prefix(group_prefix(&mut rng));
                    expect_ok_or(r, &[Error::StoreClosed], "delete_by_prefix").map(|d| {
                        assert!(d.bytes >= d.blocks * 24);
                    })
                } else {
                    expect_ok_or(store.delete(&key), &[Error::StoreClosed], "delete").map(drop)
                }
            }
        };
        match done {
            Some(()) => {
                assert!(!was_closed, "an operation succeeded after close returned");
                ok += 1;
            }
            None if was_closed => {
                // Closed for good: every further operation fails the same way.
                assert_eq!(store.health_check(), Err(Error::StoreClosed));
            }
            None => {}
        }
        if matches!(role, Role::Deleter) {
            // Deleters pause now and then so the store fills up again.
            thread::yield_now();
        }
    }
    for (key, data) in held {
        payload::verify(&key, &data).unwrap_or_else(|e| panic!("held view: {e}"));
    }
    ok
}

const ROLES: [Role; 7] = [
    Role::Writer,
    Role::Writer,
    Role::Reader,
    Role::Reader,
    Role::Lister,
    Role::Deleter,
    Role::Writer,
];

/// Starts one thread per role, runs `middle` on this thread, stops the
/// workers and returns their success counts.
fn run_workers(store: &Arc<MemoryStore>, closed: &Arc<AtomicBool>, middle: impl FnOnce()) -> u64 {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(ROLES.len() + 1));
    let handles: Vec<_> = ROLES
        .iter()
        .enumerate()
        .map(|(i, &role)| {
            let (store, stop, closed, start) =
                (store.clone(), stop.clone(), closed.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                worker(&store, role, i as u64 + 1, &stop, &closed)
            })
        })
        .collect();
    start.wait();
    middle();
    stop.store(true, Ordering::Relaxed);
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

#[test]
fn mixed_load_with_close_in_the_middle() {
    let store = Arc::new(MemoryStore::new());
    let closed = Arc::new(AtomicBool::new(false));
    let ops = run_workers(&store, &closed, || {
        thread::sleep(Duration::from_millis(600));
        store.close();
        closed.store(true, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(100));
    });
    eprintln!("{ops} operations succeeded");
    assert!(ops > 100, "only {ops} operations succeeded");
    assert!(store.is_closed());
    assert_eq!(store.block_count(), 0);
    assert_eq!(store.total_size(), 0);
    assert_eq!(store.list("").map(drop), Err(Error::StoreClosed));
    assert_eq!(store.write("k", b"x"), Err(Error::StoreClosed));
}

#[test]
fn mixed_load_then_quiet_recount() {
    let store = Arc::new(MemoryStore::new());
    let closed = Arc::new(AtomicBool::new(false));
    let ops = run_workers(&store, &closed, || {
        thread::sleep(Duration::from_millis(700))
    });
    eprintln!("{ops} operations succeeded");
    assert!(ops > 100, "only {ops} operations succeeded");
    assert!(store.block_count() > 0);
    assert_recount(&store);
    // The accounting stays right through a final prefix delete.
    let before = (store.block_count(), store.total_size());
    let d = store.delete_by_prefix("g1/").unwrap();
    assert_eq!(store.block_count(), before.0 - d.blocks);
    assert_eq!(store.total_size(), before.1 - d.bytes);
    assert_recount(&store);
}

/// Closing while many threads are mid-call, repeatedly: every call either
/// completes or reports `StoreClosed`, and nothing crashes.
#[test]
fn close_races_with_every_operation() {
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut rounds = 0;
    while rounds < 5 || Instant::now() < deadline {
        let store = Arc::new(MemoryStore::new());
        let closed = Arc::new(AtomicBool::new(false));
        for i in 0..64u32 {
            let key = format!("g{}/k{:02}", i % 8, i % 32);
            store
                .write(&key, payload::make(key.as_bytes(), i, 8))
                .unwrap();
        }
        run_workers(&store, &closed, || {
            thread::sleep(Duration::from_millis(5 + rounds % 7));
            store.close();
            closed.store(true, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(2));
        });
        assert_eq!((store.block_count(), store.total_size()), (0, 0));
        rounds += 1;
    }
}

// ---------------------------------------------------------------- byte cap

#[test]
fn byte_capped_store_under_concurrent_writers() {
    const MAX: u64 = 256 * 1024;
    const WRITERS: u64 = 3;
    let store = Arc::new(MemoryStore::with_options(Options {
        max_bytes: MAX,
        ..Options::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (store, stop, samples) = (store.clone(), stop.clone(), samples.clone());
        thread::spawn(move || {
            let mut max_seen = 0;
            while !stop.load(Ordering::Relaxed) {
                let total = store.total_size();
                assert!(total <= MAX, "total_size {total} over the cap {MAX}");
                max_seen = max_seen.max(total);
                samples.fetch_add(1, Ordering::Relaxed);
            }
            max_seen
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(100 + w);
                // Each writer owns its keys, so it knows what each holds.
                let mut mine: Vec<Option<Vec<u8>>> = vec![None; 48];
                let (mut accepted, mut full) = (0u64, 0u64);
                let deadline = Instant::now() + Duration::from_millis(800);
                let mut version = 0u32;
                while Instant::now() < deadline || accepted == 0 || full == 0 {
                    assert!(
                        Instant::now() < deadline + Duration::from_secs(10),
                        "no StoreFull or no accepted write"
                    );
                    let slot = rng.below(mine.len() as u64) as usize;
                    let key = format!("w{w}/{slot:02}").into_bytes();
                    if rng.below(6) == 0 {
                        assert_eq!(store.delete(&key), Ok(mine[slot].is_some()));
                        mine[slot] = None;
                        continue;
                    }
                    version += 1;
                    let words = 3 + rng.below(1024) as usize;
                    let data = payload::make(&key, version, words);
                    match store.write(&key, &data) {
                        Ok(()) => {
                            accepted += 1;
                            mine[slot] = Some(data);
                        }
                        Err(Error::StoreFull { needed, max }) => {
                            assert_eq!(max, MAX);
                            assert!(needed > MAX);
                            full += 1;
                        }
                        Err(e) => panic!("write: {e:?}"),
                    }
                    // Accepted blocks read back intact; a refused write left
                    // the previous block (or its absence) in place.
                    match (&mine[slot], store.read(&key)) {
                        (Some(want), Ok(got)) => assert_eq!(&got[..], &want[..]),
                        (None, Err(Error::NotFound)) => {}
                        (want, got) => panic!(
                            "{key:?}: expected {:?} bytes, got {got:?}",
                            want.as_ref().map(Vec::len)
                        ),
                    }
                }
                // Everything this writer still owns is intact.
                for (slot, want) in mine.iter().enumerate() {
                    let key = format!("w{w}/{slot:02}");
                    match want {
                        Some(want) => assert_eq!(&store.read(&key).unwrap()[..], &want[..]),
                        None => assert_eq!(store.read(&key), Err(Error::NotFound)),
                    }
                }
                (accepted, full)
            })
        })
        .collect();
    let (mut accepted, mut full) = (0, 0);
    for h in writers {
        let (a, f) = h.join().unwrap();
        accepted += a;
        full += f;
    }
    stop.store(true, Ordering::Relaxed);
    let max_seen = sampler.join().unwrap();
    eprintln!("accepted {accepted}, full {full}, max seen {max_seen}");
    assert!(accepted > 0 && full > 0, "accepted {accepted}, full {full}");
    assert!(samples.load(Ordering::Relaxed) > 0);
    assert!(max_seen > MAX / 2, "the cap was never approached");
    assert!(store.total_size() <= MAX);
    assert_recount(&store);
}

/// Cache mode under 4 writers of mixed sizes (24 bytes to 64 KiB), a
/// reader holding zero-copy reads across evictions, a lister and a prefix
/// deleter: `total_size` never passes the cap (sampled all along and
/// checked in consistent `stats()` snapshots), no write is refused, every
/// read is a whole, correct block (or not found: evicted), a block held
/// while it is evicted stays unchanged, and the counters account for
/// every block in the end.
#[test]
fn cache_mode_holds_its_cap_under_concurrent_writers() {
    const MAX: u64 = 512 * 1024;
    const WRITERS: u64 = 4;
    let store = Arc::new(MemoryStore::with_options(Options {
        max_bytes: MAX,
        evict: true,
        ..Options::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (store, stop) = (store.clone(), stop.clone());
        thread::spawn(move || {
            let mut max_seen = 0;
            while !stop.load(Ordering::Relaxed) {
                let total = store.total_size();
                assert!(total <= MAX, "total_size {total} over the cap {MAX}");
                let s = store.stats();
                assert!(s.total_size <= MAX, "stats: {s:?}");
                max_seen = max_seen.max(total);
            }
            max_seen
        })
    };
    let deadline = Instant::now() + Duration::from_millis(800);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(300 + w);
                let mut version = 0u32;
                let mut writes = 0u64;
                while Instant::now() < deadline {
                    let key = format!("g{}/w{w}/{:03}", rng.below(4), rng.below(200)).into_bytes();
                    version += 1;
                    let words = match rng.below(10) {
                        0 => 3 + rng.below(8192) as usize,
                        _ => 3 + rng.below(256) as usize,
                    };
                    let data = payload::make(&key, version, words);
                    let r = if rng.below(4) == 0 {
                        store.write_with(&key, data.len(), |buf| {
                            buf.copy_from_slice(&data);
                            Ok::<(), Error>(())
                        })
                    } else {
                        store.write(&key, &data)
                    };
                    r.unwrap_or_else(|e| panic!("write {} bytes: {e:?}", data.len()));
                    writes += 1;
                }
                writes
            })
        })
        .collect();
    let reader = {
        let store = store.clone();
        thread::spawn(move || {
            let mut rng = Rng::new(7);
            let mut held: Vec<(Vec<u8>, blockmem::Bytes)> = Vec::new();
            let (mut hits, mut misses) = (0u64, 0u64);
            while Instant::now() < deadline {
                let key = format!(
                    "g{}/w{}/{:03}",
                    rng.below(4),
                    rng.below(WRITERS),
                    rng.below(200)
                );
                match store.read(&key) {
                    Ok(b) => {
                        payload::verify(key.as_bytes(), &b).unwrap();
                        hits += 1;
                        if held.len() < 64 {
                            held.push((key.into_bytes(), b));
                        }
                    }
                    Err(Error::NotFound) => misses += 1,
                    Err(e) => panic!("read: {e:?}"),
                }
                if rng.below(16) == 0 {
                    // Blocks held across evictions still hold their bytes.
                    for (key, b) in held.drain(..) {
                        payload::verify(&key, &b).unwrap();
                    }
                }
            }
            (hits, misses)
        })
    };
    let pruner = {
        let store = store.clone();
        thread::spawn(move || {
            let mut rng = Rng::new(11);
            while Instant::now() < deadline {
                let prefix = format!("g{}/", rng.below(4));
                let listing = store.list(&prefix).unwrap();
                assert!(listing.keys().all(|k| k.starts_with(prefix.as_bytes())));
                if rng.below(8) == 0 {
                    store.delete_by_prefix(format!("{prefix}w0/")).unwrap();
                }
            }
        })
    };
    let writes: u64 = writers.into_iter().map(|h| h.join().unwrap()).sum();
    let (hits, misses) = reader.join().unwrap();
    pruner.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    let max_seen = sampler.join().unwrap();
    let s = store.stats();
    eprintln!("writes {writes}, reads {hits} hit / {misses} missed, max seen {max_seen}, {s:?}");
    assert!(
        s.evictions > 0 && s.evicted_bytes > 0,
        "nothing was evicted: {s:?}"
    );
    assert!(max_seen > MAX / 2, "the cap was never approached");
    assert!(s.hits >= hits && s.misses >= misses, "{s:?}");
    assert!(s.total_size <= MAX);
    assert_recount(&store);
    // Every block left is whole and correct.
    for (key, _) in store.list("").unwrap().iter() {
        payload::verify(key, &store.read(key).unwrap()).unwrap();
    }
}

/// The payload checks above are what make the stress tests meaningful, so
/// they must reject every kind of bad read.
#[test]
fn payload_check_rejects_torn_misdirected_and_short_blocks() {
    let a = payload::make(b"key", 1, 64);
    let b = payload::make(b"key", 2, 64);
    assert_eq!(payload::verify(b"key", &a), Ok(1));
    assert_eq!(payload::verify(b"key", &b), Ok(2));
    // Half of one version, half of the other.
    let torn: Vec<u8> = a[..256].iter().chain(&b[256..]).copied().collect();
    assert!(payload::verify(b"key", &torn).is_err());
    // One flipped byte anywhere.
    for i in (0..a.len()).step_by(7) {
        let mut bad = a.clone();
        bad[i] ^= 0x40;
        assert!(payload::verify(b"key", &bad).is_err(), "flip at {i}");
    }
    // Another key's block, a cut-short block, a longer version's prefix.
    assert!(payload::verify(b"other", &a).is_err());
    assert!(payload::verify(b"key", &a[..a.len() - 8]).is_err());
    assert!(payload::verify(b"key", &payload::make(b"key", 1, 65)[..512]).is_err());
    // Ranges: consistent slices pass, mixed or misplaced ones fail.
    assert!(payload::verify_range(b"key", 0, &a[..64]).is_ok());
    assert!(payload::verify_range(b"key", 5, &a[40..200]).is_ok());
    let mixed: Vec<u8> = a[40..120].iter().chain(&b[120..200]).copied().collect();
    assert!(payload::verify_range(b"key", 5, &mixed).is_err());
    assert!(payload::verify_range(b"key", 6, &a[40..200]).is_err());
    assert!(payload::verify_range(b"other", 5, &a[40..200]).is_err());
}

// ------------------------------------------- prefix work beside writers

/// Keys of very different shapes (empty and long shared stems, 0xFF bytes,
/// keys that are prefixes of others) arriving and leaving while readers and
/// listers run: the key order's front-coded leaves split, shrink and empty
/// under them. The listing rule of the contract holds: every stable key
/// (stored, unchanged, for the whole run) is listed exactly once, in
/// order, with its size, in a whole listing and in a walk by pages; a key
/// never written is never listed; no stable key is ever missed or misread.
#[test]
fn lookups_and_listings_hold_while_keys_come_and_go() {
    let long = "p".repeat(70);
    let stems: Vec<String> = vec![
        String::new(),
        "a".into(),
        "a/b/c/d/".into(),
        "share/content/chunk-0000001/".into(),
        "zz\u{ff}".into(),
        long,
    ];
    let key = |stem: &str, n: u64| format!("{stem}{n}").into_bytes();
    let store = Arc::new(MemoryStore::new());
    // Stable keys: written once, never deleted. The churn's keys have a
    // "v" after the stem, so its prefix deletes never reach a stable key.
    let mut stable: Vec<Vec<u8>> = (0..600u64)
        .map(|i| key(&stems[(i % 6) as usize], i))
        .collect();
    stable.sort();
    for k in &stable {
        store.write(k, payload::make(k, 0, 4)).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stable = Arc::new(stable);
    let mut threads = Vec::new();
    for t in 0..2u64 {
        let (store, stop, stems) = (store.clone(), stop.clone(), stems.clone());
        threads.push(thread::spawn(move || {
            let mut rng = Rng::new(100 + t);
            while !stop.load(Ordering::Relaxed) {
                let stem = format!("{}v", stems[rng.below(6) as usize]);
                let k = key(&stem, rng.below(2000));
                if rng.below(3) == 0 {
                    store.delete(&k).unwrap();
                } else {
                    store.write(&k, payload::make(&k, 1, 2)).unwrap();
                }
                if rng.below(500) == 0 {
                    store.delete_by_prefix(&stem).unwrap();
                }
            }
        }));
    }
    for t in 0..2u64 {
        let (store, stop, stable) = (store.clone(), stop.clone(), stable.clone());
        threads.push(thread::spawn(move || {
            let mut rng = Rng::new(200 + t);
            while !stop.load(Ordering::Relaxed) {
                let k = &stable[rng.below(stable.len() as u64) as usize];
                let data = store.read(k).expect("a stable key is always there");
                payload::verify(k, &data).unwrap();
            }
        }));
    }
    {
        let (store, stop, stable, stems) = (store.clone(), stop.clone(), stable.clone(), stems);
        threads.push(thread::spawn(move || {
            let mut rng = Rng::new(300);
            while !stop.load(Ordering::Relaxed) {
                let stem = stems[rng.below(6) as usize].as_bytes();
                let listing = store.list(stem).unwrap();
                // The same by pages of a few keys.
                let mut paged: Vec<(Vec<u8>, u64)> = Vec::new();
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let page = store.list_page(stem, after.as_ref(), 7).unwrap();
                    paged.extend(page.iter().map(|(k, n)| (k.to_vec(), n)));
                    after = page.last_key().map(<[u8]>::to_vec);
                    if !page.has_more() {
                        break;
                    }
                }
                let whole: Vec<(Vec<u8>, u64)> =
                    listing.iter().map(|(k, n)| (k.to_vec(), n)).collect();
                for listed in [whole, paged] {
                    assert!(
                        listed.windows(2).all(|w| w[0].0 < w[1].0),
                        "listing out of order, or a key twice"
                    );
                    for (k, size) in &listed {
                        assert!(k.starts_with(stem));
                        // Only stable keys and the churn's ("v" after a
                        // stem); nothing else was ever written.
                        let churn = stems
                            .iter()
                            .any(|s| k.starts_with(format!("{s}v").as_bytes()));
                        assert!(
                            churn || stable.binary_search(k).is_ok(),
                            "a key never written was listed"
                        );
                        if !churn {
                            assert_eq!(*size, payload::make(k, 0, 4).len() as u64);
                        }
                    }
                    for k in stable.iter().filter(|k| k.starts_with(stem)) {
                        assert!(
                            listed.binary_search_by(|(l, _)| l.cmp(k)).is_ok(),
                            "stable key missing from a listing"
                        );
                    }
                }
            }
        }));
    }
    thread::sleep(Duration::from_millis(600));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let all = store.list("").unwrap().to_vecs();
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert!(stable.iter().all(|k| all.binary_search(k).is_ok()));
    assert_recount(&store);
}

/// Prefix deletions of files while writers keep rewriting other files and
/// creating and deleting keys inside the files being deleted: each
/// deletion removes every key of its file that was there when it began
/// (nothing the churn does touches those), reports exactly what it
/// removed, and the counters match a recount at the end.
#[test]
fn prefix_deletion_removes_what_was_there_beside_writers() {
    let store = Arc::new(MemoryStore::new());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    // Writers of other keys, and churn inside the files being deleted
    // (names no file's stable keys use).
    for t in 0..2u64 {
        let (store, stop) = (store.clone(), stop.clone());
        threads.push(thread::spawn(move || {
            let mut rng = Rng::new(400 + t);
            while !stop.load(Ordering::Relaxed) {
                let other = format!("other/{t}/{}", rng.below(64)).into_bytes();
                store.write(&other, payload::make(&other, 2, 3)).unwrap();
                let churn = format!("file-{}/churn-{}", rng.below(40), rng.below(4)).into_bytes();
                if rng.below(2) == 0 {
                    store.write(&churn, payload::make(&churn, 3, 2)).unwrap();
                } else {
                    store.delete(&churn).unwrap();
                }
            }
        }));
    }
    let mut removed_blocks = 0u64;
    let mut removed_bytes = 0u64;
    for round in 0..200u64 {
        let file = round % 40;
        let blocks: Vec<Vec<u8>> = (0..8)
            .map(|b| format!("file-{file}/block-{b}").into_bytes())
            .collect();
        let mut bytes = 0;
        for (i, k) in blocks.iter().enumerate() {
            let data = payload::make(k, round as u32, 1 + i);
            bytes += data.len() as u64;
            store.write(k, data).unwrap();
        }
        let deleted = store.delete_by_prefix(format!("file-{file}/")).unwrap();
        for k in &blocks {
            assert_eq!(
                store.read(k),
                Err(Error::NotFound),
                "round {round}: a block survived"
            );
        }
        // The file's 8 blocks, plus whatever churn keys it caught.
        assert!(
            deleted.blocks >= 8 && deleted.bytes >= bytes,
            "round {round}: {deleted:?}"
        );
        removed_blocks += deleted.blocks;
        removed_bytes += deleted.bytes;
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert!(removed_blocks >= 8 * 200 && removed_bytes > 0);
    assert_recount(&store);
}
