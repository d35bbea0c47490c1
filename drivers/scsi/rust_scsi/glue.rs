// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! What the layer needs from C beyond the midlayer's exported functions,
//! when it is compiled into a module: the C helpers of
//! `rust_scsi_helpers.c`, through the layer's own bindings.
//!
//! This file is the one part of the layer that differs in the kernel crate
//! (`scripts/series`; its version there is
//! `patches/series/tree/rust/kernel/scsi/glue.rs`). There the template's
//! `queuecommand` points at Rust directly, since bindgen gives
//! `enum scsi_qc_status` its kCFI encoding (`rust/bindgen_parameters`, as
//! for `irqreturn`); the DMA mapping is written in Rust over the kernel
//! crate's helpers; and no layout check is needed, since the kernel crate's
//! bindings are generated with the C compiler's own flags.

use kernel::{
    bindings as kbindings,
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*, //
};

use super::bindings;

/// The template the layer builds: the midlayer's, followed by the Rust
/// `queuecommand` the C trampoline calls.
pub(super) type RawTemplate = bindings::rust_scsi_template;

/// What the Rust `queuecommand` returns: an `int` (which a Rust function's
/// kCFI type id can encode, unlike the C enum).
pub(super) type QcStatus = c_int;

/// `queuecommand`'s "started".
pub(super) const QC_OK: QcStatus = 0;

/// `queuecommand`'s "retry later" (`SCSI_MLQUEUE_HOST_BUSY`).
pub(super) const QC_HOST_BUSY: QcStatus =
    bindings::scsi_qc_status::SCSI_MLQUEUE_HOST_BUSY.0 as c_int;

/// The Rust `queuecommand` of a template.
pub(super) type QueueCommandFn =
    unsafe extern "C" fn(*mut bindings::Scsi_Host, *mut bindings::scsi_cmnd) -> QcStatus;

/// Builds the template from the midlayer's part `tmpl` and the Rust
/// `queuecommand`, which the C trampoline `rust_scsi_queuecommand()` calls.
pub(super) const fn raw_template(
    mut tmpl: bindings::scsi_host_template,
    queuecommand: QueueCommandFn,
) -> RawTemplate {
    tmpl.queuecommand = Some(bindings::rust_scsi_queuecommand);
    RawTemplate {
        tmpl,
        queuecommand: Some(queuecommand),
    }
}

/// The midlayer's part of `raw`.
pub(super) const fn host_template(raw: &RawTemplate) -> *const bindings::scsi_host_template {
    &raw.tmpl
}

/// The private area of `cmd` (`scsi_cmd_priv()`): right behind the
/// command, whose size [`check_layout`] checks. Only computes the address.
pub(super) fn cmd_priv(cmd: *mut bindings::scsi_cmnd) -> *mut c_void {
    cmd.wrapping_add(1).cast()
}

/// `CmdPriv::unmap` of a command with nothing to unmap.
pub(super) const UNMAP_NONE: u8 = bindings::RUST_SCSI_UNMAP_NONE as u8;

/// Maps the data buffer of `cmd` for DMA: `rust_scsi_dma_map()`.
///
/// Returns the number of DMA segments (0 without data) or a negative error;
/// `unmap` is set to what [`dma_unmap`] has to undo, `addr` to the bus
/// address of the one segment when there is one.
///
/// # Safety
///
/// `cmd` must be a valid command owned by the caller and not mapped.
pub(super) unsafe fn dma_map(
    cmd: *mut bindings::scsi_cmnd,
    unmap: &mut u8,
    addr: &mut kbindings::dma_addr_t,
) -> c_int {
    // SAFETY: By the function's safety requirements; `unmap` and `addr` are
    // writable.
    unsafe { bindings::rust_scsi_dma_map(cmd, unmap, addr) }
}

/// Undoes [`dma_map`], which set `unmap` (not [`UNMAP_NONE`]).
///
/// # Safety
///
/// `cmd` must be a valid command owned by the caller, mapped by
/// [`dma_map`] and not unmapped since.
pub(super) unsafe fn dma_unmap(cmd: *mut bindings::scsi_cmnd, unmap: u8) {
    // SAFETY: By the function's safety requirements.
    unsafe { bindings::rust_scsi_dma_unmap(cmd, unmap) }
}

/// Checks that the layer's bindings agree with the C compiler on the layout
/// of the midlayer structures it touches; returns the first mismatch.
///
/// [`super::Template::new`] cannot call it (it is `const`), so
/// [`super::Host::new`] does, and refuses to create a host on a mismatch.
pub fn check_layout() -> Result<(), &'static str> {
    use core::mem::offset_of;

    let mut c = bindings::rust_scsi_layout::default();
    // SAFETY: `c` is a valid, writable `rust_scsi_layout`, and the helper only
    // stores into its fields.
    unsafe { bindings::rust_scsi_get_layout(&mut c) };
    let checks: [(&'static str, usize, usize); 12] = [
        (
            "sizeof(scsi_cmnd)",
            size_of::<bindings::scsi_cmnd>(),
            c.scsi_cmnd_size,
        ),
        (
            "scsi_cmnd.sdb",
            offset_of!(bindings::scsi_cmnd, sdb),
            c.scsi_cmnd_sdb,
        ),
        (
            "scsi_cmnd.result",
            offset_of!(bindings::scsi_cmnd, result),
            c.scsi_cmnd_result,
        ),
        (
            "scsi_cmnd.sense_buffer",
            offset_of!(bindings::scsi_cmnd, sense_buffer),
            c.scsi_cmnd_sense_buffer,
        ),
        (
            "sizeof(Scsi_Host)",
            size_of::<bindings::Scsi_Host>(),
            c.scsi_host_size,
        ),
        (
            "Scsi_Host.can_queue",
            offset_of!(bindings::Scsi_Host, can_queue),
            c.scsi_host_can_queue,
        ),
        (
            "Scsi_Host.hostdata",
            offset_of!(bindings::Scsi_Host, hostdata),
            c.scsi_host_hostdata,
        ),
        (
            "Scsi_Host.shost_dev",
            offset_of!(bindings::Scsi_Host, shost_dev),
            c.scsi_host_shost_dev,
        ),
        (
            "sizeof(scsi_host_template)",
            size_of::<bindings::scsi_host_template>(),
            c.scsi_host_template_size,
        ),
        (
            "sizeof(scsi_device)",
            size_of::<bindings::scsi_device>(),
            c.scsi_device_size,
        ),
        (
            "scsi_device.id",
            offset_of!(bindings::scsi_device, id),
            c.scsi_device_id,
        ),
        (
            "sizeof(request)",
            size_of::<kbindings::request>(),
            c.request_size,
        ),
    ];
    match checks.iter().find(|(_, rust, c)| rust != c) {
        Some((what, _, _)) => Err(what),
        None => Ok(()),
    }
}
