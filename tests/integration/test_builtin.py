# SPDX-License-Identifier: GPL-2.0
"""The driver built into the kernel: scripts/intree puts it into a copy of
the 7.3 source (drivers/scsi/vmw_pvscsi_rs/ and the SCSI layer beside it, the
Kconfig entry, the Makefile hook), the builtin test kernel has
CONFIG_SCSI_VMW_PVSCSI_RUST=y (and no C driver), and a guest boots it with
its root file system on a disk behind the PVSCSI controller and no
initramfs (`make run ROOT=pvscsi` does the same by hand).

The test checks what a user would: the kernel mounted /dev/sda as / and ran
its /init from there, the built-in driver (not a module) has the
controller, data written to the root file system reads back identical after
the page cache is dropped, and after a clean shutdown (remount read-only,
power off) the image is a clean ext4 file system with the data in it, read
on the host."""

import subprocess

from harness.guest import Guest, GuestConfig
from harness.scsi import RS

MARKER = "written by the guest, on a pvscsi root disk served by the built-in Rust driver"


def test_root_file_system_on_pvscsi_with_the_driver_built_in(kconfig):
    cfg = GuestConfig(kconfig="builtin", root_disk=True, c_modules=False,
                      name="builtin-root-on-pvscsi")
    with Guest(cfg, with_rs=False) as g:
        mounts = g.run("cat /proc/mounts")
        root = [line.split() for line in mounts.splitlines() if line.split()[1] == "/"]
        # One root, ext4, writable: no initramfs under it.
        assert len(root) == 1 and root[0][2] == "ext4", mounts
        assert "rw" in root[0][3].split(","), mounts
        # ... and it is the pvscsi disk.
        assert g.run("mountpoint -d /").strip() == g.run("cat /sys/block/sda/dev").strip()
        assert g.run("cat /sys/block/sda/device/model").strip() == "QEMU HARDDISK"
        # Built in: the driver has the controller, and it is no module (a
        # loaded module has an initstate).
        assert g.bound_driver(g.pvscsi_bdf()) == RS
        assert RS not in g.run("cat /proc/modules")
        g.run(f"test ! -e /sys/module/{RS}/initstate")

        # I/O on the root file system, read back past the page cache.
        g.run("dd if=/dev/urandom of=/data.bin bs=1M count=16 2>/dev/null && "
              "sha256sum /data.bin > /data.sum && sync && "
              "echo 3 > /proc/sys/vm/drop_caches && sha256sum -c /data.sum", timeout=300)
        g.run(f"echo '{MARKER}' > /marker && sync")
        # A clean shutdown: the root read-only, then power off.
        g.shutdown_with("sync; mount -o remount,ro / && poweroff -f")

        image = g.dir / "root.img"
        fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        got = subprocess.run(["debugfs", "-R", "cat /marker", str(image)], capture_output=True,
                             text=True, check=True).stdout
        assert got.strip() == MARKER
