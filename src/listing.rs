//! Results of listing and prefix deletion.

use crate::error::{oom, Result};

/// What [`MemoryStore::delete_by_prefix`](crate::MemoryStore::delete_by_prefix)
/// removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Number of blocks removed.
    pub blocks: u64,
    /// Sum of their sizes.
    pub bytes: u64,
}

/// Keys with their block sizes, in ascending byte order.
///
/// Stored compactly (all key bytes in one buffer, plus offsets), which is
/// also the layout the C ABI hands out, so a page crosses the ABI without
/// any per-key allocation.
///
/// ```
/// let store = blockmem::MemoryStore::new();
/// store.write("a/1", b"x").unwrap();
/// store.write("a/2", b"yy").unwrap();
/// store.write("b/1", b"z").unwrap();
/// let listing = store.list("a/").unwrap();
/// let keys: Vec<&[u8]> = listing.keys().collect();
/// assert_eq!(keys, [&b"a/1"[..], &b"a/2"[..]]);
/// assert_eq!(listing.size(1), Some(2));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Listing {
    bytes: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is key `i`; always starts with 0.
    offsets: Vec<usize>,
    sizes: Vec<u64>,
    more: bool,
}

impl Default for Listing {
    fn default() -> Self {
        Listing::empty(vec![0])
    }
}

impl Listing {
    /// An empty listing, as [`Default`] makes, but [`Error::OutOfMemory`](crate::Error::OutOfMemory)
    /// rather than an abort when its first word cannot be allocated.
    pub(crate) fn try_new() -> Result<Listing> {
        let mut offsets = Vec::new();
        offsets.try_reserve_exact(1).map_err(|_| oom(8))?;
        offsets.push(0);
        Ok(Listing::empty(offsets))
    }

    /// An empty listing around `offsets`, which holds just the first 0.
    fn empty(offsets: Vec<usize>) -> Listing {
        Listing {
            bytes: Vec::new(),
            offsets,
            sizes: Vec::new(),
            more: false,
        }
    }

    /// Appends a key; growth is fallible, so a listing too large to
    /// allocate is [`Error::OutOfMemory`](crate::Error::OutOfMemory) rather than an abort.
    pub(crate) fn try_push(&mut self, key: &[u8], size: u64) -> Result<()> {
        self.try_reserve(1, key.len())?;
        self.bytes.extend_from_slice(key);
        self.offsets.push(self.bytes.len());
        self.sizes.push(size);
        Ok(())
    }

    /// Makes room for `keys` more keys of `bytes` bytes in all.
    pub(crate) fn try_reserve(&mut self, keys: usize, bytes: usize) -> Result<()> {
        self.bytes.try_reserve(bytes).map_err(|_| oom(bytes))?;
        let words = keys.saturating_mul(8);
        self.offsets.try_reserve(keys).map_err(|_| oom(words))?;
        self.sizes.try_reserve(keys).map_err(|_| oom(words))
    }

    /// Of the keys from `start` on, keeps those for which `size_of` gives
    /// a size, with that size, and drops the others, in place.
    pub(crate) fn retain_from(
        &mut self,
        start: usize,
        mut size_of: impl FnMut(&[u8]) -> Option<u64>,
    ) {
        let mut kept = start;
        let mut end = self.offsets[start];
        for i in start..self.len() {
            let (from, to) = (self.offsets[i], self.offsets[i + 1]);
            let Some(size) = size_of(&self.bytes[from..to]) else {
                continue;
            };
            // `kept <= i`: this writes only what was read already.
            self.bytes.copy_within(from..to, end);
            end += to - from;
            self.sizes[kept] = size;
            kept += 1;
            self.offsets[kept] = end;
        }
        self.truncate(kept);
    }

    /// Keeps the first `len` keys.
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.bytes.truncate(self.offsets[len]);
            self.offsets.truncate(len + 1);
            self.sizes.truncate(len);
        }
    }

    pub(crate) fn set_more(&mut self, more: bool) {
        self.more = more;
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// Whether no key matched.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// Key `i`, if `i < len()`.
    pub fn key(&self, i: usize) -> Option<&[u8]> {
        let start = *self.offsets.get(i)?;
        let end = *self.offsets.get(i + 1)?;
        Some(&self.bytes[start..end])
    }

    /// Size of block `i`, if `i < len()`.
    pub fn size(&self, i: usize) -> Option<u64> {
        self.sizes.get(i).copied()
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.offsets.windows(2).map(|w| &self.bytes[w[0]..w[1]])
    }

    /// `(key, size)` pairs in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            listing: self,
            next: 0,
        }
    }

    /// For a page from `list_page`: whether more matching keys follow.
    /// Always `false` for a full `list`.
    pub fn has_more(&self) -> bool {
        self.more
    }

    /// The last key, to pass as `start_after` for the next page.
    pub fn last_key(&self) -> Option<&[u8]> {
        self.len().checked_sub(1).and_then(|i| self.key(i))
    }

    /// The keys as owned vectors.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.keys().map(<[u8]>::to_vec).collect()
    }

    /// All key bytes, concatenated (used by the C ABI).
    pub(crate) fn raw_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `len() + 1` offsets into [`raw_bytes`](Self::raw_bytes).
    pub(crate) fn raw_offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// `len()` block sizes.
    pub(crate) fn raw_sizes(&self) -> &[u64] {
        &self.sizes
    }
}

impl std::fmt::Debug for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(k, s)| (String::from_utf8_lossy(k), s)))
            .finish()?;
        if self.more {
            f.write_str(" (more)")?;
        }
        Ok(())
    }
}

/// Iterator over a [`Listing`]'s `(key, size)` pairs.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    listing: &'a Listing,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], u64);

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next;
        let item = (self.listing.key(i)?, self.listing.sizes[i]);
        self.next += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.listing.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Listing {
    type Item = (&'a [u8], u64);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(keys: &[&str]) -> Listing {
        let mut l = Listing::default();
        for k in keys {
            l.try_push(k.as_bytes(), 0).unwrap();
        }
        l
    }

    #[test]
    fn retain_from_keeps_found_keys_with_their_sizes() {
        let mut l = listing(&["a", "bb", "ccc", "dddd", "e"]);
        // From key 1 on, keep those with an odd length, sized by length.
        l.retain_from(1, |k| (k.len() % 2 == 1).then_some(k.len() as u64 * 10));
        assert_eq!(l.to_vecs(), [&b"a"[..], b"ccc", b"e"]);
        assert_eq!(l.iter().map(|(_, s)| s).collect::<Vec<_>>(), [0, 30, 10]);
        l.retain_from(0, |_| None);
        assert!(l.is_empty());
        assert_eq!(l, Listing::default());
    }

    #[test]
    fn truncate_keeps_a_prefix() {
        let mut l = listing(&["a", "bb", "ccc"]);
        l.truncate(5);
        assert_eq!(l.len(), 3);
        l.truncate(1);
        assert_eq!(l.to_vecs(), [b"a"]);
        assert_eq!(l.last_key(), Some(&b"a"[..]));
        l.try_push(b"z", 7).unwrap();
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [(&b"a"[..], 0), (&b"z"[..], 7)]
        );
    }
}
