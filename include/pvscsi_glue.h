/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the Rust part of vmw_pvscsi_rs and its C glue.
 *
 * Both sides read this header: the C glue includes it, and bindgen turns it
 * into Rust declarations, so the two can never disagree.
 */
#ifndef PVSCSI_GLUE_H
#define PVSCSI_GLUE_H

#include <linux/types.h>

/**
 * struct pvscsi_glue_layout - layout of SCSI midlayer structures, as the C
 * compiler sees them
 * @scsi_cmnd_size: sizeof(struct scsi_cmnd)
 * @scsi_cmnd_sdb: offsetof(struct scsi_cmnd, sdb)
 * @scsi_cmnd_result: offsetof(struct scsi_cmnd, result)
 * @scsi_cmnd_sense_buffer: offsetof(struct scsi_cmnd, sense_buffer)
 * @scsi_host_size: sizeof(struct Scsi_Host)
 * @scsi_host_can_queue: offsetof(struct Scsi_Host, can_queue)
 * @scsi_host_hostdata: offsetof(struct Scsi_Host, hostdata)
 * @scsi_device_size: sizeof(struct scsi_device)
 * @scsi_device_id: offsetof(struct scsi_device, id)
 *
 * The Rust unit tests compare these with the module-local bindgen output.
 */
struct pvscsi_glue_layout {
	size_t scsi_cmnd_size;
	size_t scsi_cmnd_sdb;
	size_t scsi_cmnd_result;
	size_t scsi_cmnd_sense_buffer;
	size_t scsi_host_size;
	size_t scsi_host_can_queue;
	size_t scsi_host_hostdata;
	size_t scsi_device_size;
	size_t scsi_device_id;
};

void pvscsi_glue_get_layout(struct pvscsi_glue_layout *layout);

#endif /* PVSCSI_GLUE_H */
