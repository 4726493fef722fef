//! Listing keys: one call returns a whole page.

use std::mem::size_of;

use super::buffers::{input, out};
use super::handle::{blockmem_store, store};
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

/// The allocation behind a page pointer: the C-visible struct first, then
/// the listing its pointers borrow from.
#[repr(C)]
struct Page {
    page: blockmem_list_page,
    listing: Listing,
}

const _: () = assert!(size_of::<usize>() == size_of::<*const u8>());

/// Lists keys that start with `prefix[0..prefix_len)` (empty: all keys) and
/// are strictly greater than `start_after[0..start_after_len)` (empty: from
/// the first), up to `limit` keys (0: no limit), as of one point in time.
/// On success writes a new page to `*out_page`, owned by the caller and
/// released with `blockmem_list_page_free`. Inputs are borrowed for the
/// call only.
///
/// Errors: `STORE_CLOSED`, `INVALID_ARGUMENT` (`out_page` NULL, or a NULL
/// pointer with nonzero length).
#[no_mangle]
pub extern "C" fn blockmem_list(
    store: *const blockmem_store,
    prefix: *const u8,
    prefix_len: usize,
    start_after: *const u8,
    start_after_len: usize,
    limit: usize,
    out_page: *mut *mut blockmem_list_page,
) -> blockmem_status {
    catch_status(|| {
        let s = self::store(store)?;
        let prefix = input(prefix, prefix_len)?;
        let start_after = input(start_after, start_after_len)?;
        let out_page = out(out_page)?;
        let start_after = (!start_after.is_empty()).then_some(start_after);
        let listing = s.list_page(prefix, start_after, limit)?;
        let mut boxed = Box::new(Page {
            page: blockmem_list_page {
                count: 0,
                keys: std::ptr::null(),
                key_offsets: std::ptr::null(),
                sizes: std::ptr::null(),
                has_more: false,
            },
            listing,
        });
        // The listing's vectors live on the heap and are never touched
        // again until the page is freed, so these pointers stay valid.
        let l = &boxed.listing;
        boxed.page = blockmem_list_page {
            count: l.len(),
            keys: l.raw_bytes().as_ptr(),
            key_offsets: l.raw_offsets().as_ptr(),
            sizes: l.raw_sizes().as_ptr(),
            has_more: l.has_more(),
        };
        *out_page = Box::into_raw(boxed).cast::<blockmem_list_page>();
        Ok(())
    })
}

/// Releases a page from `blockmem_list`. NULL is a no-op; each page must be
/// freed exactly once.
#[no_mangle]
pub extern "C" fn blockmem_list_page_free(page: *mut blockmem_list_page) {
    catch((), || {
        if !page.is_null() {
            // SAFETY: `page` is the first field of a boxed `Page` (repr(C))
            // created by `blockmem_list`, released once.
            drop(unsafe { Box::from_raw(page.cast::<Page>()) });
        }
    })
}
