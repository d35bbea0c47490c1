# SPDX-License-Identifier: GPL-2.0
"""Shutdown: power-off, reboot (and halt and kexec) keep the disks' final
cache flush.

`sd` flushes a write-back cache (SYNCHRONIZE CACHE) from its own shutdown
callback, which `device_shutdown()` runs before the host adapter's. The
driver quiesces the adapter from the PCI driver's shutdown callback, after
that; until this test existed it did so from a reboot notifier, which runs
before `device_shutdown()`, so the flush was refused (DID_NO_CONNECT) and
never reached the device.

Checked where the device sees it: QEMU's trace shows the SYNCHRONIZE CACHE
descriptor arriving and being completed, and then the adapter reset; the
console shows no failed Synchronize Cache. The C driver, whose `.shutdown`
runs in the same place, is checked the same way."""

import re

import pytest

from harness.scsi import C, RS, load
from harness.guest import Disk

# QEMU trace lines (the "log" trace backend).
DESCR = re.compile(r"pvscsi_process_req_descr SCSI cmd 0x(\w+), ctx: 0x(\w+)")
COMPLETE = re.compile(r"pvscsi_complete_request completion: ctx: 0x(\w+), len: 0x\w+, sense key: (\d+)")
RESET = "pvscsi_on_cmd_arrived command PVSCSI_CMD_ADAPTER_RESET arrived"
SYNCHRONIZE_CACHE_10 = 0x35


# Both ways on this driver; the C driver (which behaves the same) on one,
# in make stress.
@pytest.mark.parametrize("driver,how", [(RS, "poweroff"), (RS, "reboot"),
                                        pytest.param(C, "poweroff", marks=pytest.mark.stress)])
def test_shutdown_flushes_the_write_cache(make_guest, driver, how):
    disks = [Disk(scsi_id=0, size_mb=64), Disk(scsi_id=3, size_mb=64)]
    trace = ["pvscsi_process_req_descr", "pvscsi_complete_request", "pvscsi_on_cmd_arrived"]
    with make_guest(disks=disks, trace=trace) as g:
        devs = load(g, driver, 2)
        for hctl, dev in devs.items():
            # scsi-hd has a write-back cache (WCE) by default.
            assert g.run(f"cat /sys/class/scsi_disk/{hctl}/cache_type").strip() == "write back"
            g.run(f"dd if=/dev/urandom of=/dev/{dev} bs=64k count=16 2>/dev/null")
        # Keep I/O going until the end.
        dev = next(iter(devs.values()))
        g.run(f"dd if=/dev/{dev} of=/dev/null bs=4k iflag=direct > /dev/null 2>&1 &")
        before = len(g.trace())
        g.mark_console()
        g.shutdown_with(f"sync; {how} -f")
        trace_log = g.trace()[before:]
        console = g.console_since_mark()
    assert "Synchronize Cache" not in console, console
    flushes = [ctx for op, ctx in DESCR.findall(trace_log) if int(op, 16) == SYNCHRONIZE_CACHE_10]
    # One flush per disk, each completed without sense data.
    assert len(flushes) == 2, trace_log[-4000:]
    done = {ctx: int(key) for ctx, key in COMPLETE.findall(trace_log)}
    for ctx in flushes:
        assert done.get(ctx) == 0, (ctx, trace_log[-4000:])
    # The adapter is reset (quiesced) after the flushes.
    assert RESET in trace_log[trace_log.rindex("SCSI cmd 0x35"):], trace_log[-4000:]
    if driver == RS:
        assert re.search(r"vmw_pvscsi_rs .*: adapter quiesced for shutdown", console), console
