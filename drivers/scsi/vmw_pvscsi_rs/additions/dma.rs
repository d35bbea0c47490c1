// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The DMA mask of a device being probed.
//!
//! Upstream, this is a safe `dma_set_mask_and_coherent` for a device in the
//! `Core` context (probe), where no DMA runs concurrently.

use kernel::{
    device::Core,
    dma::{
        Device as _,
        DmaMask, //
    },
    pci,
    prelude::*, //
};

/// Sets a 64-bit DMA mask, or a 32-bit one if the platform refuses 64 bits;
/// returns the number of bits.
///
/// # Errors
///
/// `EIO` if neither mask can be set.
pub(crate) fn set_dma_mask(pdev: &pci::Device<Core<'_>>) -> Result<u32> {
    // SAFETY: The device is being probed: no DMA allocation or mapping runs
    // concurrently.
    if unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<64>()) }.is_ok() {
        return Ok(64);
    }
    // SAFETY: As above.
    unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<32>()) }.map_err(|_| EIO)?;
    Ok(32)
}
