// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Test cases shared by the KUnit suites and the host-side unit tests.
//!
//! The pure-Rust files (`config`, `ring_index`, `status`, `request`,
//! `message`) each have a `cases` module of functions built from [`check!`]:
//! the KUnit suites (`tests.rs`) run them in the kernel, and `cargo test` in
//! `tests/host` runs the very same functions on the host. A failed check
//! returns an error (never panics), so it is safe in the kernel.
//!
//! This file depends on `core` only, so host-side unit tests compile it as is.

/// Where a check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Source file.
    pub(crate) file: &'static str,
    /// Line.
    pub(crate) line: u32,
    /// The condition that was false.
    pub(crate) check: &'static str,
}

/// Outcome of a test case.
pub(crate) type CaseResult = Result<(), Failure>;

/// Fails the test case unless the condition holds.
macro_rules! check {
    ($cond:expr) => {
        if !($cond) {
            return Err($crate::check::Failure {
                file: file!(),
                line: line!(),
                check: stringify!($cond),
            });
        }
    };
}
pub(crate) use check;
