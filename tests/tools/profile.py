#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make profile`: where the guest kernel spends instructions per I/O, for
each driver under the same fio load.

A QEMU TCG plugin (tbprof/tbprof.c) counts the instructions executed in every
kernel translation block while one guest (perf kernel, icount mode) loads a
driver and runs 4 KiB random reads at QD32 (--iodepth) on a null-co disk. Blocks are
mapped to symbols with the guest's /proc/kallsyms. Each driver runs twice, with
N and 2N I/Os, and the report uses the difference of the two runs divided by
N: boot, module loading and idle cancel out, leaving the cost of one I/O. It
lists each driver's own functions, in instructions and in translation blocks
executed per I/O, and the kernel functions whose cost differs most between the
drivers. Blocks matter under TCG beyond their instructions: every block
executed costs a dispatch (and, after a return or an indirect jump, a lookup),
so of two paths with the same instructions the one with more blocks is slower
in wall-clock time. The raw counts, the per-block counts and /proc/kallsyms are
kept under build/profile/<time>/.
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


def profile(driver: str, plugin: Path, out: Path, ios: int, qd: int) -> collections.Counter:
    """Instructions per kernel symbol, and per (symbol, block offset), and
    block executions per ("blocks", symbol), over a whole guest run with `ios`
    I/Os."""
    counts = out / f"{driver}-{ios}.tb"
    cfg = GuestConfig(kconfig="perf", icount=True, name=f"profile-{driver}",
                      disks=[Disk(scsi_id=0, size_mb=1024, backend="null")],
                      extra_qemu=["-plugin", f"file={plugin},out={counts}"])
    with Guest(cfg) as g:
        dev = sorted(load(g, driver, 1).values())[0]
        g.run(f"fio --name=p --filename=/dev/{dev} --direct=1 --ioengine=libaio --rw=randread "
              f"--bs=4k --iodepth={qd} --number_ios={ios} --size=1g > /dev/null", timeout=900)
        syms = g.run("cat /proc/kallsyms", timeout=120)
    (out / f"{driver}-{ios}.kallsyms").write_text(syms)
    table = sorted((int(p[0], 16), " ".join(p[2:])) for p in (line.split() for line in syms.splitlines())
                   if len(p) >= 3 and p[1] in "tTwW")
    addrs = [a for a, _ in table]
    per: collections.Counter = collections.Counter()
    for line in counts.read_text().splitlines():
        vaddr, insns, runs = line.split()
        i = bisect.bisect_right(addrs, int(vaddr, 16)) - 1
        name = table[i][1] if i >= 0 else "?"
        per[name] += int(insns)
        per[(name, int(vaddr, 16) - (table[i][0] if i >= 0 else 0))] += int(insns)
        per[("blocks", name)] += int(runs)
    return per


def per_io(driver: str, plugin: Path, out: Path, ios: int, qd: int) -> tuple[collections.Counter, int]:
    """Instructions per kernel symbol for `ios` I/Os: a run with 2 * `ios`
    minus a run with `ios`, so that everything but the I/O cancels out."""
    print(f">>> {driver}: {ios} and {2 * ios} I/Os at QD{qd}", flush=True)
    one, two = profile(driver, plugin, out, ios, qd), profile(driver, plugin, out, 2 * ios, qd)
    delta = collections.Counter()
    for k in set(one) | set(two):
        delta[k] = two.get(k, 0) - one.get(k, 0)
    return delta, ios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ios", type=int, default=20000)
    ap.add_argument("--iodepth", type=int, default=32,
                    help="fio queue depth (at QD1 the idle loop runs between I/Os; it is "
                         "counted, but executes few instructions with -icount sleep=off)")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--annotate", metavar="TEXT", action="append", default=[],
                    help="also list the blocks (offset: instructions per I/O) of the "
                         "functions whose name contains TEXT")
    args = ap.parse_args()
    out = paths.TOP / "build" / "profile" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    plugin = build_plugin(out)
    res = {d: per_io(d, plugin, out, args.ios, args.iodepth) for d in DRIVERS}
    for d, (per, ios) in res.items():
        blocks = {k[1]: v for k, v in per.items() if isinstance(k, tuple) and k[0] == "blocks"}
        print(f"\n>>> {d}: whole kernel, per I/O: "
              f"{sum(v for k, v in per.items() if isinstance(k, str)) / ios:.0f} instructions, "
              f"{sum(blocks.values()) / ios:.0f} blocks")
        own = [(k, v) for k, v in per.items() if isinstance(k, str) and f"[{d}]" in k]
        print(f"\n>>> {d}: its own functions, instructions and blocks per I/O "
              f"(total {sum(v for _, v in own) / ios:.1f} and "
              f"{sum(blocks.get(k, 0) for k, _ in own) / ios:.1f})")
        for k, v in sorted(own, key=lambda kv: -kv[1]):
            if v / ios >= 1:
                print(f"  {v / ios:8.1f} {blocks.get(k, 0) / ios:6.1f}  {k[:100]}")
        for text in args.annotate:
            offs = sorted((k[1], v) for k, v in per.items()
                          if isinstance(k, tuple) and isinstance(k[1], int)
                          and text in k[0] and f"[{d}]" in k[0] and v)
            if offs:
                print(f"  blocks of *{text}*: " + ", ".join(f"{o:#x}:{v / ios:.1f}" for o, v in offs))
    (c, n), (r, _) = res[DRIVERS[0]], res[DRIVERS[1]]
    for what, keep in (("instructions", lambda k: isinstance(k, str)),
                       ("blocks", lambda k: isinstance(k, tuple) and k[0] == "blocks")):
        print(f"\n>>> kernel functions whose {what} differ most ({DRIVERS[1]} - {DRIVERS[0]}), per I/O")
        diff = {k: r.get(k, 0) - c.get(k, 0) for k in set(c) | set(r) if keep(k)}
        for k, v in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:args.top]:
            print(f"  {v / n:+9.1f}  {(k if isinstance(k, str) else k[1])[:100]}")
    print(f"\nraw counts: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
