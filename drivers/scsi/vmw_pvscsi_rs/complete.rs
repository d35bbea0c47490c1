// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Completions: the interrupt handler drains the completion ring, checks
//! everything the device wrote, and completes the commands.

use kernel::{
    interrupt::LocalInterruptDisabled,
    io::{
        io_project,
        io_read,
        io_write,
        Io, //
    },
    irq::{
        self,
        IrqReturn,
        ThreadedIrqReturn, //
    },
    pci::IrqType,
    prelude::*,
    sync::{
        barrier::{
            dma_mb,
            Read, //
        },
        Arc, //
    }, //
};

use super::{
    abi::{
        CmpDesc,
        INTR_ALL_SUPPORTED, //
    },
    adapter::{
        Adapter,
        CompleteState,
        Faults, //
    },
    context::Context,
    kext::IrqHandlers,
    request::{
        self,
        Stamp, //
    },
    scsi::Command,
    status::{
        self,
        Completion,
        Outcome,
        Sense, //
    }, //
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
        let mut n = 0;
        let _ = self.drain_counting(&mut st, self.budget(), &mut n);
        n
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
        let mut left = budget;
        let mut completed = false;
        let drained = loop {
            let prod = io_read!(state, .cmp_prod_idx);
            let pending = match self.rings.cmp_ring.pending(prod, st.cons) {
                Ok(0) => {
                    st.corrupt = false;
                    break Drained::All;
                }
                Ok(n) => {
                    st.corrupt = false;
                    n
                }
                Err(e) => {
                    st.corrupt = true;
                    if Faults::should_log(&self.faults.bad_completions) {
                        dev_err!(
                            self.dev,
                            "completion ring indices corrupt (prod {}, cons {}); ignored\n",
                            e.prod,
                            e.cons
                        );
                    }
                    break Drained::All;
                }
            };
            if left == 0 {
                break Drained::More;
            }
            // Read the descriptors only after the producer index.
            dma_mb(Read);
            for _ in 0..pending.min(left) {
                let Ok(desc) = self.read_cmp(self.rings.cmp_ring.slot(st.cons)) else {
                    break;
                };
                st.cons = st.cons.wrapping_add(1);
                left -= 1;
                if self.complete_one(&desc) {
                    completed = true;
                    *n += 1;
                }
            }
            // The descriptors are copied out; the device may reuse the slots.
            io_write!(state, .cmp_cons_idx, st.cons);
        };
        if completed {
            self.wake_waiters();
        }
        drained
    }

    /// Reads completion descriptor `slot`.
    #[inline(always)]
    fn read_cmp(&self, slot: usize) -> Result<CmpDesc> {
        Ok(io_project!(&self.rings.cmp, [try: slot]).copy_read())
    }

    /// Completes the command `desc` names, after checking it; returns
    /// whether it completed one. Runs under the `complete` lock.
    #[inline(always)]
    fn complete_one(&self, desc: &CmpDesc) -> bool {
        let cookie = request::decode_cookie(desc.context, self.ctx.len());
        let Some((cookie, ctx)) = cookie.and_then(|c| Some((c, self.ctx.get(c.index)?))) else {
            if Faults::should_log(&self.faults.bad_completions) {
                dev_err!(
                    self.dev,
                    "completion with invalid context {:#x}; dropped\n",
                    desc.context
                );
            }
            return false;
        };
        // Every command leaves its slot under this lock. Taking the command
        // out first (one atomic exchange, the only one a clean completion
        // needs) also orders the stamp read after the one its submitter
        // stored before filling the slot (see `Context`).
        let Some(cmd) = ctx.slot.take() else {
            if Faults::should_log(&self.faults.bad_completions) {
                dev_err!(
                    self.dev,
                    "completion for idle context {:#x}; dropped\n",
                    desc.context
                );
            }
            return false;
        };
        let stamp = ctx.stamp();
        if !request::same_generation(stamp.generation, &cookie) {
            self.stale_completion(cmd, ctx, desc, stamp);
            return false;
        }
        self.left_context(stamp);
        let outcome = status::map(
            &Completion {
                host_status: desc.host_status,
                scsi_status: desc.scsi_status,
                data_len: desc.data_len,
                sense_len: desc.sense_len,
            },
            cmd.bufflen(),
            || request::is_rw(cmd.cdb16().0[0]),
        );
        let resid = outcome.resid.unwrap_or(0);
        if outcome.sense == Sense::Clear
            && desc.sense_len == 0
            && !outcome.unknown_status
            && desc.data_len <= u64::from(cmd.bufflen())
        {
            // The common case: nothing to report, and no sense data written.
            // A data length beyond the buffer is a lie to log and count
            // (`status::map` refuses a GOOD completion carrying one).
            cmd.complete(outcome.result, resid, None);
            return true;
        }
        self.complete_unusual(cmd, desc, cookie.index, &outcome, resid);
        true
    }

    /// Drops a completion for an earlier command of `ctx` (generation
    /// mismatch) and puts `cmd`, still in flight, back into its slot: under
    /// `complete`, nobody can have seen the slot empty meanwhile.
    #[cold]
    #[inline(never)]
    fn stale_completion(&self, cmd: Command, ctx: &Context, desc: &CmpDesc, stamp: Stamp) {
        if Faults::should_log(&self.faults.stale_completions) {
            dev_err!(
                self.dev,
                "stale completion {:#x} (context serves generation {:#x}); dropped\n",
                desc.context,
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
                desc.context
            );
            self.left_context(stamp);
            cmd.fail(status::did::ERROR);
        }
    }

    /// Completes `cmd` with sense data or an unusual status, and clears the
    /// context's sense buffer for the next command first: once the command
    /// is handed back, its tag (and so this context) may be reused at once.
    #[inline(never)]
    fn complete_unusual(
        &self,
        cmd: Command,
        desc: &CmpDesc,
        index: usize,
        outcome: &Outcome,
        resid: u32,
    ) {
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
        let Some(dma) = self.ctx.dma(index) else {
            cmd.complete(outcome.result, resid, None);
            return;
        };
        // Copy out whatever the device wrote, then invalidate it: a later
        // command must not see it.
        let sense = dma.read_sense();
        let _ = dma.clear_sense();
        match (outcome.sense, sense) {
            (Sense::Copy(n), Ok(sense)) => cmd.complete(outcome.result, resid, sense.data.get(..n)),
            _ => cmd.complete(outcome.result, resid, None),
        }
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
            msg.notify();
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
