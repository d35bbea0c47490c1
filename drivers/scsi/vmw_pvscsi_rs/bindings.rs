// SPDX-License-Identifier: GPL-2.0

//! Module-local bindings to the SCSI midlayer and to the C glue.
//!
//! Generated at build time by bindgen from `include/pvscsi_bindgen.h` (see the
//! module's `Kbuild`). Every type outside the allowlist resolves to the kernel
//! crate's own bindings, so `device`, `sg_table` and friends are shared types.
//!
//! This module may not be directly used by driver logic: only the SCSI layer in
//! [`super::scsi`] wraps it.

#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unused_imports,
    unreachable_pub,
    missing_docs,
    improper_ctypes,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::cast_lossless,
    clippy::as_underscore,
    unsafe_op_in_unsafe_fn
)]

use kernel::bindings::*;
use kernel::ffi;

include!(concat!(env!("PVSCSI_RS_OBJ"), "/scsi_bindings.rs"));
