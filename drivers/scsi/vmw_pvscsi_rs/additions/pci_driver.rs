// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! A PCI driver registration with the callbacks the 7.3 `pci::Driver` lacks:
//! `shutdown` and system sleep (`dev_pm_ops`).
//!
//! [`PmAdapter`] stands in for `kernel::pci::Adapter`: it registers a
//! `struct pci_driver` whose probe and remove do exactly what the kernel
//! crate's do (the driver data is pinned in drvdata by probe and dropped by the
//! driver core after remove), and adds `.shutdown` and `.driver.pm`. It is
//! shaped as the upstream addition it stands for: `shutdown` and
//! suspend/resume callbacks on `pci::Driver`.
//!
//! The PCI core calls every one of these callbacks with the device lock held
//! and only while the driver is bound, so they get the device in the
//! [`Core`] context and the driver data probe stored.

use core::marker::PhantomData;

use kernel::{
    bindings,
    device::{
        self,
        Core, //
    },
    device_id::RawDeviceIdIndex,
    driver,
    error::{
        from_result,
        to_result, //
    },
    pci,
    prelude::*,
    types::Opaque,
    ThisModule, //
};

/// Which system transition a sleep callback is part of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sleep {
    /// Suspend to RAM or to idle (`suspend` / `resume`).
    Suspend,
    /// Hibernation: before the image is created (`freeze` / `thaw`).
    Freeze,
    /// Hibernation: after the image is saved, before power-off
    /// (`poweroff`), or once the image is loaded (`restore`).
    Hibernate,
}

/// A PCI driver that also handles shutdown and system sleep.
pub(crate) trait PmDriver: pci::Driver {
    /// The system shuts down, reboots or starts another kernel
    /// (`device_shutdown()`, after the device's children, such as disks, have
    /// been shut down).
    fn shutdown<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>);

    /// The system goes to sleep: stop all device activity. The device's
    /// children (disks) are already suspended.
    fn suspend<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
        why: Sleep,
    ) -> Result;

    /// The system woke up (or the image was restored, or creating it ended):
    /// bring the device back. Its children are resumed afterwards.
    fn resume<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
        why: Sleep,
    ) -> Result;
}

/// What a PM callback asks of the driver.
#[derive(Clone, Copy)]
enum PmOp {
    /// [`PmDriver::suspend`].
    Suspend(Sleep),
    /// [`PmDriver::resume`].
    Resume(Sleep),
}

/// Registers a [`PmDriver`]; use as `driver::Registration<PmAdapter<T>>`.
pub(crate) struct PmAdapter<T: PmDriver>(PhantomData<T>);

// SAFETY:
// - `bindings::pci_driver` is a C type declared as `repr(C)`.
// - `T::Data` is the type of the driver's device private data: probe stores
//   exactly that type with `set_drvdata`.
// - `struct pci_driver` embeds a `struct device_driver` at `DEVICE_DRIVER_OFFSET`.
unsafe impl<T: PmDriver> driver::DriverLayout for PmAdapter<T> {
    type DriverType = bindings::pci_driver;
    type DriverData<'bound> = T::Data<'bound>;
    const DEVICE_DRIVER_OFFSET: usize = core::mem::offset_of!(Self::DriverType, driver);
}

// SAFETY: `unregister` undoes a successful `register` of the same `pdrv`.
unsafe impl<T: PmDriver> driver::RegistrationOps for PmAdapter<T> {
    /// Fills in and registers the `struct pci_driver`.
    ///
    /// # Safety
    ///
    /// As [`driver::RegistrationOps::register`]: on success, `pdrv` stays
    /// pinned and valid until [`Self::unregister`].
    unsafe fn register(
        pdrv: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        // SAFETY: The driver structure is being initialized and is not
        // registered yet, so its fields may be written.
        unsafe {
            let p = pdrv.get();
            (*p).name = name.as_char_ptr();
            (*p).probe = Some(Self::probe_callback);
            (*p).remove = Some(Self::remove_callback);
            (*p).shutdown = Some(Self::shutdown_callback);
            (*p).id_table = T::ID_TABLE.as_ptr();
            (*p).driver.pm = core::ptr::from_ref(Self::PM_OPS);
        }
        // SAFETY: `pdrv` is a valid, initialized `pci_driver`, kept pinned
        // until `unregister` (the caller's contract).
        to_result(unsafe {
            bindings::__pci_register_driver(pdrv.get(), module.as_ptr(), name.as_char_ptr())
        })
    }

    /// Unregisters the `struct pci_driver`.
    ///
    /// # Safety
    ///
    /// As [`driver::RegistrationOps::unregister`]: only after a successful
    /// [`Self::register`] of the same `pdrv`.
    unsafe fn unregister(pdrv: &Opaque<Self::DriverType>) {
        // SAFETY: Registered by a successful `register` (the caller's contract).
        unsafe { bindings::pci_unregister_driver(pdrv.get()) }
    }
}

impl<T: PmDriver> PmAdapter<T> {
    /// The system-sleep callbacks (what `SYSTEM_SLEEP_PM_OPS()` sets in C).
    const PM_OPS: &'static bindings::dev_pm_ops = &bindings::dev_pm_ops {
        suspend: Some(Self::suspend_callback),
        resume: Some(Self::resume_callback),
        freeze: Some(Self::freeze_callback),
        thaw: Some(Self::thaw_callback),
        poweroff: Some(Self::poweroff_callback),
        restore: Some(Self::restore_callback),
        // Every other field is an optional function pointer: `None`.
        ..pin_init::zeroed()
    };

    /// The device of a PCI bus callback.
    ///
    /// # Safety
    ///
    /// `pdev` must be the device of a callback the PCI core is running, with
    /// the device lock held, for the duration of the returned borrow.
    unsafe fn device<'a>(
        pdev: *mut bindings::pci_dev,
    ) -> &'a pci::Device<device::CoreInternal<'a>> {
        // SAFETY: `pci::Device` is a transparent wrapper of `struct pci_dev`;
        // the caller guarantees validity and the device lock.
        unsafe { &*pdev.cast::<pci::Device<device::CoreInternal<'_>>>() }
    }

    /// The device of a `dev_pm_ops` callback.
    ///
    /// # Safety
    ///
    /// `dev` must be the device of a PM callback of a PCI driver.
    unsafe fn pm_device<'a>(
        dev: *mut bindings::device,
    ) -> &'a pci::Device<device::CoreInternal<'a>> {
        // SAFETY: PM callbacks of a `pci_driver` get the `struct device`
        // embedded in a `struct pci_dev` (`to_pci_dev()`), and run with the
        // device lock held.
        unsafe { Self::device(kernel::container_of!(dev, bindings::pci_dev, dev)) }
    }

    extern "C" fn probe_callback(
        pdev: *mut bindings::pci_dev,
        id: *const bindings::pci_device_id,
    ) -> c_int {
        // SAFETY: The PCI core calls probe with a valid device, locked.
        let pdev = unsafe { Self::device(pdev) };
        // SAFETY: `pci::DeviceId` is a transparent wrapper of
        // `struct pci_device_id`, and the PCI core passes a valid entry.
        let id = unsafe { &*id.cast::<pci::DeviceId>() };
        // SAFETY: `id` is an entry of `T::ID_TABLE` (an `IdArray` of
        // `T::IdInfo`), or a dynamic id whose `driver_data` is one of its
        // entries' or 0.
        let info = unsafe { id.info_unchecked_opt::<T::IdInfo>() };
        from_result(|| {
            let data = T::probe(pdev, info);
            pdev.as_ref().set_drvdata(data)?;
            Ok(0)
        })
    }

    extern "C" fn remove_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI core calls remove with a valid device, locked.
        let pdev = unsafe { Self::device(pdev) };
        // SAFETY: Remove only follows a successful probe, which stored a
        // `Pin<KBox<T::Data>>` in drvdata; the driver core drops it only
        // after this callback.
        let data = unsafe { pdev.as_ref().drvdata_borrow::<T::Data<'_>>() };
        T::unbind(pdev, data);
    }

    extern "C" fn shutdown_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: `pci_device_shutdown()` calls this with a valid device,
        // with the device lock held (`device_shutdown()`).
        let pdev = unsafe { Self::device(pdev) };
        // SAFETY: Shutdown is only called for a bound device (`pdev->driver`
        // is set), hence after a successful probe stored the data.
        let data = unsafe { pdev.as_ref().drvdata_borrow::<T::Data<'_>>() };
        T::shutdown(pdev, data);
    }

    /// Runs `op` for the device of a PM callback.
    ///
    /// # Safety
    ///
    /// `dev` must be the device of a `dev_pm_ops` callback of this driver.
    unsafe fn pm_call(dev: *mut bindings::device, op: PmOp) -> c_int {
        // SAFETY: By the function's safety requirement.
        let pdev = unsafe { Self::pm_device(dev) };
        // SAFETY: The PM core calls a driver's callbacks only while it is
        // bound (`dev->driver->pm`), hence after probe stored the data.
        let data = unsafe { pdev.as_ref().drvdata_borrow::<T::Data<'_>>() };
        from_result(|| {
            match op {
                PmOp::Suspend(why) => T::suspend(pdev, data, why)?,
                PmOp::Resume(why) => T::resume(pdev, data, why)?,
            }
            Ok(0)
        })
    }

    extern "C" fn suspend_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: The PM core passes the device of this driver's callback.
        unsafe { Self::pm_call(dev, PmOp::Suspend(Sleep::Suspend)) }
    }

    extern "C" fn resume_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: As above.
        unsafe { Self::pm_call(dev, PmOp::Resume(Sleep::Suspend)) }
    }

    extern "C" fn freeze_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: As above.
        unsafe { Self::pm_call(dev, PmOp::Suspend(Sleep::Freeze)) }
    }

    extern "C" fn thaw_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: As above.
        unsafe { Self::pm_call(dev, PmOp::Resume(Sleep::Freeze)) }
    }

    extern "C" fn poweroff_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: As above.
        unsafe { Self::pm_call(dev, PmOp::Suspend(Sleep::Hibernate)) }
    }

    extern "C" fn restore_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: As above.
        unsafe { Self::pm_call(dev, PmOp::Resume(Sleep::Hibernate)) }
    }
}
