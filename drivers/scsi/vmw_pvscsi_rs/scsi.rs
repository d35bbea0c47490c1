// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! A small, safe layer over the SCSI midlayer, for SCSI low-level drivers.
//!
//! The 7.3 `kernel` crate has no SCSI support. This layer brings what a host
//! adapter driver needs: a [`Host`] (allocation, registration, scanning and
//! removal), [`HostRef`] (a counted reference for deferred work, with device
//! hot-add and hot-remove), [`Command`] (one command owned by the driver
//! between `queuecommand` and its completion) and [`CommandSlot`] (where a
//! driver keeps an in-flight command).
//!
//! The midlayer calls the driver through a `scsi_host_template` that lives in
//! the C glue (`pvscsi_glue.c`), whose trampolines call the `extern "C"` entry
//! points that [`scsi_host_entry_points!`] defines for a [`HostOps`] type. C
//! trampolines keep kCFI happy: the template's function pointer types return C
//! enums, whose CFI type ids a Rust function cannot carry.
//!
//! All `unsafe` code that uses the module-local SCSI bindings is in this
//! module and its children; driver logic above it is safe Rust.

mod cmnd;
mod host;

use kernel::{
    ffi,
    prelude::*, //
};

use super::bindings;

pub(crate) use cmnd::{
    Command,
    CommandSlot,
    DataDirection,
    EhCommand, //
};
pub(crate) use host::{
    Host,
    HostLimits,
    HostRef, //
};

/// Host byte of a command result (`enum scsi_host_status`).
pub(crate) type HostByte = u32;

/// The callbacks of a SCSI low-level driver.
///
/// An implementer is registered with [`Host::new`] and called from the
/// midlayer, in atomic context, through the entry points
/// [`scsi_host_entry_points!`] generates.
pub(crate) trait HostOps: Sync {
    /// Starts `cmd`.
    ///
    /// On `Ok`, the driver owns the command and must complete it exactly once
    /// (completion may happen before this function returns). On `Err`, the
    /// command goes back to the midlayer, which retries it later
    /// (`SCSI_MLQUEUE_HOST_BUSY`).
    fn queue_command(&self, cmd: Command) -> Result<(), Command>;

    /// Tells the hardware about commands queued without [`Command::is_last`].
    fn commit_rqs(&self);

    /// The value of host attribute `which` (a sysfs file of the host that
    /// the driver's template defines), if it has one.
    fn host_attr(&self, _which: u32) -> Option<u64> {
        None
    }

    /// Aborts `cmd`, which timed out. Called by the error handler thread
    /// (process context, may sleep); returns whether the command is gone.
    fn eh_abort(&self, _cmd: EhCommand<'_>) -> bool {
        false
    }

    /// Resets the device (target) of `cmd`; returns whether its commands
    /// are gone. May sleep.
    fn eh_device_reset(&self, _cmd: EhCommand<'_>) -> bool {
        false
    }

    /// Resets the target of `cmd`; returns whether its commands are gone.
    /// May sleep.
    fn eh_target_reset(&self, _cmd: EhCommand<'_>) -> bool {
        false
    }

    /// Resets the bus of `cmd`; returns whether its commands are gone.
    /// May sleep.
    fn eh_bus_reset(&self, _cmd: EhCommand<'_>) -> bool {
        false
    }

    /// Resets the host adapter; returns whether it is working again with no
    /// command outstanding. May sleep.
    fn eh_host_reset(&self, _cmd: EhCommand<'_>) -> bool {
        false
    }
}

/// Entry point for the error handlers; see [`scsi_host_entry_points!`].
///
/// # Safety
///
/// `shost` must be a host created by [`Host::new`] for a `T` that is still
/// registered, and `cmd` a command the midlayer's error handler passes.
pub(crate) unsafe fn eh_entry<T: HostOps>(
    shost: *mut bindings::Scsi_Host,
    cmd: *mut bindings::scsi_cmnd,
    handler: fn(&T, EhCommand<'_>) -> bool,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let ops = unsafe { host::ops_of::<T>(shost) };
    // SAFETY: The error handler owns `cmd` for the duration of the call.
    let cmd = unsafe { EhCommand::from_raw(cmd) };
    c_int::from(handler(ops, cmd))
}

/// Entry point for `queuecommand`; see [`scsi_host_entry_points!`].
///
/// # Safety
///
/// `shost` must be a host created by [`Host::new`] for a `T` that is still
/// registered, and `cmd` a command the midlayer hands to `queuecommand`.
pub(crate) unsafe fn queuecommand_entry<T: HostOps>(
    shost: *mut bindings::Scsi_Host,
    cmd: *mut bindings::scsi_cmnd,
) -> c_int {
    // SAFETY: By the function's safety requirements, `shost` comes from
    // `Host::new::<T>` and its `T` is still valid.
    let ops = unsafe { host::ops_of::<T>(shost) };
    // SAFETY: The midlayer passes ownership of `cmd` to the driver for the
    // duration of `queuecommand`, or until completion if it is accepted.
    let cmd = unsafe { Command::from_queuecommand(cmd) };
    match ops.queue_command(cmd) {
        Ok(()) => 0,
        Err(cmd) => {
            cmd.return_to_midlayer();
            bindings::scsi_qc_status::SCSI_MLQUEUE_HOST_BUSY.0 as c_int
        }
    }
}

/// Entry point for `commit_rqs`; see [`scsi_host_entry_points!`].
///
/// # Safety
///
/// `shost` must be a host created by [`Host::new`] for a `T` that is still
/// registered.
pub(crate) unsafe fn commit_rqs_entry<T: HostOps>(shost: *mut bindings::Scsi_Host) {
    // SAFETY: By the function's safety requirements.
    let ops = unsafe { host::ops_of::<T>(shost) };
    ops.commit_rqs();
}

/// Entry point for host attributes; see [`scsi_host_entry_points!`].
///
/// # Safety
///
/// `shost` must be a host created by [`Host::new`] for a `T` that is still
/// registered.
pub(crate) unsafe fn host_attr_entry<T: HostOps>(
    shost: *mut bindings::Scsi_Host,
    which: u32,
) -> ffi::c_longlong {
    // SAFETY: By the function's safety requirements.
    let ops = unsafe { host::ops_of::<T>(shost) };
    ops.host_attr(which)
        .and_then(|v| ffi::c_longlong::try_from(v).ok())
        .unwrap_or(-1)
}

/// Defines the `extern "C"` functions the C glue's host template calls, for a
/// [`HostOps`] type (named with `'static` lifetimes).
///
/// The names must match the prototypes in `include/pvscsi_glue.h`.
macro_rules! scsi_host_entry_points {
    ($ops:ty, queuecommand: $qc:ident, commit_rqs: $commit:ident $(,)?) => {
        /// `queuecommand` of the host template (called by the C glue).
        #[no_mangle]
        extern "C" fn $qc(
            shost: *mut $crate::bindings::Scsi_Host,
            cmd: *mut $crate::bindings::scsi_cmnd,
        ) -> ::kernel::ffi::c_int {
            // SAFETY: The glue calls this for hosts allocated by `Host::new`
            // with this ops type, and only while they are registered.
            unsafe { $crate::scsi::queuecommand_entry::<$ops>(shost, cmd) }
        }

        /// `commit_rqs` of the host template (called by the C glue).
        #[no_mangle]
        extern "C" fn $commit(shost: *mut $crate::bindings::Scsi_Host) {
            // SAFETY: As above.
            unsafe { $crate::scsi::commit_rqs_entry::<$ops>(shost) }
        }

        /// A host attribute's value (called by the C glue's sysfs files).
        #[no_mangle]
        extern "C" fn pvscsi_rs_host_attr(
            shost: *mut $crate::bindings::Scsi_Host,
            which: $crate::bindings::pvscsi_glue_attr,
        ) -> ::kernel::ffi::c_longlong {
            // SAFETY: The glue's attributes belong to hosts allocated by
            // `Host::new` with this ops type; sysfs removes them before the
            // host is removed.
            unsafe { $crate::scsi::host_attr_entry::<$ops>(shost, which) }
        }

        $crate::scsi::scsi_host_entry_points!(@eh $ops, pvscsi_rs_eh_abort, eh_abort);
        $crate::scsi::scsi_host_entry_points!(@eh $ops, pvscsi_rs_eh_device_reset, eh_device_reset);
        $crate::scsi::scsi_host_entry_points!(@eh $ops, pvscsi_rs_eh_target_reset, eh_target_reset);
        $crate::scsi::scsi_host_entry_points!(@eh $ops, pvscsi_rs_eh_bus_reset, eh_bus_reset);
        $crate::scsi::scsi_host_entry_points!(@eh $ops, pvscsi_rs_eh_host_reset, eh_host_reset);
    };
    (@eh $ops:ty, $name:ident, $method:ident) => {
        /// An error handler of the host template (called by the C glue).
        #[no_mangle]
        extern "C" fn $name(
            shost: *mut $crate::bindings::Scsi_Host,
            cmd: *mut $crate::bindings::scsi_cmnd,
        ) -> ::kernel::ffi::c_int {
            // SAFETY: The glue calls this for hosts allocated by `Host::new`
            // with this ops type, while they are registered, with the command
            // the error handler passes.
            unsafe {
                $crate::scsi::eh_entry::<$ops>(shost, cmd, <$ops as $crate::scsi::HostOps>::$method)
            }
        }
    };
}
pub(crate) use scsi_host_entry_points;

/// Layout of SCSI midlayer structures as the C compiler laid them out.
pub(crate) type CLayout = bindings::pvscsi_glue_layout;

/// Returns the layout of the SCSI midlayer structures as the C glue sees them.
///
/// The unit tests compare it with the Rust bindings, which proves that the
/// module-local bindgen step used the same configuration as the C compiler.
pub(crate) fn c_layout() -> CLayout {
    let mut layout = CLayout::default();
    // SAFETY: `layout` is a valid, writable `pvscsi_glue_layout`, and the glue
    // function only stores into its fields.
    unsafe { bindings::pvscsi_glue_get_layout(&mut layout) };
    layout
}

#[kunit_tests(vmw_pvscsi_rs_bindings)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn scsi_cmnd_layout_matches_c() {
        let c = c_layout();
        assert_eq!(size_of::<bindings::scsi_cmnd>(), c.scsi_cmnd_size);
        assert_eq!(offset_of!(bindings::scsi_cmnd, sdb), c.scsi_cmnd_sdb);
        assert_eq!(offset_of!(bindings::scsi_cmnd, result), c.scsi_cmnd_result);
        assert_eq!(
            offset_of!(bindings::scsi_cmnd, sense_buffer),
            c.scsi_cmnd_sense_buffer
        );
    }

    #[test]
    fn scsi_host_and_device_layout_matches_c() {
        let c = c_layout();
        assert_eq!(size_of::<bindings::Scsi_Host>(), c.scsi_host_size);
        assert_eq!(
            offset_of!(bindings::Scsi_Host, can_queue),
            c.scsi_host_can_queue
        );
        assert_eq!(
            offset_of!(bindings::Scsi_Host, hostdata),
            c.scsi_host_hostdata
        );
        assert_eq!(size_of::<bindings::scsi_device>(), c.scsi_device_size);
        assert_eq!(offset_of!(bindings::scsi_device, id), c.scsi_device_id);
        // `Command::tag` finds the request right before the command.
        assert_eq!(size_of::<kernel::bindings::request>(), c.request_size);
    }

    #[test]
    fn command_private_area_fits() {
        assert!(size_of::<cmnd::CmdPriv>() <= bindings::PVSCSI_GLUE_CMD_PRIV_SIZE as usize);
        assert!(align_of::<cmnd::CmdPriv>() <= align_of::<bindings::scsi_cmnd>());
    }
}
