//! `block_count` and `total_size` as per-thread-group stripes that a
//! writer updates while it holds its shard's lock; a reader sums them
//! (O(stripes), a few per core), so operations on different keys write no
//! shared counter. Only a store with a `max_bytes` cap also keeps one
//! shared byte counter, which writers reserve from with a compare-and-swap
//! so the cap is never exceeded.

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

/// Stripes per core for [`Counters`]: with a few times more stripes than
/// threads running at once, two busy threads rarely share one.
const STRIPES_PER_CORE: usize = 4;

#[repr(align(128))]
#[derive(Default)]
struct Stripe {
    count: AtomicI64,
    bytes: AtomicI64,
}

/// A value on cache lines of its own: the capped total is written by every
/// write, and must not share a line with what readers read (the stripes'
/// address, the store's limits and closed flag).
#[repr(align(128))]
struct Own<T>(T);

impl<T> std::ops::Deref for Own<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Hands each thread a stripe number, round-robin, on first use.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's number, handed out round-robin on first use: which
/// counter stripe it updates, and which block arena it allocates from
/// (`large.rs`). 0 while the thread is being torn down.
pub(crate) fn my_stripe() -> usize {
    MY_STRIPE
        .try_with(|s| {
            if s.get() == usize::MAX {
                s.set(NEXT_STRIPE.fetch_add(1, Relaxed));
            }
            s.get()
        })
        .unwrap_or(0)
}

/// `block_count` and `total_size`, striped (see the module docs). Every
/// update happens under the lock of the shard it concerns, so whoever holds
/// every shard lock sees counters that match the index exactly. A stripe
/// may go negative (a block added through one stripe and removed through
/// another); sums wrap and are exact once writers are quiet.
pub(crate) struct Counters {
    stripes: Box<[Stripe]>,
    /// Bytes stored, kept only when a cap is set (`max_bytes != 0`).
    capped: Option<Own<AtomicU64>>,
    max_bytes: u64,
}

impl Counters {
    pub(crate) fn new(max_bytes: u64) -> Counters {
        // Asked once per process: on Linux the answer reads cgroup files.
        static STRIPES: OnceLock<usize> = OnceLock::new();
        let stripes = *STRIPES.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (cores * STRIPES_PER_CORE).next_power_of_two()
        });
        Counters {
            stripes: (0..stripes).map(|_| Stripe::default()).collect(),
            capped: (max_bytes != 0).then(|| Own(AtomicU64::new(0))),
            max_bytes,
        }
    }

    fn stripe(&self) -> &Stripe {
        &self.stripes[my_stripe() & (self.stripes.len() - 1)]
    }

    /// Takes `new - old` bytes from the cap, if one is set. Fails with the
    /// total the change would have made when that is over the cap, and then
    /// changes nothing.
    pub(crate) fn reserve(&self, old: u64, new: u64) -> Result<(), u64> {
        let Some(total) = &self.capped else {
            return Ok(());
        };
        let mut current = total.load(Relaxed);
        loop {
            let next = self.after(current, old, new)?;
            match total.compare_exchange_weak(current, next, Relaxed, Relaxed) {
                Ok(_) => return Ok(()),
                Err(seen) => current = seen,
            }
        }
    }

    /// Checks, without taking anything, that `new - old` bytes fit under
    /// the cap as it is now; fails as [`reserve`](Self::reserve) would.
    pub(crate) fn fits(&self, old: u64, new: u64) -> Result<(), u64> {
        match &self.capped {
            Some(total) => self.after(total.load(Relaxed), old, new).map(drop),
            None => Ok(()),
        }
    }

    /// The capped total after replacing `old` bytes by `new` (`old` is part
    /// of `current`: both change only under the lock of `old`'s shard,
    /// which the caller holds), or `Err` with it when it is over the cap.
    fn after(&self, current: u64, old: u64, new: u64) -> Result<u64, u64> {
        let next = current.saturating_sub(old).saturating_add(new);
        if next > self.max_bytes {
            return Err(next);
        }
        Ok(next)
    }

    /// Records a change of `blocks` blocks and `bytes` bytes. With a cap,
    /// the cap counter must already hold the bytes (see
    /// [`reserve`](Self::reserve)); only the block count is recorded here.
    pub(crate) fn record(&self, blocks: i64, bytes: i64) {
        let bytes = if self.capped.is_some() { 0 } else { bytes };
        if blocks == 0 && bytes == 0 {
            // Nothing to record (a replacement by a block of the same
            // size): skip even the stripe lookup.
            return;
        }
        let s = self.stripe();
        if blocks != 0 {
            s.count.fetch_add(blocks, Relaxed);
        }
        if bytes != 0 {
            s.bytes.fetch_add(bytes, Relaxed);
        }
    }

    /// Records `blocks` blocks of `bytes` bytes in all removed, giving the
    /// bytes back to the cap.
    pub(crate) fn remove(&self, blocks: u64, bytes: u64) {
        if let Some(total) = &self.capped {
            total.fetch_sub(bytes, Relaxed);
        }
        self.record(
            (blocks as i64).wrapping_neg(),
            (bytes as i64).wrapping_neg(),
        );
    }

    /// Sets everything to 0 (at close, with every shard locked).
    pub(crate) fn clear(&self) {
        for s in self.stripes.iter() {
            s.count.store(0, Relaxed);
            s.bytes.store(0, Relaxed);
        }
        if let Some(total) = &self.capped {
            total.store(0, Relaxed);
        }
    }

    fn sum(&self, field: impl Fn(&Stripe) -> &AtomicI64) -> u64 {
        let sum = self
            .stripes
            .iter()
            .fold(0i64, |acc, s| acc.wrapping_add(field(s).load(Relaxed)));
        // Racing updates can make a momentary sum negative.
        sum.max(0) as u64
    }

    pub(crate) fn blocks(&self) -> u64 {
        self.sum(|s| &s.count)
    }

    /// With a cap, the shared counter, which never exceeds it even while
    /// writers race; without one, the stripes' sum.
    pub(crate) fn bytes(&self) -> u64 {
        match &self.capped {
            Some(total) => total.load(Relaxed),
            None => self.sum(|s| &s.bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_reserve_never_exceeds() {
        let c = Counters::new(100);
        assert_eq!(c.reserve(0, 60), Ok(()));
        assert_eq!(c.reserve(0, 50), Err(110));
        assert_eq!(c.reserve(60, 100), Ok(()));
        assert_eq!(c.bytes(), 100);
        c.remove(1, 100);
        assert_eq!(c.bytes(), 0);
    }
}
