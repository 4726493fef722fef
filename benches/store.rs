//! Criterion benchmarks for blockmem's Rust API and C ABI, side by side with
//! the physical limits of the machine (a `memcpy` into a warm buffer, and an
//! allocate + copy + free of the same size).
//!
//! Names are `<group>/<path>/<parameter>`; `bench/report.py` reads them from
//! criterion's `estimates.json` files and builds `bench/REPORT.md`.
//!
//! Environment:
//! - `BLOCKMEM_BENCH_QUICK=1`: the reduced set used by `make bench-quick`
//!   (fewer sizes and store sizes; pass short `--warm-up-time` and
//!   `--measurement-time` on the command line as well).

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use blockmem::ffi::{
    blockmem_block, blockmem_block_free, blockmem_get, blockmem_list, blockmem_list_page,
    blockmem_list_page_free, blockmem_read, blockmem_read_range, blockmem_stat, blockmem_status,
    blockmem_store, blockmem_store_free, blockmem_store_new, blockmem_write,
};
use blockmem::MemoryStore;
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

const PARALLEL_SIZE: usize = 64 * KIB;
const THREADS: &[usize] = &[1, 2, 4];

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

/// A C handle owned by the benchmark.
struct Handle(*mut blockmem_store);

impl Handle {
    fn new() -> Handle {
        let mut h = std::ptr::null_mut();
        // SAFETY: a live handle from `Handle::new`, slices borrowed for the
        // call, writable outputs; pins and pages are released once.
        check(unsafe { blockmem_store_new(std::ptr::null(), &mut h) });
        Handle(h)
    }

    fn write(&self, key: &[u8], data: &[u8]) -> blockmem_status {
        // SAFETY: a live handle from `Handle::new`, slices borrowed for the
        // call, writable outputs; pins and pages are released once.
        unsafe { blockmem_write(self.0, key.as_ptr(), key.len(), data.as_ptr(), data.len()) }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a live handle from `Handle::new`, slices borrowed for the
        // call, writable outputs; pins and pages are released once.
        unsafe { blockmem_store_free(self.0) };
    }
}

fn check(status: blockmem_status) {
    assert_eq!(status, blockmem_status::BLOCKMEM_STATUS_OK);
}

/// Distance, modulo one 4 KiB page, that the limit benchmarks keep between
/// destination and source. Copies whose destination sits just above the
/// source modulo 4 KiB (as with two buffers allocated one after the other)
/// run up to 1.4x slower on this machine's CPU ("4K aliasing"); the limits
/// should be the best case, so they avoid it.
const LIMIT_DISTANCE: usize = 2048;

/// A copy of `data` placed so that `(dst - src) % 4096 == LIMIT_DISTANCE`
/// for the given destination address. Returns the backing buffer and the
/// offset of the copy in it.
fn placed_source(data: &[u8], dst: *const u8) -> (Vec<u8>, usize) {
    let mut backing = vec![0u8; data.len() + 4096];
    let base = backing.as_ptr() as usize;
    let want = (dst as usize).wrapping_sub(LIMIT_DISTANCE) % 4096;
    let offset = (want + 4096 - base % 4096) % 4096;
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
        alloc_copy_free(black_box(&self.src[self.offset..][..self.len]));
    }
}

fn alloc_copy_free(src: &[u8]) {
    let mut v: Vec<u8> = Vec::with_capacity(src.len());
    v.extend_from_slice(src);
    black_box(&v);
}

/// Prints `placement <id> <d>...`: the distinct distances `(dst - src) %
/// 4096` that a store path produced, one per `locate()` call, where
/// `locate` performs the operation once more and returns `(dst, src)`.
/// Copies run slower when the distance is small (see [`LIMIT_DISTANCE`]);
/// the report quotes these lines next to the ratios to the limits.
fn placement(id: &str, mut locate: impl FnMut() -> (*const u8, *const u8)) {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let (dst, src) = locate();
        seen.insert((dst as usize).wrapping_sub(src as usize) % 4096);
    }
    let list: Vec<String> = seen.iter().map(|d| d.to_string()).collect();
    println!("placement {id} {}", list.join(" "));
}

/// Where the C ABI store keeps the block under `key`.
fn ffi_data_ptr(h: &Handle, key: &[u8]) -> *const u8 {
    let (mut ptr, mut len) = (std::ptr::null(), 0usize);
    let mut block: *mut blockmem_block = std::ptr::null_mut();
    // SAFETY: a live handle from `Handle::new`, slices borrowed for the
    // call, writable outputs; pins and pages are released once.
    check(unsafe { blockmem_get(h.0, key.as_ptr(), key.len(), &mut ptr, &mut len, &mut block) });
    // SAFETY: a live handle from `Handle::new`, slices borrowed for the
    // call, writable outputs; pins and pages are released once.
    unsafe { blockmem_block_free(block) };
    ptr
}

fn write(c: &mut Criterion) {
    let mut g = c.benchmark_group("write");
    for (name, size) in sizes() {
        let data = payload(size);
        g.throughput(Throughput::Bytes(size as u64));

        let store = MemoryStore::new();
        g.bench_function(BenchmarkId::new("rust", name), |b| {
            b.iter(|| store.write(black_box(KEY), black_box(&data)).unwrap())
        });
        placement(&format!("write/rust/{name}"), || {
            store.write(KEY, &data).unwrap();
            (store.read(KEY).unwrap().as_ptr(), data.as_ptr())
        });
        drop(store);

        let h = Handle::new();
        g.bench_function(BenchmarkId::new("ffi", name), |b| {
            b.iter(|| check(h.write(black_box(KEY.as_bytes()), black_box(&data))))
        });
        placement(&format!("write/ffi/{name}"), || {
            check(h.write(KEY.as_bytes(), &data));
            (ffi_data_ptr(&h, KEY.as_bytes()), data.as_ptr())
        });
        drop(h);

        let limit = AllocCopyLimit::new(&data);
        g.bench_function(BenchmarkId::new("limit_alloc_copy", name), |b| {
            b.iter(|| limit.run())
        });
    }
    g.finish();
}

fn read(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    for (name, size) in sizes() {
        let data = payload(size);
        g.throughput(Throughput::Bytes(size as u64));

        let store = MemoryStore::new();
        store.write(KEY, &data).unwrap();
        // Zero-copy: a `Bytes` sharing the stored block.
        g.bench_function(BenchmarkId::new("rust_bytes", name), |b| {
            b.iter(|| store.read(black_box(KEY)).unwrap())
        });
        drop(store);

        let h = Handle::new();
        check(h.write(KEY.as_bytes(), &data));
        // Zero-copy through the ABI: pin, look at the bytes, unpin.
        g.bench_function(BenchmarkId::new("ffi_get", name), |b| {
            b.iter(|| {
                let key = black_box(KEY.as_bytes());
                let (mut ptr, mut len) = (std::ptr::null(), 0usize);
                let mut block: *mut blockmem_block = std::ptr::null_mut();
                // SAFETY: a live handle from `Handle::new`, slices borrowed for the
                // call, writable outputs; pins and pages are released once.
                check(unsafe {
                    blockmem_get(h.0, key.as_ptr(), key.len(), &mut ptr, &mut len, &mut block)
                });
                black_box((ptr, len));
                // SAFETY: a live handle from `Handle::new`, slices borrowed for the
                // call, writable outputs; pins and pages are released once.
                unsafe { blockmem_block_free(block) };
            })
        });
    }
    g.finish();
}

fn read_into(c: &mut Criterion) {
    let mut g = c.benchmark_group("read_into");
    for (name, size) in sizes() {
        let data = payload(size);
        let mut buf = vec![0u8; size];
        g.throughput(Throughput::Bytes(size as u64));

        let store = MemoryStore::new();
        store.write(KEY, &data).unwrap();
        g.bench_function(BenchmarkId::new("rust", name), |b| {
            b.iter(|| {
                store
                    .read_into(black_box(KEY), black_box(&mut buf))
                    .unwrap()
            })
        });
        placement(&format!("read_into/rust/{name}"), || {
            (buf.as_ptr(), store.read(KEY).unwrap().as_ptr())
        });
        drop(store);

        let h = Handle::new();
        check(h.write(KEY.as_bytes(), &data));
        g.bench_function(BenchmarkId::new("ffi", name), |b| {
            b.iter(|| {
                let key = black_box(KEY.as_bytes());
                let mut n = 0usize;
                // SAFETY: a live handle from `Handle::new`, slices borrowed for the
                // call, writable outputs; pins and pages are released once.
                check(unsafe {
                    blockmem_read(
                        h.0,
                        key.as_ptr(),
                        key.len(),
                        buf.as_mut_ptr(),
                        buf.len(),
                        &mut n,
                    )
                });
                black_box(n)
            })
        });
        placement(&format!("read_into/ffi/{name}"), || {
            (buf.as_ptr(), ffi_data_ptr(&h, KEY.as_bytes()))
        });
        drop(h);

        let mut limit = MemcpyLimit::new(&data);
        g.bench_function(BenchmarkId::new("limit_memcpy", name), |b| {
            b.iter(|| limit.run())
        });
    }
    g.finish();
}

fn range(c: &mut Criterion) {
    let mut g = c.benchmark_group("range");
    let data = payload(RANGE_BLOCK);
    let store = MemoryStore::new();
    store.write(KEY, &data).unwrap();
    let h = Handle::new();
    check(h.write(KEY.as_bytes(), &data));
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
        g.bench_function(BenchmarkId::new("ffi_into", name), |b| {
            b.iter(|| {
                let key = black_box(KEY.as_bytes());
                let mut n = 0usize;
                // SAFETY: a live handle from `Handle::new`, slices borrowed for the
                // call, writable outputs; pins and pages are released once.
                check(unsafe {
                    blockmem_read_range(
                        h.0,
                        key.as_ptr(),
                        key.len(),
                        off,
                        len,
                        buf.as_mut_ptr(),
                        buf.len(),
                        &mut n,
                    )
                });
                black_box(n)
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
    let mut g = c.benchmark_group("stat");
    for (name, size) in sizes() {
        let data = payload(size);
        let store = MemoryStore::new();
        store.write(KEY, &data).unwrap();
        g.bench_function(BenchmarkId::new("rust", name), |b| {
            b.iter(|| store.stat(black_box(KEY)).unwrap())
        });
        drop(store);

        let h = Handle::new();
        check(h.write(KEY.as_bytes(), &data));
        g.bench_function(BenchmarkId::new("ffi", name), |b| {
            b.iter(|| {
                let key = black_box(KEY.as_bytes());
                let mut n = 0u64;
                // SAFETY: a live handle from `Handle::new`, slices borrowed for the
                // call, writable outputs; pins and pages are released once.
                check(unsafe { blockmem_stat(h.0, key.as_ptr(), key.len(), &mut n) });
                black_box(n)
            })
        });
    }
    g.finish();
}

/// Runs `op(thread)` `iters` times on each of `threads` threads at once and
/// returns the wall time from a common start to the last thread's end.
fn run_threads(threads: usize, iters: u64, op: &(dyn Fn(usize) + Sync)) -> Duration {
    let barrier = Barrier::new(threads + 1);
    let start = thread::scope(|s| {
        for t in 0..threads {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    op(t);
                }
            });
        }
        barrier.wait();
        Instant::now()
    });
    start.elapsed()
}

/// 64 KiB writes from several threads at once, each thread overwriting its
/// own key. One iteration is one write per thread, so the reported
/// throughput is the aggregate.
fn parallel_write(c: &mut Criterion) {
    let mut g = c.benchmark_group("parallel_write_64KB");
    let data = payload(PARALLEL_SIZE);
    for &threads in THREADS {
        g.throughput(Throughput::Bytes((PARALLEL_SIZE * threads) as u64));
        let keys: Vec<String> = (0..threads)
            .map(|t| format!("share/parallel/thread-{t}"))
            .collect();

        let store = MemoryStore::new();
        g.bench_function(BenchmarkId::new("rust", threads), |b| {
            b.iter_custom(|iters| {
                run_threads(threads, iters, &|t| store.write(&keys[t], &data).unwrap())
            })
        });
        drop(store);

        // Each thread allocates from its own arena, so no common placement
        // exists; this limit uses the plain source.
        g.bench_function(BenchmarkId::new("limit_alloc_copy", threads), |b| {
            b.iter_custom(|iters| {
                run_threads(threads, iters, &|_| alloc_copy_free(black_box(&data)))
            })
        });
    }
    g.finish();
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
        drop(store);

        let h = Handle::new();
        let data = payload(PREFIX_BLOCK_SIZE);
        for i in 0..n {
            let key = chunk_key(i / BLOCKS_PER_CHUNK, i % BLOCKS_PER_CHUNK);
            check(h.write(key.as_bytes(), &data));
        }
        g.bench_function(BenchmarkId::new("ffi", n), |b| {
            b.iter(|| {
                let p = black_box(prefix.as_bytes());
                let mut page: *mut blockmem_list_page = std::ptr::null_mut();
                // SAFETY: a live handle from `Handle::new`, slices borrowed for the
                // call, writable outputs; pins and pages are released once.
                check(unsafe {
                    blockmem_list(h.0, p.as_ptr(), p.len(), std::ptr::null(), 0, 0, &mut page)
                });
                // SAFETY: `page` was just returned by `blockmem_list`.
                black_box(unsafe { (*page).count });
                // SAFETY: a live handle from `Handle::new`, slices borrowed for the
                // call, writable outputs; pins and pages are released once.
                unsafe { blockmem_list_page_free(page) };
            })
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

fn config() -> Criterion {
    // Defaults sized for a full run of about 3 minutes on 2 cores; the
    // command line (`--warm-up-time`, `--measurement-time`,
    // `--sample-size`) overrides them.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = write, read, read_into, range, stat, parallel_write, list_prefix, delete_prefix
}
criterion_main!(benches);
