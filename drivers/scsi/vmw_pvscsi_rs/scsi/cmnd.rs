// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! SCSI commands owned by a low-level driver.

use core::{
    mem::ManuallyDrop,
    ptr::NonNull, //
};

use kernel::{
    bindings as kbindings,
    prelude::*,
    sync::atomic::{
        ordering::{
            Acquire,
            Full, //
        },
        Atomic, //
    }, //
};

use super::{
    bindings,
    HostByte, //
};

/// Direction of a command's data transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataDirection {
    /// No data.
    None,
    /// Device to memory.
    FromDevice,
    /// Memory to device.
    ToDevice,
    /// Both.
    Bidirectional,
}

/// The layer's per-command state, in the command's private area
/// (`scsi_cmd_priv`, `cmd_size` of the host template).
#[repr(C)]
pub(super) struct CmdPriv {
    /// The data buffer is DMA-mapped (`scsi_dma_map` succeeded with segments).
    mapped: bool,
}

/// A command the driver owns, between `queuecommand` and its completion.
///
/// Completing it ([`Command::complete`]) consumes it, so a command cannot be
/// completed twice. Dropping it without completing completes it with
/// `DID_ERROR`, so the midlayer is never left waiting.
///
/// # Invariants
///
/// `cmd` is a valid command owned by the driver, whose private area is at
/// least a [`CmdPriv`].
pub(crate) struct Command {
    cmd: NonNull<bindings::scsi_cmnd>,
}

// SAFETY: A command may be completed from any CPU.
unsafe impl Send for Command {}

impl Command {
    /// Takes a command handed to `queuecommand`.
    ///
    /// # Safety
    ///
    /// `cmd` must be a valid command the midlayer just passed to
    /// `queuecommand` of a host allocated from the glue's template.
    pub(super) unsafe fn from_queuecommand(cmd: *mut bindings::scsi_cmnd) -> Self {
        // SAFETY: The caller guarantees `cmd` is valid; the template's
        // `cmd_size` makes room for `CmdPriv` behind it.
        unsafe { Self::priv_of(cmd).write(CmdPriv { mapped: false }) };
        // INVARIANT: valid and owned by the driver from now on.
        Self {
            // SAFETY: `cmd` is valid, hence not null.
            cmd: unsafe { NonNull::new_unchecked(cmd) },
        }
    }

    /// # Safety
    ///
    /// `cmd` must be valid and allocated from the glue's template.
    unsafe fn priv_of(cmd: *mut bindings::scsi_cmnd) -> *mut CmdPriv {
        // SAFETY: `scsi_cmd_priv(cmd)` is `cmd + 1`, inside the allocation.
        unsafe { cmd.add(1).cast::<CmdPriv>() }
    }

    fn raw(&self) -> *mut bindings::scsi_cmnd {
        self.cmd.as_ptr()
    }

    fn cmd(&self) -> &bindings::scsi_cmnd {
        // SAFETY: By the type invariant the command is valid, and the driver
        // owns it, so the midlayer does not change it meanwhile.
        unsafe { self.cmd.as_ref() }
    }

    fn sdev(&self) -> &bindings::scsi_device {
        // SAFETY: A queued command always has a valid device, which outlives it.
        unsafe { &*self.cmd().device }
    }

    /// The CDB's first 16 bytes (the host's `max_cmd_len` is 16) and its
    /// length.
    pub(crate) fn cdb16(&self) -> (&[u8; 16], usize) {
        let cmd = self.cmd();
        let (head, _) = cmd
            .cmnd
            .split_first_chunk::<16>()
            .unwrap_or((&[0; 16], &[]));
        (head, usize::from(cmd.cmd_len))
    }

    /// The data buffer's length.
    pub(crate) fn bufflen(&self) -> u32 {
        self.cmd().sdb.length
    }

    /// The direction of the data transfer.
    pub(crate) fn direction(&self) -> DataDirection {
        match self.cmd().sc_data_direction {
            kbindings::dma_data_direction::DMA_FROM_DEVICE => DataDirection::FromDevice,
            kbindings::dma_data_direction::DMA_TO_DEVICE => DataDirection::ToDevice,
            kbindings::dma_data_direction::DMA_BIDIRECTIONAL => DataDirection::Bidirectional,
            _ => DataDirection::None,
        }
    }

    /// Channel of the target device.
    pub(crate) fn channel(&self) -> u32 {
        self.sdev().channel
    }

    /// Id of the target device.
    pub(crate) fn id(&self) -> u32 {
        self.sdev().id
    }

    /// LUN of the target device.
    pub(crate) fn lun(&self) -> u64 {
        self.sdev().lun
    }

    /// The block layer's tag of the command: unique among the host's
    /// outstanding commands, and below the host's `can_queue`.
    pub(crate) fn tag(&self) -> u32 {
        request_tag(self.raw())
    }

    /// Whether this is the last command of a batch (`SCMD_LAST`): when it is
    /// not, the midlayer calls [`super::HostOps::commit_rqs`] or queues more.
    pub(crate) fn is_last(&self) -> bool {
        self.cmd().flags & bindings::SCMD_LAST as c_int != 0
    }

    /// Maps the data buffer for DMA and returns its segments as
    /// (bus address, length); they stay mapped until the command completes.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the mapping failed (the caller should ask for a retry).
    pub(crate) fn map_data(&mut self) -> Result<Segments<'_>> {
        // SAFETY: The command is valid and not mapped yet: `CmdPriv::mapped`
        // is cleared when the driver receives it and set only here.
        let nseg = unsafe { bindings::scsi_dma_map(self.raw()) };
        let left = usize::try_from(nseg).map_err(|_| ENOMEM)?;
        // SAFETY: `CmdPriv` follows the command (type invariant).
        unsafe { (*Self::priv_of(self.raw())).mapped = left > 0 };
        // INVARIANT: `sgl` heads the command's scatter-gather table, which
        // `scsi_dma_map` just mapped into `left` DMA segments.
        Ok(Segments {
            // SAFETY: The command is valid (type invariant).
            sg: unsafe { (*self.raw()).sdb.table.sgl },
            left,
            _cmd: core::marker::PhantomData,
        })
    }

    /// Completes the command with `result` (host byte << 16 | SCSI status)
    /// and residual `resid`; `sense`, when given, is copied to the command's
    /// sense buffer, otherwise stale sense data is cleared.
    pub(crate) fn complete(self, result: u32, resid: u32, sense: Option<&[u8]>) {
        let this = ManuallyDrop::new(self);
        let raw = this.raw();
        // SAFETY: The driver owns the valid command (type invariant) until
        // `scsi_done`, after which it is not touched; `CmdPriv` follows it.
        unsafe {
            if (*Self::priv_of(raw)).mapped {
                bindings::scsi_dma_unmap(raw);
            }
            let buf = (*raw).sense_buffer;
            if !buf.is_null() {
                let size = bindings::SCSI_SENSE_BUFFERSIZE as usize;
                match sense {
                    Some(s) => {
                        let n = s.len().min(size);
                        core::ptr::copy_nonoverlapping(s.as_ptr(), buf, n);
                    }
                    // A sense buffer whose response code is 0 holds no sense.
                    None => buf.write(0),
                }
            }
            (*raw).resid_len = resid;
            (*raw).result = result as c_int;
            bindings::scsi_done(raw);
        }
    }

    /// Completes the command with host byte `host` and no data.
    pub(crate) fn fail(self, host: HostByte) {
        let resid = self.bufflen();
        self.complete(host << 16, resid, None);
    }

    /// Hands a refused command back to the midlayer, undoing the mapping.
    pub(super) fn return_to_midlayer(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: The driver still owns the command; the midlayer takes it
        // back when `queuecommand` returns busy.
        unsafe {
            let raw = this.raw();
            if (*Self::priv_of(raw)).mapped {
                bindings::scsi_dma_unmap(raw);
                (*Self::priv_of(raw)).mapped = false;
            }
        }
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        // A command must not be lost: the midlayer would wait for it until
        // its timeout. Complete it as an error instead.
        let cmd = Command { cmd: self.cmd };
        cmd.fail(bindings::scsi_host_status_DID_ERROR);
    }
}

/// A command the midlayer's error handler owns and passes to a handler.
///
/// # Invariants
///
/// `cmd` is valid for `'a`.
pub(crate) struct EhCommand<'a> {
    cmd: NonNull<bindings::scsi_cmnd>,
    _life: core::marker::PhantomData<&'a bindings::scsi_cmnd>,
}

impl EhCommand<'_> {
    /// # Safety
    ///
    /// `cmd` must be a valid command for the lifetime chosen by the caller.
    pub(super) unsafe fn from_raw(cmd: *mut bindings::scsi_cmnd) -> Self {
        Self {
            // SAFETY: Valid, hence not null.
            cmd: unsafe { NonNull::new_unchecked(cmd) },
            _life: core::marker::PhantomData,
        }
    }

    fn sdev(&self) -> &bindings::scsi_device {
        // SAFETY: A command passed to an error handler has a valid device.
        unsafe { &*self.cmd.as_ref().device }
    }

    /// The block layer's tag of the command.
    pub(crate) fn tag(&self) -> u32 {
        request_tag(self.cmd.as_ptr())
    }

    /// Channel of the target device.
    pub(crate) fn channel(&self) -> u32 {
        self.sdev().channel
    }

    /// Id of the target device.
    pub(crate) fn id(&self) -> u32 {
        self.sdev().id
    }
}

/// The tag of the block-layer request whose payload is `cmd`
/// (`scsi_cmd_to_rq(cmd)->tag`).
fn request_tag(cmd: *mut bindings::scsi_cmnd) -> u32 {
    // The command is the request's payload, so the request sits right before
    // it (`blk_mq_rq_from_pdu()`).
    let rq = cmd
        .cast::<u8>()
        .wrapping_sub(size_of::<kbindings::request>())
        .cast::<kbindings::request>();
    // SAFETY: Every command of a host is the payload of a valid block-layer
    // request (a KUnit test checks the layout).
    let tag = unsafe { (*rq).tag };
    // Tags are never negative for a started request.
    tag as u32
}

/// The DMA segments of a mapped command, as (bus address, length).
///
/// Only the first `nseg` entries that `scsi_dma_map` returned carry DMA
/// addresses (an IOMMU may merge segments, and the table's `nents` is not
/// updated), so the iterator stops there, and follows chained tables with
/// `sg_next` only between segments.
///
/// # Invariants
///
/// While `left > 0`, `sg` points to a mapped entry of the command's table.
pub(crate) struct Segments<'a> {
    sg: *mut kbindings::scatterlist,
    left: usize,
    _cmd: core::marker::PhantomData<&'a mut Command>,
}

impl Iterator for Segments<'_> {
    type Item = (u64, u32);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.sg.is_null() {
            return None;
        }
        // SAFETY: `sg` is a mapped entry (type invariant); the fields are
        // what the C `sg_dma_address()` and `sg_dma_len()` macros read.
        let segment = unsafe {
            #[cfg(CONFIG_NEED_SG_DMA_LENGTH)]
            let len = (*self.sg).dma_length;
            #[cfg(not(CONFIG_NEED_SG_DMA_LENGTH))]
            let len = (*self.sg).length;
            ((*self.sg).dma_address, len)
        };
        self.left -= 1;
        if self.left > 0 {
            // INVARIANT: there are more mapped entries, so `sg_next` (which
            // follows chain links) returns the next one.
            // SAFETY: `sg` is a valid entry of the table.
            self.sg = unsafe { kbindings::sg_next(self.sg) };
        }
        Some(segment)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // At most `left` (fewer if the table ended early), and at least the
        // current entry, if there is one.
        let now = usize::from(self.left > 0 && !self.sg.is_null());
        (now, Some(if now == 0 { 0 } else { self.left }))
    }
}

/// A place for one in-flight command, such as a ring context.
///
/// # Invariants
///
/// `cmd` is null or a command owned by this slot.
pub(crate) struct CommandSlot {
    cmd: Atomic<*mut bindings::scsi_cmnd>,
}

impl CommandSlot {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        Self {
            cmd: Atomic::new(core::ptr::null_mut()),
        }
    }

    /// Stores `cmd`; gives it back if the slot is occupied.
    pub(crate) fn put(&self, cmd: Command) -> Result<(), Command> {
        let raw = ManuallyDrop::new(cmd).raw();
        // INVARIANT: on success the slot owns the command.
        match self.cmd.cmpxchg(core::ptr::null_mut(), raw, Full) {
            Ok(_) => Ok(()),
            Err(_) => Err(Command {
                // SAFETY: `raw` came from a valid `Command`.
                cmd: unsafe { NonNull::new_unchecked(raw) },
            }),
        }
    }

    /// Takes the command out, if there is one.
    pub(crate) fn take(&self) -> Option<Command> {
        let raw = self.cmd.xchg(core::ptr::null_mut(), Full);
        // INVARIANT: the slot gives up ownership.
        NonNull::new(raw).map(|cmd| Command { cmd })
    }

    /// Whether a command is in the slot.
    pub(crate) fn is_busy(&self) -> bool {
        !self.cmd.load(Acquire).is_null()
    }

    /// Whether the slot holds `cmd`.
    pub(crate) fn holds(&self, cmd: &EhCommand<'_>) -> bool {
        self.cmd.load(Acquire) == cmd.cmd.as_ptr()
    }
}
