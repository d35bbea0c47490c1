// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Per-context resources, preallocated at probe: an SG list and a sense
//! buffer in DMA-coherent memory, and the slot holding the in-flight command.
//!
//! Context `i` serves the command whose block-layer tag is `i` (its ring
//! cookie is `i + 1`, see [`super::request::context_index`]), so the hot path
//! neither allocates nor creates per-command streaming mappings for these.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    io::{
        io_project,
        io_write,
        Io, //
    },
    prelude::*, //
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

/// The contexts of an adapter.
pub(crate) struct Contexts {
    slots: KVec<CommandSlot>,
    chunks: KVec<Chunk>,
}

impl Contexts {
    /// Allocates `count` contexts.
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub(crate) fn new(dev: &Device<Bound>, count: usize) -> Result<Self> {
        let mut slots = KVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            slots.push(CommandSlot::new(), GFP_KERNEL)?;
        }
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
        Ok(Self { slots, chunks })
    }

    /// Number of contexts.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The in-flight slot of context `i`.
    pub(crate) fn slot(&self, i: usize) -> Option<&CommandSlot> {
        self.slots.get(i)
    }

    /// Every slot.
    pub(crate) fn slots(&self) -> &[CommandSlot] {
        &self.slots
    }

    fn chunk(&self, i: usize) -> Result<(&Chunk, usize)> {
        let chunk = self.chunks.get(i / CHUNK).ok_or(ERANGE)?;
        Ok((chunk, i % CHUNK))
    }

    /// Bus address of context `i`'s SG list.
    pub(crate) fn sg_list_addr(&self, i: usize) -> Result<u64> {
        let (chunk, off) = self.chunk(i)?;
        Ok(io_project!(&chunk.sg, [try: off]).dma_address())
    }

    /// Writes element `j` of context `i`'s SG list.
    pub(crate) fn write_sg(&self, i: usize, j: usize, elem: SgElement) -> Result {
        let (chunk, off) = self.chunk(i)?;
        io_project!(&chunk.sg, [try: off].elems[try: j]).copy_write(elem);
        Ok(())
    }

    /// Bus address of context `i`'s sense buffer.
    pub(crate) fn sense_addr(&self, i: usize) -> Result<u64> {
        let (chunk, off) = self.chunk(i)?;
        Ok(io_project!(&chunk.sense, [try: off]).dma_address())
    }

    /// Invalidates context `i`'s sense buffer before a new command: sense data
    /// whose response code (byte 0) is 0 is no sense data.
    pub(crate) fn clear_sense(&self, i: usize) -> Result {
        let (chunk, off) = self.chunk(i)?;
        io_write!(&chunk.sense, [try: off].data[try: 0], 0u8);
        Ok(())
    }

    /// Reads context `i`'s sense buffer.
    pub(crate) fn read_sense(&self, i: usize) -> Result<SenseBuf> {
        let (chunk, off) = self.chunk(i)?;
        Ok(io_project!(&chunk.sense, [try: off]).copy_read())
    }
}
