// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of the Rust SCSI host layer; see rust_scsi.h.
 *
 * Out of the kernel crate, every module that uses the layer compiles these
 * into itself, through a one-line wrapper in its own directory (Kbuild
 * cannot build an object from another directory's source).
 *
 * Copyright (C) 2026 The vmw_pvscsi_rs authors.
 */

#include <linux/blk-mq.h>
#include <linux/container_of.h>
#include <linux/stddef.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "rust_scsi.h"

enum scsi_qc_status rust_scsi_queuecommand(struct Scsi_Host *shost,
					   struct scsi_cmnd *cmd)
{
	const struct rust_scsi_template *t =
		container_of(shost->hostt, struct rust_scsi_template, tmpl);

	return (enum scsi_qc_status)t->queuecommand(shost, cmd);
}

void rust_scsi_get_layout(struct rust_scsi_layout *layout)
{
	layout->scsi_cmnd_size = sizeof(struct scsi_cmnd);
	layout->scsi_cmnd_sdb = offsetof(struct scsi_cmnd, sdb);
	layout->scsi_cmnd_result = offsetof(struct scsi_cmnd, result);
	layout->scsi_cmnd_sense_buffer = offsetof(struct scsi_cmnd, sense_buffer);
	layout->scsi_host_size = sizeof(struct Scsi_Host);
	layout->scsi_host_can_queue = offsetof(struct Scsi_Host, can_queue);
	layout->scsi_host_hostdata = offsetof(struct Scsi_Host, hostdata);
	layout->scsi_host_shost_dev = offsetof(struct Scsi_Host, shost_dev);
	layout->scsi_host_template_size = sizeof(struct scsi_host_template);
	layout->scsi_device_size = sizeof(struct scsi_device);
	layout->scsi_device_id = offsetof(struct scsi_device, id);
	layout->request_size = sizeof(struct request);
}
