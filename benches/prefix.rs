//! Criterion benchmarks of prefix work and of point operations beside it,
//! each side by side with a reference doing the same work in the same run:
//!
//! - `prefix_sets`: listing one file's keys, and deleting one file's
//!   blocks by prefix then writing them back, on three key sets, against
//!   a plain ordered map (`RwLock<BTreeMap<Vec<u8>, Bytes>>`):
//!   - `seed`: 200k keys `share/content/file-N/block-M`, 8 blocks a file;
//!   - `wide`: 200k keys `shareA/contentB/chunk-0/block-C`, listing one key
//!     (the prefix is a whole key);
//!   - `hashed`: 10^6 keys with 32-hex-digit file names, 8 blocks a file.
//!
//!   Each operation takes a random file, so the index is cold as in a
//!   real store.
//! - `prefix_interference`: a thread overwriting 1 KiB blocks under its own
//!   64 keys, alone, while a second thread lists, deletes and writes back
//!   other files of the `seed` set, and (the machine's own limit) while the
//!   second thread does that work on a separate ordered map.
//! - `threads`: 1 KiB writes and reads (into a caller's buffer) from 1 and
//!   2 threads, each on its own 64 keys, against `DashMap<Vec<u8>, Bytes>`
//!   doing the same work. The time is per operation of one thread.
//!
//! `BLOCKMEM_BENCH_QUICK=1` (as for `benches/store.rs`) skips the 10^6-key
//! set.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use blockmem::MemoryStore;

mod common;
use bytes::Bytes;
use common::{config, timed_threads, Scatter};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dashmap::DashMap;
use parking_lot::RwLock;

/// Data size of each block of the key sets (listing never touches data).
const SET_BLOCK: usize = 64;
const PER_FILE: usize = 8;

fn quick() -> bool {
    std::env::var_os("BLOCKMEM_BENCH_QUICK").is_some_and(|v| v == "1")
}

/// A key set: every key, and per file the prefix that lists it and its
/// keys.
struct KeySet {
    name: &'static str,
    prefixes: Vec<String>,
    files: Vec<Vec<String>>,
}

impl KeySet {
    fn keys(&self) -> impl Iterator<Item = &String> {
        self.files.iter().flatten()
    }
}

fn seed_set() -> KeySet {
    let files = 200_000 / PER_FILE;
    KeySet {
        name: "seed",
        prefixes: (0..files)
            .map(|f| format!("share/content/file-{f}/"))
            .collect(),
        files: (0..files)
            .map(|f| {
                (0..PER_FILE)
                    .map(|m| format!("share/content/file-{f}/block-{m}"))
                    .collect()
            })
            .collect(),
    }
}

fn wide_set() -> KeySet {
    // 20 shares x 100 contents x 100 blocks; each "file" is one key.
    let key = |i: usize| {
        format!(
            "share{}/content{}/chunk-0/block-{}",
            i / 10_000,
            i / 100 % 100,
            i % 100
        )
    };
    KeySet {
        name: "wide",
        prefixes: (0..200_000).map(key).collect(),
        files: (0..200_000).map(|i| vec![key(i)]).collect(),
    }
}

fn hashed_set() -> KeySet {
    let files = 1_000_000 / PER_FILE;
    let mut h = Scatter(0x2545_f491_4f6c_dd1d);
    let names: Vec<String> = (0..files)
        .map(|_| format!("{:016x}{:016x}", h.next(usize::MAX), h.next(usize::MAX)))
        .collect();
    KeySet {
        name: "hashed",
        prefixes: names
            .iter()
            .map(|n| format!("share/content/{n}/"))
            .collect(),
        files: names
            .iter()
            .map(|n| {
                (0..PER_FILE)
                    .map(|m| format!("share/content/{n}/block-{m}"))
                    .collect()
            })
            .collect(),
    }
}

/// The reference: an ordered map under one lock.
#[derive(Default)]
struct OrderedMap(RwLock<BTreeMap<Vec<u8>, Bytes>>);

impl OrderedMap {
    fn write(&self, key: &str, data: &[u8]) {
        let value = Bytes::copy_from_slice(data);
        self.0.write().insert(key.as_bytes().to_vec(), value);
    }

    /// Keys and sizes under `prefix`, as `MemoryStore::list` returns them.
    fn list(&self, prefix: &str) -> Vec<(Vec<u8>, u64)> {
        let map = self.0.read();
        map.range::<[u8], _>((Bound::Included(prefix.as_bytes()), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix.as_bytes()))
            .map(|(k, v)| (k.clone(), v.len() as u64))
            .collect()
    }

    fn delete_by_prefix(&self, prefix: &str) -> usize {
        let mut map = self.0.write();
        let keys: Vec<Vec<u8>> = map
            .range::<[u8], _>((Bound::Included(prefix.as_bytes()), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix.as_bytes()))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &keys {
            map.remove(k);
        }
        keys.len()
    }
}

fn prefix_sets(c: &mut Criterion) {
    let mut g = c.benchmark_group("prefix_sets");
    let data = vec![0x5au8; SET_BLOCK];
    let mut sets: Vec<fn() -> KeySet> = vec![seed_set, wide_set];
    if !quick() {
        sets.push(hashed_set);
    }
    for make in sets {
        let set = make();
        let n = set.prefixes.len();
        let store = MemoryStore::new();
        for k in set.keys() {
            store.write(k, &data).unwrap();
        }
        let mut at = Scatter(0x9e37_79b9_7f4a_7c15);
        g.bench_function(BenchmarkId::new("rust_list", set.name), |b| {
            b.iter(|| store.list(black_box(&set.prefixes[at.next(n)])).unwrap())
        });
        g.bench_function(BenchmarkId::new("rust_delete_rewrite", set.name), |b| {
            b.iter(|| {
                let f = at.next(n);
                let gone = store.delete_by_prefix(black_box(&set.prefixes[f])).unwrap();
                debug_assert_eq!(gone.blocks as usize, set.files[f].len());
                for k in &set.files[f] {
                    store.write(k, black_box(&data)).unwrap();
                }
            })
        });
        drop(store);

        let map = OrderedMap::default();
        for k in set.keys() {
            map.write(k, &data);
        }
        g.bench_function(BenchmarkId::new("btreemap_list", set.name), |b| {
            b.iter(|| map.list(black_box(&set.prefixes[at.next(n)])))
        });
        g.bench_function(BenchmarkId::new("btreemap_delete_rewrite", set.name), |b| {
            b.iter(|| {
                let f = at.next(n);
                let gone = map.delete_by_prefix(black_box(&set.prefixes[f]));
                debug_assert_eq!(gone, set.files[f].len());
                for k in &set.files[f] {
                    map.write(k, black_box(&data));
                }
            })
        });
    }
    g.finish();
}

fn own_keys(thread: usize) -> Vec<String> {
    (0..64)
        .map(|i| format!("bench/t{thread}/block-{i}"))
        .collect()
}

fn prefix_interference(c: &mut Criterion) {
    let mut g = c.benchmark_group("prefix_interference");
    let set = seed_set();
    let small = vec![0x5au8; SET_BLOCK];
    let store = Arc::new(MemoryStore::new());
    for k in set.keys() {
        store.write(k, &small).unwrap();
    }
    let data = vec![0xa5u8; 1024];
    let keys = own_keys(0);
    let mut i = 0;
    g.bench_function(BenchmarkId::new("write_alone", "1KB"), |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            store.write(&keys[i], black_box(&data)).unwrap()
        })
    });
    // Beside the prefix work on the store itself, then (the machine's own
    // limit: two busy cores sharing caches and memory) beside the same work
    // on a separate ordered map.
    let map = Arc::new(OrderedMap::default());
    for k in set.keys() {
        map.write(k, &small);
    }
    let set = Arc::new(set);
    for (name, on_store) in [
        ("write_beside_prefix_ops", true),
        ("write_beside_btreemap_ops", false),
    ] {
        let stop = Arc::new(AtomicBool::new(false));
        let prefix_ops = {
            let (store, map, set, stop) = (
                Arc::clone(&store),
                Arc::clone(&map),
                Arc::clone(&set),
                Arc::clone(&stop),
            );
            let small = small.clone();
            std::thread::spawn(move || {
                let mut at = Scatter(0x1234_5678_9abc_def1);
                let mut rounds = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let f = at.next(set.prefixes.len());
                    if on_store {
                        black_box(store.list(&set.prefixes[f]).unwrap());
                        store.delete_by_prefix(&set.prefixes[f]).unwrap();
                        for k in &set.files[f] {
                            store.write(k, &small).unwrap();
                        }
                    } else {
                        black_box(map.list(&set.prefixes[f]));
                        map.delete_by_prefix(&set.prefixes[f]);
                        for k in &set.files[f] {
                            map.write(k, &small);
                        }
                    }
                    rounds += 1;
                }
                rounds
            })
        };
        // Whether criterion ran the row (a filter that excludes it skips
        // the closure, and then the prefix thread may never get to run).
        let mut timed = false;
        g.bench_function(BenchmarkId::new(name, "1KB"), |b| {
            timed = true;
            b.iter(|| {
                i = (i + 1) % keys.len();
                store.write(&keys[i], black_box(&data)).unwrap()
            })
        });
        stop.store(true, Ordering::Relaxed);
        let rounds = prefix_ops.join().unwrap();
        assert!(!timed || rounds > 0, "the prefix thread never ran");
    }
    g.finish();
}

fn threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("threads");
    let data = vec![0xa5u8; 1024];
    let keys: Vec<Vec<String>> = (0..2).map(own_keys).collect();
    let store = MemoryStore::new();
    let map: DashMap<Vec<u8>, Bytes> = DashMap::new();
    for k in keys.iter().flatten() {
        store.write(k, &data).unwrap();
        map.insert(k.as_bytes().to_vec(), Bytes::copy_from_slice(&data));
    }
    for n in [1, 2] {
        let key = |t: usize, i: u64| &keys[t][i as usize % 64];
        let mut on_threads = |name: &str, op: &(dyn Fn(usize, u64) + Sync)| {
            g.bench_function(BenchmarkId::new(name, format!("1KB_{n}t")), |b| {
                b.iter_custom(|iters| timed_threads(n, iters, op))
            });
        };
        on_threads("rust_write", &|t, i| {
            store.write(key(t, i), black_box(&data)).unwrap();
        });
        on_threads("dashmap_write", &|t, i| {
            let value = Bytes::copy_from_slice(black_box(&data));
            map.insert(key(t, i).as_bytes().to_vec(), value);
        });
        on_threads("rust_read_into", &|t, i| {
            let mut buf = [0u8; 1024];
            store.read_into(key(t, i), &mut buf).unwrap();
            black_box(&buf);
        });
        on_threads("dashmap_read_into", &|t, i| {
            let mut buf = [0u8; 1024];
            let value = map.get(key(t, i).as_bytes()).unwrap();
            buf.copy_from_slice(&value);
            drop(value);
            black_box(&buf);
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = prefix_sets, prefix_interference, threads
}
criterion_main!(benches);
