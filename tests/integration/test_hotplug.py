# SPDX-License-Identifier: GPL-2.0
"""Hot-plug through the message ring: disks added and removed with QMP while
fio runs on another disk. QEMU's pvscsi posts DEV_ADDED / DEV_REMOVED
messages; the driver adds and removes the SCSI devices without a rescan."""

import pytest

from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import RS, data_roundtrip, host_disks, load, wait_for


@pytest.fixture(scope="module")
def guest(kconfig):
    with Guest(GuestConfig(kconfig=kconfig, disks=[Disk(scsi_id=0, size_mb=64)],
                           name="hotplug")) as g:
        g.base = load(g, RS, 1)["0:0:0:0"]
        yield g


def start_fio(g: Guest, dev: str, seconds: int) -> None:
    g.run(f"fio --name=bg --filename=/dev/{dev} --direct=1 --ioengine=libaio "
          f"--rw=randrw --bs=4k --iodepth=8 --time_based --runtime={seconds} "
          "--verify=crc32c --verify_backlog=32 --verify_fatal=1 --size=32M "
          "--output-format=json --output=/tmp/bg.json > /tmp/bg.log 2>&1 & echo $! > /tmp/bg.pid")


def finish_fio(g: Guest, timeout: float) -> dict:
    import json
    g.run("pid=$(cat /tmp/bg.pid); while kill -0 $pid 2>/dev/null; do sleep 0.5; done", timeout=timeout)
    text = g.run("cat /tmp/bg.json")
    return json.loads(text[text.index("{"):])


@pytest.mark.parametrize("scsi_id", [40])
def test_hot_add_and_remove_while_fio_runs(guest, scsi_id):
    hctl = f"0:0:{scsi_id}:0"
    node = f"hot{scsi_id}"
    start_fio(guest, guest.base, 40)
    mon = guest.qmp()
    try:
        mon.cmd("blockdev-add", **{"driver": "null-co", "node-name": node,
                                   "size": 32 << 20, "read-zeroes": True})
        mon.cmd("device_add", **{"driver": "scsi-hd", "bus": "pv0.0", "scsi-id": scsi_id,
                                 "lun": 0, "drive": node, "id": f"dev-{node}"})
        dev = wait_for(f"{hctl} to appear", lambda: host_disks(guest, RS).get(hctl))
        # The new disk is usable.
        guest.run(f"dd if=/dev/{dev} of=/dev/null bs=64k count=64 iflag=direct")
        mon.cmd("device_del", id=f"dev-{node}")
        wait_for("DEVICE_DELETED", lambda: any(
            e.get("event") == "DEVICE_DELETED" for e in mon.get_events(wait=1.0)), timeout=60)
        wait_for(f"{hctl} to disappear", lambda: hctl not in host_disks(guest, RS))
        mon.cmd("blockdev-del", **{"node-name": node})
    finally:
        mon.close()
    doc = finish_fio(guest, 180)
    job = doc["jobs"][0]
    assert job["error"] == 0
    assert job["write"]["io_bytes"] > 0 and job["read"]["io_bytes"] > 0
    # The disk that stayed is unaffected.
    data_roundtrip(guest, guest.base, mib=2, seek_mib=40)
    log = guest.run("dmesg")
    assert f"msg: device added at scsi0:0:{scsi_id}:0" in log
    assert f"msg: device removed at scsi0:0:{scsi_id}:0" in log
