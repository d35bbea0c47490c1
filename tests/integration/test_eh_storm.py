# SPDX-License-Identifier: GPL-2.0
"""Error handling under stress: storms of resets, aborts and a host reset
during a hot-add, each while fio verifies data on the disks.

Every case ends with zero verify errors, every disk usable, the driver
still bound and (checked on leaving the guest) no kernel report. The
`make stress` target runs the same cases longer (PVSCSI_STRESS_SCALE).

Before the fixes these tests came with, the reset storm hung the guest for
good: a host reset waited (cancel_work_sync) for the hot-plug work item,
which was inside the rescan that the previous host reset had queued,
waiting for a command that could not run while the host was in recovery."""

import os
import time

import pytest

from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import (RS, data_roundtrip, host_disks, load, reset_storm, start_verify,
                          stop_verify, wait_disks, wait_inflight)

SCALE = int(os.environ.get("PVSCSI_STRESS_SCALE", "1"))


@pytest.mark.stress
def test_reset_storm_under_verify(kconfig):
    """Device, target, bus and host resets on two disks (ids 0 and 20) of
    one controller, both disks at once, round after round, while fio
    verifies both. (make test runs one round in test_eh.py's guest.)"""
    rounds = 1 if SCALE == 1 else 2 * SCALE
    disks = [Disk(scsi_id=0, size_mb=64), Disk(scsi_id=20, size_mb=64)]
    with Guest(GuestConfig(kconfig=kconfig, disks=disks, name="eh-storm")) as g:
        devs = load(g, RS, 2)
        bdf = g.pvscsi_bdf()
        a = next(d for h, d in devs.items() if h.endswith(":0:0:0"))
        b = next(d for h, d in devs.items() if h.endswith(":0:20:0"))
        start_verify(g, [a, b], "storm")
        wait_inflight(g, a)
        elapsed = reset_storm(g, a, b, rounds)
        passes = stop_verify(g, "storm")
        print(f"reset storm: {rounds} rounds x 8 resets in {elapsed:.0f} s, {passes} fio passes")
        assert g.bound_driver(bdf) == RS
        assert sorted(host_disks(g, RS)) == sorted(devs)
        data_roundtrip(g, a, mib=2, seek_mib=40)
        data_roundtrip(g, b, mib=2, seek_mib=40)


@pytest.mark.stress
def test_host_reset_during_hot_add(kconfig):
    """A host reset while a disk is being hot-added: the disk appears (the
    rescan after the reset finds it if its message was lost), and both
    disks keep working."""
    disks = [Disk(scsi_id=0, size_mb=64)]
    with Guest(GuestConfig(kconfig=kconfig, disks=disks, name="eh-hotadd")) as g:
        devs = load(g, RS, 1)
        a = next(iter(devs.values()))
        mon = g.qmp()
        try:
            for i in range(2 * SCALE):
                target = 5 + i
                node = f"hot{i}"
                mon.cmd("blockdev-add", **{"driver": "null-co", "node-name": node,
                                           "size": 32 << 20, "read-zeroes": True})
                g.run(f"(sg_reset -N -H /dev/{a} > /tmp/hr{i}.log 2>&1; echo $? > /tmp/hr{i}.rc) &")
                mon.cmd("device_add", **{"driver": "scsi-hd", "bus": "pv0.0", "scsi-id": target,
                                         "lun": 0, "drive": node, "id": f"dev-{node}"})
                g.run(f"while [ ! -e /tmp/hr{i}.rc ]; do sleep 0.2; done; cat /tmp/hr{i}.rc | grep -qx 0",
                      timeout=300)
                now = wait_disks(g, RS, 2 + i, timeout=120)
                assert any(h.endswith(f":0:{target}:0") for h in now), now
        finally:
            mon.close()
        data_roundtrip(g, a, mib=2, seek_mib=8)
        for hctl, dev in host_disks(g, RS).items():
            g.run(f"dd if=/dev/{dev} of=/dev/null bs=64k count=16 iflag=direct")


@pytest.mark.stress
def test_aborts_while_other_disk_verifies(kconfig):
    """Commands time out and are aborted on a slow disk again and again,
    while the other disk of the controller verifies data."""
    disks = [Disk(scsi_id=0, size_mb=64),
             Disk(scsi_id=1, size_mb=64, backend="null", latency_ms=4000)]
    with Guest(GuestConfig(kconfig=kconfig, disks=disks, name="eh-aborts")) as g:
        devs = load(g, RS, 2, timeout=180)
        fast = next(d for h, d in devs.items() if h.endswith(":0:0:0"))
        slow_hctl = next(h for h in devs if h.endswith(":0:1:0"))
        sg = g.run(f"ls /sys/class/scsi_device/{slow_hctl}/device/scsi_generic").strip()
        start_verify(g, [fast], "aborts")
        n = 3 * SCALE
        # READ(10) of 8 blocks with a 1 s timeout: each times out and is aborted.
        out = g.run(f"ok=0; for i in $(seq {n}); do "
                    f"sg_raw -t 1 -r 4096 /dev/{sg} 28 00 00 00 00 00 00 00 08 00 2>&1 | "
                    "grep -q DID_TIME_OUT && ok=$((ok+1)); done; echo $ok", timeout=120 * n)
        assert int(out.split()[-1]) == n, out
        stop_verify(g, "aborts")
        assert g.run(f"cat /sys/class/scsi_device/{slow_hctl}/device/state").strip() == "running"
        data_roundtrip(g, fast, mib=2, seek_mib=40)
