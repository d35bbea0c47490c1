// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The mapping of a host's hardware queues to CPUs, by queue type.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h).
//!
//! A host with more than one kind of hardware queue (interrupt-driven and
//! polled) tells blk-mq which of its queues serve which type of request in
//! [`super::Operations::map_queues`], through [`QueueMaps`].

use kernel::{
    bindings,
    prelude::*, //
};

/// A type of hardware queue (`enum hctx_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueType {
    /// Interrupt-driven queues for every request not of another type
    /// (`HCTX_TYPE_DEFAULT`).
    Default,
    /// Interrupt-driven queues for reads (`HCTX_TYPE_READ`).
    Read,
    /// Polled queues (`HCTX_TYPE_POLL`): requests the submitter polls for.
    Poll,
}

impl QueueType {
    fn index(self) -> u32 {
        match self {
            Self::Default => bindings::hctx_type_HCTX_TYPE_DEFAULT,
            Self::Read => bindings::hctx_type_HCTX_TYPE_READ,
            Self::Poll => bindings::hctx_type_HCTX_TYPE_POLL,
        }
    }
}

/// The queue maps of a host's tag set, while the midlayer sets them up.
///
/// # Invariants
///
/// `set` is the tag set of a host being registered or registered, inside
/// its `map_queues` callback: its first `nr_maps` maps are allocated, and
/// nothing else reads or writes them meanwhile.
pub struct QueueMaps<'a> {
    set: &'a mut bindings::blk_mq_tag_set,
}

impl<'a> QueueMaps<'a> {
    /// Wraps the tag set of a host inside its `map_queues` callback.
    ///
    /// # Safety
    ///
    /// `set` must satisfy the type's invariants for `'a`.
    pub(super) unsafe fn from_raw(set: &'a mut bindings::blk_mq_tag_set) -> Self {
        // INVARIANT: By the function's safety requirements.
        Self { set }
    }

    /// The host's hardware queues, of every type together.
    pub fn nr_hw_queues(&self) -> u32 {
        self.set.nr_hw_queues
    }

    /// Gives queues `offset..offset + nr_queues` to requests of type `kind`
    /// and spreads them over the CPUs (`blk_mq_map_queues`); `nr_queues` 0
    /// leaves `kind` without a queue of its own.
    ///
    /// # Errors
    ///
    /// `EINVAL` if the queues are not all the host's, or if `kind` has no
    /// map (a host without poll queues has only [`QueueType::Default`]'s)
    /// and `nr_queues` is not 0.
    pub fn map(&mut self, kind: QueueType, nr_queues: u32, offset: u32) -> Result {
        let index = kind.index();
        if index >= self.set.nr_maps {
            return if nr_queues == 0 { Ok(()) } else { Err(EINVAL) };
        }
        let end = offset.checked_add(nr_queues).ok_or(EINVAL)?;
        if end > self.set.nr_hw_queues {
            return Err(EINVAL);
        }
        let map = &mut self.set.map[index as usize];
        map.nr_queues = nr_queues;
        map.queue_offset = offset;
        if nr_queues > 0 {
            // SAFETY: By the type's invariants, `map` is an allocated map of
            // the tag set, which nothing else touches during the callback.
            unsafe { bindings::blk_mq_map_queues(map) };
        }
        Ok(())
    }

    /// Maps every hardware queue as [`QueueType::Default`] and no other
    /// type: what the midlayer does for a host without `map_queues`.
    pub(super) fn map_all_default(&mut self) {
        let total = self.set.nr_hw_queues;
        for kind in [QueueType::Read, QueueType::Poll] {
            let index = kind.index();
            if index < self.set.nr_maps {
                self.set.map[index as usize].nr_queues = 0;
            }
        }
        // `total` queues from 0 are the host's; `Default`'s map always
        // exists.
        let _ = self.map(QueueType::Default, total, 0);
    }
}
