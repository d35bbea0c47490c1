# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by `make run` and `make bench`: finding a driver's disks in
the guest and running fio there."""

from __future__ import annotations

import json
import time

from harness.guest import Guest, GuestError


def driver_disks(g: Guest, proc_name: str) -> list[str]:
    """Block device names (sda, ...) of the SCSI disks of hosts whose driver
    is `proc_name`."""
    out = g.run(
        "for h in /sys/class/scsi_host/host*; do "
        "  [ -e \"$h/proc_name\" ] || continue; "
        f"  [ \"$(cat $h/proc_name)\" = {proc_name} ] || continue; "
        "  n=${h##*host}; "
        "  for d in /sys/class/scsi_disk/$n:*; do "
        "    [ -e \"$d/device/block\" ] && ls \"$d/device/block\"; "
        "  done; "
        "done 2>/dev/null; true")
    return sorted(out.split())


def wait_disks(g: Guest, proc_name: str, count: int, timeout: float = 60.0) -> list[str]:
    """Waits until `count` disks of `proc_name` have block devices."""
    deadline = time.monotonic() + timeout
    while True:
        disks = driver_disks(g, proc_name)
        if len(disks) >= count:
            return disks
        if time.monotonic() > deadline:
            raise GuestError(f"{proc_name}: {len(disks)} of {count} disks appeared within {timeout} s")
        time.sleep(0.5)


def fio(g: Guest, dev: str, rw: str, bs: str, iodepth: int, runtime: int = 0,
        number_ios: int = 0, extra: str = "", timeout: float = 600.0) -> dict:
    """Runs one fio job on /dev/<dev>; returns the job's JSON ("read" part)."""
    limit = (f"--time_based --runtime={runtime} --ramp_time=1" if runtime
             else f"--number_ios={number_ios}")
    out = g.run(f"fio --name=job --filename=/dev/{dev} --direct=1 --ioengine=libaio "
                f"--rw={rw} --bs={bs} --iodepth={iodepth} {limit} {extra} "
                "--output-format=json", timeout=timeout)
    data = json.loads(out[out.index("{"):])
    job = data["jobs"][0]
    if job.get("error"):
        raise GuestError(f"fio reported error {job['error']} on {dev}")
    return job
