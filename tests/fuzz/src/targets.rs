// SPDX-License-Identifier: GPL-2.0

//! One harness per fuzz target: an input type built with `arbitrary` and a
//! `run` function that checks the driver's promises for it.

pub mod config;
pub mod message;
pub mod request_cookie;
pub mod request_layout;
pub mod ring_index;
pub mod status;
