//! Memory overhead per block: how many resident bytes a store of 10^6
//! blocks of 1 KiB costs beyond the key and data bytes themselves.
//!
//! Measured two ways, both as the difference between after filling the
//! store and before:
//! - `rss`: the process's resident set (`/proc/self/statm`), what the
//!   operating system actually holds for the store (includes allocator
//!   headers, padding, the B-tree, and any heap slack).
//! - `heap`: bytes the allocator reports in use (glibc `mallinfo2`:
//!   `uordblks + hblkhd`), which leaves out free memory the allocator keeps.
//!
//! Prints one line, `memory impl=rust blocks=N ...`, read by
//! `bench/report.py`. Run with `cargo bench --bench memory`; set
//! `BLOCKMEM_MEMORY_BLOCKS` to change N.

use std::fmt::Write as _;

use blockmem::MemoryStore;

const DATA_SIZE: usize = 1024;

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).unwrap_or(4096)
}

/// Resident bytes of this process.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let resident: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm resident field");
    resident * page_size()
}

/// Bytes the allocator has handed out and not taken back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_in_use() -> Option<u64> {
    // SAFETY: mallinfo2 has no preconditions.
    let m = unsafe { libc::mallinfo2() };
    Some((m.uordblks + m.hblkhd) as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_in_use() -> Option<u64> {
    None
}

fn main() {
    let blocks: usize = std::env::var("BLOCKMEM_MEMORY_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let data: Vec<u8> = (0..DATA_SIZE).map(|i| i as u8).collect();
    let mut key = String::with_capacity(64);

    let store = MemoryStore::new();
    let (rss0, heap0) = (rss(), heap_in_use());
    let mut payload: u64 = 0;
    for i in 0..blocks {
        key.clear();
        write!(key, "share/content/chunk-{:07}/block-{}", i / 8, i % 8).unwrap();
        store.write(&key, &data).unwrap();
        payload += (key.len() + data.len()) as u64;
    }
    let (rss1, heap1) = (rss(), heap_in_use());
    assert_eq!(store.block_count(), blocks as u64);

    let per_block =
        |before: u64, after: u64| (after as f64 - before as f64 - payload as f64) / blocks as f64;
    let mut line = format!(
        "memory impl=rust blocks={blocks} data_size={DATA_SIZE} key_data_bytes={payload} \
         rss_delta={} rss_overhead_per_block={:.1}",
        rss1 - rss0,
        per_block(rss0, rss1),
    );
    if let (Some(h0), Some(h1)) = (heap0, heap1) {
        write!(
            line,
            " heap_delta={} heap_overhead_per_block={:.1}",
            h1 - h0,
            per_block(h0, h1)
        )
        .unwrap();
    }
    println!("{line}");
    drop(store);
}
