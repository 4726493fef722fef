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

/// The payload of an injected panic, which the panic hook installed by
/// [`Fault::arm`] does not print: the tests that inject faults expect them,
/// and their output should show only real failures.
#[cfg(feature = "fault-injection")]
#[derive(Debug)]
pub(crate) struct InjectedFault;

impl Fault {
    #[cfg(feature = "fault-injection")]
    pub(crate) fn arm(&self) {
        quiet_injected_panics();
        self.armed.store(true, Ordering::SeqCst);
    }

    #[inline(always)]
    pub(crate) fn point(&self) {
        #[cfg(feature = "fault-injection")]
        if self.armed.swap(false, Ordering::SeqCst) {
            std::panic::panic_any(InjectedFault);
        }
    }
}

/// Wraps the process's panic hook (once) so that injected panics print
/// nothing; every other panic is reported by the previous hook as usual.
#[cfg(feature = "fault-injection")]
fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<InjectedFault>() {
                previous(info);
            }
        }));
    });
}
