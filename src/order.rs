//! The store's keys in byte order, for prefix listing and deletion.
//!
//! Point operations find a block through its hash shard (`index.rs`) and
//! never look here, except a write that creates a key and a delete that
//! removes one: they add or remove the key here while they hold the key's
//! shard lock, so every key stored in a shard is also in this set (the set
//! may briefly hold a key whose block is being created or removed).
//!
//! A listing or prefix deletion reads candidate keys from this set in
//! batches, then checks each against its shard. It never holds this set's
//! lock while taking a shard lock, and a creator or deleter takes this
//! lock only inside its shard lock: one lock order, shard then set, so
//! they cannot deadlock. A scan holds the lock only to copy the coded
//! leaves that one batch of keys needs (a few KiB for keys that share
//! most of their bytes; at most one leaf per key of the batch), and
//! decodes them after releasing it, so a long listing delays the creation
//! of keys by at most one such copy and never delays an overwrite or a
//! read.
//!
//! The keys are front-coded in leaves of up to [`LEAF_KEYS`] keys: each
//! key is stored as the length of the prefix it shares with the key before
//! it, then the rest. Keys of a file system's blocks share most of their
//! bytes with their neighbours, so the set costs a few bytes per key
//! rather than a copy of each key and a node slot for it. Leaves are found
//! through an ordered map from each leaf's lower bound.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

use parking_lot::RwLock;

use crate::error::{copy_fallibly, oom, Result};
use crate::listing::Listing;

/// Most keys one scan returns.
pub(crate) const BATCH: usize = 256;

/// Most key bytes a scan reserves in its output before it has decoded
/// them; longer output grows as it goes.
const RESERVE_CAP: usize = 64 << 10;

/// A leaf splits in two when it holds more keys than this or more than
/// [`LEAF_BYTES`] bytes after its first key: small enough that rewriting
/// one on an insert costs about as much as a search of a tree node.
const LEAF_KEYS: usize = 64;
const LEAF_BYTES: usize = 2048;

/// Unused bytes a leaf keeps after removals before it is moved to a
/// buffer of its size (see [`Leaf::shrink`]).
const SHRINK_MIN: usize = 256;

/// On cache lines of its own (as the index shards are): its lock word is
/// written by every listing, prefix deletion, creation and removal of a
/// key, and must not share a line with the store's read-mostly fields,
/// which every operation reads.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct KeyOrder {
    leaves: RwLock<Leaves>,
}

/// Leaves by lower bound: every key in a leaf is at least its bound and
/// below the next leaf's bound. The first leaf's bound is the empty key,
/// so every key has a leaf; only that leaf may be empty.
struct Leaves {
    map: BTreeMap<Box<[u8]>, Leaf>,
    /// Reused to hold the key before an insertion or removal point, the
    /// keys a split decodes, and a bound being removed. Its capacity is at
    /// least the length of every key ever added (an insert makes room
    /// first, and fails if it cannot), so a removal copies keys here
    /// without allocating.
    scratch: Vec<u8>,
}

impl Default for Leaves {
    fn default() -> Leaves {
        let mut map = BTreeMap::new();
        map.insert(Box::default(), Leaf::default());
        Leaves {
            map,
            scratch: Vec::new(),
        }
    }
}

/// Front-coded keys: per key, `varint(shared) varint(rest_len) rest`,
/// where `shared` is the longest prefix it shares with the key before it
/// in the leaf (0 for the first).
#[derive(Default)]
struct Leaf {
    buf: Vec<u8>,
    keys: usize,
}

/// One decoded entry: `shared` bytes of the previous key, then `rest`;
/// `end` is where the next entry starts.
struct Coded<'a> {
    shared: usize,
    rest: &'a [u8],
    end: usize,
}

/// Bytes of the longest varint (a `usize` of 64 bits, 7 bits a byte).
const VARINT_MAX: usize = 10;

/// Writes `v` as a varint at the start of `out`; returns its length.
fn varint_into(out: &mut [u8; VARINT_MAX], mut v: usize) -> usize {
    let mut n = 0;
    while v >= 0x80 {
        out[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    out[n] = v as u8;
    n + 1
}

fn put_varint(buf: &mut Vec<u8>, v: usize) {
    let mut bytes = [0; VARINT_MAX];
    let n = varint_into(&mut bytes, v);
    buf.extend_from_slice(&bytes[..n]);
}

fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn get_varint(buf: &[u8], at: &mut usize) -> usize {
    let mut v = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[*at];
        *at += 1;
        v |= usize::from(b & 0x7F) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn decode(buf: &[u8], at: usize) -> Coded<'_> {
    let mut at = at;
    let shared = get_varint(buf, &mut at);
    let len = get_varint(buf, &mut at);
    Coded {
        shared,
        rest: &buf[at..at + len],
        end: at + len,
    }
}

/// Bytes that `encode(shared, rest)` appends.
fn coded_len(shared: usize, rest_len: usize) -> usize {
    varint_len(shared) + varint_len(rest_len) + rest_len
}

/// Appends an entry; `rest` in two parts, so a key made of another key's
/// bytes and a suffix is written without first being put together.
fn encode(buf: &mut Vec<u8>, shared: usize, rest: (&[u8], &[u8])) {
    put_varint(buf, shared);
    put_varint(buf, rest.0.len() + rest.1.len());
    buf.extend_from_slice(rest.0);
    buf.extend_from_slice(rest.1);
}

fn common_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Leaf {
    /// Where `key` goes: the offset of the first entry greater than or
    /// equal to it (or the end), with the key before that entry left in
    /// `prev`. Returns also whether that entry equals `key`.
    ///
    /// Most entries are placed without comparing bytes. While the entries
    /// read so far are below `key`, `matched` is the prefix the last of
    /// them shares with `key`. An entry that shares more than `matched`
    /// bytes with the entry before it is below `key` too; one that shares
    /// fewer is above (it differs from the entry before it where that
    /// entry still agreed with `key`, and is the greater of the two there).
    /// Only an entry sharing exactly `matched` bytes has its rest compared.
    /// This relies on every entry recording the longest prefix it shares
    /// with the entry before it, which every caller of `encode` ensures.
    fn seek(&self, key: &[u8], prev: &mut Vec<u8>) -> (usize, bool) {
        prev.clear();
        let mut at = 0;
        let mut matched = 0;
        while at < self.buf.len() {
            let c = decode(&self.buf, at);
            let order = match c.shared.cmp(&matched) {
                Ordering::Greater => Ordering::Less,
                Ordering::Less => Ordering::Greater,
                Ordering::Equal => {
                    let tail = &key[matched..];
                    let m = common_len(c.rest, tail);
                    let order = c.rest[m..].cmp(&tail[m..]);
                    if order == Ordering::Less {
                        matched += m;
                    }
                    order
                }
            };
            match order {
                Ordering::Less => {
                    prev.truncate(c.shared);
                    prev.extend_from_slice(c.rest);
                    at = c.end;
                }
                Ordering::Equal => return (at, true),
                Ordering::Greater => return (at, false),
            }
        }
        (at, false)
    }

    /// Adds `key`, which must not be in the leaf.
    fn insert(&mut self, key: &[u8], prev: &mut Vec<u8>) -> Result<()> {
        let (at, found) = self.seek(key, prev);
        debug_assert!(!found, "a key added twice");
        let shared = common_len(prev, key);
        // The entry after the new key is coded against the new key now:
        // it shares `s` bytes with it, and its bytes from `s` on are the
        // part of `prev` it shared beyond `s`, then its own rest.
        let next = (at < self.buf.len()).then(|| {
            let n = decode(&self.buf, at);
            let s = common_len_coded(prev, n.shared, n.rest, key);
            let from_prev = &prev[s.min(n.shared)..n.shared];
            let from_rest = &n.rest[s.saturating_sub(n.shared)..];
            (s, from_prev, from_rest, n.end)
        });
        let next_len = next.map_or(0, |(s, p, r, _)| coded_len(s, p.len() + r.len()));
        let tail_from = next.map_or(at, |(.., end)| end);
        let size =
            at + coded_len(shared, key.len() - shared) + next_len + self.buf.len() - tail_from;
        let mut buf = Vec::new();
        buf.try_reserve_exact(size).map_err(|_| oom(size))?;
        buf.extend_from_slice(&self.buf[..at]);
        encode(&mut buf, shared, (&key[shared..], &[]));
        if let Some((s, from_prev, from_rest, _)) = next {
            encode(&mut buf, s, (from_prev, from_rest));
        }
        buf.extend_from_slice(&self.buf[tail_from..]);
        debug_assert_eq!(buf.len(), size);
        self.buf = buf;
        self.keys += 1;
        Ok(())
    }

    /// Removes `key`; `false` when the leaf does not hold it. Rewrites the
    /// leaf in place: a removal allocates nothing (`prev` has room for
    /// any key of the set, see [`Leaves::scratch`]), so it cannot fail.
    fn remove(&mut self, key: &[u8], prev: &mut Vec<u8>) -> bool {
        let (at, found) = self.seek(key, prev);
        if !found {
            return false;
        }
        let gone = decode(&self.buf, at);
        let (gone_shared, gone_end) = (gone.shared, gone.end);
        if gone_end == self.buf.len() {
            self.buf.truncate(at);
        } else {
            // The next key shares min(gone.shared, next.shared) bytes with
            // the key before the removed one (keys are sorted). Its new
            // entry is its two lengths, the removed key's bytes it shared
            // beyond that, then its rest, which stays where it is: the new
            // entry ends where the old one ended. It is shorter than the
            // two entries it replaces (the removed entry's rest holds the
            // moved bytes, and its lengths outweigh any growth of the
            // next entry's rest length), so it starts after `at`.
            let n = decode(&self.buf, gone_end);
            let (n_shared, rest_len, end) = (n.shared, n.rest.len(), n.end);
            let s = gone_shared.min(n_shared);
            let moved = &key[s..n_shared];
            let (mut shared_bytes, mut len_bytes) = ([0; VARINT_MAX], [0; VARINT_MAX]);
            let shared_n = varint_into(&mut shared_bytes, s);
            let len_n = varint_into(&mut len_bytes, moved.len() + rest_len);
            let rest_at = end - rest_len;
            let moved_at = rest_at - moved.len();
            let start = moved_at - len_n - shared_n;
            debug_assert!(start > at);
            self.buf[moved_at..rest_at].copy_from_slice(moved);
            self.buf[start..start + shared_n].copy_from_slice(&shared_bytes[..shared_n]);
            self.buf[start + shared_n..moved_at].copy_from_slice(&len_bytes[..len_n]);
            self.buf.drain(at..start);
        }
        self.keys -= 1;
        self.shrink();
        true
    }

    /// Gives back the room that removals freed once it is most of the
    /// buffer, when a smaller buffer can be had; when it cannot, the leaf
    /// keeps the room (a removal itself never needs memory).
    fn shrink(&mut self) {
        if self.buf.capacity() < 2 * self.buf.len() + SHRINK_MIN {
            return;
        }
        let mut buf = Vec::new();
        if copy_fallibly(&mut buf, &self.buf).is_ok() {
            self.buf = buf;
        }
    }

    /// Whether the leaf should split: more than [`LEAF_KEYS`] keys, or more
    /// than [`LEAF_BYTES`] after its first key (which is stored whole, so
    /// long keys still share a leaf when they share most of their bytes).
    fn is_full(&self) -> bool {
        self.keys > LEAF_KEYS
            || (self.keys > 1 && self.buf.len() - decode(&self.buf, 0).end > LEAF_BYTES)
    }

    /// Splits off the upper half as a new leaf, returned with its bound
    /// (its first key). Keys are decoded into `key`, which has room for
    /// any key of the set (see [`Leaves::scratch`]); every allocation is
    /// fallible.
    fn split(&mut self, key: &mut Vec<u8>) -> Result<(Box<[u8]>, Leaf)> {
        key.clear();
        let mut at = 0;
        for _ in 0..self.keys / 2 {
            let c = decode(&self.buf, at);
            key.truncate(c.shared);
            key.extend_from_slice(c.rest);
            at = c.end;
        }
        let first = decode(&self.buf, at);
        key.truncate(first.shared);
        key.extend_from_slice(first.rest);
        let mut bound = Vec::new();
        copy_fallibly(&mut bound, key)?;
        let size = coded_len(0, key.len()) + self.buf.len() - first.end;
        let mut upper = Vec::new();
        upper.try_reserve_exact(size).map_err(|_| oom(size))?;
        encode(&mut upper, 0, (key, &[]));
        upper.extend_from_slice(&self.buf[first.end..]);
        let mut lower = Vec::new();
        lower.try_reserve_exact(at).map_err(|_| oom(at))?;
        lower.extend_from_slice(&self.buf[..at]);
        let upper_keys = self.keys - self.keys / 2;
        self.buf = lower;
        self.keys /= 2;
        Ok((
            bound.into_boxed_slice(),
            Leaf {
                buf: upper,
                keys: upper_keys,
            },
        ))
    }
}

/// The length of the prefix that `prev[..shared] ++ rest` shares with
/// `key`.
fn common_len_coded(prev: &[u8], shared: usize, rest: &[u8], key: &[u8]) -> usize {
    let head = common_len(&prev[..shared], key);
    if head < shared {
        head
    } else {
        shared + common_len(rest, &key[shared..])
    }
}

/// The leaf of `map` whose range holds `key`.
fn leaf_mut<'a>(map: &'a mut BTreeMap<Box<[u8]>, Leaf>, key: &[u8]) -> (&'a [u8], &'a mut Leaf) {
    let (bound, leaf) = map
        .range_mut::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
        .next_back()
        .expect("the first leaf's bound is the empty key");
    (bound, leaf)
}

impl KeyOrder {
    /// Adds `key`, which must not be in the set. Fails, adding nothing,
    /// when memory for it cannot be allocated.
    pub(crate) fn insert(&self, key: &[u8]) -> Result<()> {
        let mut guard = self.leaves.write();
        let Leaves { map, scratch } = &mut *guard;
        scratch.clear();
        scratch.try_reserve(key.len()).map_err(|_| oom(key.len()))?;
        let (_, leaf) = leaf_mut(map, key);
        leaf.insert(key, scratch)?;
        if leaf.is_full() {
            // A failed split leaves a large leaf, which works.
            if let Ok((bound, upper)) = leaf.split(scratch) {
                map.insert(bound, upper);
            }
        }
        Ok(())
    }

    /// Removes `key` (which must be present). Allocates nothing, so a
    /// delete or a prefix deletion cannot run out of memory here.
    pub(crate) fn remove(&self, key: &[u8]) {
        let mut guard = self.leaves.write();
        let Leaves { map, scratch } = &mut *guard;
        let (bound, leaf) = leaf_mut(map, key);
        let removed = leaf.remove(key, scratch);
        debug_assert!(removed, "a key removed twice");
        if leaf.keys == 0 && !bound.is_empty() {
            // The bound was a key of the set, so it fits in `scratch`.
            debug_assert!(bound.len() <= scratch.capacity());
            scratch.clear();
            scratch.extend_from_slice(bound);
            map.remove(scratch.as_slice());
        }
    }

    /// Removes every key, returning what held them, to be freed after the
    /// caller's locks are released. For close only: it leaves no leaf at
    /// all, not even the first, which every insert and remove needs, and
    /// after close none runs (they check for it under the key's shard
    /// lock, which close takes too).
    pub(crate) fn take_all(&self) -> impl Drop {
        std::mem::take(&mut self.leaves.write().map)
    }

    /// Appends to `out` up to `max` keys after `lo` and before `hi` (if
    /// any), in order (with size 0: the set holds no sizes). Returns
    /// whether the scan stopped at `max` (more keys may follow).
    ///
    /// The read lock is held only to copy the leaves that can hold those
    /// keys, whole and still coded; they are decoded, compared and
    /// appended after it is released. A creator or remover of a key waits
    /// for the lock while holding its shard's lock, so a shorter hold here
    /// is also a shorter wait for readers of that shard.
    pub(crate) fn scan(
        &self,
        lo: Bound<&[u8]>,
        hi: Option<&[u8]>,
        max: usize,
        out: &mut Listing,
    ) -> Result<bool> {
        let (lo_key, lo_excluded) = match lo {
            Bound::Included(k) => (k, false),
            Bound::Excluded(k) => (k, true),
            Bound::Unbounded => (&[][..], false),
        };
        let copied = self.copy_leaves(lo_key, hi, max)?;
        if !copied.bytes.is_empty() {
            // Room for the keys up front, rather than growing step by step:
            // each guessed as long as the first copied key (stored whole),
            // and the guess capped, as that key may be far longer.
            let keys = copied.keys.min(max);
            let first_len = decode(&copied.bytes, 0).rest.len();
            out.try_reserve(keys, keys.saturating_mul(first_len).min(RESERVE_CAP))?;
        }
        let mut key: Vec<u8> = Vec::new();
        let mut past_lo = false;
        let mut taken = 0;
        let mut from = 0;
        for &to in &copied.ends {
            let buf = &copied.bytes[from..to];
            from = to;
            key.clear();
            let mut at = 0;
            while at < buf.len() {
                let c = decode(buf, at);
                at = c.end;
                key.truncate(c.shared);
                key.try_reserve(c.rest.len())
                    .map_err(|_| oom(c.rest.len()))?;
                key.extend_from_slice(c.rest);
                if !past_lo {
                    // Keys are in order: once past `lo`, all that follow are.
                    match key[..].cmp(lo_key) {
                        Ordering::Less => continue,
                        Ordering::Equal if lo_excluded => continue,
                        _ => past_lo = true,
                    }
                }
                if hi.is_some_and(|hi| key[..] >= *hi) {
                    return Ok(false);
                }
                if taken == max {
                    return Ok(true);
                }
                out.try_push(&key, 0)?;
                taken += 1;
            }
        }
        // The copy ends where the set does, or before `hi`: it holds more
        // than `max` keys otherwise (see `copy_leaves`).
        Ok(false)
    }

    /// Copies, under one hold of the read lock, the leaf whose range holds
    /// `lo` and the leaves after it, up to the first that starts at `hi` or
    /// beyond, or until the leaves after the first hold more than `max`
    /// keys (all of which are above `lo`), whichever comes first.
    fn copy_leaves(&self, lo: &[u8], hi: Option<&[u8]>, max: usize) -> Result<CopiedLeaves> {
        let mut copied = CopiedLeaves {
            bytes: Vec::new(),
            ends: Vec::new(),
            keys: 0,
        };
        // Room for a typical copy before taking the lock.
        let guess = 4 * LEAF_BYTES;
        copied.bytes.try_reserve(guess).map_err(|_| oom(guess))?;
        let leaves = self.leaves.read();
        let first = leaves
            .map
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(lo)))
            .next_back()
            .map(|(bound, _)| &bound[..])
            .unwrap_or_default();
        let mut after_first = 0usize;
        for (i, (bound, leaf)) in leaves
            .map
            .range::<[u8], _>((Bound::Included(first), Bound::Unbounded))
            .enumerate()
        {
            if i > 0 && (after_first > max || hi.is_some_and(|hi| bound[..] >= *hi)) {
                break;
            }
            copied
                .bytes
                .try_reserve(leaf.buf.len())
                .map_err(|_| oom(leaf.buf.len()))?;
            copied.ends.try_reserve(1).map_err(|_| oom(8))?;
            copied.bytes.extend_from_slice(&leaf.buf);
            copied.ends.push(copied.bytes.len());
            copied.keys += leaf.keys;
            if i > 0 {
                after_first += leaf.keys;
            }
        }
        Ok(copied)
    }
}

/// Leaves copied out of the set by [`KeyOrder::copy_leaves`]: their coded
/// bytes back to back, where each one ends, and how many keys they hold.
struct CopiedLeaves {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    keys: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn scan(
        order: &KeyOrder,
        lo: Bound<&[u8]>,
        hi: Option<&[u8]>,
        max: usize,
    ) -> (Vec<Vec<u8>>, bool) {
        let mut out = Listing::default();
        let more = order.scan(lo, hi, max, &mut out).unwrap();
        (out.to_vecs(), more)
    }

    #[test]
    fn scans_in_order_within_bounds_and_stops_at_max() {
        let order = KeyOrder::default();
        for k in ["b", "a", "ab", "b\u{0}", "c"] {
            order.insert(k.as_bytes()).unwrap();
        }
        let v = |ks: &[&str]| ks.iter().map(|k| k.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            scan(&order, Bound::Included(b"a"), Some(b"b"), 10),
            (v(&["a", "ab"]), false)
        );
        assert_eq!(
            scan(&order, Bound::Excluded(b"a"), None, 2),
            (v(&["ab", "b"]), true)
        );
        assert!(!scan(&order, Bound::Unbounded, None, 5).1);
        assert_eq!(
            scan(&order, Bound::Included(b"c"), Some(b"b"), 5),
            (vec![], false)
        );
        order.remove(b"ab");
        assert_eq!(
            scan(&order, Bound::Included(b"a"), Some(b"b"), 10),
            (v(&["a"]), false)
        );
        let mut out = Listing::default();
        order.scan(Bound::Unbounded, None, 10, &mut out).unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out.last_key(), Some(&b"c"[..]));
        drop(order.take_all());
        assert_eq!(scan(&order, Bound::Unbounded, None, 5), (vec![], false));
    }

    #[test]
    fn removals_give_room_back() {
        let order = KeyOrder::default();
        let keys: Vec<Vec<u8>> = (0..60)
            .map(|i| format!("share/content/file-{i:03}/block-0").into_bytes())
            .collect();
        for k in &keys {
            order.insert(k).unwrap();
        }
        for k in &keys[..56] {
            order.remove(k);
        }
        assert_eq!(scan(&order, Bound::Unbounded, None, 100).0, keys[56..]);
        for leaf in order.leaves.read().map.values() {
            assert!(leaf.buf.capacity() < 2 * leaf.buf.len() + SHRINK_MIN);
        }
    }

    /// Against a `BTreeSet` under random inserts, removes and scans, with
    /// keys built to stress the front coding (keys that are prefixes of one
    /// another, 0x00 and 0xFF bytes, long shared stems) and enough keys to
    /// split and empty leaves.
    #[test]
    fn matches_a_sorted_set() {
        let mut next = crate::test_keys::below(0x9e37_79b9_7f4a_7c15);
        let stems: [&[u8]; 5] = [b"", b"share/content/chunk-", &[b'p'; 150], &[0xFF; 3], b"a"];
        let tails: [&[u8]; 7] = [b"", b"\0", b"/", b"0", b"\xff", b"12345678", b"z"];
        let key = |next: &mut dyn FnMut(usize) -> usize| {
            let mut k = stems[next(stems.len())].to_vec();
            for _ in 0..next(6) {
                k.extend_from_slice(tails[next(tails.len())]);
            }
            k
        };
        for round in 0..20 {
            let order = KeyOrder::default();
            let mut model = BTreeSet::new();
            for _ in 0..3000 {
                let k = key(&mut next);
                match next(5) {
                    0 | 1 => {
                        if model.insert(k.clone()) {
                            order.insert(&k).unwrap();
                        }
                    }
                    2 => {
                        if model.remove(&k) {
                            order.remove(&k);
                        }
                    }
                    _ => {
                        let hi = key(&mut next);
                        let hi = (next(2) == 0).then_some(&hi[..]);
                        let lo = if next(2) == 0 {
                            Bound::Excluded(&k[..])
                        } else {
                            Bound::Included(&k[..])
                        };
                        let max = 1 + next(200);
                        let want: Vec<Vec<u8>> = model
                            .range::<[u8], _>((lo, Bound::Unbounded))
                            .filter(|m| hi.is_none_or(|hi| &m[..] < hi))
                            .cloned()
                            .collect();
                        let (got, more) = scan(&order, lo, hi, max);
                        assert_eq!(got, want[..want.len().min(max)], "round {round}");
                        assert_eq!(more, want.len() > max, "round {round}");
                    }
                }
            }
            let all: Vec<Vec<u8>> = model.iter().cloned().collect();
            assert_eq!(scan(&order, Bound::Unbounded, None, usize::MAX).0, all);
            for k in &all {
                order.remove(k);
            }
            assert_eq!(order.leaves.read().map.len(), 1, "empty leaves are dropped");
        }
    }
}
