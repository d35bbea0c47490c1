// SPDX-License-Identifier: GPL-2.0

use crate::abi::*;
use core::mem::{align_of, offset_of, size_of};

#[test]
fn descriptor_sizes_match_the_c_header() {
    assert_eq!(size_of::<RingsState>(), 140);
    assert_eq!(size_of::<ReqDesc>(), 128);
    assert_eq!(size_of::<CmpDesc>(), 32);
    assert_eq!(size_of::<SgElement>(), 16);
    assert_eq!(size_of::<MsgDesc>(), 128);
    assert_eq!(size_of::<SetupRings>(), 528);
    assert_eq!(size_of::<SetupMsgRing>(), 136);
}

#[test]
fn descriptors_pack_without_padding() {
    // `__packed` in C; naturally aligned here, so no field may move.
    assert_eq!(offset_of!(ReqDesc, vcpu_hint), 68);
    assert_eq!(offset_of!(ReqDesc, unused) + 58, size_of::<ReqDesc>());
    assert_eq!(offset_of!(CmpDesc, scsi_status), 22);
    assert_eq!(offset_of!(ConfigPageController, num_phys), 472);
    assert!(align_of::<ReqDesc>() <= 8);
}

#[test]
fn descriptors_tile_a_page() {
    assert_eq!(REQ_ENTRIES_PER_PAGE * size_of::<ReqDesc>(), PVSCSI_PAGE_SIZE);
    assert_eq!(CMP_ENTRIES_PER_PAGE * size_of::<CmpDesc>(), PVSCSI_PAGE_SIZE);
    assert_eq!(MSG_ENTRIES_PER_PAGE * size_of::<MsgDesc>(), PVSCSI_PAGE_SIZE);
}

#[test]
fn interrupt_bits() {
    assert_eq!(INTR_CMPL_MASK, 0x3);
    assert_eq!(INTR_MSG_MASK, 0xc);
    assert_eq!(INTR_ALL_SUPPORTED, 0xf);
}
