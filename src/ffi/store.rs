//! Block operations on a store handle.

use super::buffers::{input, out, output, put_opt};
use super::handle::{blockmem_store, store};
use super::panic::{catch, catch_status};
use super::status::*;
use crate::block::Block;
use crate::Error;

/// A pinned, immutable block returned by `blockmem_get`. Opaque; release
/// with `blockmem_block_free`.
pub struct blockmem_block {
    _private: [u8; 0],
}

/// Stores a private copy of `data[0..data_len)` under `key[0..key_len)`,
/// replacing any block with that key atomically (readers see the old or
/// the new block, never a mix). Both buffers are borrowed for the call
/// only; `data` may be NULL when `data_len` is 0 (an empty block).
///
/// Errors: `INVALID_KEY` (empty or over max_key_len), `BLOCK_TOO_LARGE`,
/// `STORE_FULL`, `OUT_OF_MEMORY`, `STORE_CLOSED`, `INVALID_ARGUMENT`.
/// On any error the store is unchanged.
#[no_mangle]
pub extern "C" fn blockmem_write(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    data: *const u8,
    data_len: usize,
) -> blockmem_status {
    catch_status(|| {
        let s = self::store(store)?;
        let (key, data) = (input(key, key_len)?, input(data, data_len)?);
        Ok(s.write(key, data)?)
    })
}

/// Copies the whole block under `key` into the caller-owned
/// `buf[0..buf_len)` and writes its size to `*out_len`. `buf` may be NULL
/// when `buf_len` is 0 (useful to learn the size).
///
/// If the block does not fit, returns `BUFFER_TOO_SMALL`, writes the needed
/// size to `*out_len` and leaves `buf` untouched. Other errors:
/// `NOT_FOUND`, `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`
/// (`out_len` NULL). `buf` must not overlap `key`.
#[no_mangle]
pub extern "C" fn blockmem_read(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> blockmem_status {
    catch_status(|| {
        let s = self::store(store)?;
        let (key, out_len) = (input(key, key_len)?, out(out_len)?);
        let buf = output(buf, buf_len)?;
        sized_result(s.read_into(key, buf), out_len)
    })
}

/// Copies bytes `[offset, min(offset + length, size))` of the block into
/// `buf[0..buf_len)` and writes the count to `*out_len`. `offset == size`
/// or `length == 0` copies nothing and succeeds; `offset + length` past the
/// end (even past `UINT64_MAX`) clamps.
///
/// Errors: `INVALID_RANGE` (`offset > size`), `BUFFER_TOO_SMALL` (needed
/// size in `*out_len`, `buf` untouched), `NOT_FOUND`, `INVALID_KEY`,
/// `STORE_CLOSED`, `INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn blockmem_read_range(
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
        let s = self::store(store)?;
        let (key, out_len) = (input(key, key_len)?, out(out_len)?);
        let buf = output(buf, buf_len)?;
        sized_result(s.read_range_into(key, offset, length, buf), out_len)
    })
}

fn sized_result(result: crate::Result<usize>, out_len: &mut usize) -> Result<(), blockmem_status> {
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

/// Zero-copy read: pins the block under `key` and writes a pointer to its
/// bytes to `*out_data`, its size to `*out_len`, and the pin to
/// `*out_block`. The bytes are immutable and stay valid, even if the key is
/// overwritten or deleted or the store closed, until the caller passes
/// `*out_block` to `blockmem_block_free` (exactly once; the handle itself
/// may be freed first). Never write through `*out_data`.
///
/// Errors: `NOT_FOUND`, `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`
/// (any out-pointer NULL). Outputs are written only on success.
#[no_mangle]
pub extern "C" fn blockmem_get(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_data: *mut *const u8,
    out_len: *mut usize,
    out_block: *mut *mut blockmem_block,
) -> blockmem_status {
    catch_status(|| {
        let s = self::store(store)?;
        let key = input(key, key_len)?;
        let (out_data, out_len, out_block) = (out(out_data)?, out(out_len)?, out(out_block)?);
        let block = s.get(key)?;
        *out_data = block.data().as_ptr();
        *out_len = block.len();
        *out_block = block.into_raw() as *mut blockmem_block;
        Ok(())
    })
}

/// Releases a pin from `blockmem_get`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn blockmem_block_free(block: *mut blockmem_block) {
    catch((), || {
        if !block.is_null() {
            // SAFETY: the pointer came from `blockmem_get` and is released
            // once, as documented.
            drop(unsafe { Block::from_raw(block as *const ()) });
        }
    })
}

/// Writes the size of the block under `key` to `*out_size` without copying
/// data. Errors: `NOT_FOUND`, `INVALID_KEY`, `STORE_CLOSED`,
/// `INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn blockmem_stat(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_size: *mut u64,
) -> blockmem_status {
    catch_status(|| {
        let s = self::store(store)?;
        let (key, out_size) = (input(key, key_len)?, out(out_size)?);
        *out_size = s.stat(key)?;
        Ok(())
    })
}

/// Writes whether a block is stored under `key` to `*out_exists`.
/// Errors: `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn blockmem_exists(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_exists: *mut bool,
) -> blockmem_status {
    catch_status(|| {
        let s = self::store(store)?;
        let (key, out_exists) = (input(key, key_len)?, out(out_exists)?);
        *out_exists = s.exists(key)?;
        Ok(())
    })
}

/// Removes the block under `key`. A missing key is success. If
/// `out_existed` is not NULL, writes whether the block existed.
/// Errors: `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn blockmem_delete(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_existed: *mut bool,
) -> blockmem_status {
    catch_status(|| {
        let s = self::store(store)?;
        let key = input(key, key_len)?;
        put_opt(out_existed, s.delete(key)?);
        Ok(())
    })
}

/// Removes every block whose key starts with `prefix[0..prefix_len)` (an
/// empty prefix removes everything). If not NULL, `*out_blocks` and
/// `*out_bytes` receive how many blocks and bytes were freed.
/// Errors: `STORE_CLOSED`, `OUT_OF_MEMORY`, `INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn blockmem_delete_prefix(
    store: *const blockmem_store,
    prefix: *const u8,
    prefix_len: usize,
    out_blocks: *mut u64,
    out_bytes: *mut u64,
) -> blockmem_status {
    catch_status(|| {
        let s = self::store(store)?;
        let deleted = s.delete_by_prefix(input(prefix, prefix_len)?)?;
        put_opt(out_blocks, deleted.blocks);
        put_opt(out_bytes, deleted.bytes);
        Ok(())
    })
}
