// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The rings in DMA-coherent memory: the rings-state page, the request and
//! completion rings, and the message ring.
//!
//! Every ring is a power of two of 4 KiB pages, allocated as one coherent
//! (page-aligned, bus-contiguous) block; the device gets each page's number.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    io::io_project,
    prelude::*,
    sync::Arc, //
};

use super::{
    abi::{
        CmpDesc,
        ConfigPageController,
        MsgDesc,
        ReqDesc,
        RingsState,
        SetupMsgRing,
        SetupRings,
        SgElement,
        CMP_ENTRIES_PER_PAGE,
        MAX_MSG_RING_PAGES,
        MAX_RING_PAGES,
        MSG_ENTRIES_PER_PAGE,
        PVSCSI_PAGE_SIZE,
        REQ_ENTRIES_PER_PAGE, //
    },
    request::{
        self,
        Request, //
    },
    ring_index::Ring, //
};

/// Marks device-shared types as plain bytes for `Coherent` allocations.
macro_rules! plain_bytes {
    ($($t:ty),*) => {$(
        // SAFETY: `#[repr(C)]` with no padding and only integer fields (the
        // zerocopy `IntoBytes`/`FromBytes` derives on it check both), so any
        // bit pattern is valid and every byte is initialized.
        unsafe impl kernel::transmute::FromBytes for $t {}
        // SAFETY: As above.
        unsafe impl kernel::transmute::AsBytes for $t {}
    )*};
}
pub(crate) use plain_bytes;

plain_bytes!(
    RingsState,
    ReqDesc,
    CmpDesc,
    MsgDesc,
    SgElement,
    ConfigPageController
);

/// Page numbers (bus address / 4 KiB) of `pages` consecutive pages at `base`.
fn page_numbers(base: u64, pages: u32, out: &mut [u64]) {
    for (i, ppn) in out.iter_mut().take(pages as usize).enumerate() {
        *ppn = (base + (i * PVSCSI_PAGE_SIZE) as u64) >> 12;
    }
}

/// The request and completion rings and the rings-state page.
pub(crate) struct Rings {
    /// The rings-state page (shared with the message work).
    pub(crate) state: Arc<Coherent<RingsState>>,
    /// The request ring.
    pub(crate) req: Coherent<[ReqDesc]>,
    /// The completion ring.
    pub(crate) cmp: Coherent<[CmpDesc]>,
    /// Geometry of the request ring.
    pub(crate) req_ring: Ring,
    /// Geometry of the completion ring.
    pub(crate) cmp_ring: Ring,
    /// Pages in each of the two rings.
    pub(crate) pages: u32,
}

impl Rings {
    /// Allocates rings of `pages` pages each, zeroed.
    ///
    /// # Errors
    ///
    /// `EINVAL` unless `pages` is a power of two up to 32; `ENOMEM`.
    pub(crate) fn new(dev: &Device<Bound>, pages: u32) -> Result<Self> {
        if pages > MAX_RING_PAGES {
            return Err(EINVAL);
        }
        let req_ring = Ring::new(pages, REQ_ENTRIES_PER_PAGE as u32).ok_or(EINVAL)?;
        let cmp_ring = Ring::new(pages, CMP_ENTRIES_PER_PAGE as u32).ok_or(EINVAL)?;
        Ok(Self {
            state: Arc::new(Coherent::zeroed(dev, GFP_KERNEL)?, GFP_KERNEL)?,
            req: Coherent::zeroed_slice(dev, req_ring.entries() as usize, GFP_KERNEL)?,
            cmp: Coherent::zeroed_slice(dev, cmp_ring.entries() as usize, GFP_KERNEL)?,
            req_ring,
            cmp_ring,
            pages,
        })
    }

    /// Fills request descriptor `slot` for `r`, which must be the slot of
    /// the next producer index (not yet published).
    ///
    /// # Errors
    ///
    /// `ERANGE` if `slot` is outside the ring.
    #[inline(always)]
    pub(crate) fn write_request(&self, slot: usize, r: &Request<'_>) -> Result {
        let view = io_project!(&self.req, [try: slot]);
        // SAFETY: The device only reads request slots between its consumer
        // index and the published producer index; the slot of the next,
        // unpublished producer index is the driver's alone, and the submit
        // lock serializes the driver's writers. Plain stores let the
        // descriptor be written in place; the DMA write barrier before the
        // producer index orders them for the device.
        request::fill(unsafe { view.as_mut() }, r);
        Ok(())
    }

    /// The data of `SETUP_RINGS` for these rings.
    pub(crate) fn setup_desc(&self) -> SetupRings {
        let mut desc = SetupRings {
            req_ring_num_pages: self.pages,
            cmp_ring_num_pages: self.pages,
            rings_state_ppn: self.state.dma_address() >> 12,
            req_ring_ppns: [0; MAX_RING_PAGES as usize],
            cmp_ring_ppns: [0; MAX_RING_PAGES as usize],
        };
        page_numbers(self.req.dma_address(), self.pages, &mut desc.req_ring_ppns);
        page_numbers(self.cmp.dma_address(), self.pages, &mut desc.cmp_ring_ppns);
        desc
    }
}

/// The message ring.
pub(crate) struct MsgRing {
    /// The descriptors.
    pub(crate) ring: Coherent<[MsgDesc]>,
    /// Its geometry.
    pub(crate) geometry: Ring,
    /// Its pages.
    pub(crate) pages: u32,
}

impl MsgRing {
    /// Allocates a message ring of `pages` pages, zeroed.
    ///
    /// # Errors
    ///
    /// `EINVAL` unless `pages` is a power of two up to 16; `ENOMEM`.
    pub(crate) fn new(dev: &Device<Bound>, pages: u32) -> Result<Self> {
        if pages > MAX_MSG_RING_PAGES {
            return Err(EINVAL);
        }
        let geometry = Ring::new(pages, MSG_ENTRIES_PER_PAGE as u32).ok_or(EINVAL)?;
        Ok(Self {
            ring: Coherent::zeroed_slice(dev, geometry.entries() as usize, GFP_KERNEL)?,
            geometry,
            pages,
        })
    }

    /// The data of `SETUP_MSG_RING` for this ring.
    pub(crate) fn setup_desc(&self) -> SetupMsgRing {
        let mut desc = SetupMsgRing {
            num_pages: self.pages,
            _pad: 0,
            ring_ppns: [0; MAX_MSG_RING_PAGES as usize],
        };
        page_numbers(self.ring.dma_address(), self.pages, &mut desc.ring_ppns);
        desc
    }
}
