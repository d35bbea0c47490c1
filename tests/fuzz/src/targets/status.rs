// SPDX-License-Identifier: GPL-2.0

//! Completion and status mapping: `status::map`.
//!
//! The input is a completion descriptor as the device writes it (every field
//! untrusted), the command's buffer length and whether the command is a READ
//! or WRITE. The harness checks the outcome against the rules of
//! `status.rs`'s documentation, rule by rule, and against a reference table
//! written from that documentation:
//!
//! - the result holds a host byte the table uses and a SCSI status byte,
//!   nothing else, and a status byte only with `DID_OK`;
//! - a residual is never more than the buffer (the outcome never claims more
//!   data than `bufflen`) and never 0; below the buffer it is the device's
//!   count `bufflen - data_len`;
//! - sense data is copied only for CHECK CONDITION, at least 1 and at most
//!   `SENSE_BUFFER_SIZE` bytes: the device's count when it is in range;
//! - an unknown host status is `DID_ERROR` and flagged as unknown, and so is
//!   a SCSI status byte SAM does not define after a successful host status;
//! - a READ or WRITE that under-ran without a count is never complete;
//! - an overrun (more bytes than the buffer) with GOOD status is never
//!   `DID_OK`, whatever the host status;
//! - `rw` is not asked on the fast path (success with GOOD status) and only
//!   changes the outcome of a data-phase error with GOOD status and no count.

use core::cell::Cell;

use arbitrary::Arbitrary;

use crate::abi::btstat;
use crate::status::{did, map, sam, Completion, Outcome, Sense, SENSE_BUFFER_SIZE};

/// Every host status the device defines.
const DEFINED: [u16; 23] = [
    btstat::SUCCESS,
    btstat::LINKED_COMMAND_COMPLETED,
    btstat::LINKED_COMMAND_COMPLETED_WITH_FLAG,
    btstat::DATA_UNDERRUN,
    btstat::SELTIMEO,
    btstat::DATARUN,
    btstat::BUSFREE,
    btstat::INVPHASE,
    btstat::LUNMISMATCH,
    btstat::INVPARAM,
    btstat::SENSFAILED,
    btstat::TAGREJECT,
    btstat::BADMSG,
    btstat::HAHARDWARE,
    btstat::NORESPONSE,
    btstat::SENTRST,
    btstat::RECVRST,
    btstat::DISCONNECT,
    btstat::BUSRESET,
    btstat::ABORTQUEUE,
    btstat::HASOFTWARE,
    btstat::HATIMEOUT,
    btstat::SCSIPARITY,
];

/// Every SCSI status SAM defines (`enum sam_status`), written out rather
/// than taken from `sam::is_defined`.
const SAM_DEFINED: [u8; 11] = [0x00, 0x02, 0x04, 0x08, 0x10, 0x14, 0x18, 0x22, 0x28, 0x30, 0x40];

/// Host bytes the mapping may produce.
const HOST_BYTES: [u32; 6] = [
    did::OK,
    did::BUS_BUSY,
    did::BAD_TARGET,
    did::PARITY,
    did::ERROR,
    did::RESET,
];

/// A number the fuzzer gives either as an index into interesting values or
/// raw, so that rare values (one host status out of 65536) come up often.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Pick<T> {
    /// The interesting value at this index (modulo their count).
    Listed(u8),
    /// This value.
    Raw(T),
}

/// One completion of one command.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Input {
    /// `hostStatus` of the completion descriptor.
    pub host_status: Pick<u16>,
    /// `scsiStatus`: only its low byte is defined.
    pub scsi_status: Pick<u16>,
    /// `dataLen`: the device's byte count.
    pub data_len: Pick<u64>,
    /// `senseLen`: the device's valid sense bytes.
    pub sense_len: u32,
    /// The command's buffer length.
    pub bufflen: Pick<u32>,
    /// Whether the command is a READ or WRITE.
    pub rw: bool,
}

impl Input {
    /// The completion and buffer length this input describes.
    fn resolve(&self) -> (Completion, u32) {
        let host_status = match self.host_status {
            Pick::Listed(i) => DEFINED[usize::from(i) % DEFINED.len()],
            Pick::Raw(v) => v,
        };
        let scsi_status = match self.scsi_status {
            Pick::Listed(i) => [
                u16::from(sam::GOOD),
                u16::from(sam::CHECK_CONDITION),
                u16::from(sam::COMMAND_TERMINATED),
                0x08,
                0x18,
                0x28,
                0x0102,
                0x00ff,
                0x0041,
            ][usize::from(i) % 9],
            Pick::Raw(v) => v,
        };
        let bufflen = match self.bufflen {
            Pick::Listed(i) => [0, 1, 512, 4096, 1 << 20, u32::MAX][usize::from(i) % 6],
            Pick::Raw(v) => v,
        };
        // Data lengths around the buffer's: the boundaries of the rules.
        let data_len = match self.data_len {
            Pick::Listed(i) => {
                let b = u64::from(bufflen);
                [0, 1, b.saturating_sub(1), b, b + 1, u64::MAX][usize::from(i) % 6]
            }
            Pick::Raw(v) => v,
        };
        let c = Completion {
            host_status,
            scsi_status,
            data_len,
            sense_len: self.sense_len,
        };
        (c, bufflen)
    }
}

/// The outcome that `status.rs`'s documentation prescribes, written from the
/// documentation alone.
fn reference(c: &Completion, bufflen: u32, rw: bool) -> Outcome {
    let with = |host: u32, status: u8, resid: Option<u32>, sense: Sense| Outcome {
        result: host << 16 | u32::from(status),
        resid,
        sense,
        unknown_status: false,
    };
    let b = u64::from(bufflen);
    // "Residual to report: only when 0 < data_len < bufflen."
    let resid = (c.data_len > 0 && c.data_len < b).then(|| (b - c.data_len) as u32);
    let status = c.scsi_status.to_le_bytes()[0];
    match c.host_status {
        btstat::SUCCESS
        | btstat::LINKED_COMMAND_COMPLETED
        | btstat::LINKED_COMMAND_COMPLETED_WITH_FLAG
        | btstat::DATARUN
        | btstat::DATA_UNDERRUN => {
            let data_phase = matches!(c.host_status, btstat::DATARUN | btstat::DATA_UNDERRUN);
            if !SAM_DEFINED.contains(&status) {
                Outcome {
                    unknown_status: true,
                    ..with(did::ERROR, 0, None, Sense::Clear)
                }
            } else if status == sam::COMMAND_TERMINATED {
                with(did::RESET, 0, None, Sense::Clear)
            } else if status == sam::CHECK_CONDITION {
                let n = match c.sense_len {
                    n @ 1..=96 => n as usize,
                    _ => SENSE_BUFFER_SIZE,
                };
                with(did::OK, status, resid, Sense::Copy(n))
            } else if status != sam::GOOD {
                with(did::OK, status, resid, Sense::Clear)
            } else if c.data_len > b {
                with(did::ERROR, 0, None, Sense::Clear)
            } else if !data_phase {
                with(did::OK, 0, resid, Sense::Clear)
            } else if c.data_len > 0 {
                with(did::OK, 0, resid, Sense::Clear)
            } else if rw && bufflen > 0 {
                with(did::ERROR, 0, Some(bufflen), Sense::Clear)
            } else {
                with(did::OK, 0, None, Sense::Clear)
            }
        }
        btstat::SELTIMEO => with(did::BAD_TARGET, 0, None, Sense::Clear),
        btstat::SENTRST | btstat::RECVRST | btstat::BUSRESET => {
            with(did::RESET, 0, None, Sense::Clear)
        }
        btstat::ABORTQUEUE => with(did::BUS_BUSY, 0, None, Sense::Clear),
        btstat::SCSIPARITY => with(did::PARITY, 0, None, Sense::Clear),
        h if DEFINED.contains(&h) => with(did::ERROR, 0, None, Sense::Clear),
        _ => Outcome {
            unknown_status: true,
            ..with(did::ERROR, 0, None, Sense::Clear)
        },
    }
}

/// Maps `c` and counts how often the mapping asked whether it is a READ or
/// WRITE.
fn map_counted(c: &Completion, bufflen: u32, rw: bool) -> (Outcome, u32) {
    let asked = Cell::new(0u32);
    let o = map(c, bufflen, || {
        asked.set(asked.get() + 1);
        rw
    });
    (o, asked.get())
}

/// Checks the mapping of one completion.
pub fn run(input: &Input) {
    let (c, bufflen) = input.resolve();
    let (o, asked) = map_counted(&c, bufflen, input.rw);
    let host = o.result >> 16;
    let status = (o.result & 0xff) as u8;
    let sdstat = c.scsi_status.to_le_bytes()[0];
    let defined = DEFINED.contains(&c.host_status);

    // The result: a host byte of the table and a status byte, nothing else.
    assert!(HOST_BYTES.contains(&host), "host byte {host:#x}: {o:?}");
    assert_eq!(o.result & 0xff00, 0, "message byte set: {o:?}");
    assert!(
        status == 0 || host == did::OK,
        "status with an error: {o:?}"
    );
    assert!(status == 0 || status == sdstat, "status changed: {o:?}");

    // Never more data claimed than the buffer holds.
    if let Some(r) = o.resid {
        assert!(r > 0 && r <= bufflen, "residual {r} of {bufflen}: {o:?}");
        if r < bufflen {
            assert_eq!(u64::from(bufflen - r), c.data_len, "residual: {o:?}");
        } else {
            assert_eq!(host, did::ERROR, "a complete miss must fail: {o:?}");
        }
    }

    // Sense only for CHECK CONDITION, and within the buffer.
    match o.sense {
        Sense::Copy(n) => {
            assert!((1..=SENSE_BUFFER_SIZE).contains(&n), "sense {n}: {o:?}");
            assert_eq!(status, sam::CHECK_CONDITION, "sense without CC: {o:?}");
            if (1..=SENSE_BUFFER_SIZE as u32).contains(&c.sense_len) {
                assert_eq!(n as u32, c.sense_len, "device sense count: {o:?}");
            }
        }
        Sense::Clear => assert_ne!(status, sam::CHECK_CONDITION, "CC lost its sense"),
    }

    // Unknown host statuses fail and are flagged, and so do SCSI statuses
    // SAM does not define after a successful host status (a status byte
    // passed on to the midlayer is always a defined one).
    let success_like = matches!(
        c.host_status,
        btstat::SUCCESS
            | btstat::LINKED_COMMAND_COMPLETED
            | btstat::LINKED_COMMAND_COMPLETED_WITH_FLAG
            | btstat::DATARUN
            | btstat::DATA_UNDERRUN
    );
    let unknown = !defined || (success_like && !SAM_DEFINED.contains(&sdstat));
    assert_eq!(o.unknown_status, unknown, "unknown flag: {o:?}");
    if unknown {
        assert_eq!(o.result, did::ERROR << 16, "unknown status: {o:?}");
    }
    assert!(SAM_DEFINED.contains(&status), "undefined status passed on: {o:?}");

    let data_phase = matches!(c.host_status, btstat::DATARUN | btstat::DATA_UNDERRUN);
    if data_phase && sdstat == sam::GOOD {
        // A READ or WRITE that under-ran without a count is never complete.
        if input.rw && c.data_len == 0 && bufflen > 0 {
            assert!(host != did::OK && o.resid == Some(bufflen), "{o:?}");
        }
    }
    // An overrun with GOOD status is an error, whatever the (defined,
    // success-like) host status.
    if sdstat == sam::GOOD && defined && c.data_len > u64::from(bufflen) && host == did::OK {
        panic!("overrun accepted: {o:?}");
    }

    // `rw` is asked at most once, never on the fast path, and matters only
    // for a data-phase error with GOOD status and no count.
    assert!(asked <= 1);
    if c.host_status == btstat::SUCCESS && c.scsi_status == 0 && c.data_len <= u64::from(bufflen) {
        assert_eq!(asked, 0, "rw asked on the fast path");
    }
    let (other, _) = map_counted(&c, bufflen, !input.rw);
    if !(data_phase && sdstat == sam::GOOD && c.data_len == 0 && bufflen > 0) {
        assert_eq!(o, other, "rw changed the outcome");
    }

    // And the whole outcome is the documented one.
    assert_eq!(
        o,
        reference(&c, bufflen, input.rw),
        "{c:?} bufflen {bufflen}"
    );
}
