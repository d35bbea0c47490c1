// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The `extern "C"` callbacks a [`super::Template`] installs, which call an
//! [`Operations`] type.
//!
//! This is the layer's one boundary with the midlayer's calls: each callback
//! turns the raw pointers it gets into the layer's safe types.

use core::{
    fmt::Write,
    marker::PhantomData, //
};

use kernel::{
    bindings as kbindings,
    page::PAGE_SIZE,
    prelude::*,
    str::Formatter, //
};

use super::{
    bindings,
    cmnd::CmdPriv,
    glue,
    host::data_of,
    Command,
    EhCommand,
    EhResult,
    HostAttribute,
    Operations,
    QueueMaps,
    ScsiDevice, //
};

/// The callbacks of `T`'s template.
pub(super) struct OperationsVTable<T: Operations>(PhantomData<T>);

/// `SUCCESS` or `FAILED`, as an error handler returns them.
fn eh_status(result: EhResult) -> c_int {
    match result {
        EhResult::Success => bindings::scsi_disposition_SUCCESS as c_int,
        EhResult::Failed => bindings::scsi_disposition_FAILED as c_int,
    }
}

impl<T: Operations> OperationsVTable<T> {
    /// `queuecommand` (in a module, through the C trampoline
    /// `rust_scsi_queuecommand`: see `glue.rs`).
    ///
    /// # Safety
    ///
    /// `shost` must be a registered host of `T`'s template, and `cmd` a
    /// command the midlayer hands to it.
    pub(super) unsafe extern "C" fn queuecommand(
        shost: *mut bindings::Scsi_Host,
        cmd: *mut bindings::scsi_cmnd,
    ) -> glue::QcStatus {
        // SAFETY: By the function's safety requirements; the midlayer calls
        // `queuecommand` only for registered hosts.
        let host = unsafe { data_of::<T>(shost) };
        // SAFETY: The midlayer passes ownership of `cmd` to the driver; its
        // private area was initialized by `init_cmd_priv` for `T::CmdData`.
        let cmd = unsafe { Command::from_queuecommand(cmd) };
        match T::queue_command(host, cmd) {
            Ok(()) => glue::QC_OK,
            Err(cmd) => {
                cmd.return_to_midlayer();
                glue::QC_HOST_BUSY
            }
        }
    }

    /// `commit_rqs`.
    ///
    /// # Safety
    ///
    /// `shost` must be a registered host of `T`'s template.
    pub(super) unsafe extern "C" fn commit_rqs(shost: *mut bindings::Scsi_Host, _hwq: u16) {
        // SAFETY: By the function's safety requirements.
        T::commit_rqs(unsafe { data_of::<T>(shost) });
    }

    /// Runs an error handler for `cmd`.
    ///
    /// # Safety
    ///
    /// `cmd` must be a command the error handler passes, of a registered host
    /// of `T`'s template.
    unsafe fn eh(
        cmd: *mut bindings::scsi_cmnd,
        handler: impl for<'b> FnOnce(&'b T::HostData<'b>, EhCommand<'_>) -> EhResult,
    ) -> c_int {
        // SAFETY: The command and its device are valid during the call, and
        // the device's host is a registered host of `T`'s template.
        let host = unsafe { data_of::<T>((*(*cmd).device).host) };
        // SAFETY: The error handler owns `cmd` for the duration of the call.
        let cmd = unsafe { EhCommand::from_raw(cmd) };
        eh_status(handler(host, cmd))
    }

    /// `eh_abort_handler`.
    ///
    /// # Safety
    ///
    /// As for [`Self::eh`].
    pub(super) unsafe extern "C" fn eh_abort(cmd: *mut bindings::scsi_cmnd) -> c_int {
        // SAFETY: By the function's safety requirements.
        unsafe { Self::eh(cmd, T::eh_abort) }
    }

    /// `eh_device_reset_handler`.
    ///
    /// # Safety
    ///
    /// As for [`Self::eh`].
    pub(super) unsafe extern "C" fn eh_device_reset(cmd: *mut bindings::scsi_cmnd) -> c_int {
        // SAFETY: By the function's safety requirements.
        unsafe { Self::eh(cmd, T::eh_device_reset) }
    }

    /// `eh_target_reset_handler`.
    ///
    /// # Safety
    ///
    /// As for [`Self::eh`].
    pub(super) unsafe extern "C" fn eh_target_reset(cmd: *mut bindings::scsi_cmnd) -> c_int {
        // SAFETY: By the function's safety requirements.
        unsafe { Self::eh(cmd, T::eh_target_reset) }
    }

    /// `eh_bus_reset_handler`.
    ///
    /// # Safety
    ///
    /// As for [`Self::eh`].
    pub(super) unsafe extern "C" fn eh_bus_reset(cmd: *mut bindings::scsi_cmnd) -> c_int {
        // SAFETY: By the function's safety requirements.
        unsafe { Self::eh(cmd, T::eh_bus_reset) }
    }

    /// `eh_host_reset_handler`.
    ///
    /// # Safety
    ///
    /// As for [`Self::eh`].
    pub(super) unsafe extern "C" fn eh_host_reset(cmd: *mut bindings::scsi_cmnd) -> c_int {
        // SAFETY: By the function's safety requirements.
        unsafe { Self::eh(cmd, T::eh_host_reset) }
    }

    /// `change_queue_depth`: asks `T` (if it has an opinion), then sets it.
    ///
    /// # Safety
    ///
    /// `sdev` must be a valid device of a host of `T`'s template.
    pub(super) unsafe extern "C" fn change_queue_depth(
        sdev: *mut bindings::scsi_device,
        depth: c_int,
    ) -> c_int {
        let depth = if T::HAS_CHANGE_QUEUE_DEPTH {
            // SAFETY: `sdev` is valid during the call.
            let dev = unsafe { ScsiDevice::from_raw(sdev) };
            let asked = u32::try_from(depth).unwrap_or(1);
            c_int::try_from(T::change_queue_depth(dev, asked)).unwrap_or(c_int::MAX)
        } else {
            depth
        };
        // SAFETY: `sdev` is valid during the call.
        unsafe { bindings::scsi_change_queue_depth(sdev, depth) }
    }

    /// `map_queues`: the driver's [`Operations::map_queues`], or every
    /// queue interrupt-driven if it fails.
    ///
    /// # Safety
    ///
    /// `shost` must be a host of `T`'s template, being registered or
    /// registered, inside the midlayer's `map_queues` call.
    pub(super) unsafe extern "C" fn map_queues(shost: *mut bindings::Scsi_Host) {
        // SAFETY: The midlayer calls `map_queues` while it sets up or
        // rebuilds the host's tag set, whose maps it has allocated and which
        // nothing else touches meanwhile.
        let mut maps = unsafe { QueueMaps::from_raw(&mut (*shost).tag_set) };
        // SAFETY: By the function's safety requirements.
        let data = unsafe { data_of::<T>(shost) };
        if let Err(e) = T::map_queues(data, &mut maps) {
            pr_warn!(
                "SCSI layer: map_queues failed ({:?}); every queue is interrupt-driven\n",
                e
            );
            maps.map_all_default();
        }
    }

    /// `mq_poll`.
    ///
    /// # Safety
    ///
    /// `shost` must be a registered host of `T`'s template.
    pub(super) unsafe extern "C" fn mq_poll(
        shost: *mut bindings::Scsi_Host,
        queue: c_uint,
    ) -> c_int {
        // SAFETY: By the function's safety requirements.
        let host = unsafe { data_of::<T>(shost) };
        c_int::try_from(T::mq_poll(host, queue)).unwrap_or(c_int::MAX)
    }

    /// `init_cmd_priv`: creates the command's `CmdPriv<T::CmdData>`.
    ///
    /// # Safety
    ///
    /// `cmd` must be a command of a host of `T`'s template, being allocated.
    pub(super) unsafe extern "C" fn init_cmd_priv(
        _shost: *mut bindings::Scsi_Host,
        cmd: *mut bindings::scsi_cmnd,
    ) -> c_int {
        // SAFETY: The template's `cmd_size` is that of `CmdPriv<T::CmdData>`
        // (type invariant of `Template`), and the command is new.
        unsafe { CmdPriv::<T::CmdData>::init(cmd) };
        0
    }

    /// `exit_cmd_priv`: drops the command's `CmdPriv<T::CmdData>`.
    ///
    /// # Safety
    ///
    /// `cmd` must be a command of a host of `T`'s template, being freed.
    pub(super) unsafe extern "C" fn exit_cmd_priv(
        _shost: *mut bindings::Scsi_Host,
        cmd: *mut bindings::scsi_cmnd,
    ) -> c_int {
        // SAFETY: `init_cmd_priv` initialized the area, and the command is
        // being freed, so nobody uses it.
        unsafe { CmdPriv::<T::CmdData>::drop_in(cmd) };
        0
    }

    /// `show` of a host attribute: writes its value and a newline.
    ///
    /// # Safety
    ///
    /// `dev` must be the `shost_dev` of a registered host of `T`'s template,
    /// `attr` one of its [`super::HostAttribute`]s, and `buf` a sysfs buffer
    /// of `PAGE_SIZE` bytes.
    pub(super) unsafe extern "C" fn show_attribute(
        dev: *mut kbindings::device,
        attr: *mut kbindings::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // `class_to_shost()`: the device is the host's `shost_dev`.
        // SAFETY: Only a host's `shost_dev` carries the host attributes.
        let shost = unsafe { kernel::container_of!(dev, bindings::Scsi_Host, shost_dev) };
        // SAFETY: Sysfs calls `show` only while the attribute exists, from
        // `scsi_add_host` to `scsi_remove_host`: the host is registered.
        let host = unsafe { data_of::<T>(shost) };
        // SAFETY: Every attribute with this callback is the `attr` field of
        // a `HostAttribute<T::Attribute>` (`HostAttribute::new::<T>`), a
        // static that is never changed.
        let which =
            unsafe { (*kernel::container_of!(attr, HostAttribute<T::Attribute>, attr)).which };
        let value = T::show_attribute(host, which);
        // SAFETY: Sysfs hands `show` a buffer of `PAGE_SIZE` bytes, ours
        // until we return.
        let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE_SIZE) };
        let mut out = Formatter::new(page);
        // At most 21 bytes: a `u64` and a newline always fit in a page.
        if writeln!(out, "{value}").is_err() {
            return EIO.to_errno() as isize;
        }
        out.bytes_written() as isize
    }
}
