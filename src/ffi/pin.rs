//! Pinned blocks (`blockmem_block`): zero-copy reads.

use super::buffers::{input, out};
use super::castable::{free, to_ptr, try_ref, Castable, Counted};
use super::handle::blockmem_store;
use super::panic::{catch, catch_status};
use super::status::*;
use crate::block::Block;

/// A pinned, immutable block returned by `blockmem_get`. Opaque; release
/// with `blockmem_block_free`.
pub struct blockmem_block {
    _private: [u8; 0],
}

// SAFETY: opaque, so no layout requirement.
unsafe impl Castable for blockmem_block {
    type Ownership = Counted;
    type RustType = Block;
}

/// Zero-copy read: pins the block under `key` and writes a pointer to its
/// bytes to `*out_data`, its size to `*out_len`, and the pin to
/// `*out_block`. The bytes are immutable and stay valid, even if the key is
/// overwritten or deleted or the store closed, until the caller passes
/// `*out_block` to `blockmem_block_free` (exactly once; the handle itself
/// may be freed first). Never write through `*out_data`. An empty block
/// gives a non-NULL pin and a non-NULL `*out_data` with `*out_len` 0.
///
/// Errors: `NOT_FOUND`, `INVALID_KEY`, `STORE_CLOSED`, `INVALID_ARGUMENT`
/// (any out-pointer NULL). Outputs are written only on success.
///
/// # Safety
/// `store` is NULL or a handle from `blockmem_store_new` that is not freed
/// before this call returns. `key` points to `key_len` readable bytes (or
/// is NULL with `key_len` 0), borrowed for the call only. Each out-pointer
/// is NULL or points to writable memory of its type.
#[no_mangle]
pub unsafe extern "C" fn blockmem_get(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    out_data: *mut *const u8,
    out_len: *mut usize,
    out_block: *mut *mut blockmem_block,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key, out_data, out_len, out_block) = unsafe {
            let (store, key) = (try_ref(store)?, input(key, key_len)?);
            (store, key, out(out_data)?, out(out_len)?, out(out_block)?)
        };
        let block = store.get(key)?;
        *out_data = block.data().as_ptr();
        *out_len = block.len();
        *out_block = to_ptr(block);
        Ok(())
    })
}

/// Releases a pin from `blockmem_get`. NULL is a no-op. Works after the
/// store is closed or freed.
///
/// # Safety
/// `block` is NULL or a pin from `blockmem_get` not yet released; the
/// caller gives it up here, and its data pointer with it.
#[no_mangle]
pub unsafe extern "C" fn blockmem_block_free(block: *mut blockmem_block) {
    // SAFETY: per this function's `# Safety` section.
    catch((), || unsafe { free(block) })
}
