# SPDX-License-Identifier: GPL-2.0
"""A device that lies: corrupts a PVSCSI adapter's shared rings from outside
the guest, the way a buggy or malicious hypervisor could.

The rings are found through QEMU's trace events (`pvscsi_tx_rings_ppn`
prints the pages the driver registered with SETUP_RINGS, and
`pvscsi_msg_ring_put` the address of each message it writes), and written
through QEMU's gdbstub in physical-memory mode (harness/gdbstub.py).

Timing: the injector stops the guest with a breakpoint at the entry of the
driver's interrupt handler, that is after the device wrote its completions
and raised the interrupt, and before the driver reads them. There it
overwrites entries the device has produced and the driver not yet consumed,
or the ring indices, or it appends messages; then the guest goes on and the
driver sees the lie. Corrupting an entry QEMU produced costs that command
its completion (it comes back through the timeout and abort), so the
campaign runs with short SCSI timeouts on the corrupted controller.

Classes of corruption (Injector.CLASSES):
- context: the context id of a pending completion replaced by 0, all ones,
  out of range, a random value, an idle context, the same context of an
  earlier generation (stale), or another pending entry's (duplicate);
- length: dataLen and senseLen beyond any buffer (up to 2^64-1, 2^32-1);
- status: every host status the device defines and unknown ones, every SCSI
  status and unknown ones, sometimes with a sense length;
- index: the completion producer index behind, equal to, half a ring and
  far ahead of the consumer, or random; the request consumer index;
- ringsize: the ring-size fields of the shared state changed after setup;
- message: message-ring entries of unknown type, or device added/removed
  with a bus, target or LUN out of range;
- msgflood: the message producer index far ahead (a ring overflow).
"""

from __future__ import annotations

import dataclasses
import random
import re
import struct
import time

from . import paths
from .gdbstub import GdbStub

PAGE = 4096
REQ_SIZE = 128
CMP_SIZE = 32
MSG_SIZE = 128
# struct PVSCSIRingsState offsets.
REQ_PROD, REQ_CONS, REQ_LOG2 = 0, 4, 8
CMP_PROD, CMP_CONS, CMP_LOG2 = 12, 16, 20
MSG_PROD, MSG_CONS, MSG_LOG2 = 128, 132, 136
# struct PVSCSIRingReqDesc: context, dataAddr, dataLen, senseAddr, senseLen,
# flags, cdb[16], cdbLen, lun[8], tag, bus, target (and more).
REQ = struct.Struct("<QQQQII16sB8sBBB")
# struct PVSCSIRingCmpDesc: context, dataLen, senseLen, hostStatus,
# scsiStatus, pad[2].
CMP = struct.Struct("<QQIHH8x")
# struct PVSCSIMsgDescDevStatusChanged: type, bus, target, lun[8], then the
# rest of struct PVSCSIRingMsgDesc (type and 31 argument words).
MSG = struct.Struct("<III8s108x")
MSG_DEV_ADDED, MSG_DEV_REMOVED = 0, 1



def header_btstat() -> dict[str, int]:
    """The host statuses of the C header (BTSTAT_*, `enum
    HostBusAdapterStatus` of drivers/scsi/vmw_pvscsi.h), by name, from the
    table scripts/abi-layout generates from it (the driver's c_header.rs)."""
    text = (paths.TOP / "drivers/scsi/vmw_pvscsi_rs/protocol/c_header.rs").read_text()
    return {m.group(1): int(m.group(2), 16)
            for m in re.finditer(r'\("BTSTAT_(\w+)", (0x[0-9a-f]+)\)', text)}


# Host statuses the device defines (BTSTAT_*), SCSI statuses of SAM.
BTSTAT = sorted(header_btstat().values())
SAM = [0x00, 0x02, 0x04, 0x08, 0x10, 0x14, 0x18, 0x22, 0x28, 0x30, 0x40]
# Host statuses after which the SCSI status counts: success, linked command
# completed with or without flag, data underrun, data overrun or underrun.
BTSTAT_OK = [header_btstat()[n] for n in ("SUCCESS", "LINKED_COMMAND_COMPLETED",
                                          "LINKED_COMMAND_COMPLETED_WITH_FLAG",
                                          "DATA_UNDERRUN", "DATARUN")]
# Host statuses that VMware's other header (scsi_defs.h: INVCODE,
# INVOPCODE) or no source at all defines: a driver refuses them as unknown.
BTSTAT_UNKNOWN = [0x01, 0x0E, 0x0F, 0x15, 0x16, 0x18, 0xFFFF]


@dataclasses.dataclass
class Layout:
    """Guest physical addresses of one adapter's shared memory."""

    state: int
    cmp_pages: list[int]
    msg_pages: list[int] = dataclasses.field(default_factory=list)
    req_pages: list[int] = dataclasses.field(default_factory=list)

    def req_entries(self) -> int:
        return len(self.req_pages) * (PAGE // REQ_SIZE)

    def cmp_entries(self) -> int:
        return len(self.cmp_pages) * (PAGE // CMP_SIZE)

    def msg_entries(self) -> int:
        return len(self.msg_pages) * (PAGE // MSG_SIZE)


def ring_setups(trace: str) -> list[Layout]:
    """Every SETUP_RINGS in a QEMU trace, in order (the firmware's first:
    SeaBIOS drives pvscsi too)."""
    setups: list[Layout] = []
    for line in trace.splitlines():
        m = re.search(r"pvscsi_tx_rings_ppn (Rings State|Request Ring|Confirm Ring) page: "
                      r"(0x[0-9a-f]+)", line)
        if not m:
            continue
        addr = int(m.group(2), 16) * PAGE
        if m.group(1) == "Rings State":
            setups.append(Layout(state=addr, cmp_pages=[]))
        elif setups and m.group(1) == "Request Ring":
            setups[-1].req_pages.append(addr)
        elif setups:
            setups[-1].cmp_pages.append(addr)
    return setups


def msg_pages(trace: str) -> list[int]:
    """Pages of message descriptors QEMU wrote, in the order first seen."""
    pages: list[int] = []
    for m in re.finditer(r"pvscsi_msg_ring_put .*?(0x[0-9a-f]+)", trace):
        page = int(m.group(1), 16) & ~(PAGE - 1)
        if page not in pages:
            pages.append(page)
    return pages


class Rings:
    """Reads and writes one adapter's rings through a stopped guest."""

    def __init__(self, stub: GdbStub, layout: Layout) -> None:
        self.stub = stub
        self.layout = layout

    def u32(self, off: int) -> int:
        return struct.unpack("<I", self.stub.read_phys(self.layout.state + off, 4))[0]

    def cmp_indices(self) -> tuple[int, int]:
        """(producer, consumer) of the completion ring, in one read."""
        prod, cons = struct.unpack("<II", self.stub.read_phys(self.layout.state + CMP_PROD, 8))
        return prod, cons

    def set_u32(self, off: int, value: int) -> None:
        self.stub.write_phys(self.layout.state + off, struct.pack("<I", value & 0xFFFFFFFF))

    def cmp_addr(self, idx: int) -> int:
        slot = idx % self.layout.cmp_entries()
        per_page = PAGE // CMP_SIZE
        return self.layout.cmp_pages[slot // per_page] + (slot % per_page) * CMP_SIZE

    def read_cmp(self, idx: int) -> list[int]:
        return list(CMP.unpack(self.stub.read_phys(self.cmp_addr(idx), CMP_SIZE)))

    def write_cmp(self, idx: int, fields: list[int]) -> list[int]:
        """Writes completion entry `idx`, each field cut to its width;
        returns the fields as written."""
        written = [v & m for v, m in zip(fields, (2**64 - 1, 2**64 - 1, 0xFFFFFFFF, 0xFFFF, 0xFFFF))]
        self.stub.write_phys(self.cmp_addr(idx), CMP.pack(*written))
        return written

    def find_request(self, context: int) -> tuple[bytes, int] | None:
        """The CDB and target of the newest request with `context` on the
        request ring (searched backwards from the producer index), if any."""
        entries = self.layout.req_entries()
        prod = self.u32(REQ_PROD)
        per_page = PAGE // REQ_SIZE
        for back in range(1, entries + 1):
            slot = (prod - back) % entries
            addr = self.layout.req_pages[slot // per_page] + (slot % per_page) * REQ_SIZE
            f = REQ.unpack(self.stub.read_phys(addr, REQ.size))
            if f[0] == context:
                return f[6][:f[7]], f[11]
        return None

    def msg_addr(self, idx: int) -> int:
        slot = idx % self.layout.msg_entries()
        per_page = PAGE // MSG_SIZE
        return self.layout.msg_pages[slot // per_page] + (slot % per_page) * MSG_SIZE

    def write_msg(self, idx: int, typ: int, bus: int, target: int, lun: bytes) -> None:
        self.stub.write_phys(self.msg_addr(idx), MSG.pack(typ & 0xFFFFFFFF, bus & 0xFFFFFFFF,
                                                          target & 0xFFFFFFFF, lun))


@dataclasses.dataclass
class Tally:
    """What a campaign did."""

    stops: int = 0
    idle_waits: int = 0
    backoffs: int = 0
    # Length lies of 2^31 bytes or more: beyond any command's buffer, so
    # each is a completion the driver must refuse and count.
    overruns: int = 0
    # Status lies with a host status the device does not define, or a
    # successful one with a SCSI status byte SAM does not define: each is a
    # completion the Rust driver must refuse and count.
    unknown_statuses: int = 0
    # Stops at the entry of another interrupt's handler.
    foreign: int = 0
    # Bad messages the driver has read (the message consumer index passed
    # them); those an adapter reset discarded unread are not among them.
    msgs_read: int = 0
    by_class: dict[str, int] = dataclasses.field(default_factory=dict)

    def total(self) -> int:
        return sum(self.by_class.values())


class Injector:
    """Stops the guest in the interrupt handler and corrupts the rings."""

    CLASSES = ["context", "length", "status", "index", "ringsize", "message", "msgflood"]

    def __init__(self, stub: GdbStub, rings: Rings, handler: int | None = None, seed: int = 0,
                 irq: int | None = None, watch: int | None = None) -> None:
        """The guest stops at a breakpoint at `handler`, the address of a
        function entered with the interrupt number as its first argument
        (the Rust driver's trampoline, the C driver's pvscsi_isr); with
        `irq`, only that interrupt's entries count as stops (the
        controllers share the handler).

        Or, with `watch` instead, the kernel virtual address of this adapter's
        completion producer index, the guest stops instead when a CPU reads
        it: where either driver starts draining this adapter's completion
        ring, and nowhere else. A read watchpoint costs QEMU a TLB flush of
        one page where a breakpoint costs a flush of every translated block
        (twice a stop), and no stop is the other controller's."""
        self.stub = stub
        self.rings = rings
        self.handler = handler
        self.irq = irq
        self.watch = watch
        self.rng = random.Random(seed)
        self.tally = Tally()
        # Ring slot -> the entry last written there (see _lie()).
        self.written: dict[int, list[int]] = {}
        # Indices of bad messages written and not yet read; the consumer
        # index last seen.
        self.msgs_unread: set[int] = set()
        self.msg_cons = 0

    def stop_in_handler(self, timeout: float) -> bool:
        """Runs the guest until the interrupt handler is entered (for
        `irq`); False (and the guest stopped anyway) if that did not happen
        within `timeout`. (A breakpoint can only be set in a stopped guest,
        and a guest stopped at one cannot go on with it set: it is set for
        each stop.)"""
        if self.watch is not None:
            return self._stop_at_drain(timeout)
        assert self.handler is not None, "an Injector needs a handler or a watch address"
        deadline = time.monotonic() + timeout
        ours = False
        while True:
            if self.stub.running:
                self.stub.interrupt()
            self.stub.set_breakpoint(self.handler)
            self.stub.cont()
            stopped = self.stub.wait_stop(max(0.05, deadline - time.monotonic())) is not None
            if not stopped:
                self.stub.interrupt()
            self.stub.clear_breakpoint(self.handler)
            if not stopped:
                break
            # rdi: the interrupt number, in the System V ABI.
            if self.irq is None or self.stub.read_register(5) & 0xFFFFFFFF == self.irq:
                ours = True
                break
            self.tally.foreign += 1
            if time.monotonic() >= deadline:
                break
            self.resume()
        self.tally.stops += 1
        if not ours:
            self.tally.idle_waits += 1
        return ours

    def _stop_at_drain(self, timeout: float) -> bool:
        """stop_in_handler() with the watchpoint of `watch`: the guest
        stops right after the driver read the producer index, before it
        reads the entries that index says are there."""
        assert self.watch is not None
        if self.stub.running:
            self.stub.interrupt()
        self.stub.set_watchpoint(self.watch, 4, "read")
        self.stub.cont()
        reply = self.stub.wait_stop(timeout)
        if reply is None:
            self.stub.interrupt()
        self.stub.clear_watchpoint(self.watch, 4, "read")
        self.tally.stops += 1
        # Another stop reply (a late one of an earlier ^C) is not ours.
        ours = reply is not None and "watch:" in reply
        if not ours:
            self.tally.idle_waits += 1
        return ours

    def stop_with_pending(self, timeout: float) -> bool:
        """Like stop_in_handler(), until this adapter has completions the
        driver has not consumed (the handler is shared with the other
        controller, and error handling pauses this one's I/O)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stop_in_handler(max(0.1, deadline - time.monotonic())) and self._pending():
                return True
            if time.monotonic() < deadline:
                self.resume()
        return False

    # Seconds the guest runs after resume() before the next stop may
    # interrupt it: a ^C right after `c` can catch the CPU still at the
    # handler entry it stopped at, and the breakpoint then stops the same
    # entry, with the same completions pending, again and again. (Pacing,
    # not correctness: _lie() never lies twice on an entry not yet read.
    # Stepping past the entry instead leaves QEMU's single-step mode on
    # when its stop reply is one of those it drops, and the CPU stalls.)
    RESUME_S = 0.002

    def resume(self) -> None:
        """Lets the stopped guest go on."""
        if not self.stub.running:
            self.stub.cont()
            time.sleep(self.RESUME_S)

    ENTRY_CLASSES = ("context", "length", "status")

    def inject(self, cls: str) -> int:
        """Applies one corruption of class `cls` to the stopped guest;
        returns how many values it corrupted (0: nothing to corrupt now)."""
        n = getattr(self, f"_{cls}")()
        if n:
            self.tally.by_class[cls] = self.tally.by_class.get(cls, 0) + n
        return n

    # ---- completion entries ------------------------------------------------

    def _pending(self) -> list[int]:
        """Indices of completions produced and not yet consumed."""
        prod, cons = self.rings.cmp_indices()
        n = (prod - cons) & 0xFFFFFFFF
        if n == 0 or n > self.rings.layout.cmp_entries():
            return []
        return [(cons + i) & 0xFFFFFFFF for i in range(n)]

    def _entries(self, corrupt) -> int:
        pending = self._pending()
        if not pending:
            return 0
        chosen = self.rng.sample(pending, self.rng.randint(1, min(4, len(pending))))
        n = 0
        for idx in chosen:
            n += self._lie(idx, corrupt, pending)
        return n

    def _lie(self, idx: int, corrupt, pending: list[int]) -> int:
        """Corrupts pending completion `idx` with `corrupt`; 0 if the entry
        still holds an earlier lie (the driver has not read it yet: a second
        lie there would be counted without being seen)."""
        fields = self.rings.read_cmp(idx)
        if self.written.get(idx % self.rings.layout.cmp_entries()) == fields:
            return 0
        corrupt(fields, pending)
        self.written[idx % self.rings.layout.cmp_entries()] = self.rings.write_cmp(idx, fields)
        return 1

    def _context(self) -> int:
        return self._entries(self._lie_context)

    def _lie_context(self, f: list[int], pending: list[int]) -> None:
        entries = self.rings.layout.cmp_entries()
        ctx = f[0]
        choice = self.rng.randrange(8)
        if choice == 0:
            f[0] = 0
        elif choice == 1:
            f[0] = self.rng.choice([0xFFFFFFFF, 2**64 - 1, 0xFFFF, 0x10000])
        elif choice == 2:
            f[0] = entries + self.rng.randrange(1, 1 << 16)
        elif choice == 3:
            f[0] = self.rng.getrandbits(64)
        elif choice == 4:
            # Probably idle: another low index, any generation.
            f[0] = (self.rng.getrandbits(16) << 16) | self.rng.randrange(1, entries)
        elif choice == 5:
            # Stale: the same context, an earlier generation (bits 16-31 of
            # the Rust driver's cookie; for the C driver, whose contexts are
            # bare indices, an index beyond its table).
            f[0] = ctx - (1 << 16) if ctx >> 16 else ctx | (0xFFFF << 16)
        elif choice == 6 and len(pending) > 1:
            # Duplicate of another pending completion (that one's context
            # then completes twice; the entries may be for the same command
            # only if the device already lied).
            ctx = self.rings.read_cmp(self.rng.choice(pending))[0]
            f[0] = ctx if ctx != f[0] else ctx ^ 1
        else:
            f[0] = ctx ^ (1 << self.rng.randrange(64))

    def swallow(self) -> int:
        """Makes the device "forget" one command: its pending completion
        gets the context 0xffffffff, which names no command, so the driver
        drops it and the command is never completed (not in the random
        mix; the targeted test of a command that never completes)."""
        pending = self._pending()
        if not pending:
            return 0
        idx = pending[0]
        fields = self.rings.read_cmp(idx)
        fields[0] = 0xFFFFFFFF
        self.rings.write_cmp(idx, fields)
        self.tally.by_class["swallow"] = self.tally.by_class.get("swallow", 0) + 1
        return 1

    def _length(self) -> int:
        return self._entries(self._lie_length)

    def _lie_length(self, f: list[int], _pending: list[int]) -> None:
        f[1] = self.rng.choice([2**64 - 1, 2**32, 2**32 - 1, 1 << 20, 0x7FFFFFFF,
                                self.rng.getrandbits(64), self.rng.randrange(1, 1 << 17)])
        if f[1] >= 1 << 31:
            self.tally.overruns += 1
        if self.rng.randrange(2):
            f[2] = self.rng.choice([97, 255, 4096, 0xFFFFFFFF, self.rng.getrandbits(32)])
        if self.rng.randrange(3) == 0:
            f[3] = self.rng.choice(BTSTAT_OK)

    def _status(self) -> int:
        return self._entries(self._lie_status)

    def _lie_status(self, f: list[int], _pending: list[int]) -> None:
        f[3] = self.rng.choice(BTSTAT + BTSTAT_UNKNOWN + [self.rng.getrandbits(16)])
        f[4] = self.rng.choice(SAM + [self.rng.getrandbits(16), 0xFF, 0x100, 0xFFFF])
        if f[3] not in BTSTAT or (f[3] in BTSTAT_OK and f[4] & 0xFF not in SAM):
            self.tally.unknown_statuses += 1
        if self.rng.randrange(2):
            f[2] = self.rng.choice([0, 18, 96, 97, 0xFFFFFFFF])

    def burst(self, context: bool = False) -> int:
        """The bulk of a long campaign, at a stop with completions pending:
        every pending entry gets a length or status lie (one of them a
        context lie instead when `context`), and up to 8 bad messages go on
        the message ring. Returns how many values it corrupted (0: nothing
        was pending). Length and status lies cost no command (the driver
        completes it with what it can trust), so a campaign of bursts keeps
        the corrupted controller busy instead of in error handling."""
        pending = self._pending()
        if not pending:
            return 0
        lost = self.rng.choice(pending) if context else None
        n = 0
        for idx in pending:
            if idx == lost:
                cls, lie = "context", self._lie_context
            elif self.rng.randrange(22) < 10:
                cls, lie = "length", self._lie_length
            else:
                cls, lie = "status", self._lie_status
            if self._lie(idx, lie, pending):
                self.tally.by_class[cls] = self.tally.by_class.get(cls, 0) + 1
                n += 1
        if self.rings.layout.msg_pages:
            n += self.inject("message")
        return n

    # ---- indices and sizes -------------------------------------------------

    def _index(self) -> int:
        cons = self.rings.u32(CMP_CONS)
        entries = self.rings.layout.cmp_entries()
        choice = self.rng.randrange(7)
        if choice == 0:
            self.rings.set_u32(CMP_PROD, cons)  # equal: hides what is pending
        elif choice == 1:
            self.rings.set_u32(CMP_PROD, cons - self.rng.randrange(1, 64))  # behind
        elif choice == 2:
            self.rings.set_u32(CMP_PROD, cons + 4000)  # far ahead
        elif choice == 3:
            self.rings.set_u32(CMP_PROD, cons + entries + 1)  # more than a ring
        elif choice == 4:
            self.rings.set_u32(CMP_PROD, self.rng.getrandbits(32))
        elif choice == 5:
            self.rings.set_u32(REQ_CONS, self.rings.u32(REQ_PROD) + self.rng.randrange(1, 5000))
        else:
            self.rings.set_u32(REQ_CONS, self.rng.getrandbits(32))
        return 1

    def _ringsize(self) -> int:
        field = self.rng.choice([REQ_LOG2, CMP_LOG2, MSG_LOG2])
        self.rings.set_u32(field, self.rng.choice([0, 1, 31, 32, 0xFFFFFFFF,
                                                   self.rng.getrandbits(32)]))
        return 1

    # ---- messages ----------------------------------------------------------

    def _note_msgs_read(self, cons: int) -> None:
        """Moves the bad messages the consumer index `cons` has passed to
        the read tally; after an adapter reset (the index went back to the
        start) the unread ones are gone."""
        if (cons - self.msg_cons) & 0xFFFFFFFF >= 1 << 31:
            self.msgs_unread.clear()
        read = {i for i in self.msgs_unread if 0 < (cons - i) & 0xFFFFFFFF < 1 << 31}
        self.tally.msgs_read += len(read)
        self.msgs_unread -= read
        self.msg_cons = cons

    def _message(self) -> int:
        prod, cons = self.rings.u32(MSG_PROD), self.rings.u32(MSG_CONS)
        self._note_msgs_read(cons)
        used = (prod - cons) & 0xFFFFFFFF
        if used > self.rings.layout.msg_entries():
            # Left corrupt by a flood: a sane index again first (QEMU writes
            # one with its next message).
            prod, used = cons, 0
        # Never fill the ring: a full ring is the flood's case (the driver
        # rescans for the messages the device may have dropped).
        room = self.rings.layout.msg_entries() - used - 1
        if room <= 0:
            return 0  # the driver has not read the earlier ones yet
        n = self.rng.randint(1, min(8, room))
        for i in range(n):
            choice = self.rng.randrange(5)
            lun = bytes(8)
            typ, bus, target = MSG_DEV_ADDED, 0, 0
            if choice == 0:
                typ = self.rng.choice([2, 3, 0x80, 0xFFFFFFFF, self.rng.getrandbits(32)])
            elif choice == 1:
                typ, bus = self.rng.choice([MSG_DEV_ADDED, MSG_DEV_REMOVED]), \
                    self.rng.choice([1, 0xFFFFFFFF, self.rng.getrandbits(32)])
            elif choice == 2:
                typ = self.rng.choice([MSG_DEV_ADDED, MSG_DEV_REMOVED])
                target = self.rng.choice([256, 0xFFFFFFFF, self.rng.getrandbits(32) | 0x100])
            elif choice == 3:
                typ = self.rng.choice([MSG_DEV_ADDED, MSG_DEV_REMOVED])
                lun = bytes([self.rng.randrange(1, 256)]) + bytes(7)  # lun[0] != 0
            else:
                typ = self.rng.choice([MSG_DEV_ADDED, MSG_DEV_REMOVED])
                lun = bytes([0]) + bytes([0]) + self.rng.randbytes(6)  # high LUN bytes
                if lun == bytes(8):
                    lun = bytes(7) + b"\x01"
            self.rings.write_msg(prod + i, typ, bus, target, lun)
            self.msgs_unread.add((prod + i) & 0xFFFFFFFF)
        self.rings.set_u32(MSG_PROD, prod + n)
        return n

    def _msgflood(self) -> int:
        cons = self.rings.u32(MSG_CONS)
        self.rings.set_u32(MSG_PROD, cons + self.rng.choice([10_000, 1 << 31, 65]))
        return 1
