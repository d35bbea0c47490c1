// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the Rust PVSCSI driver: the parts of the SCSI midlayer interface
 * that are macros or static inlines, and that Rust therefore cannot reach.
 *
 * Copyright (C) 2026 The vmw_pvscsi_rs authors.
 */

#include <linux/stddef.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "pvscsi_glue.h"

void pvscsi_glue_get_layout(struct pvscsi_glue_layout *layout)
{
	layout->scsi_cmnd_size = sizeof(struct scsi_cmnd);
	layout->scsi_cmnd_sdb = offsetof(struct scsi_cmnd, sdb);
	layout->scsi_cmnd_result = offsetof(struct scsi_cmnd, result);
	layout->scsi_cmnd_sense_buffer = offsetof(struct scsi_cmnd, sense_buffer);
	layout->scsi_host_size = sizeof(struct Scsi_Host);
	layout->scsi_host_can_queue = offsetof(struct Scsi_Host, can_queue);
	layout->scsi_host_hostdata = offsetof(struct Scsi_Host, hostdata);
	layout->scsi_device_size = sizeof(struct scsi_device);
	layout->scsi_device_id = offsetof(struct scsi_device, id);
}
