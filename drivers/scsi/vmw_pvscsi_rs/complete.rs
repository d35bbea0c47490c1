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
        IrqReturn, //
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
    kext::HardIrqHandler,
    request,
    scsi::Command,
    status::{
        self,
        Completion,
        Outcome,
        Sense, //
    }, //
};

impl Adapter<'_> {
    /// Completes every command the device has completed (process context).
    pub(crate) fn drain_completions(&self) {
        self.drain(&mut self.complete.lock());
    }

    /// Completes every command the device has completed, in the interrupt
    /// handler.
    #[inline(always)]
    fn drain_in_irq(&self, irqs_off: &LocalInterruptDisabled) {
        self.drain(&mut self.complete.lock_with(irqs_off));
    }

    /// Drains the completion ring; `st` is the locked consumer state.
    #[inline(always)]
    fn drain(&self, st: &mut CompleteState) {
        let state = &*self.rings.state;
        loop {
            let prod = io_read!(state, .cmp_prod_idx);
            let pending = match self.rings.cmp_ring.pending(prod, st.cons) {
                Ok(0) => break,
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
                    break;
                }
            };
            // Read the descriptors only after the producer index.
            dma_mb(Read);
            for _ in 0..pending {
                let Ok(desc) = self.read_cmp(self.rings.cmp_ring.slot(st.cons)) else {
                    break;
                };
                st.cons = st.cons.wrapping_add(1);
                self.complete_one(&desc);
            }
            // The descriptors are copied out; the device may reuse the slots.
            io_write!(state, .cmp_cons_idx, st.cons);
        }
    }

    /// Reads completion descriptor `slot`.
    #[inline(always)]
    fn read_cmp(&self, slot: usize) -> Result<CmpDesc> {
        Ok(io_project!(&self.rings.cmp, [try: slot]).copy_read())
    }

    /// Completes the command `desc` names, after checking it.
    #[inline(always)]
    fn complete_one(&self, desc: &CmpDesc) {
        let Some(index) = request::context_index(desc.context, self.ctx.len()) else {
            if Faults::should_log(&self.faults.bad_completions) {
                dev_err!(
                    self.dev,
                    "completion with invalid context {:#x}; dropped\n",
                    desc.context
                );
            }
            return;
        };
        let Some(cmd) = self.ctx.get(index).and_then(|ctx| ctx.slot.take()) else {
            if Faults::should_log(&self.faults.bad_completions) {
                dev_err!(
                    self.dev,
                    "completion for idle context {:#x}; dropped\n",
                    desc.context
                );
            }
            return;
        };
        let outcome = status::map(
            &Completion {
                host_status: desc.host_status,
                scsi_status: desc.scsi_status,
                data_len: desc.data_len,
                sense_len: desc.sense_len,
            },
            cmd.bufflen(),
        );
        let resid = outcome.resid.unwrap_or(0);
        if outcome.sense == Sense::Clear && desc.sense_len == 0 && !outcome.unknown_host_status {
            // The common case: nothing to report, and no sense data written.
            cmd.complete(outcome.result, resid, None);
            return;
        }
        self.complete_unusual(cmd, desc, index, &outcome, resid);
    }

    /// Completes `cmd` with sense data or an unusual status, and clears the
    /// context's sense buffer for the next command.
    #[inline(never)]
    fn complete_unusual(
        &self,
        cmd: Command,
        desc: &CmpDesc,
        index: usize,
        outcome: &Outcome,
        resid: u32,
    ) {
        if outcome.unknown_host_status && Faults::should_log(&self.faults.bad_completions) {
            dev_warn!(
                self.dev,
                "unknown completion status {:#x}, SCSI status {:#x}\n",
                desc.host_status,
                desc.scsi_status
            );
        }
        let Some(dma) = self.ctx.dma(index) else {
            cmd.complete(outcome.result, resid, None);
            return;
        };
        match (outcome.sense, dma.read_sense()) {
            (Sense::Copy(n), Ok(sense)) => cmd.complete(outcome.result, resid, sense.data.get(..n)),
            _ => cmd.complete(outcome.result, resid, None),
        }
        // Whatever the device wrote is used (or ignored) now; a later command
        // must not see it.
        let _ = dma.clear_sense();
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

impl HardIrqHandler for IrqHandler<'_> {
    fn handle(&self, irqs_off: &LocalInterruptDisabled) -> IrqReturn {
        let a = &*self.adapter;
        if self.intx {
            // The line may be another device's: ours only if a cause is set.
            let causes = a.hw.intr_status();
            if causes & INTR_ALL_SUPPORTED == 0 {
                return IrqReturn::None;
            }
            // Acknowledge before draining, so a completion arriving meanwhile
            // raises the line again rather than being lost.
            a.hw.ack_intr(causes);
        }
        a.drain_in_irq(irqs_off);
        if let Some(msg) = &a.msg {
            msg.notify();
        }
        IrqReturn::Handled
    }
}
