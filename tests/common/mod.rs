//! Code shared by the integration tests (`mod common;` in each test file).
//! Each test uses only some of it.
#![allow(dead_code)]

pub mod payload;

use blockmem::MemoryStore;

/// Lists the whole store, reads every block back and checks that each is
/// a self-verifying payload and that the listed sizes, `block_count` and
/// `total_size` agree with what is there. Returns the recounted blocks and
/// bytes.
pub fn recount(store: &MemoryStore) -> Result<(u64, u64), String> {
    let listing = store.list("").map_err(|e| format!("list: {e}"))?;
    let mut bytes = 0;
    for (key, size) in &listing {
        let data = store.read(key).map_err(|e| format!("read {key:?}: {e}"))?;
        if data.len() as u64 != size {
            return Err(format!("{key:?}: listed {size} bytes, read {}", data.len()));
        }
        payload::verify(key, &data).map_err(|e| format!("{key:?}: {e}"))?;
        bytes += size;
    }
    let (count, total) = (store.block_count(), store.total_size());
    if count != listing.len() as u64 || total != bytes {
        return Err(format!(
            "counters say {count} blocks / {total} bytes, recount {} / {bytes}",
            listing.len()
        ));
    }
    Ok((count, total))
}

/// A field of `/proc/self/status` that the kernel gives in kB (`VmSize`,
/// `RssAnon`, ...), in bytes.
pub fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    kib << 10
}
