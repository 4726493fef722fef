//! Status codes: the one table of numbers and messages. The numbers are
//! part of the ABI: never renumber or reuse.

use std::ffi::{c_char, CStr};

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
    /// Allocating memory failed (a block, or a listing's result).
    BLOCKMEM_STATUS_OUT_OF_MEMORY = 8,
    /// A NULL handle, or a NULL pointer where one is required, a length
    /// above PTRDIFF_MAX, or a malformed options struct.
    BLOCKMEM_STATUS_INVALID_ARGUMENT = 9,
    /// An internal panic was caught at the ABI boundary. The store is still
    /// consistent and usable: the core never leaves a change half-made.
    BLOCKMEM_STATUS_PANIC = 10,
}

pub(crate) use blockmem_status::*;

impl blockmem_status {
    /// Every status, in number order.
    const ALL: [blockmem_status; 11] = [
        BLOCKMEM_STATUS_OK,
        BLOCKMEM_STATUS_NOT_FOUND,
        BLOCKMEM_STATUS_STORE_CLOSED,
        BLOCKMEM_STATUS_INVALID_KEY,
        BLOCKMEM_STATUS_INVALID_RANGE,
        BLOCKMEM_STATUS_BUFFER_TOO_SMALL,
        BLOCKMEM_STATUS_BLOCK_TOO_LARGE,
        BLOCKMEM_STATUS_STORE_FULL,
        BLOCKMEM_STATUS_OUT_OF_MEMORY,
        BLOCKMEM_STATUS_INVALID_ARGUMENT,
        BLOCKMEM_STATUS_PANIC,
    ];

    /// The status a C caller passed back as a number, if it is one.
    fn from_code(code: i32) -> Option<blockmem_status> {
        Self::ALL.into_iter().find(|s| *s as i32 == code)
    }

    /// A short English description. The not-found and closed messages are
    /// the core's (and the Go sentinels') word for word.
    fn message(self) -> &'static CStr {
        match self {
            BLOCKMEM_STATUS_OK => c"ok",
            BLOCKMEM_STATUS_NOT_FOUND => c"block not found",
            BLOCKMEM_STATUS_STORE_CLOSED => c"store is closed",
            BLOCKMEM_STATUS_INVALID_KEY => c"invalid key",
            BLOCKMEM_STATUS_INVALID_RANGE => c"invalid range",
            BLOCKMEM_STATUS_BUFFER_TOO_SMALL => c"buffer too small",
            BLOCKMEM_STATUS_BLOCK_TOO_LARGE => c"block too large",
            BLOCKMEM_STATUS_STORE_FULL => c"store full",
            BLOCKMEM_STATUS_OUT_OF_MEMORY => c"out of memory",
            BLOCKMEM_STATUS_INVALID_ARGUMENT => c"invalid argument",
            BLOCKMEM_STATUS_PANIC => c"internal panic",
        }
    }
}

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
    blockmem_status::from_code(status)
        .map_or(c"unknown status", blockmem_status::message)
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_status_in_number_order() {
        for (number, status) in blockmem_status::ALL.into_iter().enumerate() {
            assert_eq!(status as i32, number as i32);
        }
        assert_eq!(
            blockmem_status::ALL.len(),
            BLOCKMEM_STATUS_PANIC as usize + 1
        );
    }

    #[test]
    fn messages_shared_with_the_core_match_its_errors() {
        for (status, err) in [
            (BLOCKMEM_STATUS_NOT_FOUND, Error::NotFound),
            (BLOCKMEM_STATUS_STORE_CLOSED, Error::StoreClosed),
        ] {
            assert_eq!(status.message().to_str(), Ok(err.to_string().as_str()));
        }
    }
}
