// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! What the driver asks the device before it sets the adapter up: its
//! targets (the controller CONFIG page) and whether it has a message ring.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    io::{
        io_project,
        io_read,
        Io, //
    },
    prelude::*, //
};

use super::{
    abi::{
        btstat,
        Command,
        ConfigCmd,
        ConfigPageController,
        ConfigPageHeader,
        COMMAND_STATUS_UNSUPPORTED,
        CONFIG_CONTROLLER_ADDRESS,
        CONFIG_PAGE_CONTROLLER, //
    },
    config,
    hw::Hw,
    status::sam, //
};

/// Targets scanned when the device does not say: QEMU's PVSCSI accepts
/// scsi-id 0 to 64 (`PVSCSI_MAX_DEVS` is 64, and only ids above it are
/// refused), as vSphere does.
pub(crate) const SCAN_TARGETS: u32 = 65;

/// What the device says about its targets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Targets {
    /// The count the device reported, if it did.
    pub(crate) reported: Option<u32>,
    /// Targets to scan: the reported count, or every id QEMU accepts.
    pub(crate) max_id: u32,
}

/// Asks the device how many targets it has (the controller CONFIG page).
///
/// QEMU does not implement the command; then every target QEMU accepts (0 to
/// 64, [`SCAN_TARGETS`]) is scanned rather than the C driver's 16, so no disk
/// is missed.
pub(crate) fn query_targets(dev: &Device<Bound>, hw: &Hw<'_>) -> Result<Targets> {
    let page = Coherent::<ConfigPageController>::zeroed(dev, GFP_KERNEL)?;
    // Pre-mark the header as failed: a device that ignores the command leaves it.
    io_project!(&page, .header).copy_write(ConfigPageHeader {
        page_num: 0,
        num_dwords: 0,
        host_status: btstat::INVPARAM,
        scsi_status: sam::CHECK_CONDITION.into(),
        _reserved: [0; 3],
    });
    hw.command_with(
        Command::Config,
        &ConfigCmd {
            cfg_page_address: CONFIG_CONTROLLER_ADDRESS,
            cmp_addr: page.dma_address(),
            cfg_page_num: CONFIG_PAGE_CONTROLLER,
            _pad: 0,
        },
    );
    let header = io_project!(&page, .header).copy_read();
    let num_phys = io_read!(&page, .num_phys);
    let answered =
        header.host_status == btstat::SUCCESS && header.scsi_status == u16::from(sam::GOOD);
    let reported = if answered {
        config::reported_targets(num_phys)
    } else {
        None
    };
    match reported {
        Some(n) => dev_info!(dev, "device reports {} targets\n", n),
        None if answered => dev_warn!(
            dev,
            "device reports {} targets, which a request cannot address; scanning targets 0-{}\n",
            num_phys,
            SCAN_TARGETS - 1
        ),
        None => dev_info!(
            dev,
            "CONFIG page unavailable (host {:#x}, SCSI {:#x}); scanning targets 0-{}\n",
            header.host_status,
            header.scsi_status,
            SCAN_TARGETS - 1
        ),
    }
    Ok(Targets {
        reported,
        max_id: reported.unwrap_or(SCAN_TARGETS),
    })
}

/// Whether the device has a message ring: the support probe answers exactly
/// `0xFFFF_FFFF` when it does not (QEMU answers `0xFFFF_FFFE`, "waiting for
/// data", for commands that take data).
pub(crate) fn msg_ring_supported(hw: &Hw<'_>) -> bool {
    hw.command(Command::SetupMsgRing, &[]);
    hw.status() != COMMAND_STATUS_UNSUPPORTED
}
