# SPDX-License-Identifier: GPL-2.0
"""Self-tests of the console checker: a guest run whose console shows a kernel
WARNING must fail, and the checker must recognise each kind of report."""

import pytest

from harness import console
from harness.guest import GuestError


def test_guest_run_with_a_kernel_warning_fails(make_guest):
    # lkdtm's WARNING crash point calls WARN_ON(1): a real kernel WARNING.
    with pytest.raises(GuestError, match="kernel WARNING"):
        with make_guest(pvscsi=False) as g:
            g.insmod("lkdtm")
            g.run("echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT")


# The other detectors, each fired by a real defect in one guest (the debug
# kernel has them: scripts/kconfig/debug.config). lkdtm's crash points:
# HUNG_TASK sleeps uninterruptibly for ever, SOFTLOCKUP spins with
# preemption off for ever, ARRAY_BOUNDS writes past an array.
DETECTORS = [
    # (crash point, sysctls that make the detector quick, report kind)
    ("HUNG_TASK", "kernel.hung_task_timeout_secs=5", "hung task"),
    ("SOFTLOCKUP", "kernel.watchdog_thresh=2", "kernel BUG"),
    ("ARRAY_BOUNDS", "", "UBSAN report"),
]


@pytest.mark.parametrize("point,sysctls,kind", DETECTORS, ids=[d[0] for d in DETECTORS])
def test_guest_run_with_a_detector_report_fails(make_guest, point, sysctls, kind):
    with pytest.raises(GuestError, match=kind):
        with make_guest(pvscsi=False) as g:
            for s in sysctls.split():
                name, value = s.split("=")
                g.run(f"echo {value} > /proc/sys/{name.replace('.', '/')}")
            g.insmod("lkdtm")
            # Those that never return run in the background.
            g.run(f"(echo {point} > /sys/kernel/debug/provoke-crash/DIRECT) "
                  "> /dev/null 2>&1 &")
            g.wait_console({"hung task": r"blocked for more than",
                            "kernel BUG": r"soft lockup",
                            "UBSAN report": r"UBSAN"}[kind], timeout=120)


def test_guest_run_with_a_leak_of_ours_fails(make_guest):
    """kmemleak's own test module leaks objects when it loads; the scan
    every guest runs before it powers off finds them. Counted as this
    project's (it is named among OUR_MODULES for the test), the leak fails
    the run; the driver's leaks are found the same way."""
    with pytest.raises(GuestError, match="kmemleak report"):
        with make_guest(pvscsi=False) as g:
            g.leak_modules = r"\[(kmemleak_test)\]"
            g.insmod("kmemleak-test")
            g.rmmod("kmemleak_test")


@pytest.mark.parametrize("line,kind", [
    ("[    5.1] WARNING: CPU: 1 PID: 77 at drivers/x.c:12 f+0x1/0x2", "kernel WARNING"),
    ("[    5.1] BUG: kernel NULL pointer dereference, address: 0000", "kernel BUG"),
    ("[    5.1] BUG: KASAN: slab-use-after-free in f+0x1/0x2", "KASAN report"),
    ("[    5.1] BUG: KCSAN: data-race in scsi_queue_rq / scsi_done", "KCSAN report"),
    ("[    5.1] WARNING: possible circular locking dependency detected", "kernel WARNING"),
    ("[    5.1] BUG: sleeping function called from invalid context at x.c:1", "kernel BUG"),
    ("[    5.1] rust_kernel: panicked at drivers/x.rs:3:5:", "Rust panic"),
    ("[    5.1] Oops: general protection fault, probably for non-canonical", "kernel Oops"),
    ("[    5.1] Kernel panic - not syncing: Fatal exception", "kernel panic"),
    ("[    5.1] DMA-API: pci 0000:00:04.0: device driver frees DMA memory", "DMA-API debug report"),
    ("[    5.1] INFO: trying to register non-static key.", "lockdep report"),
    ("[    5.1] INFO: task kworker/0:1:12 blocked for more than 5 seconds.", "hung task"),
    ("[    5.1] watchdog: BUG: soft lockup - CPU#1 stuck for 4s! [sh:80]", "kernel BUG"),
    ("[    5.1] UBSAN: array-index-out-of-bounds in drivers/x.c:12:3", "UBSAN report"),
], ids=lambda v: v.split("] ")[-1][:40] if v.startswith("[") else None)
def test_checker_recognises_reports(line, kind):
    found = console.find_reports(f"[    1.0] Linux version 7.3.4\n{line}\n[    9.0] ok\n")
    assert len(found) == 1 and found[0].startswith(kind), found


def test_checker_accepts_a_clean_boot_log():
    clean = "\n".join([
        "[    0.0] Linux version 7.3.4 (clang version 19)",
        "[    0.1] kasan: KernelAddressSanitizer initialized",
        "[    0.1] DMA-API: preallocated 65536 debug entries",
        "[    0.1] DMA-API: debugging enabled by kernel config",
        "[    0.2] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
        "[    0.3] ... MAX_LOCKDEP_SUBCLASSES:  8",
        "[    0.4] kmemleak: Kernel memory leak detector initialized (mem pool available: 15676)",
        "[    0.5] vmw_pvscsi_rs 0000:00:04.0: PVSCSI adapter rev 2 at BAR 0: reset",
    ])
    assert console.find_reports(clean) == []
