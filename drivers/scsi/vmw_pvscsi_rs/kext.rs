// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Safe wrappers for what the 7.3 `kernel` crate lacks or leaves `unsafe`:
//! a PCI interrupt vector together with its (threaded) handler registration,
//! the DMA mask of a device being probed, cancelling a work item, and a PCI
//! driver registration with shutdown and system-sleep callbacks
//! ([`pci_driver`]; the Rust `pci::Driver` has neither).
//!
//! With the SCSI layer ([`super::scsi`]), this is where all of the driver's
//! `unsafe` code is.

use core::ptr::addr_of;

use kernel::{
    bindings,
    device::Core,
    dma::{
        Device as _,
        DmaMask, //
    },
    interrupt::LocalInterruptDisabled,
    irq::{
        self,
        Flags,
        IrqReturn,
        ThreadedIrqReturn, //
    },
    pci::{
        self,
        IrqType,
        IrqTypes, //
    },
    prelude::*,
    workqueue::{
        HasWork,
        Work, //
    }, //
};

mod pci_driver;

pub(crate) use pci_driver::{
    PmAdapter,
    PmDriver,
    Sleep, //
};

/// One PCI interrupt vector and the threaded handler registered for it.
///
/// The registration borrows the vector allocation, so both live here, the
/// registration first: it is dropped (`free_irq`) before the vectors are
/// freed (`pci_free_irq_vectors`).
#[pin_data]
pub(crate) struct PciIrq<'bound, T: IrqHandlers + 'bound> {
    #[pin]
    registration: irq::ThreadedRegistration<'bound, Threaded<T>>,
    vectors: pci::IrqVectorRegistration<'bound>,
}

impl<'bound, T: IrqHandlers + 'bound> PciIrq<'bound, T> {
    /// Allocates one vector of the allowed `types` (MSI-X, then MSI, then
    /// INTx) and registers a handler for it. `handler` gets the type the PCI
    /// core chose and returns the request flags and the handler.
    pub(crate) fn new<I: PinInit<T, Error> + 'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        types: IrqTypes,
        name: &'static CStr,
        handler: impl FnOnce(IrqType) -> (Flags, I) + 'bound,
    ) -> impl PinInit<Self, Error> + 'bound {
        let pdev: &'bound pci::Device<kernel::device::Bound> = pdev;
        pin_init::pin_init_scope(move || {
            let vectors = pdev.alloc_irq_vectors(1, 1, types)?;
            let (flags, init) = handler(vectors.irq_type());
            Ok(try_pin_init!(&this in Self {
                vectors,
                registration <- {
                    // SAFETY: `vectors` is initialized (fields are initialized
                    // in the order of this initializer) and pinned with `Self`.
                    // The registration that borrows it is declared first, so it
                    // is dropped first and never outlives the borrowed vectors.
                    let vectors: &'bound pci::IrqVectorRegistration<'bound> =
                        unsafe { &*addr_of!((*this.as_ptr()).vectors) };
                    let request = vectors.index(0)?;
                    let init = try_pin_init!(Threaded { inner <- init }? Error);
                    // SAFETY: The registration is a pinned field of `Self`,
                    // which is never forgotten: drivers keep it in their
                    // pinned device data, dropped on unbind.
                    unsafe { irq::ThreadedRegistration::new(request.into(), flags, name, init) }
                },
            }))
        })
    }

    /// Waits until no handler runs on any CPU, the thread included.
    pub(crate) fn synchronize(&self) {
        self.registration.synchronize();
    }
}

/// The two halves of an interrupt handler: a hard one that knows it runs
/// with interrupts disabled, so it can take `SpinLockIrq` locks without
/// saving and restoring the interrupt state
/// ([`kernel::sync::SpinLockIrq::lock_with`]), and a thread for work the hard
/// half bounds and defers.
pub(crate) trait IrqHandlers: Sync {
    /// Handles the interrupt; `irqs_off` proves interrupts are disabled.
    fn hard(&self, irqs_off: &LocalInterruptDisabled) -> ThreadedIrqReturn;

    /// Runs in the interrupt thread when [`IrqHandlers::hard`] asked for it.
    fn thread(&self) -> IrqReturn;
}

/// Registers [`IrqHandlers`] as a threaded interrupt handler.
#[pin_data]
pub(crate) struct Threaded<T> {
    #[pin]
    inner: T,
}

impl<T: IrqHandlers> irq::ThreadedHandler for Threaded<T> {
    fn handle(&self) -> ThreadedIrqReturn {
        // SAFETY: `ThreadedHandler::handle` is only called by the interrupt
        // core as the primary (hard) handler of a `ThreadedRegistration`,
        // where local interrupts are disabled until it returns.
        let irqs_off = unsafe { LocalInterruptDisabled::assume_disabled() };
        self.inner.hard(irqs_off)
    }

    fn handle_threaded(&self) -> IrqReturn {
        self.inner.thread()
    }
}

/// Sets a 64-bit DMA mask, or a 32-bit one if the platform refuses 64 bits;
/// returns the number of bits.
///
/// # Errors
///
/// `EIO` if neither mask can be set.
pub(crate) fn set_dma_mask(pdev: &pci::Device<Core<'_>>) -> Result<u32> {
    // SAFETY: The device is being probed: no DMA allocation or mapping runs
    // concurrently.
    if unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<64>()) }.is_ok() {
        return Ok(64);
    }
    // SAFETY: As above.
    unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<32>()) }.map_err(|_| EIO)?;
    Ok(32)
}

/// Cancels `work` and waits until it is not running; returns whether it was
/// pending.
pub(crate) fn cancel_work_sync<T: HasWork<T, ID>, const ID: u64>(item: &T) -> bool {
    let ptr = core::ptr::from_ref(item).cast_mut();
    // SAFETY:
    // - `ptr` points to a valid `T`, borrowed for the duration of the call.
    // - The work item inside it is initialized (`T` was constructed), and
    //   `cancel_work_sync` only uses the `work_struct`'s own synchronization.
    unsafe {
        let work = T::raw_get_work(ptr);
        bindings::cancel_work_sync(Work::raw_get(work))
    }
}
