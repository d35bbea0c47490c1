# SPDX-License-Identifier: GPL-2.0
"""Finds kernel error reports in a guest's console log.

Every guest run fails if its console shows one of these: a WARNING, a BUG, an
Oops, a KASAN, KCSAN or lockdep report, "sleeping function called from invalid
context" (a BUG), a Rust panic, a kernel panic, or a DMA-API debug report.

Every KCSAN data-race report fails the run (the `kcsan` kernel of `make
stress`), wherever the race is: in the SCSI layer, blk-mq, the driver's C
glue or unrelated core code alike. A race found outside the driver is
reported, not hidden; a decision to accept one must be written down where
it is made.
"""

import re

# Each pattern matches the first line of a report, after the printk timestamp.
PATTERNS = [
    (re.compile(r"WARNING: "), "kernel WARNING"),
    (re.compile(r"BUG: KASAN|KASAN: "), "KASAN report"),
    # "BUG: KCSAN: data-race in f / g", "BUG: KCSAN: assert: race in f".
    (re.compile(r"BUG: KCSAN: "), "KCSAN report"),
    (re.compile(r"\bBUG[: ]"), "kernel BUG"),
    (re.compile(r"\bOops\b"), "kernel Oops"),
    (re.compile(r"general protection fault"), "general protection fault"),
    (re.compile(r"UBSAN"), "UBSAN report"),
    # Lockdep reports start with "WARNING:" or "BUG:" except this one.
    (re.compile(r"INFO: trying to register non-static key"), "lockdep report"),
    (re.compile(r"sleeping function called from invalid context"), "sleep in atomic context"),
    (re.compile(r"panicked at|rust_panic"), "Rust panic"),
    (re.compile(r"Kernel panic"), "kernel panic"),
    # Reports name the driver and device; the boot banner does not.
    (re.compile(r"DMA-API: \S+ \S+: "), "DMA-API debug report"),
    (re.compile(r"INFO: task .* blocked for more than"), "hung task"),
    (re.compile(r"rcu: INFO: .* detected stalls"), "RCU stall"),
    (re.compile(r"unreferenced object 0x"), "kmemleak report"),
]

# Lines that look alarming but are not reports.
BENIGN = [
    # KUnit's own banner for a test that checks a warning is expected.
    re.compile(r"^\s*# "),
]


def find_reports(text: str) -> list[str]:
    """Returns "<kind>: <line>" for every report found in `text`."""
    found = []
    for line in text.splitlines():
        body = re.sub(r"^\[\s*\d+\.\d+\]\s*", "", line)
        if any(b.search(body) for b in BENIGN):
            continue
        for pattern, kind in PATTERNS:
            if pattern.search(body):
                found.append(f"{kind}: {line.strip()}")
                break
    return found
