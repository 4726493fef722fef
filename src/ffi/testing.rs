//! Test-only exports (feature `fault-injection`; absent from release builds).

use super::castable::try_ref;
use super::handle::blockmem_store;
use super::panic::catch_status;
use super::status::*;

/// Test builds only: the next operation on `store` that takes its lock
/// panics once, so callers can see `BLOCKMEM_STATUS_PANIC` and check that
/// the store stays usable afterwards.
///
/// # Safety
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns.
#[no_mangle]
pub unsafe extern "C" fn blockmem_test_arm_panic(store: *const blockmem_store) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        unsafe { try_ref(store) }?.arm_panic();
        Ok(())
    })
}
