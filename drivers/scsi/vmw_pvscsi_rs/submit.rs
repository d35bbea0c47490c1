// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Command submission: `queuecommand` fills a request descriptor, publishes
//! it and rings a doorbell, once per batch.

use kernel::{
    cpu::CpuId,
    dma::DataDirection,
    io::{
        io_read,
        io_write, //
    },
    prelude::*,
    sync::{
        atomic::ordering::Relaxed,
        barrier::{
            dma_mb,
            Full,
            Write, //
        }, //
    },
    time::msecs_to_jiffies, //
};

use super::{
    abi::INTR_CMPL_MASK,
    adapter::{
        Adapter,
        Gate,
        Polling,
        SubmitState,
        POLL_BACKSTOP_MS, //
    },
    context::target_key,
    request::{
        self,
        DataLayout,
        Direction,
        Kicks,
        LayoutError,
        Request,
        RingIndices,
        Stamp, //
    },
    scsi::{
        Command,
        HostByte,
        Mapped, //
    },
    status::SENSE_BUFFER_SIZE, //
};

impl From<DataDirection> for Direction {
    fn from(d: DataDirection) -> Self {
        match d {
            DataDirection::None => Direction::None,
            DataDirection::FromDevice => Direction::FromDevice,
            DataDirection::ToDevice => Direction::ToDevice,
            DataDirection::Bidirectional => Direction::Bidirectional,
        }
    }
}

/// Why a command could not be started.
pub(crate) enum Refusal {
    /// Temporarily: ask the midlayer to retry.
    Busy,
    /// Never: fail it with this host byte.
    Fail(HostByte, &'static str),
}

impl Adapter<'_> {
    /// Lays out the segments of a command mapped to more than one
    /// (`bufflen` bytes in all) in context `tag`'s SG list: the list is
    /// looked up once and every element written in one loop. Out of line,
    /// so that the one-segment path keeps its registers. `Err` if the
    /// context has no SG list or an element falls outside it; neither
    /// happens (every context has a list of `MAX_SG_ENTRIES` elements, and
    /// `layout` writes no more).
    #[inline(never)]
    fn layout_sg_list(
        &self,
        tag: usize,
        bufflen: u32,
        segments: impl Iterator<Item = (u64, u32)>,
    ) -> Result<Result<DataLayout, LayoutError>> {
        let sg = self.ctx.dma(tag).ok_or(EINVAL)?.sg_list()?;
        let mut failed = false;
        let laid_out = request::layout(bufflen, segments, |j, elem| {
            failed |= sg.write(j, elem).is_err();
        });
        if failed {
            return Err(EINVAL);
        }
        Ok(laid_out)
    }

    /// Rings the doorbells owed (taken from [`SubmitState::kicks`]);
    /// `coalesce` is [`SubmitState::coalesce`]: the driver wrote that
    /// producer index, so it is not read back from the device's page. (A
    /// later submitter sees a later index and decides for every request then
    /// pending.)
    #[inline(always)]
    fn ring_doorbells(&self, kicks: Kicks, coalesce: Option<u32>) {
        if kicks.has(Kicks::NON_RW) {
            self.hw.kick_non_rw();
        }
        if kicks.has(Kicks::RW) {
            match coalesce {
                Some(prod) => self.kick_coalesced(prod),
                None => self.hw.kick_rw(),
            }
        }
    }

    /// Rings the read/write doorbell for requests published up to producer
    /// index `prod`, if [`request::rw_kick_needed`] says so.
    ///
    /// The full barrier orders the producer index published before it with
    /// the device's indices read after it; the completion path orders its
    /// side the same way ([`Adapter::kick_if_idle`]). So when a request is
    /// left to a device that has commands in flight, the drain that consumes
    /// the last of their completions sees the request, and rings if the
    /// device has not taken it.
    #[inline(never)]
    fn kick_coalesced(&self, prod: u32) {
        let state = &*self.rings.state;
        dma_mb(Full);
        let idx = RingIndices {
            req_prod: prod,
            req_cons: io_read!(state, .req_cons_idx),
            cmp_prod: io_read!(state, .cmp_prod_idx),
        };
        let threshold = io_read!(state, .req_call_threshold);
        if request::rw_kick_needed(idx, threshold, self.rings.req_ring.entries()) {
            self.hw.kick_rw();
        }
    }

    /// After a drain consumed completions: with request coalescing on (the
    /// device publishes a threshold), rings the read/write doorbell if the
    /// device has requests it did not take and nothing in flight, which
    /// happens when a submitter left requests to it while it worked on
    /// others (see [`Adapter::kick_coalesced`]). Without coalescing (QEMU)
    /// this is one load from the line the drain has just read.
    #[inline(always)]
    pub(crate) fn kick_if_idle(&self) {
        let threshold = io_read!(&*self.rings.state, .req_call_threshold);
        if threshold != 0 {
            self.kick_idle_coalesced(threshold);
        }
    }

    /// [`Adapter::kick_if_idle`] with the device's threshold `threshold`.
    #[inline(never)]
    fn kick_idle_coalesced(&self, threshold: u32) {
        let state = &*self.rings.state;
        dma_mb(Full);
        let idx = RingIndices {
            req_prod: io_read!(state, .req_prod_idx),
            req_cons: io_read!(state, .req_cons_idx),
            cmp_prod: io_read!(state, .cmp_prod_idx),
        };
        if request::rw_kick_needed(idx, threshold, self.rings.req_ring.entries()) {
            self.hw.kick_rw();
        }
    }

    /// Counts a command about to be published, and masks or unmasks the
    /// completion interrupt for it: unmasked for a command that waits for
    /// one, masked for a polled one when no command waits for one (see
    /// [`Polling`]). Called under `submit`, before the command is published.
    #[inline(never)]
    fn choose_completion_irq(&self, st: &mut SubmitState, poll: &Polling, needs_irq: bool) {
        if needs_irq {
            poll.irq_cmds.fetch_add(1, Relaxed);
            if !st.cmpl_irq {
                // The completion cause the polled commands left set would
                // raise an interrupt at once, for nothing.
                self.hw.ack_intr(INTR_CMPL_MASK);
                self.hw.set_intr_mask(self.intr_mask());
                st.cmpl_irq = true;
            }
        } else if st.cmpl_irq && poll.irq_cmds.load(Relaxed) == 0 {
            self.hw.set_intr_mask(self.intr_mask() & !INTR_CMPL_MASK);
            st.cmpl_irq = false;
            // Somebody must poll while it is masked: the backstop checks.
            self.backstop.arm(msecs_to_jiffies(POLL_BACKSTOP_MS));
        }
    }

    /// Rings the doorbells owed by requests published without one.
    pub(crate) fn commit_rqs_now(&self) {
        let mut st = self.submit.lock();
        let kicks = core::mem::replace(&mut st.kicks, Kicks::NONE);
        let coalesce = st.coalesce();
        drop(st);
        self.ring_doorbells(kicks, coalesce);
    }

    /// Builds and publishes the request for `cmd` in context `tag`.
    ///
    /// The command's fields are read under the submission lock, where they
    /// are used: values read before it would have to outlive the lock call
    /// (on the stack), which costs more than reading them there.
    #[inline(always)]
    pub(crate) fn submit(&self, mut cmd: Command, tag: usize) -> Result<(), (Command, Refusal)> {
        let Some(ctx) = self.ctx.get(tag) else {
            return Err((cmd, Refusal::Fail(HostByte::ERROR, "tag out of range")));
        };
        // The block layer never gives one tag to two commands at once, and a
        // command leaves its context before it is handed back; check anyway,
        // before the context's SG list is written.
        if ctx.slot.is_busy() {
            return Err((
                cmd,
                Refusal::Fail(HostByte::ERROR, "context already in flight"),
            ));
        }
        let bufflen = cmd.bufflen();
        let data = match cmd.map_data() {
            Ok(Mapped::None) => Ok(DataLayout::None),
            // The common case: one segment, described in the descriptor.
            Ok(Mapped::One(addr)) => Ok(DataLayout::Inline { addr, len: bufflen }),
            Ok(Mapped::Many(segments)) => match self.layout_sg_list(tag, bufflen, segments) {
                Ok(Ok(data)) => Ok(data),
                Ok(Err(LayoutError::TooManySegments)) => {
                    Err(Refusal::Fail(HostByte::ERROR, "more than 128 segments"))
                }
                Ok(Err(LayoutError::LengthMismatch)) => {
                    Err(Refusal::Fail(HostByte::ERROR, "segments exceed the buffer"))
                }
                Err(_) => Err(Refusal::Fail(HostByte::ERROR, "SG list write failed")),
            },
            // Mapping failures are transient (swiotlb pressure): retry.
            Err(_) => Err(Refusal::Busy),
        };
        let data = match data {
            Ok(data) => data,
            Err(why) => return Err((cmd, why)),
        };
        if bufflen != 0 && data == DataLayout::None {
            return Err((
                cmd,
                Refusal::Fail(HostByte::ERROR, "data buffer without segments"),
            ));
        }

        let mut st = self.submit.lock();
        let why = match st.gate {
            Gate::Open => None,
            // An adapter reset or a sleep: the midlayer retries afterwards.
            Gate::Paused => Some(Refusal::Busy),
            // Shut down: the device no longer has rings.
            Gate::Closed => Some(Refusal::Fail(HostByte::NO_CONNECT, "adapter shut down")),
        };
        if let Some(why) = why {
            drop(st);
            return Err((cmd, why));
        }
        // Channel, target and LUN are one byte each in the descriptor (the
        // host's limits keep them there; checked anyway, in one test).
        let (channel, id, lun) = (cmd.channel(), cmd.id(), cmd.lun());
        if (u64::from(channel | id) | lun) > u64::from(u8::MAX) {
            drop(st);
            return Err((
                cmd,
                Refusal::Fail(HostByte::BAD_TARGET, "address out of range"),
            ));
        }
        let (bus, target, lun) = (channel as u8, id as u8, lun as u8);
        // The descriptor's 16 bytes, zero after the CDB's.
        let cdb = cmd.cdb_padded::<16>();
        let cdb_len = cmd.cdb().len();
        let rw = request::is_rw(cdb[0]);
        let needs_irq = self.poll.is_some() && !cmd.is_polled();
        let last = cmd.is_last();
        // Only this path writes the context's generation, for the one
        // command the tag has (see `Context`).
        let generation = ctx.stamp().generation.wrapping_add(1);
        let req = Request {
            context: request::context_of(tag as u32, generation),
            cdb,
            cdb_len,
            bus,
            target,
            lun,
            direction: Direction::from(cmd.direction()),
            bufflen,
            data,
            sg_list_addr: ctx.sg_list_addr,
            sense: (ctx.sense_addr, SENSE_BUFFER_SIZE as u32),
            vcpu_hint: u16::try_from(CpuId::current().as_u32()).unwrap_or(u16::MAX),
        };
        // A request holds its context (one per slot, `can_queue` the ring's
        // size) until the device completes it, which it does only after
        // reading the request; but a reset takes back commands whose
        // requests the device may not have read, and their contexts and
        // slots are used again. So the device's consumer index is
        // consulted, as the C driver does: a slot it has not read is not
        // overwritten (the device would run the new request for both), and
        // the command is retried (BUSY) once the device, kicked, has read
        // on. An impossible index is a lie (`Ring::is_full`) and ignored:
        // it must not stall submission, where nothing may be in flight to
        // time out.
        if self
            .rings
            .req_ring
            .is_full(st.prod, io_read!(&*self.rings.state, .req_cons_idx))
        {
            drop(st);
            self.hw.kick_rw();
            self.hw.kick_non_rw();
            return Err((cmd, Refusal::Busy));
        }
        if self
            .rings
            .write_request(self.rings.req_ring.slot(st.prod), &req)
            .is_err()
        {
            drop(st);
            return Err((
                cmd,
                Refusal::Fail(HostByte::ERROR, "request ring slot out of range"),
            ));
        }
        // The slot owns the command from here; the device cannot complete it
        // before the producer index below is published. The stamp is
        // stored first: filling the slot orders it (see `Context`).
        let stamp = Stamp {
            generation,
            target: target_key(bus, target),
            needs_irq,
        };
        ctx.stamp.store(stamp.pack(), Relaxed);
        if let Err(cmd) = ctx.slot.put(cmd) {
            drop(st);
            return Err((
                cmd,
                Refusal::Fail(HostByte::ERROR, "context already in flight"),
            ));
        }
        if let Some(poll) = &self.poll {
            self.choose_completion_irq(&mut st, poll, needs_irq);
        }
        // The descriptor must be visible before the index that publishes it.
        dma_mb(Write);
        st.prod = st.prod.wrapping_add(1);
        io_write!(&*self.rings.state, .req_prod_idx, st.prod);

        // Ring once per batch: the midlayer calls `commit_rqs` when the batch
        // ends without a request marked last. But when it completes a
        // batch's last request itself (`scsi_dispatch_cmd` with a device
        // being deleted, a CDB too long or a host being removed), neither
        // the driver nor `commit_rqs` hears of it: the ticker rings what is
        // still owed then (`Adapter::tick`), armed when a batch starts to
        // owe.
        let (owed, kicks) = st.kicks.after(Kicks::for_request(rw), last);
        if owed != Kicks::NONE && st.kicks == Kicks::NONE {
            self.backstop.arm(msecs_to_jiffies(POLL_BACKSTOP_MS));
        }
        st.kicks = owed;
        let coalesce = st.coalesce();
        drop(st);
        self.ring_doorbells(kicks, coalesce);
        Ok(())
    }
}
