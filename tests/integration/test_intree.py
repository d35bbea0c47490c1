# SPDX-License-Identifier: GPL-2.0
"""The driver built by the kernel's own build as a module (issue 11, item 4):
scripts/intree puts it into a copy of the 7.3 source, the `intree` test
kernel (scripts/kernel build intree) has CONFIG_SCSI_VMW_PVSCSI_RUST=m
beside the C driver's module, and a guest loads that vmw_pvscsi_rs.ko.

An in-tree module says so (modinfo `intree: Y`) and does not taint the
kernel as an out-of-tree one ('O'): that tells it from the module `make`
builds. It binds, serves I/O read back identical, and unloads. (The `=y`
build is test_root_disk.py's built-in case.)"""

import hashlib
import subprocess

import pytest

from harness import paths
from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import RS, data_roundtrip, load

# TAINT_OOT_MODULE (include/linux/panic.h): an out-of-tree module was loaded.
TAINT_OOT_MODULE = 1 << 12


# The `intree` kernel takes about 15 minutes to build cold, which would push a
# cold `make test` past CI's 90 minutes: `make stress` runs it.
@pytest.mark.stress
def test_intree_module_binds_and_serves_io():
    cfg = GuestConfig(kconfig="intree", disks=[Disk(scsi_id=0, size_mb=64)], c_modules=False,
                      name="intree-module")
    # The file the guest loads; busybox's modinfo needs a modules.dep, so
    # the host's reads it.
    ko = paths.module("intree")
    assert subprocess.run(["modinfo", "-F", "intree", str(ko)], capture_output=True, text=True,
                          check=True).stdout.strip() == "Y"
    with Guest(cfg) as g:
        assert g.run(f"sha256sum /modules/{RS}.ko").split()[0] == \
            hashlib.sha256(ko.read_bytes()).hexdigest()
        devs = load(g, RS, 1)
        assert g.bound_driver(g.pvscsi_bdf()) == RS
        assert g.run(f"cat /sys/module/{RS}/taint").strip() == ""
        assert int(g.run("cat /proc/sys/kernel/tainted")) & TAINT_OOT_MODULE == 0
        (dev,) = devs.values()
        data_roundtrip(g, dev, mib=4)
        g.rmmod(RS)
        assert g.bound_driver(g.pvscsi_bdf()) is None
