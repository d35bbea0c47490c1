# SPDX-License-Identifier: GPL-2.0
"""Module life cycle: load/unload cycles with I/O in between, and module
parameters: every invalid value is refused at load with a message naming the
parameter, while the C driver accepts `ring_pages=3` and crashes the guest."""

import pytest

from harness.guest import Disk, Guest, GuestConfig, GuestError
from harness.scsi import C, RS, data_roundtrip, load

INVALID = [
    ("ring_pages", "3"), ("ring_pages", "33"), ("ring_pages", "64"), ("ring_pages", "-1"),
    ("msg_ring_pages", "0"), ("msg_ring_pages", "3"), ("msg_ring_pages", "32"),
    ("cmd_per_lun", "0"), ("cmd_per_lun", "255"), ("cmd_per_lun", "-5"),
]
VALID = ["ring_pages=1", "ring_pages=32 msg_ring_pages=16", "cmd_per_lun=1", "use_msg=0",
         "use_req_threshold=0"]


@pytest.fixture(scope="module")
def guest(kconfig):
    with Guest(GuestConfig(kconfig=kconfig, disks=[Disk(scsi_id=0, size_mb=64), Disk(scsi_id=3, size_mb=64)],
                           name="lifecycle")) as g:
        yield g


# Two and a half minutes: `make stress` runs it (and `make soak`'s 50-cycle
# run with kmemleak), to keep `make test` within its budget.
@pytest.mark.stress
def test_load_unload_cycles_with_io(guest):
    bdf = guest.pvscsi_bdf()
    # Three here; test_platform.py unbinds under I/O and checks kmemleak.
    for cycle in range(3):
        disks = load(guest, RS, 2)
        for dev in disks.values():
            data_roundtrip(guest, dev, mib=1, seek_mib=cycle)
        guest.rmmod(RS)
        assert guest.bound_driver(bdf) is None, f"cycle {cycle}"
        rc, _ = guest.run_rc(f"test -e /sys/module/{RS}")
        assert rc != 0, f"cycle {cycle}: module still present"


@pytest.mark.parametrize("name,value", INVALID, ids=[f"{n}={v}" for n, v in INVALID])
def test_invalid_parameter_is_refused(guest, name, value):
    guest.mark_console()
    rc, out = guest.run_rc(f"insmod /modules/{RS}.ko {name}={value}")
    assert rc != 0, out
    guest.wait_console(rf"vmw_pvscsi_rs: invalid {name}={value}: allowed values are", timeout=10)
    rc, _ = guest.run_rc(f"test -e /sys/module/{RS}")
    assert rc != 0
    assert guest.bound_driver(guest.pvscsi_bdf()) is None


@pytest.mark.parametrize("params", VALID)
def test_valid_parameters_work(guest, params):
    disks = load(guest, RS, 2, params)
    for dev in disks.values():
        data_roundtrip(guest, dev, mib=1)
    guest.rmmod(RS)


@pytest.mark.stress
def test_c_driver_crashes_with_ring_pages_3(kconfig):
    # Recorded C driver behaviour: ring_pages=3 is accepted; the device rounds
    # the ring up to 4 pages and the driver indexes past its 3 (a kernel crash
    # in the completion interrupt once the ring wraps).
    g = Guest(GuestConfig(kconfig=kconfig, disks=[Disk(scsi_id=0, size_mb=64)], name="c-ring-pages-3"))
    g.allow_reports = True
    crashed = False
    with g:
        load(g, C, 1, "ring_pages=3")
        try:
            g.run("dd if=/dev/sda of=/dev/null bs=4k count=3000 iflag=direct", timeout=300)
        except GuestError:
            crashed = True
        reports = g.reports()
    assert crashed or reports, "the C driver survived ring_pages=3"
    assert any("BUG" in r or "Oops" in r or "panic" in r or "KASAN" in r for r in reports), reports
