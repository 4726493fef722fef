//! blockmem: a fast, safe in-memory block store.
//!
//! A block is an immutable byte string stored under a byte-string key
//! (typically a path such as `share/content/chunk-0/block-0`). The store is
//! safe to share between threads, copies block data outside its lock, lists
//! and deletes by prefix in O(log n + k), and keeps `block_count` and
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

// Compiles and runs the Rust examples in README.md as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod block;
mod error;
mod fault;
pub mod ffi;
mod index;
mod listing;
mod recycle;
mod store;

pub use bytes::Bytes;
pub use error::{Error, Result};
pub use listing::{Deleted, Iter, Listing};
pub use store::{MemoryStore, Options, Reservation, Stats, DEFAULT_MAX_KEY_LEN};

/// The operations every blockmem store provides. Object-safe, so stores can
/// be used as `&dyn BlockStore` or `Box<dyn BlockStore>`.
///
/// Keys here are `&[u8]`; [`MemoryStore`]'s inherent methods of the same
/// names also accept `&str`, `String`, `Vec<u8>` and anything else that is
/// `AsRef<[u8]>`. See the methods of [`MemoryStore`] for the full contract.
pub trait BlockStore: Send + Sync {
    /// Stores a private copy of `data` under `key`, replacing any block.
    fn write(&self, key: &[u8], data: &[u8]) -> Result<()>;
    /// The whole block, zero-copy.
    fn read(&self, key: &[u8]) -> Result<Bytes>;
    /// Copies the whole block into `buf`; returns its size.
    fn read_into(&self, key: &[u8], buf: &mut [u8]) -> Result<usize>;
    /// Bytes `[offset, min(offset + length, size))`, zero-copy.
    fn read_range(&self, key: &[u8], offset: u64, length: u64) -> Result<Bytes>;
    /// Copies a range into `buf`; returns the bytes written.
    fn read_range_into(
        &self,
        key: &[u8],
        offset: u64,
        length: u64,
        buf: &mut [u8],
    ) -> Result<usize>;
    /// The block's size.
    fn stat(&self, key: &[u8]) -> Result<u64>;
    /// Whether the key is stored.
    fn exists(&self, key: &[u8]) -> Result<bool>;
    /// Removes the key; reports whether it existed.
    fn delete(&self, key: &[u8]) -> Result<bool>;
    /// Removes every key with the prefix; reports blocks and bytes freed.
    fn delete_by_prefix(&self, prefix: &[u8]) -> Result<Deleted>;
    /// Every key with the prefix, in order, with sizes.
    fn list(&self, prefix: &[u8]) -> Result<Listing>;
    /// One page of keys with the prefix, after `start_after`.
    fn list_page(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize)
        -> Result<Listing>;
    /// Frees everything; later calls fail with [`Error::StoreClosed`].
    fn close(&self);
    /// `Ok` while open.
    fn health_check(&self) -> Result<()>;
    /// Number of blocks, O(1).
    fn block_count(&self) -> u64;
    /// Sum of block sizes, O(1).
    fn total_size(&self) -> u64;
}

impl BlockStore for MemoryStore {
    fn write(&self, key: &[u8], data: &[u8]) -> Result<()> {
        MemoryStore::write(self, key, data)
    }
    fn read(&self, key: &[u8]) -> Result<Bytes> {
        MemoryStore::read(self, key)
    }
    fn read_into(&self, key: &[u8], buf: &mut [u8]) -> Result<usize> {
        MemoryStore::read_into(self, key, buf)
    }
    fn read_range(&self, key: &[u8], offset: u64, length: u64) -> Result<Bytes> {
        MemoryStore::read_range(self, key, offset, length)
    }
    fn read_range_into(
        &self,
        key: &[u8],
        offset: u64,
        length: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        MemoryStore::read_range_into(self, key, offset, length, buf)
    }
    fn stat(&self, key: &[u8]) -> Result<u64> {
        MemoryStore::stat(self, key)
    }
    fn exists(&self, key: &[u8]) -> Result<bool> {
        MemoryStore::exists(self, key)
    }
    fn delete(&self, key: &[u8]) -> Result<bool> {
        MemoryStore::delete(self, key)
    }
    fn delete_by_prefix(&self, prefix: &[u8]) -> Result<Deleted> {
        MemoryStore::delete_by_prefix(self, prefix)
    }
    fn list(&self, prefix: &[u8]) -> Result<Listing> {
        MemoryStore::list(self, prefix)
    }
    fn list_page(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Listing> {
        MemoryStore::list_page(self, prefix, start_after, limit)
    }
    fn close(&self) {
        MemoryStore::close(self)
    }
    fn health_check(&self) -> Result<()> {
        MemoryStore::health_check(self)
    }
    fn block_count(&self) -> u64 {
        MemoryStore::block_count(self)
    }
    fn total_size(&self) -> u64 {
        MemoryStore::total_size(self)
    }
}
