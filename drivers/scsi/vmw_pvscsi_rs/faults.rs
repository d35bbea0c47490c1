// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! What the driver refused from the device, counted: the counters behind
//! the host attributes `bad_completions` and friends, and the rate limit of
//! their log messages.

use kernel::sync::atomic::{
    ordering::Relaxed,
    Atomic, //
};

/// Counts of device misbehaviour, for rate-limited logging.
pub(crate) struct Faults {
    /// Completions the driver refused.
    pub(crate) bad_completions: Atomic<u32>,
    /// Completions for an earlier command of their context.
    pub(crate) stale_completions: Atomic<u32>,
    /// Commands refused at submission.
    pub(crate) bad_submissions: Atomic<u32>,
    /// Commands the device never completed, taken back by a device or bus
    /// reset.
    pub(crate) lost_commands: Atomic<u32>,
    /// Polled commands completed by the adapter because nobody polled for
    /// them ([`super::adapter::Adapter::poll_backstop`]).
    pub(crate) unpolled: Atomic<u32>,
}

impl Faults {
    /// No faults yet.
    pub(crate) fn new() -> Self {
        Self {
            bad_completions: Atomic::new(0),
            stale_completions: Atomic::new(0),
            bad_submissions: Atomic::new(0),
            lost_commands: Atomic::new(0),
            unpolled: Atomic::new(0),
        }
    }

    /// Whether occurrence number `counter` (after incrementing) is logged:
    /// the first ten, then every power of two.
    pub(crate) fn should_log(counter: &Atomic<u32>) -> bool {
        let n = counter.fetch_add(1, Relaxed).wrapping_add(1);
        n <= 10 || n.is_power_of_two()
    }
}
