//! One stored block: key and data in a single reference-counted allocation.
//!
//! A store holds millions of small blocks, so per-block overhead matters.
//! `Arc<(Box<[u8]>, Box<[u8]>)>` would cost three allocations and ~90 bytes
//! of bookkeeping per block; this type costs one allocation with a 16-byte
//! header, and the map entry pointing at it is a single thin pointer.
//!
//! A large block (at least [`LARGE_MIN`] data bytes) keeps its data in a
//! second allocation of exactly its size from [`crate::large`], whose
//! memory is reused without page faults when blocks are rewritten; the
//! first allocation then holds the header, the key and a pointer to the
//! data. Small blocks keep their data inline, after the key.
//! The header keeps the reference count and the key length in 32 bits each
//! (keys are at most [`MAX_KEY_LEN`] bytes): measured on 10^6 blocks of
//! 1 KiB, that takes the resident overhead per block from 66 to 50 bytes.
//! Allocation is fallible, so a failed allocation becomes
//! [`Error::OutOfMemory`] instead of an abort.
//!
//! A block of a store in cache mode also carries one atomic word of
//! eviction state ([`Policy`]) after its data (or, for a large block,
//! after its data's address), which a hit updates in
//! place (blocks are otherwise immutable); the top bit of the header's
//! length field says whether the word is there, so other blocks pay
//! nothing for it.
//!
//! # The reference count is part of the C ABI
//!
//! The header's first field, at offset 0 of the allocation, is the block's
//! 32-bit atomic reference count, and [`Block::into_raw`] returns the start
//! of the allocation: a pin handed to C points at the count. A holder of a
//! pin that is not the last one may release it without calling into the
//! library, by an atomic compare-and-swap (with release ordering or
//! stronger) of the count from `c` to `c - 1`
//! where `2 <= c < REFS_LIMIT` (2^31); for any other value (the last
//! reference, or a saturated count) it must call `blockmem_block_free`.
//! The count is only ever changed by atomic read-modify-write operations,
//! and the one reference a caller holds keeps the allocation alive, so such
//! a swap is as sound as the decrement `Drop` performs.
//!
//! A `Block` is immutable once built. Clones share the allocation; the last
//! one to drop frees it, so a reader holding a clone can copy data outside
//! the store's lock while a writer replaces or deletes the key.

use std::alloc::Layout;
use std::ptr::{self, NonNull};
use std::sync::atomic::{self, AtomicU32, AtomicU64};

use crate::error::{Error, Result};
use crate::large::{self, LARGE_MIN};
use crate::recycle;

/// Lives at the start of every block allocation (`refs` at offset 0, see the
/// module docs), followed by the key bytes, zero to 15 padding bytes, at a
/// 16-byte aligned offset (see [`DATA_ALIGN`]) the data bytes, or for a
/// large block the address of its data, and for a cache-mode block its
/// [`Policy`] word at the next 8-byte aligned offset. The word comes last
/// so that where the data starts does not depend on it: a read finds the
/// data as fast in either mode.
#[repr(C)]
struct Header {
    refs: AtomicU32,
    key_len: u32,
    /// The data length, with [`HAS_POLICY`] set for a cache-mode block.
    data_len: usize,
}

/// Set in `Header::data_len` when the block carries a [`Policy`] word. No
/// allocation reaches `isize::MAX` bytes, so the bit is free.
const HAS_POLICY: usize = 1 << (usize::BITS - 1);

/// A cache-mode block's eviction state, kept by `cache.rs`: its entry in
/// the eviction queues (low 32 bits; `u32::MAX` before it has one) and how
/// often it was read since the queues last looked at it (the 2 bits above).
pub(crate) type Policy = AtomicU64;
const POLICY: usize = std::mem::size_of::<Policy>();

const HEADER: usize = std::mem::size_of::<Header>();
const _: () = assert!(std::mem::offset_of!(Header, refs) == 0);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(HEADER == 16);

/// The longest key a block can hold.
pub(crate) const MAX_KEY_LEN: usize = u32::MAX as usize;

/// A reference count at or above this is saturated: the block is pinned
/// for the life of the process and never freed (the scheme of Linux's
/// `refcount_t`). Reaching it takes 2^31 live references to one block
/// (pins a C caller never released, say); leaking the block then is safe,
/// while letting the 32-bit count wrap would free it under its readers.
/// Every increment or decrement that sees a saturated count puts it back
/// to [`SATURATED`], so concurrent updates never move it back into range.
pub(crate) const REFS_LIMIT: u32 = 1 << 31;
/// Where a saturated count is kept (see [`REFS_LIMIT`]).
pub(crate) const SATURATED: u32 = 3 << 30;

pub(crate) struct Block {
    ptr: NonNull<Header>,
}

// SAFETY: the allocation is immutable once shared, except for the atomic
// reference count (data is written only through `data_mut`, which requires
// the only reference), and it is freed by whichever holder drops last, on
// any thread; so sending a `Block` to another thread is sound.
unsafe impl Send for Block {}
// SAFETY: `&Block` only reads immutable bytes or updates the atomic count.
unsafe impl Sync for Block {}

/// Block data starts at a multiple of this from the allocation start (and
/// so at an address aligned to it): copies in and out of aligned memory
/// run at full speed, where data right after an odd-length key would not.
/// Every block allocation has this alignment (the recycling cache's).
pub(crate) const DATA_ALIGN: usize = recycle::ALIGN;
const _: () =
    assert!(HEADER.is_multiple_of(DATA_ALIGN) && DATA_ALIGN >= std::mem::align_of::<Header>());

/// Offset of the data from the allocation start: after the header and the
/// key, padded to [`DATA_ALIGN`].
fn data_offset(key_len: usize) -> Option<usize> {
    Some(HEADER.checked_add(key_len)?.checked_add(DATA_ALIGN - 1)? & !(DATA_ALIGN - 1))
}

/// Bytes the block's first allocation holds at [`data_offset`]: the data
/// of a small block, the address of a large block's data.
fn inline_len(data_len: usize) -> usize {
    if is_large(data_len) {
        std::mem::size_of::<*mut u8>()
    } else {
        data_len
    }
}

/// Offset of a cache-mode block's [`Policy`] word: after what the first
/// allocation holds at the data offset, 8-byte aligned.
fn policy_offset(key_len: usize, data_len: usize) -> Option<usize> {
    let end = data_offset(key_len)?.checked_add(inline_len(data_len))?;
    Some(end.checked_add(POLICY - 1)? & !(POLICY - 1))
}

/// Whether a block of `data_len` bytes keeps its data in a separate
/// allocation (see the module docs).
fn is_large(data_len: usize) -> bool {
    data_len >= LARGE_MIN
}

/// The first allocation of a block (all of it for a small block); its
/// size is rounded for the per-thread recycling cache (see
/// [`crate::recycle::round`]).
fn layout_for(key_len: usize, data_len: usize, policy: bool) -> Option<Layout> {
    let end = if policy {
        policy_offset(key_len, data_len)?.checked_add(POLICY)?
    } else {
        data_offset(key_len)?.checked_add(inline_len(data_len))?
    };
    Layout::from_size_align(recycle::round(end)?, DATA_ALIGN).ok()
}

impl Block {
    /// Copies `key` and `data` into a new block. Keys longer than
    /// [`MAX_KEY_LEN`] are [`Error::InvalidKey`].
    #[cfg(test)]
    pub(crate) fn try_new(key: &[u8], data: &[u8]) -> Result<Block> {
        Block::try_new_in(key, data, false, false)
    }

    /// [`try_new`](Self::try_new) for a store that holds more than the
    /// cache when `cold` (see [`large::copy_in`]), with a [`Policy`] word
    /// when `policy`. Inlined, so that a caller's constant `policy`
    /// picks its `alloc` at compile time.
    #[inline]
    pub(crate) fn try_new_in(key: &[u8], data: &[u8], cold: bool, policy: bool) -> Result<Block> {
        let mut block = if policy {
            Block::alloc::<true>(key, data.len(), false)?
        } else {
            Block::alloc::<false>(key, data.len(), false)?
        };
        // SAFETY: `alloc` left exactly `data.len()` writable bytes after the
        // key; the block is not shared yet.
        unsafe { large::copy_in(block.data_ptr_mut(), data.as_ptr(), data.len(), cold) };
        Ok(block)
    }

    /// A new block of `len` zero bytes under `key`, for the caller to fill
    /// through [`Block::data_mut`] before sharing it.
    pub(crate) fn try_zeroed(key: &[u8], len: usize, policy: bool) -> Result<Block> {
        if policy {
            Block::alloc::<true>(key, len, true)
        } else {
            Block::alloc::<false>(key, len, true)
        }
    }

    /// Allocates a block with its header and key written and room for
    /// `data_len` data bytes, zeroed if `zeroed` (left uninitialised
    /// otherwise: the caller must write them before reading), with a
    /// [`Policy`] word if `POLICY` (a constant, so that store-mode writes
    /// carry no branch for it).
    fn alloc<const POLICY: bool>(key: &[u8], data_len: usize, zeroed: bool) -> Result<Block> {
        let policy = POLICY;
        let key_len = u32::try_from(key.len()).map_err(|_| Error::InvalidKey {
            len: key.len(),
            max_len: MAX_KEY_LEN,
        })?;
        let oom = || Error::OutOfMemory {
            size: (HEADER as u64)
                .saturating_add(key.len() as u64)
                .saturating_add(data_len as u64),
        };
        let layout = layout_for(key.len(), data_len, policy).ok_or_else(oom)?;
        let large = is_large(data_len);
        let data = if large {
            NonNull::new(large::alloc(data_len, zeroed)).ok_or_else(oom)?
        } else {
            NonNull::dangling()
        };
        let raw = recycle::alloc(layout, zeroed && !large);
        let Some(ptr) = NonNull::new(raw.cast::<Header>()) else {
            if large {
                // SAFETY: allocated just above with this size, never shared.
                unsafe { large::dealloc(data.as_ptr(), data_len) };
            }
            return Err(oom());
        };
        // SAFETY: `raw` is a fresh allocation of header, key, padding and
        // data bytes (or, for a large block, room for the data's address at
        // the 16-byte aligned data offset) aligned for Header; the key
        // cannot overlap it.
        unsafe {
            ptr.as_ptr().write(Header {
                refs: AtomicU32::new(1),
                key_len,
                data_len: if policy {
                    data_len | HAS_POLICY
                } else {
                    data_len
                },
            });
            ptr::copy_nonoverlapping(key.as_ptr(), raw.add(HEADER), key.len());
            if policy {
                let at = policy_offset(key.len(), data_len).expect("checked by layout_for");
                raw.add(at)
                    .cast::<Policy>()
                    .write(Policy::new(u64::from(u32::MAX)));
            }
            if large {
                let at = raw.add(data_offset(key.len()).expect("checked by layout_for"));
                at.cast::<*mut u8>().write(data.as_ptr());
            }
        }
        Ok(Block { ptr })
    }

    /// The data bytes for writing, while this is the only reference (as
    /// `Arc::get_mut`); `None` once the block is shared.
    pub(crate) fn data_mut(&mut self) -> Option<&mut [u8]> {
        if self.header().refs.load(atomic::Ordering::Acquire) != 1 {
            return None;
        }
        let len = self.len();
        // SAFETY: the data bytes are initialised (written or zeroed at
        // allocation) and, with one reference, nobody else can see them.
        Some(unsafe { std::slice::from_raw_parts_mut(self.data_ptr_mut(), len) })
    }

    fn data_ptr_mut(&mut self) -> *mut u8 {
        self.data_start().cast_mut()
    }

    fn header(&self) -> &Header {
        // SAFETY: the header is initialised and lives as long as any clone.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn key(&self) -> &[u8] {
        // SAFETY: key_len initialised bytes follow the header.
        unsafe {
            let key = self.ptr.as_ptr().cast::<u8>().add(HEADER);
            std::slice::from_raw_parts(key, self.header().key_len as usize)
        }
    }

    fn has_policy(&self) -> bool {
        self.header().data_len & HAS_POLICY != 0
    }

    /// The block's eviction state, for a block made with one.
    #[inline]
    pub(crate) fn policy(&self) -> Option<&Policy> {
        if !self.has_policy() {
            return None;
        }
        // The offset was computed without overflow when the block was made.
        let end = self.data_offset() + inline_len(self.len());
        let offset = (end + POLICY - 1) & !(POLICY - 1);
        // SAFETY: a block with HAS_POLICY was allocated with an initialised
        // policy word, 8-byte aligned, at this offset; it is only ever
        // accessed atomically.
        Some(unsafe { &*self.ptr.as_ptr().cast::<u8>().add(offset).cast::<Policy>() })
    }

    /// [`data_offset`] of this block.
    #[inline]
    fn data_offset(&self) -> usize {
        // Computed without overflow when the block was made.
        (HEADER + self.header().key_len as usize + DATA_ALIGN - 1) & !(DATA_ALIGN - 1)
    }

    fn data_start(&self) -> *const u8 {
        // SAFETY: the data, or for a large block its address (written at
        // allocation and never changed), starts at this offset, inside the
        // allocation.
        unsafe {
            let at = self.ptr.as_ptr().cast::<u8>().add(self.data_offset());
            if is_large(self.len()) {
                at.cast::<*const u8>().read()
            } else {
                at
            }
        }
    }

    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: len() initialised bytes start at `data_start`.
        unsafe { std::slice::from_raw_parts(self.data_start(), self.len()) }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.header().data_len & !HAS_POLICY
    }

    /// Gives up this reference as a raw pointer (for the C ABI): the start
    /// of the allocation, where the 32-bit reference count lives. The
    /// reference is still counted; pass it to [`Block::from_raw`] once, or
    /// release it by the compare-and-swap rule in the module docs.
    pub(crate) fn into_raw(self) -> *const () {
        let ptr = self.ptr.as_ptr() as *const ();
        std::mem::forget(self);
        ptr
    }

    /// Takes back a reference given up by [`Block::into_raw`].
    ///
    /// # Safety
    /// `ptr` must come from `into_raw` and not have been passed here before.
    pub(crate) unsafe fn from_raw(ptr: *const ()) -> Block {
        Block {
            // SAFETY: `into_raw` pointers are never NULL.
            ptr: unsafe { NonNull::new_unchecked(ptr as *mut Header) },
        }
    }
}

impl Clone for Block {
    fn clone(&self) -> Block {
        // Relaxed is enough to take a new reference from an existing one
        // (the same reasoning as `Arc::clone`).
        let refs = &self.header().refs;
        if refs.fetch_add(1, atomic::Ordering::Relaxed) >= REFS_LIMIT {
            refs.store(SATURATED, atomic::Ordering::Relaxed);
        }
        Block { ptr: self.ptr }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let refs = &self.header().refs;
        // The last reference needs no decrement: nobody else can take a new
        // one from it (the same reasoning as `Arc::get_mut`). The Acquire
        // load orders the free after every other holder's last use.
        if refs.load(atomic::Ordering::Acquire) != 1 {
            match refs.fetch_sub(1, atomic::Ordering::Release) {
                1 => atomic::fence(atomic::Ordering::Acquire),
                old if old >= REFS_LIMIT => {
                    refs.store(SATURATED, atomic::Ordering::Relaxed);
                    return;
                }
                _ => return,
            }
        }
        let (key_len, len, policy) = (
            self.header().key_len as usize,
            self.len(),
            self.has_policy(),
        );
        if is_large(len) {
            // SAFETY: this was the last reference; a large block's data came
            // from `large::alloc` with its length.
            unsafe { large::dealloc(self.data_start().cast_mut(), len) };
        }
        let layout = layout_for(key_len, len, policy).expect("layout was valid at allocation");
        // SAFETY: this was the last reference; the allocation came from
        // `recycle::alloc` with this layout.
        unsafe { recycle::dealloc(self.ptr.cast::<u8>(), layout) };
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("len", &self.len())
            .finish()
    }
}

/// Gives `bytes::Bytes::from_owner` a view of just the data part.
pub(crate) struct DataView(pub(crate) Block);

impl AsRef<[u8]> for DataView {
    fn as_ref(&self) -> &[u8] {
        self.0.data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_sharing() {
        let b = Block::try_new(b"key", b"data").unwrap();
        let c = b.clone();
        drop(b);
        assert_eq!(c.key(), b"key");
        assert_eq!(c.data(), b"data");
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn data_is_aligned_for_every_key_length() {
        for key_len in 1..=64 {
            let key = vec![b'k'; key_len];
            let b = Block::try_new(&key, b"data").unwrap();
            assert_eq!(
                b.data().as_ptr() as usize % DATA_ALIGN,
                0,
                "key_len {key_len}"
            );
            assert_eq!((b.key(), b.data()), (&key[..], &b"data"[..]));
            let mut z = Block::try_zeroed(&key, 3, false).unwrap();
            assert_eq!(z.data_mut().unwrap().as_ptr() as usize % DATA_ALIGN, 0);
            for large in [false, true] {
                let len = if large { LARGE_MIN } else { 3 };
                let data = vec![7; len];
                let c = Block::try_new_in(&key, &data, false, true).unwrap();
                assert_eq!(c.data().as_ptr() as usize % DATA_ALIGN, 0);
                assert_eq!((c.key(), c.data(), c.len()), (&key[..], &data[..], len));
                let p = c.policy().expect("a policy word");
                assert_eq!(p as *const Policy as usize % POLICY, 0);
                assert_eq!(p.load(atomic::Ordering::Relaxed), u64::from(u32::MAX));
                p.store(5, atomic::Ordering::Relaxed);
                assert_eq!(c.data(), &data[..], "the word is apart from the data");
                assert!(b.policy().is_none());
            }
        }
    }

    #[test]
    fn large_blocks_keep_their_data_apart() {
        for len in [LARGE_MIN - 1, LARGE_MIN, 64 << 10, 100_003] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let b = Block::try_new(b"some/key", &data).unwrap();
            assert_eq!((b.key(), b.data()), (&b"some/key"[..], &data[..]));
            let c = b.clone();
            drop(b);
            assert_eq!(c.data(), &data[..]);
            let mut z = Block::try_zeroed(b"k", len, false).unwrap();
            let bytes = z.data_mut().unwrap();
            assert!(bytes.iter().all(|&x| x == 0));
            bytes.copy_from_slice(&data);
            assert_eq!(z.data(), &data[..]);
        }
    }

    #[test]
    fn zeroed_cache_blocks_start_without_a_queue() {
        for len in [0, 3, 4096, LARGE_MIN - 1, LARGE_MIN, 64 << 10] {
            let mut z = Block::try_zeroed(b"some/key", len, true).unwrap();
            let bytes = z.data_mut().unwrap();
            assert!(bytes.iter().all(|&x| x == 0), "len {len}");
            bytes.fill(0xff);
            let p = z.policy().expect("a policy word");
            assert_eq!(p as *const Policy as usize % POLICY, 0);
            assert_eq!(
                p.load(atomic::Ordering::Relaxed),
                u64::from(u32::MAX),
                "len {len}: the zeroing or the data reached the policy word"
            );
            assert_eq!((z.key(), z.len()), (&b"some/key"[..], len));
        }
    }

    #[test]
    fn empty_data() {
        let b = Block::try_new(b"k", b"").unwrap();
        assert_eq!(b.data(), b"");
        assert_eq!(b.key(), b"k");
    }

    #[test]
    fn saturated_count_never_frees() {
        let b = Block::try_new(b"k", b"v").unwrap();
        b.header().refs.store(REFS_LIMIT, atomic::Ordering::Relaxed);
        let c = b.clone();
        assert_eq!(b.header().refs.load(atomic::Ordering::Relaxed), SATURATED);
        drop(c);
        assert_eq!(b.header().refs.load(atomic::Ordering::Relaxed), SATURATED);
        assert_eq!(b.data(), b"v");
        // `b` is pinned for good now (dropping it would not free it), so
        // the allocation is deliberately leaked.
        std::mem::forget(b);
    }

    #[test]
    fn impossible_size_is_out_of_memory() {
        assert!(layout_for(usize::MAX, 1, false).is_none());
        assert!(layout_for(isize::MAX as usize, 0, true).is_none());
    }
}
