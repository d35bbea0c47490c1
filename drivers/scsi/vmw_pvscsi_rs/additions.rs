// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! What the 7.3 `kernel` crate lacks or leaves `unsafe`, one file per gap,
//! each shaped as the upstream addition it stands for:
//!
//! - [`irq`]: a PCI interrupt vector together with its threaded handler
//!   registration, and handlers whose hard half knows interrupts are off;
//! - [`dma`]: the DMA mask of a device being probed;
//! - [`workqueue`]: cancelling a work item and waiting for it;
//! - [`ticker`]: a delayed work item embedded in an object that is not
//!   `'static`;
//! - [`pci_driver`]: a PCI driver registration with shutdown and
//!   system-sleep callbacks (the Rust `pci::Driver` has neither).
//!
//! With the SCSI layer (`../rust_scsi/`), this is where all of the driver's
//! `unsafe` code is, outside the device-shared memory of `rings.rs` and
//! `context.rs`.

mod dma;
mod irq;
mod pci_driver;
mod ticker;
mod workqueue;

pub(crate) use dma::set_dma_mask;
pub(crate) use irq::{
    IrqHandlers,
    PciIrq, //
};
pub(crate) use pci_driver::{
    PmAdapter,
    PmDriver,
    Sleep, //
};
pub(crate) use ticker::{
    HasTicker,
    Ticker, //
};
pub(crate) use workqueue::{
    cancel_arc_delayed_work_sync,
    cancel_arc_work_sync, //
};
