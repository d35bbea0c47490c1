// SPDX-License-Identifier: GPL-2.0

#include <scsi/scsi_cmnd.h>

__rust_helper struct scatterlist *rust_helper_scsi_sglist(struct scsi_cmnd *cmd)
{
	return scsi_sglist(cmd);
}

__rust_helper void *rust_helper_scsi_cmd_priv(struct scsi_cmnd *cmd)
{
	return scsi_cmd_priv(cmd);
}

__rust_helper unsigned int rust_helper_scsi_sg_count(struct scsi_cmnd *cmd)
{
	return scsi_sg_count(cmd);
}
