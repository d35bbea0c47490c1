// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the Rust PVSCSI driver: the parts of the SCSI midlayer interface
 * that are macros or static inlines, and that Rust therefore cannot reach.
 *
 * Copyright (C) 2026 The vmw_pvscsi_rs authors.
 */

#include <linux/blk-mq.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>
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
	layout->request_size = sizeof(struct request);
}

/*
 * The host template's callbacks are C trampolines: the function pointer
 * types return C enums, and a kCFI-enabled kernel checks indirect calls
 * against type ids that a Rust function cannot carry. Direct calls from C to
 * Rust are not checked.
 */
static enum scsi_qc_status pvscsi_glue_queuecommand(struct Scsi_Host *shost,
						    struct scsi_cmnd *cmd)
{
	return (enum scsi_qc_status)pvscsi_rs_queuecommand(shost, cmd);
}

static void pvscsi_glue_commit_rqs(struct Scsi_Host *shost, u16 hwq)
{
	pvscsi_rs_commit_rqs(shost);
}

static int pvscsi_glue_eh_abort(struct scsi_cmnd *cmd)
{
	return pvscsi_rs_eh_abort(cmd->device->host, cmd) ? SUCCESS : FAILED;
}

static int pvscsi_glue_eh_device_reset(struct scsi_cmnd *cmd)
{
	return pvscsi_rs_eh_device_reset(cmd->device->host, cmd) ? SUCCESS : FAILED;
}

static int pvscsi_glue_eh_target_reset(struct scsi_cmnd *cmd)
{
	return pvscsi_rs_eh_target_reset(cmd->device->host, cmd) ? SUCCESS : FAILED;
}

static int pvscsi_glue_eh_bus_reset(struct scsi_cmnd *cmd)
{
	return pvscsi_rs_eh_bus_reset(cmd->device->host, cmd) ? SUCCESS : FAILED;
}

static int pvscsi_glue_eh_host_reset(struct scsi_cmnd *cmd)
{
	return pvscsi_rs_eh_host_reset(cmd->device->host, cmd) ? SUCCESS : FAILED;
}

/*
 * As the C driver: an untagged device gets a depth of 1, a tagged one what
 * was asked (the sysfs store already refuses more than can_queue).
 */
static int pvscsi_glue_change_queue_depth(struct scsi_device *sdev, int qdepth)
{
	if (!sdev->tagged_supported)
		qdepth = 1;
	return scsi_change_queue_depth(sdev, qdepth);
}

/*
 * The Rust layer writes its per-command state (struct CmdPriv in
 * scsi/cmnd.rs) in queuecommand before reading it, so the private area needs
 * no initialisation. Providing this hook stops the midlayer from clearing the
 * area before every command (scsi_queue_rq()).
 */
static int pvscsi_glue_init_cmd_priv(struct Scsi_Host *shost,
				     struct scsi_cmnd *cmd)
{
	return 0;
}

/*
 * Host attributes with each adapter's effective settings: the 7.3 Rust
 * module! macro registers module parameters without sysfs files, and the
 * values that matter are per adapter (the automatic ring size, whether the
 * device took the message ring, request coalescing, the interrupt type).
 */
static ssize_t pvscsi_glue_attr_show(struct device *dev, enum pvscsi_glue_attr which, char *buf)
{
	long long value = pvscsi_rs_host_attr(class_to_shost(dev), which);

	if (value < 0)
		return -EIO;
	return sysfs_emit(buf, "%lld\n", value);
}

#define PVSCSI_GLUE_ATTR(name, which)						\
static ssize_t name##_show(struct device *dev, struct device_attribute *attr,	\
			   char *buf)						\
{										\
	return pvscsi_glue_attr_show(dev, which, buf);				\
}										\
static DEVICE_ATTR_RO(name)

PVSCSI_GLUE_ATTR(ring_pages, PVSCSI_GLUE_ATTR_RING_PAGES);
PVSCSI_GLUE_ATTR(msg_ring_pages, PVSCSI_GLUE_ATTR_MSG_RING_PAGES);
PVSCSI_GLUE_ATTR(req_threshold, PVSCSI_GLUE_ATTR_REQ_THRESHOLD);
PVSCSI_GLUE_ATTR(max_id, PVSCSI_GLUE_ATTR_MAX_ID);
PVSCSI_GLUE_ATTR(bad_completions, PVSCSI_GLUE_ATTR_BAD_COMPLETIONS);
PVSCSI_GLUE_ATTR(stale_completions, PVSCSI_GLUE_ATTR_STALE_COMPLETIONS);
PVSCSI_GLUE_ATTR(bad_messages, PVSCSI_GLUE_ATTR_BAD_MESSAGES);
PVSCSI_GLUE_ATTR(bad_submissions, PVSCSI_GLUE_ATTR_BAD_SUBMISSIONS);
PVSCSI_GLUE_ATTR(lost_commands, PVSCSI_GLUE_ATTR_LOST_COMMANDS);

static struct attribute *pvscsi_glue_host_attrs[] = {
	&dev_attr_ring_pages.attr,
	&dev_attr_msg_ring_pages.attr,
	&dev_attr_req_threshold.attr,
	&dev_attr_max_id.attr,
	&dev_attr_bad_completions.attr,
	&dev_attr_stale_completions.attr,
	&dev_attr_bad_messages.attr,
	&dev_attr_bad_submissions.attr,
	&dev_attr_lost_commands.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvscsi_glue_host);

/*
 * One template for every adapter: the per-adapter limits (can_queue,
 * cmd_per_lun, max_id) are set on the Scsi_Host between scsi_host_alloc()
 * and scsi_add_host(), never in this shared template.
 */
static const struct scsi_host_template pvscsi_glue_template = {
	.module = THIS_MODULE,
	.name = "VMware PVSCSI Host Adapter (Rust)",
	.proc_name = "vmw_pvscsi_rs",
	.queuecommand = pvscsi_glue_queuecommand,
	.commit_rqs = pvscsi_glue_commit_rqs,
	.eh_abort_handler = pvscsi_glue_eh_abort,
	.eh_device_reset_handler = pvscsi_glue_eh_device_reset,
	.eh_target_reset_handler = pvscsi_glue_eh_target_reset,
	.eh_bus_reset_handler = pvscsi_glue_eh_bus_reset,
	.eh_host_reset_handler = pvscsi_glue_eh_host_reset,
	.change_queue_depth = pvscsi_glue_change_queue_depth,
	.this_id = -1,
	.sg_tablesize = PVSCSI_GLUE_SG_TABLESIZE,
	.max_sectors = PVSCSI_GLUE_MAX_SECTORS,
	.dma_boundary = UINT_MAX,
	.cmd_size = PVSCSI_GLUE_CMD_PRIV_SIZE,
	.init_cmd_priv = pvscsi_glue_init_cmd_priv,
	.shost_groups = pvscsi_glue_host_groups,
	.can_queue = 1,
	.cmd_per_lun = 1,
};

struct Scsi_Host *pvscsi_glue_host_alloc(int privsize)
{
	return scsi_host_alloc(&pvscsi_glue_template, privsize);
}
