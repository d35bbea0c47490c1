// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The message ring and hot-plug: the interrupt handler notices new messages
//! and defers them to a work item, which adds or removes SCSI devices in
//! process context.

use kernel::{
    device::Device,
    dma::Coherent,
    impl_has_delayed_work,
    impl_has_work,
    io::{
        io_project,
        io_read,
        io_write,
        Io, //
    },
    new_delayed_work,
    new_mutex,
    new_spinlock,
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
        Mutex,
        SetOnce,
        SpinLock, //
    },
    time::msecs_to_jiffies,
    workqueue::{
        self,
        DelayedWork,
        Work,
        WorkItem, //
    }, //
};

use super::{
    abi::{
        MsgDesc,
        RingsState, //
    },
    additions,
    faults::Faults,
    message::{
        self,
        Address,
        BadMessage,
        Message, //
    },
    rings::MsgRing,
    scsi::{
        HostByte,
        HostRef,
        ScsiDevice, //
    },
};

/// Checks (a TEST UNIT READY each) that must find no target at a device's
/// address before a rescan removes the device: the rescan's own, then one
/// every [`GONE_RECHECK_MS`]. A device is thus removed only after it
/// answered nothing for 30 s (the midlayer's command timeout): one answer
/// can be a corrupted completion, and a disk that fails selection for a
/// while (a path failing over) and comes back must keep its users (a
/// removed disk comes back as a new one; the C driver never removes a
/// disk without a hot-remove message). See
/// Documentation/scsi/vmw_pvscsi_rs.rst.
const GONE_CHECKS: u32 = 4;
/// Time between two checks of a device that did not answer a rescan.
const GONE_RECHECK_MS: u32 = 10_000;
/// Timeout of the TEST UNIT READY of a check (each of its three tries).
const TUR_TIMEOUT_MS: u32 = 10_000;

/// Whether nothing answers at `dev`'s address: its TEST UNIT READY ends with
/// `DID_BAD_TARGET` (the device's selection timed out). Any other answer,
/// an error status included, is a target. May sleep.
fn no_target(dev: &ScsiDevice) -> bool {
    matches!(dev.test_unit_ready(TUR_TIMEOUT_MS, 3), Ok(r) if r.host_byte == HostByte::BAD_TARGET)
}

/// A device that answered a rescan's TEST UNIT READY with a selection
/// timeout, checked again every [`GONE_RECHECK_MS`].
struct Suspect {
    /// Its address: channel, target, LUN.
    addr: (u32, u32, u64),
    /// Checks that found no target so far, in a row.
    checks: u32,
}

/// The driver's side of the message ring, under [`MsgWork::cursor`].
struct Cursor {
    /// The driver's copy of `msg_cons_idx`.
    cons: u32,
    /// The device does not have the ring (an adapter reset or a system
    /// sleep is in progress): nothing may read it or write its index.
    paused: bool,
    /// The ring indices were found corrupt and have not been seen sane
    /// since: the rescan that recovers the messages lost meanwhile is
    /// queued once per such episode.
    corrupt: bool,
    /// The ring was found full and has not been read below full since.
    /// The device drops messages it has no room for (QEMU does, silently),
    /// so a full ring means some may be lost: one rescan per episode.
    full: bool,
}

/// Hot-plug message processing of one adapter.
///
/// It is `'static` (work items must be), so it owns the message ring and a
/// reference to the rings-state page, and reaches the host through a counted
/// reference set once the host is registered.
///
/// # Locking
///
/// `cursor` (a spinlock) covers every read of the ring and every write of
/// its consumer index, one message at a time; the work item handles the
/// message (adding or removing a disk, which sleeps and sends commands)
/// with the lock released. An adapter reset only takes the lock to pause the
/// ring: it never waits for the work item, which may itself be waiting for a
/// command that cannot run until the reset ends. Lock order: the adapter's
/// `eh` mutex, then `cursor`; nothing is taken under `cursor`.
#[pin_data]
pub(crate) struct MsgWork {
    #[pin]
    work: Work<MsgWork>,
    /// Checks again the devices in `suspects`.
    #[pin]
    recheck: DelayedWork<MsgWork, 1>,
    /// Devices a rescan found without a target, not yet removed.
    #[pin]
    suspects: Mutex<KVec<Suspect>>,
    ring: MsgRing,
    state: Arc<Coherent<RingsState>>,
    host: SetOnce<HostRef>,
    #[pin]
    cursor: SpinLock<Cursor>,
    /// The device accepted the ring at the last setup.
    enabled: Atomic<bool>,
    /// Teardown began: no work is queued any more.
    stopped: Atomic<bool>,
    /// Scan the host (messages may have been lost in an adapter reset or a
    /// system sleep).
    rescan: Atomic<bool>,
    /// Messages refused (unknown type, address out of range) and corrupt
    /// ring indices, for the `bad_messages` host attribute; also rate-limits
    /// their log lines.
    bad_messages: Atomic<u32>,
    /// The message producer index [`MsgWork::notify`] last saw.
    seen_prod: Atomic<u32>,
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

impl_has_delayed_work! {
    impl HasDelayedWork<Self, 1> for MsgWork { self.recheck }
}

impl WorkItem<1> for MsgWork {
    type Pointer = Arc<MsgWork>;

    fn run(this: Arc<MsgWork>) {
        this.recheck_suspects();
    }
}

impl MsgWork {
    /// Creates the processing state for `ring`.
    pub(crate) fn new(
        ring: MsgRing,
        state: Arc<Coherent<RingsState>>,
        dev: ARef<Device>,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                work <- new_work!("vmw_pvscsi_rs::msg"),
                recheck <- new_delayed_work!("vmw_pvscsi_rs::recheck"),
                suspects <- new_mutex!(KVec::new(), "vmw_pvscsi_rs:suspects"),
                ring,
                state,
                host: SetOnce::new(),
                cursor <- new_spinlock!(Cursor {
                    cons: 0,
                    paused: false,
                    corrupt: false,
                    full: false,
                }, "vmw_pvscsi_rs:msg"),
                enabled: Atomic::new(false),
                stopped: Atomic::new(false),
                rescan: Atomic::new(false),
                bad_messages: Atomic::new(0),
                seen_prod: Atomic::new(0),
                dev,
            }),
            GFP_KERNEL,
        )
    }

    /// Messages refused and corrupt ring indices seen so far.
    pub(crate) fn bad_messages(&self) -> u32 {
        self.bad_messages.load(Relaxed)
    }

    /// The message ring.
    pub(crate) fn ring(&self) -> &MsgRing {
        &self.ring
    }

    /// Whether messages are processed.
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Acquire) && !self.stopped.load(Acquire)
    }

    /// Records whether the device accepted the ring at setup.
    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Release);
    }

    /// Gives the work item its host, once registered.
    pub(crate) fn set_host(&self, host: HostRef) {
        self.host.populate(host);
    }

    /// Stops processing for good (teardown): no new work is queued, and
    /// queued work is cancelled or has finished when this returns. May
    /// sleep; call only once the host is removed, so that the work item is
    /// not waiting for commands.
    pub(crate) fn stop(self: &Arc<Self>) {
        self.stopped.store(true, Release);
        self.pause();
        // A queued run holds a reference, which cancelling it gives back.
        additions::cancel_arc_delayed_work_sync::<_, 1>(self);
        additions::cancel_arc_work_sync::<_, 0>(self);
        // A recheck queued by the last run of `work`.
        additions::cancel_arc_delayed_work_sync::<_, 1>(self);
    }

    /// Stops all access to the ring, without waiting for the work item
    /// (before an adapter reset or a system sleep).
    pub(crate) fn pause(&self) {
        self.cursor.lock().paused = true;
    }

    /// Resumes access to the ring, which restarts at index 0 (before a new
    /// `SETUP_MSG_RING`): the ring's indices are zeroed under the cursor
    /// lock, which the work item holds while it reads them.
    pub(crate) fn restart(&self) {
        let mut cursor = self.cursor.lock();
        let state = &*self.state;
        io_write!(state, .msg_prod_idx, 0);
        io_write!(state, .msg_cons_idx, 0);
        self.seen_prod.store(0, Relaxed);
        cursor.cons = 0;
        cursor.corrupt = false;
        cursor.full = false;
        cursor.paused = false;
    }

    /// The workqueue of the work item: a freezable one, so that a run
    /// queued before a system sleep (a hot-plug message, the rescan after
    /// an adapter reset) waits until the system is back, and one running
    /// when the sleep begins finishes before the devices suspend (the
    /// freezer drains freezable workqueues first). On a queue that does not
    /// freeze, a scan met the adapter paused for the sleep, and blk-mq
    /// retried its commands every few milliseconds through it. Scans sleep
    /// while their commands run, which a concurrency-managed queue allows.
    fn queue() -> &'static workqueue::Queue {
        workqueue::system_freezable()
    }

    /// Queues a scan of the host: hot-plug messages of the devices that came
    /// or went during an adapter reset or a sleep are lost.
    pub(crate) fn rescan(self: &Arc<Self>) {
        if self.stopped.load(Acquire) {
            return;
        }
        self.rescan.store(true, Release);
        let _ = Self::queue().enqueue::<_, 0>(self.clone());
    }

    /// Queues the work item if messages are pending; callable from the
    /// interrupt handler. Returns whether the device produced messages
    /// since the last call, which raised the message interrupt cause (an
    /// interrupt handler with message-signalled interrupts acknowledges it:
    /// nothing else does).
    pub(crate) fn notify(self: &Arc<Self>) -> bool {
        let state = &*self.state;
        // The common case costs two reads of the rings-state page. The
        // consumer index there is the driver's own (the work item writes it);
        // a device that corrupts it only causes a spurious, validated run.
        let prod = io_read!(state, .msg_prod_idx);
        let produced = self.seen_prod.xchg(prod, Relaxed) != prod;
        if prod == io_read!(state, .msg_cons_idx) {
            return produced;
        }
        if self.is_enabled() {
            // Already queued is fine: the queued run sees these messages too.
            let _ = Self::queue().enqueue::<_, 0>(self.clone());
        }
        produced
    }

    /// Handles every pending message.
    fn process(self: &Arc<Self>) {
        let Some(host) = self.host.as_ref() else {
            return;
        };
        loop {
            if self.rescan.xchg(false, Acquire) {
                self.rescan_now(host);
            }
            while let Some(desc) = self.next_message() {
                self.handle(host, message::decode(&desc));
            }
            // A corrupt ring asks for a rescan while being read.
            if !self.rescan.load(Acquire) {
                break;
            }
        }
    }

    /// Scans the host for new devices, and starts checking the ones that
    /// did not answer (see [`GONE_CHECKS`]).
    fn rescan_now(self: &Arc<Self>, host: &HostRef) {
        let n = host.host_no();
        dev_info!(self.dev, "rescanning scsi{}\n", n);
        host.scan();
        let devices = match host.devices() {
            Ok(devices) => devices,
            Err(e) => {
                dev_err!(self.dev, "rescan: cannot check the devices: {:?}\n", e);
                return;
            }
        };
        // Every TEST UNIT READY (each may take up to three tries of
        // TUR_TIMEOUT_MS) before the suspects' lock is taken.
        let mut gone = KVec::new();
        for dev in devices.iter().filter(|dev| no_target(dev)) {
            if gone
                .push((dev.channel(), dev.id(), dev.lun()), GFP_KERNEL)
                .is_err()
            {
                // Not checked again: kept, as a device that answered.
                break;
            }
        }
        if gone.is_empty() {
            return;
        }
        let mut suspects = self.suspects.lock();
        for addr in gone {
            if suspects.iter().any(|s| s.addr == addr) {
                continue;
            }
            dev_info!(
                self.dev,
                "rescan: no target at scsi{}:{}:{}:{}; removing the device if it does not answer within {} s\n",
                n,
                addr.0,
                addr.1,
                addr.2,
                (GONE_CHECKS - 1) * GONE_RECHECK_MS / 1000
            );
            if suspects
                .push(Suspect { addr, checks: 1 }, GFP_KERNEL)
                .is_err()
            {
                // Not checked again: kept, as a device that answered.
                break;
            }
        }
        drop(suspects);
        self.queue_recheck();
    }

    /// Queues the next check of the suspects.
    fn queue_recheck(self: &Arc<Self>) {
        if !self.stopped.load(Acquire) {
            let _ = Self::queue()
                .enqueue_delayed::<_, 1>(self.clone(), msecs_to_jiffies(GONE_RECHECK_MS));
        }
    }

    /// Checks every suspect again: removes those that have not answered for
    /// [`GONE_CHECKS`] checks, forgets those that answer again or that are
    /// gone meanwhile (a hot-remove message), and queues the next check
    /// while any is left.
    fn recheck_suspects(self: &Arc<Self>) {
        let Some(host) = self.host.as_ref() else {
            return;
        };
        let n = host.host_no();
        let mut suspects = self.suspects.lock();
        suspects.retain(|s| {
            let (bus, target, lun) = s.addr;
            if self.stopped.load(Acquire) {
                return false;
            }
            let Some(dev) = host.device(bus, target, lun) else {
                return false;
            };
            if !no_target(&dev) {
                dev_info!(
                    self.dev,
                    "rescan: scsi{}:{}:{}:{} answers again, kept\n",
                    n,
                    bus,
                    target,
                    lun
                );
                return false;
            }
            s.checks += 1;
            if s.checks < GONE_CHECKS {
                return true;
            }
            ScsiDevice::remove(dev);
            dev_info!(
                self.dev,
                "rescan: no target at scsi{}:{}:{}:{} for {} s; device removed\n",
                n,
                bus,
                target,
                lun,
                (GONE_CHECKS - 1) * GONE_RECHECK_MS / 1000
            );
            false
        });
        let again = !suspects.is_empty();
        drop(suspects);
        if again {
            self.queue_recheck();
        }
    }

    /// Takes the next message off the ring, if there is one and the ring is
    /// usable.
    fn next_message(&self) -> Option<MsgDesc> {
        let mut cursor = self.cursor.lock();
        if cursor.paused || !self.is_enabled() {
            return None;
        }
        let prod = io_read!(&*self.state, .msg_prod_idx);
        match self.ring.geometry.pending(prod, cursor.cons) {
            Ok(0) => {
                cursor.corrupt = false;
                cursor.full = false;
                return None;
            }
            Ok(n) => {
                cursor.corrupt = false;
                let full = n == self.ring.geometry.entries();
                if full && !cursor.full {
                    self.rescan.store(true, Release);
                    dev_info!(
                        self.dev,
                        "message ring full: hot-plug messages may have been dropped, rescanning\n"
                    );
                }
                cursor.full = full;
            }
            Err(e) => {
                // Nothing on the ring can be trusted: read nothing, and wait
                // for the device to write a sane index again (QEMU does with
                // its next message). Whatever it meant to say meanwhile is
                // recovered by one rescan.
                if !cursor.corrupt {
                    cursor.corrupt = true;
                    self.rescan.store(true, Release);
                }
                if Faults::should_log(&self.bad_messages) {
                    dev_err!(
                        self.dev,
                        "message ring indices corrupt (prod {}, cons {}); ignored, rescanning\n",
                        e.prod,
                        e.cons
                    );
                }
                return None;
            }
        }
        // Read the descriptor only after the producer index.
        dma_mb(Read);
        let desc = self.read_msg(self.ring.geometry.slot(cursor.cons)).ok()?;
        cursor.cons = cursor.cons.wrapping_add(1);
        // The slot may be reused once the device sees the new index.
        io_write!(&*self.state, .msg_cons_idx, cursor.cons);
        Some(desc)
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
                if host.device(bus, target, lun).is_some() {
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
                if let Some(dev) = host.device(bus, target, lun) {
                    ScsiDevice::remove(dev);
                } else {
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
                if Faults::should_log(&self.bad_messages) {
                    dev_warn!(self.dev, "msg: unknown message type {}, skipped\n", t);
                }
            }
            Err(BadMessage::BadAddress { bus, target, lun }) => {
                if Faults::should_log(&self.bad_messages) {
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
}
