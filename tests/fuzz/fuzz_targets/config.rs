// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `config`: see [`vmw_pvscsi_rs_fuzz::targets::config`].

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmw_pvscsi_rs_fuzz::targets::config::{run, Input};

fuzz_target!(|input: Input| run(&input));
