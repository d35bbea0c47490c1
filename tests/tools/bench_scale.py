# SPDX-License-Identifier: GPL-2.0
"""`make bench BENCH_ARGS="--scale-disks"`: IOPS against the number of disks
on one controller (issue 10, target 5).

One guest (the `perf` kernel) has two pvscsi controllers, each with null-co
disks: 64 on the first, for vmw_pvscsi_rs, and 16 on the second, for the C
vmw_pvscsi, which on QEMU scans targets 0 to 15 only (QEMU has no CONFIG
command; see test_scan.py). Both drivers load with `ring_pages=32`, so
`can_queue` is the ring's 1,024 entries. Each round runs, for every disk
count N and driver, 4 KiB random reads at a total queue depth of 32 spread
over the driver's first N disks (one fio job, the disks round-robin), the
drivers alternating, both interrupts and fio on CPU 1, every disk under the same I/O scheduler (`--scheduler`,
none by default). The report gives, per N, the median total IOPS and
IOPS per disk of each driver, the Rust driver's IOPS against its own at one
disk (flat is 1.0), and the paired ratio against the C driver where both
have N disks.
"""

from __future__ import annotations

import json
import statistics
import time

from common import timed
from harness import paths
from harness.guest import Disk, Guest, GuestConfig, GuestError
from harness.scsi import fio_json, wait_disks

RS, C = "vmw_pvscsi_rs", "vmw_pvscsi"
COUNTS = [1, 4, 16, 64]
# Disks each driver can have here.
MAX_DISKS = {RS: 64, C: 16}
QD = 32
# The CPU fio runs on and both controllers' interrupts are steered to.
FIO_CPU = 1


def say(msg: str) -> None:
    print(msg, flush=True)


def disks_by_target(g: Guest, driver: str, count: int) -> list[str]:
    """The driver's `count` disks, in target order."""
    disks = wait_disks(g, driver, count, timeout=300)
    return [dev for _, dev in sorted(disks.items(), key=lambda kv: int(kv[0].split(":")[2]))]


def run(args) -> int:
    # The Rust driver on the first controller unless --scale-swap; on
    # QEMU's side the C driver's controller has --scale-c-qemu-disks disks
    # (16 by default, all it scans; 64 makes QEMU's per-request device
    # lookup, a walk of the bus's device list, as long as on the other).
    order = (C, RS) if args.scale_swap else (RS, C)
    bus = {order[0]: "pv0", order[1]: "pv1"}
    qemu_disks = {RS: MAX_DISKS[RS], C: max(MAX_DISKS[C], args.scale_c_qemu_disks)}
    disks = [Disk(scsi_id=i, size_mb=1024, backend="null", bus=bus[d])
             for d in order for i in range(qemu_disks[d])]
    cfg = GuestConfig(kconfig=args.kconfig, pvscsi_count=2, name="bench-scale", disks=disks,
                      host_cpus=args.host_cpus, boot_timeout=600)
    out_dir = paths.TOP / "build" / "bench" / ("scale-" + time.strftime("%Y%m%d-%H%M%S"))
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = args.scale_counts or COUNTS
    samples = []
    started = time.monotonic()
    with Guest(cfg) as g:
        functions = sorted(g.run(
            "for d in /sys/bus/pci/devices/*; do "
            "[ \"$(cat $d/vendor)$(cat $d/device)\" = 0x15ad0x07c0 ] && echo ${d##*/}; done; true").split())
        if len(functions) != 2:
            raise GuestError(f"{len(functions)} pvscsi controllers, not 2")
        # The controllers' functions in address order, as on QEMU's command line.
        owner = dict(zip(order, functions))
        for driver, bdf in owner.items():
            g.run(f"echo {driver} > /sys/bus/pci/devices/{bdf}/driver_override")
        devs = {}
        for driver in (C, RS):
            g.insmod(driver, "ring_pages=32", timeout=600)
            devs[driver] = disks_by_target(g, driver, MAX_DISKS[driver])
            say(f"    {driver}: {len(devs[driver])} disks")
        # Both interrupts on the CPU fio runs on, as in the other jobs: left
        # to chance, their placement changes the figures more than the
        # drivers do.
        from bench import steer_irqs  # noqa: PLC0415 - bench imports this module
        for driver, bdf in owner.items():
            got = steer_irqs(g, bdf, devs[driver][0], FIO_CPU)
            if got != FIO_CPU:
                raise GuestError(f"{driver}: interrupt delivered to CPU {got}, not {FIO_CPU}")
        scheduler = "" if args.scheduler == "kernel" else args.scheduler
        if scheduler:
            # Every disk under the same I/O scheduler, as in the other jobs.
            g.run(f"for d in {' '.join(devs[C] + devs[RS])}; do "
                  f"echo {scheduler} > /sys/block/$d/queue/scheduler || exit 1; done")
        used = g.run(f"cat /sys/block/{devs[C][0]}/queue/scheduler /sys/block/{devs[RS][0]}/queue/scheduler")
        say("    I/O schedulers (C, Rust): " + " | ".join(x.strip() for x in used.splitlines()))
        for rnd in range(1, args.rounds + 1):
            for n in counts:
                order = [RS, C] if rnd % 2 else [C, RS]
                for driver in order:
                    if n > MAX_DISKS[driver]:
                        continue
                    files = ":".join(f"/dev/{d}" for d in devs[driver][:n])
                    doc = fio_json(g, f"--name=scale --filename={files} --direct=1 --ioengine=libaio "
                                      f"--rw=randread --bs=4k --iodepth={QD} "
                                      f"--file_service_type=roundrobin --cpus_allowed={FIO_CPU} "
                                      f"{timed(args.runtime, args.ramp)}", timeout=600)
                    job = doc["jobs"][0]
                    if job.get("error"):
                        raise GuestError(f"fio reported error {job['error']} ({driver}, {n} disks)")
                    iops = job["read"]["iops"]
                    samples.append({"round": rnd, "driver": driver, "disks": n, "iops": iops})
                    say(f"    round {rnd} {n:3} disks {driver:14} {iops:10.0f} IOPS "
                        f"({iops / n:8.0f} a disk)")
    summary: dict = {}
    for n in counts:
        row = {}
        for driver in (RS, C):
            vals = [s["iops"] for s in samples if s["driver"] == driver and s["disks"] == n]
            if vals:
                row[driver] = {"median_iops": statistics.median(vals),
                               "median_iops_per_disk": statistics.median(vals) / n}
        base = {s["round"]: s["iops"] for s in samples if s["driver"] == C and s["disks"] == n}
        ratios = [s["iops"] / base[s["round"]] for s in samples
                  if s["driver"] == RS and s["disks"] == n and base.get(s["round"])]
        if ratios:
            row["paired_ratio_median"] = statistics.median(ratios)
        summary[str(n)] = row
    one = summary.get("1", {}).get(RS, {}).get("median_iops")
    for n, row in summary.items():
        if one and RS in row:
            row[RS]["vs_one_disk"] = row[RS]["median_iops"] / one
    result = {"rounds": args.rounds, "qd": QD, "scheduler": args.scheduler, "counts": counts, "max_disks": MAX_DISKS,
              "qemu_disks": qemu_disks, "controllers": bus,
              "samples": samples, "summary": summary, "seconds": round(time.monotonic() - started)}
    (out_dir / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    say(f"\n>>> IOPS at QD{QD} over N disks of one controller, medians of {args.rounds} rounds")
    say(f"{'disks':>6}{RS:>16}{'vs 1 disk':>11}{C:>16}{'rs/c (paired)':>16}")
    for n, row in summary.items():
        rs, c = row.get(RS, {}), row.get(C, {})
        say(f"{n:>6}{rs.get('median_iops', 0):16.0f}{rs.get('vs_one_disk', 0):11.3f}"
            f"{c.get('median_iops', 0):16.0f}"
            + (f"{row['paired_ratio_median']:16.3f}" if "paired_ratio_median" in row else
               f"{'(C: 16 at most)':>16}"))
    say(f"\nresults: {out_dir / 'results.json'}")
    return 0
