// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! SCSI host adapters (low-level drivers).
//!
//! C headers: [`include/scsi/scsi_host.h`](srctree/include/scsi/scsi_host.h),
//! [`include/scsi/scsi_cmnd.h`](srctree/include/scsi/scsi_cmnd.h).
//!
//! A low-level driver implements [`Operations`] for a type of its own, builds
//! one static [`Template`] from it, and creates a [`Host`] per adapter with its
//! per-host data ([`Operations::HostData`]), which a [`Registration`]
//! registers with the midlayer. The midlayer then hands it
//! commands: each one a [`Command`], owned by the driver until it completes it
//! (exactly once: completion consumes it), with typed per-command data
//! ([`Operations::CmdData`]) in the command's private area. A [`CommandSlot`]
//! keeps an in-flight command, an [`EhCommand`] is what the error handler
//! passes, and a [`HostRef`] is a counted reference for deferred work (hot-add
//! and hot-remove of devices).
//!
//! # Lifetimes
//!
//! A host's data usually borrows the bound device (`HostData<'bound>`). The
//! midlayer calls the driver only while a [`Registration`] of the host
//! exists: it removes the host ([`Registration::remove`], or its drop)
//! before the data goes. Registering data that borrows (`'bound`) is
//! `unsafe` ([`Registration::new_with_lt`]): the caller promises the drop
//! runs, as for an interrupt handler's registration; `'static` data
//! registers safely ([`Registration::new`]). The type states replace run-time
//! checks: a [`Host`] cannot be scanned, a [`Registration`] cannot be added
//! twice. Each callback receives the data for a lifetime `'bound` it is
//! generic over: longer than the call, so a driver cannot keep anything
//! shorter-lived in the data, and no longer than the binding.
//!
//! # Example
//!
//! A host with no target behind it: every command ends with
//! `DID_BAD_TARGET`, so the midlayer's scan finds no device.
//!
//! ```
//! use kernel::{scsi, ThisModule};
//!
//! struct NoTargets;
//!
//! #[vtable]
//! impl scsi::Operations for NoTargets {
//!     type HostData<'bound> = ();
//!     type CmdData = ();
//!     type Attribute = core::convert::Infallible;
//!
//!     fn queue_command<'bound>(
//!         _host: &'bound (),
//!         cmd: scsi::Command,
//!     ) -> Result<(), scsi::Command> {
//!         cmd.fail(scsi::HostByte::BAD_TARGET);
//!         Ok(())
//!     }
//! }
//!
//! # // SAFETY: A null module is a built-in one.
//! # static THIS_MODULE: ThisModule = unsafe { ThisModule::from_ptr(core::ptr::null_mut()) };
//! static TEMPLATE: scsi::Template<NoTargets> = scsi::Template::new(scsi::TemplateOptions {
//!     sg_tablesize: 128,
//!     ..scsi::TemplateOptions::new(&THIS_MODULE, c"No targets", c"no_targets")
//! });
//! ```
// module-only: begin
//!
//! The layer is shaped to become `rust/kernel/scsi/` (`scripts/series` makes
//! it so): it has no knowledge of any driver. Until then, a module that uses
//! it mounts this directory with `#[path]` and includes `rust_scsi.mk` from
//! its Kbuild.
// module-only: end

mod bindings;
mod cmnd;
mod device;
mod glue;
mod host;
mod queues;
mod result;
mod template;
#[cfg(all(CONFIG_KUNIT = "y", rust_scsi_kunit))]
mod tests;
mod vtable;

use kernel::prelude::*;

pub use cmnd::{
    Command,
    CommandSlot,
    EhCommand,
    Mapped,
    Segments, //
};
pub use device::ScsiDevice;
// module-only: begin
pub use glue::check_layout;
// module-only: end
pub use host::{
    Host,
    HostLimits,
    HostRef,
    Registration,
    ScsiHost, //
};
pub use queues::{
    QueueMaps,
    QueueType, //
};
pub use result::{
    CommandResult,
    HostByte,
    SamStatus, //
};
pub(crate) use template::host_attributes;
pub use template::{
    AttributeGroup,
    AttributeList,
    HostAttribute,
    HostAttributeGroups,
    Template,
    TemplateOptions, //
};

/// Size of a command's sense buffer (`SCSI_SENSE_BUFFERSIZE`).
pub const SENSE_BUFFERSIZE: usize = bindings::SCSI_SENSE_BUFFERSIZE as usize;

/// What an error handler achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EhResult {
    /// The command (or, for a reset, every command it covers) is gone:
    /// `SUCCESS`.
    Success,
    /// It is not: the midlayer escalates to the next handler. `FAILED`.
    Failed,
}

impl From<bool> for EhResult {
    fn from(ok: bool) -> Self {
        if ok {
            Self::Success
        } else {
            Self::Failed
        }
    }
}

/// The callbacks of a SCSI low-level driver.
///
/// Implemented by a type of the driver, and turned into a host template by
/// [`Template::new`]. Callbacks without a default must be implemented;
/// the error handlers left out are not in the template, so the midlayer
/// escalates past them.
#[vtable]
pub trait Operations: Sized + 'static {
    /// Per-host data, borrowed by every callback of the host.
    type HostData<'bound>: Sync;

    /// Per-command data, in the private area of each command of the host.
    /// Created (with `Default`) when the midlayer allocates the command,
    /// dropped when it frees it; it persists from one use of the command to
    /// the next.
    type CmdData: Default + Send;

    /// Which host attribute a read asks for ([`host_attributes!`],
    /// [`Operations::show_attribute`]): usually a field-less `enum`;
    /// `core::convert::Infallible` for a driver without attributes.
    type Attribute: Copy + Sync + 'static;

    /// Starts `cmd`. Called in atomic context.
    ///
    /// On `Ok`, the driver owns the command and must complete it exactly once
    /// (completion may happen before this function returns). On `Err`, the
    /// command goes back to the midlayer, which retries it later
    /// (`SCSI_MLQUEUE_HOST_BUSY`).
    fn queue_command<'bound>(
        host: &'bound Self::HostData<'bound>,
        cmd: Command<Self::CmdData>,
    ) -> Result<(), Command<Self::CmdData>>;

    /// Tells the hardware about commands queued without
    /// [`Command::is_last`]. Called in atomic context.
    fn commit_rqs<'bound>(_host: &'bound Self::HostData<'bound>) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Aborts `cmd`, which timed out. Called by the error handler thread
    /// (process context, may sleep).
    fn eh_abort<'bound>(_host: &'bound Self::HostData<'bound>, _cmd: EhCommand<'_>) -> EhResult {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Resets the device (LUN) of `cmd`. May sleep.
    fn eh_device_reset<'bound>(
        _host: &'bound Self::HostData<'bound>,
        _cmd: EhCommand<'_>,
    ) -> EhResult {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Resets the target of `cmd`. May sleep.
    fn eh_target_reset<'bound>(
        _host: &'bound Self::HostData<'bound>,
        _cmd: EhCommand<'_>,
    ) -> EhResult {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Resets the bus of `cmd`. May sleep.
    fn eh_bus_reset<'bound>(
        _host: &'bound Self::HostData<'bound>,
        _cmd: EhCommand<'_>,
    ) -> EhResult {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Resets the host adapter: on success it works again with no command
    /// outstanding. May sleep.
    fn eh_host_reset<'bound>(
        _host: &'bound Self::HostData<'bound>,
        _cmd: EhCommand<'_>,
    ) -> EhResult {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The queue depth to give `sdev` when asked for `depth` (which the
    /// midlayer already limited to the host's `can_queue`). Without this
    /// callback, `sdev` gets `depth`.
    fn change_queue_depth(_sdev: &ScsiDevice, _depth: u32) -> u32 {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Tells blk-mq which hardware queues serve which type of request
    /// ([`QueueMaps::map`]). Called while the host is registered, and again
    /// whenever blk-mq rebuilds the maps. Without this callback, every queue
    /// is interrupt-driven (`blk_mq_map_queues` on the default map); a host
    /// with poll queues ([`HostLimits::poll_queues`]) must implement it.
    ///
    /// On an error, the layer logs it and maps every queue as
    /// [`QueueType::Default`]: the host then polls for nothing.
    fn map_queues<'bound>(
        _host: &'bound Self::HostData<'bound>,
        _maps: &mut QueueMaps<'_>,
    ) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Completes what the hardware has completed, for a task polling hardware
    /// queue `queue` (one of [`HostLimits::poll_queues`], numbered after the
    /// interrupt-driven ones); returns how many commands it completed.
    /// Called in process context, possibly with preemption disabled; must
    /// not sleep. A host with poll queues must implement it.
    ///
    /// The commands it completes may be of any queue: what matters to the
    /// poller is that its own are among them when the hardware is done.
    fn mq_poll<'bound>(_host: &'bound Self::HostData<'bound>, _queue: u32) -> u32 {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The value of the host attribute `which` (one of the template's
    /// [`TemplateOptions::attributes`], made by [`host_attributes!`]).
    fn show_attribute<'bound>(
        _host: &'bound Self::HostData<'bound>,
        _which: Self::Attribute,
    ) -> u64 {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}
