# SPDX-License-Identifier: GPL-2.0
"""The use-after-free in the 7.3 SCSI midlayer (issue 30, "Beyond the
driver"), on demand, and its fix (patches/scsi-core/0001-*.patch).

scsi_run_host_queues() (drivers/scsi/scsi_lib.c:576-604) takes a bare
reference on every device not yet in SDEV_DEL, SDEV_CANCEL ones included,
drops host_lock and kicks the device's requeue list. A removal that ends
in between (__scsi_remove_device(), scsi_sysfs.c:1508-1514: SDEV_DEL,
blk_mq_destroy_queue(), which cancels the queue's requeue work) leaves the
kick's work pending on a queue that the last put_device() frees; the work
then reads the freed hardware-context array (KASAN: slab-use-after-free
in blk_mq_run_hw_queues / queue_hctx, Workqueue: kblockd
blk_mq_requeue_work). The lying-device campaign hit it once, removing
devices on hot-remove messages while an adapter reset ended.

Here, on the `uaf` kernel (the debug kernel with the midlayer as modules),
with the C driver (the midlayer's bug, whichever driver): one task calls
SG_SCSI_RESET_NOTHING on disk 0 in a loop (tests/midlayer-uaf/runq.c; each
call runs scsi_run_host_queues()), another deletes disk 1 through sysfs
and scans it back, again and again. tests/midlayer-uaf/widen-window.patch
(never for upstream) makes scsi_run_host_queues() sleep uaf_delay_ms after
it took a device in SDEV_CANCEL, so that the removal finishes inside the
window. The midlayer modules with that delay (scripts/midlayer-uaf) must
produce the KASAN report within the cycles; the same modules with the fix
must run every cycle without a report (any report fails the guest).

Not in `make test` (its kernel is another 15-minute build): `make stress`
and `make midlayer-uaf` run it. What `make test` checks here, without a
guest, is that its own campaign kernel (debug; kcsan too, in make stress)
is built from the 7.3 source with the fix applied, and that the 7.3 source
the other kernels and this reproducer use is left without it."""

import re
import subprocess
from pathlib import Path

import pytest

from harness import paths
from harness.guest import Disk, Guest, GuestConfig, GuestError
from harness.scsi import wait_for

MODULES = ["bsg", "scsi_common", "scsi_mod", "sd_mod", "sg", "vmw_pvscsi"]
# Delete-and-scan cycles of disk 1, and the delay (ms) of the widened window.
CYCLES = 40
DELAY_MS = 200
UAF = re.compile(r"BUG: KASAN: (slab-)?use-after-free in (\S+)")


def module_sets() -> Path:
    """The folder of scripts/midlayer-uaf (built if missing)."""
    return Path(paths._script("midlayer-uaf", "build"))


def staging_root(tmp_path: Path, modules: Path) -> Path:
    """A root with the module set under /modules and runq in /usr/bin."""
    root = tmp_path / "root"
    (root / "modules").mkdir(parents=True)
    for m in MODULES:
        (root / "modules" / f"{m}.ko").write_bytes((modules / f"{m}.ko").read_bytes())
    (root / "usr" / "bin").mkdir(parents=True)
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Werror", "-o", str(root / "usr/bin/runq"),
                    str(paths.TOP / "tests/midlayer-uaf/runq.c")], check=True)
    return root


def cycles(g: Guest, n: int) -> tuple[int, str | None]:
    """Loads the midlayer, sd, sg and the C driver with the delay on, then
    runs `n` delete-and-scan cycles of disk 1 beside runq on disk 0,
    stopping at the first use-after-free report. Returns the cycles run and
    the report's function (None without one)."""
    for m in MODULES:
        g.insmod(m, f"uaf_delay_ms={DELAY_MS}" if m == "scsi_mod" else "")
    wait_for("both disks", lambda: g.run("ls /sys/class/scsi_device/ 2>/dev/null; true").split()
             == ["0:0:0:0", "0:0:1:0"], 60)
    dev0 = g.run("ls /sys/class/scsi_device/0:0:0:0/device/block").strip()
    # Nothing may hold disk 1 open: its queue would outlive the removal.
    g.run(f"rm -f /tmp/runq.stop; (taskset 1 runq /dev/{dev0} 3600 > /tmp/runq.out 2>&1 &)")
    done = 0
    for i in range(n):
        g.run("echo 1 > /sys/class/scsi_device/0:0:1:0/device/delete; "
              "echo '0 1 0' > /sys/class/scsi_host/host0/scan; "
              "for j in $(seq 200); do [ -e /sys/class/scsi_device/0:0:1:0 ] && exit 0; "
              "sleep 0.05; done; exit 1", timeout=120)
        done = i + 1
        m = UAF.search(g.console())
        if m:
            return done, m.group(2)
    # The last kick's work runs as soon as kblockd gets the CPU.
    try:
        m = wait_for("a report after the last cycle", lambda: UAF.search(g.console()), 5)
        return done, m.group(2)
    except GuestError:
        pass
    g.run("touch /tmp/runq.stop; while pidof runq >/dev/null; do sleep 0.2; done", timeout=60)
    print(f"runq: {g.run('cat /tmp/runq.out').strip()} calls")
    return done, None


def guest(tmp_path: Path, name: str, modules: Path) -> Guest:
    cfg = GuestConfig(kconfig="uaf", name=name, c_modules=False,
                      disks=[Disk(scsi_id=0, size_mb=64), Disk(scsi_id=1, size_mb=16, backend="null")],
                      extra_root=staging_root(tmp_path, modules))
    return Guest(cfg, with_rs=False)


@pytest.mark.stress
def test_the_midlayer_use_after_free_happens_on_7_3(tmp_path):
    """The widened window without the fix: a KASAN use-after-free report
    within CYCLES cycles, from the requeue work."""
    g = guest(tmp_path, "midlayer-uaf-7.3", module_sets() / "widened")
    g.allow_reports = True
    with g:
        done, where = cycles(g, CYCLES)
        console = g.console()
    print(f"7.3 midlayer: use-after-free in {where} after {done} cycle(s)")
    assert where, f"no use-after-free in {done} cycles"
    start = console.rindex("\n", 0, console.index("BUG: KASAN")) + 1
    report = console[start:][:12000]
    # Kept: the guest's folder goes with a passing run.
    (paths.LOGS / "midlayer-uaf-7.3-report.txt").write_text(report)
    assert "blk_mq_requeue_work" in report, report
    assert "scsi_run_host_queues" in report or "scsi_device_dev_release" in report, report


@pytest.mark.stress
def test_the_fix_closes_it(tmp_path):
    """The same cycles with the fix applied to the widened modules: no
    report at all (the guest's console checker fails on any)."""
    g = guest(tmp_path, "midlayer-uaf-fixed", module_sets() / "fixed")
    with g:
        done, where = cycles(g, CYCLES)
    print(f"fixed midlayer: {done} cycles, use-after-free: {where}")
    assert where is None and done == CYCLES


@pytest.mark.lane("light")
def test_campaign_kernel_carries_the_fix_and_7_3_stays_without():
    """scripts/kernel builds the debug kernel (the one of make test's
    lying-device and reset campaigns) from a copy of the 7.3 source with
    patches/scsi-core/ applied: the fix reverses cleanly there. The 7.3
    source itself, hard-linked into that copy, must not have been patched
    through a shared link: the fix still applies to it."""
    kdir = Path(subprocess.run([str(paths.SCRIPTS / "kernel"), "path", "debug"], capture_output=True,
                               text=True, check=True).stdout.strip())
    src = re.search(r"^\s*include (\S+)/Makefile$", (kdir / "Makefile").read_text(), re.M)
    assert src, (kdir / "Makefile").read_text()[:500]
    fixed = Path(src.group(1))
    assert "+scsi-core-" in fixed.name, fixed
    pristine = fixed.with_name(fixed.name.split("+scsi-core-")[0])
    for fix in sorted((paths.TOP / "patches/scsi-core").glob("*.patch")):
        for tree, args in ((fixed, ["-R"]), (pristine, [])):
            res = subprocess.run(["patch", "--dry-run", "-s", "-p1", "-d", str(tree), *args],
                                 input=fix.read_text(), capture_output=True, text=True)
            assert res.returncode == 0, (str(tree), args, res.stdout, res.stderr)
    lib = "drivers/scsi/scsi_lib.c"
    assert (fixed / lib).stat().st_ino != (pristine / lib).stat().st_ino
