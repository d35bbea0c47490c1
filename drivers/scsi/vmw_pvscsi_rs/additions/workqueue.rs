// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Cancelling a work item (or a delayed one) and waiting for it.
//!
//! Upstream, this is `Work::cancel_sync` in `kernel::workqueue`.

use kernel::{
    bindings,
    container_of,
    sync::Arc,
    workqueue::{
        HasDelayedWork,
        HasWork,
        Work,
        WorkItem, //
    }, //
};

/// Cancels `work` and waits until it is not running; returns whether it was
/// pending.
fn cancel_work_sync<T: HasWork<T, ID>, const ID: u64>(item: &T) -> bool {
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

/// Cancels the work item of `this`, which is queued as an `Arc<T>`, and
/// waits until it is not running; returns whether it was pending. A pending
/// item holds a reference to `this` (the queue's), which is dropped here:
/// `cancel_work_sync` alone would leak it, and with it everything `T` owns.
pub(crate) fn cancel_arc_work_sync<T, const ID: u64>(this: &Arc<T>) -> bool
where
    T: HasWork<T, ID> + WorkItem<ID, Pointer = Arc<T>>,
{
    let pending = cancel_work_sync::<T, ID>(this);
    if pending {
        // SAFETY: `Queue::enqueue` of an `Arc<T>` keeps the queue's
        // reference as the pointer `Arc::into_raw` returned (which is
        // `Arc::as_ptr`), and gives it back (`Arc::from_raw`) only when the
        // item runs. The item was pending and `cancel_work_sync` took it off
        // the queue without running it, so that reference is owned by
        // nobody now, and it is given back once, here.
        drop(unsafe { Arc::from_raw(Arc::as_ptr(this)) });
    }
    pending
}

/// [`cancel_arc_work_sync`] for a delayed work item: cancels its timer or
/// its queued run and waits until it is not running; returns whether it
/// was pending (the queue's reference, then dropped here).
pub(crate) fn cancel_arc_delayed_work_sync<T, const ID: u64>(this: &Arc<T>) -> bool
where
    T: HasDelayedWork<T, ID> + WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr = Arc::as_ptr(this).cast_mut();
    // SAFETY:
    // - `ptr` points to a valid `T`, kept alive by `this`.
    // - `HasDelayedWork` says its work item is the `work` of a `struct
    //   delayed_work`, initialized when `T` was constructed, and
    //   `cancel_delayed_work_sync` only uses the item's own
    //   synchronization.
    let pending = unsafe {
        let work = Work::raw_get(T::raw_get_work(ptr));
        bindings::cancel_delayed_work_sync(container_of!(work, bindings::delayed_work, work))
    };
    if pending {
        // SAFETY: As in `cancel_arc_work_sync`: `Queue::enqueue_delayed` of
        // an `Arc<T>` keeps the queue's reference as `Arc::into_raw`'s
        // pointer until the item runs; cancelled while pending, it never
        // runs, and the reference is given back once, here.
        drop(unsafe { Arc::from_raw(Arc::as_ptr(this)) });
    }
    pending
}
