# SPDX-License-Identifier: GPL-2.0
"""The driver built by the kernel's own build as a module (issue 11, item 4):
the `intree` test kernel (scripts/kernel build intree) is the 7.3 source
with the project's patch series applied (scripts/series: the SCSI layer in
the kernel crate, test_series.py), CONFIG_SCSI_VMW_PVSCSI_RUST=m beside the
C driver's module, and a guest loads that vmw_pvscsi_rs.ko. The layer's
KUnit suite is built into that kernel, and passes there, and so do the
layer's documentation examples, which are doctests of the kernel crate
(rust_doctests_kernel, CONFIG_RUST_KERNEL_DOCTESTS).

An in-tree module says so (modinfo `intree: Y`) and does not taint the
kernel as an out-of-tree one ('O'): that tells it from the module `make`
builds. It binds, serves I/O read back identical, and unloads. (The `=y`
build is test_root_disk.py's built-in case.)

This kernel has no CONFIG_DMA_API_DEBUG, so it is where the SCSI layer's
mappings are left unmapped when dma_need_unmap() allows (the debug kernel
always unmaps): fio writes and verifies 4 KiB blocks (one range each) and
the large round trip uses scatterlists."""

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from harness import kunit, paths
from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import RS, data_roundtrip, load, start_verify, stop_verify

# TAINT_OOT_MODULE (include/linux/panic.h): an out-of-tree module was loaded.
TAINT_OOT_MODULE = 1 << 12

# The layer's suite in the kernel crate: test_scsi_layer.py's cases without
# the module-only layout check.
LAYER_SUITE = "rust_scsi_layer"
LAYER_CASES_IN_TREE = 3
# The kernel crate's doctests; the layer's are rust/kernel/scsi.rs' one and
# rust/kernel/scsi/template.rs' two.
DOCTESTS_SUITE = "rust_doctests_kernel"
LAYER_DOCTESTS = 3


# The `intree` kernel (about 11 minutes to build cold here) is built by
# make test's build steps (run_tests.py tree_kernels), before any guest.
def test_intree_module_binds_and_serves_io(tmp_path):
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
        # Built in, before any module: the layer is the kernel crate's.
        kunit.check_suite(g, LAYER_SUITE, LAYER_CASES_IN_TREE, tmp_path)
        kunit.run_suites(g, DOCTESTS_SUITE)
        ktap = kunit.collect(g, DOCTESTS_SUITE)
        scsi = re.findall(r"^\s*(ok|not ok) \d+ (rust_doctest_kernel_scsi\w*)", ktap, re.M)
        print(scsi)
        assert len(scsi) == LAYER_DOCTESTS and all(r == "ok" for r, _ in scsi), scsi
        devs = load(g, RS, 1)
        assert g.bound_driver(g.pvscsi_bdf()) == RS
        assert g.run(f"cat /sys/module/{RS}/taint").strip() == ""
        assert int(g.run("cat /proc/sys/kernel/tainted")) & TAINT_OOT_MODULE == 0
        (dev,) = devs.values()
        data_roundtrip(g, dev, mib=4)
        start_verify(g, [dev], "intree")
        g.run("while ! ls /tmp/intree-1.json >/dev/null 2>&1; do sleep 0.2; done", timeout=300)
        assert stop_verify(g, "intree") >= 1
        g.rmmod(RS)
        assert g.bound_driver(g.pvscsi_bdf()) is None


# The `cfi` kernel is another whole kernel build (make stress only).
@pytest.mark.stress
def test_queuecommand_under_kcfi():
    """Under kCFI (the `cfi` kernel: intree with CONFIG_CFI=y) every indirect
    call checks its target's type id. The midlayer calls the Rust
    queuecommand through the template (scsi_dispatch_cmd()); patch 1 of the
    series gives enum scsi_qc_status its C encoding (cfi_encoding in
    rust/bindgen_parameters), so the scan and the I/O run without a CFI
    failure, which the console checker would report as a kernel BUG.
    Without the encoding, or with a queuecommand returning int, the same
    kernel traps at the first command ("CFI failure at scsi_queue_rq"):
    both runs are recorded in Documentation/scsi/results/kcfi-2026-12-07/.
    (The guest's kernel is rebuilt from the checkout's series each run.)"""
    config = (paths.kdir("cfi") / ".config").read_text()
    assert "CONFIG_CFI=y\n" in config
    cfg = GuestConfig(kconfig="cfi", disks=[Disk(scsi_id=0, size_mb=64)], c_modules=False,
                      name="kcfi")
    with Guest(cfg) as g:
        devs = load(g, RS, 1)
        (dev,) = devs.values()
        data_roundtrip(g, dev, mib=4)
        g.rmmod(RS)


@pytest.mark.stress
def test_out_of_tree_module_under_kcfi(tmp_path):
    """The module `make` builds (the layer compiled into it, issue 30 point
    5), on the same kCFI kernel. A module cannot use cfi_encoding (the tree
    refuses the feature out of tree, scripts/Makefile.build), so the
    template points at the C trampoline rust_scsi_queuecommand(), whose type
    is the midlayer's, and the trampoline calls the Rust queuecommand
    through a pointer of C type int (*)(struct Scsi_Host *, struct scsi_cmnd
    *): a second indirect call that kCFI checks against the type id rustc
    gives the Rust function (fn(*mut Scsi_Host, *mut scsi_cmnd) -> c_int,
    with CFI_ICALL_NORMALIZE_INTEGERS). The scan and I/O must run without a
    CFI failure (a kernel BUG to the console checker), and so must the host
    attributes and a queue depth change, whose callbacks the template points
    at Rust directly; the module taints the kernel as out of tree ('O'),
    which tells it from the in-tree one."""
    kdir = paths.kdir("cfi")
    assert "CONFIG_CFI=y\n" in (kdir / ".config").read_text()
    ko = Path(paths._script("module", "path", env={"KDIR": str(kdir)}))
    assert subprocess.run(["modinfo", "-F", "intree", str(ko)], capture_output=True, text=True,
                          check=True).stdout.strip() == ""
    root = tmp_path / "root"
    (root / "modules").mkdir(parents=True)
    (root / "modules" / f"{RS}.ko").write_bytes(ko.read_bytes())
    cfg = GuestConfig(kconfig="cfi", disks=[Disk(scsi_id=0, size_mb=64)], c_modules=False,
                      name="kcfi-module", extra_root=root)
    with Guest(cfg, with_rs=False) as g:
        devs = load(g, RS, 1)
        assert int(g.run("cat /proc/sys/kernel/tainted")) & TAINT_OOT_MODULE
        (dev,) = devs.values()
        data_roundtrip(g, dev, mib=4)
        # The other callbacks the midlayer calls indirectly point at Rust
        # directly: the host attributes' show() and change_queue_depth().
        attrs = g.run("cd /sys/class/scsi_host/host*/ && "
                      "for f in lost_commands bad_completions bad_messages ring_pages; do "
                      "echo $f=$(cat $f); done")
        assert "lost_commands=0" in attrs and "ring_pages=" in attrs, attrs
        g.run(f"echo 8 > /sys/block/{dev}/device/queue_depth")
        assert g.run(f"cat /sys/block/{dev}/device/queue_depth").strip() == "8"
        data_roundtrip(g, dev, mib=1)
        g.rmmod(RS)
