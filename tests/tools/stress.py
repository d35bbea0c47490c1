#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make stress`: the stress campaign, on the debug kernel.

Runs the stress tests of tests/integration (every case marked `stress`, the
ones CASES does not name after those it does; test_eh_storm.py: reset storms on
two disks under fio verify, repeated aborts beside a verifying disk, host
resets during hot-adds; test_pm.py's sleep cycles) with PVSCSI_STRESS_SCALE
(`--scale`, default 5) times the work `make test` gives them, `--repeat` times
each. Prints progress as each case ends and writes a JSON summary
(build/stress/<time>/results.json: per case, the runs, passes, failures and
durations, and the figures the tests print).
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
]


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=5, help="work per case, in make-test units")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each case")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    args = ap.parse_args()
    out = TOP / "build" / "stress" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PVSCSI_STRESS_SCALE=str(args.scale))
    results = []
    failed = 0
    cases = [c for c in with_the_rest(CASES) if args.k in c]
    for n in range(args.repeat):
        for case in cases:
            junit = out / f"{len(results)}.xml"
            print(f">>> [{len(results) + 1}/{len(cases) * args.repeat}] {case} (scale {args.scale})",
                  flush=True)
            start = time.monotonic()
            res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                                  f"--junitxml={junit}", str(TOP / "tests/integration" / case)],
                                 cwd=TOP / "tests", env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            took = time.monotonic() - start
            (out / f"{len(results)}.log").write_text(res.stdout)
            ok = bad = 0
            if junit.exists():
                for suite in ET.parse(junit).getroot().iter("testsuite"):
                    bad_here = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
                    bad += bad_here
                    ok += int(suite.get("tests", 0)) - bad_here - int(suite.get("skipped", 0))
            if res.returncode != 0 and bad == 0:
                bad = 1
            failed += bad
            figures = [line for line in res.stdout.splitlines()
                       if re.match(r"(reset storm|C driver after S3|aborts|sleep)", line)]
            results.append({"case": case, "run": n + 1, "scale": args.scale, "passed": ok,
                            "failed": bad, "seconds": round(took, 1), "figures": figures})
            print(f"    {'ok' if bad == 0 else 'FAILED'} in {took:.0f} s" +
                  "".join(f"\n    {f}" for f in figures), flush=True)
    summary = {"scale": args.scale, "repeat": args.repeat, "kconfig": "debug",
               "passed": sum(r["passed"] for r in results), "failed": failed, "cases": results}
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"results: {out / 'results.json'}")
    print(f"summary: {summary['passed']} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
