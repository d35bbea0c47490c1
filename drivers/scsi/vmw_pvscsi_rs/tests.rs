// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! KUnit suites for the device ABI and the register map.
//!
//! The ABI is also asserted at build time; these tests repeat the checks at
//! run time against the numbers of `vmw_pvscsi.h`, so a layout change shows up
//! as a named failing test rather than only as a build error.

use kernel::prelude::*;

#[kunit_tests(vmw_pvscsi_rs_abi)]
mod abi_layout {
    use super::run;
    use crate::abi::*;
    use core::mem::offset_of;
    use kernel::prelude::*;

    #[test]
    fn layout_matches_the_c_header() -> Result {
        run(cases::layout_matches_the_c_header())
    }

    #[test]
    fn constants_match_the_c_header() -> Result {
        run(cases::constants_match_the_c_header())
    }

    #[test]
    fn rings_state() {
        assert_eq!(size_of::<RingsState>(), 140);
        assert_eq!(offset_of!(RingsState, req_prod_idx), 0);
        assert_eq!(offset_of!(RingsState, req_cons_idx), 4);
        assert_eq!(offset_of!(RingsState, req_num_entries_log2), 8);
        assert_eq!(offset_of!(RingsState, cmp_prod_idx), 12);
        assert_eq!(offset_of!(RingsState, cmp_cons_idx), 16);
        assert_eq!(offset_of!(RingsState, cmp_num_entries_log2), 20);
        assert_eq!(offset_of!(RingsState, req_call_threshold), 24);
        assert_eq!(offset_of!(RingsState, msg_prod_idx), 128);
        assert_eq!(offset_of!(RingsState, msg_cons_idx), 132);
        assert_eq!(offset_of!(RingsState, msg_num_entries_log2), 136);
    }

    #[test]
    fn request_descriptor() {
        assert_eq!(size_of::<ReqDesc>(), 128);
        assert_eq!(offset_of!(ReqDesc, context), 0);
        assert_eq!(offset_of!(ReqDesc, data_addr), 8);
        assert_eq!(offset_of!(ReqDesc, data_len), 16);
        assert_eq!(offset_of!(ReqDesc, sense_addr), 24);
        assert_eq!(offset_of!(ReqDesc, sense_len), 32);
        assert_eq!(offset_of!(ReqDesc, flags), 36);
        assert_eq!(offset_of!(ReqDesc, cdb), 40);
        assert_eq!(offset_of!(ReqDesc, cdb_len), 56);
        assert_eq!(offset_of!(ReqDesc, lun), 57);
        assert_eq!(offset_of!(ReqDesc, tag), 65);
        assert_eq!(offset_of!(ReqDesc, bus), 66);
        assert_eq!(offset_of!(ReqDesc, target), 67);
        assert_eq!(offset_of!(ReqDesc, vcpu_hint), 68);
        assert_eq!(offset_of!(ReqDesc, unused), 70);
    }

    #[test]
    fn completion_descriptor() {
        assert_eq!(size_of::<CmpDesc>(), 32);
        assert_eq!(offset_of!(CmpDesc, context), 0);
        assert_eq!(offset_of!(CmpDesc, data_len), 8);
        assert_eq!(offset_of!(CmpDesc, sense_len), 16);
        assert_eq!(offset_of!(CmpDesc, host_status), 20);
        assert_eq!(offset_of!(CmpDesc, scsi_status), 22);
    }

    #[test]
    fn sg_and_message_descriptors() {
        assert_eq!(size_of::<SgElement>(), 16);
        assert_eq!(offset_of!(SgElement, length), 8);
        assert_eq!(offset_of!(SgElement, flags), 12);
        assert_eq!(size_of::<MsgDesc>(), 128);
        assert_eq!(size_of::<MsgDescDevStatusChanged>(), 128);
        assert_eq!(offset_of!(MsgDescDevStatusChanged, target), 8);
        assert_eq!(offset_of!(MsgDescDevStatusChanged, lun), 12);
    }

    #[test]
    fn command_descriptors() {
        assert_eq!(size_of::<SetupRings>(), 528);
        assert_eq!(offset_of!(SetupRings, rings_state_ppn), 8);
        assert_eq!(offset_of!(SetupRings, req_ring_ppns), 16);
        assert_eq!(offset_of!(SetupRings, cmp_ring_ppns), 272);
        assert_eq!(size_of::<SetupMsgRing>(), 136);
        assert_eq!(size_of::<AbortCmd>(), 16);
        assert_eq!(size_of::<ResetDevice>(), 12);
        assert_eq!(size_of::<ConfigCmd>(), 24);
        assert_eq!(size_of::<SetupReqCall>(), 4);
        assert_eq!(size_of::<ConfigPageHeader>(), 16);
        assert_eq!(offset_of!(ConfigPageController, num_phys), 472);
    }

    #[test]
    fn ring_geometry() {
        assert_eq!(REQ_ENTRIES_PER_PAGE, 32);
        assert_eq!(CMP_ENTRIES_PER_PAGE, 128);
        assert_eq!(MSG_ENTRIES_PER_PAGE, 32);
        assert_eq!(MEM_SPACE_SIZE, 32768);
        assert_eq!(INTR_ALL_SUPPORTED, 0xf);
        assert_eq!(Command::SetupReqCallThreshold as u32, 10);
    }
}

#[kunit_tests(vmw_pvscsi_rs_regs)]
mod register_map {
    use crate::abi::MEM_SPACE_SIZE;
    use crate::regs::*;
    use kernel::io::register::Register;

    /// The offset of register `name` in the C header (`vmw_pvscsi.h`).
    fn c_offset(name: &str) -> Option<usize> {
        crate::c_header::CONSTANTS
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|&(_, v)| usize::try_from(v).ok())
    }

    #[test]
    fn offsets() {
        let regs = [
            ("PVSCSI_REG_OFFSET_COMMAND", <COMMAND as Register>::OFFSET),
            (
                "PVSCSI_REG_OFFSET_COMMAND_DATA",
                <COMMAND_DATA as Register>::OFFSET,
            ),
            (
                "PVSCSI_REG_OFFSET_COMMAND_STATUS",
                <COMMAND_STATUS as Register>::OFFSET,
            ),
            (
                "PVSCSI_REG_OFFSET_INTR_STATUS",
                <INTR_STATUS as Register>::OFFSET,
            ),
            (
                "PVSCSI_REG_OFFSET_INTR_MASK",
                <INTR_MASK as Register>::OFFSET,
            ),
            (
                "PVSCSI_REG_OFFSET_KICK_NON_RW_IO",
                <KICK_NON_RW_IO as Register>::OFFSET,
            ),
            ("PVSCSI_REG_OFFSET_DEBUG", <DEBUG as Register>::OFFSET),
            (
                "PVSCSI_REG_OFFSET_KICK_RW_IO",
                <KICK_RW_IO as Register>::OFFSET,
            ),
        ];
        for (name, offset) in regs {
            assert_eq!(c_offset(name), Some(offset));
        }
        // Every register fits the window the BAR mapping checks at build time.
        assert!(<KICK_RW_IO as Register>::OFFSET + 4 <= MEM_SPACE_SIZE);
    }

    #[test]
    fn interrupt_bits() {
        let status = INTR_STATUS::from_raw(0b0101);
        assert!(status.cmpl_0());
        assert!(!status.cmpl_1());
        assert!(status.msg_0());
        assert!(!status.msg_1());
    }
}

/// Runs a shared test case (see `protocol/check.rs`), reporting where it failed.
fn run(result: crate::check::CaseResult) -> Result {
    result.map_err(|f| {
        pr_err!("{}:{}: check failed: {}\n", f.file, f.line, f.check);
        EINVAL
    })
}

#[kunit_tests(vmw_pvscsi_rs_config)]
mod config_cases {
    use super::run;
    use crate::config::cases as c;
    use kernel::prelude::*;

    #[test]
    fn defaults_are_the_c_drivers() -> Result {
        run(c::defaults_are_the_c_drivers())
    }

    #[test]
    fn ring_pages_power_of_two_up_to_32() -> Result {
        run(c::ring_pages_power_of_two_up_to_32())
    }

    #[test]
    fn msg_ring_pages_power_of_two_up_to_16() -> Result {
        run(c::msg_ring_pages_power_of_two_up_to_16())
    }

    #[test]
    fn cmd_per_lun_range() -> Result {
        run(c::cmd_per_lun_range())
    }

    #[test]
    fn poll_queues_0_or_1() -> Result {
        run(c::poll_queues_0_or_1())
    }

    #[test]
    fn refusal_names_allowed_values() -> Result {
        run(c::refusal_names_allowed_values())
    }

    #[test]
    fn automatic_ring_size() -> Result {
        run(c::automatic_ring_size())
    }

    #[test]
    fn reported_target_counts() -> Result {
        run(c::reported_target_counts())
    }

    #[test]
    fn disable_flags() -> Result {
        run(c::disable_flags())
    }
}

#[kunit_tests(vmw_pvscsi_rs_ring_index)]
mod ring_index_cases {
    use super::run;
    use crate::ring_index::cases as c;
    use kernel::prelude::*;

    #[test]
    fn geometry() -> Result {
        run(c::geometry())
    }

    #[test]
    fn slots_wrap() -> Result {
        run(c::slots_wrap())
    }

    #[test]
    fn pending_across_wrap_around() -> Result {
        run(c::pending_across_wrap_around())
    }

    #[test]
    fn corrupt_indices_are_refused() -> Result {
        run(c::corrupt_indices_are_refused())
    }

    #[test]
    fn full_ring() -> Result {
        run(c::full_ring())
    }

    #[test]
    fn device_log2_check() -> Result {
        run(c::device_log2_check())
    }
}

#[kunit_tests(vmw_pvscsi_rs_status)]
mod status_cases {
    use super::run;
    use crate::status::cases as c;
    use kernel::prelude::*;

    #[test]
    fn every_host_status() -> Result {
        run(c::every_host_status())
    }

    #[test]
    fn success_good() -> Result {
        run(c::success_good())
    }

    #[test]
    fn residual_rule() -> Result {
        run(c::residual_rule())
    }

    #[test]
    fn clean_agrees_with_map() -> Result {
        run(c::clean_agrees_with_map())
    }

    #[test]
    fn short_read_write_is_never_complete() -> Result {
        run(c::short_read_write_is_never_complete())
    }

    #[test]
    fn check_condition_keeps_sense() -> Result {
        run(c::check_condition_keeps_sense())
    }

    #[test]
    fn check_condition_with_data_phase() -> Result {
        run(c::check_condition_with_data_phase())
    }

    #[test]
    fn sense_length_is_bounded() -> Result {
        run(c::sense_length_is_bounded())
    }

    #[test]
    fn other_statuses_pass_through() -> Result {
        run(c::other_statuses_pass_through())
    }

    #[test]
    fn reserved_status_is_refused() -> Result {
        run(c::reserved_status_is_refused())
    }

    #[test]
    fn command_terminated_is_did_reset() -> Result {
        run(c::command_terminated_is_did_reset())
    }

    #[test]
    fn overrun_is_an_error() -> Result {
        run(c::overrun_is_an_error())
    }
}

#[kunit_tests(vmw_pvscsi_rs_request)]
mod request_cases {
    use super::run;
    use crate::request::cases as c;
    use kernel::prelude::*;

    #[test]
    fn no_segments() -> Result {
        run(c::no_segments())
    }

    #[test]
    fn sg_list_one_segment_inline() -> Result {
        run(c::one_segment_inline())
    }

    #[test]
    fn sg_list_two_segments() -> Result {
        run(c::two_segments_use_the_list())
    }

    #[test]
    fn sg_list_128_segments() -> Result {
        run(c::full_list_of_128())
    }

    #[test]
    fn bad_scatter_lists_are_refused() -> Result {
        run(c::bad_scatter_lists_are_refused())
    }

    #[test]
    fn descriptor_fields() -> Result {
        run(c::descriptor_fields())
    }

    #[test]
    fn descriptor_directions_and_lun() -> Result {
        run(c::descriptor_directions_and_lun())
    }

    #[test]
    fn doorbells() -> Result {
        run(c::doorbells())
    }

    #[test]
    fn coalesced_doorbells() -> Result {
        run(c::coalesced_doorbells())
    }

    #[test]
    fn doorbells_per_batch() -> Result {
        run(c::doorbells_per_batch())
    }

    #[test]
    fn context_cookies() -> Result {
        run(c::context_cookies())
    }

    #[test]
    fn stamps_round_trip() -> Result {
        run(c::stamps_round_trip())
    }
}

#[kunit_tests(vmw_pvscsi_rs_message)]
mod message_cases {
    use super::run;
    use crate::message::cases as c;
    use kernel::prelude::*;

    #[test]
    fn added_and_removed() -> Result {
        run(c::added_and_removed())
    }

    #[test]
    fn malformed_messages_are_refused() -> Result {
        run(c::malformed_messages_are_refused())
    }
}

#[kunit_tests(vmw_pvscsi_rs_workqueue)]
mod workqueue_cases {
    //! Issue 27, defect 3: cancelling a queued `Arc` work item must give the
    //! queue's reference back. `MsgWork::stop` ignored the "it was pending"
    //! answer of `cancel_work_sync`, and the hot-plug state (the host, the
    //! message ring, a `pci_dev` reference) leaked with it. Each case counts
    //! the drops of a probe item: a leaked reference leaves it alive.

    use crate::additions;
    use kernel::{
        impl_has_delayed_work,
        impl_has_work,
        new_delayed_work,
        new_work,
        prelude::*,
        sync::{
            atomic::{
                ordering::Relaxed,
                Atomic, //
            },
            Arc, //
        },
        time::{
            delay::fsleep,
            msecs_to_jiffies,
            Delta, //
        },
        workqueue::{
            self,
            DelayedWork,
            Work,
            WorkItem, //
        }, //
    };

    /// Probes dropped so far (the cases run one after another).
    static DROPS: Atomic<u32> = Atomic::new(0);

    /// A work item (ID 0) whose first run waits until its delayed work
    /// (ID 1) has run, so that the test can queue it again while it runs.
    #[pin_data(PinnedDrop)]
    struct Probe {
        #[pin]
        work: Work<Probe, 0>,
        #[pin]
        release: DelayedWork<Probe, 1>,
        runs: Atomic<u32>,
        released: Atomic<bool>,
    }

    impl_has_work! {
        impl HasWork<Self, 0> for Probe { self.work }
    }

    impl_has_delayed_work! {
        impl HasDelayedWork<Self, 1> for Probe { self.release }
    }

    impl WorkItem<0> for Probe {
        type Pointer = Arc<Probe>;

        fn run(this: Arc<Probe>) {
            if this.runs.fetch_add(1, Relaxed) == 0 {
                // Bounded: 10 s at most.
                for _ in 0..1000 {
                    if this.released.load(Relaxed) {
                        break;
                    }
                    fsleep(Delta::from_millis(10));
                }
            }
        }
    }

    impl WorkItem<1> for Probe {
        type Pointer = Arc<Probe>;

        fn run(this: Arc<Probe>) {
            this.released.store(true, Relaxed);
        }
    }

    #[pinned_drop]
    impl PinnedDrop for Probe {
        fn drop(self: Pin<&mut Self>) {
            DROPS.fetch_add(1, Relaxed);
        }
    }

    fn probe() -> Result<Arc<Probe>> {
        Arc::pin_init(
            pin_init!(Probe {
                work <- new_work!("vmw_pvscsi_rs::test_probe"),
                release <- new_delayed_work!("vmw_pvscsi_rs::test_release"),
                runs: Atomic::new(0),
                released: Atomic::new(false),
            }),
            GFP_KERNEL,
        )
    }

    /// A delayed item cancelled before its timer fires: the reference its
    /// queueing took comes back, and the item is dropped with the last one.
    #[test]
    fn cancelled_delayed_work_gives_its_reference_back() -> Result {
        let drops = DROPS.load(Relaxed);
        let p = probe()?;
        let queued = workqueue::system_long()
            .enqueue_delayed::<_, 1>(p.clone(), msecs_to_jiffies(60_000))
            .is_ok();
        assert!(queued);
        assert!(additions::cancel_arc_delayed_work_sync::<_, 1>(&p));
        assert!(!p.released.load(Relaxed));
        drop(p);
        assert_eq!(DROPS.load(Relaxed), drops + 1);
        Ok(())
    }

    /// A work item queued again while it runs (a hot-plug message arriving
    /// during a scan) and cancelled then: the queued run never happens, its
    /// reference comes back, and `cancel` waited for the running one.
    #[test]
    fn cancelled_pending_work_gives_its_reference_back() -> Result {
        let drops = DROPS.load(Relaxed);
        let p = probe()?;
        assert!(workqueue::system_long().enqueue::<_, 0>(p.clone()).is_ok());
        let mut waited = 0;
        while p.runs.load(Relaxed) == 0 && waited < 1000 {
            fsleep(Delta::from_millis(10));
            waited += 1;
        }
        assert_eq!(p.runs.load(Relaxed), 1);
        // Queued again while the first run waits; released 1 s from now, by
        // which time the cancellation below has taken the queued run.
        assert!(workqueue::system_long().enqueue::<_, 0>(p.clone()).is_ok());
        let queued = workqueue::system_long()
            .enqueue_delayed::<_, 1>(p.clone(), msecs_to_jiffies(1000))
            .is_ok();
        assert!(queued);
        assert!(additions::cancel_arc_work_sync::<_, 0>(&p));
        assert_eq!(p.runs.load(Relaxed), 1);
        assert!(p.released.load(Relaxed));
        // The release item's run may still be returning: wait for it (it
        // was not pending, so this gives nothing back).
        assert!(!additions::cancel_arc_delayed_work_sync::<_, 1>(&p));
        drop(p);
        assert_eq!(DROPS.load(Relaxed), drops + 1);
        Ok(())
    }
}
