// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Safe wrappers for what the 7.3 `kernel` crate lacks or leaves `unsafe`:
//! a PCI interrupt vector together with its handler registration, the DMA
//! mask of a device being probed, cancelling a work item, and a reboot
//! notifier (the Rust `pci::Driver` has no `shutdown` callback).
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
    error::to_result,
    interrupt::LocalInterruptDisabled,
    irq::{
        self,
        Flags,
        IrqReturn, //
    },
    pci::{
        self,
        IrqType,
        IrqTypes, //
    },
    prelude::*,
    types::Opaque,
    workqueue::{
        HasWork,
        Work, //
    }, //
};

/// One PCI interrupt vector and the handler registered for it.
///
/// The registration borrows the vector allocation, so both live here, the
/// registration first: it is dropped (`free_irq`) before the vectors are
/// freed (`pci_free_irq_vectors`).
#[pin_data]
pub(crate) struct PciIrq<'bound, T: irq::Handler + 'bound> {
    #[pin]
    registration: irq::Registration<'bound, T>,
    vectors: pci::IrqVectorRegistration<'bound>,
}

impl<'bound, T: irq::Handler + 'bound> PciIrq<'bound, T> {
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
                    // SAFETY: The registration is a pinned field of `Self`,
                    // which is never forgotten: drivers keep it in their
                    // pinned device data, dropped on unbind.
                    unsafe { irq::Registration::new(request.into(), flags, name, init) }
                },
            }))
        })
    }

    /// Waits until no handler runs on any CPU.
    pub(crate) fn synchronize(&self) {
        self.registration.synchronize();
    }
}

/// An interrupt handler that knows it runs with interrupts disabled, so it
/// can take `SpinLockIrq` locks without saving and restoring the interrupt
/// state ([`kernel::sync::SpinLockIrq::lock_with`]).
pub(crate) trait HardIrqHandler: Sync {
    /// Handles the interrupt; `irqs_off` proves interrupts are disabled.
    fn handle(&self, irqs_off: &LocalInterruptDisabled) -> IrqReturn;
}

/// Registers a [`HardIrqHandler`] as a plain (non-threaded) handler.
pub(crate) struct InHardIrq<T>(pub(crate) T);

impl<T: HardIrqHandler> irq::Handler for InHardIrq<T> {
    fn handle(&self) -> IrqReturn {
        // SAFETY: `irq::Handler::handle` is only called by the interrupt core
        // from the hard interrupt handler of an `irq::Registration` (not a
        // threaded one), where local interrupts are disabled until it returns.
        let irqs_off = unsafe { LocalInterruptDisabled::assume_disabled() };
        self.0.handle(irqs_off)
    }
}

/// Something to do before the system reboots, halts, powers off or starts
/// another kernel with kexec.
pub(crate) trait RebootHandler: Sync {
    /// Called once, in process context, from the reboot notifier chain.
    fn reboot(&self);
}

/// A registered reboot notifier calling a [`RebootHandler`].
///
/// # Invariants
///
/// `nb` is registered on the reboot notifier chain from the end of
/// initialization until drop, and its callback is [`RebootNotifier::call`].
#[pin_data(PinnedDrop)]
pub(crate) struct RebootNotifier<T: RebootHandler> {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    handler: T,
}

// SAFETY: The notifier block is only touched by the notifier chain, under its
// own lock; the handler is `Sync` (and `Send` where `T` is).
unsafe impl<T: RebootHandler + Send> Send for RebootNotifier<T> {}
// SAFETY: As above; `&self` gives no access to the notifier block.
unsafe impl<T: RebootHandler> Sync for RebootNotifier<T> {}

impl<T: RebootHandler> RebootNotifier<T> {
    /// Registers `handler` on the reboot notifier chain.
    pub(crate) fn new(handler: T) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Self {
            handler,
            nb <- Opaque::ffi_init(|slot: *mut bindings::notifier_block| {
                // SAFETY: `slot` is valid for writes (pin-init contract).
                unsafe {
                    slot.write(bindings::notifier_block {
                        notifier_call: Some(Self::call),
                        next: core::ptr::null_mut(),
                        priority: 0,
                    })
                }
            }),
            _: {
                // SAFETY: `nb` is initialized and pinned with `Self`; it stays
                // registered until `drop` unregisters it.
                let nb = unsafe { (*this.as_ptr()).nb.get() };
                // INVARIANT: registered from here on.
                // SAFETY: `nb` is a valid, initialized notifier block.
                to_result(unsafe { crate::bindings::register_reboot_notifier(nb) })?;
            },
        }? Error)
    }

    /// The notifier callback.
    ///
    /// # Safety
    ///
    /// Only the reboot notifier chain calls it, with the `nb` of a registered
    /// `RebootNotifier<T>`.
    unsafe extern "C" fn call(
        nb: *mut bindings::notifier_block,
        _action: c_ulong,
        _data: *mut c_void,
    ) -> c_int {
        let nb = nb.cast::<Opaque<bindings::notifier_block>>();
        // SAFETY: `nb` is the `nb` field of a registered `RebootNotifier<T>`
        // (`Opaque` is transparent), which stays valid while registered.
        let this = unsafe { &*kernel::container_of!(nb, Self, nb) };
        this.handler.reboot();
        // NOTIFY_DONE
        0
    }
}

#[pinned_drop]
impl<T: RebootHandler> PinnedDrop for RebootNotifier<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered by the type invariant; this waits for running
        // callbacks (the chain's rwsem).
        unsafe { crate::bindings::unregister_reboot_notifier(self.nb.get()) };
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
