//! The store's index, laid out so that operations on different keys write
//! no shared cache line.
//!
//! - [`Index`]: [`SHARDS`] hash tables of blocks ([`Keys`]), each behind
//!   its own reader-writer lock on its own pair of cache lines, chosen by a
//!   hash of the key. Point operations lock one shard. Close and stats
//!   lock every shard in index order, which gives them one point in time
//!   and cannot deadlock. Listing and prefix deletion do not come here for
//!   their ranges: the keys in order are kept apart (`order.rs`).
//! - [`Keys`]: a shard's blocks in a hash table of bare block pointers.
//!   A lookup reads the table's tag bytes, one slot, and the block's
//!   header (its key), which it needs next for the data anyway.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hashbrown::{HashTable, TryReserveError};
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::block::Block;
use crate::error::{oom, Error};

/// Number of index shards. A power of two, and many times the core count of
/// large machines: two threads working on disjoint sets of keys then rarely
/// meet on a shard. Only close and stats pay a lock per shard. Measured ad
/// hoc on 2 cores, 1 KiB writes by two threads on 64 keys each: 128 shards
/// scaled 0.6x as well as a memcpy ring, 512 about 1x.
pub(crate) const SHARDS: usize = 512;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();
const _: () = assert!(SHARDS.is_power_of_two() && SHARD_BITS >= 7);
const _: () = assert!(std::mem::size_of::<Shard>() == 128);

/// One shard, on its own 128 bytes (two cache lines, as adjacent-line
/// prefetchers pair them) so its lock word shares a line with no other.
/// The read counters sit on the lock word's line: a read has just written
/// that line to take the lock, so counting costs no further cache miss
/// and writes no line another shard's readers use.
#[repr(align(128))]
struct Shard {
    keys: RwLock<Keys>,
    /// Reads of a key of this shard that found it, and reads that did not
    /// (never reset).
    hits: AtomicU64,
    misses: AtomicU64,
}

const _: () = assert!(
    std::mem::offset_of!(Shard, keys) + 8 <= 64
        && std::mem::offset_of!(Shard, hits) + 8 <= 64
        && std::mem::offset_of!(Shard, misses) + 8 <= 64
);

pub(crate) struct Index {
    shards: Box<[Shard]>,
}

/// The key's hash: foldhash's fast variant, with a fixed seed. Shard
/// choice needs no resistance to chosen keys: a poor spread could only
/// cost parallelism, never change a result. Measured ad hoc against the
/// hand-written folded multiply it replaced: 1.4 ns slower on 30-byte
/// keys (4.9 against 3.2 ns), as fast on short ones, and evenly spread in
/// every bit, where the old hash's low bits (hashbrown's tag bytes after
/// the rotation in `table_hash`) clumped on short keys.
#[inline]
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    hash(key)
}

#[inline]
fn hash(key: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x6a09_e667_f3bc_c909).hash_one(key)
}

impl Index {
    pub(crate) fn new() -> Index {
        Index {
            shards: (0..SHARDS)
                .map(|_| Shard {
                    keys: RwLock::new(Keys::default()),
                    hits: AtomicU64::new(0),
                    misses: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    /// The key's shard and its table hash: one hash of the key serves
    /// both.
    #[inline]
    fn shard(&self, key: &[u8]) -> (&Shard, u64) {
        let h = hash(key);
        // The top bits of the hash are its best mixed.
        let shard = &self.shards[(h >> (64 - SHARD_BITS)) as usize];
        (shard, table_hash(h))
    }

    /// Write-locks the shard of `key` after `build` succeeds (on failure,
    /// locks nothing): the shard's lock word is fetched into the cache
    /// while `build` makes what the caller will store (a miss that would
    /// otherwise stall the lock).
    pub(crate) fn write_after<T, E>(
        &self,
        key: &[u8],
        build: impl FnOnce() -> Result<T, E>,
    ) -> Result<(T, WriteShard<'_>), E> {
        let (shard, hash) = self.shard(key);
        prefetch(shard);
        let built = build()?;
        Ok((
            built,
            Locked {
                keys: shard.keys.write(),
                hash,
            },
        ))
    }

    /// Read-locks the shard of `key`, for operations on `key` only. Always
    /// inlined: as a call of its own it cost a tenth of a 1 KiB read's
    /// instructions in saving and restoring registers.
    #[inline(always)]
    pub(crate) fn read(&self, key: &[u8]) -> ReadShard<'_> {
        let (shard, hash) = self.shard(key);
        ReadShard {
            locked: Locked {
                keys: shard.keys.read(),
                hash,
            },
            shard,
        }
    }

    /// Write-locks the shard of `key`, for operations on `key` only.
    #[inline]
    pub(crate) fn write(&self, key: &[u8]) -> WriteShard<'_> {
        let (shard, hash) = self.shard(key);
        Locked {
            keys: shard.keys.write(),
            hash,
        }
    }

    /// Read-locks every shard, in index order (`array::from_fn` builds the
    /// elements in order), without allocating.
    pub(crate) fn read_all(&self) -> [RwLockReadGuard<'_, Keys>; SHARDS] {
        std::array::from_fn(|i| self.shards[i].keys.read())
    }

    /// Write-locks every shard, in index order, without allocating.
    pub(crate) fn write_all(&self) -> [RwLockWriteGuard<'_, Keys>; SHARDS] {
        std::array::from_fn(|i| self.shards[i].keys.write())
    }

    /// Reads that found their key, over all shards.
    pub(crate) fn hits(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.hits.load(Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Reads that did not find their key, over all shards.
    pub(crate) fn misses(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.misses.load(Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

/// A shard's blocks: a hash table of block references, found by the
/// key's hash and confirmed by comparing the key stored in the block (a
/// table slot is one pointer; the key lives only in its block).
#[derive(Default)]
pub(crate) struct Keys {
    table: HashTable<Block>,
}

/// The hash a shard's table uses: the key's hash turned so that neither
/// the bits that pick a bucket (the low ones) nor the 7 bits the table
/// keeps as a tag (the top ones) are the bits that picked the shard (the
/// top [`SHARD_BITS`]), which are the same for every key in a shard.
#[inline]
fn table_hash(hash: u64) -> u64 {
    hash.rotate_right(SHARD_BITS)
}

fn rehash(block: &Block) -> u64 {
    table_hash(hash(block.key()))
}

/// A locked shard with the table hash of the one key it was locked for;
/// its methods take that key (or a block under it).
pub(crate) struct Locked<G> {
    keys: G,
    hash: u64,
}

pub(crate) type WriteShard<'a> = Locked<RwLockWriteGuard<'a, Keys>>;

/// A read-locked shard, which also counts the reads of its keys.
pub(crate) struct ReadShard<'a> {
    locked: Locked<RwLockReadGuard<'a, Keys>>,
    shard: &'a Shard,
}

impl ReadShard<'_> {
    /// The block under `key`.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Block> {
        self.locked.get(key)
    }

    /// Counts a read of the key that found it.
    #[inline]
    pub(crate) fn hit(&self) {
        self.shard.hits.fetch_add(1, Relaxed);
    }

    /// Counts a read of the key that did not find it.
    #[inline]
    pub(crate) fn miss(&self) {
        self.shard.misses.fetch_add(1, Relaxed);
    }
}

impl<G: std::ops::Deref<Target = Keys>> Locked<G> {
    /// The block under `key`.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Block> {
        self.keys.get(key, self.hash)
    }
}

impl<G: std::ops::DerefMut<Target = Keys>> Locked<G> {
    /// Puts `block` in place of the block stored under its key, which it
    /// returns; gives `block` back when its key is not stored.
    pub(crate) fn swap(&mut self, block: Block) -> std::result::Result<Block, Block> {
        let hash = self.hash;
        self.keys.swap(block, hash)
    }

    /// Stores `block`, whose key must not be stored. Fails, storing
    /// nothing, when the table cannot grow.
    pub(crate) fn insert(&mut self, block: Block) -> std::result::Result<(), (Error, Block)> {
        let hash = self.hash;
        self.keys.insert(block, hash)
    }

    /// Removes and returns the block under `key`.
    pub(crate) fn take(&mut self, key: &[u8]) -> Option<Block> {
        let hash = self.hash;
        self.keys.take(key, hash)
    }
}

impl Keys {
    #[inline]
    fn get(&self, key: &[u8], hash: u64) -> Option<&Block> {
        self.table.find(hash, |b| b.key() == key)
    }

    fn swap(&mut self, block: Block, hash: u64) -> std::result::Result<Block, Block> {
        let key = block.key();
        debug_assert_eq!(hash, rehash(&block));
        match self.table.find_mut(hash, |b| b.key() == key) {
            Some(stored) => Ok(std::mem::replace(stored, block)),
            None => Err(block),
        }
    }

    fn insert(&mut self, block: Block, hash: u64) -> std::result::Result<(), (Error, Block)> {
        debug_assert_eq!(hash, rehash(&block));
        if let Err(e) = self.table.try_reserve(1, rehash) {
            let size = match e {
                TryReserveError::AllocError { layout } => layout.size(),
                TryReserveError::CapacityOverflow => usize::MAX,
            };
            return Err((oom(size), block));
        }
        self.table.insert_unique(hash, block, rehash);
        Ok(())
    }

    fn take(&mut self, key: &[u8], hash: u64) -> Option<Block> {
        let found = self.table.find_entry(hash, |b| b.key() == key);
        let block = found.ok()?.remove().0;
        // Gives most of a table emptied by deletes back, by moving the
        // blocks to a smaller table when memory for one can be had: a
        // removal itself never needs memory (hashbrown's own `shrink_to`
        // would abort the process if it could not allocate).
        if self.table.capacity() > 64 && self.table.len() * 8 < self.table.capacity() {
            let mut smaller = HashTable::new();
            if smaller.try_reserve(self.table.len() * 2, rehash).is_ok() {
                for block in self.table.drain() {
                    smaller.insert_unique(rehash(&block), block, rehash);
                }
                self.table = smaller;
            }
        }
        Some(block)
    }

    /// Every block, in no order.
    #[cfg(test)]
    fn blocks(&self) -> impl Iterator<Item = &Block> + '_ {
        self.table.iter()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_emptied_by_removals_shrinks() {
        let mut keys = Keys::default();
        let blocks: Vec<Block> = (0..2000u32)
            .map(|i| Block::try_new(format!("file-{i}/block-0").as_bytes(), b"x").unwrap())
            .collect();
        let names: Vec<Vec<u8>> = blocks.iter().map(|b| b.key().to_vec()).collect();
        for block in blocks {
            let hash = rehash(&block);
            keys.insert(block, hash).unwrap();
        }
        let full = keys.table.capacity();
        for name in &names[10..] {
            assert!(keys.take(name, table_hash(hash(name))).is_some());
        }
        assert!(
            keys.table.capacity() * 8 < full,
            "{} of {full}",
            keys.table.capacity()
        );
        for name in &names[..10] {
            assert!(keys.get(name, table_hash(hash(name))).is_some());
        }
    }

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
            // The same for the bits the shard's table takes its tags from.
            let mut tags = vec![0u32; 128];
            for i in 0..128 * 16 {
                tags[(table_hash(hash(&shape(i))) >> 57) as usize] += 1;
            }
            let (min, max) = (tags.iter().min().unwrap(), tags.iter().max().unwrap());
            assert!(*min >= 2 && *max <= 40, "tags: min {min} max {max}");
        }
    }

    /// `Keys` against a `BTreeMap` under random operations on keys that
    /// are prefixes of one another, with 0x00 and 0xFF bytes and long
    /// shared stems, growing, emptying (and shrinking) and refilling the
    /// table.
    #[test]
    fn keys_match_a_sorted_map() {
        use std::collections::BTreeMap;

        let mut next = crate::test_keys::below(0x9e37_79b9_7f4a_7c15);
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
                        let block = Block::try_new(&k, &vec![1; len]).unwrap();
                        let h = rehash(&block);
                        let old = match keys.swap(block, h) {
                            Ok(old) => Some(old),
                            Err(block) => {
                                keys.insert(block, h).map_err(|(e, _)| e).unwrap();
                                None
                            }
                        };
                        assert_eq!(old.map(|b| b.len()), model.insert(k.clone(), len));
                    }
                    2 | 3 => {
                        let taken = keys.take(&k, table_hash(hash(&k)));
                        assert_eq!(taken.map(|b| b.len()), model.remove(&k));
                    }
                    _ => {
                        let got = keys.get(&k, table_hash(hash(&k)));
                        assert_eq!(got.map(|b| b.len()), model.get(&k).copied());
                    }
                }
                let mut stored = listed(&mut keys.blocks());
                stored.sort();
                assert_eq!(stored, blocks(&model), "round {round}");
            }
        }
    }
}
