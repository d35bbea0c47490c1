// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Reading the module parameters (declared in the crate root's `module!`).
//!
//! Their meaning and validation are in [`super::config`].

use super::config::RawParams;
use crate::module_parameters;

/// The parameter values given at load time (or their defaults).
pub(crate) fn raw() -> RawParams {
    RawParams {
        ring_pages: module_parameters::ring_pages.value(),
        msg_ring_pages: module_parameters::msg_ring_pages.value(),
        cmd_per_lun: module_parameters::cmd_per_lun.value(),
        disable_msi: module_parameters::disable_msi.value(),
        disable_msix: module_parameters::disable_msix.value(),
        use_msg: module_parameters::use_msg.value(),
        use_req_threshold: module_parameters::use_req_threshold.value(),
        poll_queues: module_parameters::poll_queues.value(),
    }
}
