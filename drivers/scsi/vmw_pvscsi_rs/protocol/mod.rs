// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The PVSCSI protocol, in Rust that depends on `core` only: what the device
//! and the driver exchange, and every decision taken on what the device
//! wrote. Nothing here touches the hardware or the kernel, so `tests/host`
//! compiles these files unchanged for `cargo test`, and `tests/fuzz` for
//! libFuzzer.
//!
//! Each file has a partner at the top of the driver that drives the device
//! with it:
//!
//! | here           | what it decides                          | kernel side       |
//! |----------------|------------------------------------------|-------------------|
//! | [`abi`]        | descriptors, commands, register values   | `hw.rs`, `regs.rs`|
//! | [`config`]     | module parameters, validated             | `params.rs`       |
//! | [`request`]    | request descriptors, SG lists, cookies   | `submit.rs`       |
//! | [`status`]     | completion status to midlayer result     | `complete.rs`     |
//! | [`ring_index`] | ring index arithmetic, checked           | `rings.rs`        |
//! | [`message`]    | hot-plug messages, decoded               | `msg.rs`          |
//!
//! With KUnit: `c_header` (the C header's layout as data, which
//! `scripts/abi-layout` generates) and [`check`] (the test cases' `check!`).

pub(crate) mod abi;
#[cfg(CONFIG_KUNIT = "y")]
pub(crate) mod c_header;
#[cfg(CONFIG_KUNIT = "y")]
pub(crate) mod check;
pub(crate) mod config;
pub(crate) mod message;
pub(crate) mod request;
pub(crate) mod ring_index;
pub(crate) mod status;
