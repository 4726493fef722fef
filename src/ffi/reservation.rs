//! Streaming writes (`blockmem_reservation`): reserve a block's memory,
//! fill it in place (from a socket, a file, a decoder), then commit it.

use super::buffers::{input, out};
use super::castable::{free, take, to_ptr, try_ref, Boxed, Castable};
use super::handle::blockmem_store;
use super::panic::{catch, catch_status};
use super::status::*;
use crate::Reservation;

/// A block being written: memory reserved by `blockmem_reserve` for the
/// caller to fill, not visible to readers until `blockmem_commit`. Opaque;
/// ends in exactly one `blockmem_commit` or `blockmem_reservation_free`.
pub struct blockmem_reservation {
    _private: [u8; 0],
}

// SAFETY: opaque, so no layout requirement.
unsafe impl Castable for blockmem_reservation {
    type Ownership = Boxed;
    type RustType = Reservation;
}

/// Reserves a block of `size` bytes for `key[0..key_len)`, to be filled by
/// the caller and published by `blockmem_commit`. On success writes to
/// `*out_data` a pointer to the block's `size` bytes (zeroed, writable,
/// non-NULL even for size 0) and to `*out_reservation` the reservation,
/// owned by the caller. Nothing is visible to readers, and no cap is
/// charged, until the commit.
///
/// The key is copied; `*out_data` stays valid for writing until the
/// reservation is committed or freed, and must not be used after that.
/// The reservation does not hold the store: it may outlive a close (its
/// commit then returns `STORE_CLOSED`) and may be filled and committed from
/// another thread, one call at a time.
///
/// Errors, checked before allocating and in this order: `INVALID_ARGUMENT`
/// (NULL out-pointer, `size` above PTRDIFF_MAX); `INVALID_KEY`,
/// `BLOCK_TOO_LARGE`, `STORE_FULL` (`size` alone is over `max_bytes`);
/// then `STORE_CLOSED`,
/// `STORE_FULL` (the block would not fit in the store as it is now, a
/// replacement counting as total - old + size) and `OUT_OF_MEMORY`. On
/// error nothing is allocated or written.
///
/// # Safety
/// `store` is a live handle; `key` is an input; `out_data` and
/// `out_reservation` are out-pointers.
#[no_mangle]
pub unsafe extern "C" fn blockmem_reserve(
    store: *const blockmem_store,
    key: *const u8,
    key_len: usize,
    size: usize,
    out_data: *mut *mut u8,
    out_reservation: *mut *mut blockmem_reservation,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, key, out_data, out_reservation) = unsafe {
            let (store, key) = (try_ref(store)?, input(key, key_len)?);
            (store, key, out(out_data)?, out(out_reservation)?)
        };
        if size > isize::MAX as usize {
            return Err(BLOCKMEM_STATUS_INVALID_ARGUMENT);
        }
        let mut reservation = store.reserve(key, size)?;
        *out_data = reservation.as_mut_slice().as_mut_ptr();
        *out_reservation = to_ptr(reservation);
        Ok(())
    })
}

/// Publishes a reserved block under its key, atomically: it replaces any
/// block there, and readers see the old block or the new one, never a mix.
/// Every cap is checked again against the store as it is now (a
/// replacement counts as total - old + new).
///
/// Always consumes `reservation`, on success and on every error alike:
/// never use it, or its data pointer, again. It may be committed to any
/// store; the key and caps are checked against `store`.
///
/// Errors: `INVALID_KEY`, `BLOCK_TOO_LARGE`, `STORE_FULL`, `STORE_CLOSED`
/// (the store was closed since the reserve), `INVALID_ARGUMENT` (`store`
/// or `reservation` NULL). On error the store is unchanged and the
/// reserved memory is freed.
///
/// # Safety
/// `store` is a live handle; `reservation` is NULL or a reservation from
/// `blockmem_reserve` not yet committed or freed, which the caller gives
/// up here.
#[no_mangle]
pub unsafe extern "C" fn blockmem_commit(
    store: *const blockmem_store,
    reservation: *mut blockmem_reservation,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section; taken first, so
        // the reservation is consumed whatever happens next.
        let reservation = unsafe { take(reservation) };
        // SAFETY: per this function's `# Safety` section.
        let store = unsafe { try_ref(store) }?;
        let reservation = reservation.ok_or(BLOCKMEM_STATUS_INVALID_ARGUMENT)?;
        Ok(store.commit(reservation)?)
    })
}

/// Aborts a reservation: frees its memory without publishing anything.
/// NULL is a no-op. Works after the store is closed or freed.
///
/// # Safety
/// `reservation` is NULL or a reservation from `blockmem_reserve` not yet
/// committed or freed; the caller gives it up here, and its data pointer
/// with it.
#[no_mangle]
pub unsafe extern "C" fn blockmem_reservation_free(reservation: *mut blockmem_reservation) {
    // SAFETY: per this function's `# Safety` section.
    catch((), || unsafe { free(reservation) })
}
