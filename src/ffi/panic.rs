//! The panic boundary shared by every exported function.

/// Runs `$body` (an expression of the function's return type) and turns a
/// panic into `$on_panic`, so unwinding never crosses into C.
#[macro_export]
#[doc(hidden)]
macro_rules! ffi_boundary {
    ($on_panic:expr, $body:expr) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $on_panic,
        }
    };
}

/// The common case: a body returning `Result<(), blockmem_status>`, with
/// `?` available, becomes a `blockmem_status` (`PANIC` if it panics).
#[macro_export]
#[doc(hidden)]
macro_rules! ffi_status {
    ($body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(
            || -> ::std::result::Result<(), $crate::ffi::blockmem_status> { $body },
        )) {
            Ok(Ok(())) => $crate::ffi::blockmem_status::BLOCKMEM_STATUS_OK,
            Ok(Err(status)) => status,
            Err(_) => $crate::ffi::blockmem_status::BLOCKMEM_STATUS_PANIC,
        }
    };
}
