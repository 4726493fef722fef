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

/// Declares [`BlockStore`] and implements it for [`MemoryStore`] by
/// forwarding each method to the inherent method of the same name, so the
/// list of operations is written once.
macro_rules! block_store {
    ($(
        $(#[$doc:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)*) $(-> $ret:ty)?;
    )*) => {
        /// The operations every blockmem store provides. Object-safe, so
        /// stores can be used as `&dyn BlockStore` or `Box<dyn BlockStore>`.
        ///
        /// [`MemoryStore`] has inherent methods of the same names, which are
        /// what Rust callers normally use: they also accept `&str`,
        /// `String`, `Vec<u8>` and anything else that is `AsRef<[u8]>`,
        /// which an object-safe trait cannot. The trait exists for code that
        /// is generic over stores. See [`MemoryStore`]'s methods for each
        /// operation's full contract and errors.
        pub trait BlockStore: Send + Sync {
            $( $(#[$doc])* fn $name(&self $(, $arg: $ty)*) $(-> $ret)?; )*
        }

        impl BlockStore for MemoryStore {
            $( fn $name(&self $(, $arg: $ty)*) $(-> $ret)? {
                MemoryStore::$name(self $(, $arg)*)
            } )*
        }
    };
}

block_store! {
    /// [`MemoryStore::write`].
    /// # Errors
    /// As [`MemoryStore::write`].
    fn write(&self, key: &[u8], data: &[u8]) -> Result<()>;
    /// [`MemoryStore::read`].
    /// # Errors
    /// As [`MemoryStore::read`].
    fn read(&self, key: &[u8]) -> Result<Bytes>;
    /// [`MemoryStore::read_into`].
    /// # Errors
    /// As [`MemoryStore::read_into`].
    fn read_into(&self, key: &[u8], buf: &mut [u8]) -> Result<usize>;
    /// [`MemoryStore::read_range`].
    /// # Errors
    /// As [`MemoryStore::read_range`].
    fn read_range(&self, key: &[u8], offset: u64, length: u64) -> Result<Bytes>;
    /// [`MemoryStore::read_range_into`].
    /// # Errors
    /// As [`MemoryStore::read_range_into`].
    fn read_range_into(&self, key: &[u8], offset: u64, length: u64, buf: &mut [u8]) -> Result<usize>;
    /// [`MemoryStore::stat`].
    /// # Errors
    /// As [`MemoryStore::stat`].
    fn stat(&self, key: &[u8]) -> Result<u64>;
    /// [`MemoryStore::exists`].
    /// # Errors
    /// As [`MemoryStore::exists`].
    fn exists(&self, key: &[u8]) -> Result<bool>;
    /// [`MemoryStore::delete`].
    /// # Errors
    /// As [`MemoryStore::delete`].
    fn delete(&self, key: &[u8]) -> Result<bool>;
    /// [`MemoryStore::delete_by_prefix`].
    /// # Errors
    /// As [`MemoryStore::delete_by_prefix`].
    fn delete_by_prefix(&self, prefix: &[u8]) -> Result<Deleted>;
    /// [`MemoryStore::list`].
    /// # Errors
    /// As [`MemoryStore::list`].
    fn list(&self, prefix: &[u8]) -> Result<Listing>;
    /// [`MemoryStore::list_page`].
    /// # Errors
    /// As [`MemoryStore::list_page`].
    fn list_page(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> Result<Listing>;
    /// [`MemoryStore::close`].
    fn close(&self);
    /// [`MemoryStore::health_check`].
    /// # Errors
    /// As [`MemoryStore::health_check`].
    fn health_check(&self) -> Result<()>;
    /// [`MemoryStore::block_count`].
    fn block_count(&self) -> u64;
    /// [`MemoryStore::total_size`].
    fn total_size(&self) -> u64;
}
