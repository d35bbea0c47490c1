# SPDX-License-Identifier: GPL-2.0
"""Target discovery: QEMU's pvscsi cannot report its target count (the CONFIG
command is not implemented), so the Rust driver scans every id QEMU accepts
(0 to 64). The C driver falls back to 16 and misses every disk at id 16 and
above."""

import pytest

from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import C, RS, host_disks, load, targets, wait_disks

IDS = [0, 15, 20, 63, 64]


@pytest.fixture(scope="module")
def guest(kconfig):
    disks = [Disk(scsi_id=i, backend="null", size_mb=16) for i in IDS]
    with Guest(GuestConfig(kconfig=kconfig, disks=disks, name="scan")) as g:
        yield g


def test_rust_driver_finds_disks_at_ids_0_15_20_63_64(guest):
    disks = load(guest, RS, len(IDS))
    assert targets(disks) == IDS
    guest.rmmod(RS)


def test_c_driver_misses_ids_above_15(guest):
    # The difference from the C driver, recorded: it only scans ids 0-15.
    guest.insmod(C)
    disks = wait_disks(guest, C, 2)
    assert targets(disks) == [0, 15]
    guest.rmmod(C)


def test_rust_driver_logs_the_target_fallback(guest):
    guest.mark_console()
    load(guest, RS, len(IDS))
    guest.wait_console(r"CONFIG page unavailable .* scanning targets 0-64", timeout=10)
    assert "max_id=65" in guest.run("dmesg | grep 'VMware PVSCSI (Rust)'")
    assert host_disks(guest, RS)
    guest.rmmod(RS)
