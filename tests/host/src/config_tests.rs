// SPDX-License-Identifier: GPL-2.0

use crate::config::*;

fn with(f: impl FnOnce(&mut RawParams)) -> Result<Config, ParamError> {
    let mut p = DEFAULT_PARAMS;
    f(&mut p);
    Config::from_params(&p)
}

#[test]
fn defaults_are_the_c_drivers() {
    let c = with(|_| {}).unwrap();
    assert_eq!(c.ring_pages, None);
    assert_eq!(c.msg_ring_pages, 1);
    assert_eq!(c.cmd_per_lun, 254);
    assert!(c.allow_msi && c.allow_msix && c.use_msg && c.use_req_threshold);
}

#[test]
fn ring_pages_must_be_a_power_of_two_up_to_32() {
    for ok in [1, 2, 4, 8, 16, 32] {
        assert_eq!(with(|p| p.ring_pages = ok).unwrap().ring_pages, Some(ok as u32));
    }
    for bad in [3, 5, 6, 7, 12, 33, 64, -1, -8, i32::MIN, i32::MAX] {
        let e = with(|p| p.ring_pages = bad).unwrap_err();
        assert_eq!((e.name, e.value), ("ring_pages", bad));
    }
}

#[test]
fn msg_ring_pages_must_be_a_power_of_two_up_to_16() {
    for ok in [1, 2, 4, 8, 16] {
        assert_eq!(with(|p| p.msg_ring_pages = ok).unwrap().msg_ring_pages, ok as u32);
    }
    for bad in [0, 3, 32, -1] {
        assert_eq!(with(|p| p.msg_ring_pages = bad).unwrap_err().name, "msg_ring_pages");
    }
}

#[test]
fn cmd_per_lun_range() {
    assert_eq!(with(|p| p.cmd_per_lun = 1).unwrap().cmd_per_lun, 1);
    assert_eq!(with(|p| p.cmd_per_lun = 254).unwrap().cmd_per_lun, 254);
    for bad in [0, -1, 255, 100000] {
        assert_eq!(with(|p| p.cmd_per_lun = bad).unwrap_err().name, "cmd_per_lun");
    }
}

#[test]
fn error_message_names_parameter_and_allowed_values() {
    let e = with(|p| p.ring_pages = 3).unwrap_err();
    let msg = format!("{e}");
    assert!(msg.contains("ring_pages=3"), "{msg}");
    assert!(msg.contains("1, 2, 4, 8, 16, 32"), "{msg}");
}

#[test]
fn automatic_ring_size() {
    let c = with(|_| {}).unwrap();
    assert_eq!(c.ring_pages_for(None), 8);
    assert_eq!(c.ring_pages_for(Some(16)), 8);
    assert_eq!(c.ring_pages_for(Some(64)), 32);
    let fixed = with(|p| p.ring_pages = 2).unwrap();
    assert_eq!(fixed.ring_pages_for(Some(64)), 2);
}

#[test]
fn disable_flags() {
    let c = with(|p| {
        p.disable_msi = true;
        p.disable_msix = true;
        p.use_msg = false;
    })
    .unwrap();
    assert!(!c.allow_msi && !c.allow_msix && !c.use_msg);
}
