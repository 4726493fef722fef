//! The in-memory store: immutable blocks in a sharded hash index, with
//! the keys also kept in order for prefix work.
//!
//! Design rules, all from the behaviour contract:
//! - Block data is copied outside every lock, with one bounded exception:
//!   a write builds its block before locking; a read clones a reference
//!   (one atomic increment) under its shard's lock and copies after
//!   releasing it, except that a copy into a caller's buffer of at most
//!   [`COPY_UNDER_LOCK_MAX`] bytes is made under the lock, which
//!   costs less than the two reference-count updates it saves. Blocks being replaced
//!   or deleted are freed after the lock is released.
//! - Blocks are found through `SHARDS` hash tables chosen by a hash of
//!   the key, each with its own lock on its own cache lines, so operations
//!   on different keys share no written cache line (see `index.rs`).
//! - The keys in byte order are kept in one front-coded set (`order.rs`),
//!   which only the creation and removal of a key change (under the key's
//!   shard lock). Listing and prefix deletion read candidates from it a
//!   batch at a time, then check or remove each under its own shard lock:
//!   O(log n + k) for a listing, O(k log n) for a deletion (each removed
//!   key is found again in the order), and they never stop a writer of
//!   other keys. They are
//!   not snapshots; what they guarantee is in their docs.
//! - `block_count` and `total_size` are striped counters updated under the
//!   shard lock; a `max_bytes` cap adds one shared counter, reserved from
//!   before publishing, so the cap holds under concurrent writers.
//! - `closed` is a flag written only by `close`, which sets it while holding
//!   every shard lock; operations read it after taking their shard lock.

use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use crate::block::{Block, DataView};
use crate::cache::{self, Cache, Verdict};
use crate::counters::Counters;
use crate::error::{copy_fallibly, Error, Result};
use crate::index::{key_hash, Index, Keys, WriteShard};
use crate::large;
use crate::listing::{Deleted, Listing};
use crate::order::{KeyOrder, BATCH};

/// The key length limit used when [`Options::max_key_len`] is 0.
pub const DEFAULT_MAX_KEY_LEN: usize = 1024;

/// Limits for a [`MemoryStore`]. Zero means "no limit" (for `max_key_len`:
/// the default of [`DEFAULT_MAX_KEY_LEN`] bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Cap on the sum of all block sizes (what `total_size` reports).
    /// Writes that would exceed it fail with [`Error::StoreFull`], unless
    /// [`evict`](Self::evict) is set.
    pub max_bytes: u64,
    /// Cap on one block's size. Larger writes fail with
    /// [`Error::BlockTooLarge`].
    pub max_block_size: u64,
    /// Cap on key length in bytes. Longer (or empty) keys fail with
    /// [`Error::InvalidKey`]. 0 selects [`DEFAULT_MAX_KEY_LEN`]; values
    /// above 2^32 - 1 (the longest key a block can hold) act as 2^32 - 1.
    pub max_key_len: usize,
    /// Cache mode: a write that would take `total_size` over `max_bytes`
    /// evicts other blocks to make room instead of failing, and fails with
    /// [`Error::StoreFull`] only for a block larger than `max_bytes` itself.
    /// Which blocks go is decided by S3-FIFO (see the README): blocks read
    /// since they were written stay longer than blocks never read again.
    /// Without `max_bytes` there is nothing to evict for, and the store
    /// behaves as without this flag.
    ///
    /// A block evicted while someone holds it (a `Bytes` from a read, a C
    /// pin, a Go stream in progress) stays valid and unchanged for them;
    /// its bytes no longer count in `total_size`, so the process can hold
    /// more than `max_bytes` by the size of evicted blocks still held.
    pub evict: bool,
}

/// An unpublished block from [`MemoryStore::reserve`]: fill it through
/// [`as_mut_slice`](Self::as_mut_slice), then publish it with
/// [`MemoryStore::commit`]. Dropping it instead frees it (an abort).
///
/// It owns its memory and does not borrow the store, so it can be kept
/// across calls or sent to another thread.
pub struct Reservation {
    block: Block,
}

impl Reservation {
    /// The block's bytes, zeroed at reservation, for the caller to fill.
    /// They live in the block's own allocation, so their address stays the
    /// same for the reservation's whole life, even if the `Reservation`
    /// itself is moved (the C ABI hands this address out).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.block
            .data_mut()
            .expect("a reservation holds the only reference to its block")
    }

    /// The block's size in bytes.
    pub fn len(&self) -> usize {
        self.block.len()
    }

    /// Whether the block is empty (0 bytes).
    pub fn is_empty(&self) -> bool {
        self.block.len() == 0
    }

    /// The key the block will be stored under.
    pub fn key(&self) -> &[u8] {
        self.block.key()
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("len", &self.len())
            .finish()
    }
}

/// A summary of a store, taken as one consistent snapshot: the counters
/// and the closed flag are read while every shard is read-locked, so a
/// closed store never shows nonzero counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Number of blocks stored.
    pub block_count: u64,
    /// Sum of the sizes of all blocks stored.
    pub total_size: u64,
    /// The effective limits (0 = no limit).
    pub max_bytes: u64,
    /// See [`Options::max_block_size`].
    pub max_block_size: u64,
    /// The effective key length limit (never 0).
    pub max_key_len: usize,
    /// Whether the store has been closed.
    pub closed: bool,
    /// Whether the store evicts (see [`Options::evict`]).
    pub evict: bool,
    /// Reads of a key that was stored: every `read`, `read_range`,
    /// `read_into` and `read_range_into` (and in the C ABI and Go, every
    /// pin and stream) counts one hit or one [`misses`](Self::misses),
    /// whatever its result once the block is found; `stat` and `exists`
    /// count neither. Kept after close.
    pub hits: u64,
    /// Reads of a key that was not stored (they fail with
    /// [`Error::NotFound`]).
    pub misses: u64,
    /// Blocks evicted to make room (cache mode only).
    pub evictions: u64,
    /// Sum of the sizes of the blocks evicted.
    pub evicted_bytes: u64,
}

/// A thread-safe in-memory block store.
///
/// Cheap to share: wrap it in an `Arc` and call it from any number of
/// threads. All data lives in process memory and is gone after
/// [`close`](MemoryStore::close) or drop.
///
/// ```
/// use blockmem::MemoryStore;
///
/// let store = MemoryStore::new();
/// store.write("share/content/chunk-0/block-0", b"hello").unwrap();
/// let data = store.read("share/content/chunk-0/block-0").unwrap();
/// assert_eq!(&data[..], b"hello");
/// assert_eq!(store.block_count(), 1);
/// assert_eq!(store.total_size(), 5);
/// ```
pub struct MemoryStore {
    index: Index,
    order: KeyOrder,
    counters: Counters,
    /// Present in cache mode (`evict` with a `max_bytes` cap).
    cache: Option<Cache>,
    closed: AtomicBool,
    /// See [`beyond_cache`](Self::beyond_cache).
    beyond_cache: AtomicBool,
    max_bytes: u64,
    max_block_size: u64,
    max_key_len: usize,
    fault: crate::fault::Fault,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("stats", &self.stats())
            .finish()
    }
}

/// The smallest key greater than every key that starts with `prefix`, or
/// `None` when no such key exists (empty prefix, or all bytes 0xFF).
/// [`Error::OutOfMemory`] when its copy cannot be allocated.
pub(crate) fn prefix_end(prefix: &[u8]) -> Result<Option<Vec<u8>>> {
    let Some(last) = prefix.iter().rposition(|&b| b != 0xFF) else {
        return Ok(None);
    };
    let mut end = Vec::new();
    copy_fallibly(&mut end, &prefix[..=last])?;
    end[last] += 1;
    Ok(Some(end))
}

/// Reads into a caller's buffer copy blocks (or ranges) of at most this
/// many bytes while holding the shard's read lock, instead of pinning the
/// block with a reference-count increment and decrement; the lock hold time
/// stays bounded by this constant.
pub const COPY_UNDER_LOCK_MAX: usize = 4096;

impl MemoryStore {
    /// A store with no limits but the default key length.
    pub fn new() -> MemoryStore {
        MemoryStore::with_options(Options::default())
    }

    /// A store with the given limits.
    pub fn with_options(options: Options) -> MemoryStore {
        MemoryStore {
            index: Index::new(),
            order: KeyOrder::default(),
            counters: Counters::new(options.max_bytes),
            cache: (options.evict && options.max_bytes != 0).then(|| Cache::new(options.max_bytes)),
            closed: AtomicBool::new(false),
            beyond_cache: AtomicBool::new(false),
            max_bytes: options.max_bytes,
            max_block_size: options.max_block_size,
            max_key_len: if options.max_key_len == 0 {
                DEFAULT_MAX_KEY_LEN
            } else {
                options.max_key_len.min(crate::block::MAX_KEY_LEN)
            },
            fault: Default::default(),
        }
    }

    /// The limits in effect (with `max_key_len` resolved from 0 to the
    /// default).
    pub fn options(&self) -> Options {
        Options {
            max_bytes: self.max_bytes,
            max_block_size: self.max_block_size,
            max_key_len: self.max_key_len,
            evict: self.cache.is_some(),
        }
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() || key.len() > self.max_key_len {
            return Err(Error::InvalidKey {
                len: key.len(),
                max_len: self.max_key_len,
            });
        }
        Ok(())
    }

    /// Fails with [`Error::StoreClosed`] once closed. Called with a shard
    /// lock held, it sees `close` either wholly before or wholly after.
    fn check_open(&self) -> Result<()> {
        self.fault.point();
        if self.closed.load(Ordering::Relaxed) {
            return Err(Error::StoreClosed);
        }
        Ok(())
    }

    /// Runs `f` on the block under `key` with its shard read-locked.
    fn with_block<R>(&self, key: &[u8], f: impl FnOnce(&Block) -> R) -> Result<R> {
        self.check_key(key)?;
        let shard = self.index.read(key);
        self.check_open()?;
        shard.get(key).map(f).ok_or(Error::NotFound)
    }

    /// [`with_block`](Self::with_block) for a read of the block's data:
    /// counts a hit or a miss, and in cache mode tells the policy.
    #[inline]
    fn with_read<R>(&self, key: &[u8], f: impl FnOnce(&Block) -> R) -> Result<R> {
        self.check_key(key)?;
        let shard = self.index.read(key);
        self.check_open()?;
        match shard.get(key) {
            Some(block) => {
                shard.hit();
                if let Some(policy) = block.policy() {
                    cache::touch(policy);
                }
                Ok(f(block))
            }
            None => {
                shard.miss();
                Err(Error::NotFound)
            }
        }
    }

    /// A shared reference to the block under `key`, taken under the read
    /// lock and used after it is released; counts as a read.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Block> {
        self.with_read(key, Block::clone)
    }

    /// Copies `[start, end)` of the block's data (clamped as
    /// [`clamp_range`]) into `buf`: under the shard lock when the copy is at
    /// most [`COPY_UNDER_LOCK_MAX`] bytes (or does not fit, which
    /// copies nothing), else from a pinned reference after the lock is
    /// released.
    fn copy_into(
        &self,
        key: &[u8],
        range: impl FnOnce(usize) -> Result<(usize, usize)>,
        buf: &mut [u8],
    ) -> Result<usize> {
        let pinned = self.with_read(key, |b| {
            let (start, end) = range(b.len())?;
            // A buffer too small fails here without copying, so it needs no pin.
            if end - start <= COPY_UNDER_LOCK_MAX || buf.len() < end - start {
                copy_out(&b.data()[start..end], buf).map(Ok)
            } else {
                Ok(Err((b.clone(), start, end)))
            }
        })??;
        match pinned {
            Ok(n) => Ok(n),
            Err((block, start, end)) => copy_out(&block.data()[start..end], buf),
        }
    }

    /// Stores a private copy of `data` under `key`, replacing any block
    /// already there. Readers see the old block or the new one, never a mix.
    ///
    /// # Errors
    /// [`Error::InvalidKey`], [`Error::BlockTooLarge`],
    /// [`Error::StoreFull`] (a replacement counts as
    /// `total - old + new`), [`Error::OutOfMemory`], [`Error::StoreClosed`].
    /// On error nothing changes.
    pub fn write(&self, key: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Result<()> {
        self.write_bytes(key.as_ref(), data.as_ref())
    }

    fn write_bytes(&self, key: &[u8], data: &[u8]) -> Result<()> {
        self.check_write(key, data.len() as u64)?;
        // The copy happens here, before any lock is taken.
        let cold = data.len() >= large::STREAM_MIN && self.beyond_cache();
        if let Some(cache) = &self.cache {
            let block = Block::try_new_in(key, data, cold, true)?;
            return self.publish_evicting(cache, block);
        }
        let (block, shard) = self
            .index
            .write_after(key, || Block::try_new_in(key, data, cold, false))?;
        self.publish_locked(block, shard)
    }

    /// Whether the store holds more block bytes than the last-level cache,
    /// so the memory a new large block gets (a freed block's) is likely no
    /// longer in the cache. Each thread refreshes the flag on about one
    /// large write in 64 (summing the counters costs a few cache misses).
    fn beyond_cache(&self) -> bool {
        thread_local!(static TICK: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
        let tick = TICK.with(|t| {
            let tick = t.get().wrapping_add(1);
            t.set(tick);
            tick
        });
        if tick % 64 == 1 {
            let beyond = self.counters.bytes() > large::cache_bytes();
            if self.beyond_cache.load(Ordering::Relaxed) != beyond {
                self.beyond_cache.store(beyond, Ordering::Relaxed);
            }
        }
        self.beyond_cache.load(Ordering::Relaxed)
    }

    /// Reserves an unpublished block of `len` zero bytes under `key`, to be
    /// filled through [`Reservation::as_mut_slice`] (from a socket or a
    /// file, say) and published with [`commit`](Self::commit). Nothing is
    /// visible to readers until then; dropping the reservation instead frees
    /// it and changes nothing.
    ///
    /// The reservation is not tied to the store's lifetime, so it can be
    /// kept across calls; the limits are checked again at commit.
    ///
    /// # Errors
    /// As [`write`](Self::write), checked before allocating:
    /// [`Error::InvalidKey`], [`Error::BlockTooLarge`], [`Error::StoreClosed`],
    /// [`Error::StoreFull`] (when the block would not fit in the store as it
    /// is now, a replacement counting as `total - old + len`),
    /// [`Error::OutOfMemory`].
    pub fn reserve(&self, key: impl AsRef<[u8]>, len: usize) -> Result<Reservation> {
        let key = key.as_ref();
        self.check_write(key, len as u64)?;
        let shard = self.index.read(key);
        self.check_open()?;
        if self.max_bytes != 0 && self.cache.is_none() {
            // Fail before the caller fills a block that cannot fit in the
            // store as it is now; the commit checks again.
            let old = shard.get(key).map_or(0, |b| b.len() as u64);
            self.counters
                .fits(old, len as u64)
                .map_err(|needed| self.full(needed))?;
        }
        drop(shard);
        Ok(Reservation {
            block: Block::try_zeroed(key, len, self.cache.is_some())?,
        })
    }

    /// Publishes a reserved block atomically, exactly as [`write`](Self::write)
    /// would publish the same key and bytes: it replaces any block under the
    /// key, and readers see the old block or the new one.
    ///
    /// # Errors
    /// As [`write`](Self::write), with every limit checked again against
    /// the store as it is now: [`Error::InvalidKey`],
    /// [`Error::BlockTooLarge`], [`Error::StoreFull`],
    /// [`Error::StoreClosed`]. On error nothing changes and the reserved
    /// block is freed.
    pub fn commit(&self, reservation: Reservation) -> Result<()> {
        let block = reservation.block;
        self.check_write(block.key(), block.len() as u64)?;
        self.publish(block)
    }

    /// Writes a block of `len` bytes that `fill` produces in place: reserves
    /// it, lets `fill` write every byte, and commits it if `fill` succeeds.
    /// Saves the intermediate buffer (and its copy) that [`write`](Self::write)
    /// needs when the data comes from a reader.
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// let store = blockmem::MemoryStore::new();
    /// let mut socket: &[u8] = b"streamed block";
    /// store.write_with("k", 14, |buf| socket.read_exact(buf))?;
    /// assert_eq!(&store.read("k").unwrap()[..], b"streamed block");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any error of [`reserve`](Self::reserve) or [`commit`](Self::commit),
    /// converted into `E`, or the error `fill` returns. On any error
    /// nothing changes and nothing leaks.
    pub fn write_with<E: From<Error>>(
        &self,
        key: impl AsRef<[u8]>,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut reservation = self.reserve(key, len)?;
        fill(reservation.as_mut_slice())?;
        Ok(self.commit(reservation)?)
    }

    /// The checks a write makes before it allocates or locks.
    fn check_write(&self, key: &[u8], size: u64) -> Result<()> {
        self.check_key(key)?;
        if self.max_block_size != 0 && size > self.max_block_size {
            return Err(Error::BlockTooLarge {
                size,
                max: self.max_block_size,
            });
        }
        if self.max_bytes != 0 && size > self.max_bytes {
            // Cannot fit even in an empty store: fail before allocating.
            return Err(self.full(size));
        }
        Ok(())
    }

    /// [`Error::StoreFull`] for a store that would hold `needed` bytes.
    fn full(&self, needed: u64) -> Error {
        Error::StoreFull {
            needed,
            max: self.max_bytes,
        }
    }

    /// Inserts a built block, replacing any block under its key, within
    /// `max_bytes`. The replaced block is freed after the lock is released.
    fn publish(&self, block: Block) -> Result<()> {
        if let Some(cache) = &self.cache {
            return self.publish_evicting(cache, block);
        }
        let shard = self.index.write(block.key());
        self.publish_locked(block, shard)
    }

    /// [`publish`](Self::publish) in cache mode: when the block does not
    /// fit, makes room first, evicting other blocks while no shard lock is
    /// held, then publishes under the block's shard lock. The room taken is
    /// the new size less the size of the block it replaces, as seen under
    /// the lock just before; if that block changed by the time the lock is
    /// taken again and the total would go over the cap, it starts again. A write never evicts the block it
    /// replaces. On an error the parameters drop in reverse order, the
    /// guards before the block, so nothing is freed under a lock.
    fn publish_evicting(&self, cache: &Cache, mut block: Block) -> Result<()> {
        if block.policy().is_none() {
            // A reservation from a store without cache mode: copied once
            // into a block that can carry the policy's state.
            block = Block::try_new_in(block.key(), block.data(), false, true)?;
        }
        let size = block.len() as u64;
        // First as in store mode: under the shard lock, the new block in
        // place of the old one, if that fits. Else, with the lock released,
        // room for what was missing, and again.
        let mut room: Option<Room<'_>> = None;
        let (mut shard, old) = loop {
            let shard = self.index.write(block.key());
            self.check_open()?;
            let old = shard
                .get(block.key())
                .map(|b| (b.len() as u64, policy_of(b).load(Ordering::Relaxed)));
            let old_size = old.map_or(0, |(len, _)| len);
            // The room and the replaced block make way for the new block.
            let taken = room.as_ref().map_or(0, |r| r.size);
            if self.counters.reserve(old_size + taken, size).is_ok() {
                if let Some(room) = room.take() {
                    room.keep();
                }
                break (shard, old);
            }
            drop(shard);
            drop(room.take());
            room = Some(self.make_room(cache, size.saturating_sub(old_size), block.key())?);
        };
        let Some((_, word)) = old else {
            return self.insert_evicting(cache, block, shard, size);
        };
        // A replacement keeps the replaced block's entry and read count.
        policy_of(&block).store(word, Ordering::Relaxed);
        let old = shard.swap(block).expect("found above under the same lock");
        drop(shard);
        drop(old);
        Ok(())
    }

    /// Stores a block under a new key, whose `size` bytes the caller took
    /// from the cap: into the key order, the eviction queues and the
    /// shard. Any of them can fail to allocate, and then nothing is stored
    /// and the bytes go back.
    fn insert_evicting(
        &self,
        cache: &Cache,
        block: Block,
        mut shard: WriteShard<'_>,
        size: u64,
    ) -> Result<()> {
        let key = block.key();
        let slot = match self.order.insert(key) {
            Ok(()) => cache
                .insert(key, size, key_hash(key))
                .inspect_err(|_| self.order.remove(key)),
            Err(e) => Err(e),
        };
        let slot = match slot {
            Ok(slot) => slot,
            Err(e) => {
                self.counters.remove(0, size);
                return Err(e);
            }
        };
        policy_of(&block).store(u64::from(slot), Ordering::Relaxed);
        if let Err((e, block)) = shard.insert(block) {
            self.order.remove(block.key());
            cache.remove(slot);
            self.counters.remove(0, size);
            drop(shard);
            drop(block);
            return Err(e);
        }
        self.counters.record(1, size as i64);
        Ok(())
    }

    /// Takes `size` bytes from the cap, evicting blocks (never the one
    /// under `writing`) until they fit. The bytes go back when the
    /// returned guard drops, unless kept.
    fn make_room(&self, cache: &Cache, size: u64, writing: &[u8]) -> Result<Room<'_>> {
        loop {
            if self.counters.reserve(0, size).is_ok() {
                return Ok(Room {
                    counters: &self.counters,
                    size,
                    kept: std::cell::Cell::new(false),
                });
            }
            if !self.evict_one(cache, writing)? {
                // Nothing left to evict: the bytes are held by writes in
                // flight, which give them back or publish in a moment.
                self.check_open()?;
                std::thread::yield_now();
            }
        }
    }

    /// Evicts one block, as the policy chooses; `false` when there is none
    /// to evict. Blocks it looks at and keeps are moved in the queues.
    fn evict_one(&self, cache: &Cache, writing: &[u8]) -> Result<bool> {
        let mut key = cache.evicting();
        loop {
            let Some(slot) = cache.candidate(&mut key, writing)? else {
                return Ok(false);
            };
            let mut shard = self.index.write(&key);
            self.check_open()?;
            let Some(block) = shard.get(&key) else {
                // Deleted since the queues named it; its entry is gone too.
                continue;
            };
            let word = policy_of(block).load(Ordering::Relaxed);
            if cache::slot_of(word) != slot {
                // Deleted and written again since the queues named it: the
                // entry named was freed (and perhaps reused by this key).
                continue;
            }
            match cache.decide(slot, word, block.len() as u64, key_hash(&key)) {
                Verdict::Keep(word) => policy_of(block).store(word, Ordering::Relaxed),
                Verdict::Evict => {
                    let block = shard.take(&key).expect("found above");
                    self.order.remove(&key);
                    self.counters.remove(1, block.len() as u64);
                    cache.evicted(block.len() as u64);
                    drop(shard);
                    drop(block);
                    return Ok(true);
                }
            }
        }
    }

    /// Removes `block`'s entry from the eviction queues (cache mode), for a
    /// block being deleted under its shard lock.
    fn forget(&self, block: &Block) {
        if let (Some(cache), Some(policy)) = (&self.cache, block.policy()) {
            let slot = cache::slot_of(policy.load(Ordering::Relaxed));
            if slot != cache::NO_SLOT {
                cache.remove(slot);
            }
        }
    }

    /// [`publish`](Self::publish) with the block's shard already locked.
    /// On an error return the parameters drop in reverse order, the guard
    /// before the block, so a refused block is never freed under the lock.
    fn publish_locked(&self, block: Block, mut shard: WriteShard<'_>) -> Result<()> {
        let size = block.len() as u64;
        self.check_open()?;
        if self.max_bytes != 0 {
            let old_size = shard.get(block.key()).map_or(0, |b| b.len() as u64);
            self.counters
                .reserve(old_size, size)
                .map_err(|needed| self.full(needed))?;
        }
        let old = match shard.swap(block) {
            Ok(old) => old,
            Err(block) => {
                // A new key, into the key order and then the shard; either
                // can fail to allocate, and then nothing is stored.
                let inserted = match self.order.insert(block.key()) {
                    Ok(()) => shard.insert(block).map_err(|(e, block)| {
                        self.order.remove(block.key());
                        (e, block)
                    }),
                    Err(e) => Err((e, block)),
                };
                if let Err((e, block)) = inserted {
                    self.counters.remove(0, size);
                    drop(shard);
                    drop(block);
                    return Err(e);
                }
                self.counters.record(1, size as i64);
                return Ok(());
            }
        };
        self.counters
            .record(0, size.wrapping_sub(old.len() as u64) as i64);
        // Unlock, then free the replaced block.
        drop(shard);
        drop(old);
        Ok(())
    }

    /// The whole block, without copying: the returned `Bytes` shares the
    /// stored, immutable allocation, so it stays valid (and unchanged) even
    /// if the key is overwritten or deleted. Constant time in block size.
    ///
    /// An empty block reads as an empty `Bytes`, not as [`Error::NotFound`].
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::InvalidKey`], [`Error::StoreClosed`].
    pub fn read(&self, key: impl AsRef<[u8]>) -> Result<Bytes> {
        let block = self.get(key.as_ref())?;
        Ok(Bytes::from_owner(DataView(block)))
    }

    /// Copies the whole block into `buf` and returns its size. When `buf` is
    /// too small, writes nothing.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] with the size needed, and those of
    /// [`read`](Self::read).
    pub fn read_into(&self, key: impl AsRef<[u8]>, buf: &mut [u8]) -> Result<usize> {
        self.copy_into(key.as_ref(), |size| Ok((0, size)), buf)
    }

    /// Bytes `[offset, min(offset + length, size))` of the block, without
    /// copying. `offset == size` or `length == 0` gives an empty result;
    /// `offset + length` past the end (even past `u64::MAX`) simply clamps.
    ///
    /// # Errors
    /// [`Error::InvalidRange`] when `offset > size`, and those of
    /// [`read`](Self::read).
    pub fn read_range(&self, key: impl AsRef<[u8]>, offset: u64, length: u64) -> Result<Bytes> {
        let block = self.get(key.as_ref())?;
        let (start, end) = clamp_range(block.len(), offset, length)?;
        Ok(Bytes::from_owner(DataView(block)).slice(start..end))
    }

    /// Copies the range (as in [`read_range`](Self::read_range)) into `buf`
    /// and returns the number of bytes written.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when the clamped range does not fit
    /// (nothing is written then), and those of [`read_range`](Self::read_range).
    pub fn read_range_into(
        &self,
        key: impl AsRef<[u8]>,
        offset: u64,
        length: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        let range = |size| clamp_range(size, offset, length);
        self.copy_into(key.as_ref(), range, buf)
    }

    /// The size of the block, without touching its data.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn stat(&self, key: impl AsRef<[u8]>) -> Result<u64> {
        self.with_block(key.as_ref(), |b| b.len() as u64)
    }

    /// Whether a block is stored under `key`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`], [`Error::StoreClosed`].
    pub fn exists(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        match self.with_block(key.as_ref(), |_| ()) {
            Ok(()) => Ok(true),
            Err(Error::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes the block under `key` and reports whether there was one.
    /// Deleting a missing key succeeds (returns `false`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`], [`Error::StoreClosed`].
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        self.check_key(key)?;
        let removed = {
            let mut shard = self.index.write(key);
            self.check_open()?;
            let removed = shard.take(key);
            if let Some(b) = &removed {
                self.order.remove(key);
                self.forget(b);
                self.counters.remove(1, b.len() as u64);
            }
            removed
        };
        Ok(removed.is_some())
    }

    /// Removes every block whose key starts with `prefix` (the empty prefix
    /// matches everything) and reports how many blocks and bytes it freed.
    ///
    /// Every key under the prefix that is stored when the call begins and
    /// not written again during it is removed. A key written or deleted by
    /// another thread during the call may or may not be; the result counts
    /// exactly the blocks this call removed. Writers of other keys are
    /// never stopped: keys are removed one at a time, each under its own
    /// shard's lock. O(k log n) for k matching blocks, as an ordered map's
    /// removals: each key is taken out of the key order on its own.
    ///
    /// # Errors
    /// [`Error::StoreClosed`], or [`Error::OutOfMemory`] when the list of
    /// keys to remove cannot be allocated (nothing is removed then).
    pub fn delete_by_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Deleted> {
        let prefix = prefix.as_ref();
        self.check_open()?;
        if prefix.len() > self.max_key_len {
            // No stored key is that long, so nothing matches.
            return Ok(Deleted::default());
        }
        let end = prefix_end(prefix)?;
        // Every candidate first, so running out of memory removes nothing.
        let mut keys = Listing::try_new()?;
        let mut more =
            self.order
                .scan(Bound::Included(prefix), end.as_deref(), BATCH, &mut keys)?;
        let mut last = Vec::new();
        while more {
            copy_fallibly(&mut last, keys.last_key().unwrap_or_default())?;
            more = self
                .order
                .scan(Bound::Excluded(&last), end.as_deref(), BATCH, &mut keys)?;
        }
        let mut deleted = Deleted::default();
        for key in keys.keys() {
            let block = {
                let mut shard = self.index.write(key);
                self.check_open()?;
                let Some(block) = shard.take(key) else {
                    continue;
                };
                self.order.remove(key);
                self.forget(&block);
                self.counters.remove(1, block.len() as u64);
                block
            };
            // Freed after the shard lock is released.
            deleted.blocks += 1;
            deleted.bytes += block.len() as u64;
        }
        Ok(deleted)
    }

    /// Every key starting with `prefix`, in ascending byte order, with its
    /// block size.
    ///
    /// A listing is not a snapshot, and it never stops writers. Every key
    /// stored for the whole call appears exactly once, in order, and a key
    /// stored at no time during the call never appears; a key created or
    /// deleted during the call may or may not appear. Each size is that of
    /// a block stored under the key during the call. O(log n + k) for k
    /// matching blocks.
    ///
    /// # Errors
    /// [`Error::StoreClosed`], or [`Error::OutOfMemory`] when the result
    /// cannot be allocated.
    pub fn list(&self, prefix: impl AsRef<[u8]>) -> Result<Listing> {
        self.list_page(prefix, None::<&[u8]>, 0)
    }

    /// Up to `limit` keys starting with `prefix` and strictly greater than
    /// `start_after`, in ascending order, each with its size, with the
    /// guarantees of [`list`](Self::list).
    /// [`Listing::has_more`] tells whether further matches remain; pass
    /// [`Listing::last_key`] as the next `start_after`. `limit == 0` means
    /// no limit. A walk by pages gives each key stored for the whole walk
    /// exactly once, in order, whatever other threads write or delete
    /// meanwhile.
    ///
    /// # Errors
    /// As [`list`](Self::list).
    pub fn list_page(
        &self,
        prefix: impl AsRef<[u8]>,
        start_after: Option<impl AsRef<[u8]>>,
        limit: usize,
    ) -> Result<Listing> {
        let prefix = prefix.as_ref();
        let start_after = start_after.as_ref().map(|s| s.as_ref());
        let end = prefix_end(prefix)?;
        let limit = if limit == 0 { usize::MAX } else { limit };
        let mut listing = Listing::try_new()?;
        self.check_open()?;
        // Candidates from the key order, a batch at a time, appended to the
        // result and then checked against their shards: those no longer
        // stored are dropped, the others get their sizes.
        // The last key of the previous batch, once there is one.
        let mut after: Option<Vec<u8>> = None;
        loop {
            let lo = match (&after, start_after) {
                (Some(last), _) => Bound::Excluded(&last[..]),
                (None, Some(s)) if s >= prefix => Bound::Excluded(s),
                (None, _) => Bound::Included(prefix),
            };
            let start = listing.len();
            let want = limit.saturating_sub(start).saturating_add(1).min(BATCH);
            let more = self.order.scan(lo, end.as_deref(), want, &mut listing)?;
            if more {
                let last = after.get_or_insert_with(Vec::new);
                copy_fallibly(last, listing.last_key().unwrap_or_default())?;
            }
            listing.retain_from(start, |key| {
                self.index.read(key).get(key).map(|b| b.len() as u64)
            });
            if listing.len() > limit {
                listing.truncate(limit);
                listing.set_more(true);
                break;
            }
            if !more {
                break;
            }
        }
        // A close during the call emptied the shards: say so rather than
        // return what was listed before it.
        self.check_open().map(|()| listing)
    }

    /// Frees every block and marks the store closed; later operations fail
    /// with [`Error::StoreClosed`] and the stats read 0. Idempotent.
    pub fn close(&self) {
        let blocks: (Vec<Keys>, _) = {
            let mut shards = self.index.write_all();
            if self.closed.load(Ordering::Relaxed) {
                return;
            }
            self.closed.store(true, Ordering::Relaxed);
            self.counters.clear();
            let entries = self.cache.as_ref().map(Cache::clear);
            let keys = (self.order.take_all(), entries);
            let blocks = shards
                .iter_mut()
                .map(|s| std::mem::take(&mut **s))
                .collect();
            (blocks, keys)
        };
        // Freed after every lock is released.
        drop(blocks);
    }

    /// Test builds only (feature `fault-injection`): the next operation
    /// that takes a shard lock (or checks health) panics while holding it,
    /// once.
    #[cfg(feature = "fault-injection")]
    pub fn arm_panic(&self) {
        self.fault.arm();
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// `Ok` while the store is open.
    ///
    /// # Errors
    /// [`Error::StoreClosed`] after close.
    pub fn health_check(&self) -> Result<()> {
        self.check_open()
    }

    /// Number of blocks stored: a sum of a few per-core counters, O(1) in
    /// the number of blocks, never blocks; 0 after close. Exact once
    /// writers are quiet; while they run, the sum may be off by the
    /// operations in flight (use [`stats`](Self::stats) for a consistent
    /// snapshot).
    pub fn block_count(&self) -> u64 {
        self.counters.blocks()
    }

    /// Sum of the sizes of all blocks stored, as
    /// [`block_count`](Self::block_count); never exceeds `max_bytes`.
    pub fn total_size(&self) -> u64 {
        self.counters.bytes()
    }

    /// Counters, limits and the closed flag as one consistent snapshot
    /// (every shard is read-locked while they are read, so this costs a
    /// lock per shard: use [`block_count`](Self::block_count) and
    /// [`total_size`](Self::total_size) for cheap reads).
    pub fn stats(&self) -> Stats {
        let options = self.options();
        let _shards = self.index.read_all();
        let (evictions, evicted_bytes) = self.cache.as_ref().map_or((0, 0), Cache::evictions);
        Stats {
            block_count: self.block_count(),
            total_size: self.total_size(),
            max_bytes: options.max_bytes,
            max_block_size: options.max_block_size,
            max_key_len: options.max_key_len,
            closed: self.is_closed(),
            evict: options.evict,
            hits: self.index.hits(),
            misses: self.index.misses(),
            evictions,
            evicted_bytes,
        }
    }
}

/// Bytes taken from the cap for a write in cache mode; given back on drop
/// unless the write [`keep`](Room::keep)s them.
struct Room<'a> {
    counters: &'a Counters,
    size: u64,
    kept: std::cell::Cell<bool>,
}

impl Room<'_> {
    fn keep(&self) {
        self.kept.set(true);
    }
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        if !self.kept.get() {
            self.counters.remove(0, self.size);
        }
    }
}

/// A cache-mode block's policy word.
fn policy_of(block: &Block) -> &crate::block::Policy {
    block
        .policy()
        .expect("cache-mode blocks carry a policy word")
}

/// Resolves a (offset, length) request against a block of `size` bytes.
fn clamp_range(size: usize, offset: u64, length: u64) -> Result<(usize, usize)> {
    let size64 = size as u64;
    if offset > size64 {
        return Err(Error::InvalidRange {
            offset,
            size: size64,
        });
    }
    let end = offset.saturating_add(length).min(size64);
    Ok((offset as usize, end as usize))
}

fn copy_out(src: &[u8], buf: &mut [u8]) -> Result<usize> {
    let capacity = buf.len();
    let dst = buf.get_mut(..src.len()).ok_or(Error::BufferTooSmall {
        needed: src.len(),
        capacity,
    })?;
    // SAFETY: `dst` is `src.len()` writable bytes of the caller's buffer,
    // which cannot overlap a block's data.
    unsafe { large::copy(dst.as_mut_ptr(), src.as_ptr(), src.len()) };
    Ok(src.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_cases() {
        assert_eq!(prefix_end(b"").unwrap(), None);
        assert_eq!(prefix_end(b"\xff\xff").unwrap(), None);
        assert_eq!(prefix_end(b"ab").unwrap(), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff").unwrap(), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\x00").unwrap(), Some(b"\x01".to_vec()));
    }

    #[test]
    fn clamp_range_cases() {
        assert_eq!(clamp_range(10, 0, 10), Ok((0, 10)));
        assert_eq!(clamp_range(10, 10, 5), Ok((10, 10)));
        assert_eq!(clamp_range(10, 3, u64::MAX), Ok((3, 10)));
        assert_eq!(clamp_range(10, 3, 0), Ok((3, 3)));
        assert!(matches!(
            clamp_range(10, 11, 0),
            Err(Error::InvalidRange {
                offset: 11,
                size: 10
            })
        ));
        assert!(clamp_range(10, u64::MAX, u64::MAX).is_err());
    }
}
