# SPDX-License-Identifier: GPL-2.0
"""The C driver's remaining features, side by side: each adapter's effective
settings in sysfs, a writable queue depth, and the largest transfer.

Linux 7.3's Rust `module!` registers module parameters without sysfs files,
so the driver shows the values in effect for each adapter as attributes of
its SCSI host instead (the C driver has the module parameters only, shared
by every adapter)."""

import pytest

from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import C, RS, data_roundtrip, load


@pytest.fixture(scope="module")
def guest(kconfig):
    disks = [Disk(scsi_id=0, size_mb=128), Disk(scsi_id=4, size_mb=64)]
    with Guest(GuestConfig(kconfig=kconfig, disks=disks, name="features")) as g:
        yield g


def host_dir(g: Guest, driver: str) -> str:
    """The sysfs folder of the (only) SCSI host of `driver`."""
    return g.run("for h in /sys/class/scsi_host/host*; do "
                 f"[ \"$(cat $h/proc_name)\" = {driver} ] && echo $h; done").strip()


def attrs(g: Guest, driver: str, names: list[str]) -> dict[str, str]:
    d = host_dir(g, driver)
    return {n: g.run(f"cat {d}/{n}").strip() for n in names}


@pytest.mark.parametrize("params,want", [
    ("", {"ring_pages": "8", "msg_ring_pages": "1", "req_threshold": "0", "max_id": "65",
          "can_queue": "256", "cmd_per_lun": "254", "poll_queues": "0"}),
    # The poll queue shares the host's tags: can_queue stays the ring's size.
    ("poll_queues=1", {"poll_queues": "1", "can_queue": "256"}),
    ("ring_pages=32 msg_ring_pages=4 cmd_per_lun=64",
     {"ring_pages": "32", "msg_ring_pages": "4", "can_queue": "1024", "cmd_per_lun": "64"}),
    ("use_msg=0 ring_pages=1", {"ring_pages": "1", "msg_ring_pages": "0", "can_queue": "32",
                                "cmd_per_lun": "32"}),
])
def test_host_attributes_show_effective_settings(guest, params, want):
    load(guest, RS, 2, params)
    try:
        assert attrs(guest, RS, list(want)) == want
    finally:
        guest.rmmod(RS)


@pytest.mark.parametrize("driver", [RS, C])
def test_queue_depth_is_writable(guest, driver):
    devs = load(guest, driver, 2)
    try:
        dev = next(d for h, d in devs.items() if h.endswith(":0:0:0"))
        qd = f"/sys/block/{dev}/device/queue_depth"
        assert guest.run(f"cat {qd}").strip() == "254"
        guest.run(f"echo 16 > {qd}")
        assert guest.run(f"cat {qd}").strip() == "16"
        # More than the host can queue is refused.
        rc, _ = guest.run_rc(f"echo 100000 > {qd}")
        assert rc != 0
        assert guest.run(f"cat {qd}").strip() == "16"
        data_roundtrip(guest, dev, mib=2)
    finally:
        guest.rmmod(driver)


def test_largest_transfer_matches_the_c_driver(guest):
    limits = {}
    for driver in (C, RS):
        devs = load(guest, driver, 2)
        dev = next(d for h, d in devs.items() if h.endswith(":0:0:0"))
        q = f"/sys/block/{dev}/queue"
        limits[driver] = (int(guest.run(f"cat {q}/max_hw_sectors_kb")),
                          int(guest.run(f"cat {q}/max_segments")))
        if driver == RS:
            # 8 MiB transfers, written and read back.
            guest.run(f"echo {limits[RS][0]} > {q}/max_sectors_kb")
            guest.run(f"dd if=/dev/urandom of=/tmp/big bs=1M count=16 2>/dev/null && "
                      f"dd if=/tmp/big of=/dev/{dev} bs=8M oflag=direct 2>/dev/null && "
                      f"dd if=/dev/{dev} of=/tmp/big.back bs=8M count=2 iflag=direct 2>/dev/null && "
                      "cmp /tmp/big /tmp/big.back", timeout=300)
        guest.rmmod(driver)
    print(f"max_hw_sectors_kb, max_segments: {limits}")
    assert limits[RS] == limits[C]
