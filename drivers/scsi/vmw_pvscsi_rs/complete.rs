// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Completions: the interrupt handler drains the completion ring, checks
//! everything the device wrote, and completes the commands.

use kernel::{
    dma::CoherentView,
    interrupt::LocalInterruptDisabled,
    io::{
        io_project,
        io_read,
        io_write, //
    },
    irq::{
        self,
        IrqReturn,
        ThreadedIrqReturn, //
    },
    pci::IrqType,
    prelude::*,
    sync::{
        atomic::ordering::Relaxed,
        barrier::{
            dma_mb,
            Read, //
        },
        Arc, //
    },
    time::msecs_to_jiffies, //
};

use super::{
    abi::{
        CmpDesc,
        INTR_ALL_SUPPORTED,
        INTR_CMPL_MASK,
        INTR_MSG_MASK, //
    },
    adapter::{
        Adapter,
        CompleteState,
        Gate,
        POLL_BACKSTOP_MS, //
    },
    additions::IrqHandlers,
    context::Context,
    faults::Faults,
    request::{
        self,
        Stamp, //
    },
    scsi::{
        Command,
        CommandResult,
        HostByte, //
    },
    status::{
        self,
        did,
        Completion,
        Sense,
        SENSE_BUFFER_SIZE, //
    }, //
};

// The status mapping (status.rs) depends on `core` only, to be tested and
// fuzzed on the host, so it spells the midlayer's values out; they must be
// the kernel's.
const _: () = {
    assert!(did::OK == HostByte::OK.raw() as u32);
    assert!(did::BUS_BUSY == HostByte::BUS_BUSY.raw() as u32);
    assert!(did::BAD_TARGET == HostByte::BAD_TARGET.raw() as u32);
    assert!(did::PARITY == HostByte::PARITY.raw() as u32);
    assert!(did::ERROR == HostByte::ERROR.raw() as u32);
    assert!(did::RESET == HostByte::RESET.raw() as u32);
    assert!(SENSE_BUFFER_SIZE == crate::scsi::SENSE_BUFFERSIZE);
};

/// Rounds of draining the interrupt thread does before it leaves the rest to
/// the next interrupt (a device that keeps producing completions must not
/// keep a CPU forever, even in a thread).
const THREAD_ROUNDS: u32 = 16;

/// Whether a bounded drain left completions in the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// The ring is empty (or unusable).
    All,
    /// The budget ran out with completions pending.
    More,
}

impl Adapter<'_> {
    /// Completions one drain consumes at most: as many as the ring holds.
    /// A well-behaved device never has more pending than there are
    /// contexts; the bound stops one that keeps advancing its index.
    fn budget(&self) -> u32 {
        self.rings.cmp_ring.entries()
    }

    /// Completes what the device has completed, up to one budget (process
    /// context).
    pub(crate) fn drain_completions(&self) -> Drained {
        let mut st = self.complete.lock();
        self.drain(&mut st, self.budget())
    }

    /// Completes what the device has completed, for a task polling the poll
    /// queue (`mq_poll`, process context); returns how many commands it
    /// completed.
    pub(crate) fn poll_completions(&self) -> u32 {
        let mut st = self.complete.lock();
        st.polls = st.polls.wrapping_add(1);
        let mut n = 0;
        let _ = self.drain_counting(&mut st, self.budget(), &mut n);
        n
    }

    /// The ticker's work: rings the doorbells a batch still owes (its last
    /// request may have been completed by the midlayer without reaching
    /// the driver, see `Adapter::submit`), then looks at polled I/O.
    pub(crate) fn tick(&self) {
        self.commit_rqs_now();
        self.poll_backstop();
    }

    /// The ticker's look at polled I/O, every [`POLL_BACKSTOP_MS`] while the
    /// completion interrupt is masked for it (see
    /// [`super::adapter::Polling`]): if no task
    /// called `mq_poll` since the last look, completes what the device has
    /// completed and unmasks the interrupt; otherwise looks again later.
    /// Does nothing once the interrupt is unmasked, nor while submission is
    /// paused or closed (a reset or a sleep masks every interrupt, and
    /// unmasks them when it ends).
    ///
    /// The completion cause is acknowledged before the drain, so that a
    /// completion the drain misses sets it again and interrupts once
    /// unmasked.
    fn poll_backstop(&self) {
        let mut cst = self.complete.lock();
        let polled = cst.polls != cst.polls_seen;
        cst.polls_seen = cst.polls;
        {
            let sst = self.submit.lock();
            if sst.cmpl_irq || sst.gate != Gate::Open {
                return;
            }
            if polled {
                self.backstop.arm(msecs_to_jiffies(POLL_BACKSTOP_MS));
                return;
            }
        }
        self.hw.ack_intr(INTR_CMPL_MASK);
        let mut n = 0;
        let _ = self.drain_counting(&mut cst, self.budget(), &mut n);
        let mut sst = self.submit.lock();
        if !sst.cmpl_irq && sst.gate == Gate::Open {
            self.hw.set_intr_mask(self.intr_mask());
            sst.cmpl_irq = true;
        }
        drop(sst);
        drop(cst);
        if n > 0 {
            self.faults.unpolled.fetch_add(n, Relaxed);
        }
    }

    /// Completes what the device has completed, up to one budget, in the
    /// hard interrupt handler.
    #[inline(always)]
    fn drain_in_irq(&self, irqs_off: &LocalInterruptDisabled) -> Drained {
        self.drain(&mut self.complete.lock_with(irqs_off), self.budget())
    }

    /// Drains the completion ring, at most `budget` entries; `st` is the
    /// locked consumer state. Holding it across the hand-back of each command
    /// to the midlayer is what lets the error handlers decide, under the same
    /// lock, that a command has finished completing.
    #[inline(always)]
    pub(crate) fn drain(&self, st: &mut CompleteState, budget: u32) -> Drained {
        let mut n = 0;
        self.drain_counting(st, budget, &mut n)
    }

    /// [`Adapter::drain`], adding the number of commands completed to `n`.
    #[inline(always)]
    fn drain_counting(&self, st: &mut CompleteState, budget: u32, n: &mut u32) -> Drained {
        let state = &*self.rings.state;
        let ring = self.rings.cmp_ring;
        let mut cons = st.cons;
        // The index at which the budget is spent.
        let stop = cons.wrapping_add(budget);
        // One store of `corrupt` per drain, when it ends: the indices were
        // sane unless the last look found them corrupt.
        let start = cons;
        let (drained, corrupt) = loop {
            let prod = io_read!(state, .cmp_prod_idx);
            let pending = match ring.pending(prod, cons) {
                Ok(0) => break (Drained::All, false),
                Ok(n) => n,
                Err(e) => {
                    if Faults::should_log(&self.faults.bad_completions) {
                        dev_err!(
                            self.dev,
                            "completion ring indices corrupt (prod {}, cons {}); ignored\n",
                            e.prod,
                            e.cons
                        );
                    }
                    break (Drained::All, true);
                }
            };
            let left = stop.wrapping_sub(cons);
            if left == 0 {
                break (Drained::More, false);
            }
            // Read the descriptors only after the producer index.
            dma_mb(Read);
            let end = cons.wrapping_add(pending.min(left));
            while cons != end {
                let slot = ring.slot(cons);
                cons = cons.wrapping_add(1);
                *n += u32::from(self.complete_one(slot));
            }
            // The descriptors are read; the device may reuse the slots.
            st.cons = cons;
            io_write!(state, .cmp_cons_idx, cons);
        };
        st.corrupt = corrupt;
        if cons != start {
            self.kick_if_idle();
        }
        // Whether or not this drain completed anything: a waiter rechecks
        // its condition, and the test is one load.
        self.wake_waiters();
        drained
    }

    /// Completion descriptor `slot`.
    #[inline(always)]
    fn cmp_desc(&self, slot: usize) -> Result<CoherentView<'_, CmpDesc>> {
        Ok(io_project!(&self.rings.cmp, [try: slot]))
    }

    /// Completes the command that completion descriptor `slot` names, after
    /// checking it; returns whether it completed one. Runs under the
    /// `complete` lock.
    ///
    /// The descriptor's fields are read one by one, each once, in the order
    /// they are needed: a clean completion reads five of them.
    #[inline(always)]
    fn complete_one(&self, slot: usize) -> bool {
        let Ok(desc) = self.cmp_desc(slot) else {
            return false;
        };
        let context = io_read!(desc, .context);
        let cookie = request::decode_cookie(context, self.ctx.len());
        let Some((cookie, ctx)) = cookie.and_then(|c| Some((c, self.ctx.get(c.index)?))) else {
            self.dropped_completion(context);
            return false;
        };
        // Every command leaves its slot under this lock. Taking the command
        // out first (one atomic exchange, the only one a clean completion
        // needs) also orders the stamp read after the one its submitter
        // stored before filling the slot (see `Context`).
        let Some(cmd) = ctx.slot.take() else {
            self.idle_completion(context);
            return false;
        };
        let stamp = ctx.stamp();
        if !request::same_generation(stamp.generation, &cookie) {
            self.stale_completion(cmd, ctx, context, stamp);
            return false;
        }
        self.left_context(stamp);
        let c = read_completion(desc);
        let bufflen = cmd.bufflen();
        if let Some(resid) = status::clean(&c, bufflen) {
            // The common case: success, GOOD status, no sense data written,
            // and no more bytes than the buffer holds.
            cmd.complete(CommandResult::GOOD, resid, None);
            return true;
        }
        self.complete_unusual(cmd, desc, cookie.index);
        true
    }

    /// Counts and logs a completion dropped because its context cookie
    /// `context` names no context. Out of line, so that the hot path keeps
    /// no copy of the cookie for the message.
    #[cold]
    #[inline(never)]
    fn dropped_completion(&self, context: u64) {
        if Faults::should_log(&self.faults.bad_completions) {
            dev_err!(
                self.dev,
                "completion with invalid context {:#x}; dropped\n",
                context
            );
        }
    }

    /// Drops a completion, context cookie `context`, for a context that is
    /// idle: for a command the context no longer holds, one completed
    /// already (a device that repeats itself) or one a reset took back when
    /// it stopped waiting for the device (`lost_commands`; VMware posts what
    /// a reset cancelled when its backend lets go, which can be late, and
    /// the context may serve another command meanwhile). Stale, counted in
    /// `stale_completions`.
    #[cold]
    #[inline(never)]
    fn idle_completion(&self, context: u64) {
        if Faults::should_log(&self.faults.stale_completions) {
            dev_warn!(
                self.dev,
                "completion {:#x} for an idle context (its command completed or taken back); dropped\n",
                context
            );
        }
    }

    /// Drops a completion for an earlier command of `ctx` (generation
    /// mismatch) and puts `cmd`, still in flight, back into its slot: under
    /// `complete`, nobody can have seen the slot empty meanwhile.
    #[cold]
    #[inline(never)]
    fn stale_completion(&self, cmd: Command, ctx: &Context, context: u64, stamp: Stamp) {
        if Faults::should_log(&self.faults.stale_completions) {
            dev_err!(
                self.dev,
                "stale completion {:#x} (context serves generation {:#x}); dropped\n",
                context,
                stamp.generation & 0xffff
            );
        }
        if let Err(cmd) = ctx.slot.put(cmd) {
            // Only a second command under the same tag could have filled the
            // slot, which the block layer never does. Fail this one rather
            // than lose it.
            dev_err!(
                self.dev,
                "context {:#x} refilled while its command was in flight; failing it\n",
                context
            );
            self.left_context(stamp);
            cmd.fail(HostByte::ERROR);
        }
    }

    /// Completes `cmd` with sense data or an unusual status, and clears the
    /// context's sense buffer for the next command first: once the command
    /// is handed back, its tag (and so this context) may be reused at once.
    ///
    /// Reads the completion descriptor `desc` again, once: passing what the
    /// fast path read would keep those fields in memory on the fast path
    /// too. What is read here is mapped and checked as a whole.
    #[inline(never)]
    fn complete_unusual(&self, cmd: Command, desc: CoherentView<'_, CmpDesc>, index: usize) {
        let desc = read_completion(desc);
        let outcome = status::map(&desc, cmd.bufflen(), || {
            cmd.cdb().first().is_some_and(|&op| request::is_rw(op))
        });
        let resid = outcome.resid.unwrap_or(0);
        // One count per refused completion, whatever is wrong with it.
        let overrun = desc.data_len > u64::from(cmd.bufflen());
        if (overrun || outcome.unknown_status) && Faults::should_log(&self.faults.bad_completions) {
            if overrun {
                dev_warn!(
                    self.dev,
                    "completion claims {} bytes for a {}-byte buffer\n",
                    desc.data_len,
                    cmd.bufflen()
                );
            }
            if outcome.unknown_status {
                dev_warn!(
                    self.dev,
                    "unknown completion status {:#x}, SCSI status {:#x}\n",
                    desc.host_status,
                    desc.scsi_status
                );
            }
        }
        let result = CommandResult::from_raw(outcome.result);
        let Some(dma) = self.ctx.dma(index) else {
            cmd.complete(result, resid, None);
            return;
        };
        // Copy out whatever the device wrote, then invalidate it: a later
        // command must not see it.
        let sense = dma.read_sense();
        let _ = dma.clear_sense();
        match (outcome.sense, sense) {
            (Sense::Copy(n), Ok(sense)) => cmd.complete(result, resid, sense.data.get(..n)),
            _ => cmd.complete(result, resid, None),
        }
    }
}

/// The fields of completion descriptor `desc` that the status mapping
/// uses, each read once.
#[inline(always)]
fn read_completion(desc: CoherentView<'_, CmpDesc>) -> Completion {
    Completion {
        host_status: io_read!(desc, .host_status),
        scsi_status: io_read!(desc, .scsi_status),
        data_len: io_read!(desc, .data_len),
        sense_len: io_read!(desc, .sense_len),
    }
}

/// The interrupt handler of an adapter.
pub(crate) struct IrqHandler<'bound> {
    adapter: Arc<Adapter<'bound>>,
    /// The line is legacy INTx, possibly shared with other devices.
    intx: bool,
}

impl<'bound> IrqHandler<'bound> {
    /// A handler for `adapter` on an interrupt of type `ty`.
    pub(crate) fn new(adapter: Arc<Adapter<'bound>>, ty: IrqType) -> Self {
        Self {
            adapter,
            intx: matches!(ty, IrqType::Intx),
        }
    }

    /// Request flags for an interrupt of type `ty`: INTx lines are shared.
    pub(crate) fn flags(ty: IrqType) -> irq::Flags {
        if matches!(ty, IrqType::Intx) {
            irq::Flags::SHARED
        } else {
            irq::Flags::TRIGGER_NONE
        }
    }
}

impl IrqHandlers for IrqHandler<'_> {
    fn hard(&self, irqs_off: &LocalInterruptDisabled) -> ThreadedIrqReturn {
        let a = &*self.adapter;
        if self.intx {
            // The line may be another device's: ours only if a cause is set.
            let causes = a.hw.intr_status();
            if causes & INTR_ALL_SUPPORTED == 0 {
                return ThreadedIrqReturn::None;
            }
            // Acknowledge before draining, so a completion arriving meanwhile
            // raises the line again rather than being lost.
            a.hw.ack_intr(causes);
        }
        let drained = a.drain_in_irq(irqs_off);
        if let Some(msg) = &a.msg {
            // With MSI or MSI-X the causes are not read, and the completion
            // cause is not acknowledged (one register write an interrupt
            // spared, as in the C driver); but a message cause left set
            // keeps the device signalling at every completion and mask
            // write, whatever the completion mask (QEMU does). So new
            // messages have it acknowledged, once.
            if msg.notify() && !self.intx {
                a.hw.ack_intr(INTR_MSG_MASK);
            }
        }
        match drained {
            Drained::All => ThreadedIrqReturn::Handled,
            // Finish in the interrupt thread, with interrupts enabled.
            Drained::More => ThreadedIrqReturn::WakeThread,
        }
    }

    fn thread(&self) -> IrqReturn {
        let a = &*self.adapter;
        for _ in 0..THREAD_ROUNDS {
            if a.drain_completions() == Drained::All {
                return IrqReturn::Handled;
            }
        }
        if Faults::should_log(&a.faults.bad_completions) {
            dev_err!(
                a.dev,
                "the device keeps producing completions; the rest waits for the next interrupt\n"
            );
        }
        IrqReturn::Handled
    }
}
