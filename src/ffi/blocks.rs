//! Block operations by key on a store handle: write, copying reads, stat,
//! exists, delete, delete by prefix.

use super::buffers::{input, out, output, put_opt};
use super::castable::try_ref;
use super::handle::blockmem_store;
use super::panic::catch_status;
use super::status::*;
use crate::Error;

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
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns. `key` points to `key_len` readable bytes (or
/// is NULL with `key_len` 0), borrowed for the call only.
/// `data` points to `data_len` readable bytes (or is NULL with `data_len`
/// 0), borrowed for the call only.
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
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns. `key` points to `key_len` readable bytes (or
/// is NULL with `key_len` 0), borrowed for the call only.
/// `buf` points to `buf_len` writable bytes (or is NULL with `buf_len` 0)
/// that overlap no other argument; `out_len` is NULL or points to a
/// writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn blockmem_read(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key, out_len, buf) = unsafe {
            (
                try_ref(store)?,
                input(key, key_len)?,
                out(out_len)?,
                output(buf, buf_len)?,
            )
        };
        report_len(store.read_into(key, buf), out_len)
    })
}

/// Copies bytes `[offset, min(offset + length, size))` of the block into
/// `buf[0..buf_len)` and writes the count to `*out_len`. `offset == size`
/// or `length == 0` copies nothing and succeeds; `offset + length` past the
/// end (even past `UINT64_MAX`) clamps. Bytes of `buf` past the count are
/// left untouched.
///
/// Errors: `INVALID_RANGE` (`offset > size`, even when `length` is 0),
/// `BUFFER_TOO_SMALL` (needed
/// size in `*out_len`, `buf` untouched), `NOT_FOUND`, `INVALID_KEY`,
/// `STORE_CLOSED`, `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns. `key` points to `key_len` readable bytes (or
/// is NULL with `key_len` 0), borrowed for the call only.
/// `buf` points to `buf_len` writable bytes (or is NULL with `buf_len` 0)
/// that overlap no other argument; `out_len` is NULL or points to a
/// writable `size_t`.
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
            (
                try_ref(store)?,
                input(key, key_len)?,
                out(out_len)?,
                output(buf, buf_len)?,
            )
        };
        report_len(store.read_range_into(key, offset, length, buf), out_len)
    })
}

/// Writes a copy's length to `*out_len`, or for `BufferTooSmall` the length
/// needed.
fn report_len(result: crate::Result<usize>, out_len: &mut usize) -> Result<(), blockmem_status> {
    match result {
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
}

/// Writes the size of the block under `key` to `*out_size` without copying
/// data. Errors: `NOT_FOUND`, `INVALID_KEY`, `STORE_CLOSED`,
/// `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns. `key` points to `key_len` readable bytes (or
/// is NULL with `key_len` 0), borrowed for the call only.
/// `out_size` is NULL or points to a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn blockmem_stat(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_size: *mut u64,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key, out_size) =
            unsafe { (try_ref(store)?, input(key, key_len)?, out(out_size)?) };
        *out_size = store.stat(key)?;
        Ok(())
    })
}

/// Writes whether a block is stored under `key` to `*out_exists`.
/// Errors: `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns. `key` points to `key_len` readable bytes (or
/// is NULL with `key_len` 0), borrowed for the call only.
/// `out_exists` is NULL or points to a writable `bool`.
#[no_mangle]
pub unsafe extern "C" fn blockmem_exists(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_exists: *mut bool,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key, out_exists) =
            unsafe { (try_ref(store)?, input(key, key_len)?, out(out_exists)?) };
        *out_exists = store.exists(key)?;
        Ok(())
    })
}

/// Removes the block under `key`. A missing key is success. If
/// `out_existed` is not NULL, writes whether the block existed.
/// Errors: `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns. `key` points to `key_len` readable bytes (or
/// is NULL with `key_len` 0), borrowed for the call only.
/// `out_existed` is NULL or points to a writable `bool`.
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
/// `*out_bytes` receive how many blocks and bytes were freed.
/// Errors: `STORE_CLOSED`, `OUT_OF_MEMORY`, `INVALID_ARGUMENT`.
///
/// # Safety
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns. `prefix` points to `prefix_len` readable bytes
/// (or is NULL with `prefix_len` 0), borrowed for the call only.
/// `out_blocks` and `out_bytes` are each NULL or point to a writable
/// `uint64_t`.
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
