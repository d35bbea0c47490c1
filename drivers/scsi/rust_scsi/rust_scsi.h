/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C side of the Rust SCSI host layer (drivers/scsi/rust_scsi/): what Rust
 * cannot express or reach, because it is a macro, a static inline, or a
 * function pointer type that returns a C enum.
 *
 * Both sides read this header: the helpers include it, and each user's
 * bindgen step turns it into Rust declarations, so the two cannot disagree.
 *
 * Copyright (C) 2026 The vmw_pvscsi_rs authors.
 */
#ifndef RUST_SCSI_H
#define RUST_SCSI_H

#include <linux/types.h>
#include <scsi/scsi_host.h>

struct scsi_cmnd;

/**
 * struct rust_scsi_template - a host template built by the Rust layer
 * @tmpl: the template the midlayer sees (shost->hostt points here)
 * @queuecommand: the Rust queuecommand, called by rust_scsi_queuecommand()
 *
 * @tmpl.queuecommand returns enum scsi_qc_status. Under kCFI an indirect
 * call checks the target's type id, which encodes that enum by name; a Rust
 * function cannot carry it. The template therefore points at the C
 * trampoline rust_scsi_queuecommand(), which calls @queuecommand (whose
 * type, returning int, Rust functions do carry). Every other callback of
 * the template returns int or void and points at Rust directly.
 */
struct rust_scsi_template {
	struct scsi_host_template tmpl;
	int (*queuecommand)(struct Scsi_Host *shost, struct scsi_cmnd *cmd);
};

enum scsi_qc_status rust_scsi_queuecommand(struct Scsi_Host *shost,
					   struct scsi_cmnd *cmd);

/**
 * struct rust_scsi_layout - layout of SCSI midlayer structures, as the C
 * compiler sees them
 * @scsi_cmnd_size: sizeof(struct scsi_cmnd)
 * @scsi_cmnd_sdb: offsetof(struct scsi_cmnd, sdb)
 * @scsi_cmnd_result: offsetof(struct scsi_cmnd, result)
 * @scsi_cmnd_sense_buffer: offsetof(struct scsi_cmnd, sense_buffer)
 * @scsi_host_size: sizeof(struct Scsi_Host)
 * @scsi_host_can_queue: offsetof(struct Scsi_Host, can_queue)
 * @scsi_host_hostdata: offsetof(struct Scsi_Host, hostdata)
 * @scsi_host_shost_dev: offsetof(struct Scsi_Host, shost_dev)
 * @scsi_host_template_size: sizeof(struct scsi_host_template)
 * @scsi_device_size: sizeof(struct scsi_device)
 * @scsi_device_id: offsetof(struct scsi_device, id)
 * @request_size: sizeof(struct request), which precedes every scsi_cmnd
 *
 * The layer compares these with its bindgen output before it builds a host,
 * and refuses to if they differ (a bindgen step run with other flags than
 * the C compiler's).
 */
struct rust_scsi_layout {
	size_t scsi_cmnd_size;
	size_t scsi_cmnd_sdb;
	size_t scsi_cmnd_result;
	size_t scsi_cmnd_sense_buffer;
	size_t scsi_host_size;
	size_t scsi_host_can_queue;
	size_t scsi_host_hostdata;
	size_t scsi_host_shost_dev;
	size_t scsi_host_template_size;
	size_t scsi_device_size;
	size_t scsi_device_id;
	size_t request_size;
};

void rust_scsi_get_layout(struct rust_scsi_layout *layout);

#endif /* RUST_SCSI_H */
