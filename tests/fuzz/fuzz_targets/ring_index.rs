// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `ring_index`: see [`vmw_pvscsi_rs_fuzz::targets::ring_index`].

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmw_pvscsi_rs_fuzz::targets::ring_index::{run, Input};

fuzz_target!(|input: Input| run(&input));
