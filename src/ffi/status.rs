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
    /// Every status with its message, in number order: the one place a
    /// status meets its text (the enum above must stay a plain enum, which
    /// cbindgen reads into the header). The not-found and closed messages
    /// are the core's (and the Go sentinels') word for word.
    const TABLE: [(blockmem_status, &'static CStr); 11] = [
        (BLOCKMEM_STATUS_OK, c"ok"),
        (BLOCKMEM_STATUS_NOT_FOUND, c"block not found"),
        (BLOCKMEM_STATUS_STORE_CLOSED, c"store is closed"),
        (BLOCKMEM_STATUS_INVALID_KEY, c"invalid key"),
        (BLOCKMEM_STATUS_INVALID_RANGE, c"invalid range"),
        (BLOCKMEM_STATUS_BUFFER_TOO_SMALL, c"buffer too small"),
        (BLOCKMEM_STATUS_BLOCK_TOO_LARGE, c"block too large"),
        (BLOCKMEM_STATUS_STORE_FULL, c"store full"),
        (BLOCKMEM_STATUS_OUT_OF_MEMORY, c"out of memory"),
        (BLOCKMEM_STATUS_INVALID_ARGUMENT, c"invalid argument"),
        (BLOCKMEM_STATUS_PANIC, c"internal panic"),
    ];

    /// The status a C caller passed back as a number, with its message,
    /// if it is one.
    fn entry(code: i32) -> Option<(blockmem_status, &'static CStr)> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::TABLE.get(i))
            .copied()
    }

    /// A short English description.
    #[cfg(test)]
    fn message(self) -> &'static CStr {
        Self::TABLE[self as usize].1
    }
}

// The table is in number order, and the enum has no status it lacks.
const _: () = {
    let mut i = 0;
    while i < blockmem_status::TABLE.len() {
        assert!(blockmem_status::TABLE[i].0 as usize == i);
        i += 1;
    }
    assert!(BLOCKMEM_STATUS_PANIC as usize == blockmem_status::TABLE.len() - 1);
};

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
    blockmem_status::entry(status)
        .map_or(c"unknown status", |(_, message)| message)
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_names_its_status_and_others_are_unknown() {
        for (number, (status, _)) in blockmem_status::TABLE.into_iter().enumerate() {
            assert_eq!(
                blockmem_status::entry(number as i32).map(|e| e.0),
                Some(status)
            );
        }
        for unknown in [-1, 11, i32::MIN, i32::MAX] {
            assert!(blockmem_status::entry(unknown).is_none());
        }
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
