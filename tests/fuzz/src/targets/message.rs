// SPDX-License-Identifier: GPL-2.0

//! Message decoding: `message::decode` of a message-ring descriptor.
//!
//! The input is the 128 bytes of a descriptor as the device writes them into
//! the message ring (read with the same `zerocopy` conversion the driver's
//! ring accessors use), optionally with a known type and address forced in so
//! that the accepted cases come up often. The harness checks:
//!
//! - a message is accepted exactly when its type is `DEV_ADDED` or
//!   `DEV_REMOVED` and its address is channel 0, a target of at most 255 (a
//!   request descriptor's `target` byte) and the all-zero LUN;
//! - an accepted message is the variant its type names, with that target,
//!   channel 0 and LUN 0;
//! - a refusal names the unknown type, or the channel, target and the 8 LUN
//!   bytes exactly as the device wrote them;
//! - the payload beyond the address does not matter;
//! - the fields it reads are those of the C header's layout of the payload
//!   (`MsgDescDevStatusChanged` overlaid on the same bytes).

use arbitrary::Arbitrary;
use zerocopy::{FromBytes, IntoBytes};

use crate::abi::{MsgDesc, MsgDescDevStatusChanged, MSG_DEV_ADDED, MSG_DEV_REMOVED};
use crate::message::{decode, Address, BadMessage, Message, MAX_ADDRESSABLE_TARGET};

/// A message descriptor, as bytes, with optional fields forced in.
#[derive(Arbitrary, Clone, Debug)]
pub struct Input {
    /// The descriptor's bytes (zero-padded or cut to its size).
    pub bytes: Vec<u8>,
    /// Force the type to `DEV_ADDED` (false) or `DEV_REMOVED` (true).
    pub kind: Option<bool>,
    /// Force channel 0 and this target (a `u16`: both sides of the limit).
    pub target: Option<u16>,
    /// Force LUN 0.
    pub lun0: bool,
}

/// Checks the decoding of one descriptor.
pub fn run(input: &Input) {
    let mut raw = [0u8; core::mem::size_of::<MsgDesc>()];
    let n = input.bytes.len().min(raw.len());
    raw[..n].copy_from_slice(&input.bytes[..n]);
    let Ok(mut desc) = MsgDesc::read_from_bytes(&raw[..]) else {
        panic!("a descriptor's worth of bytes refused");
    };
    if let Some(removed) = input.kind {
        desc.msg_type = if removed {
            MSG_DEV_REMOVED
        } else {
            MSG_DEV_ADDED
        };
    }
    if let Some(target) = input.target {
        desc.args[0] = 0;
        desc.args[1] = u32::from(target);
    }
    if input.lun0 {
        desc.args[2] = 0;
        desc.args[3] = 0;
    }
    // The fields as the C header lays them out (`PVSCSIMsgDescDevStatusChanged`).
    let Ok(fields) = MsgDescDevStatusChanged::read_from_bytes(desc.as_bytes()) else {
        panic!("the two layouts differ in size");
    };
    let (kind, bus, target, lun) = (fields.msg_type, fields.bus, fields.target, fields.lun);

    let decoded = decode(&desc);
    let known = kind == MSG_DEV_ADDED || kind == MSG_DEV_REMOVED;
    let reachable = bus == 0 && target <= MAX_ADDRESSABLE_TARGET && lun == [0; 8];
    match decoded {
        Ok(m) => {
            assert!(known && reachable, "accepted {kind} {bus}:{target}:{lun:?}");
            let a = Address {
                bus: 0,
                target,
                lun: 0,
            };
            let want = if kind == MSG_DEV_ADDED {
                Message::Added(a)
            } else {
                Message::Removed(a)
            };
            assert_eq!(m, want);
            assert!(u8::try_from(target).is_ok(), "target {target} not a byte");
        }
        Err(BadMessage::UnknownType(k)) => {
            assert!(!known && k == kind, "type {kind} refused as {k}");
        }
        Err(BadMessage::BadAddress {
            bus: b,
            target: t,
            lun: l,
        }) => {
            assert!(
                known && !reachable,
                "address {bus}:{target}:{lun:?} refused"
            );
            assert_eq!((b, t, l), (bus, target, lun), "refusal changed the address");
        }
    }

    // Only the type and the address matter.
    let mut trimmed = desc;
    trimmed.args[4..].fill(0);
    assert_eq!(
        decode(&trimmed),
        decoded,
        "the payload changed the decoding"
    );
}
