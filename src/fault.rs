//! Test-only fault injection, compiled in only with the `fault-injection`
//! feature. Release builds carry no flag and an empty inline function.

#[cfg(feature = "fault-injection")]
use std::sync::atomic::{AtomicBool, Ordering};

/// Per-store switch: when armed, the next operation that takes the store
/// lock panics while holding it (once).
#[derive(Debug, Default)]
pub(crate) struct Fault {
    #[cfg(feature = "fault-injection")]
    armed: AtomicBool,
}

impl Fault {
    #[cfg(feature = "fault-injection")]
    pub(crate) fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    #[inline(always)]
    pub(crate) fn point(&self) {
        #[cfg(feature = "fault-injection")]
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("blockmem: injected fault");
        }
    }
}
