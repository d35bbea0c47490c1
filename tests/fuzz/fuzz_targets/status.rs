// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `status`: see [`vmw_pvscsi_rs_fuzz::targets::status`].

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmw_pvscsi_rs_fuzz::targets::status::{run, Input};

fuzz_target!(|input: Input| run(&input));
