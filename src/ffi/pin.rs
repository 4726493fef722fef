//! Pinned blocks (`blockmem_block`): zero-copy reads.

use super::buffers::{input, out};
use super::castable::{free, to_ptr, try_ref, Castable, Counted};
use super::handle::blockmem_store;
use super::panic::{catch, catch_status};
use super::status::*;
use crate::block::Block;

/// A pinned, immutable block returned by `blockmem_get`; release it with
/// `blockmem_block_free`, or as below.
///
/// A `blockmem_block *` points at the block's reference count: a 32-bit
/// unsigned integer (`BLOCKMEM_PIN_REFS_BITS`), naturally aligned, changed
/// only by atomic read-modify-write operations (C11 `_Atomic uint32_t`, Go
/// `atomic.Uint32`). Each pin, and the store's own copy of the block, holds
/// one reference. A holder may release its own pin without a call: load
/// the count `c`; if `2 <= c < BLOCKMEM_PIN_REFS_LIMIT`, compare-and-swap
/// it from `c` to `c - 1` with release (or stronger) ordering, retrying
/// with the value the swap saw; otherwise (`c == 1`, the last reference,
/// or `c >= BLOCKMEM_PIN_REFS_LIMIT`, a saturated count) call
/// `blockmem_block_free`. Either way the pin, and its data pointer, are
/// given up. Never write the count any other way, and check
/// `blockmem_abi_version() == BLOCKMEM_ABI_VERSION` before relying on this
/// layout.
pub struct blockmem_block {
    _private: [u8; 0],
}

/// Width in bits of the reference count a `blockmem_block *` points at.
pub const BLOCKMEM_PIN_REFS_BITS: u32 = 32;
const _: () = assert!(BLOCKMEM_PIN_REFS_BITS == u32::BITS);

/// A reference count at or above this is saturated: the block stays pinned
/// for the life of the process, and a holder must call
/// `blockmem_block_free` instead of decrementing it.
pub const BLOCKMEM_PIN_REFS_LIMIT: u32 = 0x8000_0000;
const _: () = assert!(BLOCKMEM_PIN_REFS_LIMIT == crate::block::REFS_LIMIT);

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
/// store is closed or freed. Needed for the last reference and for a
/// saturated count; see `blockmem_block` for releasing others without a
/// call.
///
/// # Safety
/// `block` is NULL or a pin from `blockmem_get` not yet released; the
/// caller gives it up here, and its data pointer with it.
#[no_mangle]
pub unsafe extern "C" fn blockmem_block_free(block: *mut blockmem_block) {
    // SAFETY: per this function's `# Safety` section.
    catch((), || unsafe { free(block) })
}
