# SPDX-License-Identifier: GPL-2.0
"""A minimal GDB remote-protocol client for QEMU's gdbstub.

It is how the tests play a device (or hypervisor) that lies: QEMU runs with
`-gdb unix:<socket>`, and this client stops the guest, reads and writes guest
physical memory (QEMU's `Qqemu.PhyMemMode:1`), and sets breakpoints at
kernel addresses, all from outside the guest. Only what the ring-injection
rig needs is here: all-stop mode, no-ack mode, m/M and p packets, Z0/z0,
Z2-Z4/z2-z4, c and the ^C interrupt.

    stub = GdbStub(path)            # connecting stops the guest
    stub.write_phys(addr, data)
    stub.set_breakpoint(pc)
    stub.cont()
    reason = stub.wait_stop(5.0)    # None on timeout (guest still running)
"""

from __future__ import annotations

import socket
import time


class GdbError(Exception):
    """The stub refused a request or the connection broke."""


class GdbStub:
    """One connection to QEMU's gdbstub; the guest is stopped on return."""

    # Largest memory transfer per packet (QEMU's packet buffer is 4 KiB of
    # hex: keep well below it).
    CHUNK = 1024

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise GdbError(f"no gdbstub at {path} within {timeout} s") from None
                time.sleep(0.05)
        self.buf = b""
        self.ack = True
        self.running = False
        self.lost_replies = 0
        self.breakpoints: set[int] = set()
        self.request("qSupported:swbreak+;hwbreak+")
        if self.request("QStartNoAckMode") == "OK":
            self.ack = False
        # QEMU stops the guest when a debugger connects; the stop reason.
        self.request("?")
        # On a connection after the first, QEMU (its gdbstub state is
        # global) also sends the stop reply of that stop unasked, ahead of
        # or behind the answers above: skip stop replies until this
        # request's own answer.
        reply = self.request("Qqemu.PhyMemMode:1")
        for _ in range(4):
            if not reply or reply[0] not in "TS":
                break
            reply = self._recv(30.0) or ""
        if reply != "OK":
            raise GdbError(f"QEMU refused physical memory mode: {reply!r}")

    def close(self) -> None:
        """Continues the guest (if stopped) and disconnects."""
        try:
            for addr in list(self.breakpoints):
                self.clear_breakpoint(addr)
            if not self.running:
                self.cont()
        except (OSError, GdbError):
            pass
        self.sock.close()

    # ---- packets ---------------------------------------------------------

    def _send(self, payload: str) -> None:
        data = payload.encode()
        packet = b"$" + data + b"#" + f"{sum(data) & 0xff:02x}".encode()
        self.sock.sendall(packet)

    def _recv(self, timeout: float | None) -> str | None:
        """Reads one packet; None if none arrived within `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            start = self.buf.find(b"$")
            if start >= 0:
                end = self.buf.find(b"#", start)
                if end >= 0 and len(self.buf) >= end + 3:
                    data = self.buf[start + 1:end]
                    self.buf = self.buf[end + 3:]
                    if self.ack:
                        self.sock.sendall(b"+")
                    return _unescape(data).decode(errors="replace")
            else:
                # Acknowledgements and noise before a packet.
                self.buf = b""
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise GdbError("gdbstub connection closed (QEMU exited?)")
            self.buf += chunk

    def request(self, payload: str, timeout: float = 30.0) -> str:
        """Sends a packet and returns the reply (the guest must be stopped)."""
        if self.running:
            raise GdbError(f"request {payload!r} while the guest runs")
        self._send(payload)
        reply = self._recv(timeout)
        if reply is None:
            raise GdbError(f"no reply to {payload!r} within {timeout} s")
        return reply

    # ---- memory ----------------------------------------------------------

    def read_phys(self, addr: int, length: int) -> bytes:
        """Reads guest physical memory."""
        out = b""
        while length > 0:
            n = min(length, self.CHUNK)
            reply = self.request(f"m{addr:x},{n:x}")
            if reply.startswith("E") and len(reply) == 3:
                raise GdbError(f"cannot read {n} bytes at {addr:#x}: {reply}")
            out += bytes.fromhex(reply)
            addr += n
            length -= n
        return out

    def write_phys(self, addr: int, data: bytes) -> None:
        """Writes guest physical memory."""
        for off in range(0, len(data), self.CHUNK):
            part = data[off:off + self.CHUNK]
            reply = self.request(f"M{addr + off:x},{len(part):x}:{part.hex()}")
            if reply != "OK":
                raise GdbError(f"cannot write {len(part)} bytes at {addr + off:#x}: {reply}")

    def read_virt(self, addr: int, length: int) -> bytes:
        """Reads guest virtual memory (the current CPU's page tables)."""
        self.request("Qqemu.PhyMemMode:0")
        try:
            return self.read_phys(addr, length)
        finally:
            self.request("Qqemu.PhyMemMode:1")

    # ---- execution -------------------------------------------------------

    # Z packet types of watchpoints.
    WATCH = {"write": 2, "read": 3, "access": 4}

    def set_watchpoint(self, addr: int, length: int = 4, kind: str = "write") -> None:
        """Stops the guest after any CPU reads or writes (`kind`) `length`
        bytes at virtual address `addr` (the stop reply then names
        `watch:`, `rwatch:` or `awatch:<addr>`). Under TCG a watchpoint
        costs a TLB flush of its page; a breakpoint flushes translations."""
        reply = self.request(f"Z{self.WATCH[kind]},{addr:x},{length:x}")
        if reply != "OK":
            raise GdbError(f"{kind} watchpoint at {addr:#x} refused: {reply}")

    def clear_watchpoint(self, addr: int, length: int = 4, kind: str = "write") -> None:
        """Removes the watchpoint of set_watchpoint()."""
        self.request(f"z{self.WATCH[kind]},{addr:x},{length:x}")

    def set_write_watchpoint(self, addr: int, length: int = 4) -> None:
        """set_watchpoint() of writes."""
        self.set_watchpoint(addr, length, "write")

    def clear_write_watchpoint(self, addr: int, length: int = 4) -> None:
        """Removes the watchpoint of set_write_watchpoint()."""
        self.clear_watchpoint(addr, length, "write")

    def set_breakpoint(self, addr: int) -> None:
        """A breakpoint at kernel (virtual) address `addr`."""
        reply = self.request(f"Z0,{addr:x},1")
        if reply != "OK":
            raise GdbError(f"breakpoint at {addr:#x} refused: {reply}")
        self.breakpoints.add(addr)

    def clear_breakpoint(self, addr: int) -> None:
        """Removes the breakpoint at `addr`."""
        self.request(f"z0,{addr:x},1")
        self.breakpoints.discard(addr)

    def read_register(self, n: int) -> int:
        """Register `n` (GDB's numbering: 5 is rdi on x86-64) of the CPU that
        stopped the guest."""
        reply = self.request(f"p{n:x}")
        if reply.startswith("E") and len(reply) == 3:
            raise GdbError(f"cannot read register {n}: {reply}")
        return int.from_bytes(bytes.fromhex(reply), "little")

    def cont(self) -> None:
        """Lets the guest run; wait_stop() or interrupt() stop it again."""
        self._send("c")
        self.running = True

    def wait_stop(self, timeout: float) -> str | None:
        """Waits for the guest to stop (a breakpoint); returns the stop
        reply, or None if it still runs after `timeout` seconds."""
        reply = self._recv(timeout)
        if reply is not None:
            self.running = False
        return reply

    # Seconds to wait for the stop reply to a ^C before asking for it.
    LOST_REPLY_S = 10.0

    def interrupt(self, timeout: float = 30.0) -> str:
        """Stops the running guest (^C); returns the stop reply.

        QEMU (8.1 and later) sends one stop reply per resume, and drops the
        others: when a breakpoint hit and the ^C race, or a second vCPU's hit
        is still pending at the next resume, the ^C's reply can be the one
        dropped, and the guest is stopped with nothing said. After
        LOST_REPLY_S the stop reason is asked for (`?`), which QEMU always
        answers; `lost_replies` counts those."""
        if not self.running:
            return "S00"
        self.sock.sendall(b"\x03")
        reply = self.wait_stop(min(timeout, self.LOST_REPLY_S))
        if reply is None:
            self._send("?")
            reply = self.wait_stop(max(timeout - self.LOST_REPLY_S, 1.0))
            if reply is None:
                raise GdbError(f"guest did not stop within {timeout} s of ^C")
            self.lost_replies += 1
        return reply


def _unescape(data: bytes) -> bytes:
    """Undoes the protocol's `}` escaping and run-length encoding."""
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x7D and i + 1 < len(data):
            out.append(data[i + 1] ^ 0x20)
            i += 2
        elif c == 0x2A and out and i + 1 < len(data):
            out += bytes([out[-1]]) * (data[i + 1] - 29)
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)
