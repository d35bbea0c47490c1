#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make profile`: where the guest kernel spends instructions per I/O, for
each driver under the same fio load.

A QEMU TCG plugin (tbprof/tbprof.c) counts the instructions executed in every
kernel translation block while one guest (perf kernel, icount mode) loads a
driver and runs 4 KiB random reads (--rw, --bs) at QD1 and QD32 (--iodepth)
on a null-co disk. Blocks are mapped to symbols with the guest's
/proc/kallsyms. Each driver runs twice, with
N and 2N I/Os, and the report uses the difference of the two runs divided by
N: boot, module loading and idle cancel out, leaving the cost of one I/O. It
lists each driver's own functions, in instructions and in translation blocks
executed per I/O, and the kernel functions whose cost differs most between the
drivers. Blocks matter under TCG beyond their instructions: every block
executed costs a dispatch (and, after a return or an indirect jump, a lookup),
so of two paths with the same instructions the one with more blocks is slower
in wall-clock time. The raw counts, the per-block counts and /proc/kallsyms are
kept under build/profile/<time>/, with results.json: per depth and driver the
whole kernel's, the driver's own (its module's functions and the Rust
helpers they call), the DMA API's and the I/O stack's around the driver
(block layer, SCSI midlayer, sd, aio and io_uring) instructions per I/O, and
the ratios issue 10 sets targets for (own code 0.75, own code and DMA API 0.6).
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import paths  # noqa: E402
from harness.guest import Disk, Guest, GuestConfig  # noqa: E402
from harness.scsi import load  # noqa: E402

DRIVERS = ["vmw_pvscsi", "vmw_pvscsi_rs"]
# The null-co disk fio reads or writes, MiB.
DISK_MB = 1024
# fio access patterns --rw accepts.
RW = ("randread", "randwrite", "read", "write")


def block_size(text: str) -> int:
    """Bytes of a --bs value (4k, 512k, 1m, or bytes); argparse's type, so
    that a bad value is refused before anything boots."""
    units = {"k": 1 << 10, "m": 1 << 20}
    t = text.strip().lower()
    try:
        n = int(t[:-1]) * units[t[-1]] if t[-1:] in units else int(t)
    except ValueError:
        n = 0
    if n < 512 or n % 512 or n > 1 << 20:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a block size from 512 bytes to 1m, a multiple of 512 (for example 4k, 1m)")
    return n


def build_plugin(out: Path) -> Path:
    src = Path(__file__).resolve().parent / "tbprof" / "tbprof.c"
    so = out / "tbprof.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-o", str(so), str(src)],
                   check=True)
    return so


def profile(driver: str, plugin: Path, out: Path, ios: int, qd: int,
            kconfig: str = "perf", params: str = "", rw: str = "randread",
            bs: int = 4096) -> collections.Counter:
    """Instructions per kernel symbol, and per (symbol, block offset), and
    block executions per ("blocks", symbol), over a whole guest run with `ios`
    I/Os."""
    out.mkdir(parents=True, exist_ok=True)
    counts = out / f"{driver}-{ios}.tb"
    cfg = GuestConfig(kconfig=kconfig, icount=True, name=f"profile-{driver}",
                      disks=[Disk(scsi_id=0, size_mb=DISK_MB, backend="null")],
                      extra_qemu=["-plugin", f"file={plugin},out={counts}"])
    with Guest(cfg) as g:
        dev = sorted(load(g, driver, 1, params).values())[0]
        g.run(f"fio --name=p --filename=/dev/{dev} --direct=1 --ioengine=libaio --rw={rw} "
              f"--bs={bs} --iodepth={qd} --number_ios={ios} --size={DISK_MB}m > /dev/null",
              timeout=900)
        syms = g.run("cat /proc/kallsyms", timeout=120)
    (out / f"{driver}-{ios}.kallsyms").write_text(syms)
    return parse(counts.read_text(), syms)


def parse(counts: str, syms: str) -> collections.Counter:
    """profile()'s counts from the plugin's output (`counts`: a line per
    translation block, its address, instructions and executions) and the
    guest's /proc/kallsyms (`syms`)."""
    table = sorted((int(p[0], 16), " ".join(p[2:])) for p in (line.split() for line in syms.splitlines())
                   if len(p) >= 3 and p[1] in "tTwW")
    addrs = [a for a, _ in table]
    per: collections.Counter = collections.Counter()
    for line in counts.splitlines():
        vaddr, insns, runs = line.split()
        i = bisect.bisect_right(addrs, int(vaddr, 16)) - 1
        name = table[i][1] if i >= 0 else "?"
        off = int(vaddr, 16) - (table[i][0] if i >= 0 else 0)
        per[name] += int(insns)
        per[(name, off)] += int(insns)
        per[("blocks", name)] += int(runs)
        per[("runs", name, off)] += int(runs)
    return per


def disassembly(ko: Path, sym: str) -> list[tuple[int, str]]:
    """(offset, instruction) of each instruction of function `sym` in `ko`,
    with the symbols of its relocations (the callees of its calls)."""
    text = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", f"--disassemble={sym}", str(ko)],
                          capture_output=True, text=True, check=False).stdout
    rows: list[tuple[int, str]] = []
    base = last = None
    for line in text.splitlines():
        head = line.split(" <", 1)
        if len(head) == 2 and head[1].endswith(">:"):
            base = int(head[0], 16)
        elif base is not None and last is not None and "R_X86_64_" in line:
            # A relocation inside the last instruction (objdump lists the
            # section's earlier ones too, after the first instruction).
            at = int(line.split(":")[0], 16)
            if last < at < last + 16:
                off, insn = rows[-1]
                rows[-1] = (off, f"{insn}  -> {line.split()[-1]}")
        elif base is not None and ":\t" in line:
            addr, insn = line.split(":\t", 1)
            last = int(addr.strip(), 16)
            insn = " ".join(insn.split()).replace(f"<{sym}+", "<+")
            rows.append((last - base, insn))
    return rows


def annotate_function(per: collections.Counter, ios: int, name: str, ko: Path) -> None:
    """Prints function `name` ("symbol [module]") of `ko` disassembled, each
    instruction with how many times one I/O executes it. A translation block
    starting at an offset covers its instructions / executions instructions
    from there (blocks of other lengths at the same offset, from single-step
    or icount exits, are rare and mostly cancel in the difference of runs)."""
    sym = name.split(" ")[0]
    rows = disassembly(ko, sym)
    index = {off: j for j, (off, _) in enumerate(rows)}
    count = [0.0] * len(rows)
    for k, runs in per.items():
        if not (isinstance(k, tuple) and len(k) == 3 and k[0] == "runs" and k[1] == name and runs > 0):
            continue
        j = index.get(k[2])
        if j is None:
            continue
        length = round(per.get((name, k[2]), 0) / runs)
        for t in range(j, min(j + length, len(rows))):
            count[t] += runs / ios
    print(f"  --- {sym[:100]} ({ko.name}), executions per I/O, instruction")
    for (off, insn), c in zip(rows, count):
        if c >= 0.05:
            print(f"  {c:6.2f} {off:5x}  {insn[:90]}")


def per_io(driver: str, plugin: Path, out: Path, ios: int, qd: int,
           kconfig: str = "perf", params: str = "", rw: str = "randread",
           bs: int = 4096) -> tuple[collections.Counter, int]:
    """Instructions per kernel symbol for `ios` I/Os: a run with 2 * `ios`
    minus a run with `ios`, so that everything but the I/O cancels out."""
    print(f">>> {driver}{' ' + params if params else ''}: {ios} and {2 * ios} I/Os at QD{qd}",
          flush=True)
    one = profile(driver, plugin, out, ios, qd, kconfig, params, rw, bs)
    two = profile(driver, plugin, out, 2 * ios, qd, kconfig, params, rw, bs)
    delta = collections.Counter()
    for k in set(one) | set(two):
        delta[k] = two.get(k, 0) - one.get(k, 0)
    return delta, ios


# The DMA API: what a driver's mappings cost in kernel/dma/ (dma-direct,
# swiotlb, the debug hooks when enabled). The C driver maps and unmaps every
# command's sense buffer besides its data; vmw_pvscsi_rs maps data only.
DMA_PREFIXES = ("dma_map_", "dma_unmap_", "dma_direct_", "__dma_", "dma_sync_", "dma_need_",
                "dma_addressing_", "dma_capable", "swiotlb_", "is_swiotlb", "debug_dma_",
                "iommu_dma_", "scsi_dma_")
# Issue 10's targets, vmw_pvscsi_rs against vmw_pvscsi per I/O.
TARGET_OWN = 0.75
TARGET_OWN_DMA = 0.6


def is_dma(name: str) -> bool:
    return name.split(" ")[0].startswith(DMA_PREFIXES)


# The I/O stack around a driver, by function name: the block layer (blk-mq,
# its tags and mq-deadline), the SCSI midlayer and sd, and the aio and
# io_uring paths fio submits through. Its instructions per I/O say whether a
# driver makes the code around it do more work; unlike the whole kernel, they
# leave out the timer tick, the scheduler and console interrupts, whose share
# of a run moves by hundreds of instructions per I/O from one boot to the
# next. The DMA API is counted separately, not here.
IO_STACK_PREFIXES = ("blk_", "__blk_", "bio_", "__bio_", "submit_bio", "bvec_", "rq_", "elv_",
                     "dd_", "sbitmap_", "__sbitmap_", "part_", "update_io_ticks", "scsi_",
                     "__scsi_", "sd_", "aio_", "__do_sys_io_", "io_", "kiocb_", "blkdev_",
                     "__blkdev_")
# Prefixes above that name other things: the 8250 UART's port accessors.
IO_STACK_EXCLUDED = ("io_serial_",)


def is_io_stack(name: str) -> bool:
    sym = name.split(" ")[0]
    return (not is_dma(name) and sym.startswith(IO_STACK_PREFIXES)
            and not sym.startswith(IO_STACK_EXCLUDED))


def blocks_of(per: collections.Counter) -> dict:
    """Block executions per function, from profile()'s counts."""
    return {k[1]: v for k, v in per.items() if isinstance(k, tuple) and k[0] == "blocks"}


def own_of(driver: str, per: collections.Counter) -> dict:
    """Instructions per function of `driver`'s own code."""
    return {k: v for k, v in per.items() if isinstance(k, str) and f"[{driver}]" in k}


def helpers_of(per: collections.Counter) -> dict:
    """Instructions per Rust helper (`rust/helpers/`: the C functions through
    which the kernel crate reaches inline C, such as atomics, locks and MMIO
    accessors, when they are not inlined). Only Rust code calls them, and the
    only Rust code on the I/O path is the Rust driver, so they are its cost:
    where C inlines one instruction, Rust pays a call. They count in the
    driver's own code for the ratios."""
    return {k: v for k, v in per.items() if isinstance(k, str) and k.startswith("rust_helper_")}


def summarise(driver: str, per: collections.Counter, ios: int) -> dict:
    """The figures of one driver at one depth, per I/O."""
    funcs = {k: v for k, v in per.items() if isinstance(k, str)}
    blocks = blocks_of(per)
    own = own_of(driver, per)
    helpers = helpers_of(per)
    dma = {k: v for k, v in funcs.items() if is_dma(k)}
    io_stack = sum(v for k, v in funcs.items() if is_io_stack(k) and k not in own)
    return {
        "kernel_instructions": round(sum(funcs.values()) / ios, 1),
        "kernel_blocks": round(sum(blocks.values()) / ios, 1),
        # The module's functions and the Rust helpers they call.
        "own_instructions": round((sum(own.values()) + sum(helpers.values())) / ios, 1),
        "module_instructions": round(sum(own.values()) / ios, 1),
        "helper_instructions": round(sum(helpers.values()) / ios, 1),
        "helper_functions": {k.split(" ")[0]: round(v / ios, 1)
                             for k, v in sorted(helpers.items(), key=lambda kv: -kv[1])
                             if v / ios >= 0.5},
        "own_blocks": round(sum(blocks.get(k, 0) for k in own) / ios, 1),
        "dma_api_instructions": round(sum(dma.values()) / ios, 1),
        # Block layer, SCSI midlayer, sd and aio/io_uring (IO_STACK_PREFIXES).
        "io_stack_instructions": round(io_stack / ios, 1),
        "own_functions": {k.split(" ")[0]: round(v / ios, 1)
                          for k, v in sorted(own.items(), key=lambda kv: -kv[1]) if v / ios >= 0.5},
        "dma_functions": {k.split(" ")[0]: round(v / ios, 1)
                          for k, v in sorted(dma.items(), key=lambda kv: -kv[1]) if v / ios >= 0.5},
    }


def report(qd: int, res: dict, top: int, annotate: list[str], kos: dict,
           targets: bool = True) -> dict:
    """Prints one depth's report; returns its JSON figures. `targets`: the
    workload is the one issue 10's targets are set for (4 KiB random
    reads), so they are printed with the ratios."""
    figures = {}
    for d, (per, ios) in res.items():
        f = figures[d] = summarise(d, per, ios)
        blocks = blocks_of(per)
        print(f"\n>>> QD{qd} {d}: whole kernel, per I/O: {f['kernel_instructions']:.0f} "
              f"instructions, {f['kernel_blocks']:.0f} blocks")
        print(f">>> QD{qd} {d}: its own functions, instructions and blocks per I/O "
              f"(total {f['own_instructions']:.1f} and {f['own_blocks']:.1f}); "
              f"DMA API {f['dma_api_instructions']:.1f}")
        print(f">>> QD{qd} {d}: the I/O stack around it (block layer, SCSI midlayer, sd, "
              f"aio/io_uring), per I/O: {f['io_stack_instructions']:.0f} instructions")
        if min(f["own_instructions"], f["dma_api_instructions"], f["io_stack_instructions"]) < 0:
            # The N-I/O run did more of the driver's work than the 2N one.
            print(f">>> QD{qd} {d}: WARNING: negative counts: its two runs differ in more than "
                  "their number of I/Os (with large blocks, the SG elements per command), so "
                  "these figures are not the cost of one I/O; run again")
        print(f">>> QD{qd} {d}: own code = module {f['module_instructions']:.1f} "
              f"+ Rust helpers {f['helper_instructions']:.1f}")
        for k, v in sorted((own_of(d, per) | helpers_of(per)).items(), key=lambda kv: -kv[1]):
            if v / ios >= 1:
                print(f"  {v / ios:8.1f} {blocks.get(k, 0) / ios:6.1f}  {k[:100]}")
        for name, v in f["dma_functions"].items():
            print(f"  {v:8.1f}         (DMA API) {name}")
        for text in annotate:
            offs = sorted((k[1], v) for k, v in per.items()
                          if isinstance(k, tuple) and isinstance(k[1], int)
                          and text in k[0] and f"[{d}]" in k[0] and v)
            if offs:
                print(f"  blocks of *{text}*: " + ", ".join(f"{o:#x}:{v / ios:.1f}" for o, v in offs))
            for name in sorted({k for k in own_of(d, per) if text in k and per[k] > 0}):
                annotate_function(per, ios, name, kos[d])
    (c, n), (r, _) = res[DRIVERS[0]], res[DRIVERS[1]]
    for what, keep in (("instructions", lambda k: isinstance(k, str)),
                       ("blocks", lambda k: isinstance(k, tuple) and k[0] == "blocks")):
        print(f"\n>>> QD{qd}: kernel functions whose {what} differ most "
              f"({DRIVERS[1]} - {DRIVERS[0]}), per I/O")
        diff = {k: r.get(k, 0) - c.get(k, 0) for k in set(c) | set(r) if keep(k)}
        for k, v in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:top]:
            print(f"  {v / n:+9.1f}  {(k if isinstance(k, str) else k[1])[:100]}")
    fc, fr = figures[DRIVERS[0]], figures[DRIVERS[1]]
    own = fr["own_instructions"] / fc["own_instructions"] if fc["own_instructions"] else None
    c_both = fc["own_instructions"] + fc["dma_api_instructions"]
    both = (fr["own_instructions"] + fr["dma_api_instructions"]) / c_both if c_both else None
    figures["ratios"] = {"own": own, "own_plus_dma_api": both,
                         "target_own": TARGET_OWN, "target_own_plus_dma_api": TARGET_OWN_DMA}
    if own is not None and both is not None:
        t_own, t_both = ((f" (target {TARGET_OWN})", f" (target {TARGET_OWN_DMA})") if targets
                         else ("", ""))
        print(f"\n>>> QD{qd}: {DRIVERS[1]} / {DRIVERS[0]} per I/O: own code {own:.3f}{t_own}, "
              f"own code and DMA API {both:.3f}{t_both}")
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ios", type=int, default=20000)
    ap.add_argument("--iodepth", default="1,32",
                    help="fio queue depths, comma-separated (at QD1 the idle loop runs between "
                         "I/Os; it is counted, but executes few instructions with -icount sleep=off)")
    ap.add_argument("--rw", choices=RW, default="randread",
                    help="fio access pattern (default randread)")
    ap.add_argument("--bs", default="4k", type=block_size,
                    help="fio block size, 512 bytes to 1m (default 4k; 1m shows the SG-list path: "
                         "the block layer splits it into two 512 KiB commands)")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--kconfig", default="perf",
                    help="test kernel: perf, or perf-inline (the kernel crate's C helpers "
                         "inlined into Rust code; built with rustc's LLVM major)")
    ap.add_argument("--rs-params", default="",
                    help="module parameters for vmw_pvscsi_rs (for example poll_queues=1; "
                         "default: none, the driver's defaults)")
    ap.add_argument("--annotate", metavar="TEXT", action="append", default=[],
                    help="also list the blocks (offset: instructions per I/O) of the driver "
                         "functions whose name contains TEXT, and print them disassembled with "
                         "each instruction's executions per I/O")
    args = ap.parse_args()
    depths = [int(x) for x in str(args.iodepth).split(",") if x.strip()]
    if args.rw in ("read", "write") and 2 * args.ios * args.bs > DISK_MB << 20:
        # A sequential job stops at the end of the disk, before its I/O count.
        ap.error(f"--rw {args.rw} with {args.bs}-byte blocks: 2 x --ios must fit the {DISK_MB} "
                 f"MiB disk (--ios {(DISK_MB << 20) // (2 * args.bs)} at most)")
    out = paths.TOP / "build" / "profile" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    plugin = build_plugin(out)
    summary = {"ios": args.ios, "kconfig": args.kconfig, "rs_params": args.rs_params,
               "workload": f"fio {args.rw}, {args.bs}-byte blocks, null-co disk",
               "rw": args.rw, "bs": args.bs,
               "depths": {}}
    # The modules as loaded, for --annotate's disassembly.
    kos = {DRIVERS[0]: paths.kdir(args.kconfig) / "drivers/scsi/vmw_pvscsi.ko",
           DRIVERS[1]: paths.module(args.kconfig)}
    for qd in depths:
        res = {d: per_io(d, plugin, out / f"qd{qd}", args.ios, qd, args.kconfig,
                         args.rs_params if d == DRIVERS[1] else "", args.rw, args.bs)
               for d in DRIVERS}
        summary["depths"][str(qd)] = report(qd, res, args.top, args.annotate, kos,
                                            targets=(args.rw, args.bs) == ("randread", 4096))
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nraw counts and results.json: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
