// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Error handling: abort, device (target) reset, bus reset and host reset.
//!
//! The midlayer runs these from its error handler thread, from its
//! asynchronous abort work, and from the SG_SCSI_RESET ioctl, possibly at
//! the same time: each takes the adapter's `eh` mutex, so device commands
//! never interleave and one reset finishes before the next begins.
//!
//! Whether a command has finished is decided under the `complete` lock,
//! which the completion path holds until it has handed the command back to
//! the midlayer: a handler never reports success while another CPU is still
//! completing the command (the midlayer would retry it meanwhile).
//!
//! Unlike the C driver, device and bus resets wait until the device has
//! completed the commands they cancel, and only those of the reset target
//! (or bus): they sleep until a completion wakes them (the completion path
//! signals `idle`), with a bounded wait.

use kernel::{
    prelude::*,
    sync::{
        atomic::ordering::Relaxed,
        CondVarTimeoutResult, //
    },
    time::{
        delay::fsleep,
        msecs_to_jiffies,
        Delta,
        Instant,
        Monotonic, //
    }, //
};

use super::{
    abi::{
        AbortCmd,
        Command,
        ResetDevice,
        COMMAND_STATUS_UNSUPPORTED, //
    },
    adapter::{
        Adapter,
        Gate, //
    },
    context::{
        target_key,
        Context, //
    },
    request,
    scsi::{
        EhCommand,
        HostByte, //
    }, //
};

/// How long an abort waits for the device to complete the command.
const ABORT_WAIT_MS: i64 = 2000;
/// How long a device or bus reset waits for the device to complete the
/// commands it cancelled (QEMU does so at once, from its main loop; VMware
/// before the reset command returns).
const RESET_WAIT_MS: i64 = 2000;
/// Longest single sleep of a wait: the ring is drained at least this often,
/// should an interrupt be lost.
const WAIT_SLICE_MS: u32 = 100;

impl Adapter<'_> {
    /// Announces every published request and completes what the device has
    /// completed.
    fn flush(&self) {
        self.commit_rqs_now();
        self.hw.kick_non_rw();
        let _ = self.drain_completions();
    }

    /// Waits up to `ms` milliseconds until `done` holds, deciding under the
    /// `complete` lock (after draining the ring) and sleeping until a
    /// completion signals `idle`; returns whether it held.
    fn wait_until(&self, ms: i64, done: impl Fn(&Self) -> bool) -> bool {
        let start = Instant::<Monotonic>::now();
        self.waiters.fetch_add(1, Relaxed);
        let mut st = self.complete.lock();
        let held = loop {
            let _ = self.drain(&mut st, self.rings.cmp_ring.entries());
            if done(self) {
                break true;
            }
            if start.elapsed() > Delta::from_millis(ms) {
                break false;
            }
            if let CondVarTimeoutResult::Signal { .. } = self
                .idle
                .wait_interruptible_timeout(&mut st, msecs_to_jiffies(WAIT_SLICE_MS))
            {
                // An ioctl caller with a signal pending: the wait returns at
                // once, so sleep instead (without the lock).
                drop(st);
                fsleep(Delta::from_millis(10));
                st = self.complete.lock();
            }
        };
        drop(st);
        self.waiters.fetch_sub(1, Relaxed);
        held
    }

    /// Whether `done` holds now, decided under the `complete` lock after
    /// draining the ring.
    fn holds_now(&self, done: impl Fn(&Self) -> bool) -> bool {
        let mut st = self.complete.lock();
        let _ = self.drain(&mut st, self.rings.cmp_ring.entries());
        done(self)
    }

    /// The context of `cmd`, if its tag names one.
    fn context_of(&self, cmd: &EhCommand<'_>) -> Option<&Context> {
        self.ctx.get(cmd.tag() as usize)
    }

    /// Whether no command of channel `bus`, target `target` is in flight
    /// (every one of `bus` if `target` is `None`); call under `complete`.
    fn idle_on(&self, bus: u8, target: Option<u8>) -> bool {
        self.ctx
            .iter()
            .all(|c| !c.slot.is_busy() || !on_target(c, bus, target))
    }

    /// `eh_abort_handler`.
    pub(crate) fn abort(&self, cmd: EhCommand<'_>) -> bool {
        let _eh = self.eh.lock();
        let Some(ctx) = self.context_of(&cmd) else {
            return false;
        };
        // A request the device has not seen cannot be aborted: announce it.
        self.flush();
        let gone = |_: &Self| !ctx.slot.holds(&cmd);
        if self.holds_now(gone) {
            // Completed meanwhile, and its completion has finished.
            return true;
        }
        let generation = ctx.stamp().generation;
        self.hw.command_with(
            Command::AbortCmd,
            &AbortCmd {
                context: request::context_of(cmd.tag(), generation),
                target: cmd.id(),
                _pad: 0,
            },
        );
        let done = self.wait_until(ABORT_WAIT_MS, gone);
        dev_info!(
            self.dev,
            "abort of command (tag {}) on target {}: {}\n",
            cmd.tag(),
            cmd.id(),
            if done { "done" } else { "no completion" }
        );
        done
    }

    /// `eh_device_reset_handler`: resets the target of `cmd` (the C driver
    /// leaves the LUN 0 too: PVSCSI devices have one LUN); see
    /// [`Adapter::reset_and_collect`].
    pub(crate) fn device_reset(&self, cmd: EhCommand<'_>) -> bool {
        let _eh = self.eh.lock();
        let (Ok(bus), Ok(target)) = (u8::try_from(cmd.channel()), u8::try_from(cmd.id())) else {
            return false;
        };
        let reset = ResetDevice {
            target: cmd.id(),
            lun: [0; 8],
        };
        let outcome = self.reset_and_collect(bus, Some(target), || {
            self.hw.command_with(Command::ResetDevice, &reset)
        });
        dev_info!(
            self.dev,
            "reset of target {}:{}: {}\n",
            bus,
            target,
            outcome
        );
        outcome.succeeded()
    }

    /// `eh_bus_reset_handler`: resets the bus; see
    /// [`Adapter::reset_and_collect`].
    pub(crate) fn bus_reset(&self, cmd: EhCommand<'_>) -> bool {
        let _eh = self.eh.lock();
        let Ok(bus) = u8::try_from(cmd.channel()) else {
            return false;
        };
        let outcome = self.reset_and_collect(bus, None, || self.hw.command(Command::ResetBus, &[]));
        dev_info!(self.dev, "bus reset: {}\n", outcome);
        outcome.succeeded()
    }

    /// Resets a target (or, `target` being `None`, a bus) with `reset` and
    /// takes its commands back; the caller holds `eh`.
    ///
    /// Submission pauses first (a command queued meanwhile gets BUSY and is
    /// retried), so every command of the target was announced to the device
    /// before the reset. The device completes what the reset cancels; a
    /// command it has still not returned after [`RESET_WAIT_MS`] is one it
    /// forgot (its completion was lost or corrupted): the reset succeeded,
    /// so the device no longer works on it, and it is completed with
    /// `DID_RESET` and counted. Should the device complete it after all,
    /// its context's generation has moved on and the completion is dropped
    /// as stale. If the device refused the reset, nothing is taken back and
    /// the reset fails (the midlayer escalates); it fails too if the
    /// completion ring's indices are corrupt, which only the adapter reset
    /// repairs.
    ///
    /// A refusal is the command status -1, the one failure the interface
    /// defines (QEMU answers it for a target it does not have). What else
    /// the status holds after a reset is undocumented (VMware's device may
    /// leave any value there, and no public driver reads it), so any other
    /// value is taken for success.
    fn reset_and_collect(&self, bus: u8, target: Option<u8>, reset: impl FnOnce()) -> ResetOutcome {
        let gate = core::mem::replace(&mut self.submit.lock().gate, Gate::Paused);
        self.flush();
        reset();
        let mut outcome = if self.hw.status() == COMMAND_STATUS_UNSUPPORTED {
            ResetOutcome::Refused
        } else if self.wait_until(RESET_WAIT_MS, |a| a.idle_on(bus, target)) {
            ResetOutcome::Done
        } else {
            ResetOutcome::Collected(self.sweep(bus, target))
        };
        if self.complete.lock().corrupt {
            // Commands would be lost again: let the midlayer escalate to
            // the adapter reset.
            outcome = ResetOutcome::RingCorrupt;
        }
        self.submit.lock().gate = gate;
        outcome
    }

    /// Completes with `DID_RESET` every command of `bus`/`target` still in
    /// its context (see [`Adapter::reset_and_collect`]) and counts them;
    /// returns how many.
    fn sweep(&self, bus: u8, target: Option<u8>) -> u32 {
        let n = self.take_back(|c| on_target(c, bus, target), HostByte::RESET);
        self.faults.lost_commands.fetch_add(n, Relaxed);
        n
    }

    /// `eh_host_reset_handler`: resets the adapter, completes every command
    /// (`DID_RESET` for those the device did not complete), registers the
    /// rings anew and rescans. Never waits for the hot-plug work item.
    pub(crate) fn host_reset(&self, _cmd: EhCommand<'_>) -> bool {
        let _eh = self.eh.lock();
        self.halt(Gate::Paused, HostByte::RESET);
        match self.restart() {
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

/// Whether context `c` was last used for channel `bus`, target `target`
/// (any target of `bus` if `target` is `None`).
fn on_target(c: &Context, bus: u8, target: Option<u8>) -> bool {
    let key = c.stamp().target;
    match target {
        Some(t) => key == target_key(bus, t),
        None => key >> 8 == u16::from(bus),
    }
}

/// How a device or bus reset ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResetOutcome {
    /// The device returned every command of the target.
    Done,
    /// The device returned all but this many, which were taken back.
    Collected(u32),
    /// The device refused the reset command.
    Refused,
    /// The completion ring's indices are corrupt (the device and the driver
    /// disagree where it is): only an adapter reset helps.
    RingCorrupt,
}

impl ResetOutcome {
    /// Whether the reset succeeded (`SUCCESS` to the midlayer).
    fn succeeded(self) -> bool {
        !matches!(self, Self::Refused | Self::RingCorrupt)
    }
}

impl kernel::fmt::Display for ResetOutcome {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        match self {
            Self::Done => f.write_str("done"),
            Self::Collected(n) => write!(
                f,
                "done; {n} command(s) the device did not return completed as reset"
            ),
            Self::Refused => f.write_str("refused by the device"),
            Self::RingCorrupt => f.write_str("completion ring corrupt, adapter reset needed"),
        }
    }
}
