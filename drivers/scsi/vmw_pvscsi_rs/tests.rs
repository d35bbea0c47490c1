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
    use crate::abi::*;
    use core::mem::offset_of;
    use kernel::prelude::*;

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
    use crate::regs::*;
    use kernel::io::register::Register;

    #[test]
    fn offsets() {
        assert_eq!(<COMMAND as Register>::OFFSET, 0x0);
        assert_eq!(<COMMAND_DATA as Register>::OFFSET, 0x4);
        assert_eq!(<COMMAND_STATUS as Register>::OFFSET, 0x8);
        assert_eq!(<INTR_STATUS as Register>::OFFSET, 0x100c);
        assert_eq!(<INTR_MASK as Register>::OFFSET, 0x2010);
        assert_eq!(<KICK_NON_RW_IO as Register>::OFFSET, 0x3014);
        assert_eq!(<KICK_RW_IO as Register>::OFFSET, 0x4018);
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
