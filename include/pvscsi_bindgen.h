/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input of the module-local bindgen step (see drivers/scsi/vmw_pvscsi_rs/Kbuild):
 * the SCSI midlayer headers the driver uses and the glue interface.
 */
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "pvscsi_glue.h"
