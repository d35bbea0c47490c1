// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `request_cookie`: see [`vmw_pvscsi_rs_fuzz::targets::request_cookie`].

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmw_pvscsi_rs_fuzz::targets::request_cookie::{run, Input};

fuzz_target!(|input: Input| run(&input));
