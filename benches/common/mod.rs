//! What both benchmark programs (`store.rs`, `prefix.rs`) use; each uses
//! part of it.

#![allow(dead_code)]

use std::sync::Barrier;
use std::time::{Duration, Instant};

use blockmem::MemoryStore;
use criterion::Criterion;

/// Criterion's settings for both programs, sized for a full run of a few
/// minutes on 2 cores; the command line (`--warm-up-time`,
/// `--measurement-time`, `--sample-size`) overrides them.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(30)
}

/// A cheap, fixed sequence of indexes below `n` (xorshift).
pub struct Scatter(pub u64);

impl Scatter {
    pub fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// `blocks` keys shaped like a file system's (8 blocks a file), and a store
/// holding `data` under each.
pub fn file_store(blocks: usize, data: &[u8]) -> (Vec<String>, MemoryStore) {
    let keys: Vec<String> = (0..blocks)
        .map(|i| format!("share/content/file-{}/block-{}", i / 8, i % 8))
        .collect();
    let store = MemoryStore::new();
    for k in &keys {
        store.write(k, data).unwrap();
    }
    (keys, store)
}

/// Per-operation time of `threads` threads each running `op(thread, i)`
/// `iters` times at once.
pub fn timed_threads(threads: usize, iters: u64, op: impl Fn(usize, u64) + Sync) -> Duration {
    let start = Barrier::new(threads);
    let op = &op;
    let start = &start;
    let total: Duration = std::thread::scope(|s| {
        let runs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    start.wait();
                    let t0 = Instant::now();
                    for i in 0..iters {
                        op(t, i);
                    }
                    t0.elapsed()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).sum()
    });
    total / threads as u32
}
