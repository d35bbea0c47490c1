// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The PVSCSI device ABI: command numbers, status codes and the layout of every
//! structure the driver and the device share through memory.
//!
//! Layouts follow `drivers/scsi/vmw_pvscsi.h`. The C header marks the
//! structures `__packed`, but every field is naturally aligned, so `#[repr(C)]`
//! yields the same layout; the assertions below pin every size and offset.
//!
//! This file depends on `core` and zerocopy only, so host-side unit tests
//! compile it as is.

// The whole device interface is described here, including what the driver
// does not use, like the C driver's header does.
#![allow(dead_code)]

use core::mem::{
    offset_of,
    size_of, //
};

use zerocopy_derive::{
    FromBytes,
    Immutable,
    IntoBytes, //
};

/// The page size the device protocol assumes, whatever the kernel's page size.
pub(crate) const PVSCSI_PAGE_SIZE: usize = 4096;

/// Size of the MMIO register window (8 pages).
pub(crate) const MEM_SPACE_SIZE: usize = 8 * PVSCSI_PAGE_SIZE;

/// Commands written to the `COMMAND` register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Command {
    /// Resets the adapter: cancels all I/O and forgets the rings.
    AdapterReset = 1,
    /// Issues a SCSI command outside the rings (not implemented by devices).
    IssueScsi = 2,
    /// Registers the request and completion rings ([`SetupRings`]).
    SetupRings = 3,
    /// Resets every target on the bus.
    ResetBus = 4,
    /// Resets one target ([`ResetDevice`]).
    ResetDevice = 5,
    /// Aborts one request ([`AbortCmd`]).
    AbortCmd = 6,
    /// Reads a configuration page ([`ConfigCmd`]).
    Config = 7,
    /// Registers the message ring ([`SetupMsgRing`]).
    SetupMsgRing = 8,
    /// Asks the device to unplug a target (unused).
    DeviceUnplug = 9,
    /// Enables driver-side request coalescing ([`SetupReqCall`]).
    SetupReqCallThreshold = 10,
}

/// `COMMAND_STATUS` value meaning "command not supported".
///
/// Only this exact value means unsupported: QEMU answers `0xFFFF_FFFE` ("not
/// enough data yet") when probing commands that take data.
pub(crate) const COMMAND_STATUS_UNSUPPORTED: u32 = 0xFFFF_FFFF;

/// Interrupt cause: completion ring 0 has entries.
pub(crate) const INTR_CMPL_0: u32 = 1 << 0;
/// Interrupt cause: completion ring 1 has entries.
pub(crate) const INTR_CMPL_1: u32 = 1 << 1;
/// Interrupt cause: message ring 0 has entries.
pub(crate) const INTR_MSG_0: u32 = 1 << 2;
/// Interrupt cause: message ring 1 has entries.
pub(crate) const INTR_MSG_1: u32 = 1 << 3;
/// All completion interrupt causes.
pub(crate) const INTR_CMPL_MASK: u32 = INTR_CMPL_0 | INTR_CMPL_1;
/// All message interrupt causes.
pub(crate) const INTR_MSG_MASK: u32 = INTR_MSG_0 | INTR_MSG_1;
/// Every interrupt cause the device defines.
pub(crate) const INTR_ALL_SUPPORTED: u32 = INTR_CMPL_MASK | INTR_MSG_MASK;

/// Maximum pages of the request ring and of the completion ring.
pub(crate) const MAX_RING_PAGES: u32 = 32;
/// Maximum pages of the message ring.
pub(crate) const MAX_MSG_RING_PAGES: u32 = 16;
/// Scatter-gather elements in one list (also the host's `sg_tablesize`).
pub(crate) const MAX_SG_ENTRIES: usize = 128;
/// Targets a request can address: its `target` field is one byte.
pub(crate) const MAX_TARGETS: u32 = 1 << u8::BITS;

/// Request flag: `data_addr` points at an SG list, not at the data.
pub(crate) const FLAG_CMD_WITH_SG_LIST: u32 = 1 << 0;
/// Request flag: the CDB is out of band (unused).
pub(crate) const FLAG_CMD_OUT_OF_BAND_CDB: u32 = 1 << 1;
/// Request flag: no data transfer.
pub(crate) const FLAG_CMD_DIR_NONE: u32 = 1 << 2;
/// Request flag: data moves from the device to memory.
pub(crate) const FLAG_CMD_DIR_TOHOST: u32 = 1 << 3;
/// Request flag: data moves from memory to the device.
pub(crate) const FLAG_CMD_DIR_TODEVICE: u32 = 1 << 4;

/// Queue tag for every request (SCSI SIMPLE QUEUE TAG).
pub(crate) const SIMPLE_QUEUE_TAG: u8 = 0x20;

/// Message type: a device was added.
pub(crate) const MSG_DEV_ADDED: u32 = 0;
/// Message type: a device was removed.
pub(crate) const MSG_DEV_REMOVED: u32 = 1;

/// Configuration page holding the controller description.
pub(crate) const CONFIG_PAGE_CONTROLLER: u32 = 0x1958;
/// Address of the controller in `ConfigCmd::cfg_page_address` (upper dword).
pub(crate) const CONFIG_CONTROLLER_ADDRESS: u64 = 0x2120 << 32;

/// Host (adapter) status values of a completion (`BTSTAT_*`).
pub(crate) mod btstat {
    /// The command completed.
    pub(crate) const SUCCESS: u16 = 0x00;
    /// A linked command completed.
    pub(crate) const LINKED_COMMAND_COMPLETED: u16 = 0x0a;
    /// A linked command completed with a flag.
    pub(crate) const LINKED_COMMAND_COMPLETED_WITH_FLAG: u16 = 0x0b;
    /// Less data moved than requested.
    pub(crate) const DATA_UNDERRUN: u16 = 0x0c;
    /// Selection timed out: no device at that target.
    pub(crate) const SELTIMEO: u16 = 0x11;
    /// Data over- or under-run.
    pub(crate) const DATARUN: u16 = 0x12;
    /// Unexpected bus free.
    pub(crate) const BUSFREE: u16 = 0x13;
    /// Invalid bus phase.
    pub(crate) const INVPHASE: u16 = 0x14;
    /// LUN mismatch.
    pub(crate) const LUNMISMATCH: u16 = 0x17;
    /// Invalid parameter.
    pub(crate) const INVPARAM: u16 = 0x1a;
    /// Automatic request sense failed.
    pub(crate) const SENSFAILED: u16 = 0x1b;
    /// Tag rejected.
    pub(crate) const TAGREJECT: u16 = 0x1c;
    /// Unsupported message.
    pub(crate) const BADMSG: u16 = 0x1d;
    /// Adapter hardware error.
    pub(crate) const HAHARDWARE: u16 = 0x20;
    /// The target did not respond.
    pub(crate) const NORESPONSE: u16 = 0x21;
    /// The adapter sent a bus reset.
    pub(crate) const SENTRST: u16 = 0x22;
    /// The adapter received a bus reset.
    pub(crate) const RECVRST: u16 = 0x23;
    /// Disconnect.
    pub(crate) const DISCONNECT: u16 = 0x24;
    /// Bus reset.
    pub(crate) const BUSRESET: u16 = 0x25;
    /// The adapter aborted the request.
    pub(crate) const ABORTQUEUE: u16 = 0x26;
    /// Adapter software error.
    pub(crate) const HASOFTWARE: u16 = 0x27;
    /// Adapter timeout.
    pub(crate) const HATIMEOUT: u16 = 0x30;
    /// SCSI parity error.
    pub(crate) const SCSIPARITY: u16 = 0x34;
}

/// The rings-state page shared with the device.
///
/// Indices are free-running; an index selects entry `idx & (entries - 1)`.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct RingsState {
    /// Request producer index (written by the driver).
    pub(crate) req_prod_idx: u32,
    /// Request consumer index (written by the device).
    pub(crate) req_cons_idx: u32,
    /// log2 of the request ring's entries (written by the device).
    pub(crate) req_num_entries_log2: u32,
    /// Completion producer index (written by the device).
    pub(crate) cmp_prod_idx: u32,
    /// Completion consumer index (written by the driver).
    pub(crate) cmp_cons_idx: u32,
    /// log2 of the completion ring's entries (written by the device).
    pub(crate) cmp_num_entries_log2: u32,
    /// Pending requests that make a read/write kick worthwhile (written by the device).
    pub(crate) req_call_threshold: u32,
    /// Padding up to the message indices.
    pub(crate) _pad0: [u8; 100],
    /// Message producer index (written by the device).
    pub(crate) msg_prod_idx: u32,
    /// Message consumer index (written by the driver).
    pub(crate) msg_cons_idx: u32,
    /// log2 of the message ring's entries (written by the device).
    pub(crate) msg_num_entries_log2: u32,
}

/// A request descriptor in the request ring.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct ReqDesc {
    /// Driver cookie returned in the completion; never 0.
    pub(crate) context: u64,
    /// Bus address of the data, or of the SG list with [`FLAG_CMD_WITH_SG_LIST`].
    pub(crate) data_addr: u64,
    /// Bytes to transfer.
    pub(crate) data_len: u64,
    /// Bus address of the sense buffer.
    pub(crate) sense_addr: u64,
    /// Size of the sense buffer.
    pub(crate) sense_len: u32,
    /// `FLAG_CMD_*` bits.
    pub(crate) flags: u32,
    /// The command descriptor block.
    pub(crate) cdb: [u8; 16],
    /// Valid bytes in `cdb`.
    pub(crate) cdb_len: u8,
    /// SAM LUN; single-level LUNs go in byte 1.
    pub(crate) lun: [u8; 8],
    /// Queue tag message.
    pub(crate) tag: u8,
    /// Bus (channel).
    pub(crate) bus: u8,
    /// Target id.
    pub(crate) target: u8,
    /// CPU that submitted the request (a hint).
    pub(crate) vcpu_hint: u16,
    /// Reserved.
    pub(crate) unused: [u8; 58],
}

/// A completion descriptor in the completion ring.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct CmpDesc {
    /// The request's `context`.
    pub(crate) context: u64,
    /// Bytes transferred (QEMU always leaves it 0).
    pub(crate) data_len: u64,
    /// Valid sense bytes.
    pub(crate) sense_len: u32,
    /// Adapter status ([`btstat`]).
    pub(crate) host_status: u16,
    /// SCSI status byte.
    pub(crate) scsi_status: u16,
    /// Reserved.
    pub(crate) _pad: [u32; 2],
}

/// One element of a scatter-gather list.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct SgElement {
    /// Bus address of the segment.
    pub(crate) addr: u64,
    /// Length of the segment.
    pub(crate) length: u32,
    /// Element flags (none defined).
    pub(crate) flags: u32,
}

/// A message descriptor in the message ring.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct MsgDesc {
    /// Message type (`MSG_*`).
    pub(crate) msg_type: u32,
    /// Type-specific payload.
    pub(crate) args: [u32; 31],
}

/// Payload of `MSG_DEV_ADDED` and `MSG_DEV_REMOVED`, overlaying [`MsgDesc`].
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct MsgDescDevStatusChanged {
    /// Message type (`MSG_DEV_ADDED` or `MSG_DEV_REMOVED`).
    pub(crate) msg_type: u32,
    /// Bus (channel).
    pub(crate) bus: u32,
    /// Target id.
    pub(crate) target: u32,
    /// SAM LUN; single-level LUNs in byte 1.
    pub(crate) lun: [u8; 8],
    /// Reserved.
    pub(crate) _pad: [u32; 27],
}

/// Data of [`Command::SetupRings`].
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct SetupRings {
    /// Pages in the request ring.
    pub(crate) req_ring_num_pages: u32,
    /// Pages in the completion ring.
    pub(crate) cmp_ring_num_pages: u32,
    /// Page number (bus address >> 12) of the rings-state page.
    pub(crate) rings_state_ppn: u64,
    /// Page numbers of the request ring.
    pub(crate) req_ring_ppns: [u64; MAX_RING_PAGES as usize],
    /// Page numbers of the completion ring.
    pub(crate) cmp_ring_ppns: [u64; MAX_RING_PAGES as usize],
}

/// Data of [`Command::SetupMsgRing`].
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct SetupMsgRing {
    /// Pages in the message ring.
    pub(crate) num_pages: u32,
    /// Reserved.
    pub(crate) _pad: u32,
    /// Page numbers of the message ring.
    pub(crate) ring_ppns: [u64; MAX_MSG_RING_PAGES as usize],
}

/// Data of [`Command::AbortCmd`].
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct AbortCmd {
    /// Context of the request to abort.
    pub(crate) context: u64,
    /// Its target.
    pub(crate) target: u32,
    /// Reserved.
    pub(crate) _pad: u32,
}

/// Data of [`Command::ResetDevice`].
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct ResetDevice {
    /// Target to reset.
    pub(crate) target: u32,
    /// SAM LUN.
    pub(crate) lun: [u8; 8],
}

/// Data of [`Command::Config`].
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct ConfigCmd {
    /// Bus address of the page the device fills.
    pub(crate) cmp_addr: u64,
    /// Which object the page describes (e.g. [`CONFIG_CONTROLLER_ADDRESS`]).
    pub(crate) cfg_page_address: u64,
    /// Which page (e.g. [`CONFIG_PAGE_CONTROLLER`]).
    pub(crate) cfg_page_num: u32,
    /// Reserved.
    pub(crate) _pad: u32,
}

/// Data of [`Command::SetupReqCallThreshold`].
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct SetupReqCall {
    /// 1 to enable coalescing.
    pub(crate) enable: u32,
}

/// Header of a configuration page.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct ConfigPageHeader {
    /// Page number.
    pub(crate) page_num: u32,
    /// Number of dwords in the page.
    pub(crate) num_dwords: u16,
    /// Host status of the CONFIG command ([`btstat`]).
    pub(crate) host_status: u16,
    /// SCSI status of the CONFIG command.
    pub(crate) scsi_status: u16,
    /// Reserved.
    pub(crate) _reserved: [u16; 3],
}

/// The controller configuration page.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct ConfigPageController {
    /// Page header, filled by the device.
    pub(crate) header: ConfigPageHeader,
    /// Node world-wide name.
    pub(crate) node_wwn: u64,
    /// Manufacturer.
    pub(crate) manufacturer: [u16; 64],
    /// Serial number.
    pub(crate) serial_number: [u16; 64],
    /// Operating-ROM version.
    pub(crate) op_rom_version: [u16; 32],
    /// Hardware version.
    pub(crate) hw_version: [u16; 32],
    /// Firmware version.
    pub(crate) firmware_version: [u16; 32],
    /// Number of targets (physical devices) the controller addresses.
    pub(crate) num_phys: u32,
    /// Whether `use_consec_req_format` is in use.
    pub(crate) use_consec_req_format: u8,
    /// Reserved.
    pub(crate) _reserved: [u8; 3],
}

/// Request descriptors in one 4 KiB page.
pub(crate) const REQ_ENTRIES_PER_PAGE: usize = PVSCSI_PAGE_SIZE / size_of::<ReqDesc>();
/// Completion descriptors in one 4 KiB page.
pub(crate) const CMP_ENTRIES_PER_PAGE: usize = PVSCSI_PAGE_SIZE / size_of::<CmpDesc>();
/// Message descriptors in one 4 KiB page.
pub(crate) const MSG_ENTRIES_PER_PAGE: usize = PVSCSI_PAGE_SIZE / size_of::<MsgDesc>();

// The layout of every shared structure, against `vmw_pvscsi.h`.
const _: () = assert!(size_of::<RingsState>() == 140);
const _: () = assert!(offset_of!(RingsState, req_cons_idx) == 4);
const _: () = assert!(offset_of!(RingsState, cmp_prod_idx) == 12);
const _: () = assert!(offset_of!(RingsState, cmp_cons_idx) == 16);
const _: () = assert!(offset_of!(RingsState, req_call_threshold) == 24);
const _: () = assert!(offset_of!(RingsState, msg_prod_idx) == 128);
const _: () = assert!(offset_of!(RingsState, msg_num_entries_log2) == 136);
const _: () = assert!(size_of::<ReqDesc>() == 128);
const _: () = assert!(offset_of!(ReqDesc, cdb) == 40);
const _: () = assert!(offset_of!(ReqDesc, lun) == 57);
const _: () = assert!(offset_of!(ReqDesc, vcpu_hint) == 68);
const _: () = assert!(size_of::<CmpDesc>() == 32);
const _: () = assert!(offset_of!(CmpDesc, host_status) == 20);
const _: () = assert!(size_of::<SgElement>() == 16);
const _: () = assert!(size_of::<MsgDesc>() == 128);
const _: () = assert!(size_of::<MsgDescDevStatusChanged>() == 128);
const _: () = assert!(size_of::<SetupRings>() == 528);
const _: () = assert!(size_of::<SetupMsgRing>() == 136);
const _: () = assert!(size_of::<AbortCmd>() == 16);
const _: () = assert!(size_of::<ResetDevice>() == 12);
const _: () = assert!(size_of::<ConfigCmd>() == 24);
const _: () = assert!(offset_of!(ConfigCmd, cmp_addr) == 0);
const _: () = assert!(size_of::<SetupReqCall>() == 4);
const _: () = assert!(size_of::<ConfigPageHeader>() == 16);
const _: () = assert!(offset_of!(ConfigPageController, num_phys) == 472);
const _: () = assert!(REQ_ENTRIES_PER_PAGE == 32 && CMP_ENTRIES_PER_PAGE == 128);

/// Test cases (see [`super::check`]): the layout of every structure and
/// the value of every constant, against the C header as a C compiler sees
/// it ([`super::c_header`], generated from `vmw_pvscsi.h`).
#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod cases {
    use super::*;
    use crate::{
        c_header::{
            CONSTANTS,
            STRUCTS, //
        },
        check::{
            check,
            CaseResult,
            Failure, //
        },
    };

    /// A Rust structure mapped onto the C structure of the same layout.
    struct Mapped {
        /// The C structure's name.
        c_name: &'static str,
        /// The Rust structure's size.
        size: usize,
        /// C field name, Rust offset and Rust size of each field, in order.
        fields: &'static [(&'static str, usize, usize)],
    }

    /// The size of the field that `project` borrows.
    const fn size_of_field<T, F>(_project: fn(&T) -> &F) -> usize {
        size_of::<F>()
    }

    /// Maps a Rust structure's fields onto the C structure's, by name.
    macro_rules! mapped {
        ($c:literal => $ty:ty { $($cf:literal => $rf:ident),* $(,)? }) => {
            Mapped {
                c_name: $c,
                size: size_of::<$ty>(),
                fields: &[$((
                    $cf,
                    offset_of!($ty, $rf),
                    size_of_field(|s: &$ty| &s.$rf),
                )),*],
            }
        };
    }

    /// Every structure the driver shares with the device.
    const MAPPED: &[Mapped] = &[
        mapped!("PVSCSICmdDescResetDevice" => ResetDevice { "target" => target, "lun" => lun }),
        mapped!("PVSCSICmdDescConfigCmd" => ConfigCmd {
            "cmpAddr" => cmp_addr,
            "configPageAddress" => cfg_page_address,
            "configPageNum" => cfg_page_num,
            "_pad" => _pad,
        }),
        mapped!("PVSCSICmdDescSetupReqCall" => SetupReqCall { "enable" => enable }),
        mapped!("PVSCSICmdDescAbortCmd" => AbortCmd {
            "context" => context,
            "target" => target,
            "_pad" => _pad,
        }),
        mapped!("PVSCSICmdDescSetupRings" => SetupRings {
            "reqRingNumPages" => req_ring_num_pages,
            "cmpRingNumPages" => cmp_ring_num_pages,
            "ringsStatePPN" => rings_state_ppn,
            "reqRingPPNs" => req_ring_ppns,
            "cmpRingPPNs" => cmp_ring_ppns,
        }),
        mapped!("PVSCSICmdDescSetupMsgRing" => SetupMsgRing {
            "numPages" => num_pages,
            "_pad" => _pad,
            "ringPPNs" => ring_ppns,
        }),
        mapped!("PVSCSIRingMsgDesc" => MsgDesc { "type" => msg_type, "args" => args }),
        mapped!("PVSCSIMsgDescDevStatusChanged" => MsgDescDevStatusChanged {
            "type" => msg_type,
            "bus" => bus,
            "target" => target,
            "lun" => lun,
            "pad" => _pad,
        }),
        mapped!("PVSCSIRingsState" => RingsState {
            "reqProdIdx" => req_prod_idx,
            "reqConsIdx" => req_cons_idx,
            "reqNumEntriesLog2" => req_num_entries_log2,
            "cmpProdIdx" => cmp_prod_idx,
            "cmpConsIdx" => cmp_cons_idx,
            "cmpNumEntriesLog2" => cmp_num_entries_log2,
            "reqCallThreshold" => req_call_threshold,
            "_pad" => _pad0,
            "msgProdIdx" => msg_prod_idx,
            "msgConsIdx" => msg_cons_idx,
            "msgNumEntriesLog2" => msg_num_entries_log2,
        }),
        mapped!("PVSCSIRingReqDesc" => ReqDesc {
            "context" => context,
            "dataAddr" => data_addr,
            "dataLen" => data_len,
            "senseAddr" => sense_addr,
            "senseLen" => sense_len,
            "flags" => flags,
            "cdb" => cdb,
            "cdbLen" => cdb_len,
            "lun" => lun,
            "tag" => tag,
            "bus" => bus,
            "target" => target,
            "vcpuHint" => vcpu_hint,
            "unused" => unused,
        }),
        mapped!("PVSCSISGElement" => SgElement {
            "addr" => addr,
            "length" => length,
            "flags" => flags,
        }),
        mapped!("PVSCSIRingCmpDesc" => CmpDesc {
            "context" => context,
            "dataLen" => data_len,
            "senseLen" => sense_len,
            "hostStatus" => host_status,
            "scsiStatus" => scsi_status,
            "_pad" => _pad,
        }),
        mapped!("PVSCSIConfigPageHeader" => ConfigPageHeader {
            "pageNum" => page_num,
            "numDwords" => num_dwords,
            "hostStatus" => host_status,
            "scsiStatus" => scsi_status,
            "reserved" => _reserved,
        }),
        mapped!("PVSCSIConfigPageController" => ConfigPageController {
            "header" => header,
            "nodeWWN" => node_wwn,
            "manufacturer" => manufacturer,
            "serialNumber" => serial_number,
            "opromVersion" => op_rom_version,
            "hwVersion" => hw_version,
            "firmwareVersion" => firmware_version,
            "numPhys" => num_phys,
            "useConsecutivePhyWWNs" => use_consec_req_format,
            "reserved" => _reserved,
        }),
    ];

    /// Fails naming `what` (a C name) unless the condition holds.
    macro_rules! check_named {
        ($cond:expr, $what:expr) => {
            if !($cond) {
                return Err(Failure {
                    file: file!(),
                    line: line!(),
                    check: $what,
                });
            }
        };
    }

    /// Every C structure has a Rust twin with the same size and the same
    /// fields, in the same order, at the same offsets, of the same sizes.
    pub(crate) fn layout_matches_the_c_header() -> CaseResult {
        check!(MAPPED.len() == STRUCTS.len());
        for c in STRUCTS {
            let m = MAPPED.iter().find(|m| m.c_name == c.name);
            check_named!(m.is_some(), c.name);
            let Some(m) = m else { continue };
            check_named!(m.size == c.size, c.name);
            check_named!(m.fields.len() == c.fields.len(), c.name);
            for (cf, &(name, offset, size)) in c.fields.iter().zip(m.fields) {
                check_named!(cf.name == name, cf.name);
                check_named!(cf.offset == offset, cf.name);
                check_named!(cf.size == size, cf.name);
            }
        }
        Ok(())
    }

    /// The value of the C constant `name`.
    fn c_value(name: &str) -> Option<u64> {
        CONSTANTS.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }

    /// The driver's constants, by the C name of each.
    const VALUES: &[(&str, u64)] = &[
        ("BTSTAT_SUCCESS", btstat::SUCCESS as u64),
        (
            "BTSTAT_LINKED_COMMAND_COMPLETED",
            btstat::LINKED_COMMAND_COMPLETED as u64,
        ),
        (
            "BTSTAT_LINKED_COMMAND_COMPLETED_WITH_FLAG",
            btstat::LINKED_COMMAND_COMPLETED_WITH_FLAG as u64,
        ),
        ("BTSTAT_DATA_UNDERRUN", btstat::DATA_UNDERRUN as u64),
        ("BTSTAT_SELTIMEO", btstat::SELTIMEO as u64),
        ("BTSTAT_DATARUN", btstat::DATARUN as u64),
        ("BTSTAT_BUSFREE", btstat::BUSFREE as u64),
        ("BTSTAT_INVPHASE", btstat::INVPHASE as u64),
        ("BTSTAT_LUNMISMATCH", btstat::LUNMISMATCH as u64),
        ("BTSTAT_INVPARAM", btstat::INVPARAM as u64),
        ("BTSTAT_SENSFAILED", btstat::SENSFAILED as u64),
        ("BTSTAT_TAGREJECT", btstat::TAGREJECT as u64),
        ("BTSTAT_BADMSG", btstat::BADMSG as u64),
        ("BTSTAT_HAHARDWARE", btstat::HAHARDWARE as u64),
        ("BTSTAT_NORESPONSE", btstat::NORESPONSE as u64),
        ("BTSTAT_SENTRST", btstat::SENTRST as u64),
        ("BTSTAT_RECVRST", btstat::RECVRST as u64),
        ("BTSTAT_DISCONNECT", btstat::DISCONNECT as u64),
        ("BTSTAT_BUSRESET", btstat::BUSRESET as u64),
        ("BTSTAT_ABORTQUEUE", btstat::ABORTQUEUE as u64),
        ("BTSTAT_HASOFTWARE", btstat::HASOFTWARE as u64),
        ("BTSTAT_HATIMEOUT", btstat::HATIMEOUT as u64),
        ("BTSTAT_SCSIPARITY", btstat::SCSIPARITY as u64),
        ("PVSCSI_CMD_ADAPTER_RESET", Command::AdapterReset as u64),
        ("PVSCSI_CMD_ISSUE_SCSI", Command::IssueScsi as u64),
        ("PVSCSI_CMD_SETUP_RINGS", Command::SetupRings as u64),
        ("PVSCSI_CMD_RESET_BUS", Command::ResetBus as u64),
        ("PVSCSI_CMD_RESET_DEVICE", Command::ResetDevice as u64),
        ("PVSCSI_CMD_ABORT_CMD", Command::AbortCmd as u64),
        ("PVSCSI_CMD_CONFIG", Command::Config as u64),
        ("PVSCSI_CMD_SETUP_MSG_RING", Command::SetupMsgRing as u64),
        ("PVSCSI_CMD_DEVICE_UNPLUG", Command::DeviceUnplug as u64),
        (
            "PVSCSI_CMD_SETUP_REQCALLTHRESHOLD",
            Command::SetupReqCallThreshold as u64,
        ),
        (
            "PVSCSI_CONFIG_PAGE_CONTROLLER",
            CONFIG_PAGE_CONTROLLER as u64,
        ),
        (
            "PVSCSI_CONFIG_CONTROLLER_ADDRESS",
            CONFIG_CONTROLLER_ADDRESS >> 32,
        ),
        ("PVSCSI_MSG_DEV_ADDED", MSG_DEV_ADDED as u64),
        ("PVSCSI_MSG_DEV_REMOVED", MSG_DEV_REMOVED as u64),
        (
            "PVSCSI_MAX_NUM_SG_ENTRIES_PER_SEGMENT",
            MAX_SG_ENTRIES as u64,
        ),
        ("PVSCSI_SETUP_RINGS_MAX_NUM_PAGES", MAX_RING_PAGES as u64),
        (
            "PVSCSI_SETUP_MSG_RING_MAX_NUM_PAGES",
            MAX_MSG_RING_PAGES as u64,
        ),
        ("PVSCSI_FLAG_CMD_WITH_SG_LIST", FLAG_CMD_WITH_SG_LIST as u64),
        (
            "PVSCSI_FLAG_CMD_OUT_OF_BAND_CDB",
            FLAG_CMD_OUT_OF_BAND_CDB as u64,
        ),
        ("PVSCSI_FLAG_CMD_DIR_NONE", FLAG_CMD_DIR_NONE as u64),
        ("PVSCSI_FLAG_CMD_DIR_TOHOST", FLAG_CMD_DIR_TOHOST as u64),
        ("PVSCSI_FLAG_CMD_DIR_TODEVICE", FLAG_CMD_DIR_TODEVICE as u64),
        ("PVSCSI_INTR_CMPL_0", INTR_CMPL_0 as u64),
        ("PVSCSI_INTR_CMPL_1", INTR_CMPL_1 as u64),
        ("PVSCSI_INTR_CMPL_MASK", INTR_CMPL_MASK as u64),
        ("PVSCSI_INTR_MSG_0", INTR_MSG_0 as u64),
        ("PVSCSI_INTR_MSG_1", INTR_MSG_1 as u64),
        ("PVSCSI_INTR_MSG_MASK", INTR_MSG_MASK as u64),
        ("PVSCSI_INTR_ALL_SUPPORTED", INTR_ALL_SUPPORTED as u64),
        (
            "PVSCSI_MAX_NUM_REQ_ENTRIES_PER_PAGE",
            REQ_ENTRIES_PER_PAGE as u64,
        ),
        ("PVSCSI_MEM_SPACE_SIZE", MEM_SPACE_SIZE as u64),
    ];

    /// Every constant the driver shares with the device has the C header's
    /// value, and every host status and command of the header is known.
    pub(crate) fn constants_match_the_c_header() -> CaseResult {
        for &(name, value) in VALUES {
            check_named!(c_value(name) == Some(value), name);
        }
        for &(name, _) in CONSTANTS {
            let needed = name.starts_with("BTSTAT_")
                || (name.starts_with("PVSCSI_CMD_")
                    && name != "PVSCSI_CMD_FIRST"
                    && name != "PVSCSI_CMD_LAST");
            check_named!(!needed || VALUES.iter().any(|&(n, _)| n == name), name);
        }
        Ok(())
    }
}
