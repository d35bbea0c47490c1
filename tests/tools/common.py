# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by `make run` and `make bench`: a driver's disks (from the
harness) and one fio job."""

from __future__ import annotations

from harness.guest import Guest, GuestError
from harness.scsi import fio_json, host_disks, wait_disks


def driver_disks(g: Guest, proc_name: str) -> list[str]:
    """Block device names (sda, ...) of the ready disks of `proc_name` hosts."""
    return sorted(host_disks(g, proc_name).values())


def first_disk(g: Guest, proc_name: str, timeout: float = 60.0) -> str:
    """Waits for the (only) disk of `proc_name` and returns its name."""
    return sorted(wait_disks(g, proc_name, 1, timeout=timeout).values())[0]


def timed(runtime: float, ramp: float) -> str:
    """fio options for a run of `runtime` seconds after `ramp` seconds of warm-up."""
    return f"--time_based --runtime={round(runtime * 1000)}ms --ramp_time={round(ramp * 1000)}ms"


def fio(g: Guest, dev: str, rw: str, bs: str, iodepth: int, runtime: float = 0,
        number_ios: int = 0, extra: str = "", timeout: float = 600.0, ramp: float = 1.0) -> dict:
    """Runs one fio job on /dev/<dev>, for `runtime` seconds after `ramp`
    seconds of warm-up or for `number_ios` I/Os; returns the job's JSON."""
    limit = timed(runtime, ramp) if runtime else f"--number_ios={number_ios}"
    doc = fio_json(g, f"--name=job --filename=/dev/{dev} --direct=1 --ioengine=libaio "
                      f"--rw={rw} --bs={bs} --iodepth={iodepth} {limit} {extra}", timeout=timeout)
    job = doc["jobs"][0]
    if job.get("error"):
        raise GuestError(f"fio reported error {job['error']} on {dev}")
    return job
