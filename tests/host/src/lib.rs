// SPDX-License-Identifier: GPL-2.0

//! Host-side unit tests of the driver's pure-Rust logic.
//!
//! Each module below is a file of the driver, compiled unchanged. The test
//! cases themselves live in the driver files (`cases` modules) and are shared
//! with the KUnit suites; this crate runs them with `cargo test`.

#![allow(dead_code)]

#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/abi.rs"]
pub(crate) mod abi;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/c_header.rs"]
pub(crate) mod c_header;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/config.rs"]
pub(crate) mod config;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/message.rs"]
pub(crate) mod message;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/request.rs"]
pub(crate) mod request;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/ring_index.rs"]
pub(crate) mod ring_index;
#[cfg(test)]
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/check.rs"]
pub(crate) mod check;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/protocol/status.rs"]
pub(crate) mod status;

#[cfg(test)]
mod abi_tests;
#[cfg(test)]
mod cases;
