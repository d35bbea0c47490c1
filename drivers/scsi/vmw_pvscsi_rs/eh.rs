// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Error handling: abort, device reset, bus reset and host reset.
//!
//! The midlayer runs these from its error handler thread once every
//! outstanding command has either completed or timed out, and queues nothing
//! new meanwhile. So every command still in a context slot here is one that
//! timed out and that the error handler owns: its late completion (the device
//! cancelling it) only unmaps its data, since the midlayer ignores
//! `scsi_done` for it.
//!
//! Unlike the C driver, the resets wait (bounded) until the device has
//! completed the commands they cancel, so a late completion can never meet a
//! command the error handler has already retried in the same context.

use kernel::{
    prelude::*,
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    }, //
};

use super::{
    abi::{
        AbortCmd,
        Command,
        ResetDevice, //
    },
    adapter::Adapter,
    request,
    scsi::{
        EhCommand,
        HostOps, //
    },
    status::did, //
};

/// How long an abort waits for the device to complete the command.
const ABORT_WAIT_MS: i64 = 2000;
/// How long a device or bus reset waits for the cancelled commands.
const RESET_WAIT_MS: i64 = 10000;

impl Adapter<'_> {
    /// Announces every published request and completes what the device has
    /// completed.
    fn flush(&self) {
        self.commit_rqs();
        self.hw.kick_non_rw();
        self.drain_completions();
    }

    /// Waits up to `ms` milliseconds until `done` holds, draining completions
    /// meanwhile (the interrupt may be masked); returns whether it held.
    fn wait_until(&self, ms: i64, done: impl Fn(&Self) -> bool) -> bool {
        let start = Instant::<Monotonic>::now();
        loop {
            self.drain_completions();
            if done(self) {
                return true;
            }
            if start.elapsed() > Delta::from_millis(ms) {
                return false;
            }
            fsleep(Delta::from_millis(5));
        }
    }

    /// Whether no command is in flight.
    fn all_idle(&self) -> bool {
        self.ctx.slots().all(|s| !s.is_busy())
    }

    /// Resets the adapter and brings it back: every command is completed
    /// (with `DID_RESET` if the device did not complete it), the rings are
    /// registered anew and hot-plug is rescanned.
    fn reset_and_restart(&self) -> Result {
        self.mask_interrupts();
        if let Some(msg) = &self.msg {
            // The message ring restarts from index 0.
            msg.stop();
        }
        self.hw.kick_non_rw();
        self.hw.reset();
        // QEMU completes the cancelled requests into the ring during the
        // reset; after it the device no longer touches the rings.
        self.drain_completions();
        for slot in self.ctx.slots() {
            if let Some(cmd) = slot.take() {
                cmd.fail(did::RESET);
            }
        }
        self.restart_rings();
        if let Some(msg) = &self.msg {
            msg.reset();
        }
        self.start()?;
        self.unmask_interrupts();
        if let Some(msg) = &self.msg {
            msg.rescan();
        }
        Ok(())
    }
}

impl Adapter<'_> {
    /// `eh_abort_handler`.
    pub(crate) fn abort(&self, cmd: EhCommand<'_>) -> bool {
        let Some(slot) = self.ctx.slot(cmd.tag() as usize) else {
            return false;
        };
        // A request the device has not seen cannot be aborted: announce it.
        self.flush();
        if !slot.holds(&cmd) {
            // Completed meanwhile.
            return true;
        }
        self.hw.command_with(
            Command::AbortCmd,
            &AbortCmd {
                context: request::context_of(cmd.tag()),
                target: cmd.id(),
                _pad: 0,
            },
        );
        let done = self.wait_until(ABORT_WAIT_MS, |_| !slot.holds(&cmd));
        dev_info!(
            self.dev,
            "abort of command (tag {}) on target {}: {}\n",
            cmd.tag(),
            cmd.id(),
            if done { "done" } else { "no completion" }
        );
        done
    }

    /// `eh_device_reset_handler`.
    pub(crate) fn device_reset(&self, cmd: EhCommand<'_>) -> bool {
        self.flush();
        // The C driver leaves the LUN 0: this is a target reset.
        self.hw.command_with(
            Command::ResetDevice,
            &ResetDevice {
                target: cmd.id(),
                lun: [0; 8],
            },
        );
        let done = self.wait_until(RESET_WAIT_MS, Self::all_idle);
        dev_info!(
            self.dev,
            "reset of target {}:{}: {}\n",
            cmd.channel(),
            cmd.id(),
            reset_outcome(done)
        );
        done
    }

    /// `eh_bus_reset_handler`.
    pub(crate) fn bus_reset(&self, _cmd: EhCommand<'_>) -> bool {
        self.flush();
        self.hw.command(Command::ResetBus, &[]);
        let done = self.wait_until(RESET_WAIT_MS, Self::all_idle);
        dev_info!(self.dev, "bus reset: {}\n", reset_outcome(done));
        done
    }

    /// `eh_host_reset_handler`.
    pub(crate) fn host_reset(&self, _cmd: EhCommand<'_>) -> bool {
        match self.reset_and_restart() {
            Ok(()) => {
                dev_info!(self.dev, "adapter reset\n");
                true
            }
            Err(e) => {
                dev_err!(self.dev, "adapter reset failed: {:?}\n", e);
                false
            }
        }
    }
}

/// How a reset that waited for outstanding commands ended, for the log.
fn reset_outcome(done: bool) -> &'static str {
    if done {
        "done"
    } else {
        "commands still outstanding"
    }
}
