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
import re
import time

import pytest

from harness import adversity
from harness.pvring import (CMP_CONS, CMP_PROD, MSG_DEV_REMOVED, MSG_PROD, REQ_CONS, REQ_PROD,
                            Injector, Rings)
from harness.guest import GuestError
from harness.scsi import (C, RS, data_roundtrip, roundtrip_script, start_verify, stop_verify, wait_for,
                          wait_inflight)

SCALE = int(os.environ.get("PVSCSI_STRESS_SCALE", "1"))


def test_injector_host_statuses_are_the_headers():
    """The injector's host statuses (harness/pvring.py) are those of the C
    header, read from the table scripts/abi-layout generates from it; those
    it injects as unknown are none of them; and those after which the SCSI
    status counts are the ones the header names so."""
    from harness import pvring
    known = pvring.header_btstat()
    assert sorted(known.values()) == pvring.BTSTAT
    assert len(pvring.BTSTAT) == 23, known
    assert not set(pvring.BTSTAT_UNKNOWN) & set(pvring.BTSTAT)
    assert pvring.BTSTAT_OK == [0x00, 0x0A, 0x0B, 0x0C, 0x12]


def check_campaign(res: adversity.Result) -> None:
    """What every campaign on the Rust driver must show."""
    print(f"lying device: {res}")
    assert not res.crashed, res
    assert not res.hung, res.notes
    assert not res.notes, res.notes
    # No disk lost: the driver removed none (a removal is a lost disk; the
    # rig scans it back only to go on). Disks the midlayer took offline
    # (its own decision when error handling ends with the disk still
    # failing, which a lie can cause) are brought back as an administrator
    # would, and must then serve verified I/O (`recovered`, below).
    assert res.disks_removed == 0, f"{res.disks_removed} disk(s) removed by the driver: {res}"
    if res.offlined or res.revived:
        print(f"disks the midlayer took offline: {res.revived} brought back during the "
              f"campaign, {res.offlined} at the end")
    missing = [c for c in Injector.CLASSES if not res.injected.get(c)]
    assert not missing, f"classes never injected: {missing} ({res})"
    # The bad entries were seen, refused and counted.
    assert res.counters["bad_completions"] > 0, res
    assert not res.uncounted(), res.uncounted()
    # Nothing reached the other controller, and it kept working.
    assert res.verify_failures == 0 and res.verify_passes >= 1, res
    # The lying controller serves verified I/O and hot-plug again.
    assert res.recovered and res.hotplug_after, res


# A guest of its own, the longest case of make test (about 300 s): in the
# light lane it evens the lanes out.
@pytest.mark.lane("light")
def test_lying_device_smoke(make_guest):
    """The short campaign of `make test`: every class of corruption once,
    then bursts, up to 600 corruptions or 75 s (the first pass alone costs about a minute of
    error handling: a context lie about 10 s, an index lie 20-40 s). Then,
    in the same guest, the two lies a campaign cannot judge: a command the
    device never completes (lose_one_completion) and a device that keeps
    producing completions (keep_producing); make stress runs each in a
    guest of its own too."""
    cfg = adversity.campaign_config()
    cfg["trace"] = cfg["trace"] + LOST_TRACE
    with make_guest(**cfg) as g:
        res = adversity.campaign(g, RS, 600, seed=11, budget_s=75)
        check_campaign(res)
        layout, dev0, dev1, host0 = res.setup
        lose_one_completion(g, layout, dev0, dev1, host0, mib=4)
        keep_producing(g, layout, dev0, dev1, mib=4)


@pytest.mark.stress
def test_lying_device(make_guest):
    """Every class of corruption, a thousand in all (or the budget), on the
    Rust driver. Until the request consumer index lie was understood (see
    test_request_consumer_index_lie), this left fio on the lying controller
    waiting forever in 3 runs of 7."""
    with make_guest(**adversity.campaign_config()) as g:
        res = adversity.campaign(g, RS, 1000 * SCALE, seed=7, budget_s=240 * SCALE)
        check_campaign(res)
        assert res.msgs_read > 0, res


@pytest.mark.stress
def test_c_driver_trusts_context_ids(make_guest):
    """What completions with corrupt context ids do to the C driver: it
    indexes its command table with them unchecked, and the documentation
    says so ("within 20 corrupted context ids, a general protection fault in
    pvscsi_process_completion_ring(), reported by KASAN as a wild memory
    access"): the guest must crash with a report there. The Rust driver
    survives the same corruptions above."""
    with make_guest(**adversity.campaign_config()) as g:
        g.allow_reports = True
        res = adversity.campaign(g, C, 20, seed=7, classes=["context"], budget_s=300)
        print(f"C driver, corrupt context ids: crashed={res.crashed} after "
              f"{res.total()} corruption(s): " + " | ".join(res.crash[:6]))
        assert res.crashed, res
        console = g.console()
        assert re.search(r"KASAN|general protection fault", console), res.crash
        assert "pvscsi_process_completion_ring" in console, res.crash


# QEMU trace events lose_one_completion() looks for.
LOST_TRACE = ["pvscsi_on_cmd_abort", "pvscsi_on_cmd_reset_dev", "pvscsi_on_cmd_arrived"]


def lose_one_completion(g, layout, dev0: str, dev1: str, host0: int, mib: int = 8) -> None:
    """A command the device never completes (issue 9 §2): its completion
    entry is overwritten with a context that names no command, so the
    driver drops it. The command times out; the abort reaches the device
    (which no longer has it) and gets no completion; the target reset then
    takes the command back (DID_RESET, counted in lost_commands) and the
    midlayer retries it. The fio write-and-verify on that very disk sees no
    error, no bus or adapter reset is needed, and the other controller's
    verify loop is untouched. The guest traces LOST_TRACE; the verify
    passes write `mib` MiB a disk."""
    attr = f"/sys/class/scsi_host/host{host0}"
    names = ("bad_completions", "lost_commands")
    before = {n: int(g.run(f"cat {attr}/{n}")) for n in names}
    g.run(f"echo {adversity.TIMEOUT_S} > /sys/block/{dev0}/device/timeout")
    handler = adversity.handler_address(g, RS)
    start_verify(g, [dev0], "lost0", size_mb=mib)
    start_verify(g, [dev1], "lost1", size_mb=mib)
    wait_inflight(g, dev0)
    mark = len(g.trace())
    stub = g.gdb()
    try:
        inj = Injector(stub, Rings(stub, layout), handler)
        swallowed = 0
        deadline = time.monotonic() + 120
        while not swallowed and time.monotonic() < deadline:
            if inj.stop_with_pending(timeout=5.0):
                swallowed = inj.swallow()
            inj.resume()
    finally:
        stub.close()
    assert swallowed == 1, "no completion of the first controller to swallow"
    start = time.monotonic()
    wait_for("the lost command to be taken back",
             lambda: int(g.run(f"cat {attr}/lost_commands")) >= before["lost_commands"] + 1, 300)
    recovered = time.monotonic() - start
    passes = stop_verify(g, "lost0", size_mb=mib) + stop_verify(g, "lost1", size_mb=mib)
    events = g.trace()[mark:]
    assert "pvscsi_on_cmd_abort" in events, events[-2000:]
    assert "pvscsi_on_cmd_reset_dev" in events, events[-2000:]
    assert "RESET_BUS" not in events and "ADAPTER_RESET" not in events, events[-2000:]
    counters = {n: int(g.run(f"cat {attr}/{n}")) - before[n] for n in names}
    assert counters == {"bad_completions": 1, "lost_commands": 1}, counters
    print(f"never-completing command: taken back {recovered:.0f} s after the injection "
          f"(timeout {adversity.TIMEOUT_S} s), {passes} verify passes without error")


def keep_producing(g, layout, dev0: str, dev1: str, mib: int = 8) -> None:
    """A device that keeps advancing the completion producer index (issue
    8, defect 10). One read on the first controller (nothing else runs
    there, so QEMU does not rewrite the index meanwhile) brings an
    interrupt; a write watchpoint on the driver's completion consumer index
    stops the guest after every batch the driver consumes, and the rig
    moves the producer a whole ring ahead again (the slots hold old
    descriptors, which the driver drops as idle or stale). The driver must
    give up after bounded work: at most one ring in the hard interrupt
    handler, then THREAD_ROUNDS (16) rings in the interrupt thread, then it
    waits for the next interrupt: 17 rings at most. An unbounded drain never
    returns (the count passes 40 rings). The adapter recovers afterwards
    through its own error handling (QEMU's producer index is now behind the
    driver's: an adapter reset), and the other controller's verify loop
    (passes of `mib` MiB) never fails."""
    pob = adversity.page_offset_base_symbol(g)
    g.run(f"echo {adversity.TIMEOUT_S} > /sys/block/{dev0}/device/timeout")
    start_verify(g, [dev1], "feed", size_mb=mib)
    entries = layout.cmp_entries()
    stub = g.gdb()
    feeds = consumed = 0
    try:
        rings = Rings(stub, layout)
        cons_va = int.from_bytes(stub.read_virt(pob, 8), "little") + layout.state + CMP_CONS
        stub.set_write_watchpoint(cons_va)
        stub.cont()
        tag = g.start_script(f"dd if=/dev/{dev0} of=/dev/null bs=4k count=1 iflag=direct")
        last = None
        while consumed <= 40 * entries:
            # After the last feed: the driver stopped (no write of its
            # consumer index for 5 s).
            reply = stub.wait_stop(60 if last is None else 5)
            if reply is None:
                stub.interrupt()
                break
            if "watch" in reply:
                cons = rings.u32(CMP_CONS)
                if last is not None:
                    consumed += (cons - last) & 0xFFFFFFFF
                last = cons
                rings.set_u32(CMP_PROD, cons + entries)
                feeds += 1
            stub.cont()
        if not stub.running:
            stub.clear_write_watchpoint(cons_va)
    finally:
        if not stub.running:
            stub.cont()
        stub.close()
    rc, out = g.finish_script(tag, timeout=120)
    print(f"device that keeps producing: {feeds} feeds of a {entries}-entry ring, "
          f"{consumed} entries consumed ({consumed / entries:.1f} rings) before the driver "
          "stopped for the next interrupt")
    assert consumed <= 17 * entries, f"unbounded: {consumed} entries without stopping"
    assert consumed >= 2 * entries, f"the feed did not take: {consumed} entries"
    assert rc == 0, out
    # The next commands find QEMU's index behind the driver's: error
    # handling ends in an adapter reset, and the disk works again.
    data_roundtrip(g, dev0, mib=1, seek_mib=16)
    assert stop_verify(g, "feed", size_mb=mib) >= 1


@pytest.mark.stress
def test_command_the_device_never_completes(make_guest):
    """lose_one_completion() in a guest of its own (make test runs it after
    the smoke campaign)."""
    cfg = adversity.campaign_config()
    cfg["trace"] = cfg["trace"] + LOST_TRACE
    with make_guest(**cfg) as g:
        layout, dev0, dev1, host0 = adversity.setup(g, RS)
        lose_one_completion(g, layout, dev0, dev1, host0)


@pytest.mark.stress
def test_device_that_keeps_producing(make_guest):
    """keep_producing() in a guest of its own (make test runs it after the
    smoke campaign)."""
    with make_guest(**adversity.campaign_config()) as g:
        layout, dev0, dev1, _host0 = adversity.setup(g, RS)
        keep_producing(g, layout, dev0, dev1)


def reserved_status_lie(g, driver: str, scsi_status: int) -> tuple[str, int, str, int]:
    """Reads the first controller's disk while one of its completions gets
    host status SUCCESS with SCSI status `scsi_status`. Returns the QEMU
    trace events from the injection on, the read's exit status and output,
    and the controller's host number."""
    layout, dev0, _dev1, host0 = adversity.setup(g, driver, messages=False)
    handler = adversity.handler_address(g, driver)
    tag = g.start_script(f"dd if=/dev/{dev0} of=/dev/null bs=4k count=4000 iflag=direct")
    mark = len(g.trace())
    stub = g.gdb()
    try:
        rings = Rings(stub, layout)
        inj = Injector(stub, rings, handler)
        lied = False
        deadline = time.monotonic() + 60
        while not lied and time.monotonic() < deadline:
            if inj.stop_with_pending(timeout=5.0):
                # The oldest completion the driver has not consumed.
                idx = rings.cmp_indices()[1]
                fields = rings.read_cmp(idx)
                fields[3], fields[4] = 0, scsi_status
                rings.write_cmp(idx, fields)
                lied = True
            inj.resume()
    finally:
        stub.close()
    assert lied, "no completion of the first controller to corrupt"
    rc, out = g.finish_script(tag, timeout=180)
    return g.trace()[mark:], rc, out, host0


@pytest.mark.stress
@pytest.mark.parametrize("driver", [RS, C])
def test_reserved_scsi_status(make_guest, driver):
    """A completion whose SCSI status is none that SAM defines (0xff) on a
    successful host status. The midlayer's disposition for such a status
    is FAILED: error handling (REQUEST SENSE, abort, TEST UNIT READY),
    which stops the whole host for every one of them. The Rust driver
    refuses it like an unknown host status: DID_ERROR (an ordinary retry,
    without error handling), counted and logged. The C driver passes the
    byte on (its case, in `make stress`, records the error handling)."""
    cfg = adversity.campaign_config()
    cfg["trace"] = cfg["trace"] + ["scsi_request_sense", "scsi_test_unit_ready"]
    with make_guest(**cfg) as g:
        events, rc, out, host0 = reserved_status_lie(g, driver, 0xFF)
        assert rc == 0, out
        eh = [e for e in events.splitlines()
              if "scsi_request_sense" in e or "scsi_test_unit_ready" in e]
        if driver == C:
            print(f"C driver, SCSI status 0xff: {len(eh)} error-handling command(s): {eh[:4]}")
            return
        assert not eh, f"error handling ran for a refused status: {eh}"
        bad = int(g.run(f"cat /sys/class/scsi_host/host{host0}/bad_completions"))
        assert bad == 1, f"bad_completions {bad}"


@pytest.mark.stress
def test_rescan_keeps_a_disk_one_test_unit_ready_called_gone(make_guest):
    """After an adapter reset the driver rescans its host and removes the
    devices that are gone (hot-remove messages may have been lost): those
    whose TEST UNIT READY ends with a selection timeout (DID_BAD_TARGET).
    Here the first such TEST UNIT READY to target 0 gets a completion with
    host status SELTIMEO. One answer can be a corrupted completion, so the
    driver asks again (every check for 30 s, 10 s apart, must say "gone",
    issue 27): the disk stays and serves I/O. Before, that one answer
    removed the disk, as the soak showed (a live /dev/sda gone after a lied
    completion)."""
    cfg = adversity.campaign_config()
    cfg["trace"] = cfg["trace"] + ["scsi_test_unit_ready"]
    with make_guest(**cfg) as g:
        layout, dev0, _dev1, host0 = adversity.setup(g, RS, messages=False)
        pob = adversity.page_offset_base_symbol(g)
        console_mark = len(g.console())
        rescanning = f"rescanning scsi{host0}"
        # A host reset from user space: the adapter reset queues a rescan.
        tag = g.start_script(f"sg_reset -H /dev/{dev0}")
        stub = g.gdb()
        lied_at = None
        try:
            rings = Rings(stub, layout)
            inj = Injector(stub, rings, watch=adversity.drain_watch(stub, pob, layout))
            deadline = time.monotonic() + 180
            while lied_at is None and time.monotonic() < deadline:
                if inj.stop_in_handler(timeout=5.0) and rescanning in g.console()[console_mark:]:
                    prod, cons = rings.cmp_indices()
                    for idx in range(cons, cons + ((prod - cons) & 0xFFFFFFFF)):
                        fields = rings.read_cmp(idx)
                        req = rings.find_request(fields[0])
                        if req and req[0][:1] == b"\x00" and req[1] == 0 and fields[3] == 0:
                            fields[3] = 0x11  # BTSTAT_SELTIMEO: no such target
                            rings.write_cmp(idx, fields)
                            lied_at = len(g.trace())
                            break
                inj.resume()
        finally:
            if not stub.running:
                stub.cont()
            stub.close()
        assert lied_at is not None, "no TEST UNIT READY of the rescan to corrupt"
        rc, out = g.finish_script(tag, timeout=300)
        assert rc == 0, out
        # The decision: the disk removed, or a TEST UNIT READY after the
        # corrupted one reached the device (the check asked again).
        wait_for("the rescan's decision",
                 lambda: "device removed" in g.console()[console_mark:]
                 or "scsi_test_unit_ready target 0" in g.trace()[lied_at:], 120)
        removed = [line for line in g.console()[console_mark:].splitlines() if "device removed" in line]
        assert not removed, removed
        data_roundtrip(g, dev0, mib=1)


def request_consumer_lie(g, driver: str, ahead: int) -> tuple[bool, str, int]:
    """Sets the request ring's consumer index (written by the device) to
    `ahead` entries past the producer index, then writes and reads back
    1 MiB on the first controller while the second one runs a verify loop.
    Returns whether that I/O completed within 60 s, its output, and the
    verify passes."""
    layout, dev0, dev1, _host0 = adversity.setup(g, driver, messages=False)
    start_verify(g, [dev1], "reqcons")
    stub = g.gdb()
    try:
        rings = Rings(stub, layout)
        rings.set_u32(REQ_CONS, rings.u32(REQ_PROD) + ahead)
    finally:
        stub.cont()
        stub.close()
    # In the background: a hung direct I/O cannot be killed.
    g.run(f"rm -f /tmp/reqcons.rc; ({roundtrip_script(dev0, mib=1)}; echo $? > /tmp/reqcons.rc) "
          "> /tmp/reqcons.out 2>&1 &")
    try:
        wait_for("the I/O to complete", lambda: g.run("cat /tmp/reqcons.rc 2>/dev/null; true").strip(),
                 60, step=1.0)
        done = True
    except GuestError:
        done = False
    out = g.run("cat /tmp/reqcons.rc /tmp/reqcons.out 2>/dev/null; "
                f"cat /sys/block/{dev0}/inflight; true")
    passes = stop_verify(g, "reqcons") if done else 0
    return done, out, passes


@pytest.mark.stress
@pytest.mark.parametrize("driver", [RS, C])
def test_request_consumer_index_lie(make_guest, driver):
    """A device that writes a request consumer index ahead of the producer
    (issue 9: found by the campaign, where it left fio waiting forever).
    The index only tells how far the device has read; the ring cannot be
    full by construction (one context per slot, `can_queue` the ring's
    size), so the driver no longer consults it: before, it took the ring
    for full and returned every command to the midlayer as busy, with
    nothing in flight to time out, forever. The C driver never reads it
    either (its case here, in `make stress`, shows it unharmed too)."""
    with make_guest(**adversity.campaign_config()) as g:
        done, out, passes = request_consumer_lie(g, driver, 1000)
        assert done, f"I/O never completed after the consumer index lie: {out}"
        assert out.split()[0] == "0", out
        assert passes >= 1


@pytest.mark.stress
@pytest.mark.parametrize("driver", [RS, C])
def test_hot_remove_message_naming_a_lun_that_is_not_there(make_guest, driver):
    """A hot-remove message for bus 0, target 0 whose 8-byte LUN is not a
    single-level LUN 0 (its first byte 1), as the campaign's message class
    writes them. The Rust driver refuses and counts it, and the disk at
    0:0:0 stays; the C driver reads the LUN from byte 1 alone, takes the
    message for LUN 0 and removes that disk (seen in the C driver's message
    campaign of `make soak`, where /dev/sda vanished)."""
    with make_guest(**adversity.campaign_config()) as g:
        layout, dev0, _dev1, host0 = adversity.setup(g, driver)
        stub = g.gdb()
        try:
            rings = Rings(stub, layout)
            prod = rings.u32(MSG_PROD)
            rings.write_msg(prod, MSG_DEV_REMOVED, 0, 0, bytes([1]) + bytes(7))
            rings.set_u32(MSG_PROD, prod + 1)
        finally:
            stub.cont()
            stub.close()
        # Interrupts make the driver read the message ring (the C driver may
        # have removed the disk already).
        g.run(f"dd if=/dev/{dev0} of=/dev/null bs=4k count=64 iflag=direct; true")
        if driver == RS:
            attr = f"/sys/class/scsi_host/host{host0}/bad_messages"
            wait_for("the message to be refused", lambda: int(g.run(f"cat {attr}")) == 1, 60)
            data_roundtrip(g, dev0, mib=1)
        else:
            wait_for(f"the C driver to remove {dev0}",
                     lambda: g.run_rc(f"[ -b /dev/{dev0} ]")[0] != 0, 60)
            print(f"C driver: a hot-remove message for LUN bytes 01 00 .. removed {dev0} (0:0:0:0)")


def test_full_request_ring_is_not_overwritten(make_guest):
    """Issue 27, defect 5. The driver did not consult the device's request
    consumer index (issue 9 had dropped the check: a lying index stalled
    submission for ever); after a reset took back commands whose requests
    the device had not read, a new request could overwrite a slot the
    device had still to read. Now a ring whose consumer index says every
    slot is unread is full: the command is refused with BUSY and the device
    asked to read on (a doorbell with no new request), and the command is
    published once it has. QEMU, kicked, writes its true consumer index
    back, so the lie lasts one doorbell: what the device sees (its trace)
    shows the order. The lie of test_request_consumer_index_lie (an index
    ahead of the producer) still does not stall submission
    (`Ring::is_full`)."""
    cfg = adversity.campaign_config()
    cfg["trace"] = cfg["trace"] + ["pvscsi_io_write", "pvscsi_process_req_descr"]
    with make_guest(**cfg) as g:
        layout, dev0, _dev1, _host0 = adversity.setup(g, RS, messages=False)
        stub = g.gdb()
        try:
            rings = Rings(stub, layout)
            prod = rings.u32(REQ_PROD)
            # The device says it has read nothing of the last ring's worth.
            rings.set_u32(REQ_CONS, prod - layout.req_entries())
            mark = len(g.trace())
        finally:
            stub.cont()
            stub.close()
        g.run(f"dd if=/dev/{dev0} of=/dev/null bs=4k count=16 iflag=direct", timeout=120)
        events = re.findall(r"pvscsi_io_write PVSCSI_REG_OFFSET_KICK_(?:NON_)?RW_IO|pvscsi_process_req_descr",
                            g.trace()[mark:])
        first = events.index("pvscsi_process_req_descr")
        print(f"device events after the lie, up to the first request it read: {events[:first + 1]}")
        # Old code: the first doorbell came with the first request.
        assert first >= 2 and all("KICK" in e for e in events[:first]), events[:first + 1]
        data_roundtrip(g, dev0, mib=1)
