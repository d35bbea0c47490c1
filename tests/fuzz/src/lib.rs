// SPDX-License-Identifier: GPL-2.0

//! Fuzz harnesses for the driver's pure-Rust logic.
//!
//! Each module below the harnesses is a file of the driver, compiled
//! unchanged (as in `tests/host`); nothing here is a copy. The harnesses in
//! [`targets`] take the fuzzer's input, run one decoder of device or user
//! input, and panic when a result breaks what the driver's documentation
//! promises: libFuzzer reports the panic as a crash and saves the input.

#![allow(dead_code)]

#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/abi.rs"]
pub(crate) mod abi;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/config.rs"]
pub(crate) mod config;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/message.rs"]
pub(crate) mod message;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/request.rs"]
pub(crate) mod request;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/ring_index.rs"]
pub(crate) mod ring_index;
// The files' test cases name it (only compiled by `cargo test`/`clippy --all-targets`).
#[cfg(test)]
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/check.rs"]
pub(crate) mod check;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/status.rs"]
pub(crate) mod status;

pub mod targets;
