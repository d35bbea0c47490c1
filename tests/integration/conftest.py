# SPDX-License-Identifier: GPL-2.0
"""pytest configuration of the guest integration tests."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.guest import Disk, Guest, GuestConfig  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "stress: long cases run by `make stress` only (`make test` deselects them)")
    config.addinivalue_line(
        "markers", "lane(name): runs this case in lane `name` (light or heavy) instead of its "
        "file's; only for a case with a guest of its own (no module-scoped fixture)")


# The files of the light lane. With two guests at a time (PVSCSI_TEST_JOBS=2,
# make test's default), pytest-xdist runs two lanes (`--dist loadgroup`),
# each file whole in one of them: these functional cases, whose waits are
# not tight (the abort case waits for a timeout, whatever the speed; the I/O
# cases verify data), beside the long and timing-sensitive ones (error
# handling, the lying device, sleep, hot-plug, polling, VMware mode), which
# keep a lane of their own in file order. A guest uses about one core of this
# machine's two (QEMU's CPU time over its life: build/logs/durations.json),
# so the other core runs the light lane. A case with a guest of its own can
# be moved to the other lane with `@pytest.mark.lane("light")` to even the
# lanes out (each lane's sum: build/logs/durations.json).
LIGHT_LANE = {"test_abort.py", "test_console_checker.py", "test_features.py",
              "test_foundation.py", "test_install.py", "test_intree.py", "test_io.py",
              "test_lifecycle.py", "test_root_disk.py", "test_scan.py", "test_scsi_layer.py",
              "test_sense.py", "test_series.py", "test_shutdown.py"}


# First: pytest-xdist's own hook of the workers reads the `xdist_group` marks
# (it appends the group to each node id), so they must be set before it runs.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Sorts the cases of a module that defines `order(item)` by it, in
    place among the other modules' (their module-scoped guests stay one
    each); the sort is stable, so cases of one rank keep their order. Then
    puts each case in its file's lane (LIGHT_LANE) or the one its `lane`
    mark names, which pytest-xdist's `loadgroup` scheduling reads."""
    for item in items:
        lane = "light" if Path(str(item.fspath)).name in LIGHT_LANE else "heavy"
        mark = item.get_closest_marker("lane")
        if mark is not None:
            lane = mark.args[0]
            if lane not in ("light", "heavy"):
                raise pytest.UsageError(f"{item.nodeid}: unknown lane {lane!r}")
            info = getattr(item, "_fixtureinfo", None)
            shared = [name for name, defs in (info.name2fixturedefs.items() if info else ())
                      if any(d.scope in ("module", "package", "class") for d in defs)]
            if shared:
                raise pytest.UsageError(
                    f"{item.nodeid}: a lane mark needs a guest of the case's own; "
                    f"it shares {', '.join(shared)} with the other cases of its file")
        item.add_marker(pytest.mark.xdist_group(lane))
    start = 0
    while start < len(items):
        module = items[start].module
        end = start
        while end < len(items) and items[end].module is module:
            end += 1
        if hasattr(module, "order"):
            items[start:end] = sorted(items[start:end], key=module.order)
        start = end


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps the logs of a guest shared by several tests (a module-scoped
    fixture, which ends without an exception) when one of its tests fails."""
    rep = yield
    if rep.failed:
        for value in getattr(item, "funcargs", {}).values():
            guest = getattr(value, "g", value)
            if isinstance(guest, Guest):
                guest.keep_logs = True
    return rep


@pytest.fixture(scope="session")
def kconfig() -> str:
    """The test-kernel configuration the suite runs on (debug unless told)."""
    return os.environ.get("PVSCSI_KCONFIG", "debug")


@pytest.fixture
def make_guest(kconfig, request):
    """Returns a factory of guests named after the test; use it in `with`."""

    def make(**kwargs) -> Guest:
        kwargs.setdefault("kconfig", kconfig)
        kwargs.setdefault("name", request.node.name.replace("/", "_")[:60])
        return Guest(GuestConfig(**kwargs))

    return make


__all__ = ["Disk", "Guest", "GuestConfig"]
