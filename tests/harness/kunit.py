# SPDX-License-Identifier: GPL-2.0
"""Collects the module's KUnit results in a guest and parses them with the
kernel's own tools/testing/kunit/kunit.py.

KUnit runs a module's suites when the module goes live (right after insmod
returns) and keeps each suite's KTAP log in
/sys/kernel/debug/kunit/<suite>/results until the module unloads.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from . import paths
from .guest import Guest

SUITE_PREFIX = "vmw_pvscsi_rs_"


@dataclasses.dataclass
class KunitResult:
    """What kunit.py made of the results."""

    passed: int
    failed: int
    skipped: int
    names: list[str]  # the suites' names, in the order they ran
    ok: bool
    report: str  # kunit.py's human-readable output


def run_suites(g: Guest, prefix: str = SUITE_PREFIX) -> None:
    """Runs every suite whose name starts with `prefix` (vmw_pvscsi_rs's by
    default) now (guests boot with `kunit.autorun=0`, so loading the module
    ran none)."""
    g.run(f"for d in /sys/kernel/debug/kunit/{prefix}*; do echo run > \"$d/run\"; done",
          timeout=300)


def collect(g: Guest, prefix: str = SUITE_PREFIX) -> str:
    """Returns one KTAP document with the results of every suite whose name
    starts with `prefix` (vmw_pvscsi_rs's by default)."""
    out = g.run(f"for d in /sys/kernel/debug/kunit/{prefix}*; do "
                "[ -e \"$d/results\" ] || continue; echo '@@SUITE'; cat \"$d/results\"; done")
    docs = [d for d in out.split("@@SUITE\n") if d.strip()]
    lines = ["KTAP version 1", f"1..{len(docs)}"]
    for i, doc in enumerate(docs, 1):
        body = doc.rstrip("\n").splitlines()
        # Drop the document header ("KTAP version 1", "1..1") and renumber the
        # suite's result line ("ok 1 <suite>") to its place in the merged plan.
        body = body[2:]
        last = body[-1]
        for word in ("not ok 1 ", "ok 1 "):
            if last.startswith(word):
                body[-1] = word.replace(" 1 ", f" {i} ") + last[len(word):]
                break
        lines += body
    return "\n".join(lines) + "\n"


def parse(ktap: str, log_dir: Path | None = None) -> KunitResult:
    """Parses KTAP with kunit.py; returns the counts and its report."""
    tool = paths.kernel_source() / "tools/testing/kunit/kunit.py"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "results.ktap"
        src.write_text(ktap)
        js = Path(tmp) / "results.json"
        res = subprocess.run([sys.executable, str(tool), "parse", f"--json={js}", str(src)],
                             capture_output=True, text=True)
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)
            (log_dir / "kunit.ktap").write_text(ktap)
            (log_dir / "kunit.txt").write_text(res.stdout + res.stderr)
        data = json.loads(js.read_text()) if js.exists() else {}
    counts = {"PASS": 0, "SKIP": 0, "FAIL": 0}

    def walk(group: dict) -> None:
        for case in group.get("test_cases", []):
            status = case.get("status")
            counts[status if status in counts else "FAIL"] += 1
        for sub in group.get("sub_groups", []):
            walk(sub)

    walk(data)
    passed, skipped, failed = counts["PASS"], counts["SKIP"], counts["FAIL"]
    suites = data.get("sub_groups", [])
    ok = res.returncode == 0 and failed == 0 and passed > 0
    names = [g.get("name", "") for g in suites]
    return KunitResult(passed, failed, skipped, names, ok, res.stdout + res.stderr)


def check_suite(g: Guest, suite: str, cases: int, log_dir: Path) -> KunitResult:
    """Runs suite `suite` now and asserts that it alone ran, passed, and
    passed `cases` cases (kunit.py's report is printed, for the log)."""
    run_suites(g, suite)
    result = parse(collect(g, suite), log_dir)
    print(result.report)
    assert result.ok and result.failed == 0, result.report
    assert result.names == [suite], result.names
    assert result.passed == cases, result.report
    return result
