# SPDX-License-Identifier: GPL-2.0
"""Command abort: a command that outlives its timeout.

One disk is a null-co device on which every read takes LATENCY_MS. An SG_IO
READ with a 1 s timeout times out; the midlayer calls the driver's abort
handler, which sends ABORT_CMD. QEMU cancels the request (it waits for the
read in flight to end), the device completes it as aborted, and the handler
reports success. The command fails to user space with DID_TIME_OUT, nothing
escalates to a device, bus or host reset, and both disks keep working.

The same case runs on the C driver, which handles it the same way here."""

import re
import time

import pytest

from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import C, RS, data_roundtrip, load

LATENCY_MS = 3000
# READ(10) of 8 blocks at LBA 0.
READ10 = "28 00 00 00 00 00 00 00 08 00"
# What each driver logs when it resets something.
RESET_LOGS = {
    RS: r"reset of target|bus reset|adapter reset",
    C: r"SCSI device reset|SCSI Bus reset|SCSI Host reset",
}


# The C driver's run is a comparison record: `make stress` runs it.
@pytest.fixture(scope="module", params=[RS, pytest.param(C, marks=pytest.mark.stress)])
def guest(request, kconfig):
    disks = [Disk(scsi_id=0, size_mb=64),
             Disk(scsi_id=1, size_mb=64, backend="null", latency_ms=LATENCY_MS)]
    with Guest(GuestConfig(kconfig=kconfig, disks=disks, name=f"abort-{request.param}")) as g:
        g.driver = request.param
        g.devs = load(g, request.param, 2, timeout=180)
        yield g


def scsi_dev_attr(g: Guest, hctl: str, attr: str) -> str:
    """Sysfs attribute `attr` of SCSI device `hctl`."""
    return g.run(f"cat /sys/class/scsi_device/{hctl}/device/{attr}").strip()


def test_abort_of_timed_out_command(guest):
    fast = next(h for h in guest.devs if h.endswith(":0:0:0"))
    slow = next(h for h in guest.devs if h.endswith(":0:1:0"))
    sg = guest.run(f"ls /sys/class/scsi_device/{slow}/device/scsi_generic").strip()
    # The partition scan reads of the slow disk must be over: they would
    # delay the command below past its timeout for the wrong reason.
    guest.run(f"for i in $(seq 600); do set -- $(cat /sys/block/{guest.devs[slow]}/inflight); "
              "[ $(($1 + $2)) -eq 0 ] && exit 0; sleep 0.05; done; exit 1", timeout=60)
    timeouts = int(scsi_dev_attr(guest, slow, "iotmo_cnt"), 16)
    guest.mark_console()
    guest.run("echo abort-test-start > /dev/kmsg")
    start = time.monotonic()
    rc, out = guest.run_rc(f"sg_raw -t 1 -r 4096 /dev/{sg} {READ10} 2>&1", timeout=120)
    elapsed = time.monotonic() - start
    assert rc != 0, out
    assert "DID_TIME_OUT" in out, out
    # The 1 s timeout, then the abort, which ends when QEMU has finished the
    # 3 s read it cancels; an escalation to resets would take far longer.
    assert 1 <= elapsed < 30, elapsed
    assert int(scsi_dev_attr(guest, slow, "iotmo_cnt"), 16) == timeouts + 1
    if guest.driver == RS:
        guest.wait_console(r"vmw_pvscsi_rs .*: abort of command \(tag \d+\) on target 1: done",
                           timeout=30)
    log = guest.run("dmesg | sed -n '/abort-test-start/,$p'")
    assert not re.search(RESET_LOGS[guest.driver], log), log
    assert scsi_dev_attr(guest, slow, "state") == "running"
    # Both disks still work: the aborted context was freed and is reused.
    guest.run(f"dd if=/dev/{guest.devs[slow]} of=/dev/null bs=4k count=1 iflag=direct", timeout=60)
    data_roundtrip(guest, guest.devs[fast], mib=2)
