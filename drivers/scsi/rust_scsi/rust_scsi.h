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

/* What rust_scsi_dma_unmap() has to undo (rust_scsi_dma_map() says). */
/* Nothing: no data, or a mapping that needs no unmap (dma_need_unmap()). */
#define RUST_SCSI_UNMAP_NONE	0
/* The scatterlist, with scsi_dma_unmap(). */
#define RUST_SCSI_UNMAP_TABLE	1
/* The one range of a one-segment buffer, with dma_unmap_phys(). */
#define RUST_SCSI_UNMAP_RANGE	2

/**
 * rust_scsi_dma_map - maps a command's data buffer for DMA
 * @cmd: the command, owned by the driver and not mapped
 * @unmap: set to what rust_scsi_dma_unmap() will have to undo
 * @addr: set to the bus address of the one DMA segment, when there is one
 *
 * A buffer of one segment (every 4 KiB I/O, most small ones) is mapped as
 * one physical range with dma_map_phys(); its bus address is returned in
 * @addr, and stored in the entry as dma_map_sg() would store it only when
 * rust_scsi_dma_unmap() will need it. Other buffers go through
 * scsi_dma_map(), which stores the segments in the table (and the first in
 * @addr when it made one segment of them). One range costs the DMA API
 * about half the instructions
 * of a one-entry scatterlist (no list walk, no per-entry bookkeeping), as
 * nvme-pci's one-segment path does. Pages of device memory (PCI P2PDMA)
 * always go through scsi_dma_map(), which knows them.
 *
 * After the mapping, a device that needs no unmap (direct mapping, no
 * bounce buffer ever used, no DMA API debugging: dma_need_unmap(), which
 * nvme-pci consults the same way) gets %RUST_SCSI_UNMAP_NONE.
 *
 * Return: the number of DMA segments (0 without data), or -ENOMEM.
 */
int rust_scsi_dma_map(struct scsi_cmnd *cmd, u8 *unmap, dma_addr_t *addr);

/**
 * rust_scsi_dma_unmap - undoes rust_scsi_dma_map()
 * @cmd: the command
 * @unmap: what rust_scsi_dma_map() set, not %RUST_SCSI_UNMAP_NONE
 */
void rust_scsi_dma_unmap(struct scsi_cmnd *cmd, u8 unmap);

#endif /* RUST_SCSI_H */
