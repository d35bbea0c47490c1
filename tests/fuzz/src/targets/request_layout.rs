// SPDX-License-Identifier: GPL-2.0

//! Request layout: `request::layout` of a command's mapped segments, and
//! `request::fill` of a request descriptor in a reused ring slot.
//!
//! `layout` is checked, for any list of segments and buffer length, with the
//! segments given both by an iterator that knows its length (which takes the
//! one-segment fast path) and by one that does not:
//!
//! - both iterators give the same result;
//! - no segment: no data; one segment: inline, unless it is longer than the
//!   buffer; two to 128: an SG list of that many elements;
//! - more than 128 segments are refused as too many, and segments adding up
//!   to more than the buffer as a length mismatch: an accepted layout never
//!   describes more bytes than the buffer;
//! - `put` only ever gets indices below `MAX_SG_ENTRIES`, each at most once,
//!   and for an SG list exactly the indices `0..count`, each with its
//!   segment's address and length and no flags; never for inline data.
//!
//! `fill` is checked on a descriptor holding arbitrary stale bytes: every
//! field is the request's (the data address is the segment's, the SG list's
//! or 0, the length the buffer's or 0, the SG flag set for lists only, one
//! direction flag at most and no undefined flag, at most 16 CDB bytes
//! counted, the LUN in byte 1, a SIMPLE tag) and the reserved bytes keep
//! what they held. `is_rw` and `rw_kick_needed` are checked against their
//! documentation too.

use arbitrary::Arbitrary;
use zerocopy::FromBytes;

use crate::abi::{
    ReqDesc, SgElement, FLAG_CMD_DIR_NONE, FLAG_CMD_DIR_TODEVICE, FLAG_CMD_DIR_TOHOST,
    FLAG_CMD_WITH_SG_LIST, MAX_SG_ENTRIES, SIMPLE_QUEUE_TAG,
};
use crate::request::{
    fill, is_rw, layout, rw_kick_needed, DataLayout, Direction, LayoutError, Request,
    RingIndices,
};

/// The segments of a command.
#[derive(Arbitrary, Clone, Debug)]
pub enum Segments {
    /// These (address, length) pairs.
    Listed(Vec<(u64, u32)>),
    /// `count` segments of `len` bytes, `stride` bytes apart from `addr`:
    /// long lists without long inputs.
    Generated {
        /// Number of segments.
        count: u8,
        /// Address of the first.
        addr: u64,
        /// Distance between addresses.
        stride: u64,
        /// Length of each.
        len: u32,
    },
}

/// The buffer length, relative to the segments' total or raw.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum BuffLen {
    /// The segments' total (saturated to `u32`).
    Total,
    /// The total minus this.
    Below(u32),
    /// The total plus this (saturated).
    Above(u32),
    /// This length.
    Raw(u32),
}

/// A data layout for `fill` alone.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Data {
    /// The layout of the segments, when there is one.
    FromSegments,
    /// No data.
    None,
    /// One inline segment.
    Inline(u64, u32),
    /// An SG list of this many elements.
    List(u8),
}

/// A direction, as the midlayer gives it.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Dir {
    /// `DMA_NONE`.
    None,
    /// `DMA_FROM_DEVICE`.
    FromDevice,
    /// `DMA_TO_DEVICE`.
    ToDevice,
    /// `DMA_BIDIRECTIONAL`.
    Bidirectional,
}

/// A command to lay out and describe.
#[derive(Arbitrary, Clone, Debug)]
pub struct Input {
    /// Its mapped segments.
    pub segments: Segments,
    /// Its buffer length.
    pub bufflen: BuffLen,
    /// The data layout handed to `fill`.
    pub data: Data,
    /// The context cookie.
    pub context: u64,
    /// The CDB.
    pub cdb: [u8; 16],
    /// The CDB's length as the midlayer gives it.
    pub cdb_len: u16,
    /// Channel, target and LUN.
    pub address: (u8, u8, u8),
    /// The direction.
    pub direction: Dir,
    /// Bus address of the context's SG list.
    pub sg_list_addr: u64,
    /// Bus address and size of the sense buffer.
    pub sense: (u64, u32),
    /// Submitting CPU.
    pub vcpu_hint: u16,
    /// What the ring slot held before (cut or zero-padded to its size).
    pub stale: Vec<u8>,
    /// Ring indices (request producer and consumer, completion producer),
    /// coalescing threshold and ring size for `rw_kick_needed`.
    pub kick: (u32, u32, u32, u32, u32),
}

/// The segments as a list (at most 300: more than an SG list holds).
fn segments(s: &Segments) -> Vec<(u64, u32)> {
    match s {
        Segments::Listed(v) => v.iter().copied().take(300).collect(),
        Segments::Generated {
            count,
            addr,
            stride,
            len,
        } => (0..u64::from(*count))
            .map(|i| (addr.wrapping_add(stride.wrapping_mul(i)), *len))
            .collect(),
    }
}

/// What `put` received.
struct Puts {
    /// The element put at each index, if any.
    elems: Vec<Option<(u64, u32, u32)>>,
}

/// Runs `layout` over `segs` through an iterator that tells its length
/// (`exact`) or not, and checks every `put`.
fn lay_out(
    bufflen: u32,
    segs: &[(u64, u32)],
    exact: bool,
) -> (Result<DataLayout, LayoutError>, Puts) {
    let mut puts = Puts {
        elems: vec![None; MAX_SG_ENTRIES],
    };
    let put = |i: usize, e: SgElement| {
        assert!(i < MAX_SG_ENTRIES, "put at index {i}");
        assert!(puts.elems[i].is_none(), "index {i} put twice");
        puts.elems[i] = Some((e.addr, e.length, e.flags));
    };
    let r = if exact {
        layout(bufflen, segs.iter().copied(), put)
    } else {
        // A filter hides the length from `size_hint`.
        layout(bufflen, segs.iter().copied().filter(|_| true), put)
    };
    (r, puts)
}

/// Checks `layout` for these segments; returns its result.
fn check_layout(bufflen: u32, segs: &[(u64, u32)]) -> Result<DataLayout, LayoutError> {
    let (r, puts) = lay_out(bufflen, segs, true);
    let (r2, puts2) = lay_out(bufflen, segs, false);
    assert_eq!(r, r2, "the fast path disagrees");
    let total: u64 = segs.iter().map(|&(_, l)| u64::from(l)).sum();
    let want = if segs.len() > MAX_SG_ENTRIES {
        Err(LayoutError::TooManySegments)
    } else if total > u64::from(bufflen) {
        Err(LayoutError::LengthMismatch)
    } else {
        Ok(match segs {
            [] => DataLayout::None,
            &[(addr, len)] => DataLayout::Inline { addr, len },
            _ => DataLayout::List { count: segs.len() },
        })
    };
    assert_eq!(
        r,
        want,
        "layout of {} segments, {total} of {bufflen} bytes",
        segs.len()
    );
    for p in [&puts, &puts2] {
        let written = p.elems.iter().filter(|e| e.is_some()).count();
        match r {
            Ok(DataLayout::List { count }) => {
                assert!((2..=MAX_SG_ENTRIES).contains(&count));
                assert_eq!(written, count);
                for (i, &(addr, len)) in segs.iter().enumerate() {
                    assert_eq!(p.elems[i], Some((addr, len, 0)), "element {i}");
                }
            }
            Ok(_) => assert_eq!(written, 0, "put without a list"),
            Err(_) => {}
        }
    }
    // A fast path may refuse before writing anything, the general one only
    // writes elements it got.
    for (i, e) in puts2.elems.iter().enumerate() {
        if let Some(e) = e {
            assert_eq!(Some((e.0, e.1)), segs.get(i).copied(), "element {i}");
        }
    }
    r
}

/// Checks `fill` of `data` for the input's request.
fn check_fill(input: &Input, bufflen: u32, data: DataLayout) {
    let mut raw = [0u8; core::mem::size_of::<ReqDesc>()];
    let n = input.stale.len().min(raw.len());
    raw[..n].copy_from_slice(&input.stale[..n]);
    let Ok(mut d) = ReqDesc::read_from_bytes(&raw[..]) else {
        panic!("a descriptor's worth of bytes refused");
    };
    let stale_unused = d.unused;
    let direction = match input.direction {
        Dir::None => Direction::None,
        Dir::FromDevice => Direction::FromDevice,
        Dir::ToDevice => Direction::ToDevice,
        Dir::Bidirectional => Direction::Bidirectional,
    };
    let (bus, target, lun) = input.address;
    let r = Request {
        context: input.context,
        cdb: &input.cdb,
        cdb_len: usize::from(input.cdb_len),
        bus,
        target,
        lun,
        direction,
        bufflen,
        data,
        sg_list_addr: input.sg_list_addr,
        sense: input.sense,
        vcpu_hint: input.vcpu_hint,
    };
    fill(&mut d, &r);

    let (addr, len, sg) = match data {
        DataLayout::None => (0, 0, 0),
        DataLayout::Inline { addr, .. } => (addr, u64::from(bufflen), 0),
        DataLayout::List { .. } => (
            input.sg_list_addr,
            u64::from(bufflen),
            FLAG_CMD_WITH_SG_LIST,
        ),
    };
    let dir = match direction {
        Direction::None => FLAG_CMD_DIR_NONE,
        Direction::FromDevice => FLAG_CMD_DIR_TOHOST,
        Direction::ToDevice => FLAG_CMD_DIR_TODEVICE,
        Direction::Bidirectional => 0,
    };
    assert_eq!(d.context, input.context);
    assert_eq!((d.data_addr, d.data_len), (addr, len), "data of {data:?}");
    assert!(d.data_len <= u64::from(bufflen));
    assert_eq!(d.flags, dir | sg, "flags");
    let dir_bits = FLAG_CMD_DIR_NONE | FLAG_CMD_DIR_TOHOST | FLAG_CMD_DIR_TODEVICE;
    assert!((d.flags & dir_bits).count_ones() <= 1);
    assert_eq!(d.flags & !(dir_bits | FLAG_CMD_WITH_SG_LIST), 0);
    assert_eq!((d.sense_addr, d.sense_len), input.sense);
    assert_eq!(d.cdb, input.cdb);
    assert!(d.cdb_len <= 16);
    assert_eq!(usize::from(d.cdb_len), usize::from(input.cdb_len).min(16));
    assert_eq!(d.lun, [0, lun, 0, 0, 0, 0, 0, 0]);
    assert_eq!(d.tag, SIMPLE_QUEUE_TAG);
    assert_eq!(
        (d.bus, d.target, d.vcpu_hint),
        (bus, target, input.vcpu_hint)
    );
    assert_eq!(d.unused, stale_unused, "reserved bytes written");
}

/// Checks layout and descriptor of one command.
pub fn run(input: &Input) {
    let segs = segments(&input.segments);
    let total: u64 = segs.iter().map(|&(_, l)| u64::from(l)).sum();
    let total32 = u32::try_from(total).unwrap_or(u32::MAX);
    let bufflen = match input.bufflen {
        BuffLen::Total => total32,
        BuffLen::Below(d) => total32.saturating_sub(d),
        BuffLen::Above(d) => total32.saturating_add(d),
        BuffLen::Raw(v) => v,
    };
    let laid_out = check_layout(bufflen, &segs);

    let data = match input.data {
        Data::FromSegments => match laid_out {
            Ok(d) => d,
            Err(_) => DataLayout::None,
        },
        Data::None => DataLayout::None,
        Data::Inline(addr, len) => DataLayout::Inline { addr, len },
        Data::List(count) => DataLayout::List {
            count: usize::from(count),
        },
    };
    check_fill(input, bufflen, data);

    let op = input.cdb[0];
    let rw_ops = [0x08, 0x0a, 0x28, 0x2a, 0xa8, 0xaa, 0x88, 0x8a];
    assert_eq!(is_rw(op), rw_ops.contains(&op), "is_rw({op:#x})");
    let (req_prod, req_cons, cmp_prod, threshold, entries) = input.kick;
    let idx = RingIndices {
        req_prod,
        req_cons,
        cmp_prod,
    };
    // Requests pending, and the device at the threshold, idle, or with more
    // in flight than the ring holds.
    let pending = req_prod.wrapping_sub(req_cons);
    let in_flight = req_cons.wrapping_sub(cmp_prod);
    assert_eq!(
        rw_kick_needed(idx, threshold, entries),
        pending != 0 && (pending >= threshold || in_flight == 0 || in_flight > entries)
    );
}
