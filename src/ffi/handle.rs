//! The store handle (`blockmem_store`): options, creation, close, free, and
//! whole-store queries.

use std::ffi::c_char;
use std::mem::{offset_of, size_of};

use super::buffers::out;
use super::castable::{free, to_ptr, try_ref, Boxed, Castable};
use super::panic::{catch, catch_status};
use super::status::*;
use crate::{MemoryStore, Options};

/// The key length limit when `blockmem_options.max_key_len` is 0.
pub const BLOCKMEM_DEFAULT_MAX_KEY_LEN: u64 = 1024;
const _: () = assert!(BLOCKMEM_DEFAULT_MAX_KEY_LEN == crate::DEFAULT_MAX_KEY_LEN as u64);

/// An open (or closed, but not yet freed) store. Opaque: create with
/// `blockmem_store_new`, release with `blockmem_store_free`.
pub struct blockmem_store {
    _private: [u8; 0],
}

// SAFETY: opaque, so no layout requirement.
unsafe impl Castable for blockmem_store {
    type Ownership = Boxed;
    type RustType = MemoryStore;
}

/// Store limits. Always initialise with `blockmem_options_init` before
/// setting fields: it sets `struct_size`, which lets newer libraries add
/// fields without breaking callers compiled against an older header.
/// Every limit uses 0 for "no limit" (`max_key_len`: 0 selects the default,
/// 1024 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct blockmem_options {
    /// `sizeof(blockmem_options)` as the caller knows it. Fields beyond it
    /// are taken as 0.
    pub struct_size: usize,
    /// Cap on the sum of all block sizes; writes over it fail with
    /// `BLOCKMEM_STATUS_STORE_FULL`.
    pub max_bytes: u64,
    /// Cap on one block's size; larger writes fail with
    /// `BLOCKMEM_STATUS_BLOCK_TOO_LARGE`.
    pub max_block_size: u64,
    /// Cap on key length in bytes; 0 means 1024. Values above
    /// 4294967295 (2^32 - 1, the longest key a block can hold) act as
    /// 4294967295.
    pub max_key_len: u64,
    /// Cache mode: a write that would take the total over `max_bytes`
    /// evicts other blocks instead of failing; only a block larger than
    /// `max_bytes` itself gets `BLOCKMEM_STATUS_STORE_FULL`. A pinned block
    /// that is evicted stays valid for its pin; its bytes stop counting in
    /// the total. No effect without `max_bytes`.
    pub evict: bool,
}

/// Read and eviction counters of a store, filled by
/// `blockmem_store_cache_stats`. Set `struct_size` to
/// `sizeof(blockmem_cache_stats)` before the call: the library writes only
/// the fields that lie within it, so newer libraries can add fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct blockmem_cache_stats {
    /// `sizeof(blockmem_cache_stats)` as the caller knows it.
    pub struct_size: usize,
    /// Reads that found their key: every read, range read, read into a
    /// buffer and pin counts one hit or one miss. Kept after close.
    pub hits: u64,
    /// Reads of a key that was not stored.
    pub misses: u64,
    /// Blocks evicted to make room (cache mode).
    pub evictions: u64,
    /// Sum of the sizes of the evicted blocks.
    pub evicted_bytes: u64,
}

/// Counters and limits of a store, filled by `blockmem_store_stats`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct blockmem_stats {
    /// Number of blocks stored.
    pub block_count: u64,
    /// Sum of all block sizes.
    pub total_size: u64,
    /// Effective `max_bytes` (0 = no limit).
    pub max_bytes: u64,
    /// Effective `max_block_size` (0 = no limit).
    pub max_block_size: u64,
    /// Effective `max_key_len` (never 0).
    pub max_key_len: u64,
    /// Whether `blockmem_store_close` has been called.
    pub closed: bool,
}

/// The library version, e.g. "0.1.0", as a static NUL-terminated string
/// owned by the library; never free it.
#[no_mangle]
pub extern "C" fn blockmem_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The version of the binary interface beyond the function signatures: the
/// layout a `blockmem_block *` points at and the protocol for releasing it
/// without a call. It changes whenever they do.
pub const BLOCKMEM_ABI_VERSION: u32 = 1;

/// The `BLOCKMEM_ABI_VERSION` the library was built with. A binding that
/// relies on the pin layout checks at start-up that it equals the
/// `BLOCKMEM_ABI_VERSION` of the header it was compiled against.
#[no_mangle]
pub extern "C" fn blockmem_abi_version() -> u32 {
    BLOCKMEM_ABI_VERSION
}

/// Fills `*options` with defaults (all limits 0, `struct_size` set).
/// `options` is caller-owned and only written.
///
/// Returns `INVALID_ARGUMENT` if `options` is NULL.
///
/// # Safety
/// `options` is an out-pointer.
#[no_mangle]
pub unsafe extern "C" fn blockmem_options_init(options: *mut blockmem_options) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        *unsafe { out(options) }? = blockmem_options {
            struct_size: size_of::<blockmem_options>(),
            ..Default::default()
        };
        Ok(())
    })
}

/// Reads a caller's options struct, honouring its `struct_size`.
///
/// # Safety
/// `options` is NULL or points to at least `options->struct_size` readable
/// bytes (and at least a `size_t`).
unsafe fn read_options(options: *const blockmem_options) -> Result<Options, blockmem_status> {
    if options.is_null() {
        return Ok(Options::default());
    }
    // SAFETY: non-NULL; the caller provides at least the `struct_size`
    // field, then `struct_size` bytes in all.
    let given = unsafe { options.cast::<usize>().read_unaligned() };
    if given < size_of::<usize>() {
        return Err(BLOCKMEM_STATUS_INVALID_ARGUMENT);
    }
    // Read each field that lies wholly within `struct_size`; a field the
    // caller's struct does not (fully) have stays 0, its default.
    let flag = |offset: usize| -> bool {
        // SAFETY: read only when the byte lies within `struct_size`.
        offset < given && unsafe { options.cast::<u8>().add(offset).read() } != 0
    };
    let field = |offset: usize| -> u64 {
        if offset + size_of::<u64>() > given {
            return 0;
        }
        // SAFETY: the field lies within the caller's `struct_size` bytes.
        unsafe {
            options
                .cast::<u8>()
                .add(offset)
                .cast::<u64>()
                .read_unaligned()
        }
    };
    Ok(Options {
        max_bytes: field(offset_of!(blockmem_options, max_bytes)),
        max_block_size: field(offset_of!(blockmem_options, max_block_size)),
        max_key_len: usize::try_from(field(offset_of!(blockmem_options, max_key_len)))
            .unwrap_or(usize::MAX),
        evict: flag(offset_of!(blockmem_options, evict)),
    })
}

/// Creates a store and writes its handle to `*out_store`.
///
/// `options` may be NULL (defaults); it is only read during the call.
/// The new handle is owned by the caller, who must release it with exactly
/// one `blockmem_store_free`. `*out_store` is written only on success.
///
/// Returns `INVALID_ARGUMENT` if `out_store` is NULL or
/// `options->struct_size` is smaller than `sizeof(size_t)`.
///
/// # Safety
/// `options` is NULL or points to `options->struct_size` readable bytes,
/// starting with that field; `out_store` is an out-pointer.
#[no_mangle]
pub unsafe extern "C" fn blockmem_store_new(
    options: *const blockmem_options,
    out_store: *mut *mut blockmem_store,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (slot, options) = unsafe { (out(out_store)?, read_options(options)?) };
        let store = MemoryStore::with_options(options);
        *slot = to_ptr(store);
        Ok(())
    })
}

/// Releases a handle and everything stored in it. NULL is a no-op.
///
/// Closing first is not required. Pins and list pages taken from the
/// handle stay valid and are released on their own.
///
/// # Safety
/// `store` is NULL or a handle not yet freed, with no call on it running
/// or to follow: the caller gives it up here.
#[no_mangle]
pub unsafe extern "C" fn blockmem_store_free(store: *mut blockmem_store) {
    // SAFETY: per this function's `# Safety` section, the handle is given
    // up here, once.
    catch((), || unsafe { free(store) })
}

/// Frees every block and marks the store closed: later calls on the handle
/// return `STORE_CLOSED`, and the counters read 0. Idempotent, and safe
/// while other threads are using the handle (their calls finish normally
/// or return `STORE_CLOSED`). The handle itself stays valid until
/// `blockmem_store_free`.
///
/// # Safety
/// `store` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn blockmem_store_close(store: *const blockmem_store) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        unsafe { try_ref(store) }?.close();
        Ok(())
    })
}

/// `OK` while the store is open, `STORE_CLOSED` after close.
///
/// # Safety
/// `store` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn blockmem_health_check(store: *const blockmem_store) -> blockmem_status {
    // SAFETY: per this function's `# Safety` section.
    catch_status(|| Ok(unsafe { try_ref(store) }?.health_check()?))
}

/// Number of blocks stored; O(1), lock-free. 0 for a NULL or closed handle.
/// Exact once writers are quiet; while writes and deletes run it may be off
/// by the operations in flight (use `blockmem_store_stats` for a consistent
/// snapshot).
///
/// # Safety
/// `store` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn blockmem_block_count(store: *const blockmem_store) -> u64 {
    catch(0, || {
        // SAFETY: per this function's `# Safety` section.
        unsafe { try_ref(store) }.map_or(0, MemoryStore::block_count)
    })
}

/// Sum of all block sizes in bytes; O(1), lock-free. 0 for a NULL or closed
/// handle. As `blockmem_block_count`: exact once writers are quiet; with a
/// `max_bytes` cap it never exceeds the cap, even while writers race.
///
/// # Safety
/// `store` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn blockmem_total_size(store: *const blockmem_store) -> u64 {
    catch(0, || {
        // SAFETY: per this function's `# Safety` section.
        unsafe { try_ref(store) }.map_or(0, MemoryStore::total_size)
    })
}

/// Writes counters and effective limits to the caller-owned `*out_stats`
/// as one consistent snapshot: the counters come from one moment, and a
/// closed store reads `closed = true` with both counters 0, even while a
/// close races this call. `INVALID_ARGUMENT` if either pointer is NULL.
/// Works on a closed store.
///
/// # Safety
/// `store` is a live handle; `out_stats` is an out-pointer.
#[no_mangle]
pub unsafe extern "C" fn blockmem_store_stats(
    store: *const blockmem_store,
    out_stats: *mut blockmem_stats,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, out_stats) = unsafe { (try_ref(store)?, out(out_stats)?) };
        let s = store.stats();
        *out_stats = blockmem_stats {
            block_count: s.block_count,
            total_size: s.total_size,
            max_bytes: s.max_bytes,
            max_block_size: s.max_block_size,
            max_key_len: s.max_key_len as u64,
            closed: s.closed,
        };
        Ok(())
    })
}

/// Writes the store's read and eviction counters to the caller-owned
/// `*out_stats`, as far as `out_stats->struct_size` reaches (set it to
/// `sizeof(blockmem_cache_stats)` first). Works on a closed store.
///
/// Returns `INVALID_ARGUMENT` if either pointer is NULL or `struct_size`
/// is smaller than `sizeof(size_t)`.
///
/// # Safety
/// `store` is a live handle; `out_stats` points to `struct_size` writable
/// bytes, starting with that field.
#[no_mangle]
pub unsafe extern "C" fn blockmem_store_cache_stats(
    store: *const blockmem_store,
    out_stats: *mut blockmem_cache_stats,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let store = unsafe { try_ref(store) }?;
        if out_stats.is_null() {
            return Err(BLOCKMEM_STATUS_INVALID_ARGUMENT);
        }
        // SAFETY: non-NULL; the caller provides at least the size field.
        let given = unsafe { out_stats.cast::<usize>().read_unaligned() };
        if given < size_of::<usize>() {
            return Err(BLOCKMEM_STATUS_INVALID_ARGUMENT);
        }
        let s = store.stats();
        let fields = [
            (offset_of!(blockmem_cache_stats, hits), s.hits),
            (offset_of!(blockmem_cache_stats, misses), s.misses),
            (offset_of!(blockmem_cache_stats, evictions), s.evictions),
            (
                offset_of!(blockmem_cache_stats, evicted_bytes),
                s.evicted_bytes,
            ),
        ];
        for (offset, value) in fields {
            if offset + size_of::<u64>() <= given {
                // SAFETY: the field lies within the caller's `struct_size`
                // writable bytes.
                unsafe {
                    out_stats
                        .cast::<u8>()
                        .add(offset)
                        .cast::<u64>()
                        .write_unaligned(value)
                };
            }
        }
        Ok(())
    })
}
