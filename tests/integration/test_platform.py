# SPDX-License-Identifier: GPL-2.0
"""A backend and a platform that fail (issue 9 §2), on one guest with two
pvscsi controllers:

    pv0: id 0  victim: blkdebug fails reads at sector 2048 and writes at
               sector 4096 (EIO), rerror/werror=report
         id 1  verify disk on the same controller
         id 2  werror=stop disk: blkdebug fails one write at sector 6144
    pv1: id 0  verify disk on the other controller

Each case runs fio write-and-verify on the disks it must not harm and
checks afterwards that they never saw an error: read and write errors reach
the application as EIO with the device's sense and trigger no reset;
werror=stop pauses the VM and the write completes after `cont`; bus
mastering switched off and on under I/O (lost DMA and interrupts) is
recovered by error handling; the PCI function unbound and rebound, and
removed and rescanned, while I/O runs; a hot-plug storm that overflows the
message ring ends with exactly QEMU's disks; and load/unload cycles with
I/O running at every unbind end with an empty kmemleak report.

`make test` runs a short case of each scenario in the one guest: a disk
hot-added and removed under fio, one round of bus mastering off, one
removal and rescan under I/O, a hot-plug storm of 32 adds, one load/unload
cycle under I/O with the leak scan; and, in a guest of its own (a tiny
swiotlb pool on the kernel command line), 8 MiB passes through a bounce
pool too small for the I/O until a mapping failed.
`make stress` (which sets PVSCSI_STRESS_SCALE, 5 by default) runs the long
versions: 15 rounds, unbind and removal twice each times the scale, 500
adds, 50 load/unload cycles, four or more passes through the tiny swiotlb."""

from __future__ import annotations

import json
import os
import random
import re
import time

import pytest

from harness.guest import Disk, Guest, GuestConfig, GuestError
from harness.scsi import (RS, background, data_roundtrip, fio_errors, fio_json, hot_add_null, load,
                          start_verify, stop_verify, wait_background, wait_for, wait_inflight)

SCALE = int(os.environ.get("PVSCSI_STRESS_SCALE", "1"))
# `make stress` sets the scale; `make test` runs the short cases.
LONG = "PVSCSI_STRESS_SCALE" in os.environ
BAD_READ = 2048
BAD_WRITE = 4096
STOP_WRITE = 6144
# QEMU trace events that show a reset or an abort reaching the device.
RESET_EVENTS = re.compile(r"pvscsi_on_cmd_(abort|reset_dev)|PVSCSI_CMD_(RESET_BUS|ADAPTER_RESET)")


def disks_by_slot(g: Guest) -> dict[tuple[str, int], str]:
    """(PCI function, target) -> block device, for every ready SCSI disk."""
    out = g.run("for d in /sys/class/scsi_disk/*; do [ -e \"$d\" ] || continue; "
                "b=$(ls $d/device/block 2>/dev/null) || continue; [ -b /dev/$b ] || continue; "
                "echo ${d##*/} $b $(readlink -f $d/device); done; true")
    disks = {}
    for line in out.splitlines():
        # A disk that went away while being listed has no device path.
        if len(line.split()) != 3:
            continue
        hctl, dev, path = line.split()
        bdf = re.findall(r"0000:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]", path)[-1]
        disks[(bdf, int(hctl.split(":")[2]))] = dev
    return disks


class Platform:
    """The guest of this module and what the cases need to know of it."""

    def __init__(self, g: Guest) -> None:
        self.g = g
        self.pv0, self.pv1 = g.pvscsi_bdfs()

    def dev(self, bdf: str, target: int) -> str:
        return disks_by_slot(self.g)[(bdf, target)]

    def wait_disks(self, count: int, timeout: float = 120.0) -> dict[tuple[str, int], str]:
        return wait_for(f"{count} disks", lambda: (d := disks_by_slot(self.g)) and len(d) == count and d,
                        timeout)

    def trace_mark(self) -> int:
        return len(self.g.trace())

    def resets_since(self, mark: int) -> list[str]:
        return [line for line in self.g.trace()[mark:].splitlines() if RESET_EVENTS.search(line)]


@pytest.fixture(scope="module")
def platform(kconfig):
    eio = 5
    disks = [
        Disk(scsi_id=0, bus="pv0", size_mb=64, device_opts="rerror=report,werror=report",
             blkdebug=[{"event": "read_aio", "sector": BAD_READ, "errno": eio},
                       {"event": "write_aio", "sector": BAD_WRITE, "errno": eio}]),
        Disk(scsi_id=1, bus="pv0", size_mb=64),
        Disk(scsi_id=2, bus="pv0", size_mb=64, device_opts="rerror=stop,werror=stop",
             blkdebug=[{"event": "write_aio", "sector": STOP_WRITE, "errno": eio, "once": True}]),
        Disk(scsi_id=0, bus="pv1", size_mb=64),
    ]
    cfg = GuestConfig(kconfig=kconfig, disks=disks, pvscsi_count=2, boot_attempts=8,
                      trace=["pvscsi_on_cmd_abort", "pvscsi_on_cmd_reset_dev", "pvscsi_on_cmd_arrived"],
                      name="platform")
    with Guest(cfg) as g:
        g.insmod(RS)
        p = Platform(g)
        p.wait_disks(4)
        yield p


def test_backend_errors_reach_the_application_and_nothing_else(platform):
    p, g = platform, platform.g
    victim, same, other = p.dev(p.pv0, 0), p.dev(p.pv0, 1), p.dev(p.pv1, 0)
    start_verify(g, [same, other], "backend")
    wait_inflight(g, other)
    mark = p.trace_mark()
    # The block layer: EIO for the failing sectors, data elsewhere intact.
    rc, out = g.run_rc(f"dd if=/dev/{victim} of=/dev/null bs=512 skip={BAD_READ} count=8 iflag=direct 2>&1")
    assert rc != 0 and "Input/output error" in out, out
    rc, out = g.run_rc(f"dd if=/dev/zero of=/dev/{victim} bs=512 seek={BAD_WRITE} count=8 "
                       "oflag=direct 2>&1")
    assert rc != 0 and "Input/output error" in out, out
    data_roundtrip(g, victim, mib=1, seek_mib=8)
    # SG_IO sees the device's status and sense (no retries there).
    sg = g.run(f"ls /sys/block/{victim}/device/scsi_generic").strip()
    rc, out = g.run_rc(f"sg_raw -r 4096 /dev/{sg} 28 00 00 00 {BAD_READ >> 8:02x} {BAD_READ & 255:02x} "
                       "00 00 08 00 2>&1")
    print(f"READ of a failing sector through SG_IO: exit {rc}: "
          + " / ".join(line.strip() for line in out.splitlines() if "Status" in line or "Sense" in line))
    assert "SCSI Status: Check Condition" in out, out
    assert re.search(r"Sense key: (Aborted Command|Medium Error|Hardware Error)", out), out
    passes = stop_verify(g, "backend")
    resets = p.resets_since(mark)
    assert not resets, resets
    print(f"backend errors: {passes} verify passes on the other disks, no reset")


def test_werror_stop_pauses_until_cont(platform):
    p, g = platform, platform.g
    disk = p.dev(p.pv0, 2)
    g.run("dd if=/dev/urandom of=/tmp/stop.pat bs=4k count=4 2>/dev/null")
    tag = g.start_script(f"dd if=/tmp/stop.pat of=/dev/{disk} bs=512 seek={STOP_WRITE} "
                         "oflag=direct conv=fsync 2>&1")
    mon = g.qmp()
    try:
        status = wait_for("the VM to stop on the write error",
                          lambda: (s := mon.cmd("query-status"))["status"] == "io-error" and s,
                          timeout=120)
        assert not status["running"]
        mon.cmd("cont")
    finally:
        mon.close()
    rc, out = g.finish_script(tag, timeout=120)
    assert rc == 0, out
    g.run(f"dd if=/dev/{disk} of=/tmp/stop.back bs=512 skip={STOP_WRITE} count=32 iflag=direct "
          "2>/dev/null && cmp /tmp/stop.pat /tmp/stop.back")


def set_bus_master(g: Guest, bdf: str, on: bool) -> None:
    """Sets or clears the Bus Master bit of PCI function `bdf` (config space
    offset 4, bit 2) through sysfs, as `setpci` would."""
    cfg = f"/sys/bus/pci/devices/{bdf}/config"
    cmd = int(g.run(f"od -An -tu2 -j4 -N2 {cfg}").strip())
    cmd = (cmd | 4) if on else (cmd & ~4)
    g.run(f"printf '\\{cmd & 255:03o}\\{cmd >> 8:03o}' | dd of={cfg} bs=1 seek=4 conv=notrunc 2>/dev/null")


def test_hot_add_and_remove_while_fio_runs(platform):
    """A disk hot-added at target 40 of the first controller and removed
    again (DEV_ADDED and DEV_REMOVED through the message ring, no rescan)
    while fio writes and verifies another disk of that controller: the new
    disk serves reads, fio is still running when the disk is gone and sees
    no error, and the disk that stayed reads back what was written."""
    p, g = platform, platform.g
    base = p.dev(p.pv0, 1)
    g.run(background(f"fio --name=bg --filename=/dev/{base} --direct=1 --ioengine=libaio "
                     "--rw=randrw --bs=4k --iodepth=8 --time_based --runtime=35 "
                     "--verify=crc32c --verify_backlog=32 --verify_fatal=1 --size=32M "
                     "--output-format=json --output=/tmp/bg.json", "bg"))
    wait_inflight(g, base, "/tmp/bg.pid", "/tmp/bg.log")
    mon = g.qmp()
    try:
        hot_add_null(mon, "hot40", 40)
        dev = wait_for("target 40 to appear", lambda: disks_by_slot(g).get((p.pv0, 40)))
        g.run(f"dd if=/dev/{dev} of=/dev/null bs=64k count=64 iflag=direct")
        mon.cmd("device_del", id="dev-hot40")
        wait_for("DEVICE_DELETED", lambda: any(
            e.get("event") == "DEVICE_DELETED" for e in mon.get_events(wait=1.0)), timeout=60)
        wait_for("target 40 to disappear", lambda: (p.pv0, 40) not in disks_by_slot(g))
        mon.cmd("blockdev-del", **{"node-name": "hot40"})
    finally:
        mon.close()
    assert g.run_rc("kill -0 $(cat /tmp/bg.pid)")[0] == 0, \
        "fio ended before the disk was gone: nothing was tested under I/O"
    wait_background(g, "bg", 180)
    text = g.run("cat /tmp/bg.json")
    job = json.loads(text[text.index("{"):])["jobs"][0]
    assert job["error"] == 0
    assert job["write"]["io_bytes"] > 0 and job["read"]["io_bytes"] > 0
    data_roundtrip(g, base, mib=2, seek_mib=40)


def test_bus_mastering_off_and_on_under_io(platform):
    """With bus mastering off the device can neither move data nor signal
    (MSI is a memory write): commands stall and interrupts are lost. Error
    handling recovers once it is back on."""
    p, g = platform, platform.g
    victim, other = p.dev(p.pv0, 1), p.dev(p.pv1, 0)
    g.run(f"echo 5 > /sys/block/{victim}/device/timeout")
    g.run(f"fio --name=bm --filename=/dev/{victim} --rw=randrw --bs=4k --iodepth=16 --ioengine=libaio "
          "--direct=1 --time_based --runtime=3600 --size=32M --continue_on_error=all "
          ">/tmp/bm.out 2>&1 </dev/null & echo $! > /tmp/bm.pid")
    start_verify(g, [other], "bm")
    wait_inflight(g, victim)
    for _ in range(3 * SCALE if LONG else 1):
        set_bus_master(g, p.pv0, False)
        # The fault lasts longer than the disk's command timeout.
        time.sleep(6)
        set_bus_master(g, p.pv0, True)
        wait_inflight(g, victim)
    g.run("kill $(cat /tmp/bm.pid); while kill -0 $(cat /tmp/bm.pid) 2>/dev/null; do sleep 0.2; done",
          timeout=300)
    stop_verify(g, "bm")
    assert g.bound_driver(p.pv0) == RS
    data_roundtrip(g, victim, mib=2, seek_mib=40)
    data_roundtrip(g, p.dev(p.pv0, 0), mib=1, seek_mib=40)


def start_io(g: Guest, devs: list[str], tag: str) -> None:
    """I/O that may fail (the disks go away under it)."""
    jobs = " ".join(f"--name={d} --filename=/dev/{d}" for d in devs)
    g.run(f"fio --rw=randrw --bs=4k --iodepth=16 --ioengine=libaio --direct=1 --time_based "
          f"--runtime=3600 --size=32M --continue_on_error=all {jobs} >/tmp/{tag}.out 2>&1 </dev/null & "
          f"echo $! > /tmp/{tag}.pid")


def stop_io(g: Guest, tag: str) -> None:
    g.run(f"kill $(cat /tmp/{tag}.pid) 2>/dev/null; "
          f"while kill -0 $(cat /tmp/{tag}.pid) 2>/dev/null; do sleep 0.2; done", timeout=300)


@pytest.mark.parametrize("how", [pytest.param("unbind", marks=pytest.mark.stress), "remove"])
def test_function_goes_away_under_io(platform, how):
    """The first controller is unbound and rebound (or removed and found
    again by a rescan) while fio runs on its disks; the other controller's
    verify never notices, and the disks come back usable."""
    p, g = platform, platform.g
    other = p.dev(p.pv1, 0)
    victims = [p.dev(p.pv0, 0), p.dev(p.pv0, 1)]
    start_verify(g, [other], how)
    for _ in range(2 * SCALE if LONG else 1):
        start_io(g, victims, "gone")
        for v in victims:
            wait_inflight(g, v)
        if how == "unbind":
            g.run(f"echo {p.pv0} > /sys/bus/pci/drivers/{RS}/unbind", timeout=300)
            assert g.bound_driver(p.pv0) is None
            stop_io(g, "gone")
            g.run(f"echo {p.pv0} > /sys/bus/pci/drivers/{RS}/bind", timeout=300)
        else:
            g.run(f"echo 1 > /sys/bus/pci/devices/{p.pv0}/remove", timeout=300)
            stop_io(g, "gone")
            g.run("echo 1 > /sys/bus/pci/rescan", timeout=300)
        disks = p.wait_disks(4)
        victims = [disks[(p.pv0, 0)], disks[(p.pv0, 1)]]
    stop_verify(g, how)
    assert g.bound_driver(p.pv0) == RS
    data_roundtrip(g, victims[1], mib=1, seek_mib=44)


def test_hotplug_storm_overflows_message_ring(platform):
    """Disks added and removed in bursts faster than the guest handles them:
    the 32-entry message ring (msg_ring_pages=1, the default) fills, QEMU
    drops messages, and the driver notices the full ring and rescans. The
    disk set ends as QEMU has it; the verify disks never see an error."""
    p, g = platform, platform.g
    ids = list(range(8, 16))
    # 32 adds and about as many removals still overflow the 32 entries.
    cycles = 100 * SCALE if LONG else 32
    rng = random.Random(9)
    start_verify(g, [p.dev(p.pv0, 1), p.dev(p.pv1, 0)], "storm")
    present: dict[int, str] = {}
    mon = g.qmp()
    adds = removes = 0
    try:
        while adds < cycles:
            t = rng.choice(ids)
            if t in present:
                mon.cmd("device_del", id=present.pop(t))
                removes += 1
            else:
                node = f"hp{adds}"
                mon.cmd("blockdev-add", **{"driver": "null-co", "node-name": node,
                                           "size": 16 << 20, "read-zeroes": True})
                mon.cmd("device_add", **{"driver": "scsi-hd", "bus": "pv0.0", "scsi-id": t,
                                         "lun": 0, "drive": node, "id": f"d-{node}"})
                present[t] = f"d-{node}"
                adds += 1
    finally:
        mon.close()
    want = {0, 1, 2} | set(present)
    start = time.monotonic()
    try:
        wait_for("the guest's disks to match QEMU's",
                 lambda: {t for (bdf, t) in disks_by_slot(g) if bdf == p.pv0} == want, timeout=300)
    except GuestError:
        have = sorted(t for (bdf, t) in disks_by_slot(g) if bdf == p.pv0)
        raise GuestError(f"pv0 has targets {have}, QEMU has {sorted(want)}") from None
    print(f"hot-plug storm: {adds} adds, {removes} removes; disks matched QEMU's "
          f"{time.monotonic() - start:.0f} s after the last command")
    stop_verify(g, "storm")
    for t in present:
        g.run(f"dd if=/dev/{p.dev(p.pv0, t)} of=/dev/null bs=64k count=16 iflag=direct")
    # Leave the guest as the other cases expect it.
    mon = g.qmp()
    try:
        for dev_id in present.values():
            mon.cmd("device_del", id=dev_id)
    finally:
        mon.close()
    wait_for("the storm's disks to go",
             lambda: {t for (bdf, t) in disks_by_slot(g) if bdf == p.pv0} == {0, 1, 2}, timeout=300)


def test_load_unload_cycles_under_io_leak_nothing(platform):
    """Load/unload cycles with I/O running at every unbind: while fio has
    the disks open the module cannot go (an open disk holds a reference to
    it: rmmod is refused), so both functions are unbound through sysfs
    under the I/O, then the module is unloaded and loaded again. kmemleak
    reports nothing at the end."""
    p, g = platform, platform.g
    g.run("grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug; "
          "echo clear > /sys/kernel/debug/kmemleak")
    # make stress (scale 5): 50.
    cycles = 10 * SCALE if LONG else 1
    for cycle in range(cycles):
        disks = disks_by_slot(g)
        devs = [disks[(p.pv0, 0)], disks[(p.pv0, 1)], disks[(p.pv1, 0)]]
        start_io(g, devs, "cycle")
        for d in devs:
            wait_inflight(g, d)
        if cycle == 0:
            rc, out = g.run_rc(f"rmmod {RS} 2>&1")
            assert rc != 0, "the module went away under open disks"
        g.run(f"echo {p.pv0} > /sys/bus/pci/drivers/{RS}/unbind; "
              f"echo {p.pv1} > /sys/bus/pci/drivers/{RS}/unbind", timeout=300)
        stop_io(g, "cycle")
        g.rmmod(RS, timeout=300)
        assert g.bound_driver(p.pv0) is None and g.bound_driver(p.pv1) is None, f"cycle {cycle}"
        g.insmod(RS)
        p.wait_disks(4)
    disks = disks_by_slot(g)
    data_roundtrip(g, disks[(p.pv0, 1)], mib=1, seek_mib=48)
    data_roundtrip(g, disks[(p.pv1, 0)], mib=1, seek_mib=48)
    # kmemleak reports only objects older than 5 s, found unreferenced by
    # two scans.
    out = g.run("echo scan > /sys/kernel/debug/kmemleak; sleep 6; "
                "echo scan > /sys/kernel/debug/kmemleak; cat /sys/kernel/debug/kmemleak", timeout=300)
    assert "unreferenced object" not in out, out
    print(f"load/unload: {cycles} cycles under I/O, kmemleak empty")


def test_tiny_swiotlb_mapping_failures_are_retried(kconfig):
    """Every DMA mapping bounced through a tiny swiotlb pool
    (`swiotlb=128,force`, which the kernel rounds up to 256 slots: 512 KiB):
    fio with 64 KiB blocks at queue depth 32 needs four times that, so
    mappings fail (passes of 8 MiB written and verified until one did, up
    to eight; make stress runs at least four). The driver hands such a command back as
    busy and the midlayer retries it: no I/O error, data verified, and
    the pool empty afterwards (no mapping leaked)."""
    cfg = GuestConfig(kconfig=kconfig, disks=[Disk(scsi_id=0, size_mb=64)], append="swiotlb=128,force",
                      name="swiotlb")
    with Guest(cfg) as g:
        dev = next(iter(load(g, RS, 1).values()))
        g.run("grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug")
        tlb = "/sys/kernel/debug/swiotlb"
        nslabs = int(g.run(f"cat {tlb}/io_tlb_nslabs"))
        assert nslabs <= 256, nslabs
        # Passes of fio until a mapping has failed (at least one; make
        # stress: four): under TCG a pass does not always have enough
        # mappings in flight at once to exhaust the pool.
        mib = 8
        passes = 0
        while passes < (4 if LONG else 1) or (g.console().count("swiotlb buffer is full") == 0
                                               and passes < 8):
            doc = fio_json(g, f"--name=tlb --filename=/dev/{dev} --rw=randwrite --bs=64k --iodepth=32 "
                              f"--ioengine=libaio --direct=1 --size={mib}M --verify=crc32c "
                              "--do_verify=1 --verify_fatal=1", timeout=900)
            assert fio_errors(doc) == 0
            job = doc["jobs"][0]
            assert job["write"]["io_bytes"] == mib << 20 and job["read"]["io_bytes"] == mib << 20
            passes += 1
        full = g.console().count("swiotlb buffer is full")
        used = wait_for("the bounce pool to drain", lambda: g.run(f"cat {tlb}/io_tlb_used").strip() == "0",
                        timeout=30)
        print(f"swiotlb: {nslabs} slots, {passes} passes of {mib} MiB, {full} 'buffer is full' "
              f"reports, pool empty after: {used}")
        # The pool ran out, so mappings did fail (and were retried).
        assert full > 0, "no mapping failed: the test proves nothing"
