#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make test`: every test of the project, in order.

1. Module build against the `debug` kernel, warnings as errors; QEMU with
   the VMware mode of its pvscsi device (scripts/qemu-vmware, once).
2. Static checks (`make check`: rustfmt, clippy, checkpatch, the ABI table).
3. Host unit tests (`cargo test` in tests/host).
4. Fuzz smoke run: each cargo-fuzz target of tests/fuzz for 200000
   executions from its committed corpus (`scripts/fuzz --smoke`).
5. Guest integration tests (pytest, tests/integration); the module's KUnit
   suites run in test_foundation's guest, and kunit.py parses their KTAP.
(The `builtin` kernel and its root-disk test belong to `make stress`.)

Any failure makes the run exit non-zero; a failing step says where its log is.
The last line counts every test that passed and failed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests"))

from harness import paths  # noqa: E402

KCONFIG = os.environ.get("PVSCSI_KCONFIG", "debug")
# Guests at a time in the integration step (PVSCSI_TEST_JOBS, 1 or 2; 2 by
# default): two lanes, the light files (tests/integration/conftest.py
# LIGHT_LANE) beside the others, each lane in file order (see "Two lanes" in
# Documentation/scsi/vmw_pvscsi_rs-testing.rst). More than 2 gains nothing:
# there are two lanes.
JOBS = min(2, max(1, int(os.environ.get("PVSCSI_TEST_JOBS", "2"))))
LOGS = paths.LOGS
# One line a guest (harness/guest.py _record_times): boot, leak scans, life.
GUESTS = LOGS / "guests.jsonl"
passed = failed = skipped = 0
failures: list[str] = []
# (reason, count) of the skipped integration cases, for the summary.
skip_reasons: dict[str, int] = {}
# Every step's title and duration, for durations.json.
steps: list[dict] = []
_step_start: float | None = None


def step(title: str) -> None:
    """Starts a step: prints its title and times it (until the next one)."""
    global _step_start
    now = time.monotonic()
    if steps and _step_start is not None:
        steps[-1]["seconds"] = round(now - _step_start, 1)
    if title:
        steps.append({"step": title, "seconds": None})
        print(f"\n=== {title}", flush=True)
    _step_start = now


def record(ok_count: int, fail_count: int, what: str | None = None) -> None:
    global passed, failed
    passed += ok_count
    failed += fail_count
    if fail_count and what:
        failures.append(what)


def run(cmd: list[str], log: Path | None = None, **kw) -> subprocess.CompletedProcess:
    """Runs a command, echoing its output as it comes (a cold kernel build
    prints a progress line a minute) and saving it to `log`."""
    lines = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1, **kw) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    out = "".join(lines)
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(out)
    return subprocess.CompletedProcess(cmd, proc.returncode, out)


def build() -> bool:
    step(f"module build ({KCONFIG} kernel, warnings are errors)")
    env = dict(os.environ, KCONFIG=KCONFIG)
    res = run([str(TOP / "scripts/module"), "build"], LOGS / "build.log", env=env)
    record(res.returncode == 0, res.returncode != 0, f"module build (log: {LOGS / 'build.log'})")
    return res.returncode == 0


def qemu_vmware() -> bool:
    step("QEMU with the VMware mode of pvscsi (tests/qemu/vmware-mode, built once)")
    res = run([str(TOP / "scripts/qemu-vmware"), "build"], LOGS / "qemu-vmware.log")
    record(res.returncode == 0, res.returncode != 0,
           f"QEMU VMware-mode build (log: {LOGS / 'qemu-vmware.log'})")
    return res.returncode == 0


def tree_kernels() -> bool:
    """The kernels whose own build makes the driver (scripts/kernel builtin
    and intree: the patch series of scripts/series applied to the 7.3
    source; intree builds it one patch at a time first), for the built-in
    root disk and the in-tree module guests. Cold, each is a whole kernel
    build (10 to 16 minutes here); warm, an incremental make that rebuilds
    what the project's changes touch."""
    step("the kernels that build the driver themselves (builtin: =y, intree: =m)")
    ok = True
    for variant in ("builtin", "intree"):
        res = run([str(TOP / "scripts/kernel"), "build", variant], LOGS / f"kernel-{variant}.log")
        record(res.returncode == 0, res.returncode != 0,
               f"{variant} kernel build (log: {LOGS / f'kernel-{variant}.log'})")
        ok = ok and res.returncode == 0
    return ok


def check() -> None:
    step("static checks: rustfmt, clippy, checkpatch")
    env = dict(os.environ, KCONFIG=KCONFIG)
    res = run([str(TOP / "scripts/module"), "check"], LOGS / "check.log", env=env)
    record(res.returncode == 0, res.returncode != 0, f"make check (log: {LOGS / 'check.log'})")


def host_tests() -> None:
    step("host unit tests (cargo test)")
    res = run(["cargo", "test", "--quiet", "--manifest-path", str(TOP / "tests/host/Cargo.toml")],
              LOGS / "host-tests.log")
    ok = bad = 0
    for m in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed", res.stdout):
        ok += int(m.group(1))
        bad += int(m.group(2))
    if res.returncode != 0 and bad == 0:
        bad = 1
    record(ok, bad, f"host unit tests (log: {LOGS / 'host-tests.log'})")


def fuzz_smoke() -> None:
    step("fuzz smoke run (cargo fuzz: each target, 200000 executions from its corpus)")
    out = LOGS / "fuzz-smoke"
    shutil.rmtree(out, ignore_errors=True)
    start = time.monotonic()
    res = run([str(TOP / "scripts/fuzz"), "--smoke", "--out", str(out)], LOGS / "fuzz-smoke.log")
    ok = bad = 0
    results = out / "results.json"
    if results.exists():
        summary = json.loads(results.read_text())
        for target in summary["targets"]:
            if target["crashes"] == 0 and target["executions"] >= summary["runs_per_target"]:
                ok += 1
            else:
                bad += 1
    if res.returncode != 0 and bad == 0:
        bad = 1
    print(f"fuzz smoke run: {ok} targets passed, {bad} failed in {time.monotonic() - start:.0f} s")
    record(ok, bad, f"fuzz smoke run (log: {LOGS / 'fuzz-smoke.log'}, inputs: {out / 'artifacts'})")


def integration_tests() -> None:
    step(f"guest integration tests (pytest, {KCONFIG} kernel, {JOBS} guest(s) at a time)")
    junit = LOGS / "pytest.xml"
    # The `stress` cases belong to `make stress`. With two jobs, pytest-xdist
    # gives each worker one lane (the `xdist_group` conftest.py sets), whole.
    parallel = ["-n", str(JOBS), "--dist", "loadgroup"] if JOBS > 1 else []
    res = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *parallel,
                          "-m", "not stress", "--durations=30", f"--junitxml={junit}",
                          str(TOP / "tests/integration")],
                         cwd=TOP / "tests")
    ok = bad = 0
    global skipped
    if junit.exists():
        root = ET.parse(junit).getroot()
        for suite in root.iter("testsuite"):
            tests = int(suite.get("tests", 0))
            bad_here = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            bad += bad_here
            ok += tests - bad_here - int(suite.get("skipped", 0))
        for case in root.iter("testcase"):
            skip = case.find("skipped")
            if skip is not None:
                skipped += 1
                reason = (skip.get("message") or "no reason given").strip()
                skip_reasons[reason] = skip_reasons.get(reason, 0) + 1
    if res.returncode != 0 and bad == 0:
        bad = 1
    record(ok, bad, f"integration tests (guest logs of failed runs: {LOGS})")


def write_durations(junit: Path, out: Path, total: float) -> None:
    """Every step's time (build, static checks, host tests, fuzz, the
    integration tests, whose test_foundation case runs the KUnit suites)
    and every integration case's, slowest first (what to trim when the run
    grows), with the whole run's; and every guest's life (boot, leak scans,
    the whole, and QEMU's CPU time to the boot's end and to the power-off),
    longest first, with their sums."""
    cases = []
    if junit.exists():
        cases = [{"case": f"{c.get('classname', '')}::{c.get('name', '')}",
                  "seconds": round(float(c.get("time", 0)), 1)}
                 for c in ET.parse(junit).getroot().iter("testcase")]
    cases.sort(key=lambda c: -c["seconds"])
    guests = []
    if GUESTS.exists():
        guests = [json.loads(line) for line in GUESTS.read_text().splitlines() if line.strip()]
    guests.sort(key=lambda g: -g.get("life_s", 0))
    out.write_text(json.dumps({"jobs": JOBS, "total_seconds": round(total, 1), "steps": steps,
                               "guest_count": len(guests),
                               "guest_seconds": {k: round(sum(g.get(k) or 0 for g in guests), 1)
                                                 for k in ("life_s", "boot_s", "leak_scan_s",
                                                           "cpu_s", "boot_cpu_s")},
                               "cases": cases, "guests": guests}, indent=2) + "\n")


def main() -> int:
    start = time.monotonic()
    LOGS.mkdir(parents=True, exist_ok=True)
    # A run that never reaches the integration step has no cases of its own.
    (LOGS / "pytest.xml").unlink(missing_ok=True)
    GUESTS.unlink(missing_ok=True)
    if build():
        qemu_vmware()
        tree_kernels()
        check()
        host_tests()
        fuzz_smoke()
        integration_tests()
    else:
        host_tests()
        fuzz_smoke()
    step("")
    total = time.monotonic() - start
    write_durations(LOGS / "pytest.xml", LOGS / "durations.json", total)
    minutes, seconds = divmod(int(total), 60)
    print(f"\n=== make test finished in {minutes} min {seconds} s (each step's and case's time: "
          f"{LOGS / 'durations.json'})")
    for f in failures:
        print(f"FAILED: {f}")
    for reason, count in sorted(skip_reasons.items()):
        print(f"skipped: {count} x {reason}")
    print(f"summary: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
