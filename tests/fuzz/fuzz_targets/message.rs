// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `message`: see [`vmw_pvscsi_rs_fuzz::targets::message`].

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmw_pvscsi_rs_fuzz::targets::message::{run, Input};

fuzz_target!(|input: Input| run(&input));
