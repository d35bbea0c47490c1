# SPDX-License-Identifier: GPL-2.0
"""A device that lies: the shared rings corrupted from outside the guest
(QEMU's gdbstub, harness/pvring.py) while one controller runs I/O and a
second one a continuous fio write-and-verify loop.

The short campaign here injects every class of corruption (completion
contexts, lengths and statuses, ring indices and sizes, bad and flooding
hot-plug messages); `make soak` runs the full one (10^5 corruptions) and
the same classes against the C driver. The Rust driver must refuse and count
the bad entries, never produce a kernel report, never let an error reach the
other controller, and serve verified I/O and hot-plug on the lying
controller again after an adapter reset."""

import os

import pytest

from harness import adversity
from harness.pvring import Injector
from harness.scsi import C, RS

SCALE = int(os.environ.get("PVSCSI_STRESS_SCALE", "1"))


def test_lying_device(make_guest):
    """Every class of corruption, a few hundred in all, on the Rust driver."""
    with make_guest(**adversity.campaign_config()) as g:
        res = adversity.campaign(g, RS, 120 * SCALE, seed=7, budget_s=240 * SCALE)
        print(f"lying device: {res}")
        assert not res.crashed, res
        assert not res.notes, res.notes
        if res.offlined:
            print(f"disks the midlayer took offline (brought back): {res.offlined}")
        missing = [c for c in Injector.CLASSES if not res.injected.get(c)]
        assert not missing, f"classes never injected: {missing} ({res})"
        # The bad entries were seen, refused and counted.
        assert res.counters["bad_completions"] > 0, res
        assert res.counters["bad_messages"] > 0, res
        # Nothing reached the other controller, and it kept working.
        assert res.verify_failures == 0 and res.verify_passes >= 1, res
        # The lying controller serves verified I/O and hot-plug again.
        assert res.recovered and res.hotplug_after, res


@pytest.mark.stress
def test_c_driver_trusts_context_ids(make_guest):
    """The record of what completions with corrupt context ids do to the C
    driver: it indexes its command table with them unchecked. Recorded, not
    required; the Rust driver survives the same corruptions above."""
    with make_guest(**adversity.campaign_config()) as g:
        g.allow_reports = True
        res = adversity.campaign(g, C, 20, seed=7, classes=["context"], budget_s=300)
        print(f"C driver, corrupt context ids: crashed={res.crashed} after "
              f"{res.total()} corruption(s): " + " | ".join(res.crash[:6]))
