#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make profile`: where the guest kernel spends instructions per I/O, for
each driver under the same fio load.

A QEMU TCG plugin (tbprof/tbprof.c) counts the instructions executed in every
kernel translation block while one guest (perf kernel, icount mode) loads a
driver and runs 4 KiB random reads at QD32 on a null-co disk. Blocks are
mapped to symbols with the guest's /proc/kallsyms. The report lists each
driver's own functions, in instructions per I/O, and the kernel functions
whose cost differs most between the drivers.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import paths  # noqa: E402
from harness.guest import Disk, Guest, GuestConfig  # noqa: E402
from harness.scsi import load  # noqa: E402

DRIVERS = ["vmw_pvscsi", "vmw_pvscsi_rs"]


def build_plugin(out: Path) -> Path:
    src = Path(__file__).resolve().parent / "tbprof" / "tbprof.c"
    so = out / "tbprof.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-o", str(so), str(src)],
                   check=True)
    return so


def profile(driver: str, plugin: Path, out: Path, ios: int) -> tuple[collections.Counter, int]:
    counts = out / f"{driver}.tb"
    cfg = GuestConfig(kconfig="perf", icount=True, name=f"profile-{driver}",
                      disks=[Disk(scsi_id=0, size_mb=1024, backend="null")],
                      extra_qemu=["-plugin", f"file={plugin},out={counts}"])
    with Guest(cfg) as g:
        dev = sorted(load(g, driver, 1).values())[0]
        g.run(f"fio --name=p --filename=/dev/{dev} --direct=1 --ioengine=libaio --rw=randread "
              f"--bs=4k --iodepth=32 --number_ios={ios} --size=1g > /dev/null", timeout=900)
        syms = g.run("cat /proc/kallsyms", timeout=120)
    table = sorted((int(p[0], 16), " ".join(p[2:])) for p in (line.split() for line in syms.splitlines())
                   if len(p) >= 3 and p[1] in "tTwW")
    addrs = [a for a, _ in table]
    per: collections.Counter = collections.Counter()
    for line in counts.read_text().splitlines():
        vaddr, insns = line.split()
        i = bisect.bisect_right(addrs, int(vaddr, 16)) - 1
        per[table[i][1] if i >= 0 else "?"] += int(insns)
    return per, ios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ios", type=int, default=20000)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    out = paths.TOP / "build" / "profile" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    plugin = build_plugin(out)
    res = {d: profile(d, plugin, out, args.ios) for d in DRIVERS}
    for d, (per, ios) in res.items():
        own = [(k, v) for k, v in per.items() if f"[{d}]" in k]
        print(f"\n>>> {d}: its own functions, instructions per I/O "
              f"(total {sum(v for _, v in own) / ios:.1f})")
        for k, v in sorted(own, key=lambda kv: -kv[1]):
            if v / ios >= 1:
                print(f"  {v / ios:8.1f}  {k[:100]}")
    (c, n), (r, _) = res[DRIVERS[0]], res[DRIVERS[1]]
    print(f"\n>>> kernel functions that differ most ({DRIVERS[1]} - {DRIVERS[0]}), per I/O "
          "(whole run: boot and idle included, so only large, I/O-path entries mean much)")
    diff = {k: r.get(k, 0) - c.get(k, 0) for k in set(c) | set(r)}
    for k, v in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:args.top]:
        print(f"  {v / n:+9.1f}  {k[:100]}")
    print(f"\nraw counts: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
