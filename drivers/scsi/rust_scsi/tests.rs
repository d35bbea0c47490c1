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
    use kernel::{
        bindings,
        prelude::*, //
    };

    use crate::scsi::{
        CommandResult,
        HostByte,
        QueueMaps,
        QueueType,
        SamStatus, //
    };

    // module-only: begin
    /// The layer's bindgen output agrees with the C compiler on every
    /// structure layout the layer relies on (`Host::new` also refuses to
    /// create a host when they disagree).
    #[test]
    fn layout_matches_c() {
        assert_eq!(crate::scsi::check_layout(), Ok(()));
    }
    // module-only: end

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

    /// `QueueMaps::map` refuses queues that are not the host's and a type
    /// of queue the host has no map for, and maps every CPU of a map it
    /// accepts to the map's queues (`blk_mq_map_queues`); the fallback
    /// after a failed `map_queues` leaves no queue polled.
    #[test]
    fn queue_maps_check_their_queues() -> Result {
        const UNSET: u32 = u32::MAX;
        let cpus = kernel::cpu::nr_cpu_ids() as usize;
        // A tag set as the midlayer has it in `map_queues`: two hardware
        // queues (one interrupt-driven, one polled) and three maps, each
        // with a table of a queue per CPU.
        let mut tables = [
            KVec::from_elem(UNSET, cpus, GFP_KERNEL)?,
            KVec::from_elem(UNSET, cpus, GFP_KERNEL)?,
            KVec::from_elem(UNSET, cpus, GFP_KERNEL)?,
        ];
        let mut set: bindings::blk_mq_tag_set = pin_init::zeroed();
        set.nr_hw_queues = 2;
        set.nr_maps = 3;
        for (map, table) in set.map.iter_mut().zip(tables.iter_mut()) {
            map.mq_map = table.as_mut_ptr();
        }
        // SAFETY: Each map's table has an entry per CPU id, and nothing
        // else uses `set` while `maps` lives.
        let mut maps = unsafe { QueueMaps::from_raw(&mut set) };
        assert_eq!(maps.nr_hw_queues(), 2);
        assert_eq!(maps.map(QueueType::Default, 2, 1), Err(EINVAL));
        assert_eq!(maps.map(QueueType::Poll, 1, u32::MAX), Err(EINVAL));
        assert_eq!(maps.map(QueueType::Default, 1, 0), Ok(()));
        assert_eq!(maps.map(QueueType::Read, 0, 0), Ok(()));
        assert_eq!(maps.map(QueueType::Poll, 1, 1), Ok(()));
        let default = (set.map[0].nr_queues, set.map[0].queue_offset);
        let read = set.map[1].nr_queues;
        let poll = (set.map[2].nr_queues, set.map[2].queue_offset);
        assert_eq!(default, (1, 0));
        assert_eq!(read, 0);
        assert_eq!(poll, (1, 1));
        // CPU 0 (always possible) gets each map's one queue; no CPU gets
        // another; the read map, without queues, is left alone.
        assert_eq!(tables[0][0], 0);
        assert_eq!(tables[2][0], 1);
        assert!(tables[0].iter().all(|&q| q == 0 || q == UNSET));
        assert!(tables[2].iter().all(|&q| q == 1 || q == UNSET));
        assert!(tables[1].iter().all(|&q| q == UNSET));
        // What the layer falls back to when a driver's `map_queues` fails:
        // every queue interrupt-driven, none polled.
        // SAFETY: As above.
        unsafe { QueueMaps::from_raw(&mut set) }.map_all_default();
        let default = (set.map[0].nr_queues, set.map[0].queue_offset);
        let poll = set.map[2].nr_queues;
        assert_eq!(default, (2, 0));
        assert_eq!(poll, 0);
        assert!(tables[0].iter().all(|&q| q < 2 || q == UNSET));
        // A host without poll queues has the default map only: no queues
        // of another type is no change, some are refused.
        set.nr_maps = 1;
        // SAFETY: As above.
        let mut maps = unsafe { QueueMaps::from_raw(&mut set) };
        assert_eq!(maps.map(QueueType::Poll, 0, 0), Ok(()));
        assert_eq!(maps.map(QueueType::Poll, 1, 1), Err(EINVAL));
        Ok(())
    }
}
