// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! A RAM-backed SCSI host: one disk of [`DISK_BYTES`] in memory, behind a
//! host built on the Rust SCSI host layer alone.
//!
//! It is the layer's second user, in the spirit of `rnull` for blk-mq and of
//! `scsi_debug`, and shows that the layer knows nothing of PVSCSI: the host
//! hangs off a faux device, moves data with the CPU
//! ([`scsi::Command::copy_from_buffer`]), keeps typed per-command data (how
//! often each command has been used) and has host attributes. The tests load
//! it in a guest, do I/O on its disk and read the attributes back.
//!
//! It implements the commands the midlayer and `sd` need: TEST UNIT READY,
//! INQUIRY, READ CAPACITY (10 and 16), READ and WRITE (10 and 16), MODE SENSE
//! (6), SYNCHRONIZE CACHE (10). Others end with ILLEGAL REQUEST sense.

#[path = "../../drivers/scsi/rust_scsi/mod.rs"]
pub mod scsi;

use kernel::{
    alloc::VVec,
    faux,
    new_spinlock,
    prelude::*,
    sync::{
        atomic::{
            ordering::Relaxed,
            Atomic, //
        },
        Arc,
        SpinLock, //
    }, //
};

use scsi::{
    Command,
    CommandResult,
    Host,
    HostByte,
    HostLimits,
    Registration,
    SamStatus,
    Template,
    TemplateOptions, //
};

/// Size of the disk.
const DISK_BYTES: usize = 16 << 20;
/// Size of a logical block.
const BLOCK: usize = 512;
/// Commands the host accepts at once.
const CAN_QUEUE: u32 = 64;

/// Sense key: the command or its fields are not supported.
const ILLEGAL_REQUEST: u8 = 0x05;
/// Additional sense code: invalid command operation code.
const ASC_INVALID_OPCODE: u8 = 0x20;
/// Additional sense code: logical block address out of range.
const ASC_LBA_OUT_OF_RANGE: u8 = 0x21;
/// Additional sense code: invalid field in CDB.
const ASC_INVALID_FIELD: u8 = 0x24;

/// The disk and the host's counters.
#[pin_data]
struct RamHost {
    /// The disk's blocks.
    #[pin]
    disk: SpinLock<VVec<u8>>,
    /// Commands completed.
    commands: Atomic<u64>,
    /// The most uses of one command (its per-command data) seen.
    max_reuse: Atomic<u64>,
}

/// How a command ends.
enum Outcome {
    /// GOOD, with `resid` bytes not transferred.
    Good(u32),
    /// CHECK CONDITION with sense key ILLEGAL REQUEST and this additional
    /// sense code.
    Illegal(u8),
}

/// Reads a big-endian number from `bytes`.
fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |n, b| (n << 8) | u64::from(*b))
}

impl RamHost {
    /// Runs the command `cdb` with its data buffer in `cmd`.
    fn execute(&self, cdb: &[u8; 16], cmd: &mut Command<u64>) -> Outcome {
        let blocks = (DISK_BYTES / BLOCK) as u64;
        let bufflen = cmd.bufflen();
        let reply = |cmd: &mut Command<u64>, data: &[u8]| {
            let n = cmd.copy_from_buffer(data);
            Outcome::Good(bufflen.saturating_sub(n as u32))
        };
        match cdb[0] {
            // TEST UNIT READY, SYNCHRONIZE CACHE (10): the disk is always
            // ready, and has no cache.
            0x00 | 0x35 => Outcome::Good(bufflen),
            // INQUIRY
            0x12 => {
                let len = be(&cdb[3..5]) as usize;
                if cdb[1] & 1 != 0 {
                    // Vital product data: only the list of pages (page 0).
                    if cdb[2] != 0 {
                        return Outcome::Illegal(ASC_INVALID_FIELD);
                    }
                    let page = [0u8, 0, 0, 1, 0];
                    return reply(cmd, &page[..len.min(page.len())]);
                }
                let mut data = [0u8; 36];
                data[2] = 5; // SPC-3
                data[3] = 2; // response data format
                data[4] = 31; // additional length
                data[7] = 0x02; // CmdQue: tagged commands
                data[8..16].copy_from_slice(b"Linux   ");
                data[16..32].copy_from_slice(b"Rust RAM disk   ");
                data[32..36].copy_from_slice(b"0001");
                reply(cmd, &data[..len.min(data.len())])
            }
            // READ CAPACITY (10)
            0x25 => {
                let mut data = [0u8; 8];
                data[..4].copy_from_slice(&((blocks - 1) as u32).to_be_bytes());
                data[4..].copy_from_slice(&(BLOCK as u32).to_be_bytes());
                reply(cmd, &data)
            }
            // SERVICE ACTION IN (16): READ CAPACITY (16)
            0x9e if cdb[1] & 0x1f == 0x10 => {
                let len = be(&cdb[10..14]) as usize;
                let mut data = [0u8; 32];
                data[..8].copy_from_slice(&(blocks - 1).to_be_bytes());
                data[8..12].copy_from_slice(&(BLOCK as u32).to_be_bytes());
                reply(cmd, &data[..len.min(data.len())])
            }
            // MODE SENSE (6): a header and no pages (sd then assumes a
            // write-through cache).
            0x1a => reply(cmd, &[3, 0, 0, 0]),
            // READ (10), WRITE (10), READ (16), WRITE (16)
            op @ (0x28 | 0x2a | 0x88 | 0x8a) => {
                let (lba, count) = if op & 0x80 == 0 {
                    (be(&cdb[2..6]), be(&cdb[7..9]))
                } else {
                    (be(&cdb[2..10]), be(&cdb[10..14]))
                };
                if lba.checked_add(count).is_none_or(|end| end > blocks) {
                    return Outcome::Illegal(ASC_LBA_OUT_OF_RANGE);
                }
                // In range of a 16 MiB disk, so these fit.
                let start = lba as usize * BLOCK;
                let len = (count as usize * BLOCK).min(bufflen as usize);
                let mut disk = self.disk.lock();
                let Some(area) = disk.get_mut(start..start + len) else {
                    return Outcome::Illegal(ASC_LBA_OUT_OF_RANGE);
                };
                let done = if op & 0x0f == 0x08 {
                    cmd.copy_from_buffer(area)
                } else {
                    cmd.copy_to_buffer(area)
                };
                Outcome::Good(bufflen.saturating_sub(done as u32))
            }
            _ => Outcome::Illegal(ASC_INVALID_OPCODE),
        }
    }
}

/// The SCSI host operations of the RAM host.
struct RamOps;

#[vtable]
impl scsi::Operations for RamOps {
    type HostData<'bound> = RamHost;
    /// How often the command has been used: the data persists from one use
    /// of the command to the next.
    type CmdData = u64;
    type Attribute = Attribute;

    fn queue_command<'bound>(
        host: &'bound RamHost,
        mut cmd: Command<u64>,
    ) -> Result<(), Command<u64>> {
        *cmd.data_mut() += 1;
        let uses = *cmd.data();
        let mut seen = host.max_reuse.load(Relaxed);
        while seen < uses {
            match host.max_reuse.cmpxchg(seen, uses, Relaxed) {
                Ok(_) => break,
                Err(now) => seen = now,
            }
        }
        // The CDB, zero-padded to 16 bytes (the host's `max_cmd_len`).
        let cdb = *cmd.cdb_padded::<16>();
        let outcome = host.execute(&cdb, &mut cmd);
        host.commands.fetch_add(1, Relaxed);
        match outcome {
            Outcome::Good(resid) => cmd.complete(CommandResult::GOOD, resid, None),
            Outcome::Illegal(asc) => {
                // Fixed-format sense data.
                let mut sense = [0u8; 18];
                sense[0] = 0x70;
                sense[2] = ILLEGAL_REQUEST;
                sense[7] = 10;
                sense[12] = asc;
                let resid = cmd.bufflen();
                cmd.complete(
                    CommandResult::new(HostByte::OK, SamStatus::CHECK_CONDITION),
                    resid,
                    Some(&sense),
                );
            }
        }
        Ok(())
    }

    fn show_attribute<'bound>(host: &'bound RamHost, which: Attribute) -> u64 {
        match which {
            Attribute::Commands => host.commands.load(Relaxed),
            Attribute::MaxCommandReuse => host.max_reuse.load(Relaxed),
        }
    }
}

/// The RAM host's attributes.
#[derive(Clone, Copy)]
enum Attribute {
    /// `commands`: commands served.
    Commands,
    /// `max_command_reuse`: the most uses of one command seen.
    MaxCommandReuse,
}

scsi::host_attributes!(ATTRIBUTES for RamOps = [
    commands => Attribute::Commands,
    max_command_reuse => Attribute::MaxCommandReuse,
]);

/// The template of the RAM host.
static TEMPLATE: Template<RamOps> = Template::new(TemplateOptions {
    sg_tablesize: 128,
    attributes: Some(&ATTRIBUTES),
    ..TemplateOptions::new(
        &<RamModule as kernel::ModuleMetadata>::THIS_MODULE,
        c"Rust RAM-backed SCSI host",
        c"rust_scsi_ram",
    )
});

/// The module: a faux device with one SCSI host on it.
struct RamModule {
    /// Dropped first: removes the host and its disk.
    _host: Registration<'static, RamOps>,
    /// The host's parent device.
    _dev: faux::Registration,
}

impl kernel::Module for RamModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dev = faux::Registration::new(c"rust_scsi_ram", None)?;
        let disk = VVec::from_elem(0u8, DISK_BYTES, GFP_KERNEL)?;
        let data = Arc::pin_init(
            pin_init!(RamHost {
                disk <- new_spinlock!(disk),
                commands: Atomic::new(0),
                max_reuse: Atomic::new(0),
            }),
            GFP_KERNEL,
        )?;
        let limits = HostLimits {
            can_queue: CAN_QUEUE,
            cmd_per_lun: CAN_QUEUE,
            max_id: 1,
            max_lun: 1,
            max_channel: 0,
            max_cmd_len: 16,
            poll_queues: 0,
            no_sched_by_default: false,
        };
        let host = Host::new(&TEMPLATE, data, &limits)?;
        let parent: &kernel::device::Device<kernel::device::Bound> = dev.as_ref().as_ref();
        let host = Registration::new(host, parent)?;
        pr_info!(
            "scsi host{}: {} MiB RAM disk\n",
            host.host_no(),
            DISK_BYTES >> 20
        );
        host.scan();
        Ok(Self {
            _host: host,
            _dev: dev,
        })
    }
}

module! {
    type: RamModule,
    name: "rust_scsi_ram",
    authors: ["The vmw_pvscsi_rs authors"],
    description: "RAM-backed SCSI host on the Rust SCSI host layer (sample)",
    license: "GPL v2",
}
