// SPDX-License-Identifier: GPL-2.0
/*
 * The C helpers of the Rust SCSI host layer (drivers/scsi/rust_scsi/),
 * compiled into this module: Kbuild builds objects from this directory's
 * sources only.
 */
#include "rust_scsi_helpers.c"
