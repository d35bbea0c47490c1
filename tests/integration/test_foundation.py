# SPDX-License-Identifier: GPL-2.0
"""The module's life cycle in a guest: load, bind, KUnit, unload, reload."""

import pytest

from harness import kunit
from harness.guest import Disk, Guest, GuestConfig

DRIVER = "vmw_pvscsi_rs"
# Every KUnit suite of the module (tests.rs): one that stopped running, or
# was never built, is a failure, not a smaller count.
SUITES = {"abi", "regs", "config", "ring_index", "status", "request", "message",
          "workqueue"}


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
    # Guests boot with kunit.autorun=0: the suites run when asked to. Load
    # the module if this test runs alone.
    if guest.run_rc(f"test -e /sys/module/{DRIVER}")[0] != 0:
        guest.insmod(DRIVER)
    kunit.run_suites(guest)
    result = kunit.parse(kunit.collect(guest), tmp_path)
    print(result.report)
    assert result.ok, result.report
    assert sorted(result.names) == sorted(f"vmw_pvscsi_rs_{s}" for s in SUITES), result.names
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
