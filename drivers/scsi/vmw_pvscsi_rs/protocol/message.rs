// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Decoding message-ring descriptors (hot-plug events) written by the device.
//!
//! Nothing in a message is trusted: the type must be known, and the address
//! must name channel 0, a target a request descriptor can address (0 to 255:
//! a hot-added disk is added even above the host's scan limit, as the C
//! driver does) and a single-level LUN 0 (the only LUN PVSCSI devices have
//! here).
//!
//! This file depends on `core` only, so host-side unit tests compile it as is.

use super::abi::{
    MsgDesc,
    MSG_DEV_ADDED,
    MSG_DEV_REMOVED, //
};

/// A device address from a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    /// Channel.
    pub(crate) bus: u32,
    /// Target id.
    pub(crate) target: u32,
    /// LUN.
    pub(crate) lun: u64,
}

/// A decoded message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    /// A device appeared.
    Added(Address),
    /// A device went away.
    Removed(Address),
}

/// Why a message was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadMessage {
    /// Unknown message type.
    UnknownType(u32),
    /// The address is not one the driver can reach.
    BadAddress {
        /// Channel.
        bus: u32,
        /// Target.
        target: u32,
        /// The 8 LUN bytes.
        lun: [u8; 8],
    },
}

/// Highest target a request descriptor can address (its `target` is a byte).
pub(crate) const MAX_ADDRESSABLE_TARGET: u32 = u8::MAX as u32;

/// Decodes `desc`.
pub(crate) fn decode(desc: &MsgDesc) -> Result<Message, BadMessage> {
    let kind = desc.msg_type;
    if kind != MSG_DEV_ADDED && kind != MSG_DEV_REMOVED {
        return Err(BadMessage::UnknownType(kind));
    }
    // `MsgDescDevStatusChanged`: bus, target, then lun[8] in two dwords.
    let [bus, target, lun_lo, lun_hi, ..] = desc.args;
    let mut lun = [0u8; 8];
    lun[..4].copy_from_slice(&lun_lo.to_le_bytes());
    lun[4..].copy_from_slice(&lun_hi.to_le_bytes());
    // Single-level LUN addressing in byte 1; only LUN 0 exists.
    if bus != 0 || target > MAX_ADDRESSABLE_TARGET || lun != [0; 8] {
        return Err(BadMessage::BadAddress { bus, target, lun });
    }
    let addr = Address {
        bus,
        target,
        lun: u64::from(lun[1]),
    };
    Ok(if kind == MSG_DEV_ADDED {
        Message::Added(addr)
    } else {
        Message::Removed(addr)
    })
}

/// Test cases (see [`super::check`]).
#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod cases {
    use super::*;
    use crate::check::{
        check,
        CaseResult, //
    };

    fn msg(kind: u32, bus: u32, target: u32, lun: [u8; 8]) -> MsgDesc {
        let mut args = [0u32; 31];
        args[0] = bus;
        args[1] = target;
        args[2] = u32::from_le_bytes([lun[0], lun[1], lun[2], lun[3]]);
        args[3] = u32::from_le_bytes([lun[4], lun[5], lun[6], lun[7]]);
        MsgDesc {
            msg_type: kind,
            args,
        }
    }

    /// Added and removed messages decode to their address.
    pub(crate) fn added_and_removed() -> CaseResult {
        let a = Address {
            bus: 0,
            target: 63,
            lun: 0,
        };
        check!(decode(&msg(MSG_DEV_ADDED, 0, 63, [0; 8])) == Ok(Message::Added(a)));
        check!(decode(&msg(MSG_DEV_REMOVED, 0, 63, [0; 8])) == Ok(Message::Removed(a)));
        // Above the scan limit (QEMU accepts scsi-id 64), and up to 255.
        for target in [64, 255] {
            let a = Address {
                bus: 0,
                target,
                lun: 0,
            };
            check!(decode(&msg(MSG_DEV_ADDED, 0, target, [0; 8])) == Ok(Message::Added(a)));
        }
        Ok(())
    }

    /// Unknown types and out-of-range addresses are refused.
    pub(crate) fn malformed_messages_are_refused() -> CaseResult {
        check!(decode(&msg(2, 0, 0, [0; 8])) == Err(BadMessage::UnknownType(2)));
        check!(decode(&msg(u32::MAX, 0, 0, [0; 8])).is_err());
        check!(matches!(
            decode(&msg(MSG_DEV_ADDED, 0, 256, [0; 8])),
            Err(BadMessage::BadAddress { .. })
        ));
        check!(matches!(
            decode(&msg(MSG_DEV_ADDED, 1, 0, [0; 8])),
            Err(BadMessage::BadAddress { .. })
        ));
        check!(matches!(
            decode(&msg(MSG_DEV_ADDED, 0, 0, [0, 1, 0, 0, 0, 0, 0, 0])),
            Err(BadMessage::BadAddress { .. })
        ));
        check!(matches!(
            decode(&msg(MSG_DEV_ADDED, 0, 0, [1, 0, 0, 0, 0, 0, 0, 0])),
            Err(BadMessage::BadAddress { .. })
        ));
        check!(matches!(
            decode(&msg(MSG_DEV_REMOVED, 0, u32::MAX, [0; 8])),
            Err(BadMessage::BadAddress { .. })
        ));
        Ok(())
    }
}
