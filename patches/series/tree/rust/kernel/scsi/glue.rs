// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! What the layer needs from C beyond the midlayer's exported functions: the
//! form of the template's `queuecommand`, and the DMA mapping of a command's
//! data buffer.

use crate::{
    bindings,
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*, //
};

/// The template the layer builds.
pub(super) type RawTemplate = bindings::scsi_host_template;

/// What `queuecommand` returns. Its kCFI encoding is the C enum's
/// (`rust/bindgen_parameters`), so the template points at Rust directly.
pub(super) type QcStatus = bindings::scsi_qc_status;

/// `queuecommand`'s "started".
pub(super) const QC_OK: QcStatus = bindings::scsi_qc_status(0);

/// `queuecommand`'s "retry later".
pub(super) const QC_HOST_BUSY: QcStatus = bindings::scsi_qc_status::SCSI_MLQUEUE_HOST_BUSY;

/// The Rust `queuecommand` of a template.
pub(super) type QueueCommandFn =
    unsafe extern "C" fn(*mut bindings::Scsi_Host, *mut bindings::scsi_cmnd) -> QcStatus;

/// Builds the template from the midlayer's part `tmpl` and `queuecommand`.
pub(super) const fn raw_template(
    mut tmpl: bindings::scsi_host_template,
    queuecommand: QueueCommandFn,
) -> RawTemplate {
    tmpl.queuecommand = Some(queuecommand);
    tmpl
}

/// The midlayer's part of `raw`: all of it.
pub(super) const fn host_template(raw: &RawTemplate) -> *const bindings::scsi_host_template {
    raw
}

/// The private area of `cmd` (`scsi_cmd_priv()`).
pub(super) fn cmd_priv(cmd: *mut bindings::scsi_cmnd) -> *mut c_void {
    // SAFETY: `scsi_cmd_priv()` only computes an address from `cmd`; it
    // does not dereference it.
    unsafe { bindings::scsi_cmd_priv(cmd) }
}

/// `CmdPriv::unmap` of a command with nothing to unmap: no data, or a
/// mapping that needs no unmap (`dma_need_unmap()`).
pub(super) const UNMAP_NONE: u8 = 0;

/// The scatterlist, with `scsi_dma_unmap()`.
const UNMAP_TABLE: u8 = 1;

/// The one range of a one-segment buffer, with `dma_unmap_phys()`; its bus
/// address is kept in the entry's `dma_address`.
const UNMAP_RANGE: u8 = 2;

/// Maps the data buffer of `cmd` for DMA.
///
/// A buffer of one segment (every 4 KiB I/O, most small ones) is mapped as
/// one physical range with `dma_map_phys()`, which costs the DMA API about
/// half the instructions of a one-entry scatterlist, as nvme-pci's
/// one-segment path does. Other buffers, and pages of device memory (PCI
/// P2PDMA), go through `scsi_dma_map()`. A device that needs no unmap
/// (`dma_need_unmap()`, which nvme-pci consults the same way) gets
/// [`UNMAP_NONE`].
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
    addr: &mut bindings::dma_addr_t,
) -> c_int {
    *unmap = UNMAP_NONE;
    // SAFETY: `cmd` is a valid command (the function's safety requirements),
    // whose device and host outlive it; its table is the caller's while it
    // owns the command.
    let (sg, nents, dev) = unsafe {
        (
            bindings::scsi_sglist(cmd),
            bindings::scsi_sg_count(cmd),
            (*(*(*cmd).device).host).dma_dev,
        )
    };
    // SAFETY: With one entry, `sg` is a valid entry of the table.
    if nents != 1 || unsafe { bindings::is_zone_device_page(bindings::sg_page(sg)) } {
        // SAFETY: The command is valid, owned and not mapped.
        let nseg = unsafe { bindings::scsi_dma_map(cmd) };
        // SAFETY: `dev` is the host's DMA device, valid while the host is.
        if nseg > 0 && unsafe { bindings::dma_need_unmap(dev) } {
            *unmap = UNMAP_TABLE;
        }
        if nseg == 1 {
            // SAFETY: `scsi_dma_map()` stored the one segment in `sg`.
            *addr = unsafe { bindings::sg_dma_address(sg) };
        }
        return nseg;
    }
    // SAFETY: `sg` is the table's one valid entry, `dev` the host's DMA
    // device; the range is the entry's buffer, mapped in the command's
    // direction.
    unsafe {
        *addr = bindings::dma_map_phys(
            dev,
            bindings::sg_phys(sg),
            (*sg).length as usize,
            (*cmd).sc_data_direction,
            0,
        );
        if bindings::dma_mapping_error(dev, *addr) != 0 {
            return ENOMEM.to_errno();
        }
        if bindings::dma_need_unmap(dev) {
            // Where `dma_unmap` finds the range.
            (*sg).dma_address = *addr;
            *unmap = UNMAP_RANGE;
        }
    }
    1
}

/// Undoes [`dma_map`], which set `unmap` (not [`UNMAP_NONE`]).
///
/// # Safety
///
/// `cmd` must be a valid command owned by the caller, mapped by
/// [`dma_map`] and not unmapped since.
pub(super) unsafe fn dma_unmap(cmd: *mut bindings::scsi_cmnd, unmap: u8) {
    // SAFETY: By the function's safety requirements the command and its
    // table are valid and mapped as `unmap` says: for a range, `dma_map`
    // stored its bus address in the one entry, whose `length` is the range's.
    unsafe {
        if unmap == UNMAP_TABLE {
            bindings::scsi_dma_unmap(cmd);
        } else if unmap == UNMAP_RANGE {
            let sg = bindings::scsi_sglist(cmd);
            bindings::dma_unmap_phys(
                (*(*(*cmd).device).host).dma_dev,
                (*sg).dma_address,
                (*sg).length as usize,
                (*cmd).sc_data_direction,
                0,
            );
        }
    }
}
