#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make stress`: the stress campaign, on the debug and kcsan kernels.

Two stages, each on its own test kernel (`--only debug|kcsan` runs one):

debug   the stress tests of tests/integration (every case marked `stress`,
        the ones CASES does not name after those it does; test_eh_storm.py:
        reset storms on two disks under fio verify, repeated aborts beside a
        verifying disk, host resets during hot-adds; test_pm.py's sleep
        cycles) on the `debug` kernel (KASAN, lockdep, ...), the root-disk
        and in-tree cases on the `builtin` and `intree` kernels, and
        test_debian13.py on Debian 13's stock kernel (scripts/debian13).
kcsan   the concurrency cases (KCSAN_CASES: reset storm, polled and
        interrupt-driven I/O at once, hot-plug storm, a host reset during a
        hot-add, aborts beside I/O) on the `kcsan` kernel: the debug kernel
        with the KCSAN data-race detector in place of KASAN
        (scripts/kconfig/kcsan.config). KCSAN instruments C only, not Rust:
        it watches the SCSI midlayer, blk-mq, the kernel crate's C helpers
        and the driver's C glue, not the driver's Rust code. Every KCSAN
        report on a guest's console fails its case (harness/console.py).

Each stage builds its kernels and the module first when they are missing
(a cold build of the debug kernel takes 6 to 13 minutes on 2 cores;
progress on stderr).
Every case runs with PVSCSI_STRESS_SCALE (`--scale`, default 5) times the
work `make test` gives it, `--repeat` times. Prints progress as each case
ends and each stage's duration, and writes a JSON summary
(build/stress/<time>/results.json: per stage its kernel, counts and
duration; per case the stage, the runs, passes, failures and durations, the
figures the tests print and the KCSAN reports found).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
CASES = [
    "test_eh_storm.py::test_reset_storm_under_verify",
    "test_eh_storm.py::test_aborts_while_other_disk_verifies",
    "test_eh_storm.py::test_host_reset_during_hot_add",
    "test_pm.py::test_pm_test_devices",
    "test_pm.py::test_hibernate_and_restore",
    "test_pm.py::test_s3_suspend_and_wake",
    "test_pm.py::test_s2idle_and_wake",
    "test_pm.py::test_c_driver_through_s3",
    "test_adversity.py::test_lying_device",
    "test_adversity.py::test_c_driver_trusts_context_ids",
    "test_abort.py::test_abort_of_timed_out_command",
    "test_lifecycle.py::test_c_driver_crashes_with_ring_pages_3",
    "test_adversity.py::test_command_the_device_never_completes",
    "test_adversity.py::test_device_that_keeps_producing",
    "test_platform.py",
    "test_sense.py::test_sense_while_contexts_are_reused",
    "test_io.py::test_filesystem_fill_and_read_back",
    "test_sense.py",
    "test_shutdown.py",
    # Debian 13's stock kernel with the DKMS package (one node: its three
    # cases share the installed system and its images, about 7 minutes).
    "test_debian13.py",
]
# The kcsan stage: the cases where the driver's paths run concurrently with
# each other and with the SCSI midlayer and blk-mq (node ids, relative to
# tests/integration).
KCSAN_CASES = [
    # The self-test: a deliberate data race (KCSAN's own test) must fail its
    # guest, or the stage proves nothing.
    "test_console_checker.py::test_guest_run_with_a_data_race_fails",
    # Reset storm: device, target, bus and host resets of two disks at once,
    # racing each other and the completions of the I/O they cancel, under
    # fio verify.
    "test_eh_storm.py::test_reset_storm_under_verify",
    # Polled (io_uring IOPOLL through the poll queue, reaped by mq_poll) and
    # interrupt-driven I/O at once on one disk.
    "test_poll.py::test_polled_io_needs_no_interrupt",
    # Hot-plug storm: bursts of hot-adds and removals that overflow the
    # message ring (the driver's rescan), under verify on two controllers.
    "test_platform.py::test_hotplug_storm_overflows_message_ring",
    # A host reset during each hot-add (the reset's rescan and the
    # hot-plug work item).
    "test_eh_storm.py::test_host_reset_during_hot_add",
    # Host resets beside a task polling the poll queue (issue 27, defect 2).
    "test_poll.py::test_host_resets_beside_a_poller",
    # Aborts of timed-out commands, again and again, beside a verifying disk.
    "test_eh_storm.py::test_aborts_while_other_disk_verifies",
]
# The kernels the debug stage's cases need besides `debug` (test file ->
# scripts/kernel variant); each takes about 16 minutes to build cold.
EXTRA_KERNELS = {"test_root_disk.py": "builtin", "test_intree.py": "intree",
                 "test_midlayer_uaf.py": "uaf"}
# The lines of a case's output kept as its figures.
FIGURES = re.compile(r"(reset storm|hot-plug storm|polled|C driver after S3|aborts|sleep)")
# A KCSAN report as the console checker words it in a GuestError.
KCSAN_REPORT = re.compile(r"KCSAN report: .*")


def stress_marked() -> list[str]:
    """The node ids (relative to tests/integration) of every case marked
    `stress`, whether CASES names it or not."""
    res = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                          "no:cacheprovider", "-m", "stress", str(TOP / "tests/integration")],
                         cwd=TOP / "tests", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    prefix = "integration/"
    return [line[len(prefix):] for line in res.stdout.splitlines() if line.startswith(prefix)]


def with_the_rest(cases: list[str]) -> list[str]:
    """CASES, then every stress-marked case none of them covers (a case
    moved out of `make test` is never left out of `make stress`)."""
    rest = []
    for node in stress_marked():
        function = node.split("[", 1)[0]
        if not any(function == c or function.startswith(c + "::") or node.startswith(c)
                   for c in cases + rest):
            rest.append(function)
    return cases + rest


def stages(only: str | None, k: str) -> list[dict]:
    """The stages to run (`only` one of them, or all), each with its kernel
    and its cases (those whose node id contains `k`)."""
    found = []
    if only in (None, "debug"):
        found.append({"stage": "debug", "kconfig": "debug",
                      "cases": [c for c in with_the_rest(CASES) if k in c]})
    if only in (None, "kcsan"):
        found.append({"stage": "kcsan", "kconfig": "kcsan",
                      "cases": [c for c in KCSAN_CASES if k in c]})
    return found


def prepare(stage: dict) -> bool:
    """Builds what the stage's cases need when it is missing: the module
    (and the SCSI layer's sample) against the stage's kernel, which builds
    that kernel first, and the debug stage's other kernels. Progress goes
    to stderr. Returns whether every build succeeded."""
    steps = [(f"the module against the {stage['kconfig']} kernel",
              [str(TOP / "scripts/module"), "build"])]
    for test_file, variant in EXTRA_KERNELS.items():
        if any(c.startswith(test_file) for c in stage["cases"]):
            steps.append((f"the {variant} kernel", [str(TOP / "scripts/kernel"), "build", variant]))
    env = dict(os.environ, KCONFIG=stage["kconfig"])
    for what, cmd in steps:
        print(f">>> {stage['stage']} stage: building {what} if missing", flush=True)
        if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode != 0:
            print(f">>> {stage['stage']} stage: FAILED to build {what} (see above); "
                  "its cases do not run", flush=True)
            return False
    return True


def run_case(case: str, kconfig: str, scale: int, junit: Path, log: Path) -> dict:
    """Runs one case (a node id relative to tests/integration) with pytest
    on the `kconfig` kernel and returns its counts, duration, figures and
    KCSAN reports."""
    # Every guest that had the driver runs the leak scans (make test: only
    # those that tore a driver down, for its time budget).
    env = dict(os.environ, PVSCSI_STRESS_SCALE=str(scale), PVSCSI_KCONFIG=kconfig,
               PVSCSI_KMEMLEAK="all")
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                          f"--junitxml={junit}", str(TOP / "tests/integration" / case)],
                         cwd=TOP / "tests", env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    took = time.monotonic() - start
    log.write_text(res.stdout)
    ok = bad = 0
    if junit.exists():
        for suite in ET.parse(junit).getroot().iter("testsuite"):
            bad_here = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            bad += bad_here
            ok += int(suite.get("tests", 0)) - bad_here - int(suite.get("skipped", 0))
    if res.returncode != 0 and bad == 0:
        bad = 1
    figures = [line for line in res.stdout.splitlines() if FIGURES.match(line)]
    # The same report shows in the traceback and in pytest's summary.
    reports = list(dict.fromkeys(m.group(0).strip() for line in res.stdout.splitlines()
                                 if (m := KCSAN_REPORT.search(line))))
    return {"passed": ok, "failed": bad, "seconds": round(took, 1), "figures": figures,
            "kcsan_reports": reports}


def write_summary(out: Path, summary: dict) -> None:
    """Counts the cases' results into the summary and its stages, and
    writes it as out/results.json."""
    for stage in summary["stages"]:
        mine = [c for c in summary["cases"] if c["stage"] == stage["stage"]]
        stage["passed"] = sum(c["passed"] for c in mine)
        stage["failed"] = sum(c["failed"] for c in mine)
    summary["passed"] = sum(c["passed"] for c in summary["cases"])
    summary["failed"] = sum(c["failed"] for c in summary["cases"])
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=5, help="work per case, in make-test units")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each case")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--only", choices=["debug", "kcsan"],
                    help="run this stage only (debug: the campaign on the debug kernel; "
                         "kcsan: the concurrency cases on the kcsan kernel)")
    args = ap.parse_args()
    out = TOP / "build" / "stress" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    campaign_start = time.monotonic()
    summary = {"scale": args.scale, "repeat": args.repeat, "stages": [], "passed": 0,
               "failed": 0, "cases": []}
    for stage in stages(args.only, args.k):
        name, kconfig, cases = stage["stage"], stage["kconfig"], stage["cases"]
        if not cases:
            print(f">>> {name} stage: no case matches -k {args.k!r}; skipped", flush=True)
            continue
        print(f">>> {name} stage: {len(cases)} case(s) on the {kconfig} kernel, "
              f"scale {args.scale}, {args.repeat} run(s) each", flush=True)
        start = time.monotonic()
        record = {"stage": name, "kconfig": kconfig, "cases": len(cases), "passed": 0,
                  "failed": 0, "seconds": 0.0}
        summary["stages"].append(record)
        if not prepare(stage):
            summary["cases"].append({"stage": name, "kconfig": kconfig, "case": "(build)",
                                     "run": 1, "scale": args.scale, "passed": 0, "failed": 1,
                                     "seconds": 0.0, "figures": [], "kcsan_reports": []})
        else:
            total = len(cases) * args.repeat
            done = 0
            for n in range(args.repeat):
                for case in cases:
                    done += 1
                    print(f">>> [{name} {done}/{total}] {case} (scale {args.scale})", flush=True)
                    r = run_case(case, kconfig, args.scale, out / f"{name}-{done}.xml",
                                 out / f"{name}-{done}.log")
                    summary["cases"].append({"stage": name, "kconfig": kconfig, "case": case,
                                             "run": n + 1, "scale": args.scale, **r})
                    record["seconds"] = round(time.monotonic() - start, 1)
                    # Written after every case: a campaign of hours that
                    # stops half-way keeps what it did.
                    write_summary(out, summary)
                    print(f"    {'ok' if r['failed'] == 0 else 'FAILED'} in {r['seconds']:.0f} s" +
                          "".join(f"\n    {f}" for f in r["figures"]) +
                          "".join(f"\n    {k}" for k in r["kcsan_reports"]), flush=True)
        record["seconds"] = round(time.monotonic() - start, 1)
        write_summary(out, summary)
        minutes, seconds = divmod(int(record["seconds"]), 60)
        print(f">>> {name} stage ({kconfig} kernel): {record['passed']} passed, "
              f"{record['failed']} failed in {minutes} min {seconds} s", flush=True)
    write_summary(out, summary)
    minutes, seconds = divmod(int(time.monotonic() - campaign_start), 60)
    print(f"results: {out / 'results.json'}")
    print(f"make stress finished in {minutes} min {seconds} s")
    print(f"summary: {summary['passed']} passed, {summary['failed']} failed", flush=True)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
