// SPDX-License-Identifier: GPL-2.0

use crate::abi::*;
use crate::request::*;

fn segs(n: usize) -> Vec<(u64, u32)> {
    (0..n).map(|i| (0x1000_0000 + (i as u64) * 0x10000, 4096)).collect()
}

fn build(n: usize) -> (Result<DataLayout, LayoutError>, Vec<(usize, SgElement)>) {
    let mut written = Vec::new();
    let bufflen = (n as u32) * 4096;
    let r = layout(bufflen, segs(n).into_iter(), |i, e| written.push((i, e)));
    (r, written)
}

#[test]
fn no_segments() {
    let (r, w) = build(0);
    assert_eq!(r, Ok(DataLayout::None));
    assert!(w.is_empty());
}

#[test]
fn one_segment_goes_inline() {
    let (r, w) = build(1);
    assert_eq!(r, Ok(DataLayout::Inline { addr: 0x1000_0000, len: 4096 }));
    assert!(w.is_empty(), "no SG list for one segment");
}

#[test]
fn two_segments_use_the_list() {
    let (r, w) = build(2);
    assert_eq!(r, Ok(DataLayout::List { count: 2 }));
    let idx: Vec<usize> = w.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![0, 1]);
    assert_eq!(w[1].1.addr, 0x1001_0000);
    assert_eq!(w[1].1.length, 4096);
    assert_eq!(w[0].1.flags, 0);
}

#[test]
fn full_list_of_128() {
    let (r, w) = build(128);
    assert_eq!(r, Ok(DataLayout::List { count: 128 }));
    assert_eq!(w.len(), 128);
    for (n, (i, e)) in w.iter().enumerate() {
        assert_eq!(*i, n);
        assert_eq!(e.addr, 0x1000_0000 + (n as u64) * 0x10000);
    }
}

#[test]
fn more_than_128_segments_are_refused() {
    let mut count = 0;
    let r = layout(129 * 4096, segs(129).into_iter(), |_, _| count += 1);
    assert_eq!(r, Err(LayoutError::TooManySegments));
    assert!(count <= 128);
}

#[test]
fn segments_longer_than_the_buffer_are_refused() {
    let r = layout(4096, segs(2).into_iter(), |_, _| {});
    assert_eq!(r, Err(LayoutError::LengthMismatch));
}

fn request(data: DataLayout, direction: Direction) -> ReqDesc {
    descriptor(&Request {
        context: 7,
        cdb: &[0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0],
        bus: 0,
        target: 63,
        lun: 0,
        direction,
        bufflen: 8192,
        data,
        sg_list_addr: 0xabc000,
        sense: (0x5000, 96),
        vcpu_hint: 300,
    })
}

#[test]
fn descriptor_fields() {
    let d = request(DataLayout::List { count: 2 }, Direction::FromDevice);
    assert_eq!(d.context, 7);
    assert_eq!(d.data_addr, 0xabc000);
    assert_eq!(d.data_len, 8192);
    assert_eq!(d.flags, FLAG_CMD_WITH_SG_LIST | FLAG_CMD_DIR_TOHOST);
    assert_eq!(d.cdb_len, 10);
    assert_eq!(&d.cdb[..10], &[0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0]);
    assert_eq!(d.cdb[10..], [0; 6]);
    assert_eq!((d.target, d.bus, d.lun), (63, 0, [0; 8]));
    assert_eq!((d.sense_addr, d.sense_len), (0x5000, 96));
    assert_eq!(d.tag, SIMPLE_QUEUE_TAG);
    assert_eq!(d.vcpu_hint, 300);
}

#[test]
fn descriptor_directions_and_inline_data() {
    let d = request(DataLayout::Inline { addr: 0x9000, len: 8192 }, Direction::ToDevice);
    assert_eq!(d.data_addr, 0x9000);
    assert_eq!(d.flags, FLAG_CMD_DIR_TODEVICE);
    let d = request(DataLayout::None, Direction::None);
    assert_eq!((d.data_addr, d.data_len, d.flags), (0, 0, FLAG_CMD_DIR_NONE));
    assert_eq!(request(DataLayout::None, Direction::Bidirectional).flags, 0);
}

#[test]
fn lun_goes_in_byte_one() {
    let d = descriptor(&Request {
        context: 1,
        cdb: &[0],
        bus: 0,
        target: 0,
        lun: 5,
        direction: Direction::None,
        bufflen: 0,
        data: DataLayout::None,
        sg_list_addr: 0,
        sense: (0, 0),
        vcpu_hint: 0,
    });
    assert_eq!(d.lun, [0, 5, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn read_write_opcodes_use_the_rw_doorbell() {
    for op in [0x08, 0x0a, 0x28, 0x2a, 0xa8, 0xaa, 0x88, 0x8a] {
        assert!(is_rw(op), "{op:#x}");
    }
    // VERIFY, WRITE SAME, UNMAP, SYNCHRONIZE CACHE, INQUIRY, 32-byte CDBs.
    for op in [0x2f, 0x41, 0x42, 0x35, 0x12, 0x7f, 0x00] {
        assert!(!is_rw(op), "{op:#x}");
    }
}

#[test]
fn coalescing_threshold() {
    assert!(rw_kick_needed(1, None));
    assert!(!rw_kick_needed(1, Some(4)));
    assert!(rw_kick_needed(4, Some(4)));
    assert!(rw_kick_needed(0, Some(0)));
}
