// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! SCSI hosts: allocation, registration, scanning, removal, and counted
//! references for deferred work.

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use kernel::{
    bindings as kbindings,
    device,
    error::to_result,
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        Arc, //
    },
    types::Opaque, //
};

use super::{
    bindings,
    Operations,
    ScsiDevice,
    Template, //
};

/// Limits of a host, set between allocation and registration.
#[derive(Clone, Copy, Debug)]
pub struct HostLimits {
    /// Commands the host accepts at once.
    pub can_queue: u32,
    /// Default queue depth of a LUN.
    pub cmd_per_lun: u32,
    /// Targets are `0..max_id`.
    pub max_id: u32,
    /// LUNs are `0..max_lun`.
    pub max_lun: u64,
    /// Highest channel number.
    pub max_channel: u32,
    /// Longest CDB.
    pub max_cmd_len: u32,
    /// Hardware queues for polled I/O (`HCTX_TYPE_POLL`), besides the one
    /// interrupt-driven queue; 0 for none. With any, the host's tags are
    /// shared by all its queues (`host_tagset`: a tag stays unique host-wide,
    /// below `can_queue`), and the driver implements
    /// [`Operations::mq_poll`] and [`Operations::map_queues`].
    pub poll_queues: u32,
    /// The host's devices get no I/O scheduler by default
    /// (`BLK_MQ_F_NO_SCHED_BY_DEFAULT`, as loop and null_blk ask);
    /// `queue/scheduler` can still choose one. Otherwise blk-mq gives
    /// mq-deadline to a host whose queues share tags (one with poll queues)
    /// and none to others (`elevator_set_default()`, block/elevator.c).
    pub no_sched_by_default: bool,
}

/// What the layer keeps in a host's `hostdata`.
#[repr(C)]
struct HostPriv<P> {
    /// The host's data ([`data_of`] reads this first field).
    data: P,
    /// [`HostLimits::no_sched_by_default`].
    no_sched_by_default: bool,
}

/// Returns [`HostLimits::no_sched_by_default`] of a host.
///
/// # Safety
///
/// `shost` must come from [`Host::new`].
unsafe fn no_sched_by_default_of(shost: *mut bindings::Scsi_Host) -> bool {
    // SAFETY: `Host::new` wrote a `HostPriv` at the start of `hostdata`, and
    // never changes it.
    unsafe {
        let p = core::ptr::addr_of_mut!((*shost).hostdata).cast::<HostPriv<*const ()>>();
        (*p).no_sched_by_default
    }
}

/// Returns the data of a host.
///
/// # Safety
///
/// `shost` must come from [`Host::new`] for `T`, and the host must be
/// registered (while a [`Registration`] of it exists) or being registered
/// (inside [`Registration::new_with_lt`], whose `Host` keeps the data); the
/// data is then valid for as long as any callback of the host runs, which
/// bounds `'bound`.
pub(super) unsafe fn data_of<'bound, T: Operations>(
    shost: *mut bindings::Scsi_Host,
) -> &'bound T::HostData<'bound> {
    // SAFETY: `Host::new` stored a pointer to the data at the start of
    // `hostdata` (the first field of a `HostPriv`), which it allocated with
    // room for it; the caller guarantees it is still valid.
    unsafe {
        let slot = core::ptr::addr_of_mut!((*shost).hostdata).cast::<*const T::HostData<'bound>>();
        &*slot.read()
    }
}

/// A SCSI host allocated from a template, not registered yet: from
/// `scsi_host_alloc` to `scsi_host_put`. [`Registration::new_with_lt`] (or
/// [`Registration::new`]) registers it.
///
/// # Invariants
///
/// - `shost` is a host allocated from `T`'s template, and this object holds
///   the reference `scsi_host_alloc` returned.
/// - `hostdata` holds a pointer to `*data`, which this object keeps alive.
pub struct Host<'bound, T: Operations> {
    shost: NonNull<bindings::Scsi_Host>,
    /// Keeps the host's data alive while the host may call the driver.
    data: Arc<T::HostData<'bound>>,
    _ops: PhantomData<T>,
}

// SAFETY: A `Scsi_Host` may be used from any thread; the data is `Sync`, and
// the `Arc` that holds it may be dropped on any thread when it is `Send`.
unsafe impl<'bound, T: Operations> Send for Host<'bound, T> where T::HostData<'bound>: Send {}
// SAFETY: The methods taking `&self` are safe to call concurrently.
unsafe impl<'bound, T: Operations> Sync for Host<'bound, T> where T::HostData<'bound>: Send {}

impl<'bound, T: Operations> Host<'bound, T> {
    /// Allocates a host of `template` whose callbacks will get `data`, with
    /// `limits`.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the host cannot be allocated; `EINVAL` for limits the
    /// midlayer cannot represent, for poll queues without
    /// [`Operations::mq_poll`] and [`Operations::map_queues`], or if the
    /// layer's bindings disagree with the C compiler on the layout of the
    /// midlayer's structures.
    pub fn new(
        template: &'static Template<T>,
        data: Arc<T::HostData<'bound>>,
        limits: &HostLimits,
    ) -> Result<Self> {
        // module-only: begin
        if let Err(what) = super::glue::check_layout() {
            pr_err!(
                "SCSI layer: the layout of {} differs between C and the Rust bindings; rebuild the module against this kernel tree\n",
                what
            );
            return Err(EINVAL);
        }
        // module-only: end
        if limits.poll_queues > 0 && !(T::HAS_MQ_POLL && T::HAS_MAP_QUEUES) {
            return Err(EINVAL);
        }
        let size = c_int::try_from(size_of::<HostPriv<*const T::HostData<'bound>>>())?;
        let hw_queues = limits.poll_queues.checked_add(1).ok_or(EINVAL)?;
        let can_queue = c_int::try_from(limits.can_queue)?;
        let cmd_per_lun = i16::try_from(limits.cmd_per_lun)?;
        let max_cmd_len = u16::try_from(limits.max_cmd_len)?;
        // SAFETY: The template is static and complete.
        let shost = NonNull::new(unsafe { bindings::scsi_host_alloc(template.as_raw(), size) })
            .ok_or(ENOMEM)?;
        let raw = shost.as_ptr();
        // SAFETY: `raw` is a freshly allocated host with `size` bytes of
        // `hostdata` (which `scsi_host_alloc` aligns for any type), not yet
        // visible to anybody else.
        unsafe {
            core::ptr::addr_of_mut!((*raw).hostdata)
                .cast::<HostPriv<*const T::HostData<'bound>>>()
                .write(HostPriv {
                    data: core::ptr::from_ref(&*data),
                    no_sched_by_default: limits.no_sched_by_default,
                });
            if limits.poll_queues > 0 {
                (*raw).nr_hw_queues = hw_queues;
                (*raw).nr_maps = kbindings::hctx_type_HCTX_MAX_TYPES;
                (*raw).set_host_tagset(1);
            }
            (*raw).can_queue = can_queue;
            (*raw).cmd_per_lun = cmd_per_lun;
            (*raw).max_id = limits.max_id;
            (*raw).max_lun = limits.max_lun;
            (*raw).max_channel = limits.max_channel;
            (*raw).max_cmd_len = max_cmd_len;
        }
        // INVARIANT: allocated from the template; `hostdata` points to
        // `*data`, kept alive by `data`.
        Ok(Self {
            shost,
            data,
            _ops: PhantomData,
        })
    }

    fn raw(&self) -> *mut bindings::Scsi_Host {
        self.shost.as_ptr()
    }

    /// The host number (`hostN`).
    pub fn host_no(&self) -> u32 {
        // SAFETY: `self.raw()` is valid; `host_no` never changes.
        unsafe { (*self.raw()).host_no }
    }
}

impl<T: Operations> Drop for Host<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own a reference.
        unsafe { bindings::scsi_host_put(self.raw()) };
    }
}

/// A registered SCSI host: the midlayer may call the driver's callbacks
/// with the host's data until [`Registration::remove`] or the drop, which
/// removes the host (`scsi_remove_host`) and then puts it.
///
/// Like [`kernel::irq::ThreadedRegistration`] and `auxiliary::Registration`,
/// a registration whose data borrows the bound device (`'bound`) is
/// created by an `unsafe` function: its callers promise the drop runs.
pub struct Registration<'bound, T: Operations> {
    host: Host<'bound, T>,
}

impl<'bound, T: Operations> Registration<'bound, T> {
    /// Registers `host` with the midlayer, as a child of `dev` (which also
    /// does the DMA).
    ///
    /// # Errors
    ///
    /// Whatever `scsi_add_host` returns (the host is then put).
    ///
    /// # Safety
    ///
    /// Callers must not `mem::forget()` the returned [`Registration`] or
    /// otherwise prevent its [`Drop`] from running before `'bound` ends:
    /// the midlayer calls the driver with data that may borrow what lives
    /// for `'bound` only (the bound device and its resources). A driver
    /// keeps it in its device data, which the bus drops at unbind.
    pub unsafe fn new_with_lt(
        host: Host<'bound, T>,
        dev: &'bound device::Device<device::Bound>,
    ) -> Result<Self> {
        // SAFETY: The caller's promise.
        unsafe { Self::register(host, dev) }
    }

    /// Adds `host` to the midlayer as a child of `dev`.
    ///
    /// # Safety
    ///
    /// The returned registration is dropped before anything the host's data
    /// borrows ends.
    unsafe fn register(host: Host<'bound, T>, dev: &device::Device<device::Bound>) -> Result<Self> {
        // `device::Device` is a transparent wrapper of `struct device`.
        let dev = core::ptr::from_ref(dev)
            .cast::<kernel::bindings::device>()
            .cast_mut();
        // SAFETY: `host.raw()` is a valid host, never added (a `Host` is
        // consumed by its registration); `dev` is a bound device (on which
        // `scsi_add_host` takes a reference), and the registration removes
        // the host before the data's borrows end (the caller's promise).
        to_result(unsafe { bindings::scsi_add_host_with_dma(host.raw(), dev, dev) })?;
        // SAFETY: `Host::new` made the host.
        if unsafe { no_sched_by_default_of(host.raw()) } {
            // SAFETY: `scsi_add_host` allocated the tag set; its devices'
            // queues, the only other users of its flags, are created by the
            // scan, which has not started.
            unsafe {
                (*host.raw()).tag_set.flags |= kbindings::BLK_MQ_F_NO_SCHED_BY_DEFAULT;
            }
        }
        Ok(Self { host })
    }

    /// Scans the host for devices (synchronously).
    pub fn scan(&self) {
        // SAFETY: The host is registered (or removed: the scan then finds
        // the host not running and does nothing, `scsi_host_scan_allowed()`).
        unsafe { bindings::scsi_scan_host(self.host.raw()) };
    }

    /// Unregisters the host: waits for outstanding commands and error
    /// handling to finish and removes its devices. After this, no callback
    /// runs. Removing a host again does nothing (`scsi_remove_host()` finds
    /// it no longer running, drivers/scsi/hosts.c), so a driver may remove it
    /// in its unbind and let the drop do it again.
    pub fn remove(&self) {
        // SAFETY: The host was added by `new_with_lt`.
        unsafe { bindings::scsi_remove_host(self.host.raw()) };
    }

    /// The host's data.
    pub fn data(&self) -> &T::HostData<'bound> {
        &self.host.data
    }

    /// The host number (`hostN`).
    pub fn host_no(&self) -> u32 {
        self.host.host_no()
    }

    /// A counted reference to the host, or `None` once it is being removed.
    pub fn get_ref(&self) -> Option<HostRef> {
        // SAFETY: The host is valid; `scsi_host_get` takes a reference.
        let shost = NonNull::new(unsafe { bindings::scsi_host_get(self.host.raw()) })?;
        // SAFETY: `scsi_host_get` succeeded: we own the reference it took,
        // which the `ARef` drops with `scsi_host_put`.
        Some(unsafe { ARef::from_raw(shost.cast::<ScsiHost>()) })
    }
}

impl<T: Operations> Registration<'static, T> {
    /// Registers `host`, whose data borrows nothing, as a child of `dev`:
    /// [`Registration::new_with_lt`] without its promise, since leaking a
    /// registration of `'static` data leaks memory and nothing else.
    ///
    /// # Errors
    ///
    /// Whatever `scsi_add_host` returns.
    pub fn new(host: Host<'static, T>, dev: &device::Device<device::Bound>) -> Result<Self> {
        // SAFETY: The data is `'static`: nothing it borrows can end, so a
        // leaked registration calls data that lives on.
        unsafe { Self::register(host, dev) }
    }
}

impl<T: Operations> Drop for Registration<'_, T> {
    fn drop(&mut self) {
        // No callback runs after this, so the data (in `self.host`, dropped
        // next) may go.
        self.remove();
    }
}

/// A SCSI host (`struct Scsi_Host`), reference counted.
///
/// Deferred work (hot-add and hot-remove of devices, rescans) holds one as a
/// [`HostRef`], taken with [`Registration::get_ref`].
///
/// # Invariants
///
/// The wrapped host is valid while a reference to it is held: every
/// `ScsiHost` lives behind a reference on its `shost_gendev`.
#[repr(transparent)]
pub struct ScsiHost(Opaque<bindings::Scsi_Host>);

/// A counted reference to a host, usable from deferred work.
pub type HostRef = ARef<ScsiHost>;

// SAFETY: Host references may move between threads.
unsafe impl Send for ScsiHost {}
// SAFETY: The methods are safe to call concurrently.
unsafe impl Sync for ScsiHost {}

// SAFETY: A host is counted by its `shost_gendev` (`scsi_host_get()` and
// `scsi_host_put()` take and drop a reference on it); the last put frees it.
unsafe impl AlwaysRefCounted for ScsiHost {
    fn inc_ref(&self) {
        // SAFETY: The host is valid (type invariant).
        unsafe { kbindings::get_device(&raw mut (*self.as_raw()).shost_gendev) };
    }

    /// # Safety
    ///
    /// As [`AlwaysRefCounted::dec_ref`]: the caller owns a reference.
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::scsi_host_put(obj.as_ptr().cast()) };
    }
}

impl ScsiHost {
    fn as_raw(&self) -> *mut bindings::Scsi_Host {
        self.0.get()
    }

    /// The host number (`hostN`).
    pub fn host_no(&self) -> u32 {
        // SAFETY: The host is valid (type invariant); `host_no` never
        // changes.
        unsafe { (*self.as_raw()).host_no }
    }

    /// Scans the host for devices. May sleep.
    pub fn scan(&self) {
        // SAFETY: The host is valid (type invariant); the scan skips hosts
        // that are being removed.
        unsafe { bindings::scsi_scan_host(self.as_raw()) };
    }

    /// The host's devices at the time of the call, each referenced.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the list cannot grow.
    pub fn devices(&self) -> Result<KVec<ARef<ScsiDevice>>> {
        let mut devices = KVec::new();
        let mut sdev: *mut bindings::scsi_device = core::ptr::null_mut();
        loop {
            // SAFETY: The host is valid (type invariant). `sdev` is null or
            // the device the previous call returned, whose reference this
            // call drops after taking one on the next device.
            sdev = unsafe { bindings::__scsi_iterate_devices(self.as_raw(), sdev) };
            if sdev.is_null() {
                return Ok(devices);
            }
            // SAFETY: The iteration holds a reference on `sdev`.
            let dev = ARef::from(unsafe { ScsiDevice::from_raw(sdev) });
            if let Err(e) = devices.push(dev, GFP_KERNEL) {
                // SAFETY: We hold the reference the iteration took.
                unsafe { bindings::scsi_device_put(sdev) };
                return Err(e.into());
            }
        }
    }

    /// The device at `channel:id:lun`, if the host has one (not being
    /// removed).
    pub fn device(&self, channel: u32, id: u32, lun: u64) -> Option<ARef<ScsiDevice>> {
        // SAFETY: The host is valid (type invariant).
        let sdev = unsafe { bindings::scsi_device_lookup(self.as_raw(), channel, id, lun) };
        if sdev.is_null() {
            return None;
        }
        // SAFETY: The lookup took a reference on `sdev`.
        let dev = ARef::from(unsafe { ScsiDevice::from_raw(sdev) });
        // SAFETY: We drop the lookup's reference; `dev` holds its own.
        unsafe { bindings::scsi_device_put(sdev) };
        Some(dev)
    }

    /// Scans for and adds a device at `channel:id:lun`. May sleep.
    ///
    /// # Errors
    ///
    /// `ENODEV` if no device answered there, or the host is going away.
    pub fn add_device(&self, channel: u32, id: u32, lun: u64) -> Result {
        // SAFETY: The host is valid (type invariant); process context is
        // the caller's duty (the function may sleep, which the midlayer
        // checks).
        to_result(unsafe { bindings::scsi_add_device(self.as_raw(), channel, id, lun) })
    }
}
