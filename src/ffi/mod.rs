//! The C ABI. Thin by design: every exported function checks and converts
//! its arguments, calls the safe core ([`MemoryStore`](crate::MemoryStore)),
//! and converts the result to a [`blockmem_status`]. Every function body
//! runs inside the panic boundary (`panic::catch`), so a Rust panic never
//! unwinds into C.
//!
//! `include/blockmem.h` is generated from this module by cbindgen
//! (`build.rs`); the doc comments here are the header's documentation.
//!
//! Layout: one module per C type (`handle`: `blockmem_store`, `blocks`: the
//! operations on its blocks, `pin`: `blockmem_block`, `reservation`:
//! `blockmem_reservation`, `list`: `blockmem_list_page`, `status`:
//! `blockmem_status`), and the shared
//! plumbing: `castable` (how every C type owns its Rust value), `buffers`
//! (caller memory), `panic` (the boundary).
//!
//! Conventions, shared by every function:
//! - Inputs are `(pointer, length)` pairs borrowed for the duration of the
//!   call only; a NULL pointer is allowed exactly when the length is 0.
//!   Keys are never NUL-terminated and may contain any byte.
//! - Outputs go through out-pointers, written only on success (and, for
//!   `BLOCKMEM_STATUS_BUFFER_TOO_SMALL`, the needed size).
//! - Caller buffers must not overlap key or data inputs.
//! - A NULL handle, or a NULL pointer where one is needed, returns
//!   `BLOCKMEM_STATUS_INVALID_ARGUMENT`.
//! - Each `# Safety` section uses three terms, defined in the header's
//!   preamble (`cbindgen.toml`): a *live handle*, an *input* and an
//!   *out-pointer*.

#![allow(non_camel_case_types)]
// Every function that takes a pointer is `unsafe` with a `# Safety`
// section (who owns each pointer, for how long); inside, each unsafe
// operation sits in its own block.
#![deny(unsafe_op_in_unsafe_fn)]

// The C types and their functions, in the order the header lists them.
mod status;

mod handle;

mod blocks;

mod pin;

mod reservation;

mod list;

#[cfg(feature = "fault-injection")]
mod testing;

// Shared plumbing.
mod buffers;
mod castable;
mod panic;

pub use blocks::*;
pub use handle::*;
pub use list::*;
pub use pin::*;
pub use reservation::*;
pub use status::*;
#[cfg(feature = "fault-injection")]
pub use testing::*;
