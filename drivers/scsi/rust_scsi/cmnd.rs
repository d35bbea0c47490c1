// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! SCSI commands owned by a low-level driver.

use core::{
    iter::Take,
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::NonNull, //
};

use kernel::{
    bindings as kbindings,
    dma::DataDirection,
    prelude::*,
    scatterlist::{
        SGTable,
        SGTableIter, //
    },
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
    glue::{
        self,
        UNMAP_NONE, //
    },
    CommandResult,
    HostByte,
    ScsiDevice, //
};

/// The layer's per-command state, in the command's private area
/// (`scsi_cmd_priv`, `cmd_size` of the host template): its own flag, then
/// the driver's data.
#[repr(C)]
pub(super) struct CmdPriv<D> {
    /// What the data buffer's DMA mapping leaves to undo (`glue::dma_map`
    /// sets it, `glue::dma_unmap` reads it).
    unmap: u8,
    /// The driver's per-command data.
    data: D,
}

impl<D: Default> CmdPriv<D> {
    /// Initializes the private area of `cmd` (`init_cmd_priv`).
    ///
    /// # Safety
    ///
    /// `cmd` must be a valid command of a host whose template's `cmd_size` is
    /// that of `CmdPriv<D>`, and its private area must not hold a `CmdPriv`.
    pub(super) unsafe fn init(cmd: *mut bindings::scsi_cmnd) {
        // SAFETY: By the caller's guarantees the area is ours and unused.
        unsafe {
            priv_of::<D>(cmd).write(Self {
                unmap: UNMAP_NONE,
                data: D::default(),
            })
        };
    }

    /// Drops the private area of `cmd` (`exit_cmd_priv`).
    ///
    /// # Safety
    ///
    /// `cmd` must be a valid command whose private area [`CmdPriv::init`]
    /// initialized, and that nobody uses any more.
    pub(super) unsafe fn drop_in(cmd: *mut bindings::scsi_cmnd) {
        // SAFETY: By the caller's guarantees the area holds a `CmdPriv<D>`
        // that nobody uses.
        unsafe { core::ptr::drop_in_place(priv_of::<D>(cmd)) };
    }
}

/// The private area of `cmd` (`scsi_cmd_priv(cmd)`), as a `CmdPriv<D>`.
fn priv_of<D>(cmd: *mut bindings::scsi_cmnd) -> *mut CmdPriv<D> {
    glue::cmd_priv(cmd).cast::<CmdPriv<D>>()
}

/// A command the driver owns, between `queuecommand` and its completion.
///
/// Completing it ([`Command::complete`]) consumes it, so a command cannot be
/// completed twice. Dropping it without completing completes it with
/// `DID_ERROR`, so the midlayer is never left waiting.
///
/// `D` is the type of the driver's per-command data
/// ([`super::Operations::CmdData`]).
///
/// # Invariants
///
/// `cmd` is a valid command owned by the driver, whose private area holds an
/// initialized `CmdPriv<D>`.
pub struct Command<D = ()> {
    cmd: NonNull<bindings::scsi_cmnd>,
    _data: PhantomData<D>,
}

// SAFETY: A command may be completed from any CPU; its data is `Send`.
unsafe impl<D: Send> Send for Command<D> {}

impl<D> Command<D> {
    /// # Safety
    ///
    /// `cmd` must be valid, owned by the caller, and its private area must
    /// hold an initialized `CmdPriv<D>`.
    unsafe fn from_owned(cmd: NonNull<bindings::scsi_cmnd>) -> Self {
        // INVARIANT: by the caller's guarantees.
        Self {
            cmd,
            _data: PhantomData,
        }
    }

    /// Takes a command handed to `queuecommand`.
    ///
    /// # Safety
    ///
    /// `cmd` must be a valid command the midlayer just passed to
    /// `queuecommand` of a host whose template was built for per-command
    /// data `D`.
    pub(super) unsafe fn from_queuecommand(cmd: *mut bindings::scsi_cmnd) -> Self {
        // SAFETY: The caller guarantees `cmd` is valid; `init_cmd_priv`
        // initialized its `CmdPriv<D>` when the command was allocated.
        unsafe { (*priv_of::<D>(cmd)).unmap = UNMAP_NONE };
        // SAFETY: `cmd` is valid, hence not null; the midlayer passes its
        // ownership to the driver; its private area is initialized.
        unsafe { Self::from_owned(NonNull::new_unchecked(cmd)) }
    }

    fn priv_data(&self) -> *mut CmdPriv<D> {
        priv_of::<D>(self.raw())
    }

    /// The driver's data of this command.
    pub fn data(&self) -> &D {
        // SAFETY: The private area holds an initialized `CmdPriv<D>` (type
        // invariant), which only the owner of the command uses.
        unsafe { &(*self.priv_data()).data }
    }

    /// The driver's data of this command, to change.
    pub fn data_mut(&mut self) -> &mut D {
        // SAFETY: As in `data`; `&mut self` makes the access exclusive.
        unsafe { &mut (*self.priv_data()).data }
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

    /// The device (LUN) the command is for.
    pub fn device(&self) -> &ScsiDevice {
        // SAFETY: A queued command always has a valid device, which outlives it.
        unsafe { ScsiDevice::from_raw(self.cmd().device) }
    }

    /// The CDB: `cmd_len` bytes, at most the host's `max_cmd_len`.
    pub fn cdb(&self) -> &[u8] {
        let cmd = self.cmd();
        let len = usize::from(cmd.cmd_len).min(cmd.cmnd.len());
        &cmd.cmnd[..len]
    }

    /// The CDB's first `N` bytes, zero after [`Command::cdb`]'s: the
    /// midlayer clears its whole CDB buffer (`scsi_cmnd.cmnd`, 32 bytes; a
    /// larger `N` does not build) before the command is built
    /// (`scsi_prepare_cmd()`, `scsi_initialize_rq()` for passthrough, the
    /// error handler's `scsi_eh_prep_cmnd()`). For a descriptor with a
    /// fixed-size CDB field: no copy whose length depends on the command.
    pub fn cdb_padded<const N: usize>(&self) -> &[u8; N] {
        prefix(&self.cmd().cmnd)
    }

    /// The data buffer's length.
    pub fn bufflen(&self) -> u32 {
        self.cmd().sdb.length
    }

    /// The direction of the data transfer.
    pub fn direction(&self) -> DataDirection {
        match self.cmd().sc_data_direction {
            kbindings::dma_data_direction::DMA_FROM_DEVICE => DataDirection::FromDevice,
            kbindings::dma_data_direction::DMA_TO_DEVICE => DataDirection::ToDevice,
            kbindings::dma_data_direction::DMA_BIDIRECTIONAL => DataDirection::Bidirectional,
            _ => DataDirection::None,
        }
    }

    /// Channel of the target device.
    pub fn channel(&self) -> u32 {
        self.sdev().channel
    }

    /// Id of the target device.
    pub fn id(&self) -> u32 {
        self.sdev().id
    }

    /// LUN of the target device.
    pub fn lun(&self) -> u64 {
        self.sdev().lun
    }

    /// The block layer's tag of the command: unique among the host's
    /// outstanding commands, and below the host's `can_queue`.
    pub fn tag(&self) -> u32 {
        request_tag(self.raw())
    }

    /// Whether the command was submitted for polled completion
    /// (`REQ_POLLED`): it came through a poll queue, and its submitter reaps
    /// it with [`super::Operations::mq_poll`] rather than waiting for an
    /// interrupt.
    ///
    /// A command the error handler (or the reset ioctl) sends on a
    /// request it borrowed, such as a TEST UNIT READY on the request of a
    /// polled READ that timed out, is never polled: `scsi_send_eh_cmnd`
    /// waits for it on a completion, and nobody calls `mq_poll` for it,
    /// although the request's `REQ_POLLED` is still set.
    pub fn is_polled(&self) -> bool {
        let raw = self.raw();
        // SAFETY: Every command of a host is the payload of a valid
        // block-layer request, whose flags are fixed while it is started;
        // `submitter` is set before the command is queued and not written
        // while the driver owns it.
        let (flags, submitter) = unsafe { ((*request_of(raw)).cmd_flags, (*raw).submitter) };
        flags & (1 << kbindings::req_flag_bits___REQ_POLLED) != 0
            && submitter == bindings::scsi_cmnd_submitter_SUBMITTED_BY_BLOCK_LAYER
    }

    /// Whether this is the last command of a batch (`SCMD_LAST`): when it is
    /// not, the midlayer calls [`super::Operations::commit_rqs`] or queues
    /// more.
    pub fn is_last(&self) -> bool {
        self.cmd().flags & bindings::SCMD_LAST as c_int != 0
    }

    /// Maps the data buffer for DMA; it stays mapped until the command
    /// completes.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the mapping failed (the caller should ask for a retry).
    ///
    /// A buffer of one segment is mapped as one range, which costs the DMA
    /// API about half as much (see `glue::dma_map`), and its bus
    /// address comes back directly, without a walk of the table.
    pub fn map_data(&mut self) -> Result<Mapped<'_>> {
        let priv_data = self.priv_data();
        let mut addr: kbindings::dma_addr_t = 0;
        // SAFETY: The command is valid and not mapped yet: `CmdPriv::unmap`
        // is cleared when the driver receives it and set only here;
        // `CmdPriv` follows the command (type invariant), so `unmap` is
        // writable; `addr` is a local.
        let nseg = unsafe { glue::dma_map(self.raw(), &mut (*priv_data).unmap, &mut addr) };
        Ok(match nseg {
            0 => Mapped::None,
            // `glue::dma_map` stored the one segment's address.
            1 => Mapped::One(addr),
            n => {
                let nseg = usize::try_from(n).map_err(|_| ENOMEM)?;
                // SAFETY: The command is valid and owned (type invariant):
                // its table lives as long as the borrow of `self`, and nobody
                // else changes it while the driver owns the command.
                let table = unsafe { SGTable::from_raw(&raw mut (*self.raw()).sdb.table) };
                Mapped::Many(Segments(table.iter().take(nseg)))
            }
        })
    }

    /// Copies `buf` into the data buffer (a read's data, for a host that
    /// moves data with the CPU); returns the bytes copied, at most
    /// [`Command::bufflen`].
    pub fn copy_from_buffer(&mut self, buf: &[u8]) -> usize {
        let len = buf.len();
        let table = &self.cmd().sdb.table;
        // SAFETY: The command is valid and owned (type invariant), so its
        // scatter-gather table is (`scsi_sg_copy_from_buffer()`); `buf` is
        // readable for `len` bytes, and the copy writes only the table's
        // pages.
        unsafe { kbindings::sg_copy_from_buffer(table.sgl, table.nents, buf.as_ptr().cast(), len) }
    }

    /// Copies the data buffer into `buf` (a write's data, for a host that
    /// moves data with the CPU); returns the bytes copied.
    pub fn copy_to_buffer(&self, buf: &mut [u8]) -> usize {
        let len = buf.len();
        let table = &self.cmd().sdb.table;
        // SAFETY: As above; `buf` is writable for `len` bytes.
        unsafe {
            kbindings::sg_copy_to_buffer(table.sgl, table.nents, buf.as_mut_ptr().cast(), len)
        }
    }

    /// Completes the command with `result` and residual `resid`; `sense`,
    /// when given, is copied to the command's sense buffer.
    ///
    /// Without `sense` the buffer is not touched: the midlayer zeroes it (and
    /// the residual) before every dispatch, from the block layer
    /// (`scsi_queue_rq()`) and from the error handler
    /// (`scsi_eh_prep_cmnd()`), so a clean completion stores nothing there.
    pub fn complete(self, result: CommandResult, resid: u32, sense: Option<&[u8]>) {
        let this = ManuallyDrop::new(self);
        let raw = this.raw();
        let priv_data = this.priv_data();
        // SAFETY: The driver owns the valid command (type invariant) until
        // `scsi_done`, after which it is not touched; `CmdPriv` follows it.
        unsafe {
            if (*priv_data).unmap != UNMAP_NONE {
                glue::dma_unmap(raw, (*priv_data).unmap);
            }
            if let Some(s) = sense {
                let buf = (*raw).sense_buffer;
                if !buf.is_null() {
                    let n = s.len().min(bindings::SCSI_SENSE_BUFFERSIZE as usize);
                    core::ptr::copy_nonoverlapping(s.as_ptr(), buf, n);
                }
            }
            (*raw).resid_len = resid;
            (*raw).result = result.raw() as c_int;
            bindings::scsi_done(raw);
        }
    }

    /// Completes the command with host byte `host` and no data.
    pub fn fail(self, host: HostByte) {
        let resid = self.bufflen();
        self.complete(CommandResult::host(host), resid, None);
    }

    /// Hands a refused command back to the midlayer, undoing the mapping.
    pub(super) fn return_to_midlayer(self) {
        let this = ManuallyDrop::new(self);
        let priv_data = this.priv_data();
        // SAFETY: The driver still owns the command; the midlayer takes it
        // back when `queuecommand` returns busy.
        unsafe {
            if (*priv_data).unmap != UNMAP_NONE {
                glue::dma_unmap(this.raw(), (*priv_data).unmap);
                (*priv_data).unmap = UNMAP_NONE;
            }
        }
    }
}

impl<D> Drop for Command<D> {
    fn drop(&mut self) {
        // A command must not be lost: the midlayer would wait for it until
        // its timeout. Complete it as an error instead.
        // SAFETY: `self` owns the command, and is forgotten by `drop`'s
        // caller; the new owner completes it.
        let cmd = unsafe { Command::<D>::from_owned(self.cmd) };
        cmd.fail(HostByte::ERROR);
    }
}

/// A command the midlayer's error handler owns and passes to a handler.
///
/// # Invariants
///
/// `cmd` is valid for `'a`.
pub struct EhCommand<'a> {
    cmd: NonNull<bindings::scsi_cmnd>,
    _life: PhantomData<&'a bindings::scsi_cmnd>,
}

impl EhCommand<'_> {
    /// # Safety
    ///
    /// `cmd` must be a valid command for the lifetime chosen by the caller.
    pub(super) unsafe fn from_raw(cmd: *mut bindings::scsi_cmnd) -> Self {
        Self {
            // SAFETY: Valid, hence not null.
            cmd: unsafe { NonNull::new_unchecked(cmd) },
            _life: PhantomData,
        }
    }

    fn sdev(&self) -> &bindings::scsi_device {
        // SAFETY: A command passed to an error handler has a valid device.
        unsafe { &*self.cmd.as_ref().device }
    }

    /// The block layer's tag of the command.
    pub fn tag(&self) -> u32 {
        request_tag(self.cmd.as_ptr())
    }

    /// Channel of the target device.
    pub fn channel(&self) -> u32 {
        self.sdev().channel
    }

    /// Id of the target device.
    pub fn id(&self) -> u32 {
        self.sdev().id
    }

    /// The device (LUN) the command is for.
    pub fn device(&self) -> &ScsiDevice {
        // SAFETY: A command passed to an error handler has a valid device.
        unsafe { ScsiDevice::from_raw(self.cmd.as_ref().device) }
    }
}

/// The first `N` bytes of `buf`; does not build if `buf` is shorter.
fn prefix<const L: usize, const N: usize>(buf: &[u8; L]) -> &[u8; N] {
    build_assert!(N <= L);
    // SAFETY: `N <= L`, so `buf`'s first `N` bytes are in it, and `[u8; N]`
    // has the alignment of `u8`.
    unsafe { &*buf.as_ptr().cast::<[u8; N]>() }
}

/// The block-layer request whose payload is `cmd` (`scsi_cmd_to_rq()`).
fn request_of(cmd: *mut bindings::scsi_cmnd) -> *const kbindings::request {
    // SAFETY: Every command of a host is the payload (PDU) of a block-layer
    // request; `blk_mq_rq_from_pdu()` only computes the address.
    unsafe { kbindings::blk_mq_rq_from_pdu(cmd.cast()) }
}

/// The tag of the block-layer request whose payload is `cmd`
/// (`scsi_cmd_to_rq(cmd)->tag`).
fn request_tag(cmd: *mut bindings::scsi_cmnd) -> u32 {
    // SAFETY: Every command of a host is the payload of a valid block-layer
    // request.
    let tag = unsafe { (*request_of(cmd)).tag };
    // Tags are never negative for a started request.
    tag as u32
}

/// A command's data buffer, mapped for DMA ([`Command::map_data`]).
pub enum Mapped<'a> {
    /// No data.
    None,
    /// One DMA segment, the whole buffer ([`Command::bufflen`] bytes): its
    /// bus address.
    One(u64),
    /// Two or more DMA segments.
    Many(Segments<'a>),
}

/// The DMA segments of a mapped command, as (bus address, length).
///
/// Only the first `nseg` entries that `glue::dma_map` returned carry DMA
/// addresses (an IOMMU may merge segments, and the table's `nents` is not
/// updated), so the iteration over the command's [`SGTable`] stops there.
pub struct Segments<'a>(Take<SGTableIter<'a>>);

impl Iterator for Segments<'_> {
    type Item = (u64, u32);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|sg| {
            // `sg_dma_len()` is an `unsigned int`: the conversion is lossless.
            let len = u32::try_from(sg.dma_len()).unwrap_or(u32::MAX);
            (sg.dma_address(), len)
        })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

/// A place for one in-flight command, such as a ring context.
///
/// # Invariants
///
/// `cmd` is null or a command owned by this slot, whose private area holds a
/// `CmdPriv<D>`.
pub struct CommandSlot<D = ()> {
    cmd: Atomic<*mut bindings::scsi_cmnd>,
    _data: PhantomData<D>,
}

// SAFETY: The slot hands its command to whichever thread takes it; the
// command's data is `Send`.
unsafe impl<D: Send> Send for CommandSlot<D> {}
// SAFETY: Every method takes or stores the command with one atomic operation.
unsafe impl<D: Send> Sync for CommandSlot<D> {}

impl<D> Default for CommandSlot<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D> CommandSlot<D> {
    /// An empty slot.
    pub fn new() -> Self {
        Self {
            cmd: Atomic::new(core::ptr::null_mut()),
            _data: PhantomData,
        }
    }

    /// Stores `cmd`; gives it back if the slot is occupied.
    pub fn put(&self, cmd: Command<D>) -> Result<(), Command<D>> {
        let raw = ManuallyDrop::new(cmd).cmd;
        // INVARIANT: on success the slot owns the command.
        match self.cmd.cmpxchg(core::ptr::null_mut(), raw.as_ptr(), Full) {
            Ok(_) => Ok(()),
            // SAFETY: `raw` came from a `Command<D>` we still own.
            Err(_) => Err(unsafe { Command::from_owned(raw) }),
        }
    }

    /// Takes the command out, if there is one.
    pub fn take(&self) -> Option<Command<D>> {
        let raw = self.cmd.xchg(core::ptr::null_mut(), Full);
        // INVARIANT: the slot gives up ownership.
        // SAFETY: A non-null pointer in the slot is a command it owned, with
        // a `CmdPriv<D>` (type invariant).
        NonNull::new(raw).map(|cmd| unsafe { Command::from_owned(cmd) })
    }

    /// Whether a command is in the slot.
    pub fn is_busy(&self) -> bool {
        !self.cmd.load(Acquire).is_null()
    }

    /// Whether the slot holds `cmd`.
    pub fn holds(&self, cmd: &EhCommand<'_>) -> bool {
        self.cmd.load(Acquire) == cmd.cmd.as_ptr()
    }
}
