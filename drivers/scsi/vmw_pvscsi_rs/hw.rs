// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Register-level access to the adapter: commands, interrupt registers and
//! doorbells.

use kernel::{
    io::Io,
    pci, //
};
use zerocopy::{
    Immutable,
    IntoBytes, //
};

use super::{
    abi::{
        Command,
        INTR_ALL_SUPPORTED,
        MEM_SPACE_SIZE, //
    },
    regs, //
};

/// The register window, mapped for as long as the device is bound.
pub(crate) type Bar<'bound> = pci::Bar<'bound, MEM_SPACE_SIZE>;

/// The adapter's registers.
pub(crate) struct Hw<'bound> {
    bar: Bar<'bound>,
}

impl<'bound> Hw<'bound> {
    /// Wraps the mapped register window.
    pub(crate) fn new(bar: Bar<'bound>) -> Self {
        Self { bar }
    }

    /// Writes command `cmd` followed by its data, one dword at a time.
    ///
    /// `data` is a multiple of 4 bytes long (every command descriptor is).
    pub(crate) fn command(&self, cmd: Command, data: &[u8]) {
        self.bar.write_reg(regs::COMMAND::from_raw(cmd as u32));
        for dword in data.chunks_exact(4) {
            let value = dword.try_into().map(u32::from_le_bytes).unwrap_or(0);
            self.bar.write_reg(regs::COMMAND_DATA::from_raw(value));
        }
    }

    /// Writes command `cmd` with descriptor `desc` as its data.
    pub(crate) fn command_with<T: IntoBytes + Immutable>(&self, cmd: Command, desc: &T) {
        self.command(cmd, desc.as_bytes());
    }

    /// Reads the status of the last command.
    pub(crate) fn status(&self) -> u32 {
        self.bar.read(regs::COMMAND_STATUS).into_raw()
    }

    /// Resets the adapter: it cancels all I/O, completing it synchronously
    /// into the completion ring, and forgets the rings.
    pub(crate) fn reset(&self) {
        self.command(Command::AdapterReset, &[]);
    }

    /// Reads the pending interrupt causes.
    pub(crate) fn intr_status(&self) -> u32 {
        self.bar.read(regs::INTR_STATUS).into_raw()
    }

    /// Acknowledges interrupt causes.
    pub(crate) fn ack_intr(&self, causes: u32) {
        self.bar
            .write_reg(regs::INTR_STATUS::from_raw(causes & INTR_ALL_SUPPORTED));
    }

    /// Enables exactly the interrupt causes in `mask` (0 masks everything).
    pub(crate) fn set_intr_mask(&self, mask: u32) {
        self.bar.write_reg(regs::INTR_MASK::from_raw(mask));
    }

    /// Rings the read/write doorbell.
    pub(crate) fn kick_rw(&self) {
        self.bar.write_reg(regs::KICK_RW_IO::from_raw(0));
    }

    /// Rings the doorbell for every other request.
    pub(crate) fn kick_non_rw(&self) {
        self.bar.write_reg(regs::KICK_NON_RW_IO::from_raw(0));
    }
}
