//! blockmem: a fast, safe in-memory block store.
//!
//! A block is an immutable byte string stored under a byte-string key
//! (typically a path such as `share/content/chunk-0/block-0`). The store is
//! safe to share between threads, copies block data outside its lock, lists
//! by prefix in O(log n + k) and deletes by prefix in O(k log n) (as an
//! ordered map does), and keeps `block_count` and
//! `total_size` in O(1). Reads can be zero-copy ([`bytes::Bytes`]) or copy
//! into a caller's buffer.
//!
//! The same store is exported to C (see `include/blockmem.h`, module
//! `ffi`) and wrapped for Go (`bindings/go`).
//!
//! ```
//! use blockmem::{Error, MemoryStore, Options};
//!
//! let store = MemoryStore::with_options(Options {
//!     max_bytes: 1 << 20,
//!     ..Options::default()
//! });
//! store.write("dir/a", b"first")?;
//! store.write("dir/b", vec![0u8; 10])?;
//!
//! // Zero-copy read, and a copy into a caller buffer.
//! assert_eq!(&store.read("dir/a")?[..], b"first");
//! let mut buf = [0u8; 3];
//! assert_eq!(store.read_range_into("dir/a", 1, 3, &mut buf)?, 3);
//! assert_eq!(&buf, b"irs");
//!
//! // Typed errors.
//! assert_eq!(store.read("missing"), Err(Error::NotFound));
//! assert!(matches!(store.write("big", vec![0u8; 2 << 20]), Err(Error::StoreFull { .. })));
//!
//! // Prefix operations.
//! assert_eq!(store.list("dir/")?.len(), 2);
//! assert_eq!(store.delete_by_prefix("dir/")?.blocks, 2);
//! assert_eq!(store.block_count(), 0);
//! # Ok::<(), blockmem::Error>(())
//! ```

#![warn(missing_docs)]

// Compiles and runs the Rust examples in README.md and docs/GUIDE.md as
// doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/GUIDE.md")]
struct GuideDoctests;

mod block;
mod cache;
mod counters;
mod error;
mod fault;
pub mod ffi;
mod index;
mod large;
mod listing;
mod order;
mod recycle;
mod store;

pub use bytes::Bytes;
pub use error::{Error, Result};
pub use listing::{Deleted, Iter, Listing};
pub use store::{
    MemoryStore, Options, Reservation, Stats, COPY_UNDER_LOCK_MAX, DEFAULT_MAX_KEY_LEN,
};

/// Unit-test helpers shared by the index's and the key order's tests.
#[cfg(test)]
mod test_keys {
    /// A fixed pseudo-random sequence (xorshift): each call gives a number
    /// below its argument.
    pub(crate) fn below(mut seed: u64) -> impl FnMut(usize) -> usize {
        move |n| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        }
    }
}
