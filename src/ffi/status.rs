//! Status codes. The numbers are part of the ABI: never renumber or reuse.

use std::ffi::c_char;

use crate::Error;

/// Result of every fallible blockmem function. `BLOCKMEM_STATUS_OK` (0) is
/// success; every other value is an error whose meaning is fixed forever.
/// Declared as `int32_t` in C so any value can be passed back to
/// `blockmem_status_str`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum blockmem_status {
    /// Success.
    BLOCKMEM_STATUS_OK = 0,
    /// No block is stored under the key.
    BLOCKMEM_STATUS_NOT_FOUND = 1,
    /// The store has been closed.
    BLOCKMEM_STATUS_STORE_CLOSED = 2,
    /// The key is empty or longer than max_key_len.
    BLOCKMEM_STATUS_INVALID_KEY = 3,
    /// A range read starts past the end of the block.
    BLOCKMEM_STATUS_INVALID_RANGE = 4,
    /// The caller's buffer is too small; the needed size was reported and
    /// nothing was written to the buffer.
    BLOCKMEM_STATUS_BUFFER_TOO_SMALL = 5,
    /// The block is larger than max_block_size.
    BLOCKMEM_STATUS_BLOCK_TOO_LARGE = 6,
    /// The write would take total_size over max_bytes.
    BLOCKMEM_STATUS_STORE_FULL = 7,
    /// Allocating memory for the block failed.
    BLOCKMEM_STATUS_OUT_OF_MEMORY = 8,
    /// A NULL handle, or a NULL pointer where one is required, or a
    /// malformed options struct.
    BLOCKMEM_STATUS_INVALID_ARGUMENT = 9,
    /// An internal panic was caught at the ABI boundary. The store is still
    /// consistent and usable: the core never leaves a change half-made.
    BLOCKMEM_STATUS_PANIC = 10,
}

pub(crate) use blockmem_status::*;

impl From<Error> for blockmem_status {
    fn from(err: Error) -> blockmem_status {
        match err {
            Error::NotFound => BLOCKMEM_STATUS_NOT_FOUND,
            Error::StoreClosed => BLOCKMEM_STATUS_STORE_CLOSED,
            Error::InvalidKey { .. } => BLOCKMEM_STATUS_INVALID_KEY,
            Error::InvalidRange { .. } => BLOCKMEM_STATUS_INVALID_RANGE,
            Error::BufferTooSmall { .. } => BLOCKMEM_STATUS_BUFFER_TOO_SMALL,
            Error::BlockTooLarge { .. } => BLOCKMEM_STATUS_BLOCK_TOO_LARGE,
            Error::StoreFull { .. } => BLOCKMEM_STATUS_STORE_FULL,
            Error::OutOfMemory { .. } => BLOCKMEM_STATUS_OUT_OF_MEMORY,
        }
    }
}

/// A static, NUL-terminated English description of `status` (for example
/// "block not found"). Unknown values give "unknown status". The returned
/// string is owned by the library and valid for the life of the process;
/// never free it.
#[no_mangle]
pub extern "C" fn blockmem_status_str(status: i32) -> *const c_char {
    let msg: &'static [u8] = match status {
        0 => b"ok\0",
        1 => b"block not found\0",
        2 => b"store is closed\0",
        3 => b"invalid key\0",
        4 => b"invalid range\0",
        5 => b"buffer too small\0",
        6 => b"block too large\0",
        7 => b"store full\0",
        8 => b"out of memory\0",
        9 => b"invalid argument\0",
        10 => b"internal panic\0",
        _ => b"unknown status\0",
    };
    msg.as_ptr().cast()
}
