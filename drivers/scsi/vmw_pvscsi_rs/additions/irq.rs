// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! A PCI interrupt vector with its threaded handler, and handlers that know
//! they run with interrupts off.
//!
//! Upstream, this is an addition to `kernel::pci` (an IRQ vector allocation
//! that owns the registration borrowing it) and to `kernel::irq` (a threaded
//! handler whose hard half gets a [`LocalInterruptDisabled`] token).

use core::ptr::addr_of;

use kernel::{
    device::Core,
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
    prelude::*, //
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
    ///
    /// # Safety
    ///
    /// Callers must not `mem::forget()` the initialized [`PciIrq`] or
    /// otherwise prevent its [`Drop`] from running before `'bound` ends (as
    /// for [`irq::ThreadedRegistration::new`]): the handler may borrow what
    /// lives for `'bound` only.
    pub(crate) unsafe fn new<I: PinInit<T, Error> + 'bound>(
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
                    // whose drop runs before `'bound` ends (the caller's
                    // promise).
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
