// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! SCSI devices (LUNs), as the midlayer passes them to a driver.

use kernel::types::Opaque;

use super::bindings;

/// A SCSI device (`struct scsi_device`), borrowed for a callback.
///
/// # Invariants
///
/// The wrapped device is valid for the lifetime of the reference.
#[repr(transparent)]
pub struct ScsiDevice(Opaque<bindings::scsi_device>);

impl ScsiDevice {
    /// Borrows the device at `sdev`.
    ///
    /// # Safety
    ///
    /// `sdev` must be valid for `'a`.
    pub(super) unsafe fn from_raw<'a>(sdev: *mut bindings::scsi_device) -> &'a Self {
        // SAFETY: `ScsiDevice` is a transparent wrapper of `scsi_device`, and
        // the caller guarantees validity for `'a`.
        unsafe { &*sdev.cast::<Self>() }
    }

    fn raw(&self) -> &bindings::scsi_device {
        // SAFETY: The device is valid (type invariant); the fields read
        // through this reference are set at scan time and then stay.
        unsafe { &*self.0.get() }
    }

    /// Channel of the device.
    pub fn channel(&self) -> u32 {
        self.raw().channel
    }

    /// Target id of the device.
    pub fn id(&self) -> u32 {
        self.raw().id
    }

    /// LUN of the device.
    pub fn lun(&self) -> u64 {
        self.raw().lun
    }

    /// Whether the device supports tagged (queued) commands.
    pub fn tagged_supported(&self) -> bool {
        self.raw().tagged_supported() != 0
    }
}
