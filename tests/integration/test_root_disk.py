# SPDX-License-Identifier: GPL-2.0
"""A guest whose root file system is on a disk behind the PVSCSI controller,
served by the Rust driver from the very start:

- built into the kernel: scripts/intree puts the driver into a copy of the
  7.3 source (drivers/scsi/vmw_pvscsi_rs/ and the SCSI layer beside it, the
  Kconfig entry, the Makefile hook), the `builtin` test kernel has
  CONFIG_SCSI_VMW_PVSCSI_RUST=y (and no C driver), and the guest boots it
  with no initramfs (`make run ROOT=pvscsi` does the same by hand);
- as a module, from an initramfs that Debian's initramfs-tools builds after
  `make install PREFER_RS=1` (the documented step: the install adds the
  driver to initramfs-tools' modules.d and blacklists vmw_pvscsi, whose
  module is in the same tree).

Each checks what a user would: the kernel mounted the pvscsi disk as / and
ran /init from it, the Rust driver has the controller, data written to the
root file system reads back identical past the page cache, and after a
clean shutdown (remount read-only, power off) the image is a clean ext4 file
system with the data in it, read on the host."""

import shutil
import subprocess

from harness import paths
from harness.guest import Guest, GuestConfig
from harness.scsi import RS, root_disk_io_and_poweroff

MARKER = "written by the guest on its pvscsi root disk"


def check_root_and_shut_down(g: Guest) -> None:
    """Checks that / is the pvscsi disk, does I/O on it, shuts down cleanly
    and checks the file system on the host."""
    mounts = g.run("cat /proc/mounts")
    root = [line.split() for line in mounts.splitlines() if line.split()[1] == "/"]
    # The root (the last mount on /) is ext4, writable.
    assert root and root[-1][2] == "ext4", mounts
    assert "rw" in root[-1][3].split(","), mounts
    # ... and it is the pvscsi disk: the root's device number is sda's.
    major, minor = (int(x) for x in g.run("cat /sys/block/sda/dev").strip().split(":"))
    sda = (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)  # new_encode_dev()
    assert int(g.run("stat -c %d /").strip()) == sda
    assert g.run("cat /sys/block/sda/device/model").strip() == "QEMU HARDDISK"
    assert g.bound_driver(g.pvscsi_bdf()) == RS

    # I/O on the root file system, read back past the page cache, and a
    # clean shutdown (the root read-only, then power off).
    g.run(f"echo '{MARKER}' > /marker && sync")
    fsck = root_disk_io_and_poweroff(g)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    image = g.dir / "root.img"
    got = subprocess.run(["debugfs", "-R", "cat /marker", str(image)], capture_output=True,
                         text=True, check=True).stdout
    assert got.strip() == MARKER


# It needs the `builtin` kernel (about 16 minutes to build cold), which make
# test's build steps build (run_tests.py tree_kernels) before any guest;
# `make run ROOT=pvscsi` does the same by hand.
def test_root_on_pvscsi_with_the_driver_built_in():
    cfg = GuestConfig(kconfig="builtin", root_disk=True, c_modules=False,
                      name="root-on-pvscsi-builtin")
    with Guest(cfg, with_rs=False) as g:
        # Built in: not a loaded module (a loaded module has an initstate).
        assert RS not in g.run("cat /proc/modules")
        g.run(f"test ! -e /sys/module/{RS}/initstate")
        check_root_and_shut_down(g)


def test_root_on_pvscsi_from_an_initramfs_tools_initramfs(kconfig, tmp_path):
    kdir = paths.kdir(kconfig)
    release = (kdir / "include/config/kernel.release").read_text().strip()
    stage = tmp_path / "root"
    # The kernel's own modules (vmw_pvscsi among them), as its package would
    # install them, then the documented step.
    subprocess.run(["make", "-s", "-C", str(kdir), f"INSTALL_MOD_PATH={stage}", "modules_install"],
                   check=True, capture_output=True)
    (stage / "boot").mkdir()
    shutil.copy(kdir / ".config", stage / "boot" / f"config-{release}")
    res = subprocess.run(["make", "-s", "install", f"INSTALL_MOD_PATH={stage}", "PREFER_RS=1",
                          f"KCONFIG={kconfig}"], cwd=paths.TOP, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    initrd = tmp_path / f"initrd.img-{release}"
    res = subprocess.run([str(paths.SCRIPTS / "mkinitramfs"), str(stage), release, str(initrd)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    listing = subprocess.run(f"zcat {initrd} | cpio -t --quiet", shell=True, capture_output=True,
                             text=True, check=True).stdout
    assert f"usr/lib/modules/{release}/updates/{'drivers/scsi/vmw_pvscsi_rs/vmw_pvscsi_rs.ko'}" \
        in listing.splitlines(), listing[-2000:]

    cfg = GuestConfig(kconfig=kconfig, root_disk=True, initrd=initrd, c_modules=False,
                      name="root-on-pvscsi-initramfs")
    with Guest(cfg, with_rs=False) as g:
        # The initramfs loaded the module, and left vmw_pvscsi alone.
        modules = g.run("cat /proc/modules")
        assert RS in modules and "vmw_pvscsi " not in modules, modules
        check_root_and_shut_down(g)
