// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! A delayed work item embedded in the object it works on, for objects that
//! are not `'static` (the `kernel` crate's work items are owned `'static`
//! pointers, `Arc<T>` or `Pin<KBox<T>>`; a bound adapter borrows its
//! device).

use kernel::{
    bindings,
    prelude::*,
    sync::LockClassKey,
    time::Jiffies,
    types::Opaque, //
};

/// An object with an embedded [`Ticker`], which runs [`HasTicker::tick`]
/// on it.
///
/// # Safety
///
/// `OFFSET` is the offset of a [`Ticker`] field in `Self`, and every
/// `Self` is pinned and calls [`Ticker::disable_sync`] on it before it is
/// dropped.
pub(crate) unsafe trait HasTicker: Sync {
    /// Offset of the [`Ticker`] in `Self`.
    const OFFSET: usize;

    /// The work, run in process context (`system_dfl_wq`, the unbound queue
    /// that replaces the deprecated `system_unbound_wq` in 7.3; not
    /// freezable: a ticker runs while user tasks are frozen).
    fn tick(&self);
}

/// A `struct delayed_work` that runs [`HasTicker::tick`] on the object that
/// embeds it.
///
/// # Invariants
///
/// `dwork` is initialised, with [`run`] of the embedding `T` as its
/// function.
#[pin_data]
pub(crate) struct Ticker {
    #[pin]
    dwork: Opaque<bindings::delayed_work>,
}

// SAFETY: Kernel work items are usable from any thread.
unsafe impl Send for Ticker {}
// SAFETY: Kernel work items are usable from any thread; `arm` and
// `disable_sync` may run concurrently.
unsafe impl Sync for Ticker {}

/// The work function of the ticker of a `T`.
///
/// # Safety
///
/// `work` is the `work` of the `delayed_work` of a [`Ticker`] embedded at
/// `T::OFFSET` in a valid `T`.
unsafe extern "C" fn run<T: HasTicker>(work: *mut bindings::work_struct) {
    // `work` is the first field of `delayed_work`, the only field of
    // `Ticker` (whose address is therefore `work`'s).
    let owner = work.cast::<u8>().wrapping_sub(T::OFFSET).cast::<T>();
    // SAFETY: By the function's requirements `owner` is a valid `T`, and it
    // stays valid while this runs: it disables the ticker, which waits for
    // this run to return, before it is dropped (`HasTicker`).
    unsafe { (*owner).tick() };
}

impl Ticker {
    /// A ticker for the `T` that embeds it at `T::OFFSET`.
    pub(crate) fn new<T: HasTicker>(
        name: &'static CStr,
        work_key: Pin<&'static LockClassKey>,
        timer_key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        // INVARIANT: initialised below, with `run::<T>`.
        pin_init!(Self {
            dwork <- Opaque::ffi_init(|slot: *mut bindings::delayed_work| {
                // SAFETY: `slot` is valid for writes; `run::<T>` is called
                // only on the work of a ticker embedded in a `T` (the one
                // initialised here, which `HasTicker` places at
                // `T::OFFSET`).
                unsafe {
                    bindings::init_work_with_key(
                        core::ptr::addr_of_mut!((*slot).work),
                        Some(run::<T>),
                        false,
                        name.as_char_ptr(),
                        work_key.as_ptr(),
                    );
                    bindings::timer_init_key(
                        core::ptr::addr_of_mut!((*slot).timer),
                        Some(bindings::delayed_work_timer_fn),
                        bindings::TIMER_IRQSAFE,
                        name.as_char_ptr(),
                        timer_key.as_ptr(),
                    );
                }
            }),
        })
    }

    /// Runs the work once after `delay`, unless it is already queued or the
    /// ticker is disabled; returns whether it was queued. Callable from any
    /// context.
    pub(crate) fn arm(&self, delay: Jiffies) -> bool {
        // SAFETY: `dwork` is initialised (type invariant), and its owner
        // outlives the run (`HasTicker`); `system_dfl_wq` is a C global,
        // always available.
        unsafe {
            bindings::queue_delayed_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                bindings::system_dfl_wq,
                self.dwork.get(),
                delay,
            )
        }
    }

    /// Disables the ticker for good: cancels a queued run, waits for a
    /// running one, and makes every later [`Ticker::arm`] a no-op. May sleep.
    pub(crate) fn disable_sync(&self) {
        // SAFETY: `dwork` is initialised (type invariant).
        unsafe { bindings::disable_delayed_work_sync(self.dwork.get()) };
    }
}
