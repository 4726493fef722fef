//! Borrowing caller memory and writing outputs.

use super::status::*;

/// Borrows `(ptr, len)` for the call. NULL is allowed only with `len == 0`;
/// a length above `isize::MAX` (PTRDIFF_MAX) describes no real memory.
///
/// # Safety
/// A non-NULL `ptr` points to `len` readable bytes that stay valid and
/// unmodified while the borrow lives.
pub(crate) unsafe fn input<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], blockmem_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return Err(BLOCKMEM_STATUS_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, at most isize::MAX bytes, readable per the
    // caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows a caller's output buffer. NULL is allowed only with `len == 0`.
///
/// # Safety
/// A non-NULL `ptr` points to `len` writable bytes that nothing else reads
/// or writes while the borrow lives.
pub(crate) unsafe fn output<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], blockmem_status> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return Err(BLOCKMEM_STATUS_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, at most isize::MAX bytes, writable and unaliased
    // per the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// An out-pointer the caller must supply; NULL is `INVALID_ARGUMENT`.
///
/// # Safety
/// A non-NULL `ptr` is aligned and writable for a `T`, and nothing else
/// uses it while the borrow lives.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T) -> Result<&'a mut T, blockmem_status> {
    // SAFETY: per the caller's promise.
    unsafe { ptr.as_mut() }.ok_or(BLOCKMEM_STATUS_INVALID_ARGUMENT)
}

/// Writes through an optional out-pointer (NULL means "not wanted").
///
/// # Safety
/// As for [`out`].
pub(crate) unsafe fn put_opt<T>(ptr: *mut T, value: T) {
    // SAFETY: per the caller's promise.
    if let Some(slot) = unsafe { ptr.as_mut() } {
        *slot = value;
    }
}
