//! Block operations by key on a store handle: write, copying reads, stat,
//! exists, delete, delete by prefix.

use super::buffers::{input, out, output, put_opt};
use super::castable::try_ref;
use super::handle::blockmem_store;
use super::panic::catch_status;
use super::status::*;
use crate::{Error, MemoryStore};

/// Stores a private copy of `data[0..data_len)` under `key[0..key_len)`,
/// replacing any block with that key atomically (readers see the old or
/// the new block, never a mix). Both buffers are borrowed for the call
/// only; `data` may be NULL when `data_len` is 0 (an empty block).
///
/// Errors: `INVALID_KEY` (empty or over max_key_len), `BLOCK_TOO_LARGE`
/// (which wins over `STORE_FULL` for a block over both limits),
/// `STORE_FULL` (a replacement counts as total - old + new),
/// `OUT_OF_MEMORY`, `STORE_CLOSED`, `INVALID_ARGUMENT`. On any error the
/// store is unchanged.
///
/// # Safety
/// `store` is a live handle; `key` and `data` are inputs.
#[no_mangle]
pub unsafe extern "C" fn blockmem_write(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    data: *const u8,
    data_len: usize,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key, data) = unsafe {
            (
                try_ref(store)?,
                input(key, key_len)?,
                input(data, data_len)?,
            )
        };
        Ok(store.write(key, data)?)
    })
}

/// Copies the whole block under `key` into the caller-owned
/// `buf[0..buf_len)` and writes its size to `*out_len`. `buf` may be NULL
/// when `buf_len` is 0 (useful to learn the size).
///
/// Bytes of `buf` past the block's size are left untouched. If the block
/// does not fit, returns `BUFFER_TOO_SMALL`, writes the needed size to
/// `*out_len` and leaves `buf` untouched. Other errors:
/// `NOT_FOUND`, `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`
/// (`out_len` NULL). `buf` must not overlap `key`.
///
/// # Safety
/// `store` is a live handle; `key` is an input; `buf` points to `buf_len`
/// writable bytes (or is NULL with `buf_len` 0) overlapping no other
/// argument; `out_len` is an out-pointer.
#[no_mangle]
pub unsafe extern "C" fn blockmem_read(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> blockmem_status {
    // SAFETY: the same contract as `blockmem_read_range`'s; the range from
    // 0 to the end is the whole block.
    unsafe { blockmem_read_range(store, key, key_len, 0, u64::MAX, buf, buf_len, out_len) }
}

/// Copies bytes `[offset, min(offset + length, size))` of the block into
/// `buf[0..buf_len)` and writes the count to `*out_len`. `offset == size`
/// or `length == 0` copies nothing and succeeds; `offset + length` past the
/// end (even past `UINT64_MAX`) clamps. Bytes of `buf` past the count are
/// left untouched.
///
/// Errors: `INVALID_RANGE` (`offset > size`, even when `length` is 0),
/// `BUFFER_TOO_SMALL` (needed size in `*out_len`, `buf` untouched),
/// `NOT_FOUND`, `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`.
///
/// # Safety
/// As for `blockmem_read`.
#[no_mangle]
pub unsafe extern "C" fn blockmem_read_range(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    offset: u64,
    length: u64,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key, out_len, buf) = unsafe {
            let (store, key) = (try_ref(store)?, input(key, key_len)?);
            (store, key, out(out_len)?, output(buf, buf_len)?)
        };
        match store.read_range_into(key, offset, length, buf) {
            Ok(n) => {
                *out_len = n;
                Ok(())
            }
            Err(Error::BufferTooSmall { needed, .. }) => {
                *out_len = needed;
                Err(BLOCKMEM_STATUS_BUFFER_TOO_SMALL)
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// Writes the size of the block under `key` to `*out_size` without copying
/// data. Errors: `NOT_FOUND`, `INVALID_KEY`, `STORE_CLOSED`,
/// `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is a live handle; `key` is an input; `out_size` is an
/// out-pointer.
#[no_mangle]
pub unsafe extern "C" fn blockmem_stat(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_size: *mut u64,
) -> blockmem_status {
    // SAFETY: the same contract as `lookup`'s.
    unsafe { lookup(store, key, key_len, out_size, |s, k| s.stat(k)) }
}

/// Writes whether a block is stored under `key` to `*out_exists`.
/// Errors: `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is a live handle; `key` is an input; `out_exists` is an
/// out-pointer.
#[no_mangle]
pub unsafe extern "C" fn blockmem_exists(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_exists: *mut bool,
) -> blockmem_status {
    // SAFETY: the same contract as `lookup`'s.
    unsafe { lookup(store, key, key_len, out_exists, |s, k| s.exists(k)) }
}

/// A key lookup that writes one value to a required out-pointer.
///
/// # Safety
/// `store` is a live handle; `key` is an input; `out_value` is an
/// out-pointer.
unsafe fn lookup<T>(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_value: *mut T,
    query: impl FnOnce(&MemoryStore, &[u8]) -> crate::Result<T>,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key, out_value) =
            unsafe { (try_ref(store)?, input(key, key_len)?, out(out_value)?) };
        *out_value = query(store, key)?;
        Ok(())
    })
}

/// Removes the block under `key`. A missing key is success. If
/// `out_existed` is not NULL, writes whether the block existed.
/// Errors: `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is a live handle; `key` is an input; `out_existed` is an
/// out-pointer.
#[no_mangle]
pub unsafe extern "C" fn blockmem_delete(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_existed: *mut bool,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key) = unsafe { (try_ref(store)?, input(key, key_len)?) };
        let existed = store.delete(key)?;
        // SAFETY: per this function's `# Safety` section.
        unsafe { put_opt(out_existed, existed) };
        Ok(())
    })
}

/// Removes every block whose key starts with `prefix[0..prefix_len)` (an
/// empty prefix removes everything). If not NULL, `*out_blocks` and
/// `*out_bytes` receive how many blocks and bytes this call freed.
///
/// Every matching key stored when the call begins and not written during
/// it is removed; a key written during the call may or may not be. Blocks
/// are removed one at a time, so writers of other keys are never stopped.
/// O(k log n) for k blocks removed, as an ordered map's removals.
///
/// Errors: `STORE_CLOSED`, `OUT_OF_MEMORY` (the list of keys to remove
/// could not be allocated; nothing was removed), `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is a live handle; `prefix` is an input; `out_blocks` and
/// `out_bytes` are out-pointers.
#[no_mangle]
pub unsafe extern "C" fn blockmem_delete_prefix(
    store: *const blockmem_store,
    prefix: *const u8,
    prefix_len: usize,
    out_blocks: *mut u64,
    out_bytes: *mut u64,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, prefix) = unsafe { (try_ref(store)?, input(prefix, prefix_len)?) };
        let deleted = store.delete_by_prefix(prefix)?;
        // SAFETY: per this function's `# Safety` section.
        unsafe {
            put_opt(out_blocks, deleted.blocks);
            put_opt(out_bytes, deleted.bytes);
        }
        Ok(())
    })
}
