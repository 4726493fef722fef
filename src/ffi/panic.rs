//! The panic boundary shared by every exported function.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::status::blockmem_status;

/// Runs `body` and turns a panic into `on_panic`, so unwinding never crosses
/// into C. For functions that return a value rather than a status.
pub(crate) fn catch<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    // Unwind safety: the core never leaves a change half-made (a panic
    // under a lock happens before the shared state is touched), so nothing
    // a later call can observe is broken by an unwind.
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// The common case: a body that checks and converts arguments with `?`
/// becomes a `blockmem_status` (`PANIC` if it panics).
pub(crate) fn catch_status(body: impl FnOnce() -> Result<(), blockmem_status>) -> blockmem_status {
    match catch(Err(blockmem_status::BLOCKMEM_STATUS_PANIC), body) {
        Ok(()) => blockmem_status::BLOCKMEM_STATUS_OK,
        Err(status) => status,
    }
}
