// SPDX-License-Identifier: GPL-2.0

use crate::ring_index::*;

#[test]
fn geometry() {
    let r = Ring::new(8, 32).unwrap();
    assert_eq!((r.entries(), r.log2()), (256, 8));
    assert!(Ring::new(3, 32).is_none());
    assert!(Ring::new(0, 32).is_none());
    assert!(Ring::new(u32::MAX, 32).is_none());
    assert_eq!(Ring::new(32, 128).unwrap().entries(), 4096);
}

#[test]
fn slots_wrap() {
    let r = Ring::new(1, 32).unwrap();
    assert_eq!(r.slot(0), 0);
    assert_eq!(r.slot(31), 31);
    assert_eq!(r.slot(32), 0);
    assert_eq!(r.slot(u32::MAX), 31);
}

#[test]
fn pending_across_u32_wrap_around() {
    let r = Ring::new(1, 32).unwrap();
    assert_eq!(r.pending(5, u32::MAX - 2), Ok(8));
    assert_eq!(r.pending(0, 0), Ok(0));
    assert_eq!(r.pending(32, 0), Ok(32));
    assert_eq!(r.is_full(31u32.wrapping_sub(10), u32::MAX - 10), Ok(true));
    assert_eq!(r.is_full(1, 0), Ok(false));
}

#[test]
fn corrupt_indices_are_refused() {
    let r = Ring::new(1, 32).unwrap();
    assert_eq!(r.pending(33, 0), Err(Overrun { prod: 33, cons: 0 }));
    // A producer behind the consumer looks like a huge count.
    assert!(r.pending(0, 1).is_err());
    assert!(r.is_full(100, 0).is_err());
}

#[test]
fn device_log2_check() {
    let r = Ring::new(8, 32).unwrap();
    assert!(r.check_device_log2(8));
    assert!(!r.check_device_log2(7));
    assert!(!r.check_device_log2(31));
}
