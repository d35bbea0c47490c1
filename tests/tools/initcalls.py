#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The debug kernel's slowest initcalls: boots a guest (no driver) with
`initcall_debug ignore_loglevel` and prints the 25 slowest and their sum.

    tests/tools/initcalls.py
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.guest import Guest, GuestConfig  # noqa: E402


def main() -> int:
    cfg = GuestConfig(kconfig="debug", name="initcalls", append="initcall_debug ignore_loglevel",
                      c_modules=False)
    with Guest(cfg, with_rs=False) as g:
        console = g.console()
    calls = sorted(((int(m.group(2)), m.group(1)) for m in
                    re.finditer(r"initcall (\S+) returned \S+ after (\d+) usecs", console)), reverse=True)
    for us, name in calls[:25]:
        print(f"{us / 1e6:7.3f} s {name}")
    print(f"total {sum(us for us, _ in calls) / 1e6:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
