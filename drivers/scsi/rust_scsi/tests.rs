// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The layer's KUnit suite, `rust_scsi_layer`.
//!
//! Every user of the layer compiles the layer into itself until it is part
//! of the kernel crate, and a suite's name must be unique: the suite is
//! compiled into one user only, the layer's sample (`rust_scsi_ram`, whose
//! Kbuild sets `--cfg rust_scsi_kunit`).

use kernel::prelude::*;

#[kunit_tests(rust_scsi_layer)]
mod cases {
    use crate::scsi::{
        check_layout,
        CommandResult,
        HostByte,
        SamStatus, //
    };

    /// The layer's bindgen output agrees with the C compiler on every
    /// structure layout the layer relies on (`Host::new` also refuses to
    /// create a host when they disagree).
    #[test]
    fn layout_matches_c() {
        assert_eq!(check_layout(), Ok(()));
    }

    /// A result is stored as the midlayer reads it: `host_byte()` is bits
    /// 16-23 of `scsi_cmnd.result`, `get_status_byte()` bits 0-7.
    #[test]
    fn results_are_the_midlayers() {
        let r = CommandResult::new(HostByte::BAD_TARGET, SamStatus::CHECK_CONDITION);
        assert_eq!(r.raw(), 0x0004_0002);
        assert_eq!(CommandResult::from_raw(r.raw()), r);
        assert_eq!(CommandResult::GOOD.raw(), 0);
        assert!(CommandResult::GOOD.is_good());
        assert!(!CommandResult::host(HostByte::ERROR).is_good());
        assert_eq!(CommandResult::host(HostByte::RESET).raw(), 0x0008_0000);
    }

    /// The named host bytes and status bytes are the kernel's
    /// (include/scsi/scsi_status.h), spelt out once more here.
    #[test]
    fn constants_are_the_headers() {
        assert_eq!(HostByte::OK.raw(), 0x00);
        assert_eq!(HostByte::NO_CONNECT.raw(), 0x01);
        assert_eq!(HostByte::BUS_BUSY.raw(), 0x02);
        assert_eq!(HostByte::BAD_TARGET.raw(), 0x04);
        assert_eq!(HostByte::ERROR.raw(), 0x07);
        assert_eq!(HostByte::RESET.raw(), 0x08);
        assert_eq!(HostByte::REQUEUE.raw(), 0x0d);
        assert_eq!(SamStatus::CHECK_CONDITION.raw(), 0x02);
        assert_eq!(SamStatus::BUSY.raw(), 0x08);
        assert_eq!(SamStatus::TASK_SET_FULL.raw(), 0x28);
    }
}
