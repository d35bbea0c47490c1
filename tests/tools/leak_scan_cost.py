#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What a guest's memory size costs a teardown guest: boots the debug
kernel with each size given, loads and unloads the driver, and times the
harness's kmemleak scans (Guest.leaks(): two scans and the read) and the
guest's life.

    tests/tools/leak_scan_cost.py 2048 1024 768 [...]
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.guest import Disk, Guest, GuestConfig  # noqa: E402
from harness.scsi import RS, load  # noqa: E402


def main() -> int:
    for mb in [int(x) for x in sys.argv[1:]]:
        cfg = GuestConfig(kconfig="debug", memory_mb=mb, name=f"leak-scan-cost-{mb}",
                          disks=[Disk(scsi_id=0, size_mb=64)])
        t0 = time.monotonic()
        with Guest(cfg) as g:
            booted = time.monotonic() - t0
            load(g, RS, 1)
            g.run("rmmod vmw_pvscsi_rs")
            g.tore_down = True
            t1 = time.monotonic()
            leaks = g.leaks()
            scan = time.monotonic() - t1
        print(f"memory {mb} MiB: boot {booted:.1f} s, leak scans {scan:.1f} s, "
              f"life {time.monotonic() - t0:.1f} s (with a second scan at the power-off), "
              f"reports of ours: {len(leaks)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
