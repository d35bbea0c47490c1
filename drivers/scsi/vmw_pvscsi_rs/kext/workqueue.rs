// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Cancelling a work item and waiting for it.
//!
//! Upstream, this is `Work::cancel_sync` in `kernel::workqueue`.

use kernel::{
    bindings,
    workqueue::{
        HasWork,
        Work, //
    }, //
};

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
