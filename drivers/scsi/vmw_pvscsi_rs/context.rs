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

impl ContextDma<'_> {
    /// Bus address of the SG list.
    pub(crate) fn sg_list_addr(&self) -> Result<u64> {
        Ok(io_project!(&self.chunk.sg, [try: self.off]).dma_address())
    }

    /// Writes element `j` of the SG list.
    pub(crate) fn write_sg(&self, j: usize, elem: SgElement) -> Result {
        io_project!(&self.chunk.sg, [try: self.off].elems[try: j]).copy_write(elem);
        Ok(())
    }

    /// Bus address of the sense buffer.
    pub(crate) fn sense_addr(&self) -> Result<u64> {
        Ok(io_project!(&self.chunk.sense, [try: self.off]).dma_address())
    }

    /// Invalidates the sense buffer before a new command: sense data whose
    /// response code (byte 0) is 0 is no sense data.
    pub(crate) fn clear_sense(&self) -> Result {
        io_write!(&self.chunk.sense, [try: self.off].data[try: 0], 0u8);
        Ok(())
    }

    /// Reads the sense buffer.
    pub(crate) fn read_sense(&self) -> Result<SenseBuf> {
        Ok(io_project!(&self.chunk.sense, [try: self.off]).copy_read())
    }
}
