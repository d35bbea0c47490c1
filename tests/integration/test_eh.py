# SPDX-License-Identifier: GPL-2.0
"""Error handling: device, bus and host resets (requested from user space
with sg_reset, which runs the driver's handlers like the error handler does)
while fio verifies data on two disks. Commands the reset cancels are retried
by the midlayer; no data may be lost or corrupted, and the adapter must keep
working (a host reset re-registers the rings and rescans)."""

import json

import pytest

from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import RS, data_roundtrip, fio_errors, host_disks, load

RESETS = {
    # name -> (sg_reset flag, log line of the handler)
    "device": ("-d", r"vmw_pvscsi_rs .*: reset of target 0:0: done"),
    "bus": ("-b", r"vmw_pvscsi_rs .*: bus reset: done"),
    "host": ("-H", r"vmw_pvscsi_rs .*: adapter reset"),
}


@pytest.fixture(scope="module")
def guest(kconfig):
    disks = [Disk(scsi_id=0, size_mb=64), Disk(scsi_id=1, size_mb=64)]
    with Guest(GuestConfig(kconfig=kconfig, disks=disks, name="eh")) as g:
        g.devs = load(g, RS, 2)
        yield g


@pytest.mark.parametrize("kind", list(RESETS))
def test_reset_during_io(guest, kind):
    flag, log = RESETS[kind]
    a, b = guest.devs["0:0:0:0"], guest.devs["0:0:1:0"]
    # Options before the first --name apply to every job.
    guest.run("fio --direct=1 --ioengine=libaio --rw=randwrite --bs=4k --iodepth=16 --size=16M "
              "--verify=crc32c --do_verify=1 --verify_fatal=1 "
              f"--name=a --filename=/dev/{a} --name=b --filename=/dev/{b} "
              "--output-format=json --output=/tmp/eh.json > /tmp/eh.log 2>&1 & echo $! > /tmp/eh.pid")
    # The reset must meet commands in flight: wait until the disk has some.
    guest.run(f"for i in $(seq 400); do set -- $(cat /sys/block/{a}/inflight); "
              "[ $(($1 + $2)) -gt 0 ] && exit 0; sleep 0.05; done; exit 1", timeout=60)
    guest.mark_console()
    guest.run(f"sg_reset {flag} /dev/{a}", timeout=120)
    guest.wait_console(log, timeout=60)
    guest.run("pid=$(cat /tmp/eh.pid); while kill -0 $pid 2>/dev/null; do sleep 0.5; done", timeout=300)
    text = guest.run("cat /tmp/eh.json")
    doc = json.loads(text[text.index("{"):])
    assert fio_errors(doc) == 0, guest.run("cat /tmp/eh.log")
    for job in doc["jobs"]:
        # Everything written, and everything read back and verified.
        assert job["write"]["io_bytes"] == 16 << 20, job["jobname"]
        assert job["read"]["io_bytes"] == 16 << 20, job["jobname"]
    # The adapter keeps working, with both disks.
    assert sorted(host_disks(guest, RS)) == ["0:0:0:0", "0:0:1:0"]
    data_roundtrip(guest, a, mib=2, seek_mib=32)
    data_roundtrip(guest, b, mib=2, seek_mib=32)
