//! Resident memory of a store of large blocks, as the kernel counts it
//! (`/proc/self/statm`):
//! - full, and again after every block has been rewritten three times,
//!   it is at most the block bytes plus [`PER_BLOCK`] bytes per block plus
//!   5%;
//! - after everything is deleted, it falls back to where it started within
//!   [`GIVE_BACK`] (freed block memory goes back to the system after about
//!   a second, see `src/large.rs`);
//! - a store of a few large blocks costs their bytes plus at most 1 MiB
//!   of anonymous memory (`RssAnon`: the pages of code a first write runs
//!   are not the store's);
//! - memory given back around kept blocks loses the huge-page mark, so the
//!   kernel does not fill it again; where jemalloc may unmap part of a
//!   mapping (`retain:false`), nothing is marked;
//! - an aborted reservation of a large block leaves nothing resident (its
//!   data comes from jemalloc, which the allocator-counting tests of
//!   `contract.rs` do not see).
//!
//! Resident memory is process-wide, so this file holds one test, which
//! runs each check in turn.

#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use blockmem::MemoryStore;

mod common;

const PER_BLOCK: u64 = 90;
const TOTAL: usize = 256 << 20;
const GIVE_BACK: Duration = Duration::from_secs(10);
const SMALL_STORE_SLACK: u64 = 1 << 20;

/// Resident anonymous memory (`RssAnon` in `/proc/self/status`): the
/// process's data without the pages of its code and other files, which
/// the first use of a code path faults in (some hundreds of KiB in a debug
/// build, varying from run to run), and which are no memory the store
/// holds.
fn anonymous() -> u64 {
    common::status_bytes("RssAnon")
}

fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("resident pages in /proc/self/statm");
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

fn check(size: usize) {
    let blocks = TOTAL / size;
    let data = vec![0x5au8; size];
    let key = |i: usize| format!("share/content/file-{}/block-{}", i / 8, i % 8);
    let start = resident();
    let bound = |what: &str| {
        let used = resident().saturating_sub(start);
        let allowed = (TOTAL as u64 + PER_BLOCK * blocks as u64) * 105 / 100;
        assert!(
            used <= allowed,
            "{size}-byte blocks, {what}: {used} bytes resident, over {allowed}"
        );
        used
    };

    let store = MemoryStore::new();
    for i in 0..blocks {
        store.write(key(i), &data).unwrap();
    }
    let full = bound("written");
    // Rewrites in a scattered order, as a cache or a file system makes them.
    // A store this large streams its large copies past the cache (see
    // `src/large.rs`): each rewrite carries its own bytes, checked below.
    let mut x = 0x9e37_79b9_u64;
    let mut version = vec![0u8; blocks];
    let mut block = data.clone();
    for n in 0..3 * blocks {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = x as usize % blocks;
        version[i] = (n % 251) as u8 + 1;
        block[0] = version[i];
        block[size - 1] = version[i];
        store.write(key(i), &block).unwrap();
    }
    let churned = bound("rewritten");
    assert_eq!(store.total_size(), TOTAL as u64);
    for (i, &v) in version.iter().enumerate() {
        let read = store.read(key(i)).unwrap();
        let want = if v == 0 { 0x5a } else { v };
        assert!(
            read[0] == want
                && read[size - 1] == want
                && read[1..size - 1].iter().all(|&b| b == 0x5a),
            "{size}-byte block {i} read back wrong"
        );
    }

    let deleted = store.delete_by_prefix("").unwrap();
    assert_eq!(deleted.bytes, TOTAL as u64);
    let since = Instant::now();
    let slack = TOTAL as u64 / 16;
    while resident().saturating_sub(start) > slack {
        assert!(
            since.elapsed() < GIVE_BACK,
            "{size}-byte blocks: {} bytes still resident {GIVE_BACK:?} after deleting everything",
            resident().saturating_sub(start)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "{size}-byte blocks: {} MiB resident full, {} MiB after rewrites, given back in {:?}",
        full >> 20,
        churned >> 20,
        since.elapsed()
    );
}

/// A small store costs about what it holds: the first large blocks of a
/// process (whose block arenas, and their metadata, are made for them) add
/// at most [`SMALL_STORE_SLACK`] besides their bytes. Marking every new
/// mapping for huge pages would fail this: each would pin a whole 2 MiB
/// page for a few kilobytes of metadata (see `src/large.rs`).
fn a_small_store_costs_what_it_holds() {
    let start = anonymous();
    let store = MemoryStore::new();
    let sizes = [64 << 10, 1 << 20, 100 << 10];
    for (i, &size) in sizes.iter().enumerate() {
        store
            .write(format!("small/{i}"), vec![i as u8 + 1; size])
            .unwrap();
    }
    let held: u64 = sizes.iter().map(|&s| s as u64).sum();
    let used = anonymous().saturating_sub(start);
    println!(
        "a store of {held} bytes in {} blocks: {used} bytes of anonymous memory resident",
        sizes.len()
    );
    // The cause, whatever the system's huge-page setting: no block of a
    // small store lies in an area marked for huge pages.
    let areas = huge_page_areas();
    for i in 0..sizes.len() {
        let p = store.read(format!("small/{i}")).unwrap().as_ptr().addr();
        assert!(
            !in_areas(&areas, p),
            "block {i} of a small store lies in an area marked for huge pages"
        );
    }
    // The cost, unless the system gives every area huge pages unasked
    // ("always"), which blockmem does not control.
    if thp_mode().as_deref() == Some("always") {
        println!("transparent huge pages always on: the resident bound is not checked");
    } else {
        assert!(
            used <= held + SMALL_STORE_SLACK,
            "a store of {held} bytes added {used} bytes resident (allowed: {SMALL_STORE_SLACK} more)"
        );
    }
    for (i, &size) in sizes.iter().enumerate() {
        assert_eq!(
            store.read(format!("small/{i}")).unwrap(),
            vec![i as u8 + 1; size]
        );
    }
}

/// Why blockmem installs no huge-page hooks here (`hooks_apply` in
/// `src/large.rs`), or `None` where it does.
fn no_hooks() -> Option<&'static str> {
    if thp_mode().is_none() {
        return Some("no transparent huge pages in this kernel");
    }
    let pmd = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    if pmd.ok().and_then(|s| s.trim().parse::<u64>().ok()) != Some(2 << 20) {
        return Some("huge pages are not of 2 MiB");
    }
    // SAFETY: sysconf has no preconditions.
    if unsafe { libc::sysconf(libc::_SC_PAGESIZE) } != 4096 {
        return Some("pages are not of 4 KiB");
    }
    let conf = std::env::var("_RJEM_MALLOC_CONF").unwrap_or_default();
    if conf.contains("retain:false") {
        return Some("jemalloc set not to retain its mappings");
    }
    None
}

/// The system's transparent huge page mode ("always", "madvise" or
/// "never"); `None` where the kernel has no transparent huge pages.
fn thp_mode() -> Option<String> {
    let text = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_string())
}

/// Whether address `p` lies in one of `areas` (from [`huge_page_areas`]).
fn in_areas(areas: &[(usize, usize)], p: usize) -> bool {
    areas.iter().any(|&(a, b)| (a..b).contains(&p))
}

/// The memory areas (VMAs) of the process that carry the huge-page mark
/// (`hg` in their `VmFlags`), as address ranges.
fn huge_page_areas() -> Vec<(usize, usize)> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
    let mut areas = Vec::new();
    let mut current = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                current = Some((a, b));
                continue;
            }
        }
        if let (Some(flags), Some(area)) = (line.strip_prefix("VmFlags:"), current) {
            if flags.split_whitespace().any(|f| f == "hg") {
                areas.push(area);
            }
        }
    }
    areas
}

/// Once the allocator has given back part of a 2 MiB region marked for huge
/// pages while other blocks still use the region, the region loses the
/// mark. Otherwise the kernel's
/// `khugepaged` would fill the given-back part again to make its huge
/// pages whole, and a store that deleted most of its blocks would creep
/// back towards its old size (see `src/large.rs`). That takes minutes to
/// show, so this checks the cause: the mark.
///
/// It runs before the other large-block checks, so that its store is the
/// first to fill the block arenas' marked mappings.
fn given_back_memory_loses_the_huge_page_mark() {
    const SIZE: usize = 64 << 10;
    let store = MemoryStore::new();
    let key = |i: usize| format!("sparse/{i:05}");
    let blocks = (128 << 20) / SIZE;
    for i in 0..blocks {
        store.write(key(i), vec![i as u8; SIZE]).unwrap();
    }
    // Blocks kept, one in 32, and those of them in marked areas.
    let areas = huge_page_areas();
    let kept: Vec<usize> = (0..blocks).step_by(32).collect();
    let marked: Vec<usize> = kept
        .iter()
        .copied()
        .filter(|&i| in_areas(&areas, store.read(key(i)).unwrap().as_ptr().addr()))
        .collect();
    if let Some(why) = no_hooks() {
        println!("{why}: skipped");
        return;
    }
    // The mark is set whatever the mode (it only takes effect under
    // "madvise"), so a store this large has marked areas.
    assert!(
        !marked.is_empty(),
        "none of {} kept blocks lies in an area marked for huge pages",
        kept.len()
    );
    for i in (0..blocks).filter(|i| i % 32 != 0) {
        store.delete(key(i)).unwrap();
    }
    // The freed memory goes back within about a second (`DECAY_MS`).
    let since = Instant::now();
    loop {
        let areas = huge_page_areas();
        let still: Vec<usize> = marked
            .iter()
            .copied()
            .filter(|&i| {
                let p = store.read(key(i)).unwrap().as_ptr().addr();
                in_areas(&areas, p)
            })
            .collect();
        if still.is_empty() {
            break;
        }
        assert!(
            since.elapsed() < GIVE_BACK,
            "{} of {} kept blocks still in areas marked for huge pages {GIVE_BACK:?} after the deletes",
            still.len(),
            marked.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "{} kept blocks in marked areas: unmarked after {:?}",
        marked.len(),
        since.elapsed()
    );
    for &i in &kept {
        assert_eq!(store.read(key(i)).unwrap(), vec![i as u8; SIZE]);
    }
}

/// Eight aborted 32 MiB reservations, each filled (so resident), must not
/// leave eight times that resident.
fn aborted_large_reservations_leave_nothing() {
    let store = MemoryStore::new();
    const LEN: usize = 32 << 20;
    let start = resident() as i64;
    for _ in 0..8 {
        let mut r = store.reserve("big", LEN).unwrap();
        r.as_mut_slice().fill(7);
        drop(r);
    }
    let grown = resident() as i64 - start;
    assert!(
        grown < 3 * LEN as i64,
        "aborted reservations left {grown} bytes resident"
    );
    assert_eq!(store.block_count(), 0);
}

#[test]
fn large_blocks_cost_their_size_and_go_back_after_delete() {
    // First: it measures what a process's first large blocks cost.
    a_small_store_costs_what_it_holds();
    given_back_memory_loses_the_huge_page_mark();
    aborted_large_reservations_leave_nothing();
    for size in [64 << 10, 1 << 20] {
        check(size);
    }
}

/// Set in the child process of `no_marks_where_jemalloc_unmaps`.
const UNMAPPING_CHILD: &str = "BLOCKMEM_TEST_UNMAPPING_CHILD";

/// Where jemalloc may unmap part of a mapping (`retain:false`), the
/// huge-page hooks are not installed, so no block lies in a marked area.
/// jemalloc reads its settings once, at start, so this runs in a child
/// process of this test binary started with `_RJEM_MALLOC_CONF`.
#[test]
fn no_marks_where_jemalloc_unmaps() {
    if std::env::var_os(UNMAPPING_CHILD).is_some() {
        // Blocks of 16 MiB: without retain, jemalloc maps each one on its
        // own, large enough for the hooks to mark it if they were there.
        const SIZE: usize = 16 << 20;
        let store = MemoryStore::new();
        for i in 0..8 {
            store
                .write(format!("unmapping/{i}"), vec![1u8; SIZE])
                .unwrap();
        }
        let areas = huge_page_areas();
        let marked = (0..8)
            .map(|i| {
                store
                    .read(format!("unmapping/{i}"))
                    .unwrap()
                    .as_ptr()
                    .addr()
            })
            .filter(|&p| in_areas(&areas, p))
            .count();
        assert_eq!(marked, 0, "blocks in areas marked for huge pages");
        return;
    }
    if thp_mode().is_none() {
        println!("no transparent huge pages in this kernel: skipped");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_marks_where_jemalloc_unmaps", "--nocapture"])
        .env(UNMAPPING_CHILD, "1")
        .env("_RJEM_MALLOC_CONF", "retain:false")
        .output()
        .expect("run this test binary again");
    assert!(
        out.status.success(),
        "the child with retain:false failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
