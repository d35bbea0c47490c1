// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Building request descriptors: data layout (inline segment or SG list),
//! direction flags, addressing, and the choice of doorbell.
//!
//! This file depends on `core` only, so host-side unit tests compile it as is.

use super::abi::{
    ReqDesc,
    SgElement,
    FLAG_CMD_DIR_NONE,
    FLAG_CMD_DIR_TODEVICE,
    FLAG_CMD_DIR_TOHOST,
    FLAG_CMD_WITH_SG_LIST,
    MAX_SG_ENTRIES,
    SIMPLE_QUEUE_TAG, //
};

/// Direction of a command's data transfer.
///
/// In the order of the kernel's `enum dma_data_direction`, as the SCSI
/// layer's direction is, so that converting one to the other is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Both ways.
    Bidirectional,
    /// From memory to the device (a write).
    ToDevice,
    /// From the device to memory (a read).
    FromDevice,
    /// No data.
    None,
}

impl Direction {
    /// The request flag for this direction (a table lookup).
    fn flag(self) -> u32 {
        const FLAGS: [u32; 4] = [
            // Bidirectional: the device derives the direction from the CDB.
            0,
            FLAG_CMD_DIR_TODEVICE,
            FLAG_CMD_DIR_TOHOST,
            FLAG_CMD_DIR_NONE,
        ];
        FLAGS[self as usize]
    }
}

/// Where a request's data is described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataLayout {
    /// No data.
    None,
    /// One segment, described in the descriptor itself.
    Inline {
        /// Bus address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// `count` segments, written to the context's SG list.
    List {
        /// Number of elements written.
        count: usize,
    },
}

/// Refusal to build a data layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LayoutError {
    /// More segments than an SG list holds.
    TooManySegments,
    /// The segments add up to more bytes than the command's buffer.
    LengthMismatch,
}

/// Lays out the mapped segments of a command whose buffer is `bufflen` bytes.
///
/// One segment goes inline; more are passed to `put(index, element)`, which
/// writes the context's SG list (at most [`MAX_SG_ENTRIES`] elements).
#[inline(always)]
pub(crate) fn layout(
    bufflen: u32,
    segments: impl Iterator<Item = (u64, u32)>,
    mut put: impl FnMut(usize, SgElement),
) -> Result<DataLayout, LayoutError> {
    let mut first = None;
    let mut count = 0usize;
    let mut total = 0u64;
    for (addr, len) in segments {
        if count >= MAX_SG_ENTRIES {
            return Err(LayoutError::TooManySegments);
        }
        total += u64::from(len);
        if count == 0 {
            first = Some((addr, len));
        } else {
            if count == 1 {
                if let Some((a, l)) = first {
                    put(
                        0,
                        SgElement {
                            addr: a,
                            length: l,
                            flags: 0,
                        },
                    );
                }
            }
            put(
                count,
                SgElement {
                    addr,
                    length: len,
                    flags: 0,
                },
            );
        }
        count += 1;
    }
    if total > u64::from(bufflen) {
        return Err(LayoutError::LengthMismatch);
    }
    Ok(match (count, first) {
        (0, _) | (_, None) => DataLayout::None,
        (1, Some((addr, len))) => DataLayout::Inline { addr, len },
        (count, Some(_)) => DataLayout::List { count },
    })
}

/// Everything a request descriptor says about one command.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request<'a> {
    /// Context cookie, never 0.
    pub(crate) context: u64,
    /// The CDB, zero-padded to the descriptor's 16 bytes (the midlayer
    /// keeps its CDB buffer zero after the CDB: `Command::cdb_padded`).
    pub(crate) cdb: &'a [u8; 16],
    /// Valid bytes in `cdb` (at most 16 are sent).
    pub(crate) cdb_len: usize,
    /// Channel.
    pub(crate) bus: u8,
    /// Target id.
    pub(crate) target: u8,
    /// Single-level LUN.
    pub(crate) lun: u8,
    /// Data direction.
    pub(crate) direction: Direction,
    /// The command's buffer length.
    pub(crate) bufflen: u32,
    /// Data layout.
    pub(crate) data: DataLayout,
    /// Bus address of the context's SG list.
    pub(crate) sg_list_addr: u64,
    /// Bus address and size of the context's sense buffer.
    pub(crate) sense: (u64, u32),
    /// Submitting CPU.
    pub(crate) vcpu_hint: u16,
}

/// Writes the request descriptor for `r` into `d`, in place (a ring slot).
///
/// Every field is written except `unused`, which the device ignores: the
/// rings are zeroed when allocated and nothing writes that field.
#[inline(always)]
pub(crate) fn fill(d: &mut ReqDesc, r: &Request<'_>) {
    let (data_addr, data_len, data_flag) = match r.data {
        DataLayout::None => (0, 0, 0),
        DataLayout::Inline { addr, .. } => (addr, u64::from(r.bufflen), 0),
        DataLayout::List { .. } => (r.sg_list_addr, u64::from(r.bufflen), FLAG_CMD_WITH_SG_LIST),
    };
    d.context = r.context;
    d.data_addr = data_addr;
    d.data_len = data_len;
    d.sense_addr = r.sense.0;
    d.sense_len = r.sense.1;
    d.flags = r.direction.flag() | data_flag;
    d.cdb = *r.cdb;
    // At most 16.
    d.cdb_len = r.cdb_len.min(16) as u8;
    // [0, lun, 0, 0, 0, 0, 0, 0], in one store.
    d.lun = (u64::from(r.lun) << 8).to_le_bytes();
    d.tag = SIMPLE_QUEUE_TAG;
    d.bus = r.bus;
    d.target = r.target;
    d.vcpu_hint = r.vcpu_hint;
}

/// Whether `opcode` is a READ or WRITE (6, 10, 12 or 16), which uses the
/// read/write doorbell; every other command uses the non-read/write one.
pub(crate) fn is_rw(opcode: u8) -> bool {
    matches!(
        opcode,
        0x08 | 0x0a | 0x28 | 0x2a | 0xa8 | 0xaa | 0x88 | 0x8a
    )
}

/// Request and completion ring indices of the rings-state page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingIndices {
    /// Requests published (`req_prod_idx`).
    pub(crate) req_prod: u32,
    /// Requests the device consumed (`req_cons_idx`).
    pub(crate) req_cons: u32,
    /// Completions the device produced (`cmp_prod_idx`).
    pub(crate) cmp_prod: u32,
}

/// Whether the read/write doorbell is needed now, with request coalescing
/// on: the device asks for it (`reqCallThreshold`, `threshold`) only once
/// that many requests are pending, and finds the others on its own (ESXi
/// polls its virtual adapters, every millisecond by default and when a vCPU
/// halts). The driver rings anyway when the device has nothing in flight
/// (every request it consumed has its completion, counting one a request):
/// so no request waits for the device's polling, and the driver depends on
/// no more than the device taking unannounced requests while it works on
/// others. `entries` is the request ring's size; in-flight counts beyond it
/// are indices a device got wrong, and ring too.
///
/// The C driver rings below the threshold only when it is 0, so with
/// ESXi's default threshold of 8 a request at queue depth 1 waits for the
/// device to poll.
pub(crate) fn rw_kick_needed(idx: RingIndices, threshold: u32, entries: u32) -> bool {
    let pending = idx.req_prod.wrapping_sub(idx.req_cons);
    let in_flight = idx.req_cons.wrapping_sub(idx.cmp_prod);
    pending > 0 && (pending >= threshold || in_flight == 0 || in_flight > entries)
}

/// Doorbells owed for published requests.
///
/// A set of two bits in one byte, so that taking them and adding one is a
/// couple of instructions on the submission path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Kicks(u8);

impl Kicks {
    /// No doorbell.
    pub(crate) const NONE: Self = Self(0);
    /// The read/write doorbell.
    pub(crate) const RW: Self = Self(1);
    /// The doorbell for every other request.
    pub(crate) const NON_RW: Self = Self(2);

    /// The doorbell a request needs, `rw` telling whether it is a READ or
    /// WRITE ([`is_rw`]).
    pub(crate) fn for_request(rw: bool) -> Self {
        if rw {
            Self::RW
        } else {
            Self::NON_RW
        }
    }

    /// Both sets.
    #[must_use]
    pub(crate) fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every doorbell of `other` is in the set.
    pub(crate) fn has(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// After publishing a request that needs `this`, with `self` owed for
    /// earlier requests of the batch: what stays owed and what to ring now.
    /// Only the batch's last request (`last`) rings, for the whole batch.
    #[inline(always)]
    pub(crate) fn after(self, this: Self, last: bool) -> (Self, Self) {
        if last {
            (Self::NONE, self.with(this))
        } else {
            (self.with(this), Self::NONE)
        }
    }
}

/// Bits of a context cookie that hold the context's index plus one.
const COOKIE_INDEX_BITS: u32 = 16;

/// The ring cookie of the command with block-layer tag `tag`, in its
/// context's `generation`: `tag + 1` in the low 16 bits (so never 0), the
/// generation's low 16 bits above them, and the upper 32 bits 0 as the
/// device requires. The generation changes with every command a context
/// serves, so a completion the device repeats or delivers late for an
/// earlier command is recognised as stale.
pub(crate) fn context_of(tag: u32, generation: u32) -> u64 {
    let index = u64::from(tag.wrapping_add(1) & 0xffff);
    let generation = u64::from(generation & 0xffff);
    (generation << COOKIE_INDEX_BITS) | index
}

/// A context cookie, as the device wrote it, taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cookie {
    /// The context.
    pub(crate) index: usize,
    /// The low 16 bits of the generation the command was sent in.
    pub(crate) generation: u32,
}

/// The context and generation that a cookie written by the device names, if
/// it is one of `count` contexts (`count` is at most 65535).
pub(crate) fn decode_cookie(cookie: u64, count: usize) -> Option<Cookie> {
    if cookie >> 32 != 0 {
        return None;
    }
    // An index field of 0 wraps to `usize::MAX`, which `count` never
    // exceeds.
    let index = ((cookie & 0xffff) as usize).wrapping_sub(1);
    (index < count).then_some(Cookie {
        index,
        generation: ((cookie >> COOKIE_INDEX_BITS) & 0xffff) as u32,
    })
}

/// Whether the generation `current` of a context (as stored by the driver)
/// is the one a cookie names.
pub(crate) fn same_generation(current: u32, cookie: &Cookie) -> bool {
    current & 0xffff == cookie.generation
}

/// What a context records of the command it serves ([`Context::stamp`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// Counts the commands the context served (the cookie carries its low
    /// 16 bits).
    pub(crate) generation: u32,
    /// Channel and target of the command ([`super::context::target_key`]).
    pub(crate) target: u16,
    /// The command waits for an interrupt (it is not polled); meaningful
    /// only when the adapter has a poll queue (see
    /// [`super::adapter::Polling`]).
    pub(crate) needs_irq: bool,
}

impl Stamp {
    /// The stamp's atomic representation.
    pub(crate) fn pack(self) -> u64 {
        u64::from(self.generation)
            | (u64::from(self.target) << 32)
            | (u64::from(self.needs_irq) << 48)
    }

    /// The stamp `v` ([`Stamp::pack`]) holds.
    pub(crate) fn unpack(v: u64) -> Self {
        Self {
            generation: v as u32,
            target: (v >> 32) as u16,
            needs_irq: (v >> 48) & 1 != 0,
        }
    }
}

/// Test cases (see [`super::check`]).
#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod cases {
    use super::*;
    use crate::abi::{
        FLAG_CMD_DIR_NONE,
        FLAG_CMD_DIR_TODEVICE,
        FLAG_CMD_DIR_TOHOST,
        FLAG_CMD_WITH_SG_LIST, //
    };
    use crate::check::{
        check,
        CaseResult, //
    };

    /// Element `i` of a test scatter list.
    fn seg(i: usize) -> (u64, u32) {
        (0x1000_0000 + (i as u64) * 0x10000, 4096)
    }

    /// SG list elements written by `layout`, as (written?, element).
    struct Written {
        elems: [Option<SgElement>; MAX_SG_ENTRIES],
        count: usize,
    }

    fn build(n: usize) -> (Result<DataLayout, LayoutError>, Written) {
        let mut w = Written {
            elems: [None; MAX_SG_ENTRIES],
            count: 0,
        };
        let r = layout((n as u32) * 4096, (0..n).map(seg), |i, e| {
            if let Some(slot) = w.elems.get_mut(i) {
                *slot = Some(e);
            }
            w.count += 1;
        });
        (r, w)
    }

    /// No data, no list.
    pub(crate) fn no_segments() -> CaseResult {
        let (r, w) = build(0);
        check!(r == Ok(DataLayout::None) && w.count == 0);
        Ok(())
    }

    /// One segment goes inline.
    pub(crate) fn one_segment_inline() -> CaseResult {
        let (r, w) = build(1);
        check!(
            r == Ok(DataLayout::Inline {
                addr: 0x1000_0000,
                len: 4096
            })
        );
        check!(w.count == 0);
        Ok(())
    }

    /// Two segments use the SG list.
    pub(crate) fn two_segments_use_the_list() -> CaseResult {
        let (r, w) = build(2);
        check!(r == Ok(DataLayout::List { count: 2 }));
        check!(w.count == 2);
        let first = w.elems[0];
        check!(matches!(first, Some(e) if e.addr == 0x1000_0000 && e.length == 4096));
        check!(matches!(first, Some(e) if e.flags == 0));
        check!(matches!(w.elems[1], Some(e) if e.addr == 0x1001_0000 && e.length == 4096));
        Ok(())
    }

    /// A full list of 128 elements.
    pub(crate) fn full_list_of_128() -> CaseResult {
        let (r, w) = build(128);
        check!(r == Ok(DataLayout::List { count: 128 }));
        check!(w.count == 128);
        for (i, e) in w.elems.iter().enumerate() {
            check!(matches!(e, Some(e) if (e.addr, e.length) == seg(i)));
        }
        Ok(())
    }

    /// More than 128 segments, or more bytes than the buffer, are refused.
    pub(crate) fn bad_scatter_lists_are_refused() -> CaseResult {
        let mut count = 0;
        let r = layout(129 * 4096, (0..129).map(seg), |_, _| count += 1);
        check!(r == Err(LayoutError::TooManySegments) && count <= 128);
        let r = layout(4096, (0..2).map(seg), |_, _| {});
        check!(r == Err(LayoutError::LengthMismatch));
        Ok(())
    }

    /// A descriptor full of stale bytes, as a reused ring slot holds.
    fn stale() -> ReqDesc {
        ReqDesc {
            context: u64::MAX,
            data_addr: u64::MAX,
            data_len: u64::MAX,
            sense_addr: u64::MAX,
            sense_len: u32::MAX,
            flags: u32::MAX,
            cdb: [0xaa; 16],
            cdb_len: 0xaa,
            lun: [0xaa; 8],
            tag: 0xaa,
            bus: 0xaa,
            target: 0xaa,
            vcpu_hint: u16::MAX,
            unused: [0; 58],
        }
    }

    fn request(data: DataLayout, direction: Direction, lun: u8) -> ReqDesc {
        let mut d = stale();
        fill(
            &mut d,
            &Request {
                context: 7,
                cdb: &[0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0],
                cdb_len: 10,
                bus: 0,
                target: 63,
                lun,
                direction,
                bufflen: 8192,
                data,
                sg_list_addr: 0xabc000,
                sense: (0x5000, 96),
                vcpu_hint: 300,
            },
        );
        d
    }

    /// Descriptor fields.
    pub(crate) fn descriptor_fields() -> CaseResult {
        let d = request(DataLayout::List { count: 2 }, Direction::FromDevice, 0);
        check!(d.context == 7);
        check!(d.data_addr == 0xabc000 && d.data_len == 8192);
        check!(d.flags == FLAG_CMD_WITH_SG_LIST | FLAG_CMD_DIR_TOHOST);
        check!(d.cdb_len == 10);
        check!(d.cdb == [0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
        check!(d.target == 63 && d.bus == 0 && d.lun == [0; 8]);
        check!(d.sense_addr == 0x5000 && d.sense_len == 96);
        check!(d.tag == SIMPLE_QUEUE_TAG && d.vcpu_hint == 300);
        Ok(())
    }

    /// Directions, inline data and the LUN byte.
    pub(crate) fn descriptor_directions_and_lun() -> CaseResult {
        let d = request(
            DataLayout::Inline {
                addr: 0x9000,
                len: 8192,
            },
            Direction::ToDevice,
            5,
        );
        check!(d.data_addr == 0x9000 && d.flags == FLAG_CMD_DIR_TODEVICE);
        check!(d.lun == [0, 5, 0, 0, 0, 0, 0, 0]);
        let d = request(DataLayout::None, Direction::None, 0);
        check!(d.data_addr == 0 && d.data_len == 0 && d.flags == FLAG_CMD_DIR_NONE);
        check!(request(DataLayout::None, Direction::Bidirectional, 0).flags == 0);
        Ok(())
    }

    /// READ and WRITE use the read/write doorbell, nothing else does.
    pub(crate) fn doorbells() -> CaseResult {
        for op in [0x08, 0x0a, 0x28, 0x2a, 0xa8, 0xaa, 0x88, 0x8a] {
            check!(is_rw(op));
        }
        // VERIFY, WRITE SAME, UNMAP, SYNCHRONIZE CACHE, INQUIRY, 32-byte CDBs.
        for op in [0x2f, 0x41, 0x42, 0x35, 0x12, 0x7f, 0x00] {
            check!(!is_rw(op));
        }
        Ok(())
    }

    /// With request coalescing, the read/write doorbell rings at the
    /// device's threshold, or below it when the device has nothing in flight
    /// that would make it look at the ring.
    pub(crate) fn coalesced_doorbells() -> CaseResult {
        let idx = |req_prod: u32, req_cons: u32, cmp_prod: u32| RingIndices {
            req_prod,
            req_cons,
            cmp_prod,
        };
        // At the threshold, or above.
        check!(rw_kick_needed(idx(14, 10, 2), 4, 256));
        check!(rw_kick_needed(idx(20, 10, 2), 4, 256));
        // Below it, with requests in flight: the device finds them.
        check!(!rw_kick_needed(idx(13, 10, 2), 4, 256));
        // Below it, with nothing in flight: ring.
        check!(rw_kick_needed(idx(11, 10, 10), 8, 256));
        // Nothing pending: nothing to announce.
        check!(!rw_kick_needed(idx(10, 10, 10), 8, 256));
        check!(!rw_kick_needed(idx(10, 10, 2), 0, 256));
        // A threshold of 0 asks for every request.
        check!(rw_kick_needed(idx(11, 10, 2), 0, 256));
        // Across the indices' wrap-around.
        check!(!rw_kick_needed(idx(1, u32::MAX, u32::MAX - 3), 4, 256));
        check!(rw_kick_needed(idx(1, u32::MAX, u32::MAX), 4, 256));
        // Indices a device got wrong: more in flight than the ring holds,
        // or a consumer ahead of the producer.
        check!(rw_kick_needed(idx(11, 10, 11), 8, 256));
        check!(rw_kick_needed(idx(11, 10, 10u32.wrapping_sub(257)), 8, 256));
        check!(rw_kick_needed(idx(10, 11, 2), 8, 256));
        Ok(())
    }

    /// A batch rings once, at its last request, every doorbell its requests
    /// need; a request alone rings its own.
    pub(crate) fn doorbells_per_batch() -> CaseResult {
        let (rw, non) = (Kicks::RW, Kicks::NON_RW);
        check!(Kicks::NONE.after(rw, true) == (Kicks::NONE, rw));
        check!(Kicks::NONE.after(non, true) == (Kicks::NONE, non));
        // Three reads and an INQUIRY, the INQUIRY last.
        let (owed, ring) = Kicks::NONE.after(rw, false);
        check!(ring == Kicks::NONE);
        let (owed, ring) = owed.after(rw, false);
        check!(ring == Kicks::NONE && owed == rw);
        let (owed, ring) = owed.after(rw, false);
        check!(ring == Kicks::NONE);
        let (owed, ring) = owed.after(non, true);
        check!(owed == Kicks::NONE && ring.has(rw) && ring.has(non));
        // A batch of writes ends with a write.
        let (owed, _) = Kicks::NONE.after(rw, false);
        check!(owed.after(rw, true) == (Kicks::NONE, rw));
        check!(!rw.has(non) && !non.has(rw) && rw.with(non).has(rw));
        Ok(())
    }

    /// Context cookies carry `tag + 1` and a generation; only cookies of
    /// existing contexts map back, and the generation is recovered.
    pub(crate) fn stamps_round_trip() -> CaseResult {
        for st in [
            Stamp::default(),
            Stamp {
                generation: u32::MAX,
                target: u16::MAX,
                needs_irq: true,
            },
            Stamp {
                generation: 0x1_0001,
                target: 0x0140,
                needs_irq: false,
            },
            Stamp {
                generation: 7,
                target: 0,
                needs_irq: true,
            },
        ] {
            check!(Stamp::unpack(st.pack()) == st);
        }
        // The fields do not overlap.
        check!(
            Stamp {
                generation: u32::MAX,
                ..Stamp::default()
            }
            .pack()
                == 0xffff_ffff
        );
        check!(
            Stamp {
                target: 1,
                ..Stamp::default()
            }
            .pack()
                == 1 << 32
        );
        Ok(())
    }

    pub(crate) fn context_cookies() -> CaseResult {
        check!(context_of(0, 0) == 1);
        check!(context_of(255, 0) == 256);
        check!(context_of(0, 1) == 0x1_0001);
        check!(context_of(3, 0x1_2345) == 0x2345_0004);
        check!(context_of(0, u32::MAX) >> 32 == 0);
        let c = |index, generation| Some(Cookie { index, generation });
        check!(decode_cookie(1, 256) == c(0, 0));
        check!(decode_cookie(256, 256) == c(255, 0));
        check!(decode_cookie(0x2345_0004, 256) == c(3, 0x2345));
        check!(decode_cookie(0, 256).is_none());
        check!(decode_cookie(0xffff_0000, 256).is_none());
        check!(decode_cookie(257, 256).is_none());
        check!(decode_cookie(1 << 32 | 1, 256).is_none());
        check!(decode_cookie(u64::MAX, 256).is_none());
        for (tag, generation) in [(0u32, 0u32), (1023, 7), (17, 0xffff), (5, 0x1_0000)] {
            let cookie = decode_cookie(context_of(tag, generation), 1024);
            check!(matches!(cookie, Some(k) if k.index == tag as usize));
            check!(matches!(cookie, Some(k) if same_generation(generation, &k)));
            check!(matches!(cookie, Some(k) if !same_generation(generation.wrapping_add(1), &k)));
        }
        Ok(())
    }
}
