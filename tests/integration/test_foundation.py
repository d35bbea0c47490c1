# SPDX-License-Identifier: GPL-2.0
"""The module's life cycle in a guest: load, bind, KUnit, unload, reload."""

import pytest

from harness import kunit
from harness.guest import Disk, Guest, GuestConfig

DRIVER = "vmw_pvscsi_rs"


@pytest.fixture(scope="module")
def guest(kconfig):
    """One guest for the whole file: a pvscsi controller with one disk."""
    with Guest(GuestConfig(kconfig=kconfig, disks=[Disk(scsi_id=0)], name="foundation")) as g:
        yield g


def test_no_driver_bound_at_boot(guest):
    # Nothing loads drivers by alias in the guest: the C vmw_pvscsi must not
    # grab the device behind the tests' back.
    bdf = guest.pvscsi_bdf()
    assert bdf, "no pvscsi PCI function in the guest"
    assert guest.bound_driver(bdf) is None
    assert "vmw_pvscsi" not in guest.run("cat /proc/modules")


def test_module_loads_and_binds(guest):
    bdf = guest.pvscsi_bdf()
    guest.mark_console()
    guest.insmod(DRIVER)
    assert guest.bound_driver(bdf) == DRIVER
    guest.wait_console(r"vmw_pvscsi_rs .*: PVSCSI adapter at BAR 0, (64|32)-bit DMA", timeout=10)


def test_kunit_suites_pass(guest, tmp_path):
    # The suites run when the module loads; load it if this test runs alone.
    if guest.run_rc(f"test -e /sys/module/{DRIVER}")[0] != 0:
        guest.insmod(DRIVER)
    result = kunit.parse(kunit.collect(guest), tmp_path)
    print(result.report)
    assert result.ok, result.report
    assert result.suites >= 3
    assert result.failed == 0


def test_module_unloads_and_loads_again(guest):
    bdf = guest.pvscsi_bdf()
    guest.rmmod(DRIVER)
    assert guest.bound_driver(bdf) is None
    rc, _ = guest.run_rc(f"test -e /sys/module/{DRIVER}")
    assert rc != 0, "module still present after rmmod"
    guest.mark_console()
    guest.insmod(DRIVER)
    assert guest.bound_driver(bdf) == DRIVER
    guest.wait_console(r"PVSCSI adapter at BAR", timeout=10)
    guest.rmmod(DRIVER)
    assert guest.bound_driver(bdf) is None
