//! Criterion benchmarks for blockmem's Rust API, side by side with the
//! physical limits of the machine (a `memcpy` into a warm buffer, and an
//! allocate + copy + free of the same size). The C ABI, from a C caller and
//! from 1 to all cores, is measured by `benches/scaling.c`.
//!
//! Names are `<group>/<path>/<parameter>`; `benches/report/report.py` reads
//! criterion's `estimates.json` files and builds the report.
//!
//! Environment:
//! - `BLOCKMEM_BENCH_QUICK=1`: the reduced set used by `make bench-quick`
//!   (fewer sizes and store sizes; pass short `--warm-up-time` and
//!   `--measurement-time` on the command line as well).

use std::hint::black_box;

use blockmem::{MemoryStore, Options};

mod common;
use common::{config, file_store, Scatter};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Block sizes of the per-operation benchmarks.
const SIZES: &[(&str, usize)] = &[
    ("1KB", KIB),
    ("64KB", 64 * KIB),
    ("1MB", MIB),
    ("4MB", 4 * MIB),
];
const QUICK_SIZES: &[&str] = &["1KB", "64KB", "4MB"];

/// Range reads come from a block of this size.
const RANGE_BLOCK: usize = 4 * MIB;
/// (name, offset, length) of each range read.
const RANGES: &[(&str, usize, usize)] = &[
    ("1KB_start", 0, KIB),
    ("1KB_middle", RANGE_BLOCK / 2, KIB),
    ("64KB_start", 0, 64 * KIB),
    ("64KB_middle", RANGE_BLOCK / 2, 64 * KIB),
];

/// Store sizes (blocks) of the prefix benchmarks, and how many keys the
/// listed or deleted prefix matches.
const STORE_SIZES: &[usize] = &[10_000, 100_000, 1_000_000];
const QUICK_STORE_SIZES: &[usize] = &[10_000, 100_000];
const BLOCKS_PER_CHUNK: usize = 8;
/// Data size of each block in the prefix benchmarks (listing never touches
/// data, so a small size keeps the 10^6-block store cheap to build).
const PREFIX_BLOCK_SIZE: usize = 64;

const KEY: &str = "share/content/chunk-0/block-0";

fn quick() -> bool {
    std::env::var_os("BLOCKMEM_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

fn sizes() -> impl Iterator<Item = (&'static str, usize)> {
    let quick = quick();
    SIZES
        .iter()
        .copied()
        .filter(move |(name, _)| !quick || QUICK_SIZES.contains(name))
}

fn store_sizes() -> &'static [usize] {
    if quick() {
        QUICK_STORE_SIZES
    } else {
        STORE_SIZES
    }
}

/// Deterministic, non-uniform block contents.
fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect()
}

fn chunk_key(chunk: usize, block: usize) -> String {
    format!("share/content/chunk-{chunk:07}/block-{block}")
}

fn chunk_prefix(chunk: usize) -> String {
    format!("share/content/chunk-{chunk:07}/")
}

/// A store of `n` blocks of `PREFIX_BLOCK_SIZE` bytes, `BLOCKS_PER_CHUNK`
/// per chunk prefix.
fn prefix_store(n: usize) -> MemoryStore {
    let store = MemoryStore::new();
    let data = payload(PREFIX_BLOCK_SIZE);
    for i in 0..n {
        store
            .write(chunk_key(i / BLOCKS_PER_CHUNK, i % BLOCKS_PER_CHUNK), &data)
            .unwrap();
    }
    store
}

/// Distance, modulo one 4 KiB page, that the limit benchmarks keep between
/// destination and source. Copies whose destination sits just above the
/// source modulo 4 KiB (as with two buffers allocated one after the other)
/// can run many times slower on this machine's CPU ("4K aliasing", see
/// `large::copy`); the limits should be the best case, so they avoid it.
const LIMIT_DISTANCE: usize = 2048;

/// Room for `len` bytes at an address `page_offset` past a multiple of
/// 4 KiB. Returns the backing buffer and the offset of that room in it.
fn page_placed(len: usize, page_offset: usize) -> (Vec<u8>, usize) {
    let backing = vec![0u8; len + 4096];
    let base = backing.as_ptr() as usize;
    let offset = (page_offset % 4096 + 4096 - base % 4096) % 4096;
    (backing, offset)
}

/// A copy of `data` placed so that `(dst - src) % 4096 == LIMIT_DISTANCE`
/// for the given destination address. Returns the backing buffer and the
/// offset of the copy in it.
fn placed_source(data: &[u8], dst: *const u8) -> (Vec<u8>, usize) {
    let (mut backing, offset) =
        page_placed(data.len(), (dst as usize).wrapping_sub(LIMIT_DISTANCE));
    backing[offset..offset + data.len()].copy_from_slice(data);
    (backing, offset)
}

/// The limit of a read into a buffer: one `memcpy` of `src` into a warm,
/// well-placed buffer.
struct MemcpyLimit {
    src: Vec<u8>,
    offset: usize,
    dst: Vec<u8>,
}

impl MemcpyLimit {
    fn new(data: &[u8]) -> MemcpyLimit {
        let dst = vec![1u8; data.len()];
        let (src, offset) = placed_source(data, dst.as_ptr());
        MemcpyLimit { src, offset, dst }
    }

    fn run(&mut self) {
        let n = self.dst.len();
        black_box(&mut self.dst[..]).copy_from_slice(black_box(&self.src[self.offset..][..n]));
    }
}

/// The limit of a write: allocate a buffer, copy the block into it, free
/// it. The allocator hands back the same memory every time once warm, so
/// the source is placed relative to it (see [`LIMIT_DISTANCE`]).
struct AllocCopyLimit {
    src: Vec<u8>,
    offset: usize,
    len: usize,
}

impl AllocCopyLimit {
    fn new(data: &[u8]) -> AllocCopyLimit {
        // Warm the allocator first: glibc serves the first large request
        // with mmap and later ones from the heap.
        let mut addr = std::ptr::null();
        for _ in 0..3 {
            let v: Vec<u8> = Vec::with_capacity(data.len());
            addr = v.as_ptr();
        }
        let (src, offset) = placed_source(data, addr);
        AllocCopyLimit {
            src,
            offset,
            len: data.len(),
        }
    }

    fn run(&self) {
        let src = black_box(&self.src[self.offset..][..self.len]);
        let mut v: Vec<u8> = Vec::with_capacity(src.len());
        v.extend_from_slice(src);
        black_box(&v);
    }
}

/// A store holding `data` under [`KEY`].
fn store_with(data: &[u8]) -> MemoryStore {
    let store = MemoryStore::new();
    store.write(KEY, data).unwrap();
    store
}

/// Runs `bench(group, name, data)` once per block size in one group whose
/// throughput is the block size.
fn per_size(c: &mut Criterion, group: &str, bench: impl Fn(&mut Group, &str, &[u8])) {
    let mut g = c.benchmark_group(group);
    for (name, size) in sizes() {
        g.throughput(Throughput::Bytes(size as u64));
        bench(&mut g, name, &payload(size));
    }
    g.finish();
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn write(c: &mut Criterion) {
    per_size(c, "write", |g, name, data| {
        let store = MemoryStore::new();
        g.bench_function(BenchmarkId::new("rust", name), |b| {
            b.iter(|| store.write(black_box(KEY), black_box(data)).unwrap())
        });
        let limit = AllocCopyLimit::new(data);
        g.bench_function(BenchmarkId::new("limit_alloc_copy", name), |b| {
            b.iter(|| limit.run())
        });
    });
}

/// Benchmarks `op` on a store holding `data` under [`KEY`].
fn on_store<T>(g: &mut Group, id: BenchmarkId, data: &[u8], op: impl Fn(&MemoryStore) -> T) {
    let store = store_with(data);
    g.bench_function(id, |b| b.iter(|| op(black_box(&store))));
}

fn read(c: &mut Criterion) {
    per_size(c, "read", |g, name, data| {
        // Zero-copy: a `Bytes` sharing the stored block.
        on_store(g, BenchmarkId::new("rust_bytes", name), data, |s| {
            s.read(black_box(KEY)).unwrap()
        });
    });
}

fn read_into(c: &mut Criterion) {
    per_size(c, "read_into", |g, name, data| {
        let store = store_with(data);
        let mut buf = vec![0u8; data.len()];
        g.bench_function(BenchmarkId::new("rust", name), |b| {
            b.iter(|| {
                store
                    .read_into(black_box(KEY), black_box(&mut buf))
                    .unwrap()
            })
        });
        // The same read into a buffer 16 bytes above the block's data
        // modulo 4 KiB, where a plain `memcpy` meets 4 KiB aliasing (see
        // `large::copy`): where `malloc` places many buffers.
        let data_at = store.read(KEY).unwrap().as_ptr() as usize;
        let (mut backing, at) = page_placed(data.len(), data_at + 16);
        let aliased = &mut backing[at..at + data.len()];
        g.bench_function(BenchmarkId::new("rust_aliased", name), |b| {
            b.iter(|| {
                store
                    .read_into(black_box(KEY), black_box(&mut *aliased))
                    .unwrap()
            })
        });
        let mut limit = MemcpyLimit::new(data);
        g.bench_function(BenchmarkId::new("limit_memcpy", name), |b| {
            b.iter(|| limit.run())
        });
    });
}

fn range(c: &mut Criterion) {
    let mut g = c.benchmark_group("range");
    let data = payload(RANGE_BLOCK);
    let store = store_with(&data);
    for &(name, offset, length) in RANGES {
        if quick() && name.ends_with("_start") {
            continue;
        }
        let mut buf = vec![0u8; length];
        g.throughput(Throughput::Bytes(length as u64));
        let (off, len) = (offset as u64, length as u64);

        g.bench_function(BenchmarkId::new("rust_bytes", name), |b| {
            b.iter(|| store.read_range(black_box(KEY), off, len).unwrap())
        });
        g.bench_function(BenchmarkId::new("rust_into", name), |b| {
            b.iter(|| {
                store
                    .read_range_into(black_box(KEY), off, len, black_box(&mut buf))
                    .unwrap()
            })
        });
        let mut limit = MemcpyLimit::new(&data[offset..offset + length]);
        g.bench_function(BenchmarkId::new("limit_memcpy", name), |b| {
            b.iter(|| limit.run())
        });
    }
    g.finish();
}

fn stat(c: &mut Criterion) {
    per_size(c, "stat", |g, name, data| {
        on_store(g, BenchmarkId::new("rust", name), data, |s| {
            s.stat(black_box(KEY)).unwrap()
        });
    });
}

fn list_prefix(c: &mut Criterion) {
    let mut g = c.benchmark_group("list_prefix");
    g.throughput(Throughput::Elements(BLOCKS_PER_CHUNK as u64));
    for &n in store_sizes() {
        let store = prefix_store(n);
        let prefix = chunk_prefix(n / BLOCKS_PER_CHUNK / 2);
        assert_eq!(store.list(&prefix).unwrap().len(), BLOCKS_PER_CHUNK);
        g.bench_function(BenchmarkId::new("rust", n), |b| {
            b.iter(|| store.list(black_box(&prefix)).unwrap())
        });
    }
    g.finish();
}

fn delete_prefix(c: &mut Criterion) {
    let mut g = c.benchmark_group("delete_prefix");
    g.throughput(Throughput::Elements(BLOCKS_PER_CHUNK as u64));
    for &n in store_sizes() {
        let store = prefix_store(n);
        let chunk = n / BLOCKS_PER_CHUNK / 2;
        let prefix = chunk_prefix(chunk);
        let keys: Vec<String> = (0..BLOCKS_PER_CHUNK).map(|i| chunk_key(chunk, i)).collect();
        let data = payload(PREFIX_BLOCK_SIZE);
        g.bench_function(BenchmarkId::new("rust", n), |b| {
            // One setup per routine: the setup puts back what the previous
            // routine deleted, so every timed call removes the same blocks.
            b.iter_batched(
                || {
                    for k in &keys {
                        store.write(k, &data).unwrap();
                    }
                },
                |()| {
                    let d = store.delete_by_prefix(black_box(&prefix)).unwrap();
                    debug_assert_eq!(d.blocks, BLOCKS_PER_CHUNK as u64);
                    d
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// Bytes held by the real-size benchmarks ([`large_set`]).
const LARGE_SET_BYTES: usize = 256 * MIB;

/// Real size: a store holding [`LARGE_SET_BYTES`] of 64 KiB or 1 MiB
/// blocks, each operation on a random key, so blocks, pages and TLB
/// entries are cold. The limits do the same work in plain memory of the
/// same kind: `limit_recycled_copy` copies into a recycled buffer and
/// swaps it with a random slot (an allocator that reuses freed memory,
/// plus `memcpy`); `limit_memcpy` copies a random slot out.
fn large_set(c: &mut Criterion) {
    let mut g = c.benchmark_group("large_set");
    for (name, size) in [("64KB", 64 * KIB), ("1MB", MIB)] {
        g.throughput(Throughput::Bytes(size as u64));
        let data = payload(size);
        let n = LARGE_SET_BYTES / size;
        let (keys, store) = file_store(n, &data);
        let mut at = Scatter(0x9e37_79b9_7f4a_7c15);
        g.bench_function(BenchmarkId::new("write", name), |b| {
            b.iter(|| store.write(&keys[at.next(n)], black_box(&data)).unwrap())
        });
        let mut buf = vec![0u8; size];
        g.bench_function(BenchmarkId::new("read_into", name), |b| {
            b.iter(|| {
                store
                    .read_into(&keys[at.next(n)], black_box(&mut buf))
                    .unwrap()
            })
        });
        drop(store);

        let mut slots: Vec<Vec<u8>> = (0..n).map(|_| data.clone()).collect();
        let mut spare = data.clone();
        g.bench_function(BenchmarkId::new("limit_recycled_copy", name), |b| {
            b.iter(|| {
                spare.copy_from_slice(black_box(&data));
                std::mem::swap(&mut spare, &mut slots[at.next(n)]);
            })
        });
        g.bench_function(BenchmarkId::new("limit_memcpy", name), |b| {
            b.iter(|| buf.copy_from_slice(black_box(&slots[at.next(n)])))
        });
    }
    g.finish();
}

/// Lookups in a real-size index: a store of [`LARGE_SET_BYTES`] of 1 KiB
/// blocks (262,144 keys), a zero-copy read and a stat of a random key, so
/// the index and the block headers are cold; beside them a `HashMap` and a
/// `BTreeMap` of the same keys (`Vec<u8>` to `Bytes`), getting a clone of
/// the value, in the same run.
fn large_index(c: &mut Criterion) {
    use std::collections::{BTreeMap, HashMap};
    let mut g = c.benchmark_group("large_index");
    let size = KIB;
    let data = payload(size);
    let n = LARGE_SET_BYTES / size;
    let (keys, store) = file_store(n, &data);
    let mut at = Scatter(0x9e37_79b9_7f4a_7c15);
    g.bench_function(BenchmarkId::new("rust_read", "1KB"), |b| {
        b.iter(|| store.read(&keys[at.next(n)]).unwrap())
    });
    g.bench_function(BenchmarkId::new("rust_stat", "1KB"), |b| {
        b.iter(|| store.stat(&keys[at.next(n)]).unwrap())
    });
    drop(store);
    // Each map holds its own copy of every block, as the store does.
    let entries = || {
        keys.iter()
            .map(|k| (k.as_bytes().to_vec(), bytes::Bytes::copy_from_slice(&data)))
    };
    let hashed: HashMap<Vec<u8>, bytes::Bytes> = entries().collect();
    g.bench_function(BenchmarkId::new("hashmap_get", "1KB"), |b| {
        b.iter(|| hashed[keys[at.next(n)].as_bytes()].clone())
    });
    drop(hashed);
    let ordered: BTreeMap<Vec<u8>, bytes::Bytes> = entries().collect();
    g.bench_function(BenchmarkId::new("btreemap_get", "1KB"), |b| {
        b.iter(|| ordered[keys[at.next(n)].as_bytes()].clone())
    });
    g.finish();
}

/// Cache mode against store mode, side by side:
/// - `store_*` / `cache_*` 1KB and 64KB: overwrites and hits on 64 keys,
///   both stores with the same cap (far above what they hold, so nothing
///   is evicted), so the difference is what cache mode adds;
/// - `cache_*_threads` 1KB hits from 1 and 2 threads, each on its own 64
///   keys, for the scaling efficiency of a hit;
/// - `store_overwrite/64KB`: a store-mode overwrite of a random key among
///   [`CACHE_SET_BYTES`]; `cache_evicting/64KB`: a write to a cache capped
///   at [`CACHE_SET_BYTES`] from a key space twice as large, in a scattered
///   order, so at steady state about every write evicts a block.
fn cache(c: &mut Criterion) {
    let mut g = c.benchmark_group("cache");
    let capped = |max_bytes: u64, evict: bool| {
        MemoryStore::with_options(Options {
            max_bytes,
            evict,
            ..Options::default()
        })
    };
    let cached = |max_bytes: u64| capped(max_bytes, true);
    let keys: Vec<String> = (0..64)
        .map(|i| format!("share/content/file-0/block-{i}"))
        .collect();
    for (name, size) in [("1KB", KIB), ("64KB", 64 * KIB)] {
        g.throughput(Throughput::Bytes(size as u64));
        let data = payload(size);
        for (mode, store) in [
            ("store", capped(1 << 40, false)),
            ("cache", cached(1 << 40)),
        ] {
            for k in &keys {
                store.write(k, &data).unwrap();
            }
            let mut i = 0;
            g.bench_function(BenchmarkId::new(format!("{mode}_write"), name), |b| {
                b.iter(|| {
                    i = (i + 1) % keys.len();
                    store.write(&keys[i], black_box(&data)).unwrap()
                })
            });
            let mut buf = vec![0u8; size];
            g.bench_function(BenchmarkId::new(format!("{mode}_read_into"), name), |b| {
                b.iter(|| {
                    i = (i + 1) % keys.len();
                    store.read_into(&keys[i], black_box(&mut buf)).unwrap()
                })
            });
        }
    }
    let data = payload(KIB);
    let store = cached(1 << 40);
    let own: Vec<Vec<String>> = (0..2)
        .map(|t| {
            (0..64)
                .map(|i| format!("t{t}/share/content/file-0/block-{i}"))
                .collect()
        })
        .collect();
    for k in own.iter().flatten() {
        store.write(k, &data).unwrap();
    }
    for n in [1, 2] {
        g.bench_function(
            BenchmarkId::new("cache_read_into_threads", format!("1KB_{n}t")),
            |b| {
                b.iter_custom(|iters| {
                    common::timed_threads(n, iters, |t, i| {
                        let mut buf = [0u8; 1024];
                        store.read_into(&own[t][i as usize % 64], &mut buf).unwrap();
                        black_box(&buf);
                    })
                })
            },
        );
    }
    drop(store);
    let size = 64 * KIB;
    g.throughput(Throughput::Bytes(size as u64));
    let data = payload(size);
    let n = CACHE_SET_BYTES / size;
    let (keys, store) = file_store(n, &data);
    let mut at = Scatter(0x9e37_79b9_7f4a_7c15);
    g.bench_function(BenchmarkId::new("store_overwrite", "64KB"), |b| {
        b.iter(|| store.write(&keys[at.next(n)], black_box(&data)).unwrap())
    });
    drop(store);
    let store = cached(CACHE_SET_BYTES as u64);
    let keys: Vec<String> = (0..2 * n)
        .map(|i| format!("share/content/file-{}/block-{}", i / 8, i % 8))
        .collect();
    for k in &keys {
        store.write(k, &data).unwrap();
    }
    g.bench_function(BenchmarkId::new("cache_evicting", "64KB"), |b| {
        b.iter(|| {
            store
                .write(&keys[at.next(2 * n)], black_box(&data))
                .unwrap()
        })
    });
    g.finish();
}

/// The cap of the evicting cache benchmark, and the size of its store-mode
/// reference.
const CACHE_SET_BYTES: usize = 64 * MIB;

criterion_group! {
    name = benches;
    config = config();
    targets = write, read, read_into, range, stat, list_prefix, delete_prefix, large_set, large_index, cache
}
criterion_main!(benches);
