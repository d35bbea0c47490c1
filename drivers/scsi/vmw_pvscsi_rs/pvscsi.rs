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
//! ring; *context*, the cookie that ties a completion to its request.
//!
//! Files: [`protocol`] (the device protocol and every decision on what the
//! device wrote, in `core`-only Rust tested and fuzzed on the host; its
//! documentation pairs each of its files with the one here that uses it),
//! [`regs`] (MMIO registers), [`hw`] (register access), [`rings`] and
//! [`context`] (DMA memory), [`adapter`] (bring-up and shared state),
//! [`probe`] (what the device is asked first), [`faults`] (what was refused),
//! [`submit`] and [`complete`] (the data path), [`ops`] (the SCSI host
//! operations), [`eh`] (error handling), [`msg`] (hot-plug), [`scsi`] (the
//! Rust SCSI host layer, `../rust_scsi/`, which knows nothing of PVSCSI),
//! [`additions`] (what the kernel crate lacks), [`driver`] (PCI probe,
//! unbind, the host template), [`params`] (module parameters).

mod adapter;
mod additions;
mod complete;
mod context;
mod driver;
mod eh;
mod faults;
mod hw;
mod msg;
mod ops;
mod params;
mod probe;
mod protocol;
mod regs;
mod rings;
#[path = "../rust_scsi/mod.rs"]
pub mod scsi;
mod submit;

#[cfg(CONFIG_KUNIT = "y")]
mod tests;

// The protocol's files name each other, and are named, from the crate root,
// as in `tests/host` and `tests/fuzz`, which compile them at their root.
use protocol::{
    abi,
    config,
    message,
    request,
    ring_index,
    status, //
};
#[cfg(CONFIG_KUNIT = "y")]
use protocol::{
    c_header,
    check, //
};

use kernel::{
    driver::Registration,
    prelude::*, //
};

/// The module: validates the parameters, then registers the PCI driver.
#[pin_data]
struct PvscsiModule {
    #[pin]
    driver: Registration<additions::PmAdapter<driver::PvscsiDriver>>,
}

impl kernel::InPlaceModule for PvscsiModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            // Refuse bad parameters at load, before any device is touched.
            if let Err(e) = config::Config::from_params(&params::raw()) {
                pr_err!("invalid {}={}: {}\n", e.name, e.value, e.allowed);
                return Err(EINVAL);
            }
            Ok(try_pin_init!(Self {
                driver <- Registration::new(<Self as kernel::ModuleMetadata>::NAME, module),
            }))
        })
    }
}

module! {
    type: PvscsiModule,
    name: "vmw_pvscsi_rs",
    authors: ["The vmw_pvscsi_rs authors"],
    description: "VMware PVSCSI driver (Rust)",
    license: "GPL v2",
    params: {
        ring_pages: i32 {
            default: crate::config::DEFAULT_PARAMS.ring_pages,
            description: "Request and completion ring pages: 0 (automatic) or 1, 2, 4, 8, 16, 32",
        },
        msg_ring_pages: i32 {
            default: crate::config::DEFAULT_PARAMS.msg_ring_pages,
            description: "Pages of the message ring: 1, 2, 4, 8 or 16 (default 1)",
        },
        cmd_per_lun: i32 {
            default: crate::config::DEFAULT_PARAMS.cmd_per_lun,
            description: "Queue depth of each LUN: 1 to 254 (default 254)",
        },
        disable_msi: bool {
            default: crate::config::DEFAULT_PARAMS.disable_msi,
            description: "Do not use MSI interrupts (default false)",
        },
        disable_msix: bool {
            default: crate::config::DEFAULT_PARAMS.disable_msix,
            description: "Do not use MSI-X interrupts (default false)",
        },
        use_msg: bool {
            default: crate::config::DEFAULT_PARAMS.use_msg,
            description: "Use the message ring for hot-plug notifications (default true)",
        },
        use_req_threshold: bool {
            default: crate::config::DEFAULT_PARAMS.use_req_threshold,
            description: "Use driver-based request coalescing if supported (default true)",
        },
        poll_queues: i32 {
            default: crate::config::DEFAULT_PARAMS.poll_queues,
            description: "Hardware queues for polled I/O (io_uring IOPOLL): 0 (default) or 1",
        },
    },
}
