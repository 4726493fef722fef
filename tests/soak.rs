//! Soak test: many threads run mixed operations on one byte-capped store for
//! a given time. Every block describes itself (key hash, version, length
//! and a checksum), so every read is verified; at the end the store is
//! recounted and every block checked once more.
//!
//! Ignored by default (it runs for a minute unless told otherwise):
//!
//! ```text
//! BLOCKMEM_SOAK_DURATION=5m cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! Settings, from the environment: `BLOCKMEM_SOAK_DURATION` (60s; units
//! ms, s, m, h), `BLOCKMEM_SOAK_THREADS` (twice the cores),
//! `BLOCKMEM_SOAK_KEYS` (8192), `BLOCKMEM_SOAK_MAX_BYTES` (24 MiB; 0 for
//! no cap), `BLOCKMEM_SOAK_SEED` (1). Prints the operations executed per
//! kind and the totals, and fails on any failure.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use blockmem::{Error, MemoryStore, Options};

// ---------------------------------------------------------------- payloads

mod common;
use common::payload::{self, Rng};

// ---------------------------------------------------------------- configuration

#[derive(Clone)]
struct Config {
    duration: Duration,
    threads: usize,
    keys: u64,
    max_bytes: u64,
    seed: u64,
}

const GROUPS: u64 = 64;

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("bad duration unit in {s:?} (use ms, s, m or h)")),
    }
}

fn config() -> Result<Config, String> {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let var = |name: &str| std::env::var(format!("BLOCKMEM_SOAK_{name}")).ok();
    let number = |name: &str, default: u64| match var(name) {
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| format!("bad number {v:?} in BLOCKMEM_SOAK_{name}")),
        None => Ok(default),
    };
    Ok(Config {
        duration: var("DURATION").map_or(Ok(Duration::from_secs(60)), |v| parse_duration(&v))?,
        threads: number("THREADS", cpus as u64 * 2)?.max(1) as usize,
        keys: number("KEYS", 8192)?.max(GROUPS),
        max_bytes: number("MAX_BYTES", 24 << 20)?,
        seed: number("SEED", 1)?,
    })
}

// ---------------------------------------------------------------- the load

const KINDS: [&str; 10] = [
    "write",
    "read",
    "read_range",
    "read_into",
    "read_range_into",
    "stat",
    "exists",
    "delete",
    "delete_by_prefix",
    "list",
];
/// Relative weights of KINDS (per mille). Deletes are rare enough that the
/// store stays around two thirds full, so the default cap is reached.
const WEIGHTS: [u64; 10] = [300, 200, 100, 120, 60, 80, 50, 40, 1, 49];

#[derive(Default)]
struct Counts {
    ops: [u64; KINDS.len()],
    not_found: u64,
    store_full: u64,
    invalid_range: u64,
    errors: u64,
    verify_failures: u64,
    bytes_read: u64,
    bytes_written: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        for (a, b) in self.ops.iter_mut().zip(o.ops) {
            *a += b;
        }
        self.not_found += o.not_found;
        self.store_full += o.store_full;
        self.invalid_range += o.invalid_range;
        self.errors += o.errors;
        self.verify_failures += o.verify_failures;
        self.bytes_read += o.bytes_read;
        self.bytes_written += o.bytes_written;
    }
}

struct Shared {
    store: MemoryStore,
    cfg: Config,
    stop: AtomicBool,
    failures: Mutex<Vec<String>>,
}

impl Shared {
    fn fail(&self, msg: String) {
        let mut f = self.failures.lock().unwrap();
        if f.len() < 20 {
            f.push(msg);
        }
    }
}

fn key(g: u64, k: u64) -> Vec<u8> {
    format!("soak/g{g:02}/k{k:06}").into_bytes()
}

fn group_prefix(g: u64) -> Vec<u8> {
    format!("soak/g{g:02}/").into_bytes()
}

/// Mostly small blocks, some medium, a few large (up to 256 KiB).
fn block_words(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=79 => 3 + rng.below(128) as usize,
        80..=97 => 3 + rng.below(4096) as usize,
        _ => 3 + rng.below(32 * 1024) as usize,
    }
}

fn worker(shared: &Shared, id: u64) -> Counts {
    let cfg = &shared.cfg;
    let store = &shared.store;
    let mut rng = Rng::new(cfg.seed ^ (id + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    let mut c = Counts::default();
    let mut buf = vec![0u8; (32 * 1024 + 3) * 8];
    let mut version = (id as u32) << 24;
    let per_group = cfg.keys / GROUPS;
    let weight_sum: u64 = WEIGHTS.iter().sum();

    // Records an unexpected outcome.
    let check = |c: &mut Counts, what: &str, r: Result<(), Error>| match r {
        Ok(()) => {}
        Err(Error::NotFound) => c.not_found += 1,
        Err(Error::StoreFull { needed, max }) if needed > max => c.store_full += 1,
        Err(Error::InvalidRange { offset, size }) if offset > size => c.invalid_range += 1,
        Err(e) => {
            c.errors += 1;
            shared.fail(format!("{what}: unexpected error: {e}"));
        }
    };
    let verified = |c: &mut Counts, r: Result<(), String>| -> Result<(), Error> {
        if let Err(msg) = r {
            c.verify_failures += 1;
            shared.fail(msg);
        }
        Ok(())
    };

    while !shared.stop.load(Ordering::Relaxed) {
        let g = rng.below(GROUPS);
        let k = key(g, rng.below(per_group));
        let mut pick = rng.below(weight_sum);
        let kind = WEIGHTS
            .iter()
            .position(|&w| {
                if pick < w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .unwrap();
        c.ops[kind] += 1;
        let r = match KINDS[kind] {
            "write" => {
                version = version.wrapping_add(1);
                let data = payload::make(&k, version, block_words(&mut rng));
                let r = store.write(&k, &data);
                if r.is_ok() {
                    c.bytes_written += data.len() as u64;
                }
                r
            }
            "read" => store.read(&k).and_then(|d| {
                c.bytes_read += d.len() as u64;
                verified(
                    &mut c,
                    payload::verify(&k, &d)
                        .map(drop)
                        .map_err(|e| format!("{k:?}: {e}")),
                )
            }),
            "read_range" => {
                let first = rng.below(128) as usize;
                let len = rng.below(512) * 8;
                store.read_range(&k, first as u64 * 8, len).and_then(|d| {
                    c.bytes_read += d.len() as u64;
                    verified(
                        &mut c,
                        payload::verify_range(&k, first, &d).map_err(|e| format!("{k:?}: {e}")),
                    )
                })
            }
            "read_into" => store.read_into(&k, &mut buf).and_then(|n| {
                c.bytes_read += n as u64;
                verified(
                    &mut c,
                    payload::verify(&k, &buf[..n])
                        .map(drop)
                        .map_err(|e| format!("{k:?}: {e}")),
                )
            }),
            "read_range_into" => {
                let first = rng.below(128) as usize;
                let len = if rng.below(4) == 0 {
                    u64::MAX
                } else {
                    rng.below(512) * 8
                };
                store
                    .read_range_into(&k, first as u64 * 8, len, &mut buf)
                    .and_then(|n| {
                        c.bytes_read += n as u64;
                        verified(&mut c, payload::verify_range(&k, first, &buf[..n]))
                    })
            }
            "stat" => store.stat(&k).and_then(|size| {
                let ok = size >= 24 && size.is_multiple_of(8);
                verified(&mut c, ok.then_some(()).ok_or(format!("stat: size {size}")))
            }),
            "exists" => store.exists(&k).map(drop),
            "delete" => store.delete(&k).map(drop),
            "delete_by_prefix" => store.delete_by_prefix(group_prefix(g)).and_then(|d| {
                let ok = d.bytes >= d.blocks * 24;
                verified(&mut c, ok.then_some(()).ok_or(format!("deleted {d:?}")))
            }),
            "list" => {
                let prefix = group_prefix(g);
                let listing = if rng.below(2) == 0 {
                    store.list(&prefix)
                } else {
                    store.list_page(&prefix, Some(&k), 1 + rng.below(64) as usize)
                };
                listing.and_then(|l| {
                    let keys: Vec<&[u8]> = l.keys().collect();
                    let sorted = keys.windows(2).all(|w| w[0] < w[1]);
                    let matching = keys.iter().all(|key| key.starts_with(&prefix));
                    let ok = sorted && matching;
                    verified(
                        &mut c,
                        ok.then_some(()).ok_or("list: order or prefix".into()),
                    )
                })
            }
            _ => unreachable!(),
        };
        check(&mut c, KINDS[kind], r);
    }
    c
}

/// Recounts the quiet store and verifies every block.
fn final_check(shared: &Shared) -> Result<(u64, u64), String> {
    let store = &shared.store;
    let (count, total) = common::recount(store)?;
    if shared.cfg.max_bytes != 0 && total > shared.cfg.max_bytes {
        return Err(format!("total_size {total} over max_bytes"));
    }
    store.close();
    if store.block_count() != 0 || store.total_size() != 0 {
        return Err("counters not 0 after close".into());
    }
    if store.read(b"soak/g00/k000000") != Err(Error::StoreClosed) {
        return Err("read after close did not report StoreClosed".into());
    }
    Ok((count, total))
}

#[test]
#[ignore = "runs for a minute by default; see the module docs"]
fn soak() {
    let cfg = config().unwrap_or_else(|e| panic!("soak: {e}"));
    let store_mode = phase(cfg.clone(), false);
    // Then the same load on a cache (a third as long): writes evict
    // instead of failing, and every other check holds.
    let cache_mode = phase(
        Config {
            duration: cfg.duration / 3,
            ..cfg
        },
        true,
    );
    assert!(
        store_mode && cache_mode,
        "soak failed; see the reports above"
    );
}

/// One run of the load; prints its report and returns whether it passed.
fn phase(cfg: Config, evict: bool) -> bool {
    let evict = evict && cfg.max_bytes != 0;
    println!(
        "soak{}: {} threads, {:?}, {} keys in {} groups, max_bytes {}, seed {}",
        if evict { " in cache mode" } else { "" },
        cfg.threads,
        cfg.duration,
        cfg.keys,
        GROUPS,
        cfg.max_bytes,
        cfg.seed
    );
    let shared = Arc::new(Shared {
        store: MemoryStore::with_options(Options {
            max_bytes: cfg.max_bytes,
            evict,
            ..Options::default()
        }),
        cfg,
        stop: AtomicBool::new(false),
        failures: Mutex::new(Vec::new()),
    });

    // Watches the cap at every sample while the load runs.
    let samples = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (shared, samples) = (shared.clone(), samples.clone());
        thread::spawn(move || {
            let max = shared.cfg.max_bytes;
            let mut peak = 0;
            while !shared.stop.load(Ordering::Relaxed) {
                let total = shared.store.total_size();
                peak = peak.max(total);
                if max != 0 && total > max {
                    shared.fail(format!("total_size {total} over max_bytes {max}"));
                }
                samples.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_micros(200));
            }
            peak
        })
    };

    let start = Instant::now();
    let workers: Vec<_> = (0..shared.cfg.threads as u64)
        .map(|id| {
            let shared = shared.clone();
            thread::spawn(move || worker(&shared, id))
        })
        .collect();
    let mut next_report = Duration::from_secs(60);
    while start.elapsed() < shared.cfg.duration {
        thread::sleep(Duration::from_millis(100).min(shared.cfg.duration));
        if start.elapsed() >= next_report {
            println!(
                "  {:>5}s: {} blocks, {} bytes",
                start.elapsed().as_secs(),
                shared.store.block_count(),
                shared.store.total_size()
            );
            next_report += Duration::from_secs(60);
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut total = Counts::default();
    let mut panicked = 0;
    for w in workers {
        match w.join() {
            Ok(c) => total.add(&c),
            Err(_) => panicked += 1,
        }
    }
    let elapsed = start.elapsed();
    let peak = sampler.join().unwrap_or(0);
    let stats = shared.store.stats();
    let check = final_check(&shared);

    let ops: u64 = total.ops.iter().sum();
    println!("operations:");
    for (name, n) in KINDS.iter().zip(total.ops) {
        println!("  {name:<16} {n:>14}");
    }
    println!("  {:<16} {ops:>14}", "total");
    println!(
        "  {:<16} {:>14.0}",
        "per second",
        ops as f64 / elapsed.as_secs_f64()
    );
    println!("expected outcomes:");
    println!("  {:<16} {:>14}", "not found", total.not_found);
    println!("  {:<16} {:>14}", "store full", total.store_full);
    println!("  {:<16} {:>14}", "invalid range", total.invalid_range);
    println!(
        "data: {:.1} MiB written, {:.1} MiB read and verified",
        total.bytes_written as f64 / (1 << 20) as f64,
        total.bytes_read as f64 / (1 << 20) as f64
    );
    println!(
        "cap: peak total_size {peak} of {} ({} samples)",
        shared.cfg.max_bytes,
        samples.load(Ordering::Relaxed)
    );
    match &check {
        Ok((count, bytes)) => {
            println!("final recount: {count} blocks, {bytes} bytes, all verified")
        }
        Err(e) => println!("final recount: FAILED: {e}"),
    }
    if evict {
        println!(
            "cache: {} hits, {} misses, {} evictions ({:.1} MiB)",
            stats.hits,
            stats.misses,
            stats.evictions,
            stats.evicted_bytes as f64 / (1 << 20) as f64
        );
        if total.store_full != 0 || stats.evictions == 0 {
            println!("cache mode: writes refused or nothing evicted");
        }
    }
    println!("errors: {}", total.errors);
    println!("verification failures: {}", total.verify_failures);
    if panicked > 0 {
        println!("worker threads panicked: {panicked}");
    }
    let failures = shared.failures.lock().unwrap();
    for f in failures.iter() {
        println!("  failure: {f}");
    }
    let pass = total.errors == 0
        && total.verify_failures == 0
        && panicked == 0
        && failures.is_empty()
        && check.is_ok()
        && ops > 0
        && (!evict || (total.store_full == 0 && stats.evictions > 0));
    println!("{}", if pass { "PASS" } else { "FAIL" });
    pass
}
