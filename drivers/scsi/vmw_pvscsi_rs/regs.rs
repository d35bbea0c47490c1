// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! MMIO registers of the PVSCSI adapter.
//!
//! The register window is [`MEM_SPACE_SIZE`](super::abi::MEM_SPACE_SIZE) bytes
//! (8 pages): page 0 holds the command interface, page 1 the interrupt status,
//! page 2 the interrupt mask and pages 3 and 4 the two doorbells ("kicks").
//! QEMU only accepts 4-byte accesses.

// Every register of the device is described here, including the ones the driver
// does not use yet, like the C driver's header does.
#![allow(dead_code)]

use kernel::io::register;

register! {
    /// Starts a device command: write a [`Command`](super::abi::Command) number,
    /// then its data dwords to [`COMMAND_DATA`].
    pub(crate) COMMAND(u32) @ 0x0000 {
        /// The command number.
        31:0 value;
    }

    /// Data dwords of the command in progress, written one at a time.
    pub(crate) COMMAND_DATA(u32) @ 0x0004 {
        /// One data dword.
        31:0 value;
    }

    /// Result of the last command.
    pub(crate) COMMAND_STATUS(u32) @ 0x0008 {
        /// The status.
        31:0 value;
    }

    /// Pending interrupt causes; writing a bit acknowledges it.
    pub(crate) INTR_STATUS(u32) @ 0x100c {
        /// Completion ring 0 has entries.
        0:0 cmpl_0 => bool;
        /// Completion ring 1 has entries.
        1:1 cmpl_1 => bool;
        /// Message ring 0 has entries.
        2:2 msg_0 => bool;
        /// Message ring 1 has entries.
        3:3 msg_1 => bool;
    }

    /// Enabled interrupt causes, with the bit layout of [`INTR_STATUS`].
    pub(crate) INTR_MASK(u32) @ 0x2010 {
        /// Completion ring 0.
        0:0 cmpl_0 => bool;
        /// Completion ring 1.
        1:1 cmpl_1 => bool;
        /// Message ring 0.
        2:2 msg_0 => bool;
        /// Message ring 1.
        3:3 msg_1 => bool;
    }

    /// Doorbell for every request that is not a read or a write.
    pub(crate) KICK_NON_RW_IO(u32) @ 0x3014 {
        /// Any value.
        31:0 value;
    }

    /// Debug register (unused).
    pub(crate) DEBUG(u32) @ 0x3018 {
        /// Any value.
        31:0 value;
    }

    /// Doorbell for READ and WRITE requests.
    pub(crate) KICK_RW_IO(u32) @ 0x4018 {
        /// Any value.
        31:0 value;
    }
}
