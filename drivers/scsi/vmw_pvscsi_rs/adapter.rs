// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The adapter: state shared by command submission ([`super::submit`]),
//! completion ([`super::complete`]) and hot-plug ([`super::msg`]), and the
//! device commands that bring it up and tear it down.
//!
//! # Locking
//!
//! - `eh` (a mutex) serializes everything that sends the device a command
//!   through COMMAND/COMMAND_DATA (the dwords of two commands must never
//!   interleave) and every whole-adapter transition: the error handlers
//!   (which the midlayer's error thread, its asynchronous abort work and the
//!   SG_SCSI_RESET ioctl may all run at once), shutdown and system sleep.
//! - `submit` serializes producers of the request ring (`queuecommand` runs
//!   concurrently on several CPUs, without the host lock), and holds the
//!   gate that stops submission during a reset, a sleep or after shutdown.
//! - `complete` serializes consumers of the completion ring (the interrupt
//!   handler and its thread, the error handlers, resets). Every command
//!   leaves its context slot under `complete`, and the completion path holds
//!   it until the command is handed back to the midlayer; so "has this
//!   command finished?" is decided under `complete`, never by a bare look at
//!   a slot.
//! - With a poll queue, [`Polling::irq_cmds`] counts the commands that wait
//!   for an interrupt; the submission path decides under `submit` whether
//!   the completion interrupt is needed (see [`Polling`]).
//! - Order: `eh`, then the message ring's `cursor` ([`MsgWork`]), then
//!   `complete`, then `submit`. (A completion handed to the midlayer under
//!   `complete` may start new I/O and take `submit`.) Nothing waits, under
//!   any of them, for work that needs the host: resets do not wait for the
//!   hot-plug work item, which may itself wait for a command.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    io::{
        io_read,
        io_write, //
    },
    new_condvar,
    new_mutex,
    new_spinlock_irq,
    prelude::*,
    static_lock_class,
    sync::{
        aref::ARef,
        atomic::{
            ordering::Relaxed,
            Atomic, //
        },
        Arc,
        CondVar,
        Mutex,
        SpinLockIrq, //
    }, //
};

use super::{
    abi::{
        Command,
        SetupReqCall,
        COMMAND_STATUS_UNSUPPORTED,
        INTR_CMPL_MASK,
        INTR_MSG_MASK, //
    },
    additions::{
        HasTicker,
        Ticker, //
    },
    config::Config,
    context::{
        Context,
        Contexts, //
    },
    faults::Faults,
    hw::Hw,
    msg::MsgWork,
    probe::Targets,
    request::{
        Kicks,
        Stamp, //
    },
    rings::{
        MsgRing,
        Rings, //
    },
    scsi::HostByte, //
};

/// Producer state of the request ring, under [`Adapter::submit`].
pub(crate) struct SubmitState {
    /// The next request index (the driver's copy of `req_prod_idx`).
    pub(crate) prod: u32,
    /// Doorbells owed for published requests, rung at the end of a batch.
    pub(crate) kicks: Kicks,
    /// Whether new commands may be published.
    pub(crate) gate: Gate,
    /// The device coalesces read/write requests (`SETUP_REQCALLTHRESHOLD`).
    pub(crate) req_threshold: bool,
    /// The completion interrupt is unmasked, as far as submission is
    /// concerned (see [`Polling`]); set again whenever all interrupts are.
    pub(crate) cmpl_irq: bool,
}

impl SubmitState {
    /// What `Adapter::ring_doorbells` (submission) needs to coalesce read/write
    /// doorbells: the producer index as it is under the lock, when the
    /// device coalesces at all.
    pub(crate) fn coalesce(&self) -> Option<u32> {
        self.req_threshold.then_some(self.prod)
    }
}

/// Polled I/O (the `poll_queues` parameter): commands of the poll queue are
/// reaped by their submitters through `mq_poll`, which drains the one
/// completion ring, so they need no interrupt.
///
/// The device has one completion interrupt for every command, so the driver
/// masks it while every command in flight is polled, and unmasks it before
/// publishing a command that is not. `irq_cmds` counts the commands that
/// wait for an interrupt: incremented by the submission path under `submit`
/// before the command is published, decremented when the command leaves its
/// context (under `complete`). The submission path masks the interrupt only
/// when it reads 0 under `submit`: every command that needs an interrupt
/// and is not yet complete was counted under that lock, and any later one
/// unmasks again before the device can see it. Message-ring interrupts stay
/// on throughout; the error handlers drain the ring themselves.
///
/// A submitter may stop polling with commands in flight: a task stopped by
/// a signal or frozen for a system sleep, or one that left the `io_uring`
/// loop. So while the interrupt is masked the adapter's ticker
/// ([`Adapter::poll_backstop`]) looks every [`POLL_BACKSTOP_MS`]: if no
/// task polled since its last look, it drains the ring itself and unmasks
/// the interrupt (the next polled submission masks it again). A polled
/// command thus waits at most about two intervals once nobody polls for
/// it, never for the command timeout and the error handler. Commands the
/// error handler sends on the request of a polled command are not polled
/// (`Command::is_polled`).
pub(crate) struct Polling {
    /// Commands in flight that wait for an interrupt.
    pub(crate) irq_cmds: Atomic<u32>,
}

/// How often, while the completion interrupt is masked for polled I/O, the
/// adapter checks that somebody still polls (see [`Polling`]).
pub(crate) const POLL_BACKSTOP_MS: u32 = 10;

/// Whether the request ring takes new commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Yes.
    Open,
    /// Not now (an adapter reset or a system sleep): the midlayer retries.
    Paused,
    /// Never again (shut down, or the device failed to restart): fail them.
    Closed,
}

/// Consumer state of the completion ring, under [`Adapter::complete`].
pub(crate) struct CompleteState {
    /// The next completion index (the driver's copy of `cmp_cons_idx`).
    pub(crate) cons: u32,
    /// The last drain found the ring indices corrupt: the device and the
    /// driver no longer agree where the ring is, and only an adapter reset
    /// (which registers the rings anew) brings them together again.
    pub(crate) corrupt: bool,
    /// Calls of `mq_poll` so far (wrapping), and their number at the last
    /// look of [`Adapter::poll_backstop`].
    pub(crate) polls: u32,
    /// See `polls`.
    pub(crate) polls_seen: u32,
}

/// State shared by the I/O paths of one adapter.
#[pin_data(PinnedDrop)]
pub(crate) struct Adapter<'bound> {
    /// The PCI function, for logging.
    pub(crate) dev: ARef<Device>,
    /// The registers.
    pub(crate) hw: Hw<'bound>,
    /// The request and completion rings.
    pub(crate) rings: Rings,
    /// Per-context DMA memory and in-flight commands.
    pub(crate) ctx: Contexts,
    /// Request ring producer; see the module documentation.
    #[pin]
    pub(crate) submit: SpinLockIrq<SubmitState>,
    /// Completion ring consumer; see the module documentation.
    #[pin]
    pub(crate) complete: SpinLockIrq<CompleteState>,
    /// Device commands and adapter transitions; see the module
    /// documentation.
    #[pin]
    pub(crate) eh: Mutex<()>,
    /// Signalled (under `complete`) when commands complete while an error
    /// handler waits for some.
    #[pin]
    pub(crate) idle: CondVar,
    /// Error handlers waiting on `idle`.
    pub(crate) waiters: Atomic<u32>,
    /// Hot-plug message processing, when the message ring is in use.
    pub(crate) msg: Option<Arc<MsgWork>>,
    /// Polled I/O, when the host has a poll queue.
    pub(crate) poll: Option<Polling>,
    /// Targets are `0..max_id`.
    pub(crate) max_id: u32,
    /// Queue depth of each LUN.
    pub(crate) cmd_per_lun: u32,
    /// Whether to set up request coalescing (the `use_req_threshold` parameter).
    pub(crate) use_req_threshold: bool,
    /// Device misbehaviour counters.
    pub(crate) faults: Faults,
    /// Runs [`Adapter::tick`] while the completion interrupt is masked for
    /// polled I/O, and after a batch started to owe doorbells.
    #[pin]
    pub(crate) backstop: Ticker,
}

// SAFETY: `backstop` is a field of `Adapter`, which is pinned (it lives in
// an `Arc`) and disables it first thing when it is dropped.
unsafe impl HasTicker for Adapter<'_> {
    const OFFSET: usize = core::mem::offset_of!(Adapter<'static>, backstop);

    fn tick(&self) {
        self.tick();
    }
}

impl<'bound> Adapter<'bound> {
    /// Allocates the adapter's DMA memory; the device is set up by
    /// [`Adapter::start`].
    pub(crate) fn new(
        dev: &'bound Device<Bound>,
        hw: Hw<'bound>,
        cfg: &Config,
        targets: Targets,
        use_msg: bool,
    ) -> Result<impl PinInit<Self, Error> + 'bound> {
        let pages = cfg.ring_pages_for(targets.reported);
        let rings = Rings::new(dev, pages)?;
        // `can_queue` is the request ring's size, and the completion ring is
        // four times larger: neither ring can overflow, by construction.
        let ctx = Contexts::new(dev, rings.req_ring.entries() as usize)?;
        let msg = if use_msg {
            let ring = MsgRing::new(dev, cfg.msg_ring_pages)?;
            Some(MsgWork::new(ring, rings.state.clone(), dev.into())?)
        } else {
            None
        };
        let cmd_per_lun = cfg.cmd_per_lun.min(rings.req_ring.entries());
        let use_req_threshold = cfg.use_req_threshold;
        let poll = (cfg.poll_queues > 0).then(|| Polling {
            irq_cmds: Atomic::new(0),
        });
        Ok(try_pin_init!(Self {
            dev: dev.into(),
            hw,
            rings,
            ctx,
            submit <- new_spinlock_irq!(
                SubmitState {
                    prod: 0,
                    kicks: Kicks::NONE,
                    gate: Gate::Open,
                    req_threshold: false,
                    cmpl_irq: true,
                },
                "vmw_pvscsi_rs:submit"
            ),
            complete <- new_spinlock_irq!(CompleteState {
                    cons: 0,
                    corrupt: false,
                    polls: 0,
                    polls_seen: 0,
                }, "vmw_pvscsi_rs:complete"),
            eh <- new_mutex!((), "vmw_pvscsi_rs:eh"),
            idle <- new_condvar!("vmw_pvscsi_rs:idle"),
            waiters: Atomic::new(0),
            msg,
            poll,
            max_id: targets.max_id,
            cmd_per_lun,
            use_req_threshold,
            faults: Faults::new(),
            backstop <- Ticker::new::<Self>(
                c"vmw_pvscsi_rs:backstop",
                static_lock_class!(),
                static_lock_class!()
            ),
        }? Error))
    }

    /// Registers the rings with the device, then the message ring and
    /// request coalescing where available. Interrupts stay masked. Called at
    /// probe, and with `eh` held afterwards.
    ///
    /// # Errors
    ///
    /// `EIO` if the device did not accept the rings.
    pub(crate) fn start(&self) -> Result {
        self.hw
            .command_with(Command::SetupRings, &self.rings.setup_desc());
        let state = &*self.rings.state;
        let req_log2 = io_read!(state, .req_num_entries_log2);
        let cmp_log2 = io_read!(state, .cmp_num_entries_log2);
        if !self.rings.req_ring.check_device_log2(req_log2)
            || !self.rings.cmp_ring.check_device_log2(cmp_log2)
        {
            dev_err!(
                self.dev,
                "device did not accept the rings (ring sizes log2 {}/{}, expected {}/{})\n",
                req_log2,
                cmp_log2,
                self.rings.req_ring.log2(),
                self.rings.cmp_ring.log2()
            );
            return Err(EIO);
        }
        if let Some(msg) = &self.msg {
            // SETUP_MSG_RING only takes effect after SETUP_RINGS.
            self.hw
                .command_with(Command::SetupMsgRing, &msg.ring().setup_desc());
            let log2 = io_read!(state, .msg_num_entries_log2);
            let accepted = msg.ring().geometry.check_device_log2(log2);
            if !accepted {
                // QEMU with use_msg=0 answers the support probe as if the
                // command existed, then ignores it.
                dev_info!(
                    self.dev,
                    "device ignored the message ring; no hot-plug notifications\n"
                );
            }
            msg.set_enabled(accepted);
        }
        if self.use_req_threshold {
            self.setup_req_threshold();
        }
        Ok(())
    }

    /// Sets every ring index, the driver's copies included, back to 0 for a
    /// new `SETUP_RINGS` after an adapter reset, and invalidates the
    /// contexts' sense buffers.
    ///
    /// Each index is written under the lock its readers hold, with the
    /// driver's copy: the completion ring's under `complete` (a task polling
    /// the poll queue drains the ring in `mq_poll` throughout a recovery,
    /// and one that read the old producer index between two unlocked writes
    /// would consume stale entries and leave its copy ahead of the device's
    /// zeroed ring), the request ring's and the threshold under `submit`
    /// too (the doorbell decisions read them), the message ring's under its
    /// cursor lock ([`MsgWork::restart`]).
    pub(crate) fn restart_rings(&self) {
        let state = &*self.rings.state;
        {
            let mut cst = self.complete.lock();
            let mut sst = self.submit.lock();
            sst.prod = 0;
            sst.kicks = Kicks::NONE;
            sst.req_threshold = false;
            // `restart` unmasks every interrupt after this.
            sst.cmpl_irq = true;
            cst.cons = 0;
            cst.corrupt = false;
            io_write!(state, .req_prod_idx, 0);
            io_write!(state, .req_cons_idx, 0);
            io_write!(state, .req_call_threshold, 0);
            io_write!(state, .cmp_prod_idx, 0);
            io_write!(state, .cmp_cons_idx, 0);
        }
        if let Some(msg) = &self.msg {
            msg.restart();
        }
        // Commands the reset ended never completed, so their sense buffers
        // were not cleared after use.
        self.ctx.clear_all_sense();
    }

    /// Enables driver-side request coalescing if the device supports it.
    fn setup_req_threshold(&self) {
        self.hw.command(Command::SetupReqCallThreshold, &[]);
        if self.hw.status() == COMMAND_STATUS_UNSUPPORTED {
            dev_info!(self.dev, "device does not support req_threshold\n");
            return;
        }
        self.hw
            .command_with(Command::SetupReqCallThreshold, &SetupReqCall { enable: 1 });
        let enabled = self.hw.status() != 0;
        self.submit.lock().req_threshold = enabled;
        dev_info!(
            self.dev,
            "driver-based request coalescing {}\n",
            if enabled { "enabled" } else { "disabled" }
        );
    }

    /// Interrupt causes the driver handles.
    pub(crate) fn intr_mask(&self) -> u32 {
        match &self.msg {
            Some(msg) if msg.is_enabled() => INTR_CMPL_MASK | INTR_MSG_MASK,
            _ => INTR_CMPL_MASK,
        }
    }

    /// Unmasks the interrupts the driver handles.
    pub(crate) fn unmask_interrupts(&self) {
        self.hw.set_intr_mask(self.intr_mask());
    }

    /// Masks every interrupt.
    pub(crate) fn mask_interrupts(&self) {
        self.hw.set_intr_mask(0);
    }

    /// Accounts for a command that has just left its context (under
    /// `complete`), whose context's stamp is `stamp`: see [`Polling`].
    #[inline(always)]
    pub(crate) fn left_context(&self, stamp: Stamp) {
        if let Some(poll) = &self.poll {
            if stamp.needs_irq {
                poll.irq_cmds.fetch_sub(1, Relaxed);
            }
        }
    }

    /// Wakes the error handlers waiting for commands to complete; called
    /// under `complete`.
    pub(crate) fn wake_waiters(&self) {
        if self.waiters.load(Relaxed) != 0 {
            self.idle.notify_all();
        }
    }

    /// Stops the device and takes every command back from it; the caller
    /// holds `eh`.
    ///
    /// Submission stops at `gate` first, so nothing is published after the
    /// sweep below. The device is reset (it completes what it cancels into
    /// the ring: QEMU does so synchronously) and the ring drained; a command
    /// still in its context after that is completed with host byte
    /// `leftover`. Interrupts are left masked, the message ring paused (the
    /// hot-plug work item is not waited for).
    pub(crate) fn halt(&self, gate: Gate, leftover: HostByte) {
        {
            let mut st = self.submit.lock();
            st.gate = gate;
            // The doorbells owed are for commands taken back below.
            st.kicks = Kicks::NONE;
        }
        self.mask_interrupts();
        if let Some(msg) = &self.msg {
            msg.pause();
        }
        // Let the device see every published request before the reset, as
        // the C driver does; the reset then cancels them.
        self.hw.kick_non_rw();
        self.hw.reset();
        self.take_back(|_| true, leftover);
    }

    /// Drains the ring, then completes with host byte `host` every command
    /// still in a context that `which` selects; returns how many. Takes
    /// `complete`.
    ///
    /// What a reset cancelled fits the ring (at most one completion per
    /// context); anything a misbehaving device writes beyond one ring's
    /// worth is dropped with the ring indices.
    pub(crate) fn take_back(&self, which: impl Fn(&Context) -> bool, host: HostByte) -> u32 {
        let mut st = self.complete.lock();
        let _ = self.drain(&mut st, self.rings.cmp_ring.entries());
        let mut n = 0u32;
        for (i, ctx) in self.ctx.iter().enumerate() {
            if !which(ctx) {
                continue;
            }
            if let Some(cmd) = ctx.slot.take() {
                self.left_context(ctx.stamp());
                // The device may have written sense data for it.
                if let Some(dma) = self.ctx.dma(i) {
                    let _ = dma.clear_sense();
                }
                cmd.fail(host);
                n += 1;
            }
        }
        if n > 0 {
            self.wake_waiters();
        }
        n
    }

    /// Brings the device back after [`Adapter::halt`] or a system sleep
    /// (whatever state the device is in): resets it, registers the rings
    /// anew, opens submission, unmasks interrupts and queues a rescan for
    /// the hot-plug events missed meanwhile. The caller holds `eh`.
    ///
    /// # Errors
    ///
    /// `EIO` if the device does not take the rings; submission is then
    /// closed for good (commands fail with `DID_NO_CONNECT`).
    pub(crate) fn restart(&self) -> Result {
        self.mask_interrupts();
        self.hw.reset();
        self.restart_rings();
        if let Err(e) = self.start() {
            self.submit.lock().gate = Gate::Closed;
            return Err(e);
        }
        self.submit.lock().gate = Gate::Open;
        self.unmask_interrupts();
        if let Some(msg) = &self.msg {
            msg.rescan();
        }
        Ok(())
    }

    /// Quiesces the adapter for power-off, reboot or kexec, once the disks
    /// are shut down (`device_shutdown()` runs the PCI driver's shutdown
    /// after its children's): resets the device, so that it stops using the
    /// rings before the next kernel owns the memory, and refuses every later
    /// command.
    pub(crate) fn shut_down(&self) {
        let _eh = self.eh.lock();
        self.halt(Gate::Closed, HostByte::NO_CONNECT);
        // Nothing touches the device after this.
        self.backstop.disable_sync();
        dev_info!(self.dev, "adapter quiesced for shutdown\n");
    }

    /// Commands in flight (for the teardown check).
    pub(crate) fn in_flight(&self) -> usize {
        self.ctx.iter().filter(|c| c.slot.is_busy()).count()
    }
}

#[pinned_drop]
impl PinnedDrop for Adapter<'_> {
    fn drop(self: Pin<&mut Self>) {
        // No tick runs after this, nor touches the device.
        self.backstop.disable_sync();
        // The device must forget the rings before their memory is freed (the
        // fields are dropped after this). By now the SCSI host is removed, so
        // no command is in flight, and the interrupt handler is gone.
        self.mask_interrupts();
        self.hw.reset();
        let left = self.in_flight();
        if left != 0 {
            dev_err!(self.dev, "{} commands still in flight at teardown\n", left);
        }
    }
}
