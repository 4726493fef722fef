//! Borrowing caller memory and writing outputs.

use super::status::*;

/// Borrows `(ptr, len)` for the call. NULL is allowed only with `len == 0`.
pub(crate) fn input<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], blockmem_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return Err(BLOCKMEM_STATUS_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL; the caller guarantees `len` readable bytes that
    // stay valid and unmodified for the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows a caller's output buffer. NULL is allowed only with `len == 0`.
pub(crate) fn output<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], blockmem_status> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return Err(BLOCKMEM_STATUS_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL; the caller guarantees `len` writable bytes that no
    // other argument overlaps.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// An out-pointer the caller must supply.
pub(crate) fn out<'a, T>(ptr: *mut T) -> Result<&'a mut T, blockmem_status> {
    // SAFETY: non-NULL pointers must point to writable, aligned memory.
    unsafe { ptr.as_mut() }.ok_or(BLOCKMEM_STATUS_INVALID_ARGUMENT)
}

/// Writes through an optional out-pointer (NULL means "not wanted").
pub(crate) fn put_opt<T>(ptr: *mut T, value: T) {
    // SAFETY: as for `out`.
    if let Some(slot) = unsafe { ptr.as_mut() } {
        *slot = value;
    }
}
