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
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
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

int rust_scsi_dma_map(struct scsi_cmnd *cmd, u8 *unmap, dma_addr_t *addr)
{
	struct scatterlist *sg = scsi_sglist(cmd);
	struct device *dev = cmd->device->host->dma_dev;
	int nseg;

	*unmap = RUST_SCSI_UNMAP_NONE;
	if (scsi_sg_count(cmd) != 1 || is_zone_device_page(sg_page(sg))) {
		nseg = scsi_dma_map(cmd);
		if (nseg > 0 && dma_need_unmap(dev))
			*unmap = RUST_SCSI_UNMAP_TABLE;
		if (nseg == 1)
			*addr = sg_dma_address(sg);
		return nseg;
	}
	*addr = dma_map_phys(dev, sg_phys(sg), sg->length,
			     cmd->sc_data_direction, 0);
	if (unlikely(dma_mapping_error(dev, *addr)))
		return -ENOMEM;
	if (dma_need_unmap(dev)) {
		/* Where rust_scsi_dma_unmap() finds the range. */
		sg_dma_address(sg) = *addr;
		sg_dma_len(sg) = sg->length;
		*unmap = RUST_SCSI_UNMAP_RANGE;
	}
	return 1;
}

void rust_scsi_dma_unmap(struct scsi_cmnd *cmd, u8 unmap)
{
	struct scatterlist *sg = scsi_sglist(cmd);

	if (unmap == RUST_SCSI_UNMAP_TABLE)
		scsi_dma_unmap(cmd);
	else if (unmap == RUST_SCSI_UNMAP_RANGE)
		dma_unmap_phys(cmd->device->host->dma_dev, sg_dma_address(sg),
			       sg_dma_len(sg), cmd->sc_data_direction, 0);
}
