// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Command results: the host byte, the SAM status byte, and the two
//! together as the midlayer's `scsi_cmnd.result`.
//!
//! C header: [`include/scsi/scsi_status.h`](srctree/include/scsi/scsi_status.h).

use super::bindings;

/// Host byte of a command result (`enum scsi_host_status`): what the adapter
/// saw of the command.
///
/// The midlayer acts on every value, known or not (`scsi_decide_disposition()`),
/// so any byte is a host byte; the constants name the ones drivers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct HostByte(u8);

impl HostByte {
    /// No error (`DID_OK`).
    pub const OK: Self = Self(bindings::scsi_host_status_DID_OK as u8);
    /// The target did not answer: the address has no device
    /// (`DID_NO_CONNECT`).
    pub const NO_CONNECT: Self = Self(bindings::scsi_host_status_DID_NO_CONNECT as u8);
    /// The bus stayed busy; retry (`DID_BUS_BUSY`).
    pub const BUS_BUSY: Self = Self(bindings::scsi_host_status_DID_BUS_BUSY as u8);
    /// Selection timeout: no device at the address (`DID_BAD_TARGET`).
    pub const BAD_TARGET: Self = Self(bindings::scsi_host_status_DID_BAD_TARGET as u8);
    /// Parity error (`DID_PARITY`).
    pub const PARITY: Self = Self(bindings::scsi_host_status_DID_PARITY as u8);
    /// Internal error (`DID_ERROR`).
    pub const ERROR: Self = Self(bindings::scsi_host_status_DID_ERROR as u8);
    /// The command was reset (`DID_RESET`).
    pub const RESET: Self = Self(bindings::scsi_host_status_DID_RESET as u8);
    /// Requeue the command, no retry count spent (`DID_REQUEUE`).
    pub const REQUEUE: Self = Self(bindings::scsi_host_status_DID_REQUEUE as u8);

    /// The host byte `value`.
    pub const fn from_raw(value: u8) -> Self {
        Self(value)
    }

    /// The byte.
    pub const fn raw(self) -> u8 {
        self.0
    }
}

/// SCSI status byte of a command result (`enum sam_status`): what the device
/// answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct SamStatus(u8);

impl SamStatus {
    /// GOOD.
    pub const GOOD: Self = Self(bindings::sam_status_SAM_STAT_GOOD as u8);
    /// CHECK CONDITION: sense data tells why.
    pub const CHECK_CONDITION: Self = Self(bindings::sam_status_SAM_STAT_CHECK_CONDITION as u8);
    /// CONDITION MET.
    pub const CONDITION_MET: Self = Self(bindings::sam_status_SAM_STAT_CONDITION_MET as u8);
    /// BUSY.
    pub const BUSY: Self = Self(bindings::sam_status_SAM_STAT_BUSY as u8);
    /// RESERVATION CONFLICT.
    pub const RESERVATION_CONFLICT: Self =
        Self(bindings::sam_status_SAM_STAT_RESERVATION_CONFLICT as u8);
    /// COMMAND TERMINATED.
    pub const COMMAND_TERMINATED: Self =
        Self(bindings::sam_status_SAM_STAT_COMMAND_TERMINATED as u8);
    /// TASK SET FULL.
    pub const TASK_SET_FULL: Self = Self(bindings::sam_status_SAM_STAT_TASK_SET_FULL as u8);
    /// ACA ACTIVE.
    pub const ACA_ACTIVE: Self = Self(bindings::sam_status_SAM_STAT_ACA_ACTIVE as u8);
    /// TASK ABORTED.
    pub const TASK_ABORTED: Self = Self(bindings::sam_status_SAM_STAT_TASK_ABORTED as u8);

    /// The status byte `value`.
    pub const fn from_raw(value: u8) -> Self {
        Self(value)
    }

    /// The byte.
    pub const fn raw(self) -> u8 {
        self.0
    }
}

/// A command's result: the host byte and the SAM status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandResult {
    /// What the adapter saw.
    pub host_byte: HostByte,
    /// What the device answered.
    pub status: SamStatus,
}

impl CommandResult {
    /// Success: `DID_OK` and GOOD.
    pub const GOOD: Self = Self::new(HostByte::OK, SamStatus::GOOD);

    /// The result of `host_byte` and `status`.
    pub const fn new(host_byte: HostByte, status: SamStatus) -> Self {
        Self { host_byte, status }
    }

    /// A result of `host_byte` alone: the device answered nothing.
    pub const fn host(host_byte: HostByte) -> Self {
        Self::new(host_byte, SamStatus::GOOD)
    }

    /// The result in the midlayer's `scsi_cmnd.result` form (host byte
    /// << 16 | status byte), as a driver whose status mapping is written
    /// against that form (to be tested without the kernel) produces it; the
    /// other bytes are ignored.
    pub const fn from_raw(result: u32) -> Self {
        Self::new(
            HostByte::from_raw((result >> 16) as u8),
            SamStatus::from_raw(result as u8),
        )
    }

    /// The result in `scsi_cmnd.result` form.
    pub const fn raw(self) -> u32 {
        ((self.host_byte.0 as u32) << 16) | self.status.0 as u32
    }

    /// Whether the command succeeded.
    pub fn is_good(&self) -> bool {
        *self == Self::GOOD
    }
}
