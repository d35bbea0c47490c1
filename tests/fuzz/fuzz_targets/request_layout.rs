// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `request_layout`: see [`vmw_pvscsi_rs_fuzz::targets::request_layout`].

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmw_pvscsi_rs_fuzz::targets::request_layout::{run, Input};

fuzz_target!(|input: Input| run(&input));
