# SPDX-License-Identifier: GPL-2.0
"""Shutdown: on reboot (and halt, power-off, kexec) the driver quiesces the
adapter, so the device stops using memory the next kernel will own."""

from harness.scsi import RS, load
from harness.guest import Disk


def test_reboot_quiesces_the_adapter(make_guest):
    with make_guest(disks=[Disk(scsi_id=0, size_mb=64)]) as g:
        load(g, RS, 1)
        # Keep I/O going until the end.
        g.run("dd if=/dev/sda of=/dev/null bs=4k iflag=direct > /dev/null 2>&1 &")
        g.mark_console()
        g.shutdown_with("sync; reboot -f")
        g.wait_console(r"vmw_pvscsi_rs .*: adapter quiesced for reboot", timeout=5)
