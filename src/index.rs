//! The store's index and counters, laid out so that operations on different
//! keys write no shared cache line.
//!
//! - [`Index`]: [`SHARDS`] ordered sets of blocks, each behind its own
//!   reader-writer lock on its own pair of cache lines, chosen by a hash of
//!   the key. Point operations lock one shard; whole-store operations
//!   (listing, prefix deletion, close, stats) lock every shard in index
//!   order, which gives them one point in time and cannot deadlock.
//! - [`Counters`]: `block_count` and `total_size` as per-thread-group
//!   stripes that a writer updates while it holds its shard's lock; a
//!   reader sums them (O(stripes), a few per core). Only a store with a
//!   `max_bytes` cap also keeps one shared byte counter, which writers
//!   reserve from with a compare-and-swap so the cap is never exceeded.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::block::Block;

/// Number of index shards. A power of two, and many times the core count of
/// large machines: two threads working on disjoint sets of keys then rarely
/// meet on a shard. More shards make whole-store operations (listing,
/// prefix deletion, stats) pay a lock and a search per shard.
pub(crate) const SHARDS: usize = 128;
const _: () = assert!(SHARDS.is_power_of_two());

/// One shard, on its own 128 bytes (two cache lines, as adjacent-line
/// prefetchers pair them) so its lock word shares a line with no other.
#[repr(align(128))]
struct Shard(RwLock<BTreeSet<Block>>);

pub(crate) struct Index {
    shards: Box<[Shard]>,
}

/// A fast, well-spread hash of a key: 16 bytes per 64x64->128-bit folded
/// multiply (the mixing step of wyhash-style hashes), with short keys and
/// the tail read as overlapping words so no byte loop runs. Shard choice
/// needs no resistance to chosen keys: a poor spread could only cost
/// parallelism, never change a result.
fn hash(key: &[u8]) -> u64 {
    const P0: u64 = 0xa076_1d64_78bd_642f;
    const P1: u64 = 0xe703_7ed1_a0b4_28db;
    fn fold(a: u64, b: u64) -> u64 {
        let r = u128::from(a) * u128::from(b);
        (r as u64) ^ ((r >> 64) as u64)
    }
    fn word(k: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(k[at..at + 8].try_into().expect("8 bytes"))
    }
    fn half(k: &[u8], at: usize) -> u64 {
        u64::from(u32::from_le_bytes(
            k[at..at + 4].try_into().expect("4 bytes"),
        ))
    }
    let n = key.len();
    let mut h = P0 ^ n as u64;
    let (a, b) = if n > 16 {
        let mut rest = key;
        while rest.len() > 16 {
            h = fold(word(rest, 0) ^ P1, word(rest, 8) ^ h);
            rest = &rest[16..];
        }
        // The last 16 bytes, overlapping what the loop read.
        (word(key, n - 16), word(key, n - 8))
    } else if n >= 8 {
        (word(key, 0), word(key, n - 8))
    } else if n >= 4 {
        (half(key, 0) << 32 | half(key, n - 4), 0)
    } else if n > 0 {
        let small = u64::from(key[0]) << 16 | u64::from(key[n / 2]) << 8 | u64::from(key[n - 1]);
        (small, 0)
    } else {
        (0, 0)
    };
    fold(a ^ P1, b ^ h) ^ fold(h, P1)
}

impl Index {
    pub(crate) fn new() -> Index {
        Index {
            shards: (0..SHARDS)
                .map(|_| Shard(RwLock::new(BTreeSet::new())))
                .collect(),
        }
    }

    fn shard(&self, key: &[u8]) -> &RwLock<BTreeSet<Block>> {
        // The top bits of the hash are its best mixed.
        let i = (hash(key) >> (64 - SHARDS.trailing_zeros())) as usize;
        &self.shards[i].0
    }

    pub(crate) fn read(&self, key: &[u8]) -> RwLockReadGuard<'_, BTreeSet<Block>> {
        self.shard(key).read()
    }

    pub(crate) fn write(&self, key: &[u8]) -> RwLockWriteGuard<'_, BTreeSet<Block>> {
        self.shard(key).write()
    }

    /// Read-locks every shard, in index order (`array::from_fn` builds the
    /// elements in order), without allocating.
    pub(crate) fn read_all(&self) -> [RwLockReadGuard<'_, BTreeSet<Block>>; SHARDS] {
        std::array::from_fn(|i| self.shards[i].0.read())
    }

    /// Write-locks every shard, in index order, without allocating.
    pub(crate) fn write_all(&self) -> [RwLockWriteGuard<'_, BTreeSet<Block>>; SHARDS] {
        std::array::from_fn(|i| self.shards[i].0.write())
    }
}

/// Stripes per core for [`Counters`]: with a few times more stripes than
/// threads running at once, two busy threads rarely share one.
const STRIPES_PER_CORE: usize = 4;

#[repr(align(128))]
#[derive(Default)]
struct Stripe {
    count: AtomicI64,
    bytes: AtomicI64,
}

/// Hands each thread a stripe number, round-robin, on first use.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn my_stripe() -> usize {
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
    capped: Option<AtomicU64>,
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
            capped: (max_bytes != 0).then(|| AtomicU64::new(0)),
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
        let s = self.stripe();
        if blocks != 0 {
            s.count.fetch_add(blocks, Relaxed);
        }
        if self.capped.is_none() && bytes != 0 {
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
    fn hash_spreads_similar_keys_over_shards() {
        // Long keys (the word loop), medium (two overlapping words), short
        // (one or two half-words), tiny (three bytes).
        let shapes: [fn(usize) -> Vec<u8>; 4] = [
            |i| format!("share/content/chunk-{}/block-{}", i / 64, i % 64).into_bytes(),
            |i| format!("blk/{i:08}").into_bytes(),
            |i| format!("k{i}").into_bytes(),
            |i| vec![(i >> 8) as u8, i as u8],
        ];
        for shape in shapes {
            let mut load = vec![0u32; SHARDS];
            for i in 0..SHARDS * 16 {
                let shard = hash(&shape(i)) >> (64 - SHARDS.trailing_zeros());
                load[shard as usize] += 1;
            }
            // 16 keys per shard on average; a poor hash leaves shards empty
            // or piles keys up.
            let (min, max) = (load.iter().min().unwrap(), load.iter().max().unwrap());
            assert!(*min >= 2 && *max <= 40, "min {min} max {max}");
        }
    }

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
