// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! A small, safe layer over the SCSI midlayer.
//!
//! All `unsafe` code that touches the module-local SCSI bindings lives here;
//! driver logic above it is safe Rust.

use super::bindings;
use kernel::prelude::*;

/// Layout of SCSI midlayer structures as the C compiler laid them out.
pub(crate) type CLayout = bindings::pvscsi_glue_layout;

/// Returns the layout of the SCSI midlayer structures as the C glue sees them.
///
/// The unit tests compare it with the Rust bindings, which proves that the
/// module-local bindgen step used the same configuration as the C compiler.
pub(crate) fn c_layout() -> CLayout {
    let mut layout = CLayout::default();
    // SAFETY: `layout` is a valid, writable `pvscsi_glue_layout`, and the glue
    // function only stores into its fields.
    unsafe { bindings::pvscsi_glue_get_layout(&mut layout) };
    layout
}

#[kunit_tests(vmw_pvscsi_rs_bindings)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn scsi_cmnd_layout_matches_c() {
        let c = c_layout();
        assert_eq!(size_of::<bindings::scsi_cmnd>(), c.scsi_cmnd_size);
        assert_eq!(offset_of!(bindings::scsi_cmnd, sdb), c.scsi_cmnd_sdb);
        assert_eq!(offset_of!(bindings::scsi_cmnd, result), c.scsi_cmnd_result);
        assert_eq!(
            offset_of!(bindings::scsi_cmnd, sense_buffer),
            c.scsi_cmnd_sense_buffer
        );
    }

    #[test]
    fn scsi_host_and_device_layout_matches_c() {
        let c = c_layout();
        assert_eq!(size_of::<bindings::Scsi_Host>(), c.scsi_host_size);
        assert_eq!(
            offset_of!(bindings::Scsi_Host, can_queue),
            c.scsi_host_can_queue
        );
        assert_eq!(
            offset_of!(bindings::Scsi_Host, hostdata),
            c.scsi_host_hostdata
        );
        assert_eq!(size_of::<bindings::scsi_device>(), c.scsi_device_size);
        assert_eq!(offset_of!(bindings::scsi_device, id), c.scsi_device_id);
    }

    #[test]
    fn scsi_constants() {
        assert_eq!(bindings::SCSI_SENSE_BUFFERSIZE, 96);
        assert_eq!(bindings::sam_status_SAM_STAT_CHECK_CONDITION, 0x02);
    }
}
