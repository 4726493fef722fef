//! The store's index and counters, laid out so that operations on different
//! keys write no shared cache line.
//!
//! - [`Index`]: [`SHARDS`] ordered sets of blocks ([`Keys`]), each behind
//!   its own reader-writer lock on its own pair of cache lines, chosen by a
//!   hash of the key. Point operations lock one shard; whole-store
//!   operations (listing, prefix deletion, close, stats) lock every shard in
//!   index order, which gives them one point in time and cannot deadlock.
//! - [`Keys`]: a shard's blocks in key order. Each entry carries 8 bytes of
//!   its key inline (a fingerprint, see [`Keys`]), so a search compares
//!   integers in the tree's own nodes and reads a block's key only to break
//!   a tie: finding a key, or where a prefix starts, touches the tree and
//!   at most a block or two, not one block per comparison. That keeps a
//!   listing's search of every shard cheap enough for many shards.
//! - [`Counters`]: `block_count` and `total_size` as per-thread-group
//!   stripes that a writer updates while it holds its shard's lock; a
//!   reader sums them (O(stripes), a few per core). Only a store with a
//!   `max_bytes` cap also keeps one shared byte counter, which writers
//!   reserve from with a compare-and-swap so the cap is never exceeded.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::btree_set::{self, BTreeSet};
use std::mem::ManuallyDrop;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::block::Block;

/// Number of index shards. A power of two, and many times the core count of
/// large machines: two threads working on disjoint sets of keys then rarely
/// meet on a shard. More shards make whole-store operations (listing,
/// prefix deletion, stats) pay a lock and a search per shard. Measured ad
/// hoc on 2 cores, 1 KiB writes by two threads on 64 keys each: 128 shards scaled
/// 0.6x as well as a memcpy ring, 512 about 1x; a listing of 8 of 10^6
/// keys took 15 µs with 128 shards, 31-40 µs with 512 and about 100 µs
/// with 1024 (where the shards' trees stop fitting in cache).
pub(crate) const SHARDS: usize = 512;
const _: () = assert!(SHARDS.is_power_of_two());
const _: () = assert!(std::mem::size_of::<Shard>() == 128);

/// One shard, on its own 128 bytes (two cache lines, as adjacent-line
/// prefetchers pair them) so its lock word shares a line with no other.
#[repr(align(128))]
struct Shard(RwLock<Keys>);

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
                .map(|_| Shard(RwLock::new(Keys::default())))
                .collect(),
        }
    }

    fn shard(&self, key: &[u8]) -> &RwLock<Keys> {
        &self.shards[Self::shard_index(key)].0
    }

    fn shard_index(key: &[u8]) -> usize {
        // The top bits of the hash are its best mixed.
        (hash(key) >> (64 - SHARDS.trailing_zeros())) as usize
    }

    /// Write-locks the shard of `key` after `build` succeeds (on failure,
    /// locks nothing): the shard's lock word is fetched into the cache
    /// while `build` makes what the caller will store (a miss that would
    /// otherwise stall the lock).
    pub(crate) fn write_after<T, E>(
        &self,
        key: &[u8],
        build: impl FnOnce() -> Result<T, E>,
    ) -> Result<(T, RwLockWriteGuard<'_, Keys>), E> {
        let shard = self.shard(key);
        prefetch(shard);
        let built = build()?;
        Ok((built, shard.write()))
    }

    pub(crate) fn read(&self, key: &[u8]) -> RwLockReadGuard<'_, Keys> {
        self.shard(key).read()
    }

    pub(crate) fn write(&self, key: &[u8]) -> RwLockWriteGuard<'_, Keys> {
        self.shard(key).write()
    }

    /// Read-locks every shard, in index order (`array::from_fn` builds the
    /// elements in order), without allocating.
    pub(crate) fn read_all(&self) -> [RwLockReadGuard<'_, Keys>; SHARDS] {
        std::array::from_fn(|i| self.shards[i].0.read())
    }

    /// Write-locks every shard, in index order, without allocating.
    pub(crate) fn write_all(&self) -> [RwLockWriteGuard<'_, Keys>; SHARDS] {
        std::array::from_fn(|i| self.shards[i].0.write())
    }
}

/// A shard's blocks, ordered by key.
///
/// Every key in the set starts with `common`; an entry's fingerprint is the
/// 8 key bytes that follow that shared prefix, big-endian and zero-padded.
/// For two keys with the same prefix, a smaller fingerprint means a smaller
/// key, so entries are ordered by fingerprint and then by key, which is key
/// order, and most comparisons never read a block. A probe (a key looked
/// up) gets its fingerprint the same way once it is known to start with
/// `common`; a probe that does not sorts before or after every entry.
///
/// `common` starts as the first key stored and only ever shrinks, to the
/// longest prefix of every key inserted since the shard was last empty.
/// Shrinking it recomputes every fingerprint (O(entries), in place, order
/// preserving); that happens at most once per byte of the first key, and
/// with keys hashed over many shards it settles on the prefix the store's
/// keys share after a few inserts.
pub(crate) struct Keys {
    set: BTreeSet<Entry>,
    /// The first `common_len` bytes: kept inline (in the shard's own cache
    /// lines) and at most [`COMMON_MAX`] long, which a shorter prefix
    /// always allows.
    common: [u8; COMMON_MAX],
    common_len: u8,
}

/// The longest common prefix a shard keeps (it fits the shard's 128 bytes
/// beside its lock and set).
const COMMON_MAX: usize = 64;

/// Where a key sorts against a shard's keys.
enum Place {
    /// Before every key in the shard.
    Before,
    /// After every key in the shard.
    After,
    /// Starts with the shard's common prefix: searchable with this
    /// fingerprint.
    Within(u64),
}

impl Default for Keys {
    fn default() -> Keys {
        Keys {
            set: BTreeSet::new(),
            common: [0; COMMON_MAX],
            common_len: 0,
        }
    }
}

impl Keys {
    fn common(&self) -> &[u8] {
        &self.common[..usize::from(self.common_len)]
    }

    /// Where `key` sorts against keys that all start with `common`.
    fn place(common: &[u8], key: &[u8]) -> Place {
        if key.starts_with(common) {
            return Place::Within(fingerprint(key, common.len()));
        }
        match key.iter().zip(common).find(|(k, c)| k != c) {
            Some((k, c)) if k > c => Place::After,
            // A smaller byte, or `key` is a proper prefix of `common`.
            _ => Place::Before,
        }
    }

    /// The block under `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Block> {
        let fp = self.exact_fingerprint(key)?;
        Entry::with_probe(key, fp, |probe| self.set.get(probe).map(Entry::block))
    }

    /// A fingerprint to look `key` up by exact match, without first
    /// checking that it starts with the common prefix: a stored key does,
    /// so its fingerprint is right and the search finds it; any other key
    /// compares equal to no entry (a tie compares whole keys), so wherever
    /// the search ends, it finds nothing. `None`: too short to be stored.
    fn exact_fingerprint(&self, key: &[u8]) -> Option<u64> {
        let skip = usize::from(self.common_len);
        (key.len() >= skip).then(|| fingerprint(key, skip))
    }

    /// Stores `block`, returning the block it replaces.
    pub(crate) fn replace(&mut self, block: Block) -> Option<Block> {
        // A stored key keeps its place (same key, same fingerprint): swap
        // the block in the entry. A new key then costs a second search (the
        // set has no entry API), which an overwrite, the common case, does
        // not pay; it also skips the common-prefix check below.
        let stored = self
            .exact_fingerprint(block.key())
            .and_then(|fp| Entry::with_probe(block.key(), fp, |probe| self.set.get(probe)));
        if let Some(entry) = stored {
            return Some(entry.swap(block));
        }
        let key = block.key();
        if self.set.is_empty() {
            let len = key.len().min(COMMON_MAX);
            self.common[..len].copy_from_slice(&key[..len]);
            self.common_len = len as u8;
        } else if !key.starts_with(self.common()) {
            let shared = key
                .iter()
                .zip(self.common())
                .take_while(|(k, c)| k == c)
                .count();
            self.common_len = shared as u8;
            for entry in &self.set {
                entry.fp.store(fingerprint(entry.key(), shared), Relaxed);
            }
        }
        let fp = fingerprint(key, self.common().len());
        let added = self.set.insert(Entry::new(block, fp));
        debug_assert!(added);
        None
    }

    /// Removes and returns the block under `key`.
    pub(crate) fn take(&mut self, key: &[u8]) -> Option<Block> {
        let fp = self.exact_fingerprint(key)?;
        Entry::with_probe(key, fp, |probe| self.set.take(probe)).map(Entry::into_block)
    }

    /// Runs `f` on the range of entries with keys from `lo` (inclusive)
    /// up to `hi` (exclusive, or unbounded), as bounds for a set whose keys
    /// all start with `common`; `None` when no such key can be in it.
    fn with_range<R>(
        common: &[u8],
        lo: Bound<&[u8]>,
        hi: Option<&[u8]>,
        f: impl FnOnce(Option<(Bound<&Entry>, Bound<&Entry>)>) -> R,
    ) -> R {
        let (lo_key, lo_excluded) = match lo {
            Bound::Included(k) => (k, false),
            Bound::Excluded(k) => (k, true),
            Bound::Unbounded => (&[][..], false),
        };
        if hi.is_some_and(|hi| lo_key >= hi) {
            // An empty range (which the set would refuse as bounds).
            return f(None);
        }
        let lo_place = Self::place(common, lo_key);
        let hi_place = hi.map(|h| Self::place(common, h));
        if matches!(lo_place, Place::After) || matches!(hi_place, Some(Place::Before)) {
            return f(None);
        }
        let within = |place: Option<Place>| match place {
            Some(Place::Within(fp)) => Some(fp),
            _ => None,
        };
        let (lo_fp, hi_fp) = (within(Some(lo_place)), within(hi_place));
        Entry::with_probe(lo_key, lo_fp.unwrap_or(0), |lo_probe| {
            Entry::with_probe(hi.unwrap_or_default(), hi_fp.unwrap_or(0), |hi_probe| {
                let lo = match (lo_fp, lo_excluded) {
                    (None, _) => Bound::Unbounded,
                    (Some(_), false) => Bound::Included(lo_probe),
                    (Some(_), true) => Bound::Excluded(lo_probe),
                };
                let hi = match hi_fp {
                    Some(_) => Bound::Excluded(hi_probe),
                    None => Bound::Unbounded,
                };
                f(Some((lo, hi)))
            })
        })
    }

    /// The blocks with keys after `lo` (as a bound) and before `hi` (if
    /// any), in key order.
    pub(crate) fn range(
        &self,
        lo: Bound<&[u8]>,
        hi: Option<&[u8]>,
    ) -> impl Iterator<Item = &Block> + '_ {
        Self::with_range(self.common(), lo, hi, |bounds| match bounds {
            Some(bounds) => self.set.range::<Entry, _>(bounds),
            None => btree_set::Range::default(),
        })
        .map(Entry::block)
    }

    /// Number of blocks with keys in `[lo, hi)` (`hi` `None`: unbounded).
    pub(crate) fn count(&self, lo: &[u8], hi: Option<&[u8]>) -> usize {
        Self::with_range(self.common(), Bound::Included(lo), hi, |bounds| {
            bounds.map_or(0, |b| self.set.range::<Entry, _>(b).count())
        })
    }

    /// Removes the blocks with keys in `[lo, hi)` and appends them to `out`.
    // The lint objects to the atomic fingerprint in a set's elements; it
    // changes only in `replace`, in an order-preserving way.
    #[allow(clippy::mutable_key_type)]
    pub(crate) fn extract(&mut self, lo: &[u8], hi: Option<&[u8]>, out: &mut Vec<Block>) {
        // Borrowed field by field: the prefix to read, the set to change.
        let common = &self.common[..usize::from(self.common_len)];
        let set = &mut self.set;
        Self::with_range(common, Bound::Included(lo), hi, |bounds| {
            if let Some(bounds) = bounds {
                out.extend(set.extract_if(bounds, |_| true).map(Entry::into_block));
            }
        });
    }
}

/// The 8 bytes of `key` after its first `skip`, as a big-endian integer,
/// zero-padded past the end of the key.
fn fingerprint(key: &[u8], skip: usize) -> u64 {
    let rest = &key[skip..];
    if let Some(word) = rest.first_chunk::<8>() {
        return u64::from_be_bytes(*word);
    }
    let mut bytes = [0u8; 8];
    let n = rest.len().min(8);
    bytes[..n].copy_from_slice(&rest[..n]);
    u64::from_be_bytes(bytes)
}

/// An entry of [`Keys`]: a block's fingerprint and the block (a counted
/// reference from [`Block::into_raw`]), or, for a probe, the fingerprint
/// and a tagged pointer to the key being looked up. Blocks are at least
/// 2-byte aligned, so the low bit tells the two apart.
struct Entry {
    /// Atomic (as `raw`) only so [`Keys::replace`] can change it through
    /// the set's shared references, under the shard's write lock.
    fp: AtomicU64,
    raw: AtomicPtr<()>,
}

const PROBE_TAG: usize = 1;

// `Entry` is Send and Sync through its atomics, which is right: it owns a
// block reference (Send and Sync), or is a probe, which never leaves the
// stack frame of `with_probe`.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Block>();
};

impl Entry {
    fn new(block: Block, fp: u64) -> Entry {
        let raw = block.into_raw().cast_mut();
        debug_assert_eq!(raw.addr() & PROBE_TAG, 0);
        Entry {
            fp: AtomicU64::new(fp),
            raw: AtomicPtr::new(raw),
        }
    }

    /// Puts `block` (under the same key) in place of the entry's block,
    /// which it returns.
    fn swap(&self, block: Block) -> Block {
        debug_assert!(!self.is_probe() && block.key() == self.key());
        let old = self.raw.swap(block.into_raw().cast_mut(), Relaxed);
        // SAFETY: the entry owned that reference and now owns the new one.
        unsafe { Block::from_raw(old) }
    }

    fn raw(&self) -> *mut () {
        self.raw.load(Relaxed)
    }

    /// Runs `f` with a probe entry for `key`, which compares with entries
    /// as a block stored under `key` would.
    fn with_probe<R>(key: &[u8], fp: u64, f: impl FnOnce(&Entry) -> R) -> R {
        let key_ref: &[u8] = key;
        let tagged = (&key_ref as *const &[u8])
            .cast::<()>()
            .cast_mut()
            .map_addr(|a| a | PROBE_TAG);
        let probe = ManuallyDrop::new(Entry {
            fp: AtomicU64::new(fp),
            raw: AtomicPtr::new(tagged),
        });
        f(&probe)
    }

    fn is_probe(&self) -> bool {
        self.raw().addr() & PROBE_TAG != 0
    }

    fn key(&self) -> &[u8] {
        if self.is_probe() {
            let untagged = self.raw().map_addr(|a| a & !PROBE_TAG);
            // SAFETY: a probe points at a `&[u8]` on the stack of
            // `with_probe`, which outlives the probe.
            unsafe { *untagged.cast::<&[u8]>() }
        } else {
            self.block().key()
        }
    }

    /// The block. Never called on a probe (the set hands out only stored
    /// entries).
    fn block(&self) -> &Block {
        debug_assert!(!self.is_probe());
        // SAFETY: a stored entry holds a counted reference, which changes
        // only under the shard's write lock, when no `&Block` from a read
        // of the shard is alive.
        unsafe { Block::from_raw_ref(&*self.raw.as_ptr()) }
    }

    fn into_block(self) -> Block {
        debug_assert!(!self.is_probe());
        let this = ManuallyDrop::new(self);
        // SAFETY: the entry's reference is handed over, not dropped.
        unsafe { Block::from_raw(this.raw()) }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if !self.is_probe() {
            // SAFETY: the entry owned this reference.
            drop(unsafe { Block::from_raw(self.raw()) });
        }
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        let (a, b) = (self.fp.load(Relaxed), other.fp.load(Relaxed));
        a.cmp(&b).then_with(|| self.key().cmp(other.key()))
    }
}

/// Asks the processor to bring `value`'s first cache line closer; a hint,
/// with no effect on what the program computes.
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: prefetching is a hint that never faults, for any address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
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

    /// `Keys` against a `BTreeMap` under random operations on keys built to
    /// stress the fingerprints: keys that are prefixes of one another,
    /// bytes 0x00 and 0xFF (zero padding, prefix ends), shared prefixes
    /// shorter and longer than `COMMON_MAX` and than 8 bytes past it, and
    /// a shard emptied and refilled.
    #[test]
    fn keys_match_a_sorted_map() {
        use std::collections::BTreeMap;

        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let stems: [&[u8]; 5] = [b"", b"share/content/chunk-", &[b'p'; 70], &[0xFF; 3], b"a"];
        let tails: [&[u8]; 6] = [b"", b"\0", b"\0\0", b"0", b"\xff", b"12345678"];
        let key = |next: &mut dyn FnMut(usize) -> usize| {
            let mut k = stems[next(stems.len())].to_vec();
            for _ in 0..next(4) {
                k.extend_from_slice(tails[next(tails.len())]);
            }
            k
        };
        let blocks = |m: &BTreeMap<Vec<u8>, usize>| -> Vec<(Vec<u8>, usize)> {
            m.iter().map(|(k, v)| (k.clone(), *v)).collect()
        };
        let listed = |it: &mut dyn Iterator<Item = &Block>| -> Vec<(Vec<u8>, usize)> {
            it.map(|b| (b.key().to_vec(), b.len())).collect()
        };

        for round in 0..200 {
            let mut keys = Keys::default();
            let mut model: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
            for _ in 0..200 {
                let k = key(&mut next);
                match next(6) {
                    0 | 1 => {
                        let len = next(5);
                        let old = keys.replace(Block::try_new(&k, &vec![1; len]).unwrap());
                        assert_eq!(old.map(|b| b.len()), model.insert(k.clone(), len));
                    }
                    2 => {
                        let taken = keys.take(&k);
                        assert_eq!(taken.map(|b| b.len()), model.remove(&k));
                    }
                    3 => {
                        let (hi, lo_excluded) = (key(&mut next), next(2) == 0);
                        let hi = (next(2) == 0).then_some(&hi[..]);
                        let lo = if lo_excluded {
                            Bound::Excluded(&k[..])
                        } else {
                            Bound::Included(&k[..])
                        };
                        let want: Vec<_> = model
                            .iter()
                            .filter(|(m, _)| match lo {
                                Bound::Included(lo) => &m[..] >= lo,
                                Bound::Excluded(lo) => &m[..] > lo,
                                Bound::Unbounded => true,
                            })
                            .filter(|(m, _)| hi.is_none_or(|hi| &m[..] < hi))
                            .map(|(k, v)| (k.clone(), *v))
                            .collect();
                        assert_eq!(listed(&mut keys.range(lo, hi)), want, "round {round}");
                        if !lo_excluded {
                            assert_eq!(keys.count(&k, hi), want.len());
                        }
                    }
                    4 => {
                        let mut out = Vec::new();
                        let end = crate::store::prefix_end(&k);
                        keys.extract(&k, end.as_deref(), &mut out);
                        let want: Vec<_> = model.extract_if(.., |m, _| m.starts_with(&k)).collect();
                        let got: Vec<_> = out.iter().map(|b| (b.key().to_vec(), b.len())).collect();
                        assert_eq!(got, want);
                    }
                    _ => {
                        assert_eq!(keys.get(&k).map(|b| b.len()), model.get(&k).copied());
                    }
                }
                assert_eq!(
                    listed(&mut keys.range(Bound::Unbounded, None)),
                    blocks(&model)
                );
            }
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
