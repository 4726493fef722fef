//! The one error type of the store.

/// Everything that can go wrong in a store operation.
///
/// Each variant corresponds to one Go sentinel (`store.Err...`) and one C
/// status (`BLOCKMEM_STATUS_...`). On any error the store is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No block is stored under the key.
    #[error("block not found")]
    NotFound,

    /// The store was closed; every operation but `close` fails this way.
    #[error("store is closed")]
    StoreClosed,

    /// The key is empty or longer than `max_key_len`.
    #[error("invalid key: length {len} is outside 1..={max_len}")]
    InvalidKey {
        /// Length of the rejected key.
        len: usize,
        /// The store's `max_key_len`.
        max_len: usize,
    },

    /// A range read started past the end of the block.
    #[error("invalid range: offset {offset} is past the end of a {size}-byte block")]
    InvalidRange {
        /// Requested start offset.
        offset: u64,
        /// Size of the block.
        size: u64,
    },

    /// The caller's buffer cannot hold the result; nothing was written.
    #[error("buffer too small: {needed} bytes needed, {capacity} available")]
    BufferTooSmall {
        /// Bytes the result needs.
        needed: usize,
        /// Bytes the buffer has.
        capacity: usize,
    },

    /// The block is larger than `max_block_size`.
    #[error("block too large: {size} bytes exceeds the {max} byte limit")]
    BlockTooLarge {
        /// Size of the rejected block.
        size: u64,
        /// The store's `max_block_size`.
        max: u64,
    },

    /// Storing the block would take `total_size` over `max_bytes`.
    #[error("store full: writing would make {needed} bytes, over the {max} byte limit")]
    StoreFull {
        /// What `total_size` would have become.
        needed: u64,
        /// The store's `max_bytes`.
        max: u64,
    },

    /// Allocating memory for the block failed.
    #[error("out of memory: could not allocate {size} bytes")]
    OutOfMemory {
        /// Bytes that could not be allocated.
        size: u64,
    },
}

/// [`Error::OutOfMemory`] for an allocation of `size` bytes.
pub(crate) fn oom(size: usize) -> Error {
    Error::OutOfMemory { size: size as u64 }
}

/// Replaces the contents of `dst` by a copy of `src`, or fails with
/// [`Error::OutOfMemory`] (leaving `dst` empty) when room for it cannot be
/// allocated. The room is reserved exactly, so a fresh vector filled here
/// becomes a boxed slice without another allocation.
pub(crate) fn copy_fallibly(dst: &mut Vec<u8>, src: &[u8]) -> Result<()> {
    dst.clear();
    dst.try_reserve_exact(src.len())
        .map_err(|_| oom(src.len()))?;
    dst.extend_from_slice(src);
    Ok(())
}

/// Shorthand for `Result<T, blockmem::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// For callers that mix store errors with I/O errors, such as
/// [`MemoryStore::write_with`](crate::MemoryStore::write_with) filling a
/// block from a reader. The store error stays reachable through
/// [`std::io::Error::get_ref`].
impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        use std::io::ErrorKind;
        let kind = match e {
            Error::NotFound => ErrorKind::NotFound,
            Error::InvalidKey { .. } | Error::InvalidRange { .. } => ErrorKind::InvalidInput,
            Error::StoreFull { .. } => ErrorKind::StorageFull,
            Error::OutOfMemory { .. } => ErrorKind::OutOfMemory,
            _ => ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}
