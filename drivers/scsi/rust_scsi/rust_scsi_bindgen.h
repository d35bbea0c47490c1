/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input of the bindgen step of the Rust SCSI host layer (rust_scsi.mk): the
 * SCSI midlayer headers the layer uses and its C helpers' interface.
 */
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "rust_scsi.h"
