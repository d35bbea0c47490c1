# SPDX-License-Identifier: GPL-2.0
"""Error handling: device, bus and host resets (requested from user space
with sg_reset, which runs the driver's handlers like the error handler does)
while fio verifies data on two disks. Commands the reset cancels are retried
by the midlayer; no data may be lost or corrupted, and the adapter must keep
working (a host reset re-registers the rings and rescans)."""

import json
import re
import time

import pytest

from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import (RS, background, data_roundtrip, fio_errors, host_disks, hot_add_null, load,
                          reset_storm, start_verify, stop_verify, wait_background, wait_disks,
                          wait_inflight)

# What fio writes and verifies on each disk around a reset.
FIO_MIB = 4

RESETS = {
    # name -> (sg_reset flag, log line of the handler)
    "device": ("-d", r"vmw_pvscsi_rs .*: reset of target 0:0: done"),
    "target": ("-t", r"vmw_pvscsi_rs .*: reset of target 0:0: done"),
    "bus": ("-b", r"vmw_pvscsi_rs .*: bus reset: done"),
    "host": ("-H", r"vmw_pvscsi_rs .*: adapter reset"),
}


@pytest.fixture(scope="module")
def guest(kconfig):
    disks = [Disk(scsi_id=0, size_mb=64), Disk(scsi_id=1, size_mb=64)]
    with Guest(GuestConfig(kconfig=kconfig, disks=disks, name="eh")) as g:
        g.devs = load(g, RS, 2)
        yield g


# All four kinds, one each, in this guest (make test), then one round of
# the reset storm (which make stress runs again and again). The host
# reset comes last among the four: it re-registers the rings.
@pytest.mark.parametrize("kind", ["device", "target", "bus", "host"])
def test_reset_during_io(guest, kind):
    flag, log = RESETS[kind]
    a, b = guest.devs["0:0:0:0"], guest.devs["0:0:1:0"]
    # Options before the first --name apply to every job.
    guest.run(background("fio --direct=1 --ioengine=libaio --rw=randwrite --bs=4k --iodepth=16 "
                         f"--size={FIO_MIB}M "
                         "--verify=crc32c --do_verify=1 --verify_fatal=1 "
                         f"--name=a --filename=/dev/{a} --name=b --filename=/dev/{b} "
                         "--output-format=json --output=/tmp/eh.json", "eh"))
    # The reset must meet commands in flight: wait until the disk has some.
    wait_inflight(guest, a, pidfile="/tmp/eh.pid", log="/tmp/eh.log")
    guest.mark_console()
    guest.run(f"sg_reset -N {flag} /dev/{a}", timeout=120)
    guest.wait_console(log, timeout=60)
    wait_background(guest, "eh", 300)
    text = guest.run("cat /tmp/eh.json")
    doc = json.loads(text[text.index("{"):])
    assert fio_errors(doc) == 0, guest.run("cat /tmp/eh.log")
    for job in doc["jobs"]:
        # Everything written, and everything read back and verified.
        assert job["write"]["io_bytes"] == FIO_MIB << 20, job["jobname"]
        assert job["read"]["io_bytes"] == FIO_MIB << 20, job["jobname"]
    # The adapter keeps working, with both disks.
    assert sorted(host_disks(guest, RS)) == ["0:0:0:0", "0:0:1:0"]
    data_roundtrip(guest, a, mib=2, seek_mib=32)
    data_roundtrip(guest, b, mib=2, seek_mib=32)


def test_reset_storm_round_under_verify(guest):
    """One round of the reset storm (harness.scsi.reset_storm: device, target,
    bus and host resets on both disks at once, racing each other) while fio
    write-and-verify passes run on both: every reset succeeds without
    escalating, every pass verifies, both disks stay, the driver stays
    bound."""
    a, b = guest.devs["0:0:0:0"], guest.devs["0:0:1:0"]
    bdf = guest.pvscsi_bdf()
    start_verify(guest, [a, b], "storm", size_mb=FIO_MIB)
    wait_inflight(guest, a)
    elapsed = reset_storm(guest, a, b, 1)
    passes = stop_verify(guest, "storm", size_mb=FIO_MIB)
    print(f"reset storm: 1 round x 8 resets in {elapsed:.0f} s, {passes} fio passes")
    assert guest.bound_driver(bdf) == RS
    assert sorted(host_disks(guest, RS)) == ["0:0:0:0", "0:0:1:0"]
    data_roundtrip(guest, a, mib=2, seek_mib=40)
    data_roundtrip(guest, b, mib=2, seek_mib=40)


def test_target_reset_waits_only_for_its_target(guest):
    """A command stuck on one target (reads of a null disk that take 15 s)
    does not hold up a reset of another target: the reset waits for its own
    target's commands only, and succeeds at once. (It used to wait for every
    command of the adapter, up to 10 s, then fail, and the midlayer would
    escalate to bus and host resets.) The slow disk is hot-added at target
    2 (at boot, the firmware's reads of it would cost the boot 20 s)."""
    g = guest
    with g.qmp() as mon:
        hot_add_null(mon, "slow", 2, size_mb=64, latency_ms=15000)
    devs = wait_disks(g, RS, 3, timeout=180)
    fast = devs["0:0:0:0"]
    slow = devs["0:0:2:0"]
    # The partition scan's reads of the slow disk must be over.
    g.run(f"for i in $(seq 900); do set -- $(cat /sys/block/{slow}/inflight); "
          "[ $(($1 + $2)) -eq 0 ] && exit 0; sleep 0.1; done; exit 1", timeout=120)
    g.run(f"dd if=/dev/{slow} of=/dev/null bs=4k count=1 skip=100 iflag=direct "
          "> /tmp/slow.log 2>&1 & echo $! > /tmp/slow.pid")
    g.run(f"for i in $(seq 400); do set -- $(cat /sys/block/{slow}/inflight); "
          "[ $(($1 + $2)) -gt 0 ] && exit 0; sleep 0.05; done; exit 1", timeout=60)
    g.mark_console()
    start = time.monotonic()
    g.run(f"sg_reset -N -d /dev/{fast}", timeout=120)
    elapsed = time.monotonic() - start
    g.wait_console(r"vmw_pvscsi_rs .*: reset of target 0:0: done", timeout=10)
    assert elapsed < 8, elapsed
    # The slow read was not disturbed.
    g.run("pid=$(cat /tmp/slow.pid); while kill -0 $pid 2>/dev/null; do sleep 0.5; done; "
          "grep -q '1+0 records in' /tmp/slow.log", timeout=120)
    assert not re.search(r"bus reset|adapter reset", g.console_since_mark())
    data_roundtrip(g, fast, mib=1, seek_mib=8)
