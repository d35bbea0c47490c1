// SPDX-License-Identifier: GPL-2.0

use crate::abi::btstat;
use crate::status::*;

fn cmp(host: u16, scsi: u16, data_len: u64, sense_len: u32) -> Completion {
    Completion {
        host_status: host,
        scsi_status: scsi,
        data_len,
        sense_len,
    }
}

fn host_byte(o: &Outcome) -> u32 {
    o.result >> 16
}

#[test]
fn success_good() {
    let o = map(&cmp(btstat::SUCCESS, 0, 0, 0), 4096);
    assert_eq!(o, Outcome { result: 0, resid: None, sense: Sense::Clear, unknown_host_status: false });
}

#[test]
fn residual_only_when_data_len_is_between_zero_and_bufflen() {
    assert_eq!(map(&cmp(btstat::SUCCESS, 0, 1024, 0), 4096).resid, Some(3072));
    assert_eq!(map(&cmp(btstat::SUCCESS, 0, 0, 0), 4096).resid, None);
    assert_eq!(map(&cmp(btstat::SUCCESS, 0, 4096, 0), 4096).resid, None);
    assert_eq!(map(&cmp(btstat::DATARUN, 0, 0, 0), 4096).resid, None);
    assert_eq!(map(&cmp(btstat::DATA_UNDERRUN, 0, 100, 0), 4096).resid, Some(3996));
}

#[test]
fn check_condition_keeps_status_and_sense() {
    let o = map(&cmp(btstat::SUCCESS, 2, 0, 18), 0);
    assert_eq!(o.result, 2);
    assert_eq!(o.sense, Sense::Copy(18));
}

#[test]
fn check_condition_with_data_phase_is_not_did_error() {
    // QEMU reports a READ past the end as DATARUN + CHECK CONDITION; the C
    // driver returns DID_ERROR and loses the status.
    for host in [btstat::DATARUN, btstat::DATA_UNDERRUN] {
        let o = map(&cmp(host, 2, 0, 18), 4096);
        assert_eq!(o.result, 2, "host status {host:#x}");
        assert_eq!(o.sense, Sense::Copy(18));
        assert_eq!(o.resid, None);
    }
}

#[test]
fn sense_length_is_bounded() {
    assert_eq!(map(&cmp(btstat::SUCCESS, 2, 0, 0), 0).sense, Sense::Copy(96));
    assert_eq!(map(&cmp(btstat::SUCCESS, 2, 0, 96), 0).sense, Sense::Copy(96));
    assert_eq!(map(&cmp(btstat::SUCCESS, 2, 0, 4000), 0).sense, Sense::Copy(96));
    assert_eq!(map(&cmp(btstat::SUCCESS, 2, 0, u32::MAX), 0).sense, Sense::Copy(96));
}

#[test]
fn other_statuses_pass_through_without_sense() {
    for s in [0x08u16, 0x18, 0x28] {
        let o = map(&cmp(btstat::SUCCESS, s, 0, 0), 0);
        assert_eq!(o.result, u32::from(s));
        assert_eq!(o.sense, Sense::Clear);
    }
    // Only the low byte of the status is defined.
    assert_eq!(map(&cmp(btstat::SUCCESS, 0x1008, 0, 0), 0).result, 0x08);
}

#[test]
fn command_terminated_is_did_reset() {
    assert_eq!(host_byte(&map(&cmp(btstat::SUCCESS, 0x22, 0, 0), 0)), did::RESET);
    assert_eq!(host_byte(&map(&cmp(btstat::DATARUN, 0x22, 0, 0), 0)), did::RESET);
}

#[test]
fn overrun_with_good_status_is_an_error() {
    assert_eq!(host_byte(&map(&cmp(btstat::DATARUN, 0, 8192, 0), 4096)), did::ERROR);
}

#[test]
fn every_host_status() {
    let table: &[(u16, u32)] = &[
        (btstat::SUCCESS, did::OK),
        (btstat::LINKED_COMMAND_COMPLETED, did::OK),
        (btstat::LINKED_COMMAND_COMPLETED_WITH_FLAG, did::OK),
        (btstat::DATA_UNDERRUN, did::OK),
        (btstat::DATARUN, did::OK),
        (btstat::SELTIMEO, did::BAD_TARGET),
        (btstat::BUSFREE, did::ERROR),
        (btstat::INVPHASE, did::ERROR),
        (btstat::LUNMISMATCH, did::ERROR),
        (btstat::INVPARAM, did::ERROR),
        (btstat::SENSFAILED, did::ERROR),
        (btstat::TAGREJECT, did::ERROR),
        (btstat::BADMSG, did::ERROR),
        (btstat::HAHARDWARE, did::ERROR),
        (btstat::NORESPONSE, did::ERROR),
        (btstat::SENTRST, did::RESET),
        (btstat::RECVRST, did::RESET),
        (btstat::DISCONNECT, did::ERROR),
        (btstat::BUSRESET, did::RESET),
        (btstat::ABORTQUEUE, did::BUS_BUSY),
        (btstat::HASOFTWARE, did::ERROR),
        (btstat::HATIMEOUT, did::ERROR),
        (btstat::SCSIPARITY, did::PARITY),
    ];
    for &(host, want) in table {
        let o = map(&cmp(host, 0, 0, 0), 512);
        assert_eq!(host_byte(&o), want, "host status {host:#x}");
        assert!(!o.unknown_host_status, "host status {host:#x}");
    }
    for unknown in [0x01u16, 0x0d, 0x35, 0xffff] {
        let o = map(&cmp(unknown, 0, 0, 0), 512);
        assert_eq!(host_byte(&o), did::ERROR);
        assert!(o.unknown_host_status);
    }
}
