// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! From a completion descriptor to the SCSI midlayer's result.
//!
//! The table follows the C driver (`pvscsi_complete_request`) with one fix:
//! a non-GOOD SCSI status reported together with `BTSTAT_DATARUN` or
//! `BTSTAT_DATA_UNDERRUN` is passed on as that status, with its sense data.
//! The C driver turns it into `DID_ERROR` and drops the status, so a CHECK
//! CONDITION with a data phase (QEMU reports every one of them this way)
//! never reaches the caller as ILLEGAL REQUEST, MEDIUM ERROR and so on.
//!
//! A SCSI status byte that SAM does not define is refused like an unknown
//! host status: `DID_ERROR`, flagged so that the driver counts and logs it.
//! The C driver passes it on, and the midlayer's disposition for it is
//! `FAILED`: full error handling, which stops the whole host for a status
//! byte a retry would have cleared.
//!
//! This file depends on `core` only, so host-side unit tests compile it as is.

use super::abi::btstat;

/// Host bytes of the midlayer result (`enum scsi_host_status`).
///
/// complete.rs checks them against the layer's at compile time.
pub(crate) mod did {
    /// No error.
    pub(crate) const OK: u32 = 0x00;
    /// The bus stayed busy: retry.
    pub(crate) const BUS_BUSY: u32 = 0x02;
    /// Bad target.
    pub(crate) const BAD_TARGET: u32 = 0x04;
    /// Parity error.
    pub(crate) const PARITY: u32 = 0x06;
    /// Internal error.
    pub(crate) const ERROR: u32 = 0x07;
    /// Reset by somebody.
    pub(crate) const RESET: u32 = 0x08;
}

/// SCSI status bytes used by the mapping.
pub(crate) mod sam {
    /// GOOD.
    pub(crate) const GOOD: u8 = 0x00;
    /// CHECK CONDITION.
    pub(crate) const CHECK_CONDITION: u8 = 0x02;
    /// COMMAND TERMINATED.
    pub(crate) const COMMAND_TERMINATED: u8 = 0x22;

    /// Whether SAM defines status byte `status` (`enum sam_status`): GOOD,
    /// CHECK CONDITION, CONDITION MET, BUSY, INTERMEDIATE, INTERMEDIATE-
    /// CONDITION MET, RESERVATION CONFLICT, COMMAND TERMINATED, TASK SET
    /// FULL, ACA ACTIVE and TASK ABORTED.
    pub(crate) const fn is_defined(status: u8) -> bool {
        matches!(
            status,
            0x00 | 0x02 | 0x04 | 0x08 | 0x10 | 0x14 | 0x18 | 0x22 | 0x28 | 0x30 | 0x40
        )
    }
}

/// Size of the midlayer's sense buffer (`SCSI_SENSE_BUFFERSIZE`).
pub(crate) const SENSE_BUFFER_SIZE: usize = 96;

/// What the completion path must do with sense data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sense {
    /// Copy this many bytes of the device's sense data to the command.
    Copy(usize),
    /// Make sure the command carries no stale sense data.
    Clear,
}

/// The midlayer's view of a completed command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// `scsi_cmnd.result`: host byte << 16 | SCSI status.
    pub(crate) result: u32,
    /// Residual byte count to report, if any.
    pub(crate) resid: Option<u32>,
    /// Sense handling.
    pub(crate) sense: Sense,
    /// The host status was not one the device defines, or the SCSI status
    /// (with a successful host status) not one SAM defines.
    pub(crate) unknown_status: bool,
}

/// The fields of a completion descriptor that the mapping uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Completion {
    /// Adapter status (`btstat`).
    pub(crate) host_status: u16,
    /// SCSI status; only its low byte is defined.
    pub(crate) scsi_status: u16,
    /// Bytes transferred as the device reports it (QEMU: always 0).
    pub(crate) data_len: u64,
    /// Valid sense bytes as the device reports it.
    pub(crate) sense_len: u32,
}

/// Residual to report: only when `0 < data_len < bufflen`.
///
/// A zero `data_len` is what QEMU always reports, and what ESXi reports for
/// some commands with valid data; a residual derived from it would throw the
/// data away (the C regression fixed by 142c779d05d1).
#[inline(always)]
fn residual(data_len: u64, bufflen: u32) -> Option<u32> {
    if data_len > 0 && data_len < u64::from(bufflen) {
        // `data_len < bufflen <= u32::MAX`, so the difference fits.
        u32::try_from(u64::from(bufflen) - data_len).ok()
    } else {
        None
    }
}

/// Sense bytes to copy for a CHECK CONDITION.
///
/// The device's count is used when it is plausible; a device that reports 0
/// gets the whole buffer copied. The driver clears the buffer's first byte
/// after every completion that carried sense and after an adapter reset, so
/// bytes the device did not write for this command read as "no sense data".
fn sense_bytes(sense_len: u32) -> usize {
    match usize::try_from(sense_len) {
        Ok(n) if (1..=SENSE_BUFFER_SIZE).contains(&n) => n,
        _ => SENSE_BUFFER_SIZE,
    }
}

/// A data-phase error (`BTSTAT_DATARUN` or `BTSTAT_DATA_UNDERRUN`) with GOOD
/// status: fewer (or more) bytes moved than the command asked for.
///
/// - More than the buffer (an overrun): `DID_ERROR`.
/// - A count the device reports, below the buffer: `DID_OK` with that
///   residual, which SG_IO shows to user space and the midlayer checks
///   against `underflow`.
/// - No count (QEMU never writes `dataLen`): for a READ or WRITE the driver
///   cannot know how much moved, so the command must never look complete:
///   `DID_ERROR` with the whole buffer as residual (the midlayer retries it,
///   then fails it with EIO). Other commands (REPORT LUNS, INQUIRY, MODE
///   SENSE: QEMU's target-level emulation under-runs them routinely) carry
///   their length in their data, so they complete with `DID_OK` and no
///   residual. The C driver turns every one of these cases into `DID_ERROR`
///   with the whole buffer as residual, which breaks REPORT LUNS on QEMU.
fn short_transfer(data_len: u64, bufflen: u32, rw: bool) -> Outcome {
    let outcome = |host: u32, resid: Option<u32>| Outcome {
        result: host << 16,
        resid,
        sense: Sense::Clear,
        unknown_status: false,
    };
    if data_len > u64::from(bufflen) {
        outcome(did::ERROR, None)
    } else if data_len > 0 {
        outcome(did::OK, residual(data_len, bufflen))
    } else if rw && bufflen > 0 {
        outcome(did::ERROR, Some(bufflen))
    } else {
        outcome(did::OK, None)
    }
}

/// The residual of a clean completion of a command whose buffer is `bufflen`
/// bytes long, or `None` if the completion is not clean.
///
/// Clean is success with GOOD status, no sense bytes and no more data than
/// the buffer holds: [`map`] gives it the result `DID_OK`, GOOD, this
/// residual and [`Sense::Clear`], and there is no sense buffer to
/// invalidate. The
/// completion path tests this first, on the descriptor's raw fields.
#[inline(always)]
pub(crate) fn clean(c: &Completion, bufflen: u32) -> Option<u32> {
    if c.host_status == btstat::SUCCESS
        && c.scsi_status == 0
        && c.sense_len == 0
        && c.data_len <= u64::from(bufflen)
    {
        // [`residual`], given `data_len <= bufflen`: the difference, except
        // for a `data_len` of 0 (which does not wrap: it fits in `u32`).
        Some(if c.data_len == 0 {
            0
        } else {
            bufflen.wrapping_sub(c.data_len as u32)
        })
    } else {
        None
    }
}

/// Maps a completion of a command whose buffer is `bufflen` bytes long;
/// `rw` tells, when asked, whether the command is a READ or WRITE.
#[inline(always)]
pub(crate) fn map(c: &Completion, bufflen: u32, rw: impl FnOnce() -> bool) -> Outcome {
    // The common case, inline: success with GOOD status, and no more bytes
    // than the buffer holds.
    if c.host_status == btstat::SUCCESS && c.scsi_status == 0 && c.data_len <= u64::from(bufflen) {
        return Outcome {
            result: did::OK << 16,
            resid: residual(c.data_len, bufflen),
            sense: Sense::Clear,
            unknown_status: false,
        };
    }
    map_other(c, bufflen, rw())
}

/// [`map`] for every completion but success with GOOD status.
#[inline(never)]
fn map_other(c: &Completion, bufflen: u32, rw: bool) -> Outcome {
    // Only the low byte of the SCSI status is defined.
    let sdstat = (c.scsi_status & 0xff) as u8;
    let status_sense = if sdstat == sam::CHECK_CONDITION {
        Sense::Copy(sense_bytes(c.sense_len))
    } else {
        Sense::Clear
    };
    let plain = |host: u32| Outcome {
        result: host << 16,
        resid: None,
        sense: Sense::Clear,
        unknown_status: false,
    };
    match c.host_status {
        btstat::SUCCESS
        | btstat::LINKED_COMMAND_COMPLETED
        | btstat::LINKED_COMMAND_COMPLETED_WITH_FLAG
        | btstat::DATARUN
        | btstat::DATA_UNDERRUN => {
            let data_phase_error = matches!(c.host_status, btstat::DATARUN | btstat::DATA_UNDERRUN);
            if !sam::is_defined(sdstat) {
                Outcome {
                    unknown_status: true,
                    ..plain(did::ERROR)
                }
            } else if sdstat == sam::COMMAND_TERMINATED {
                plain(did::RESET)
            } else if sdstat != sam::GOOD {
                Outcome {
                    result: (did::OK << 16) | u32::from(sdstat),
                    resid: residual(c.data_len, bufflen),
                    sense: status_sense,
                    unknown_status: false,
                }
            } else if c.data_len > u64::from(bufflen) {
                // More bytes than the buffer holds, whatever the host
                // status: the device is wrong, so the data may be too.
                plain(did::ERROR)
            } else if data_phase_error {
                short_transfer(c.data_len, bufflen, rw)
            } else {
                Outcome {
                    resid: residual(c.data_len, bufflen),
                    ..plain(did::OK)
                }
            }
        }
        // "Our emulation returns this for non-connected devs."
        btstat::SELTIMEO => plain(did::BAD_TARGET),
        btstat::LUNMISMATCH
        | btstat::TAGREJECT
        | btstat::BADMSG
        | btstat::HAHARDWARE
        | btstat::INVPHASE
        | btstat::HATIMEOUT
        | btstat::NORESPONSE
        | btstat::DISCONNECT
        | btstat::HASOFTWARE
        | btstat::BUSFREE
        | btstat::SENSFAILED => plain(did::ERROR),
        btstat::SENTRST | btstat::RECVRST | btstat::BUSRESET => plain(did::RESET),
        // Adapter-initiated abort: let the midlayer retry.
        btstat::ABORTQUEUE => plain(did::BUS_BUSY),
        btstat::SCSIPARITY => plain(did::PARITY),
        // Defined by the device but not expected in a completion.
        btstat::INVPARAM => plain(did::ERROR),
        _ => Outcome {
            unknown_status: true,
            ..plain(did::ERROR)
        },
    }
}

/// Test cases (see [`super::check`]).
#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod cases {
    use super::*;
    use crate::check::{
        check,
        CaseResult, //
    };

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

    /// Every host status the device defines, and unknown ones.
    pub(crate) fn every_host_status() -> CaseResult {
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
            let o = map(&cmp(host, 0, 0, 0), 512, || false);
            check!(host_byte(&o) == want);
            check!(!o.unknown_status);
            check!(o.sense == Sense::Clear);
        }
        for unknown in [0x01u16, 0x0d, 0x35, 0xffff] {
            let o = map(&cmp(unknown, 0, 0, 0), 512, || false);
            check!(host_byte(&o) == did::ERROR);
            check!(o.unknown_status);
        }
        Ok(())
    }

    /// A successful command.
    pub(crate) fn success_good() -> CaseResult {
        let o = map(&cmp(btstat::SUCCESS, 0, 0, 0), 4096, || false);
        check!(o.result == 0 && o.resid.is_none() && o.sense == Sense::Clear);
        Ok(())
    }

    /// Residual only when `0 < data_len < bufflen`.
    pub(crate) fn residual_rule() -> CaseResult {
        check!(map(&cmp(btstat::SUCCESS, 0, 1024, 0), 4096, || false).resid == Some(3072));
        check!(map(&cmp(btstat::SUCCESS, 0, 0, 0), 4096, || false)
            .resid
            .is_none());
        check!(map(&cmp(btstat::SUCCESS, 0, 4096, 0), 4096, || false)
            .resid
            .is_none());
        check!(map(&cmp(btstat::DATARUN, 0, 0, 0), 4096, || false)
            .resid
            .is_none());
        check!(map(&cmp(btstat::DATARUN, 0, 4096, 0), 4096, || true)
            .resid
            .is_none());
        check!(map(&cmp(btstat::DATA_UNDERRUN, 0, 100, 0), 4096, || false).resid == Some(3996));
        Ok(())
    }

    /// The completion path's shortcut agrees with the full mapping: a
    /// clean completion is exactly one that maps to `DID_OK`, GOOD, clear
    /// sense and a known status, and carries no sense bytes.
    pub(crate) fn clean_agrees_with_map() -> CaseResult {
        for host in [
            btstat::SUCCESS,
            btstat::DATARUN,
            btstat::DATA_UNDERRUN,
            0x35,
        ] {
            for scsi in [0u16, 0x02, 0x100, 0x08] {
                for data_len in [0u64, 1, 4095, 4096, 4097, u64::MAX] {
                    for sense_len in [0u32, 18] {
                        let c = cmp(host, scsi, data_len, sense_len);
                        let o = map(&c, 4096, || true);
                        let want = (host == btstat::SUCCESS
                            && scsi == 0
                            && sense_len == 0
                            && o.result == did::OK << 16
                            && o.sense == Sense::Clear
                            && !o.unknown_status)
                            .then(|| o.resid.unwrap_or(0));
                        check!(clean(&c, 4096) == want);
                    }
                }
            }
        }
        check!(clean(&cmp(btstat::SUCCESS, 0, 1024, 0), 4096) == Some(3072));
        check!(clean(&cmp(btstat::SUCCESS, 0, 0, 0), 4096) == Some(0));
        check!(clean(&cmp(btstat::SUCCESS, 0, 4097, 0), 4096).is_none());
        Ok(())
    }

    /// CHECK CONDITION keeps its status and sense.
    pub(crate) fn check_condition_keeps_sense() -> CaseResult {
        let o = map(&cmp(btstat::SUCCESS, 2, 0, 18), 0, || false);
        check!(o.result == 2 && o.sense == Sense::Copy(18));
        Ok(())
    }

    /// CHECK CONDITION with a data phase (DATARUN/DATA_UNDERRUN) is not
    /// DID_ERROR: the C driver's bug, fixed.
    pub(crate) fn check_condition_with_data_phase() -> CaseResult {
        for host in [btstat::DATARUN, btstat::DATA_UNDERRUN] {
            let o = map(&cmp(host, 2, 0, 18), 4096, || false);
            check!(o.result == 2);
            check!(o.sense == Sense::Copy(18));
            check!(o.resid.is_none());
        }
        Ok(())
    }

    /// At most the valid sense bytes are copied, at most the buffer's size.
    pub(crate) fn sense_length_is_bounded() -> CaseResult {
        check!(map(&cmp(btstat::SUCCESS, 2, 0, 0), 0, || false).sense == Sense::Copy(96));
        check!(map(&cmp(btstat::SUCCESS, 2, 0, 96), 0, || false).sense == Sense::Copy(96));
        check!(map(&cmp(btstat::SUCCESS, 2, 0, 4000), 0, || false).sense == Sense::Copy(96));
        check!(map(&cmp(btstat::SUCCESS, 2, 0, u32::MAX), 0, || false).sense == Sense::Copy(96));
        Ok(())
    }

    /// Other statuses pass through, with stale sense cleared.
    pub(crate) fn other_statuses_pass_through() -> CaseResult {
        for s in [0x04u16, 0x08, 0x10, 0x14, 0x18, 0x28, 0x30, 0x40] {
            let o = map(&cmp(btstat::SUCCESS, s, 0, 0), 0, || false);
            check!(o.result == u32::from(s));
            check!(o.sense == Sense::Clear);
            check!(!o.unknown_status);
        }
        // Only the low byte of the status is defined.
        check!(map(&cmp(btstat::SUCCESS, 0x1008, 0, 0), 0, || false).result == 0x08);
        Ok(())
    }

    /// A status byte SAM does not define is refused: `DID_ERROR`, flagged,
    /// whatever the successful host status and sense length; after a failed
    /// host status the SCSI status is not looked at.
    pub(crate) fn reserved_status_is_refused() -> CaseResult {
        let mut reserved = 0;
        for s in 0..=0xffu16 {
            if sam::is_defined(s as u8) {
                continue;
            }
            reserved += 1;
            for host in [btstat::SUCCESS, btstat::DATARUN, btstat::DATA_UNDERRUN] {
                let o = map(&cmp(host, s, 0, 18), 4096, || true);
                check!(o.result == did::ERROR << 16);
                check!(o.unknown_status && o.sense == Sense::Clear && o.resid.is_none());
            }
            let o = map(&cmp(btstat::SELTIMEO, s, 0, 0), 0, || false);
            check!(host_byte(&o) == did::BAD_TARGET && !o.unknown_status);
        }
        check!(reserved == 256 - 11);
        // The high byte does not make a defined status reserved, nor the
        // reverse.
        check!(map(&cmp(btstat::SUCCESS, 0xff00, 0, 0), 0, || false).result == 0);
        check!(map(&cmp(btstat::SUCCESS, 0x00ff, 0, 0), 0, || false).unknown_status);
        Ok(())
    }

    /// COMMAND TERMINATED becomes DID_RESET.
    pub(crate) fn command_terminated_is_did_reset() -> CaseResult {
        check!(host_byte(&map(&cmp(btstat::SUCCESS, 0x22, 0, 0), 0, || false)) == did::RESET);
        check!(host_byte(&map(&cmp(btstat::DATARUN, 0x22, 0, 0), 0, || false)) == did::RESET);
        Ok(())
    }

    /// A READ or WRITE that under-ran without saying by how much is never
    /// reported as fully transferred; other commands complete.
    pub(crate) fn short_read_write_is_never_complete() -> CaseResult {
        for host in [btstat::DATARUN, btstat::DATA_UNDERRUN] {
            let o = map(&cmp(host, 0, 0, 0), 4096, || true);
            check!(host_byte(&o) == did::ERROR && o.resid == Some(4096));
            let o = map(&cmp(host, 0, 0, 0), 4096, || false);
            check!(o.result == 0 && o.resid.is_none());
            let o = map(&cmp(host, 0, 512, 0), 4096, || true);
            check!(o.result == 0 && o.resid == Some(3584));
        }
        // A plain success says nothing about a short transfer (QEMU and some
        // ESXi configurations leave `dataLen` 0 with all data moved).
        let o = map(&cmp(btstat::SUCCESS, 0, 0, 0), 4096, || true);
        check!(o.result == 0 && o.resid.is_none());
        Ok(())
    }

    /// An overrun with GOOD status is an error, whatever the host status
    /// (both drivers used to accept a `dataLen` of 2^64-1 on success).
    pub(crate) fn overrun_is_an_error() -> CaseResult {
        for host in [
            btstat::DATARUN,
            btstat::SUCCESS,
            btstat::LINKED_COMMAND_COMPLETED,
        ] {
            for len in [4097, 8192, u64::MAX] {
                check!(host_byte(&map(&cmp(host, 0, len, 0), 4096, || false)) == did::ERROR);
            }
        }
        // Exactly the buffer is fine.
        check!(map(&cmp(btstat::SUCCESS, 0, 4096, 0), 4096, || false).result == 0);
        Ok(())
    }
}
