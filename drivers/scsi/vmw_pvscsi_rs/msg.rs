// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The message ring and hot-plug: the interrupt handler notices new messages
//! and defers them to a work item, which adds or removes SCSI devices in
//! process context.

use kernel::{
    device::Device,
    dma::Coherent,
    impl_has_work,
    io::{
        io_project,
        io_read,
        io_write,
        Io, //
    },
    new_work,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            ordering::{
                Acquire,
                Relaxed,
                Release, //
            },
            Atomic, //
        },
        barrier::{
            dma_mb,
            Read, //
        },
        Arc,
        SetOnce, //
    },
    workqueue::{
        self,
        Work,
        WorkItem, //
    }, //
};

use super::{
    abi::{
        MsgDesc,
        RingsState, //
    },
    kext,
    message::{
        self,
        Address,
        BadMessage,
        Message, //
    },
    rings::MsgRing,
    scsi::HostRef, //
};

/// Hot-plug message processing of one adapter.
///
/// It is `'static` (work items must be), so it owns the message ring and a
/// reference to the rings-state page, and reaches the host through a counted
/// reference set once the host is registered.
#[pin_data]
pub(crate) struct MsgWork {
    #[pin]
    work: Work<MsgWork>,
    ring: MsgRing,
    state: Arc<Coherent<RingsState>>,
    host: SetOnce<HostRef>,
    /// The driver's copy of `msg_cons_idx` (only the work item changes it).
    cons: Atomic<u32>,
    /// Set on teardown, and when the device ignored the ring.
    disabled: Atomic<bool>,
    /// Scan the host (messages may have been lost in an adapter reset).
    rescan: Atomic<bool>,
    max_id: u32,
    dev: ARef<Device>,
}

impl_has_work! {
    impl HasWork<Self> for MsgWork { self.work }
}

impl WorkItem for MsgWork {
    type Pointer = Arc<MsgWork>;

    fn run(this: Arc<MsgWork>) {
        this.process();
    }
}

impl MsgWork {
    /// Creates the processing state for `ring`.
    pub(crate) fn new(
        ring: MsgRing,
        state: Arc<Coherent<RingsState>>,
        max_id: u32,
        dev: ARef<Device>,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                work <- new_work!("vmw_pvscsi_rs::msg"),
                ring,
                state,
                host: SetOnce::new(),
                cons: Atomic::new(0),
                disabled: Atomic::new(false),
                rescan: Atomic::new(false),
                max_id,
                dev,
            }),
            GFP_KERNEL,
        )
    }

    /// The message ring.
    pub(crate) fn ring(&self) -> &MsgRing {
        &self.ring
    }

    /// Whether messages are processed.
    pub(crate) fn is_enabled(&self) -> bool {
        !self.disabled.load(Acquire)
    }

    /// Stops queueing new work (the ring is unusable, or teardown began).
    pub(crate) fn disable(&self) {
        self.disabled.store(true, Release);
    }

    /// Gives the work item its host, once registered.
    pub(crate) fn set_host(&self, host: HostRef) {
        self.host.populate(host);
    }

    /// Stops processing: no new work is queued, and queued work is cancelled
    /// or has finished when this returns. May sleep.
    pub(crate) fn stop(&self) {
        self.disable();
        kext::cancel_work_sync(self);
    }

    /// Prepares for a new `SETUP_MSG_RING` after an adapter reset (call after
    /// [`MsgWork::stop`]): the ring restarts at index 0.
    pub(crate) fn reset(&self) {
        self.cons.store(0, Relaxed);
        self.disabled.store(false, Release);
    }

    /// Queues a scan of the host: hot-plug messages of the devices that came
    /// or went during an adapter reset are lost.
    pub(crate) fn rescan(self: &Arc<Self>) {
        self.rescan.store(true, Release);
        let _ = workqueue::system_long().enqueue(self.clone());
    }

    /// Queues the work item if messages are pending; callable from the
    /// interrupt handler.
    pub(crate) fn notify(self: &Arc<Self>) {
        let state = &*self.state;
        // The common case costs two reads of the rings-state page. The
        // consumer index there is the driver's own (the work item writes it);
        // a device that corrupts it only causes a spurious, validated run.
        if io_read!(state, .msg_prod_idx) == io_read!(state, .msg_cons_idx) {
            return;
        }
        if self.is_enabled() {
            // Already queued is fine: the queued run sees these messages too.
            let _ = workqueue::system_long().enqueue(self.clone());
        }
    }

    /// Handles every pending message.
    fn process(&self) {
        let Some(host) = self.host.as_ref() else {
            return;
        };
        if self.rescan.xchg(false, Acquire) {
            dev_info!(
                self.dev,
                "rescanning scsi{} after an adapter reset\n",
                host.host_no()
            );
            host.scan();
        }
        let mut cons = self.cons.load(Relaxed);
        while self.is_enabled() {
            let prod = io_read!(&*self.state, .msg_prod_idx);
            let pending = match self.ring.geometry.pending(prod, cons) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    dev_err!(
                        self.dev,
                        "message ring indices corrupt (prod {}, cons {}); hot-plug stopped\n",
                        e.prod,
                        e.cons
                    );
                    self.disable();
                    break;
                }
            };
            // Read the descriptors only after the producer index.
            dma_mb(Read);
            for _ in 0..pending {
                let Ok(desc) = self.read_msg(self.ring.geometry.slot(cons)) else {
                    break;
                };
                cons = cons.wrapping_add(1);
                self.handle(host, message::decode(&desc, self.max_id));
            }
            self.cons.store(cons, Relaxed);
            // The slots may be reused once the device sees the new index.
            io_write!(&*self.state, .msg_cons_idx, cons);
        }
    }

    /// Reads message descriptor `slot`.
    fn read_msg(&self, slot: usize) -> Result<MsgDesc> {
        Ok(io_project!(&self.ring.ring, [try: slot]).copy_read())
    }

    fn handle(&self, host: &HostRef, msg: Result<Message, BadMessage>) {
        let n = host.host_no();
        match msg {
            Ok(Message::Added(Address { bus, target, lun })) => {
                dev_info!(
                    self.dev,
                    "msg: device added at scsi{}:{}:{}:{}\n",
                    n,
                    bus,
                    target,
                    lun
                );
                if host.has_device(bus, target, lun) {
                    dev_info!(
                        self.dev,
                        "msg: device scsi{}:{}:{}:{} already exists\n",
                        n,
                        bus,
                        target,
                        lun
                    );
                } else if let Err(e) = host.add_device(bus, target, lun) {
                    dev_err!(
                        self.dev,
                        "msg: adding scsi{}:{}:{}:{} failed: {:?}\n",
                        n,
                        bus,
                        target,
                        lun,
                        e
                    );
                }
            }
            Ok(Message::Removed(Address { bus, target, lun })) => {
                dev_info!(
                    self.dev,
                    "msg: device removed at scsi{}:{}:{}:{}\n",
                    n,
                    bus,
                    target,
                    lun
                );
                if !host.remove_device(bus, target, lun) {
                    dev_info!(
                        self.dev,
                        "msg: no device at scsi{}:{}:{}:{}\n",
                        n,
                        bus,
                        target,
                        lun
                    );
                }
            }
            Err(BadMessage::UnknownType(t)) => {
                dev_warn!(self.dev, "msg: unknown message type {}, skipped\n", t);
            }
            Err(BadMessage::BadAddress { bus, target, lun }) => {
                dev_warn!(
                    self.dev,
                    "msg: device address {}:{}:{:02x?} outside the host's range, skipped\n",
                    bus,
                    target,
                    lun
                );
            }
        }
    }
}
