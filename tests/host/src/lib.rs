// SPDX-License-Identifier: GPL-2.0

//! Host-side unit tests of the driver's pure-Rust logic.
//!
//! Each module below is a file of the driver, compiled unchanged; the tests
//! live in `tests/host/src/*_tests.rs`.

#![allow(dead_code)]

#[path = "../../../drivers/scsi/vmw_pvscsi_rs/abi.rs"]
pub(crate) mod abi;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/config.rs"]
pub(crate) mod config;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/request.rs"]
pub(crate) mod request;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/ring_index.rs"]
pub(crate) mod ring_index;
#[path = "../../../drivers/scsi/vmw_pvscsi_rs/status.rs"]
pub(crate) mod status;

#[cfg(test)]
mod abi_tests;
#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod ring_tests;
#[cfg(test)]
mod status_tests;
