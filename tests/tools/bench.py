#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench`: the C vmw_pvscsi, vmw_pvscsi_rs and the C virtio_scsi on the
same guest, alternating, over several rounds.

One guest (the `perf` kernel) has two pvscsi controllers and a virtio-scsi
controller, each with a 1 GiB null-co disk, so the numbers measure the driver
and device path, not a disk. Each pvscsi controller is given to one of the two
pvscsi drivers (`driver_override`), and all three drivers stay loaded for the
whole run. Every round runs each fio job on each driver's disk back to back,
the driver order rotating from round to round, so the samples that form a
pair are seconds apart. The report gives per-driver medians and the medians of
per-round (paired) ratios against the C vmw_pvscsi.

Each pvscsi driver has one interrupt vector; both are steered to the same CPU
and each fio job runs on the CPU its driver's interrupt is delivered to, so
every sample measures the same path (completion on the submitting CPU)
rather than wherever the scheduler happened to put fio.

Modes:
  wall    fio jobs of a fixed duration, real (wall-clock) time. Noisy here:
          compare only within a run.
  pair    wall-clock, the two pvscsi drivers only, at the same time: one fio
          process with a job per driver, each job and its driver's interrupt
          on its own guest CPU, the CPUs swapping every round. Whatever slows
          the host down slows both samples of a pair, so the paired ratios
          scatter about three times less than in wall mode. Both devices
          share QEMU's main loop, so it measures the drivers under equal
          contention rather than each alone.
  icount  QEMU -icount shift=0,sleep=off: guest time advances with executed
          instructions, so "virtual IOPS" measure guest instructions per I/O
          and repeat from run to run. Jobs run a fixed number of I/Os. QEMU
          still completes I/O from its main loop in real time, so run it on
          an otherwise idle machine: load elsewhere changes the numbers.

After the rounds (unless --no-counts), each pvscsi driver runs every job
again for a fixed number of I/Os, alone, with QEMU's pvscsi trace events on:
the device-side counts per I/O of doorbells (KICK_RW_IO and KICK_NON_RW_IO
register writes), request descriptors read and MSI messages sent. These do
not depend on the machine's speed; on VMware or KVM each doorbell and each
interrupt is a VM exit. The events are off while anything is timed.

--vmware runs the two pvscsi drivers on the VMware mode of QEMU's device
(tests/qemu/vmware-mode/, harness.guest.VMWARE: request coalescing with
ESXi's threshold of 8 and 1 ms polling, MSI-X), QD1, QD32 and batch16 by
default; the device counts then add the requests the device found by
polling instead of a doorbell ("pick-ups").

Output: results.json (every sample, and the device counts) and chart.svg under
build/bench/<time>/, and tables on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fio, first_disk, timed  # noqa: E402
from harness.scsi import fio_json  # noqa: E402
from harness import paths  # noqa: E402
from harness.guest import VMWARE, Disk, Guest, GuestConfig, GuestError  # noqa: E402

DRIVERS = {
    # name -> (module to load, params, SCSI host proc_name)
    "vmw_pvscsi": ("vmw_pvscsi", "", "vmw_pvscsi"),
    # The poll queue serves the `-polled` job; the interrupt-driven jobs'
    # commands never use it (BENCH_RS_PARAMS= runs without it, to compare).
    "vmw_pvscsi_rs": ("vmw_pvscsi_rs", os.environ.get("BENCH_RS_PARAMS", "poll_queues=1"),
                      "vmw_pvscsi_rs"),
    "virtio_scsi": ("virtio_scsi", "", "virtio_scsi"),
}
BASELINE = "vmw_pvscsi"
# fio options of a polled job, for the drivers in POLLING; the others run it
# with libaio.
POLLED = "--ioengine=io_uring --hipri=1"
POLLING = {"vmw_pvscsi_rs"}
PVSCSI = ("vmw_pvscsi", "vmw_pvscsi_rs")
# The CPU that takes the pvscsi interrupts and runs fio.
BENCH_CPU = 1
JOBS = [
    # name, rw, bs, iodepth, I/Os in icount mode (0: not run in icount mode),
    # extra fio options
    #
    # In icount mode (sleep=off) virtual time jumps to the next timer whenever
    # the guest idles, so a QD1 job measures the idle policy rather than the
    # instructions per I/O: it is run in wall mode only. The I/O counts keep
    # fio's millisecond runtime resolution below 1%.
    ("randread-4k-qd1", "randread", "4k", 1, 0, ""),
    ("randread-4k-qd32", "randread", "4k", 32, 40000, ""),
    # Polled completions (io_uring IOPOLL) where the driver has a poll
    # queue; the others run the same job interrupt-driven (libaio), which
    # is what their users get. Latency is the figure here (fio's mean).
    ("randread-4k-qd1-polled", "randread", "4k", 1, 0, POLLED),
    # Batched submission: io_uring hands the block layer 16 requests at a
    # time, which reach the driver as one batch (the last one marked).
    ("randread-4k-qd32-batch16", "randread", "4k", 32, 40000,
     "--ioengine=io_uring --iodepth_batch_submit=16 --iodepth_batch_complete_min=16"),
    # Two submitters on two CPUs sharing the one request ring (wall mode).
    ("randread-4k-qd32-2jobs", "randread", "4k", 32, 20000,
     "--numjobs=2 --cpus_allowed=0-1 --group_reporting"),
    ("seqread-128k-qd8", "read", "128k", 8, 12000, ""),
    # Large transfers: 1 MiB sequential reads and writes (the null disk
    # discards the data).
    ("seqread-1m-qd8", "read", "1m", 8, 2000, ""),
    ("seqwrite-1m-qd8", "write", "1m", 8, 2000, ""),
]
# I/Os of each job's device-side count (after the timed rounds).
COUNT_IOS = 4000
# QEMU trace events counted: doorbells (register writes), request
# descriptors the device read, and MSI messages it sent.
COUNT_EVENTS = ["pvscsi_io_write", "pvscsi_process_req_descr", "pvscsi_update_irq_msi"]
# With --vmware also MSI-X messages and the requests the device found by
# polling (events of the VMware mode's QEMU).
VMWARE_EVENTS = ["pvscsi_update_irq_msix", "pvscsi_req_call_pickup"]
# The jobs --vmware runs unless --jobs says otherwise.
VMWARE_JOBS = "randread-4k-qd1,randread-4k-qd32,randread-4k-qd32-batch16"


def say(msg: str) -> None:
    print(msg, flush=True)


def pvscsi_functions(g: Guest) -> list[str]:
    """PCI addresses of the pvscsi controllers, in bus order."""
    out = g.run("for d in /sys/bus/pci/devices/*; do "
                "[ \"$(cat $d/vendor)$(cat $d/device)\" = 0x15ad0x07c0 ] && echo ${d##*/}; done; true")
    return sorted(out.split())


def steer_irqs(g: Guest, bdf: str, dev: str, cpu: int) -> int:
    """Steers the interrupt of PCI function `bdf` (disk `dev`) to `cpu` where
    the kernel allows it, and returns the CPU it is delivered to."""
    irq = g.run(f"ls /sys/bus/pci/devices/{bdf}/msi_irqs 2>/dev/null | head -n1; "
                f"cat /sys/bus/pci/devices/{bdf}/irq").split()[0]
    g.run(f"echo {cpu} > /proc/irq/{irq}/smp_affinity_list 2>/dev/null; "
          # x86 moves an interrupt when it next fires: make it fire.
          f"dd if=/dev/{dev} of=/dev/null bs=4k count=8 iflag=direct 2>/dev/null; true")
    eff = g.run(f"cat /proc/irq/{irq}/effective_affinity_list").strip()
    return int(eff.replace("-", ",").split(",")[0])


def setup_drivers(g: Guest, drivers: list[str]) -> tuple[dict[str, tuple[str, int]], dict[str, str]]:
    """Loads every driver (each pvscsi driver on its own controller) and
    returns driver -> (disk, CPU to run fio on), where drivers whose disk does
    not appear are left out, and pvscsi driver -> its controller's address."""
    functions = pvscsi_functions(g)
    pv = [d for d in drivers if d in PVSCSI]
    if len(functions) < len(pv):
        raise GuestError(f"{len(functions)} pvscsi controllers for {len(pv)} drivers")
    owner = dict(zip(pv, functions))
    for d, bdf in owner.items():
        g.run(f"echo {d} > /sys/bus/pci/devices/{bdf}/driver_override")
    ready: dict[str, tuple[str, int]] = {}
    for d in drivers:
        module, params, proc = DRIVERS[d]
        g.insmod(module, params)
        try:
            dev = first_disk(g, proc, timeout=60)
        except GuestError:
            say(f"    {d}: no disk appeared; skipped")
            continue
        cpu = steer_irqs(g, owner[d], dev, BENCH_CPU) if d in owner else BENCH_CPU
        say(f"    {d:14} disk {dev}, fio on CPU {cpu}")
        ready[d] = (dev, cpu)
    return ready, owner


def schedulers(g: Guest, ready: dict[str, tuple[str, int]], force: str) -> dict[str, str]:
    """Sets every benchmarked disk's I/O scheduler to `force` (unless empty)
    and returns driver -> the scheduler its disk uses. By default each disk
    keeps the one the kernel chose: mq-deadline for a single hardware queue
    or shared tags, none for a host with poll queues (vmw_pvscsi_rs
    `poll_queues=1`)."""
    used = {}
    for d, (dev, _) in ready.items():
        path = f"/sys/block/{dev}/queue/scheduler"
        if force:
            g.run(f"echo {force} > {path}")
        line = g.run(f"cat {path}")
        got = re.search(r"\[(\S+)\]", line)
        used[d] = got.group(1) if got else line.strip()
        if force and used[d] != force:
            raise GuestError(f"{d}: {dev} has scheduler {used[d]}, not {force}")
    say("    I/O schedulers: " + ", ".join(f"{d} {v}" for d, v in used.items()))
    return used


def swap_controllers(g: Guest, ready: dict[str, tuple[str, int]], owner: dict[str, str]) -> dict[str, str]:
    """Gives each pvscsi driver in `ready` the other's controller (`owner`:
    driver -> controller address), updates `ready` with the new disks and
    returns the new `owner`.

    The run swaps once, halfway: measured with the C driver on both
    controllers, the second one came out at 0.935 of the first (12 rounds,
    QD32), as large as the differences between the drivers, so neither driver
    may keep one controller for a whole run."""
    pv = [d for d in PVSCSI if d in ready]
    if len(pv) != 2:
        return owner
    new = dict(zip(pv, reversed([owner[d] for d in pv])))
    for d in pv:
        g.run(f"echo {owner[d]} > /sys/bus/pci/drivers/{d}/unbind")
    for d in pv:
        g.run(f"echo {d} > /sys/bus/pci/devices/{new[d]}/driver_override && "
              f"echo {new[d]} > /sys/bus/pci/drivers/{d}/bind")
    for d in pv:
        dev = first_disk(g, DRIVERS[d][2], timeout=60)
        cpu = steer_irqs(g, new[d], dev, BENCH_CPU)
        say(f"    {d:14} now on {new[d]}: disk {dev}, fio on CPU {cpu}")
        ready[d] = (dev, cpu)
    return new


def round_order(present: list[str], rnd: int) -> list[str]:
    """The order of the drivers for one job in round `rnd`.

    A run is faster after a run of a different device model than after a
    pvscsi run (by 10-15 % at QD32, measured), so a plain rotation, in which
    vmw_pvscsi_rs always follows vmw_pvscsi, is biased. Instead the pvscsi
    drivers swap places every round, and when another driver is present it
    runs before each of them: every pvscsi sample then follows the same kind
    of run. That driver gets two samples per round.
    """
    pv = [d for d in present if d in PVSCSI]
    if rnd % 2 == 0:
        pv.reverse()
    others = [d for d in present if d not in PVSCSI]
    if not others:
        return pv
    order = []
    for d in pv:
        order += [others[0], d]
    return order + others[1:] if pv else others


def job_extra(driver: str, extra: str) -> str:
    """The extra fio options of a job for `driver`: a polled job runs
    interrupt-driven (libaio) on a driver without a poll queue."""
    return "" if extra == POLLED and driver not in POLLING else extra


def direction(rw: str) -> str:
    """The side of fio's JSON report a job's I/O is counted in."""
    return "write" if "write" in rw else "read"


def sample(rnd: int, driver: str, job: str, res: dict, rw: str) -> dict:
    """One result: fio's statistics (`res`, one job of its JSON report) of
    `driver` in `job`, round `rnd`: of the I/O direction of `rw`, and the
    submitting thread's context switches per I/O and CPU use (which show how
    a wall-clock difference is spent in the guest)."""
    read = res[direction(rw)]
    return {
        "round": rnd, "driver": driver, "job": job, "iops": read["iops"],
        "bw_kib": read["bw"], "lat_mean_ns": read["lat_ns"]["mean"],
        "clat_p99_ns": read["clat_ns"].get("percentile", {}).get("99.000000"),
        "ctx_per_io": round(res.get("ctx", 0) / max(read.get("total_ios", 0), 1), 3),
        "usr_cpu": res.get("usr_cpu"), "sys_cpu": res.get("sys_cpu"),
    }


def run_job(g: Guest, name: str, dev: str, cpu: int, job: tuple, args, samples: list, rnd: int) -> None:
    jname, rw, bs, qd, ios, extra = job
    pin = f"--cpus_allowed={cpu} {job_extra(name, extra)}"
    if args.mode == "icount":
        res = fio(g, dev, rw, bs, qd, number_ios=ios, extra=f"--size={args.size} {pin}")
    else:
        res = fio(g, dev, rw, bs, qd, runtime=args.runtime, ramp=args.ramp, extra=pin)
    samples.append(sample(rnd, name, jname, res, rw))
    say(f"    round {rnd} {jname:18} {name:14} {res[direction(rw)]['iops']:10.0f} IOPS")


def trace_events(g: Guest, enable: bool) -> None:
    """Turns the counted QEMU trace events on or off (they cost QEMU time:
    off while anything is timed)."""
    mon = g.qmp()
    try:
        for event in g.cfg.trace:
            mon.cmd("trace-event-set-state", name=event, enable=enable)
    finally:
        mon.close()


def device_counts(g: Guest, ready: dict, jobs: list, drivers: list[str]) -> dict:
    """Per pvscsi driver and job: what the device saw per I/O (doorbells,
    request descriptors, MSI messages), from QEMU's trace events over
    COUNT_IOS I/Os with that driver alone doing I/O. Run after the timed
    rounds."""
    counts: dict = {}
    for job in jobs:
        jname, rw, bs, qd, _, extra = job
        for d in drivers:
            if d not in PVSCSI or d not in ready:
                continue
            dev, cpu = ready[d]
            mark = len(g.trace())
            trace_events(g, True)
            try:
                res = fio(g, dev, rw, bs, qd, number_ios=COUNT_IOS,
                          extra=f"--size=1g --cpus_allowed={cpu} {job_extra(d, extra)}")
            finally:
                trace_events(g, False)
            ios = res[direction(rw)]["total_ios"] or 1
            lines = g.trace()[mark:].splitlines()
            kicks = sum("KICK_RW_IO" in x or "KICK_NON_RW_IO" in x for x in lines)
            c = {
                "ios": ios,
                "doorbells_per_io": round(kicks / ios, 3),
                "rw_doorbells_per_io": round(sum("KICK_RW_IO" in x for x in lines) / ios, 3),
                "descriptors_per_io": round(sum("pvscsi_process_req_descr" in x for x in lines) / ios, 3),
                # MSI and MSI-X messages.
                "interrupts_per_io": round(sum("pvscsi_update_irq_msi" in x for x in lines) / ios, 3),
            }
            if "pvscsi_req_call_pickup" in g.cfg.trace:
                picked = sum(int(m.group(1)) for m in
                             re.finditer(r"pvscsi_req_call_pickup \w+ took (\d+) requests",
                                         "\n".join(lines)))
                c["pickups_per_io"] = round(picked / ios, 3)
            counts.setdefault(jname, {})[d] = c
            say(f"    counts {jname:24} {d:14} doorbells {c['doorbells_per_io']:.3f}, "
                f"descriptors {c['descriptors_per_io']:.3f}, interrupts {c['interrupts_per_io']:.3f}"
                + (f", pick-ups {c['pickups_per_io']:.3f}" if "pickups_per_io" in c else "")
                + " per I/O")
    return counts


def median_ci(values: list[float], level: float = 0.95, resamples: int = 4000) -> tuple[float, float]:
    """A percentile-bootstrap confidence interval for the median of `values`.

    Fixed seed: the same samples always give the same interval."""
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    cut = (1 - level) / 2
    return meds[int(cut * resamples)], meds[min(resamples - 1, int((1 - cut) * resamples))]


def run_pair(g: Guest, ready: dict, owner: dict[str, str], job: tuple, args, samples: list,
             rnd: int) -> None:
    """Runs `job` on both pvscsi drivers at once (pair mode), each on its own
    CPU; the CPUs swap from round to round."""
    jname, rw, bs, qd, _, extra = job
    cpus = dict(zip(PVSCSI, (rnd % 2, 1 - rnd % 2)))
    for d in PVSCSI:
        got = steer_irqs(g, owner[d], ready[d][0], cpus[d])
        if got != cpus[d]:
            raise GuestError(f"{d}: interrupt delivered to CPU {got}, not {cpus[d]}")
    jobs = " ".join(f"--name={d} --filename=/dev/{ready[d][0]} --cpus_allowed={cpus[d]} "
                    f"{job_extra(d, extra)}" for d in PVSCSI)
    doc = fio_json(g, f"--direct=1 --ioengine=libaio --rw={rw} --bs={bs} --iodepth={qd} "
                      f"{timed(args.runtime, args.ramp)} {jobs}", timeout=600)
    for res in doc["jobs"]:
        if res.get("error"):
            raise GuestError(f"fio reported error {res['error']} for {res['jobname']}")
        samples.append(sample(rnd, res["jobname"], jname, res, rw))
    say(f"    round {rnd} {jname:18} " + "  ".join(
        f"{s['driver']} {s['iops']:8.0f} IOPS (CPU {cpus[s['driver']]})" for s in samples[-2:]))


def summarize(samples: list, drivers: list[str]) -> dict:
    summary: dict = {}
    for job, *_ in JOBS:
        if not any(s["job"] == job for s in samples):
            continue
        row: dict = {}
        for d in drivers:
            vals = [s["iops"] for s in samples if s["driver"] == d and s["job"] == job]
            if vals:
                mine = [s for s in samples if s["driver"] == d and s["job"] == job]
                row[d] = {"median_iops": statistics.median(vals), "min": min(vals),
                          "max": max(vals), "n": len(vals),
                          "median_lat_ns": statistics.median(s["lat_mean_ns"] for s in mine),
                          "median_ctx_per_io": statistics.median(s.get("ctx_per_io", 0) for s in mine),
                          "median_sys_cpu": statistics.median(s.get("sys_cpu") or 0 for s in mine)}
        base = {s["round"]: s["iops"] for s in samples if s["driver"] == BASELINE and s["job"] == job}
        for d in drivers:
            if d == BASELINE or d not in row:
                continue
            ratios = [s["iops"] / base[s["round"]] for s in samples
                      if s["driver"] == d and s["job"] == job and base.get(s["round"])]
            if ratios:
                row[d]["paired_ratio_median"] = statistics.median(ratios)
                row[d]["paired_ratio_ci95"] = median_ci(ratios)
                row[d]["paired_ratios"] = ratios
            base_lat = {s["round"]: s["lat_mean_ns"] for s in samples
                        if s["driver"] == BASELINE and s["job"] == job}
            lat_ratios = [s["lat_mean_ns"] / base_lat[s["round"]] for s in samples
                          if s["driver"] == d and s["job"] == job and base_lat.get(s["round"])]
            if lat_ratios:
                # Below 1: lower latency than the C driver.
                row[d]["paired_lat_ratio_median"] = statistics.median(lat_ratios)
                row[d]["paired_lat_ratio_ci95"] = median_ci(lat_ratios)
        summary[job] = row
    return summary


def table(summary: dict, drivers: list[str]) -> str:
    head = f"{'job':20}" + "".join(f"{d:>16}" for d in drivers) + "".join(
        f"{d + '/' + BASELINE:>28}" for d in drivers if d != BASELINE)
    lines = [head, "-" * len(head)]
    for job, row in summary.items():
        line = f"{job:20}"
        for d in drivers:
            line += f"{row[d]['median_iops']:16.0f}" if d in row else f"{'-':>16}"
        for d in drivers:
            if d == BASELINE:
                continue
            r = row.get(d, {}).get("paired_ratio_median")
            if r is None:
                line += f"{'-':>28}"
                continue
            lo, hi = row[d]["paired_ratio_ci95"]
            line += f"{f'{r:.3f} [{lo:.3f}, {hi:.3f}]':>28}"
        lines.append(line)
    return "\n".join(lines)


def count_table(counts: dict) -> str:
    """Doorbells, request descriptors and interrupts per I/O, per job and
    pvscsi driver."""
    pick = any("pickups_per_io" in c for row in counts.values() for c in row.values())
    head = (f"{'job':26}{'driver':16}{'doorbells':>11}{'rw doorbells':>14}{'descriptors':>13}"
            f"{'interrupts':>12}" + (f"{'pick-ups':>10}" if pick else ""))
    lines = [head, "-" * len(head)]
    for job, row in counts.items():
        for d, c in row.items():
            lines.append(f"{job:26}{d:16}{c['doorbells_per_io']:11.3f}{c['rw_doorbells_per_io']:14.3f}"
                         f"{c['descriptors_per_io']:13.3f}{c['interrupts_per_io']:12.3f}"
                         + (f"{c.get('pickups_per_io', 0):10.3f}" if pick else ""))
    return "\n".join(lines)


def svg_chart(summary: dict, drivers: list[str], title: str) -> str:
    """A grouped bar chart of median IOPS relative to the baseline, with min-max whiskers."""
    colors = {"vmw_pvscsi": "#4c72b0", "vmw_pvscsi_rs": "#dd8452", "virtio_scsi": "#55a868"}
    w, h, left, top, bottom = 760, 380, 60, 40, 60
    plot_h = h - top - bottom
    jobs = list(summary)
    peak = max([v["max"] / summary[j][BASELINE]["median_iops"]
                for j in jobs for v in summary[j].values() if BASELINE in summary[j]] + [1.2])
    group_w = (w - left - 20) / max(1, len(jobs))
    bar_w = group_w * 0.7 / max(1, len(drivers))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for i in range(0, int(peak * 4) + 1):
        y = top + plot_h - (i / 4) / peak * plot_h
        out.append(f'<line x1="{left}" x2="{w - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{i / 4:.2f}</text>')
    out.append(f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
               f'text-anchor="middle">IOPS / {BASELINE} (median, min-max)</text>')
    for gi, job in enumerate(jobs):
        row = summary[job]
        if BASELINE not in row:
            continue
        base = row[BASELINE]["median_iops"]
        x0 = left + gi * group_w + group_w * 0.15
        for di, d in enumerate(drivers):
            if d not in row:
                continue
            v = row[d]
            x = x0 + di * bar_w
            scale = plot_h / peak / base
            y = top + plot_h - v["median_iops"] * scale
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.9:.1f}" '
                       f'height="{v["median_iops"] * scale:.1f}" fill="{colors.get(d, "#888")}"/>')
            cx = x + bar_w * 0.45
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top + plot_h - v["max"] * scale:.1f}" '
                       f'y2="{top + plot_h - v["min"] * scale:.1f}" stroke="black"/>')
        out.append(f'<text x="{x0 + group_w * 0.35:.1f}" y="{h - bottom + 18}" text-anchor="middle">{job}</text>')
    for di, d in enumerate(drivers):
        out.append(f'<rect x="{left + di * 170}" y="{h - 22}" width="12" height="12" fill="{colors.get(d, "#888")}"/>')
        out.append(f'<text x="{left + di * 170 + 16}" y="{h - 12}">{d}</text>')
    out.append("</svg>")
    return "\n".join(out)


def disk_counts(text: str) -> list[int]:
    """Parses --scale-counts: disk counts from 1 to 64, comma-separated."""
    try:
        counts = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a comma-separated list of numbers") from None
    if not counts or any(not 1 <= n <= 64 for n in counts):
        raise argparse.ArgumentTypeError(f"{text!r}: each count must be 1 to 64")
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["wall", "pair", "icount"], default=os.environ.get("BENCH_MODE", "wall"))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 9)))
    ap.add_argument("--runtime", type=float, default=3, help="seconds per fio job (wall and pair modes)")
    ap.add_argument("--ramp", type=float, default=1, help="warm-up seconds before each fio job (wall and pair modes)")
    ap.add_argument("--size", default="1g", help="fio region (icount mode)")
    ap.add_argument("--drivers", default=",".join(DRIVERS))
    ap.add_argument("--jobs", default=",".join(j[0] for j in JOBS),
                    help="comma-separated subset of: " + ", ".join(j[0] for j in JOBS))
    ap.add_argument("--kconfig", default="perf")
    ap.add_argument("--scheduler", default=os.environ.get("BENCH_SCHEDULER", "none"),
                    help="I/O scheduler for every benchmarked disk, so that the drivers are "
                         "compared under the same one (default none, which blk-mq gives a host "
                         "with poll queues; 'kernel' keeps each disk's default: mq-deadline for "
                         "the C driver, none for vmw_pvscsi_rs with poll_queues=1)")
    ap.add_argument("--scale-disks", action="store_true",
                    help="instead: IOPS against the number of disks on one controller "
                         "(tests/tools/bench_scale.py)")
    ap.add_argument("--scale-c-qemu-disks", type=int, default=16,
                    help="with --scale-disks: disks QEMU gives the C driver's controller (16, "
                         "all the C driver scans; 64 makes both controllers' device lists alike)")
    ap.add_argument("--scale-counts", type=disk_counts, default=[],
                    help="with --scale-disks: the disk counts to run, comma-separated "
                         "(default 1,4,16,64)")
    ap.add_argument("--scale-swap", action="store_true",
                    help="with --scale-disks: the C driver on the first controller, "
                         "vmw_pvscsi_rs on the second")
    ap.add_argument("--vmware", action="store_true",
                    help="the pvscsi drivers on the VMware mode of the device (see above)")
    ap.add_argument("--latency-us", type=int, default=0,
                    help="latency of every read and write of the null disks, in microseconds")
    ap.add_argument("--no-counts", dest="counts", action="store_false",
                    help="skip the device-side counts (QEMU trace events) after the rounds")
    ap.add_argument("--host-cpus", default="",
                    help="pin QEMU to these host CPUs (a taskset list such as 0); default: no pinning")
    args = ap.parse_args()
    if args.scale_disks:
        import bench_scale  # noqa: PLC0415 - only this mode needs it
        return bench_scale.run(args)
    if args.rounds < 5:
        say(f"note: {args.rounds} rounds; at least 5 are needed for meaningful medians")
    if args.vmware:
        if args.drivers == ",".join(DRIVERS):
            args.drivers = ",".join(PVSCSI)
        if args.jobs == ",".join(j[0] for j in JOBS):
            args.jobs = VMWARE_JOBS
    drivers = [d for d in args.drivers.split(",") if d]
    for d in drivers:
        if d not in DRIVERS:
            ap.error(f"unknown driver {d}; known: {', '.join(DRIVERS)}")

    if args.mode == "pair":
        drivers = list(PVSCSI)
    out_dir = paths.TOP / "build" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = GuestConfig(
        kconfig=args.kconfig, virtio_scsi="virtio_scsi" in drivers, host_cpus=args.host_cpus,
        icount=args.mode == "icount", name="bench", pvscsi_count=2,
        vmware_qemu=args.vmware, pvscsi_props=VMWARE if args.vmware else "",
        trace=(COUNT_EVENTS + (VMWARE_EVENTS if args.vmware else [])) if args.counts else [],
        disks=[Disk(scsi_id=0, size_mb=1024, backend="null", bus=bus, latency_us=args.latency_us)
               for bus in ["pv0", "pv1"] + (["vs0"] if "virtio_scsi" in drivers else [])])
    samples: list = []
    say(f">>> bench: mode {args.mode}, {args.rounds} rounds, drivers {', '.join(drivers)}")
    started = time.monotonic()
    with Guest(cfg) as g:
        if args.counts:
            trace_events(g, False)
        ready, owner = setup_drivers(g, drivers)
        force = "" if args.scheduler == "kernel" else args.scheduler
        used_schedulers = schedulers(g, ready, force)
        skipped = {d for d in drivers if d not in ready}
        jobs = [j for j in JOBS if (args.mode != "icount" or j[4]) and j[0] in args.jobs.split(",")
                and not (args.mode == "pair" and "--numjobs" in j[5])]
        if args.mode == "pair" and skipped:
            raise GuestError(f"pair mode needs both pvscsi drivers; no disk for {', '.join(skipped)}")
        for rnd in range(1, args.rounds + 1):
            if rnd == args.rounds // 2 + 1:
                say("    swapping the pvscsi controllers between the drivers")
                owner = swap_controllers(g, ready, owner)
                used_schedulers = schedulers(g, ready, force)
            for job in jobs:
                if args.mode == "pair":
                    run_pair(g, ready, owner, job, args, samples, rnd)
                    continue
                for d in round_order([d for d in drivers if d in ready], rnd):
                    dev, cpu = ready[d]
                    run_job(g, d, dev, cpu, job, args, samples, rnd)
        counts = device_counts(g, ready, jobs, drivers) if args.counts else {}
    present = [d for d in drivers if d not in skipped]
    summary = summarize(samples, present)
    result = {"mode": args.mode, "rounds": args.rounds, "drivers": drivers, "skipped": sorted(skipped),
              "vmware": VMWARE if args.vmware else None, "latency_us": args.latency_us,
              "jobs": [j[0] for j in jobs], "samples": samples, "summary": summary,
              "device_counts": counts, "schedulers": used_schedulers,
              "rs_params": DRIVERS["vmw_pvscsi_rs"][1],
              "seconds": round(time.monotonic() - started)}
    (out_dir / "results.json").write_text(json.dumps(result, indent=2))
    unit = "virtual IOPS" if args.mode == "icount" else "IOPS"
    if BASELINE in present:
        (out_dir / "chart.svg").write_text(svg_chart(summary, present, f"fio on a null-co disk, {args.mode} mode"))
    say(f"\n>>> median {unit} over {args.rounds} rounds; ratios are medians of per-round "
        "ratios [95 % bootstrap confidence interval]")
    say(table(summary, present))
    for job, row in summary.items():
        for d, r in row.items():
            if "paired_lat_ratio_median" in r and job.endswith("-polled"):
                lo, hi = r["paired_lat_ratio_ci95"]
                say(f"\n>>> {job}: mean latency {d} {r['median_lat_ns'] / 1000:.1f} us, "
                    f"{BASELINE} {row[BASELINE]['median_lat_ns'] / 1000:.1f} us; paired ratio "
                    f"{r['paired_lat_ratio_median']:.3f} [{lo:.3f}, {hi:.3f}]")
    say("\n>>> in the guest, medians: fio's context switches per I/O and system CPU %")
    for job, row in summary.items():
        say(f"{job:26}" + "".join(f"{d:>16} {r['median_ctx_per_io']:6.3f} {r['median_sys_cpu']:5.1f}%"
                                  for d, r in row.items()))
    if counts:
        say(f"\n>>> per I/O, as the device saw it ({COUNT_IOS} I/Os a job, QEMU trace events)")
        say(count_table(counts))
    for d in sorted(skipped):
        say(f"(skipped {d}: no disk appeared after loading it)")
    say(f"\nresults: {out_dir / 'results.json'}\nchart:   {out_dir / 'chart.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
