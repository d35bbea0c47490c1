# SPDX-License-Identifier: GPL-2.0
"""Self-tests of the console checker and the harness's other detectors: a
guest run whose console shows a kernel WARNING, a hung task, a UBSAN report
or a soft lockup, whose leak scan finds a leak of ours, or that does not
power off must fail, and the checker must recognise each kind of report."""

import pytest

from harness import console
from harness.guest import GuestError, _Monitor, boot_retry_allowed


# The detectors, each fired by a real defect (the debug kernel has them:
# scripts/kconfig/debug.config), through lkdtm's crash points: WARNING calls
# WARN_ON(1), HUNG_TASK sleeps uninterruptibly for ever, ARRAY_BOUNDS writes
# past an array, SOFTLOCKUP spins with preemption off for ever.
DETECTORS = [
    # (crash point, sysctls that make the detector quick, report kind,
    #  what the console shows once it fired)
    ("WARNING", "", "kernel WARNING", r"WARNING: "),
    ("HUNG_TASK", "kernel.hung_task_timeout_secs=5", "hung task", r"blocked for more than"),
    ("ARRAY_BOUNDS", "", "UBSAN report", r"UBSAN"),
]


def provoke(g, point: str, sysctls: str, seen: str) -> None:
    """Fires lkdtm's crash point `point` and waits until the console shows
    `seen`."""
    for s in sysctls.split():
        name, value = s.split("=")
        g.run(f"echo {value} > /proc/sys/{name.replace('.', '/')}")
    # Those that never return run in the background.
    g.run(f"(echo {point} > /sys/kernel/debug/provoke-crash/DIRECT) > /dev/null 2>&1 &")
    g.wait_console(seen, timeout=120)


def test_guest_run_with_detector_reports_fails(make_guest):
    """One guest, three defects: the run fails, naming each detector's
    report (one guest rather than three: a boot costs half a minute)."""
    with pytest.raises(GuestError) as failure:
        with make_guest(pvscsi=False) as g:
            g.insmod("lkdtm")
            for point, sysctls, _, seen in DETECTORS:
                g.mark_console()
                provoke(g, point, sysctls, seen)
    for _, _, kind, _ in DETECTORS:
        assert kind in str(failure.value), (kind, str(failure.value))


def test_guest_run_with_a_soft_lockup_fails(make_guest):
    """A CPU stuck with preemption off (its own guest: the CPU stays stuck)."""
    with pytest.raises(GuestError, match="kernel BUG"):
        with make_guest(pvscsi=False) as g:
            g.insmod("lkdtm")
            provoke(g, "SOFTLOCKUP", "kernel.watchdog_thresh=2", r"soft lockup")


def test_guest_run_with_a_data_race_fails(make_guest, kconfig):
    """A data race, on the kcsan kernel (KCSAN cannot be combined with the
    debug kernel's KASAN; the KCSAN stage of `make stress` runs this):
    KCSAN's own KUnit test races two threads on one variable in its
    test_basic case (the only one the filter lets run), and KCSAN's report
    fails the guest."""
    if kconfig != "kcsan":
        pytest.skip("KCSAN is in the kcsan kernel only (make stress STRESS_ARGS=\"--only kcsan\")")
    with pytest.raises(GuestError, match="KCSAN report") as failure:
        with make_guest(pvscsi=False, append="kunit.filter_glob=kcsan.test_basic") as g:
            # torture is a module unless something built it in.
            if g.run_rc("test -e /modules/torture.ko")[0] == 0:
                g.insmod("torture")
            g.insmod("kcsan_test")
            g.run("echo run > /sys/kernel/debug/kunit/kcsan/run", timeout=300)
            g.wait_console(r"BUG: KCSAN: data-race", timeout=60)
    print("self-test, as the harness reported it:", str(failure.value).splitlines()[1].strip())


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


def test_guest_that_does_not_power_off_fails(make_guest):
    """A guest whose shutdown path hangs must fail its case, not be killed
    quietly. Its vCPUs stopped (QMP `stop`), the guest cannot carry out the
    `poweroff -f` the harness sends: to the harness it is a guest hung in
    power-off, and the run fails once `poweroff_s` has passed."""
    with pytest.raises(GuestError, match="did not power off within 5 s"):
        with make_guest(pvscsi=False) as g:
            g.poweroff_s = 5
            with g.qmp() as mon:
                mon.cmd("stop")


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


def test_qmp_wrapper_passes_every_argument():
    """The QMP wrapper notes a device_del and passes any command on with
    its arguments, one of which may be called `name` (make bench's
    trace-event-set-state failed on that, unseen, for a stop)."""

    class Fake:
        def cmd(self, command, **kwargs):
            return (command, kwargs)

    class FakeGuest:
        tore_down = False

    g = FakeGuest()
    mon = _Monitor(Fake(), g)
    assert mon.cmd("trace-event-set-state", name="pvscsi_*", enable=True) == \
        ("trace-event-set-state", {"name": "pvscsi_*", "enable": True})
    assert not g.tore_down
    mon.cmd("device_del", id="disk-x")
    assert g.tore_down


KASAN_EDGE = "[    0.9] BUG: KASAN: wild-memory-access in handle_edge_irq+0x1/0x2"
DRIVER_LINE = "[    9.1] vmw_pvscsi_rs 0000:00:02.0: PVSCSI adapter at BAR 0, 64-bit DMA"


@pytest.mark.parametrize("lines,allowed", [
    ([KASAN_EDGE], True),
    ([KASAN_EDGE, DRIVER_LINE], True),
    # Any other report, or the known one once the driver spoke: no retry.
    (["[    0.9] BUG: KASAN: slab-use-after-free in f+0x1/0x2"], False),
    ([KASAN_EDGE, "[    1.0] WARNING: CPU: 1 PID: 7 at x.c:1 f+0x1/0x2"], False),
    ([DRIVER_LINE, KASAN_EDGE], False),
    ([KASAN_EDGE, DRIVER_LINE, KASAN_EDGE], False),
    ([DRIVER_LINE], False),
], ids=["known", "known-then-driver", "other", "known-and-other", "driver-then-known",
        "known-again-after-driver", "no-report"])
def test_boot_is_retried_only_for_the_known_early_report(lines, allowed):
    """A guest boots again only for the known pre-driver report
    (BOOT_RETRY_SIGNATURES), never for another report, and never once the
    driver said anything."""
    assert boot_retry_allowed("\n".join(["[    0.0] Linux version 7.3.4", *lines])) == allowed


STOCK_INT3 = ["[    1.30] Oops: int3: 0000 [#1] SMP NOPTI",
              "[    1.30] Oops: int3: 0000 [#2] SMP NOPTI",
              "[    1.30] Kernel panic - not syncing: Fatal exception in interrupt"]


def test_stock_kernel_boot_retry_takes_only_its_early_int3_oops():
    """Debian 13's stock kernel guests (harness/debian13.py) may boot again
    for the early int3 Oops TCG causes, before the driver's first line;
    other guests may not, and an int3 Oops after the driver spoke fails."""
    from harness.debian13 import STOCK_BOOT_RETRY_SIGNATURES
    from harness.guest import BOOT_RETRY_SIGNATURES
    stock = [*BOOT_RETRY_SIGNATURES, *STOCK_BOOT_RETRY_SIGNATURES]
    log = "\n".join(["[    0.0] Linux version 7.3.4", *STOCK_INT3])
    assert boot_retry_allowed(log, stock)
    assert not boot_retry_allowed(log)
    assert not boot_retry_allowed("\n".join([DRIVER_LINE, *STOCK_INT3]), stock)
    assert not boot_retry_allowed("\n".join([*STOCK_INT3, "[    1.4] BUG: unable to handle page fault"]),
                                  stock)


def write_lane_conftest(tmp_path) -> None:
    """Writes a conftest.py into `tmp_path` that loads this directory's
    conftest.py and uses its lane hooks (collection and marker), for a
    synthetic suite run by a real pytest."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    (tmp_path / "conftest.py").write_text(
        "import importlib.util, sys\n"
        f"sys.path.insert(0, {str(here.parent)!r})\n"
        f"spec = importlib.util.spec_from_file_location('lanes', {str(here / 'conftest.py')!r})\n"
        "m = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(m)\n"
        "pytest_collection_modifyitems = m.pytest_collection_modifyitems\n"
        "pytest_configure = m.pytest_configure\n")


def test_lanes_keep_each_file_whole(tmp_path):
    """make test's two lanes (conftest.py LIGHT_LANE, pytest-xdist
    `--dist loadgroup`) give every file to one worker, in order: files of
    each lane, three cases each, run by a real two-worker pytest with the
    real collection hook. The hook's first version set the lane marks
    after xdist had read them; each case was then scheduled alone, and the
    last case of test_foundation.py ran on the other worker, in a guest
    that had never loaded the module."""
    import subprocess
    import sys

    write_lane_conftest(tmp_path)
    files = ["test_foundation.py", "test_eh.py", "test_scan.py", "test_pm.py"]
    for name in files:
        (tmp_path / name).write_text(
            "import os, time, pytest\n"
            + "".join(f"def test_{c}():\n    time.sleep(0.2)\n"
                      f"    with open({str(tmp_path / 'ran')!r}, 'a') as f:\n"
                      f"        f.write(f\"{{__name__}} {{os.environ['PYTEST_XDIST_WORKER']}}\\n\")\n"
                      for c in "abc")
            # A case of a heavy file that a lane mark moves to the light lane.
            + ("@pytest.mark.lane('light')\ndef test_moved():\n"
               f"    with open({str(tmp_path / 'ran')!r}, 'a') as f:\n"
               "        f.write(f\"moved {os.environ['PYTEST_XDIST_WORKER']}\\n\")\n"
               if name == "test_eh.py" else ""))
    res = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          "-n", "2", "--dist", "loadgroup", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    workers: dict[str, set[str]] = {}
    for line in (tmp_path / "ran").read_text().splitlines():
        module, worker = line.split()
        workers.setdefault(module, set()).add(worker)
    moved = workers.pop("moved", None)
    assert sorted(workers) == sorted(f[:-3] for f in files), workers
    assert all(len(w) == 1 for w in workers.values()), workers
    # The light and the heavy files ran on different workers.
    assert workers["test_foundation"] == workers["test_scan"] != workers["test_eh"], workers
    # The marked case ran in the light lane.
    assert moved == workers["test_foundation"], (moved, workers)


def test_lane_mark_refuses_a_shared_guest(tmp_path):
    """A `lane` mark on a case whose guest is shared with its file (a
    module-scoped fixture) would boot that guest again in the other lane:
    collection refuses it and names the fixture."""
    import subprocess
    import sys

    write_lane_conftest(tmp_path)
    (tmp_path / "test_eh.py").write_text(
        "import pytest\n"
        "@pytest.fixture(scope='module')\ndef shared_guest():\n    return 1\n"
        "@pytest.mark.lane('light')\ndef test_a(shared_guest):\n    pass\n")
    res = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          "--collect-only", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode != 0, res.stdout
    assert "shares shared_guest" in res.stdout + res.stderr, res.stdout + res.stderr
