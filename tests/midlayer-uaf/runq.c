// SPDX-License-Identifier: GPL-2.0
/*
 * runq DEVICE SECONDS: calls ioctl(SG_SCSI_RESET, SG_SCSI_RESET_NOTHING) on
 * DEVICE (an sd or sg node) again and again for SECONDS seconds, or until
 * /tmp/runq.stop exists. Each call runs scsi_run_host_queues() for the
 * device's host (scsi_ioctl_reset(): the "nothing" reset falls through to
 * it) without resetting anything. Prints the number of calls.
 *
 * The midlayer use-after-free reproducer (test_midlayer_uaf.py) runs it
 * beside a loop that deletes and rescans another disk of the host.
 */
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int what = SG_SCSI_RESET_NOTHING;
	unsigned long calls = 0;
	struct timespec now, end;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: runq DEVICE SECONDS\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += atoi(argv[2]);
	do {
		if (ioctl(fd, SG_SCSI_RESET, &what) < 0) {
			perror("SG_SCSI_RESET");
			return 1;
		}
		calls++;
		if (!(calls % 64) && access("/tmp/runq.stop", F_OK) == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	printf("%lu\n", calls);
	return 0;
}
