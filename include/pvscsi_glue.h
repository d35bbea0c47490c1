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

struct Scsi_Host;
struct scsi_cmnd;

/*
 * Bytes of per-command private data (the host template's cmd_size): the Rust
 * SCSI layer's CmdPriv, whose size a KUnit test checks against this.
 */
#define PVSCSI_GLUE_CMD_PRIV_SIZE 8

/* Scatter-gather elements per command (the device's SG list length). */
#define PVSCSI_GLUE_SG_TABLESIZE 128

/*
 * Largest request in 512-byte sectors: the C driver's 0xffff. The block
 * layer also keeps every request within PVSCSI_GLUE_SG_TABLESIZE segments
 * (of up to 64 KiB each), so any request it builds fits one SG list; a DMA
 * layer that maps less (swiotlb) lowers it further in scsi_add_host().
 */
#define PVSCSI_GLUE_MAX_SECTORS 0xffff

/*
 * Host attributes (sysfs files of the SCSI host) with an adapter's effective
 * settings:
 * @PVSCSI_GLUE_ATTR_RING_PAGES: pages of the request and completion rings
 * @PVSCSI_GLUE_ATTR_MSG_RING_PAGES: pages of the message ring, 0 if unused
 * @PVSCSI_GLUE_ATTR_REQ_THRESHOLD: 1 if request coalescing is on
 * @PVSCSI_GLUE_ATTR_MAX_ID: targets scanned (0 to max_id - 1)
 *
 * and counters of what the driver refused from the device since the adapter
 * was probed (each refusal is also logged, rate-limited):
 * @PVSCSI_GLUE_ATTR_BAD_COMPLETIONS: completions with an invalid or idle
 *	context, an unknown status or an impossible length, and corrupt
 *	completion ring indices
 * @PVSCSI_GLUE_ATTR_STALE_COMPLETIONS: completions for an earlier command of
 *	their context (dropped)
 * @PVSCSI_GLUE_ATTR_BAD_MESSAGES: messages of unknown type or with an address
 *	out of range, and corrupt message ring indices
 * @PVSCSI_GLUE_ATTR_BAD_SUBMISSIONS: commands refused at submission
 * @PVSCSI_GLUE_ATTR_LOST_COMMANDS: commands the device never completed, taken
 *	back by a device or bus reset
 */
enum pvscsi_glue_attr {
	PVSCSI_GLUE_ATTR_RING_PAGES,
	PVSCSI_GLUE_ATTR_MSG_RING_PAGES,
	PVSCSI_GLUE_ATTR_REQ_THRESHOLD,
	PVSCSI_GLUE_ATTR_MAX_ID,
	PVSCSI_GLUE_ATTR_BAD_COMPLETIONS,
	PVSCSI_GLUE_ATTR_STALE_COMPLETIONS,
	PVSCSI_GLUE_ATTR_BAD_MESSAGES,
	PVSCSI_GLUE_ATTR_BAD_SUBMISSIONS,
	PVSCSI_GLUE_ATTR_LOST_COMMANDS,
};

/*
 * Implemented in Rust (submit.rs, eh.rs); called by the host template. The
 * error handlers return nonzero for SUCCESS and 0 for FAILED; the attribute
 * returns a negative value when it has none.
 */
int pvscsi_rs_queuecommand(struct Scsi_Host *shost, struct scsi_cmnd *cmd);
void pvscsi_rs_commit_rqs(struct Scsi_Host *shost);
long long pvscsi_rs_host_attr(struct Scsi_Host *shost, enum pvscsi_glue_attr which);
int pvscsi_rs_eh_abort(struct Scsi_Host *shost, struct scsi_cmnd *cmd);
int pvscsi_rs_eh_device_reset(struct Scsi_Host *shost, struct scsi_cmnd *cmd);
int pvscsi_rs_eh_target_reset(struct Scsi_Host *shost, struct scsi_cmnd *cmd);
int pvscsi_rs_eh_bus_reset(struct Scsi_Host *shost, struct scsi_cmnd *cmd);
int pvscsi_rs_eh_host_reset(struct Scsi_Host *shost, struct scsi_cmnd *cmd);

/* Implemented in C (pvscsi_glue.c); called by Rust. */
struct Scsi_Host *pvscsi_glue_host_alloc(int privsize);

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
 * @request_size: sizeof(struct request), which precedes every scsi_cmnd
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
	size_t request_size;
};

void pvscsi_glue_get_layout(struct pvscsi_glue_layout *layout);

#endif /* PVSCSI_GLUE_H */
