// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! PCI driver glue: device table, probe and unbind.

use kernel::{
    device::Core,
    io::{
        register,
        register::Array,
        Io, //
    },
    pci,
    prelude::*, //
};

use super::{
    abi::{
        Command,
        MEM_SPACE_SIZE, //
    },
    regs, //
};

/// The register window, mapped for as long as the device is bound.
pub(crate) type Bar<'bound> = pci::Bar<'bound, MEM_SPACE_SIZE>;

/// PCI device id of the VMware PVSCSI adapter.
const PCI_DEVICE_ID_VMWARE_PVSCSI: u32 = 0x07c0;

/// Registers of PCI configuration space the driver reads.
mod pci_cfg {
    use super::register;

    register! {
        /// Base address registers.
        pub(super) BAR(u32)[6] @ 0x10 {
            /// 1 for an I/O-space BAR, 0 for a memory BAR.
            0:0 io_space => bool;
            /// Memory BAR type: 2 means 64-bit (the next BAR holds the upper half).
            2:1 mem_type;
        }
    }
}

/// The PVSCSI PCI driver.
pub(crate) struct PvscsiDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <PvscsiDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::VMWARE, PCI_DEVICE_ID_VMWARE_PVSCSI),
        ()
    )]
);

/// Per-adapter state, alive while the driver is bound to the device.
pub(crate) struct Adapter<'bound> {
    /// The PCI function.
    pdev: &'bound pci::Device,
    /// The mapped register window.
    bar: Bar<'bound>,
}

/// Returns the index of the register BAR: the first memory BAR of at least
/// [`MEM_SPACE_SIZE`] bytes.
///
/// QEMU's device has it at BAR 0; VMware's has an I/O BAR first.
fn find_mmio_bar(pdev: &pci::Device<Core<'_>>) -> Result<u32> {
    let config = pdev.config_space();
    let mut index = 0;
    while index < 6 {
        let bar = config.read(pci_cfg::BAR::try_at(index).ok_or(EINVAL)?);
        // `index < 6`, so the conversion cannot fail.
        let bar_u32 = u32::try_from(index).map_err(|_| EINVAL)?;
        if bar.io_space() {
            index += 1;
            continue;
        }
        let len = pdev.resource_len(bar_u32)?;
        if len >= MEM_SPACE_SIZE as u64 {
            return Ok(bar_u32);
        }
        // A 64-bit memory BAR also occupies the next BAR register.
        index += if u32::from(bar.mem_type()) == 2 { 2 } else { 1 };
    }
    dev_err!(
        pdev,
        "no memory BAR of at least {} bytes; not a PVSCSI adapter?\n",
        MEM_SPACE_SIZE
    );
    Err(ENODEV)
}

impl<'bound> Adapter<'bound> {
    /// Writes a command that takes no data to the device.
    fn issue(&self, cmd: Command) {
        self.bar.write_reg(regs::COMMAND::from_raw(cmd as u32));
    }

    /// Masks every interrupt cause.
    fn mask_interrupts(&self) {
        self.bar.write_reg(regs::INTR_MASK::zeroed());
    }

    /// Resets the adapter: the device forgets any rings and cancels all I/O.
    fn reset(&self) {
        self.issue(Command::AdapterReset);
    }
}

impl pci::Driver for PvscsiDriver {
    type IdInfo = ();
    type Data<'bound> = Adapter<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pdev.enable_device_mem()
            .inspect_err(|e| dev_err!(pdev, "cannot enable the device: {:?}\n", e))?;
        pdev.set_master();

        let bar_index = find_mmio_bar(pdev)?;
        let bar = pdev
            .iomap_region_sized::<MEM_SPACE_SIZE>(bar_index, c"vmw_pvscsi_rs")
            .inspect_err(|e| dev_err!(pdev, "cannot map BAR {}: {:?}\n", bar_index, e))?;

        let adapter = Adapter { pdev, bar };
        // Firmware (SeaBIOS drives PVSCSI to boot) may have left rings set up.
        adapter.mask_interrupts();
        adapter.reset();
        dev_info!(
            pdev,
            "PVSCSI adapter rev {} at BAR {}: reset\n",
            pdev.revision_id(),
            bar_index
        );
        Ok(adapter)
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        this.mask_interrupts();
        this.reset();
    }
}

impl Drop for Adapter<'_> {
    fn drop(&mut self) {
        dev_info!(self.pdev, "PVSCSI adapter released\n");
    }
}
