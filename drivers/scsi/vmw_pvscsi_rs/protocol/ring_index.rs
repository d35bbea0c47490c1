// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Ring geometry and free-running index arithmetic.
//!
//! PVSCSI ring indices are free-running `u32` counters: the slot of index `i`
//! is `i % entries`, and `producer - consumer` (wrapping) is the number of
//! pending entries. The device writes the producer index of the completion
//! and message rings and the consumer index of the request ring; none of them
//! is trusted: [`Ring::pending`] refuses counts larger than the ring.
//!
//! The driver never uses the `*NumEntriesLog2` values the device writes for
//! its own indexing; it checks once, after setup, that they match the ring it
//! allocated ([`Ring::check_device_log2`]).
//!
//! This file depends on `core` only, so host-side unit tests compile it as is.

/// A ring of `entries` descriptors, `entries` a power of two.
///
/// Kept as the mask `entries - 1`, which the hot paths use as it is.
///
/// # Invariants
///
/// `mask + 1` is a power of two that fits in `u32` (so `mask < u32::MAX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ring {
    mask: u32,
}

/// The device's indices describe more pending entries than the ring holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Overrun {
    /// The producer index read from the device.
    pub(crate) prod: u32,
    /// The consumer index.
    pub(crate) cons: u32,
}

impl Ring {
    /// Returns the ring of `pages` pages of `per_page` descriptors each, or
    /// `None` unless the product is a power of two that fits in `u32`.
    pub(crate) fn new(pages: u32, per_page: u32) -> Option<Self> {
        let entries = pages.checked_mul(per_page)?;
        if !entries.is_power_of_two() {
            return None;
        }
        // INVARIANT: `entries` is a power of two, so not 0.
        Some(Self { mask: entries - 1 })
    }

    /// Number of descriptors.
    pub(crate) fn entries(self) -> u32 {
        // `mask < u32::MAX` (type invariant), so this never wraps; the
        // wrapping add only spares an overflow check.
        self.mask.wrapping_add(1)
    }

    /// log2 of the number of descriptors, as the device reports it.
    pub(crate) fn log2(self) -> u32 {
        self.entries().trailing_zeros()
    }

    /// Slot of free-running index `idx`; always `< entries()`.
    pub(crate) fn slot(self, idx: u32) -> usize {
        (idx & self.mask) as usize
    }

    /// Entries between `cons` and `prod`, or an error if that is more than the
    /// ring holds (the indices are then corrupt).
    pub(crate) fn pending(self, prod: u32, cons: u32) -> Result<u32, Overrun> {
        let n = prod.wrapping_sub(cons);
        if n > self.entries() {
            return Err(Overrun { prod, cons });
        }
        Ok(n)
    }

    /// Whether a producer at `prod` would overwrite an entry the consumer
    /// has not read, the consumer being at `cons`: the ring holds `entries()`
    /// unread ones. Indices that describe more than that are impossible (a
    /// consumer ahead of the producer, or more than a ring behind) and do
    /// not make the ring full: a device that writes such an index lies about
    /// how far it has read, and submission must not wait for it for ever.
    pub(crate) fn is_full(self, prod: u32, cons: u32) -> bool {
        self.pending(prod, cons) == Ok(self.entries())
    }

    /// Checks the log2 size the device wrote after setup against this ring.
    pub(crate) fn check_device_log2(self, device_log2: u32) -> bool {
        device_log2 == self.log2()
    }
}

/// Test cases (see [`super::check`]).
#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod cases {
    use super::*;
    use crate::check::{
        check,
        CaseResult, //
    };

    /// Ring sizes are powers of two.
    pub(crate) fn geometry() -> CaseResult {
        check!(matches!(Ring::new(8, 32), Some(r) if r.entries() == 256 && r.log2() == 8));
        check!(Ring::new(3, 32).is_none());
        check!(Ring::new(0, 32).is_none());
        check!(Ring::new(u32::MAX, 32).is_none());
        check!(matches!(Ring::new(32, 128), Some(r) if r.entries() == 4096));
        Ok(())
    }

    /// Slots wrap at the ring size, and at the end of `u32`.
    pub(crate) fn slots_wrap() -> CaseResult {
        let Some(r) = Ring::new(1, 32) else {
            check!(false);
            return Ok(());
        };
        check!(r.slot(0) == 0);
        check!(r.slot(31) == 31);
        check!(r.slot(32) == 0);
        check!(r.slot(u32::MAX) == 31);
        Ok(())
    }

    /// Pending counts are right across the `u32` wrap-around.
    pub(crate) fn pending_across_wrap_around() -> CaseResult {
        let Some(r) = Ring::new(1, 32) else {
            check!(false);
            return Ok(());
        };
        check!(r.pending(5, u32::MAX - 2) == Ok(8));
        check!(r.pending(0, 0) == Ok(0));
        check!(r.pending(32, 0) == Ok(32));
        check!(r.pending(2, u32::MAX - 29) == Ok(32));
        check!(r.pending(21, u32::MAX - 10) == Ok(32));
        Ok(())
    }

    /// Indices describing more entries than the ring holds are refused.
    pub(crate) fn corrupt_indices_are_refused() -> CaseResult {
        let Some(r) = Ring::new(1, 32) else {
            check!(false);
            return Ok(());
        };
        check!(r.pending(33, 0) == Err(Overrun { prod: 33, cons: 0 }));
        // A producer behind the consumer looks like a huge count.
        check!(r.pending(0, 1).is_err());
        check!(r.pending(100, 0).is_err());
        Ok(())
    }

    /// A ring is full with exactly one ring's worth unread, across the
    /// wrap-around; impossible indices do not make it full.
    pub(crate) fn full_ring() -> CaseResult {
        let Some(r) = Ring::new(1, 32) else {
            check!(false);
            return Ok(());
        };
        check!(r.is_full(32, 0));
        check!(r.is_full(20, u32::MAX - 11));
        check!(!r.is_full(31, 0));
        check!(!r.is_full(0, 0));
        check!(!r.is_full(33, 0));
        check!(!r.is_full(0, 1));
        Ok(())
    }

    /// The device's log2 sizes must match the ring.
    pub(crate) fn device_log2_check() -> CaseResult {
        let Some(r) = Ring::new(8, 32) else {
            check!(false);
            return Ok(());
        };
        check!(r.check_device_log2(8));
        check!(!r.check_device_log2(7));
        check!(!r.check_device_log2(31));
        Ok(())
    }
}
