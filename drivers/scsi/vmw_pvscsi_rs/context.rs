// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Per-context resources, preallocated at probe: an SG list and a sense
//! buffer in DMA-coherent memory, and the slot holding the in-flight command.
//!
//! Context `i` serves the command whose block-layer tag is `i` (its ring
//! cookie is `i + 1` plus a generation, see [`super::request::context_of`]),
//! so the hot path neither allocates nor creates per-command streaming
//! mappings for these.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::{
        Coherent,
        CoherentView, //
    },
    io::{
        io_project,
        io_write,
        Io, //
    },
    prelude::*,
    sync::atomic::{
        ordering::Relaxed,
        Atomic, //
    }, //
};
use zerocopy_derive::{
    FromBytes,
    Immutable,
    IntoBytes, //
};

use super::{
    abi::{
        SgElement,
        MAX_SG_ENTRIES, //
    },
    request::Stamp,
    rings::plain_bytes,
    scsi::CommandSlot,
    status::SENSE_BUFFER_SIZE, //
};

/// One context's SG list: 2 KiB, so two lists share a page and none crosses
/// a page boundary.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct SgList {
    /// The elements.
    pub(crate) elems: [SgElement; MAX_SG_ENTRIES],
}

/// One context's sense buffer.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
pub(crate) struct SenseBuf {
    /// Sense data, as the device wrote it.
    pub(crate) data: [u8; SENSE_BUFFER_SIZE],
}

plain_bytes!(SgList, SenseBuf);

/// Contexts per coherent allocation (64 KiB of SG lists, 3 KiB of sense).
const CHUNK: usize = 32;

/// A chunk of [`CHUNK`] contexts' DMA memory.
struct Chunk {
    sg: Coherent<[SgList]>,
    sense: Coherent<[SenseBuf]>,
}

/// One context: the slot of its in-flight command and the bus addresses of
/// its SG list and sense buffer, computed once at probe.
///
/// `stamp` is written by the submission path only, for the command about to
/// enter the slot (the block layer never gives one tag to two commands at
/// once), before the slot is filled; it is read under the adapter's
/// `complete` lock, where every command leaves its slot, so while the slot is
/// seen busy it describes the command in it.
pub(crate) struct Context {
    /// The in-flight command.
    pub(crate) slot: CommandSlot,
    /// What the submission path records of the command in the slot, packed
    /// ([`Stamp`]) so that a submission makes one atomic store, not three.
    pub(crate) stamp: Atomic<u64>,
    /// Bus address of the SG list.
    pub(crate) sg_list_addr: u64,
    /// Bus address of the sense buffer.
    pub(crate) sense_addr: u64,
}

/// The key of channel `bus`, target `target` in a [`Stamp`].
pub(crate) fn target_key(bus: u8, target: u8) -> u16 {
    (u16::from(bus) << 8) | u16::from(target)
}

impl Context {
    /// The stamp of the command in the slot (or of the last one). The load
    /// is relaxed: a reader that took the command out of the slot, or saw it
    /// there, is ordered after the store by the slot's own atomics.
    #[inline(always)]
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp::unpack(self.stamp.load(Relaxed))
    }
}

/// The contexts of an adapter.
pub(crate) struct Contexts {
    ctxs: KVec<Context>,
    chunks: KVec<Chunk>,
}

impl Contexts {
    /// Allocates `count` contexts.
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub(crate) fn new(dev: &Device<Bound>, count: usize) -> Result<Self> {
        let mut chunks = KVec::new();
        for _ in 0..count.div_ceil(CHUNK) {
            chunks.push(
                Chunk {
                    sg: Coherent::zeroed_slice(dev, CHUNK, GFP_KERNEL)?,
                    sense: Coherent::zeroed_slice(dev, CHUNK, GFP_KERNEL)?,
                },
                GFP_KERNEL,
            )?;
        }
        let mut ctxs = KVec::with_capacity(count, GFP_KERNEL)?;
        for i in 0..count {
            let chunk = chunks.get(i / CHUNK).ok_or(EINVAL)?;
            let off = i % CHUNK;
            ctxs.push(
                Context {
                    slot: CommandSlot::new(),
                    stamp: Atomic::new(0),
                    sg_list_addr: io_project!(&chunk.sg, [try: off]).dma_address(),
                    sense_addr: io_project!(&chunk.sense, [try: off]).dma_address(),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self { ctxs, chunks })
    }

    /// Number of contexts.
    pub(crate) fn len(&self) -> usize {
        self.ctxs.len()
    }

    /// Context `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&Context> {
        self.ctxs.get(i)
    }

    /// Every context.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Context> {
        self.ctxs.iter()
    }

    /// Invalidates every context's sense buffer, for when commands ended
    /// without a completion (an adapter reset) and may have left sense data.
    pub(crate) fn clear_all_sense(&self) {
        for i in 0..self.len() {
            if let Some(dma) = self.dma(i) {
                let _ = dma.clear_sense();
            }
        }
    }

    /// The DMA memory of context `i`.
    pub(crate) fn dma(&self, i: usize) -> Option<ContextDma<'_>> {
        let chunk = self.chunks.get(i / CHUNK)?;
        Some(ContextDma {
            chunk,
            off: i % CHUNK,
        })
    }
}

/// One context's SG list and sense buffer.
pub(crate) struct ContextDma<'a> {
    chunk: &'a Chunk,
    off: usize,
}

impl<'a> ContextDma<'a> {
    /// The SG list, projected once for writing all of a command's elements.
    pub(crate) fn sg_list(&self) -> Result<SgListView<'a>> {
        Ok(SgListView(io_project!(&self.chunk.sg, [try: self.off])))
    }

    /// Reads the sense buffer.
    pub(crate) fn read_sense(&self) -> Result<SenseBuf> {
        Ok(io_project!(&self.chunk.sense, [try: self.off]).copy_read())
    }

    /// Invalidates the sense buffer after its data was used, so that a later
    /// command cannot see it: sense data whose response code (byte 0) is 0 is
    /// no sense data.
    pub(crate) fn clear_sense(&self) -> Result {
        io_write!(&self.chunk.sense, [try: self.off].data[try: 0], 0u8);
        Ok(())
    }
}

/// One context's SG list ([`ContextDma::sg_list`]).
pub(crate) struct SgListView<'a>(CoherentView<'a, SgList>);

impl SgListView<'_> {
    /// Writes element `j`, field by field: straight from registers, where
    /// a copy of the whole element would go through the stack.
    #[inline(always)]
    pub(crate) fn write(&self, j: usize, elem: SgElement) -> Result {
        let e = io_project!(self.0, .elems[try: j]);
        io_write!(e, .addr, elem.addr);
        io_write!(e, .length, elem.length);
        io_write!(e, .flags, elem.flags);
        Ok(())
    }
}
