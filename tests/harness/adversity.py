# SPDX-License-Identifier: GPL-2.0
"""The ring-injection campaign: a guest with two pvscsi controllers, one of
which lies (harness/pvring.py), while the other carries a continuous fio
write-and-verify loop that must never see an error.

    result = campaign(guest, RS, injections=300, seed=1)

The guest must have been made with campaign_config(). Used by
tests/integration/test_adversity.py (short) and tests/tools/soak.py (the
full campaign, `make soak`).
"""

from __future__ import annotations

import dataclasses
import errno
import re
import subprocess
import time

from .gdbstub import GdbError
from .guest import Disk, Guest, GuestError
from .pvring import CMP_PROD, Injector, Layout, Rings, msg_pages, ring_setups
from .scsi import RS, host_disks, hot_add_null, wait_for

TRACE = ["pvscsi_tx_rings_ppn", "pvscsi_msg_ring_put"]
# SCSI command timeout on the lying controller: a command whose completion
# was corrupted comes back through the timeout and abort.
TIMEOUT_S = 5
# A mixed campaign is mostly bursts (Injector.burst): lies that cost no
# command. The lies that do cost error handling (measured: 10 s for a lost
# command, which times out, is aborted and its target reset; 20-40 s for
# desynchronised indices, which wait for an adapter reset), and the rare
# ones that desynchronise a ring, come at most once every STALL_GAP_S, as
# one of these (with relative weights); at 15 s they kept the corrupted
# controller in error handling most of the time.
STALL_GAP_S = 60.0
STALLING = {"context": 3, "index": 1, "ringsize": 1, "msgflood": 1}
# The verify loop's rate on the other controller. The injector stops the
# guest at every entry of the interrupt handler the two controllers share,
# and an unthrottled verify loop made 9 of 10 stops its own (about 400
# stops a second, each costing the guest a few gdbstub round trips).
VERIFY_IOPS = 100
# The kernel symbol of each driver's interrupt handler, entered with the
# interrupt number as first argument (its entry is where the injector stops
# the guest): the Rust driver's is the kernel crate's trampoline into
# `IrqHandler::hard`.
HANDLER = {RS: r"handle_threaded_irq_callback", "vmw_pvscsi": r"\bpvscsi_isr\b"}


def campaign_config() -> dict:
    """GuestConfig arguments for a campaign guest."""
    # Two controllers make the boot-time KASAN report of the 7.3 debug
    # kernel under TCG (see Guest.start) far more frequent (seen: 4 of 7
    # boots): boot more times before giving up.
    return dict(pvscsi_count=2, gdb=True, trace=TRACE, boot_attempts=8,
                disks=[Disk(scsi_id=0, bus="pv0", size_mb=64), Disk(scsi_id=0, bus="pv1", size_mb=64)])


@dataclasses.dataclass
class Result:
    """What one campaign did and what became of the guest."""

    driver: str
    seed: int
    injected: dict[str, int]
    stops: int = 0
    foreign_stops: int = 0
    idle_waits: int = 0
    backoffs: int = 0
    overruns: int = 0
    unknown_statuses: int = 0
    # QEMU's stop replies that never came (harness/gdbstub.py interrupt()).
    lost_stop_replies: int = 0
    seconds: float = 0.0
    crashed: bool = False
    # I/O on the lying controller that never ended (see _finish()).
    hung: bool = False
    crash: list[str] = dataclasses.field(default_factory=list)
    counters: dict[str, int] = dataclasses.field(default_factory=dict)
    verify_passes: int = 0
    verify_failures: int = 0
    recovered: bool = False
    hotplug_after: bool = False
    msgs_read: int = 0
    # Disks of the lying controller the midlayer had taken offline at the
    # end, and how many times one was brought back during the campaign.
    offlined: list[str] = dataclasses.field(default_factory=list)
    revived: int = 0
    # What the lying controller's load said each time it exited (it was
    # started again).
    load_exits: list[str] = dataclasses.field(default_factory=list)
    # Times the lying controller's disk was removed by the driver (and
    # found again by a scan).
    disks_removed: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)
    # What setup() returned, the lying controller's disk as it is at the
    # end: for cases that go on in the same guest.
    setup: tuple | None = dataclasses.field(default=None, repr=False)

    def total(self) -> int:
        return sum(self.injected.values())

    def uncounted(self) -> list[str]:
        """The Rust driver's counters against the lies that must each have
        been refused and counted: a completion of an invalid, idle or stale
        context, one claiming 2^31 bytes or more, one with an unknown host
        status or a SCSI status SAM does not define, a message of an unknown
        type or address that the driver read (the message ring's consumer
        index passed it: an adapter reset discards the unread ones). Empty
        when every lie is accounted for."""
        out = []
        cmp = self.counters.get("bad_completions", 0) + self.counters.get("stale_completions", 0)
        lies = self.injected.get("context", 0) + self.overruns + self.unknown_statuses
        if cmp < lies:
            out.append(f"{lies} context, overrun or unknown-status lies, {cmp} refused "
                       "completions counted")
        msgs = self.counters.get("bad_messages", 0)
        if msgs < self.msgs_read:
            out.append(f"{self.msgs_read} bad messages read by the driver, {msgs} counted")
        return out


def _hosts(g: Guest, driver: str) -> dict[int, str]:
    """host number -> its one disk, for every host of `driver`."""
    return {int(h.split(":")[0]): d for h, d in host_disks(g, driver).items()}


def setup(g: Guest, driver: str, messages: bool = True) -> tuple[Layout, str, str, int]:
    """Loads `driver` on both controllers, one at a time so that the rings
    in QEMU's trace are known to be the first controller's; with
    `messages`, learns its message ring from a hot-add (a disk at target
    3). Returns (layout of pv0, pv0's disk, pv1's disk, pv0's host
    number)."""
    bdf0, bdf1 = g.pvscsi_bdfs()
    g.run("echo 0 > /sys/bus/pci/drivers_autoprobe")
    g.insmod(driver)
    g.run(f"echo {bdf0} > /sys/bus/pci/drivers/{driver}/bind")
    hosts = wait_for("the first controller's disk", lambda: _hosts(g, driver), 60)
    host0 = min(hosts)
    layouts = ring_setups(g.trace())
    layout = layouts[-1]
    if messages:
        # One message from the device shows where the message ring is.
        mon = g.qmp()
        try:
            hot_add_null(mon, "probe", 3, size_mb=16)
        finally:
            mon.close()
        layout.msg_pages = wait_for("the hot-add message", lambda: msg_pages(g.trace()), 60)[:1]
        wait_for("the hot-added disk", lambda: len(host_disks(g, driver)) == 2, 60)
    g.run(f"echo {bdf1} > /sys/bus/pci/drivers/{driver}/bind; "
          "echo 1 > /sys/bus/pci/drivers_autoprobe")
    total = 3 if messages else 2
    wait_for("the second controller's disk",
             lambda: len(_hosts(g, driver)) == 2 and len(host_disks(g, driver)) == total, 60)
    disks0 = {h: d for h, d in host_disks(g, driver).items() if int(h.split(":")[0]) == host0}
    dev0 = next(d for h, d in disks0.items() if h.endswith(":0:0:0"))
    dev1 = next(d for h, d in host_disks(g, driver).items() if int(h.split(":")[0]) != host0)
    return layout, dev0, dev1, host0


#: Brings the offline disks of host {host} back (and names them).
REVIVE = ("cd /sys/class/scsi_device && for d in {host}:*; do "
          "[ \"$(cat $d/device/state)\" = offline ] && echo running > $d/device/state && echo $d; "
          "done; true")

#: How long fio may take to stop once told to (it has no more than a
#: few commands in flight, each with a 5 s timeout).
FIO_STOP_S = 180


#: Errors the load must go on after: fio stops at one it does not know to be
#: non-fatal, whatever --continue_on_error says, and the lying controller's
#: commands fail with every errno blk_status_to_errno() makes (seen: EBADE,
#: from a status lie of RESERVATION CONFLICT). fio knows EBADE by number
#: only; its lists are "READ,WRITE", each separated by ':'.
LOAD_ERRORS = ":".join(str(e) for e in (errno.EIO, errno.EBADE, errno.ENOLINK, errno.EREMOTEIO,
                                        errno.ETIMEDOUT, errno.ENODATA, errno.EILSEQ, errno.ENOSPC,
                                        errno.EOPNOTSUPP, errno.ENODEV, errno.ETIME))
#: The load on the lying controller: errors allowed, never ends by itself.
#: A queue depth of 64 gives each stop more completions to lie about.
LOAD = ("fio --name=load --filename=/dev/{dev} --rw=randrw --bs=4k --iodepth=64 "
        "--ioengine=libaio --direct=1 --time_based --runtime=86400 --size=32M "
        f"--continue_on_error=all --ignore_error={LOAD_ERRORS},{LOAD_ERRORS} "
        ">>/tmp/load.out 2>&1 </dev/null & echo $! > /tmp/load.pid")

#: Prints "load-exited" when the load is gone.
LOAD_ALIVE = "kill -0 $(cat /tmp/load.pid) 2>/dev/null || echo load-exited"

#: No corruption taken for this long: look at the lying controller's I/O
#: (the longest error handling measured, an index lie waiting for an
#: adapter reset, takes 40 s).
STALL_S = 120
#: How long the I/O of the lying controller may not move at all, its load
#: running, before the campaign calls it hung.
STALL_WATCH_S = 60


def start_loads(g: Guest, dev0: str, dev1: str) -> None:
    """I/O on the lying controller (errors allowed) and a write-and-verify
    loop on the other one (none allowed)."""
    g.run(f"echo {TIMEOUT_S} > /sys/block/{dev0}/device/timeout; "
          f"echo {TIMEOUT_S} > /sys/block/{dev0}/device/eh_timeout")
    g.run(LOAD.format(dev=dev0) + "; rm -f /tmp/stop /tmp/verify.rc; "
          "(while [ ! -e /tmp/stop ]; do "
          f"fio --name=verify --filename=/dev/{dev1} --rw=randwrite --bs=4k --iodepth=8 "
          f"--ioengine=libaio --direct=1 --size=4M --rate_iops={VERIFY_IOPS} "
          "--verify=crc32c --do_verify=1 "
          "--verify_fatal=1 >/tmp/verify.out 2>&1; echo $? >> /tmp/verify.rc; "
          "done >/dev/null 2>&1 &)")


def page_offset_base_symbol(g: Guest) -> int:
    """The address of the kernel's `page_offset_base` (read it through the
    gdbstub for the direct map's base); asked before the gdbstub stops the
    guest."""
    return int(g.run("grep ' page_offset_base$' /proc/kallsyms").split()[0], 16)


def drain_watch(stub, pob: int, layout: Layout) -> int:
    """The kernel virtual address of the adapter's completion producer
    index (in the direct map): the driver reads it where it starts draining
    (Injector's `watch`)."""
    return int.from_bytes(stub.read_virt(pob, 8), "little") + layout.state + CMP_PROD


def handler_address(g: Guest, driver: str) -> int:
    out = g.run(f"grep -E '{HANDLER[driver]}' /proc/kallsyms | grep '\\[{driver}\\]'")
    return int(out.split()[0], 16)


def campaign(g: Guest, driver: str, injections: int, seed: int = 0, classes: list[str] | None = None,
             budget_s: float = 3600.0, progress=None) -> Result:
    """Runs a campaign of `injections` corruptions (of `classes`, or a
    weighted random mix) on the first controller, then checks the second
    controller's verify loop and the first controller's recovery."""
    layout, dev0, dev1, host0 = setup(g, driver)
    start_loads(g, dev0, dev1)
    pob = page_offset_base_symbol(g)
    res = Result(driver=driver, seed=seed, injected={})
    start = time.monotonic()
    stub = g.gdb()
    inj = Injector(stub, Rings(stub, layout), seed=seed, watch=drain_watch(stub, pob, layout))
    last_print = start
    last_stall = float("-inf")
    last_taken, taken = start, 0
    try:
        while inj.tally.total() < injections and time.monotonic() - start < budget_s:
            # Every class once first (until it takes), then the mix.
            todo = [c for c in (classes or Injector.CLASSES) if not inj.tally.by_class.get(c)]
            if classes:
                cls = todo[0] if todo else inj.rng.choice(classes)
            elif todo:
                cls = todo[0]
            elif time.monotonic() - last_stall >= STALL_GAP_S:
                cls = inj.rng.choices(list(STALLING), list(STALLING.values()))[0]
            else:
                cls = "burst"
            if cls in Injector.ENTRY_CLASSES or cls == "burst":
                stopped = inj.stop_with_pending(timeout=2.0)
            else:
                stopped = inj.stop_in_handler(timeout=2.0)
            if stopped:
                if cls == "burst":
                    inj.burst()
                elif classes is None and not todo and cls == "context":
                    inj.burst(context=True)
                else:
                    inj.inject(cls)
                if cls in STALLING:
                    last_stall = time.monotonic()
            inj.resume()
            if not stopped:
                # No interrupt of this controller with completions pending:
                # it is in error handling (commands whose completions were
                # corrupted time out). Let the guest run without breakpoint
                # stops for a while, or the recovery crawls.
                inj.tally.backoffs += 1
                # A disk the midlayer took offline (its error handling
                # ended with the disk still failing, a corrupted TEST UNIT
                # READY is enough) gets no more I/O, so no more lies:
                # bring it back, as an administrator would.
                out = g.run(f"{REVIVE.format(host=host0)}; {LOAD_ALIVE}; "
                            f"[ -b /dev/{dev0} ] || echo disk-gone", timeout=60).split()
                if "disk-gone" in out:
                    out.remove("disk-gone")
                    dev0 = _bring_back(g, driver, res, host0)
                if "load-exited" in out:
                    out.remove("load-exited")
                    _restart_load(g, res, dev0)
                res.revived += len(out)
                time.sleep(0.5)
                if inj.tally.total() != taken:
                    last_taken, taken = time.monotonic(), inj.tally.total()
                elif time.monotonic() - last_taken > STALL_S:
                    last_taken = time.monotonic()
                    if _check_stall(g, res, dev0, host0):
                        break
            if progress and time.monotonic() - last_print > 10:
                last_print = time.monotonic()
                progress(f"{driver}: {inj.tally.total()}/{injections} corruptions, "
                         f"{inj.tally.stops} stops, {time.monotonic() - start:.0f} s")
    except (GdbError, OSError) as e:
        res.notes.append(f"gdbstub: {e}")
        res.notes.append(qemu_stacks(g))
    except GuestError as e:
        # A guest command of the rig failed: the campaign stops there, with
        # what it counted so far.
        res.notes.append(f"campaign stopped: {str(e)[:500]}")
    finally:
        res.injected = dict(inj.tally.by_class)
        res.overruns = inj.tally.overruns
        res.unknown_statuses = inj.tally.unknown_statuses
        res.msgs_read = inj.tally.msgs_read
        res.stops, res.idle_waits = inj.tally.stops, inj.tally.idle_waits
        res.foreign_stops = inj.tally.foreign
        res.lost_stop_replies = stub.lost_replies
        res.backoffs = inj.tally.backoffs
        res.seconds = time.monotonic() - start
        try:
            stub.close()
        except OSError:
            pass
    if g.qemu is not None and g.qemu.poll() is not None:
        res.crashed = True
    if not res.crashed:
        try:
            g.run("true", timeout=60)
        except GuestError as e:
            res.crashed = True
            res.notes.append(str(e)[:300])
    if res.crashed:
        res.crash = _first_report(g.console())
        return res
    _finish(g, driver, res, dev0, host0)
    res.setup = (layout, dev0, dev1, host0)
    return res


def qemu_stacks(g: Guest) -> str:
    """When the guest stops answering even the gdbstub: QEMU's threads, to
    tell a guest that hangs from a QEMU that does (all of them in
    qemu-stacks.txt of the guest's log directory; the frames naming pvscsi
    or the SCSI layer returned)."""
    if g.qemu is None or g.qemu.poll() is not None:
        return "QEMU has exited"
    try:
        out = subprocess.run(["gdb", "-p", str(g.qemu.pid), "-batch", "-ex", "thread apply all bt 12"],
                             capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"QEMU's stacks: {e}"
    try:
        mon = g.qmp()
        try:
            status = mon.cmd("query-status")
            regs = mon.cmd("human-monitor-command", **{"command-line": "info registers -a"})
        finally:
            mon.close()
    except Exception as e:  # noqa: BLE001 - a diagnostic, whatever fails
        status, regs = f"QMP: {e}", ""
    out = f"query-status: {status}\n{regs}\n{out}"
    (g.dir / "qemu-stacks.txt").write_text(out)
    frames = [line.strip() for line in out.splitlines() if re.search(r"pvscsi|scsi_|gdb_|vm_stop", line)]
    return f"QEMU: {status}; stacks: " + " | ".join(frames[:12])


def _first_report(console: str) -> list[str]:
    lines = console.splitlines()
    for i, line in enumerate(lines):
        if re.search(r"BUG:|Oops|general protection|Kernel panic|WARNING:|KASAN", line):
            return [re.sub(r"^\[[ 0-9.]+\] ", "", s) for s in lines[i:i + 12]]
    return lines[-12:]


def io_state(g: Guest, dev0: str, host0: int) -> list[str]:
    """What the midlayer and the block layer hold, and where each fio
    process waits (how a request consumer index lie showed: nothing in
    flight, every command refused as busy), then what blk-mq holds that
    `inflight` does not count (requests requeued or waiting for dispatch)."""
    dbg = f"/sys/kernel/debug/block/{dev0}"
    return [g.run(
        f"cd /sys/class/scsi_host/host{host0} && echo host state $(cat state) "
        "busy $(cat host_busy) lost $(cat lost_commands); "
        "for d in /sys/class/scsi_device/*; do echo $(basename $d) $(cat $d/device/state) "
        "blocked $(cat $d/device/device_blocked) req $(cat $d/device/iorequest_cnt) "
        "done $(cat $d/device/iodone_cnt) err $(cat $d/device/ioerr_cnt); done; "
        "for b in /sys/block/sd*; do echo $(basename $b) inflight $(cat $b/inflight); done; "
        "for p in $(pidof fio); do echo fio $p $(cut -d' ' -f3 /proc/$p/stat) "
        "wchan $(cat /proc/$p/wchan); cat /proc/$p/stack 2>/dev/null | head -8; done; "
        "tail -3 /tmp/load.out /tmp/verify.out; true", timeout=60), g.run(
        "mount -t debugfs none /sys/kernel/debug 2>/dev/null; "
        f"echo scheduler $(cat /sys/block/{dev0}/queue/scheduler); "
        f"for d in /sys/block/sd*/device; do echo $d busy $(cat $d/device_busy) "
        "depth $(cat $d/queue_depth) blocked $(cat $d/device_blocked); done; "
        f"cd {dbg} && for f in state requeue_list hctx*/state hctx*/dispatch hctx*/busy "
        "hctx*/tags hctx*/sched_tags sched/*; do "
        "[ -f $f ] && echo \"== $f\" && head -20 $f; done; true", timeout=60)]


def _ios_done(g: Guest, dev: str) -> int:
    """Reads and writes `dev` has completed (/sys/block/<dev>/stat)."""
    f = g.run(f"cat /sys/block/{dev}/stat 2>/dev/null; true").split()
    return int(f[0]) + int(f[4]) if len(f) > 4 else -1


def _bring_back(g: Guest, driver: str, res: Result, host0: int) -> str:
    """The lying controller's disk is gone: the driver removed it (a rescan
    found no target there for 30 s: the device's word). Scans
    the host for it, as an administrator would, and starts the load on it
    again; returns its (new) name."""
    res.disks_removed += 1
    g.run(f"kill $(cat /tmp/load.pid) 2>/dev/null; echo '- - -' > /sys/class/scsi_host/host{host0}/scan",
          timeout=300)
    dev0 = wait_for("the disk to come back", lambda: next(
        (d for h, d in host_disks(g, driver).items() if h == f"{host0}:0:0:0"), None), 120)
    g.run(f"echo {TIMEOUT_S} > /sys/block/{dev0}/device/timeout; "
          f"echo {TIMEOUT_S} > /sys/block/{dev0}/device/eh_timeout; " + LOAD.format(dev=dev0))
    return dev0


def _restart_load(g: Guest, res: Result, dev0: str) -> None:
    """Starts the lying controller's load again after it exited, keeping
    what it said (fio gives up on some errors, whatever
    --continue_on_error says: the campaign needs the I/O)."""
    said = g.run("grep -m4 -i -e error -e 'fio:' /tmp/load.out; : > /tmp/load.out; true").strip()
    res.load_exits.append(said or "(nothing)")
    g.run(LOAD.format(dev=dev0))


def _check_stall(g: Guest, res: Result, dev0: str, host0: int) -> bool:
    """Called when no corruption has taken for STALL_S: the lying
    controller's I/O may have stopped. Returns whether it did: nothing
    completes in STALL_WATCH_S with the load running (res.hung set, the
    I/O state in res.notes)."""
    before = _ios_done(g, dev0)
    if before < 0:
        return False  # the disk is gone: the next back-off finds it again
    # A measurement window, not a wait for a condition.
    time.sleep(STALL_WATCH_S)
    if _ios_done(g, dev0) != before:
        return False
    res.hung = True
    res.notes.append(f"no I/O completed on /dev/{dev0} in {STALL_WATCH_S} s with its load running")
    res.notes.extend(io_state(g, dev0, host0))
    return True


def _finish(g: Guest, driver: str, res: Result, dev0: str, host0: int) -> None:
    """Stops the loads, checks the verify loop, and brings the lying
    controller back (a host reset if nothing else helped)."""
    g.run("touch /tmp/stop; kill $(cat /tmp/load.pid); true")

    def fio_idle() -> bool:
        return g.run("pidof fio >/dev/null && echo busy || echo idle").strip() == "idle"

    try:
        wait_for("fio to stop", fio_idle, FIO_STOP_S, step=1.0)
    except GuestError as e:
        # I/O that never ends: what the midlayer and the block layer hold,
        # and where each fio process waits (how a request consumer index
        # lie showed: nothing in flight, every command refused as busy).
        res.hung = True
        res.notes.append(str(e))
        res.notes.extend(io_state(g, dev0, host0))
        dbg = f"/sys/kernel/debug/block/{dev0}"
        g.run(f"echo run > {dbg}/state; true")
        try:
            wait_for("fio to stop after a queue run", fio_idle, 30, step=1.0)
            res.notes.append("fio stopped after one run of the queues")
        except GuestError:
            res.notes.append("fio still running after a run of the queues")
        return
    rcs = g.run("cat /tmp/verify.rc 2>/dev/null; true").split()
    res.verify_passes = sum(1 for rc in rcs if rc == "0")
    res.verify_failures = sum(1 for rc in rcs if rc != "0")
    if res.verify_failures:
        res.notes.append("verify: " + g.run("tail -20 /tmp/verify.out; true"))
    if driver == RS:
        base = f"/sys/class/scsi_host/host{host0}"
        for name in ("bad_completions", "stale_completions", "bad_messages", "bad_submissions",
                     "lost_commands"):
            res.counters[name] = int(g.run(f"cat {base}/{name}").strip())
    # The midlayer takes a disk offline when its error handling ends with
    # the disk still failing (a corrupted TEST UNIT READY is enough): the
    # record, then what an administrator does, before the checks below.
    res.offlined = g.run(REVIVE.format(host=host0), timeout=60).split()
    if g.run_rc(f"[ -b /dev/{dev0} ]")[0] != 0:
        # Gone (the C driver removes it on a hot-remove message naming a
        # LUN it does not have): fio would write a regular file instead.
        res.notes.append(f"/dev/{dev0} is gone")
        return
    # The corrupted ring indices, sizes and message ring are the device's
    # own state: an adapter reset is what re-synchronises them.
    rc, out = g.run_rc(f"sg_reset -H /dev/{dev0}", timeout=300)
    if rc != 0:
        res.notes.append(f"sg_reset -H: exit {rc}: {out[-300:]}")
    # Take the reset's UNIT ATTENTION with a TEST UNIT READY (a
    # passthrough command, whose midlayer state is always fresh) before the
    # verify: a 7.3 midlayer defect fails the first file-system command that
    # needs a retry on a tag whose last request was rejected while the disk
    # was offline (scsi_queue_rq() ends it without clearing cmd->flags, so
    # the next request keeps SCMD_INITIALIZED and the old jiffies_at_alloc,
    # and its UNIT ATTENTION retry finds it "timing out command, waited 30s";
    # Documentation/scsi/vmw_pvscsi_rs.rst, Known limitations).
    g.run(f"for i in 1 2 3 4 5; do sg_turs /dev/{dev0} >/dev/null 2>&1 && break; sleep 0.2; done; true",
          timeout=120)
    rc, out = g.run_rc(f"fio --name=after --filename=/dev/{dev0} --rw=randwrite --bs=4k --iodepth=8 "
                       "--ioengine=libaio --direct=1 --size=4M --verify=crc32c --do_verify=1 "
                       "--verify_fatal=1", timeout=600)
    res.recovered = rc == 0
    if rc != 0:
        res.notes.append(f"verify after recovery: exit {rc}: {out[-500:]}")
    # Hot-plug works again on the lying controller.
    mon = g.qmp()
    try:
        mon.cmd("device_del", id="dev-probe")
    finally:
        mon.close()
    try:
        wait_for("the hot-removed disk to go",
                 lambda: len([h for h in host_disks(g, driver) if int(h.split(":")[0]) == host0]) == 1,
                 60)
        res.hotplug_after = True
    except GuestError as e:
        res.notes.append(str(e))
