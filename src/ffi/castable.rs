//! One ownership idiom for every C type handed out by pointer.
//!
//! Each such C type implements [`Castable`]: it names the Rust value a
//! pointer to it stands for and how that value is owned while C holds the
//! pointer. Pointers are made only by [`to_ptr`], borrowed only by
//! [`try_ref`], and end only in [`take`] or [`free`], so a reader learns the
//! lifetime rules of the ABI in one place.

use crate::block::Block;

use super::status::blockmem_status;

/// The pointer is a `Box` of the Rust value. The C type is either opaque or,
/// for a struct C reads (a list page), the first field of the boxed value.
pub(crate) struct Boxed;

/// The pointer is the start of a reference-counted block allocation: the
/// pin owns one reference, released by dropping the [`Block`].
pub(crate) struct Counted;

/// How an ownership kind turns a value into an untyped pointer and back.
pub(crate) trait Ownership<T> {
    /// Gives up `value` as a non-NULL pointer.
    fn into_raw(value: T) -> *mut ();
    /// Takes back a value given up by `into_raw`.
    ///
    /// # Safety
    /// `ptr` came from `into_raw` of this kind and `T`, and is taken back
    /// at most once.
    unsafe fn from_raw(ptr: *mut ()) -> T;
}

impl<T> Ownership<T> for Boxed {
    fn into_raw(value: T) -> *mut () {
        Box::into_raw(Box::new(value)).cast()
    }

    unsafe fn from_raw(ptr: *mut ()) -> T {
        // SAFETY: per this function's contract, `ptr` is a `Box<T>` given
        // up by `into_raw`, taken back once.
        *unsafe { Box::from_raw(ptr.cast::<T>()) }
    }
}

impl Ownership<Block> for Counted {
    fn into_raw(value: Block) -> *mut () {
        value.into_raw().cast_mut()
    }

    unsafe fn from_raw(ptr: *mut ()) -> Block {
        // SAFETY: per this function's contract, `ptr` came from
        // `Block::into_raw` and its reference is taken back once.
        unsafe { Block::from_raw(ptr) }
    }
}

/// A C type that stands for a Rust value behind a pointer.
///
/// # Safety
/// For `Boxed` with a C type that is not opaque, the C type must be the
/// first field of `RustType` under `#[repr(C)]`, so both share an address.
pub(crate) unsafe trait Castable: Sized {
    /// How the value is owned while C holds the pointer.
    type Ownership: Ownership<Self::RustType>;
    /// The Rust value behind the pointer.
    type RustType;
}

/// Hands `value` to C; the caller owns the pointer until it passes it to
/// the type's free function (or a call documented to consume it).
pub(crate) fn to_ptr<C: Castable>(value: C::RustType) -> *mut C {
    C::Ownership::into_raw(value).cast()
}

/// Takes back ownership of the value behind `ptr`; `None` for NULL.
///
/// # Safety
/// A non-NULL `ptr` came from [`to_ptr`] for `C` and is not used again.
pub(crate) unsafe fn take<C: Castable>(ptr: *mut C) -> Option<C::RustType> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL, from `to_ptr` for `C`, taken back once (the
    // caller's promise).
    Some(unsafe { C::Ownership::from_raw(ptr.cast()) })
}

/// Releases the value behind `ptr`; NULL is a no-op.
///
/// # Safety
/// As for [`take`].
pub(crate) unsafe fn free<C: Castable>(ptr: *mut C) {
    // SAFETY: forwarded from the caller.
    drop(unsafe { take(ptr) });
}

/// Borrows the value behind a boxed pointer for one call; NULL is
/// `INVALID_ARGUMENT`.
///
/// # Safety
/// A non-NULL `ptr` came from [`to_ptr`] for `C`, and is not taken back
/// while the borrow lives.
pub(crate) unsafe fn try_ref<'a, C: Castable<Ownership = Boxed>>(
    ptr: *const C,
) -> Result<&'a C::RustType, blockmem_status> {
    // SAFETY: a non-NULL `ptr` is a live `Box<C::RustType>` (the caller's
    // promise), so it is aligned and initialised.
    unsafe { ptr.cast::<C::RustType>().as_ref() }
        .ok_or(blockmem_status::BLOCKMEM_STATUS_INVALID_ARGUMENT)
}
