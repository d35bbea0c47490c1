// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! VMware PVSCSI host bus adapter driver.
//!
//! PVSCSI is VMware's paravirtual SCSI adapter (PCI `15ad:07c0`), also emulated
//! by QEMU's `pvscsi` device. The driver and the device share three rings in
//! DMA-coherent memory: requests, completions and (for hot-plug) messages.
//!
//! C version of this driver: [`drivers/scsi/vmw_pvscsi.c`](srctree/drivers/scsi/vmw_pvscsi.c).
//!
//! Glossary: *CDB*, command descriptor block; *SG list*, scatter-gather list;
//! *kick*, a doorbell register write telling the device to look at the request
//! ring; *context*, the driver's cookie that ties a completion to its request.

mod abi;
mod bindings;
mod driver;
mod regs;
mod scsi;

#[cfg(CONFIG_KUNIT = "y")]
mod tests;

kernel::module_pci_driver! {
    type: driver::PvscsiDriver,
    name: "vmw_pvscsi_rs",
    authors: ["The vmw_pvscsi_rs authors"],
    description: "VMware PVSCSI driver (Rust)",
    license: "GPL v2",
}
