// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! SCSI devices (LUNs), as the midlayer passes them to a driver.

use core::ptr::NonNull;

use kernel::{
    bindings as kbindings,
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    time::msecs_to_jiffies,
    types::Opaque, //
};

use super::{
    bindings,
    CommandResult, //
};

/// A SCSI device (`struct scsi_device`), borrowed for a callback or
/// referenced ([`ARef<ScsiDevice>`], from [`super::ScsiHost::devices`]).
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

    /// Sends TEST UNIT READY, retried up to `retries` times (on a UNIT
    /// ATTENTION, among others), each try given `timeout_ms`. May sleep.
    ///
    /// # Errors
    ///
    /// The error `scsi_execute_cmd()` returned when the command could not be
    /// sent (no memory, a device being removed).
    pub fn test_unit_ready(&self, timeout_ms: u32, retries: u32) -> Result<CommandResult> {
        let timeout = c_int::try_from(msecs_to_jiffies(timeout_ms)).unwrap_or(c_int::MAX);
        let retries = c_int::try_from(retries).unwrap_or(c_int::MAX);
        let mut sshdr = bindings::scsi_sense_hdr::default();
        // SAFETY: The device is valid (type invariant); `sshdr` is a local.
        let result =
            unsafe { bindings::scsi_test_unit_ready(self.0.get(), timeout, retries, &mut sshdr) };
        if result < 0 {
            return Err(Error::from_errno(result));
        }
        // `host_byte()` and `status_byte()` of include/scsi/scsi_cmnd.h.
        Ok(CommandResult::from_raw(result as u32))
    }

    /// Removes the device from the system (`scsi_remove_device()`). May
    /// sleep; not from a callback of the device's own (its removal waits for
    /// them).
    pub fn remove(dev: ARef<Self>) {
        // SAFETY: `dev` holds a reference, so the device is valid; removing
        // a device twice is a no-op in the midlayer.
        unsafe { bindings::scsi_remove_device(dev.0.get()) };
    }

    /// Whether the device supports tagged (queued) commands.
    pub fn tagged_supported(&self) -> bool {
        self.raw().tagged_supported() != 0
    }
}

// SAFETY: Device references may move between threads.
unsafe impl Send for ScsiDevice {}
// SAFETY: The methods are safe to call concurrently.
unsafe impl Sync for ScsiDevice {}

// SAFETY: A device is counted by its `sdev_gendev` (what `scsi_device_get()`
// and `scsi_device_put()` take and drop besides the module reference); the
// last put frees it.
unsafe impl AlwaysRefCounted for ScsiDevice {
    fn inc_ref(&self) {
        // SAFETY: The device is valid (type invariant).
        unsafe { kbindings::get_device(&raw mut (*self.0.get()).sdev_gendev) };
    }

    /// # Safety
    ///
    /// As [`AlwaysRefCounted::dec_ref`]: the caller owns a reference.
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe {
            kbindings::put_device(
                &raw mut (*obj.as_ptr().cast::<bindings::scsi_device>()).sdev_gendev,
            )
        };
    }
}
