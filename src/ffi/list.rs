//! Listing keys (`blockmem_list_page`): one call returns a whole page.

use std::mem::size_of;

use super::buffers::{input, out};
use super::castable::{free, to_ptr, try_ref, Boxed, Castable};
use super::handle::blockmem_store;
use super::panic::{catch, catch_status};
use super::status::*;
use crate::Listing;

/// A page of keys, owned by the library and released with
/// `blockmem_list_page_free`. Every pointer in it stays valid until then.
/// Key `i` (for `i < count`) is the bytes
/// `keys[key_offsets[i] .. key_offsets[i + 1])`; its block size is
/// `sizes[i]`. Keys are in ascending byte order and are not NUL-terminated.
#[repr(C)]
pub struct blockmem_list_page {
    /// Number of keys in the page.
    pub count: usize,
    /// All key bytes, concatenated.
    pub keys: *const u8,
    /// `count + 1` offsets into `keys`; `key_offsets[0]` is 0.
    pub key_offsets: *const usize,
    /// `count` block sizes.
    pub sizes: *const u64,
    /// Whether more matching keys follow this page (pass the last key as
    /// `start_after` to continue).
    pub has_more: bool,
}

/// What a page pointer owns: the C-visible struct first, then the listing
/// its pointers borrow from (heap buffers that never move or change until
/// the page is freed).
#[repr(C)]
pub(crate) struct Page {
    page: blockmem_list_page,
    listing: Listing,
}

// SAFETY: `blockmem_list_page` is the first field of the `#[repr(C)]` `Page`.
unsafe impl Castable for blockmem_list_page {
    type Ownership = Boxed;
    type RustType = Page;
}

const _: () = assert!(size_of::<usize>() == size_of::<*const u8>());

impl Page {
    fn new(listing: Listing) -> Page {
        let page = blockmem_list_page {
            count: listing.len(),
            keys: listing.raw_bytes().as_ptr(),
            key_offsets: listing.raw_offsets().as_ptr(),
            sizes: listing.raw_sizes().as_ptr(),
            has_more: listing.has_more(),
        };
        Page { page, listing }
    }
}

/// Lists keys that start with `prefix[0..prefix_len)` (empty: all keys) and
/// are strictly greater than `start_after[0..start_after_len)` (empty: from
/// the first), up to `limit` keys (0: no limit), in ascending byte order.
/// On success writes a new page to `*out_page`, owned by the caller and
/// released with `blockmem_list_page_free`. Inputs are borrowed for the
/// call only.
///
/// Not a snapshot, and writers are never stopped: a key stored, unchanged,
/// for the whole call is listed exactly once; a key stored at no time
/// during the call never is; a key created or deleted during the call may
/// or may not be. A walk by pages lists each key stored for the whole walk
/// exactly once, in order. O(log n + k) for k keys listed.
///
/// Errors: `STORE_CLOSED`, `OUT_OF_MEMORY` (the page could not be
/// allocated), `INVALID_ARGUMENT` (`out_page` NULL, or a NULL pointer with
/// nonzero length).
///
/// # Safety
/// `store` is a live handle; `prefix` and `start_after` are inputs;
/// `out_page` is an out-pointer.
#[no_mangle]
pub unsafe extern "C" fn blockmem_list(
    store: *const blockmem_store,
    prefix: *const u8,
    prefix_len: usize,
    start_after: *const u8,
    start_after_len: usize,
    limit: usize,
    out_page: *mut *mut blockmem_list_page,
) -> blockmem_status {
    catch_status(|| {
        // SAFETY: per this function's `# Safety` section.
        let (store, prefix, start_after, out_page) = unsafe {
            let store = try_ref(store)?;
            let prefix = input(prefix, prefix_len)?;
            (
                store,
                prefix,
                input(start_after, start_after_len)?,
                out(out_page)?,
            )
        };
        let start_after = (!start_after.is_empty()).then_some(start_after);
        let listing = store.list_page(prefix, start_after, limit)?;
        *out_page = to_ptr(Page::new(listing));
        Ok(())
    })
}

/// Releases a page from `blockmem_list`. NULL is a no-op; each page must be
/// freed exactly once. Works after the store is closed or freed.
///
/// # Safety
/// `page` is NULL or a page from `blockmem_list` not yet freed; the caller
/// gives it up here, and every pointer in it with it.
#[no_mangle]
pub unsafe extern "C" fn blockmem_list_page_free(page: *mut blockmem_list_page) {
    // SAFETY: per this function's `# Safety` section.
    catch((), || unsafe { free(page) })
}
