# SPDX-License-Identifier: GPL-2.0
"""Boots a test kernel under QEMU with a pvscsi controller and drives it.

    with Guest(GuestConfig(kconfig="debug", disks=[Disk(scsi_id=0)])) as g:
        g.insmod_rs()
        out = g.run("ls /sys/class/scsi_disk")

The guest has two serial lines: ttyS0 is the kernel console, written to
console.log; ttyS1 carries the command agent (tests/guest/agent). QMP listens
on a UNIX socket. Every run has a hard timeout, and leaving the `with` block
checks the console for kernel error reports (console.find_reports) and fails
the run if there are any. Logs are kept for failed runs.
"""

from __future__ import annotations

import base64
import ctypes
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import sys
import subprocess
import tempfile
import time
from pathlib import Path

from . import console, initramfs, paths

READY = b"@@PVSCSI-AGENT-READY@@"


def _die_with_parent() -> None:
    """Runs in the forked child before QEMU starts: QEMU gets SIGKILL when
    the test process ends, however it ends (a SIGTERM or SIGKILL from an
    outer timeout runs no `finally`; QEMU, in its own session, would
    otherwise run on, and one did for 51 minutes)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class GuestError(Exception):
    """A guest run failed: timeout, crash, or kernel error reports."""


class CommandFailed(GuestError):
    """A command in the guest exited non-zero."""

    def __init__(self, cmd: str, rc: int, output: str) -> None:
        super().__init__(f"guest command failed (exit {rc}): {cmd}\n{output}")
        self.rc = rc
        self.output = output


# Boots of a guest whose kernel reports a problem before the agent is up
# (see Guest.start).
BOOT_ATTEMPTS = 3
# The one kernel report that boots a guest again (see Guest.start): the
# first line of each, after the printk timestamp.
BOOT_RETRY_SIGNATURES = [re.compile(r"BUG: KASAN: wild-memory-access in handle_edge_irq")]
# How long a guest may take to power off after `poweroff -f`.
POWEROFF_S = 60
# Module names in a backtrace that make a leak this project's: the driver
# (with the Rust SCSI layer, built into it) and the layer's second user.
OUR_MODULES = r"\[(vmw_pvscsi_rs|rust_scsi_ram)\]"
# Functions of the SCSI midlayer in a backtrace, which make a leak ours too.
SCSI_LAYER = r"^\s*_*scsi_\w+\+0x"
# What a guest script does to tear a driver down (an unload or an unbind):
# guests that did run the leak scans (see Guest.leaks).
TEARDOWN = re.compile(r"\brmmod\b|/unbind\b|/remove\b")
# Which guests run the leak scans: "teardown" (those that unloaded or
# unbound a driver, or unplugged a device, after having the driver: `make
# test`'s time budget) or "all" (every guest that had the driver: `make
# stress`).
KMEMLEAK = os.environ.get("PVSCSI_KMEMLEAK", "teardown")
# x86-64's module mapping space (MODULES_VADDR to MODULES_END): a backtrace
# frame printed as a bare address there is code of a module since unloaded.
MODULE_SPACE = (0xffffffffa0000000, 0xffffffffff000000)


def boot_retry_allowed(text: str, signatures: list[re.Pattern] = BOOT_RETRY_SIGNATURES) -> bool:
    """Whether the reports on boot console `text` allow a new boot: each
    matches one of `signatures` (BOOT_RETRY_SIGNATURES unless told), and
    they all come before the driver's first line."""
    last_report = None
    for i, line in enumerate(text.splitlines()):
        found = console.find_reports(line)
        if not found:
            continue
        if not any(sig.search(line) for sig in signatures):
            return False
        last_report = i
    driver = next((i for i, line in enumerate(text.splitlines()) if "vmw_pvscsi" in line), None)
    return last_report is not None and (driver is None or driver > last_report)


def kmemleak_reports(text: str) -> list[str]:
    """The reports of a /sys/kernel/debug/kmemleak read, one string each."""
    return [m.group(0) for m in re.finditer(r"^unreferenced object .*?(?=^unreferenced object |\Z)",
                                            text, re.M | re.S)]

# The TCG CPU: everything QEMU emulates but 5-level paging. With LA57 the
# 7.3 debug kernel can report a KASAN wild-memory-access in
# handle_edge_irq() for an interrupt taken while identify_cpu() has cleared
# boot_cpu_data's feature bits (arch/x86/kernel/cpu/common.c:2031):
# pgtable_l5_enabled() is cpu_feature_enabled(X86_FEATURE_LA57), so
# KASAN_SHADOW_START moves to its 4-level value for a moment and the
# 5-level direct map (0xff11...) looks unshadowed. Three boots in a row of
# one guest did so on 2026-12-03. Virtual machines on VMware and KVM hosts
# mostly run with 4-level paging anyway.
TCG_CPU = "max,la57=off"
# Kernel parameters of a guest whose root file system is on its first pvscsi
# disk (GuestConfig.root_disk).
ROOT_APPEND = "root=/dev/sda rootfstype=ext4 rw rootwait init=/init"


@dataclasses.dataclass
class Disk:
    """A scsi-hd on a controller: a sparse raw image, or a null-co device."""

    scsi_id: int
    size_mb: int = 64
    backend: str = "file"  # "file" or "null"
    bus: str = "pv0"
    node: str | None = None
    # null backend: every read and write takes this long (a slow disk).
    latency_ms: int = 0
    # And microseconds more (null backend).
    latency_us: int = 0
    # file backend: blkdebug `inject-error` rules between the format and the
    # image (each a dict: event, sector, errno, once), to fail chosen sectors.
    blkdebug: list[dict] | None = None
    # Extra scsi-hd properties, e.g. "rerror=report,werror=stop".
    device_opts: str = ""

    def name(self) -> str:
        return self.node or f"{self.bus}d{self.scsi_id}"


# The pvscsi device as VMware builds it, in the VMware mode of the project's
# QEMU (tests/qemu/vmware-mode/, Documentation/scsi/vmw_pvscsi_rs-testing.rst):
# the controller page with 65 targets (ids 0 to 64, as a vSphere host
# reported), request coalescing with ESXi's default threshold and polling,
# completions that carry the bytes transferred, and VMware's PCI layout with
# MSI-X.
VMWARE = "num-phys=65,req-call-threshold=8,report-data-len=on,vmware-layout=on"


@dataclasses.dataclass
class GuestConfig:
    """What to boot."""

    kconfig: str = "debug"
    disks: list[Disk] = dataclasses.field(default_factory=list)
    pvscsi: bool = True
    # Number of pvscsi controllers (ids pv0, pv1, ...) when `pvscsi` is set.
    pvscsi_count: int = 1
    # Properties of the pvscsi controllers, such as "num-phys=65" (see
    # VMWARE and tests/qemu/vmware-mode/): one string for every controller,
    # or a list with one string per controller. A property that stock QEMU
    # lacks needs `vmware_qemu`.
    pvscsi_props: str | list[str] = ""
    # Run QEMU with the VMware mode of its pvscsi device (scripts/qemu-vmware)
    # instead of the system's.
    vmware_qemu: bool = False
    # Guest RAM below 4 GiB (the pc machine's max-ram-below-4g), when the
    # rest of `memory_mb` is to sit above it: DMA addresses above 4 GiB then
    # reach the device.
    ram_below_4g_mb: int | None = None
    virtio_scsi: bool = False
    cpus: int = 2
    # 1 GiB: kmemleak's scans at a teardown guest's end take about 8 s
    # against 13-16 s with 2 GiB (tests/tools/leak_scan_cost.py, 2026-12-06:
    # Documentation/scsi/results/leak-scan-cost-2026-12-06.txt); no case needs
    # more, save those that put RAM above 4 GiB.
    memory_mb: int = 1024
    append: str = ""
    extra_qemu: list[str] = dataclasses.field(default_factory=list)
    icount: bool = False
    boot_timeout: float = 180.0
    name: str = "guest"
    # Include the C peers (vmw_pvscsi.ko, virtio_scsi.ko) in /modules.
    c_modules: bool = True
    # Host CPUs QEMU may run on (a taskset list such as "0"); empty: any.
    host_cpus: str = ""
    # QEMU trace events to enable (patterns such as "pvscsi_*"); they are
    # written to trace.log in the guest's log folder (Guest.trace()).
    trace: list[str] = dataclasses.field(default_factory=list)
    # QEMU's gdbstub on a UNIX socket (Guest.gdb()), for the ring-injection
    # rig (harness/pvring.py).
    gdb: bool = False
    # Boots before a kernel report during boot fails the run (Guest.start).
    boot_attempts: int = 3
    # Boot with no initramfs, the root file system (what the initramfs holds
    # otherwise) on an ext4 disk at target 0 of the first pvscsi controller:
    # for a kernel with the driver built in (kconfig "builtin"). The image
    # is root.img in the guest's log folder.
    root_disk: bool = False
    # With root_disk: boot this initramfs (one that loads the driver and
    # mounts the root disk, such as scripts/mkinitramfs writes) instead of
    # none.
    initrd: Path | None = None
    # Include the samples (rust_scsi_ram.ko, the SCSI layer's second user)
    # in /modules.
    samples: bool = False
    # A staging root (such as `make install INSTALL_MOD_PATH=...` writes)
    # whose files are added to the guest's / (lib/modules, etc/modprobe.d).
    extra_root: Path | None = None


def _accel(kconfig: str) -> str:
    """Returns "kvm" only where a probe showed that KVM boots guests here.

    The probe boots the `kconfig` kernel (the one about to be used) once per
    machine and host kernel, and its result is cached.
    """
    forced = os.environ.get("PVSCSI_ACCEL")
    if forced:
        return forced
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    stamp = paths.CACHE / f"kvm-probe-{os.uname().release}"
    if not stamp.exists():
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(_probe_kvm(kconfig))
    return stamp.read_text().strip()


def _probe_kvm(kconfig: str) -> str:
    """Boots a kernel with KVM once; returns "kvm" if it reaches the agent."""
    cfg = GuestConfig(kconfig=kconfig, boot_timeout=30, name="kvm-probe", c_modules=False)
    g = Guest(cfg, accel="kvm", with_rs=False)
    g.allow_reports = True
    try:
        with g:
            g.run("true", timeout=10)
        return "kvm"
    except Exception:  # noqa: BLE001 - any failure means "do not use KVM"
        return "tcg"
    finally:
        shutil.rmtree(g.dir, ignore_errors=True)


class Guest:
    """One QEMU guest; a context manager."""

    def __init__(self, config: GuestConfig, accel: str | None = None, with_rs: bool = True) -> None:
        self.cfg = config
        self.accel = accel
        self.with_rs = with_rs
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.dir = paths.LOGS / f"{config.name}-{stamp}-{os.getpid()}"
        # What _record_times() writes: set by start() and stop().
        self._times: dict = {}
        self.console_path = self.dir / "console.log"
        # UNIX socket paths must stay below 108 bytes, whatever the log
        # folder's name: the sockets live in a short folder of their own.
        self.sock_dir = Path(tempfile.mkdtemp(prefix="pvscsi-"))
        self.qemu: subprocess.Popen | None = None
        self.agent: socket.socket | None = None
        self._buf = b""
        self._seq = 0
        self._console_offset = 0
        self.allow_reports = False
        # Module names that make a leak one (see leaks()).
        self.leak_modules = OUR_MODULES
        # A script unloaded or unbound a driver (TEARDOWN), or a test said
        # it unplugged a device: see leaks().
        self.tore_down = False
        # How long stop() waits for the guest to power off (POWEROFF_S; the
        # self-test of that check waits less).
        self.poweroff_s = POWEROFF_S
        # (name, start, end) of every module insmod() loaded, for the
        # backtraces of leaks from modules unloaded since (see leaks()).
        self.module_ranges: list[tuple[str, int, int]] = []
        self.keep_logs = os.environ.get("PVSCSI_KEEP_LOGS") == "1"
        self.kdir = paths.kdir(config.kconfig)
        # The reports during boot that allow another boot (start()).
        self.boot_retry_signatures = BOOT_RETRY_SIGNATURES

    # ---- lifecycle -------------------------------------------------------

    def __enter__(self) -> Guest:
        try:
            self.start()
        except BaseException:
            self.stop(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(failed=exc_type is not None)

    def _modules(self) -> dict[str, Path]:
        mods: dict[str, Path] = {}
        if self.with_rs:
            mods["vmw_pvscsi_rs.ko"] = paths.module(self.cfg.kconfig)
        if self.cfg.samples:
            mods["rust_scsi_ram.ko"] = paths.sample_module(self.cfg.kconfig)
        if self.cfg.c_modules:
            mods["vmw_pvscsi.ko"] = self.kdir / "drivers/scsi/vmw_pvscsi.ko"
            mods["virtio_scsi.ko"] = self.kdir / "drivers/scsi/virtio_scsi.ko"
            # The detectors' self-tests (test_console_checker.py).
            for name, rel in (("lkdtm.ko", "drivers/misc/lkdtm/lkdtm.ko"),
                              ("kmemleak-test.ko", "samples/kmemleak/kmemleak-test.ko"),
                              # The kcsan kernel's (KCSAN's test needs torture).
                              ("torture.ko", "kernel/torture.ko"),
                              ("kcsan_test.ko", "kernel/kcsan/kcsan_test.ko")):
                if (self.kdir / rel).exists():
                    mods[name] = self.kdir / rel
        return mods

    def qemu_command(self) -> list[str]:
        """The QEMU command line."""
        c = self.cfg
        accel = self.accel or _accel(c.kconfig)
        pin = ["taskset", "-c", c.host_cpus] if c.host_cpus else []
        qemu = str(paths.qemu_vmware()) if c.vmware_qemu else "qemu-system-x86_64"
        cmd = pin + [
            qemu, "-machine",
            "pc" + (f",max-ram-below-4g={c.ram_below_4g_mb}M" if c.ram_below_4g_mb else ""),
            "-nodefaults", "-no-user-config",
            "-display", "none", "-no-reboot",
            "-m", str(c.memory_mb), "-smp", str(c.cpus),
            "-kernel", str(self.kdir / "arch/x86/boot/bzImage"),
            *(["-initrd", str(c.initrd)] if c.initrd else
              [] if c.root_disk else ["-initrd", str(self.dir / "initrd.cpio")]),
            # kunit.autorun=0: KUnit suites run only when a test asks
            # (test_foundation), not at boot or at each insmod.
            # pty.legacy_count=0: no BSD ptys (nothing here uses them);
            # creating the 256 pairs' device nodes took pty_init 4.3 s of
            # the debug kernel's boot under TCG (initcall_debug, 2026-12-06).
            "-append", "console=ttyS0 panic=-1 printk.devkmsg=on kunit.autorun=0 "
                       "pty.legacy_count=0 "
                       f"{ROOT_APPEND if c.root_disk else ''} {c.append}".strip(),
            # No ACPI PCI hot-plug (no test hot-plugs a PCI function through
            # ACPI; the SCSI hot-plug is the device's own): its AML, a
            # method set for each of the 32 slots, cost acpi_init about 2 s
            # of the interpreter under KASAN and lockdep. With both, the
            # agent answers 2-12 s sooner after QEMU's start (two probes,
            # Documentation/scsi/results/boot-variants-2026-12-06.txt).
            "-global", "PIIX4_PM.acpi-root-pci-hotplug=off",
            "-global", "PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off",
            # append: a guest booted again (boot_again) keeps the earlier console.
            "-chardev", f"file,id=con,path={self.console_path},append=on",
            "-serial", "chardev:con",
            "-chardev", f"socket,id=agent,path={self.sock_dir / 'agent.sock'},server=on,wait=on",
            "-serial", "chardev:agent",
            "-qmp", f"unix:{self.sock_dir / 'qmp.sock'},server=on,wait=off",
        ]
        if accel == "kvm":
            cmd += ["-accel", "kvm", "-cpu", "host"]
        elif c.icount:
            cmd += ["-accel", "tcg", "-cpu", TCG_CPU, "-icount", "shift=0,sleep=off"]
        else:
            cmd += ["-accel", "tcg", "-cpu", TCG_CPU]
        for event in c.trace:
            cmd += ["-trace", f"enable={event}"]
        if c.trace:
            cmd += ["-D", str(self.dir / "trace.log")]
        if c.gdb:
            cmd += ["-gdb", f"unix:{self.sock_dir / 'gdb.sock'},server=on,wait=off"]
        if c.pvscsi:
            for i in range(c.pvscsi_count):
                props = c.pvscsi_props if isinstance(c.pvscsi_props, str) else c.pvscsi_props[i]
                cmd += ["-device", f"pvscsi,id=pv{i}" + (f",{props}" if props else "")]
        if c.virtio_scsi:
            cmd += ["-device", "virtio-scsi-pci,id=vs0"]
        if c.root_disk:
            cmd += ["-blockdev", f"driver=raw,node-name=root,file.driver=file,"
                    f"file.filename={self.dir / 'root.img'}",
                    "-device", "scsi-hd,bus=pv0.0,scsi-id=0,lun=0,drive=root,id=disk-root"]
        for d in c.disks:
            cmd += self.disk_args(d)
        return cmd + c.extra_qemu

    def disk_args(self, d: Disk) -> list[str]:
        """QEMU arguments that create disk `d` (and its backing image)."""
        node = d.name()
        if d.backend == "null":
            blockdev = (f"driver=null-co,node-name={node},size={d.size_mb << 20},read-zeroes=on,"
                        f"latency-ns={d.latency_ms * 1_000_000 + d.latency_us * 1_000}")
        else:
            img = self.dir / f"{node}.img"
            if not img.exists():
                with open(img, "wb") as f:
                    f.truncate(d.size_mb << 20)
            if d.blkdebug:
                blockdev = json.dumps({
                    "driver": "raw", "node-name": node,
                    "file": {"driver": "blkdebug", "inject-error": d.blkdebug,
                             "image": {"driver": "file", "filename": str(img)}}})
            else:
                blockdev = (f"driver=raw,node-name={node},file.driver=file,"
                            f"file.filename={img},cache.direct=off")
        opts = f",{d.device_opts}" if d.device_opts else ""
        return ["-blockdev", blockdev, "-device",
                f"scsi-hd,bus={d.bus}.0,scsi-id={d.scsi_id},lun=0,drive={node},id=disk-{node}{opts}"]

    def start(self) -> None:
        """Builds the initramfs, starts QEMU and waits for the agent.

        Under TCG the 7.3 debug kernel with 5-level paging took a kernel
        report in about 1 boot in 20, before any module was loaded (a KASAN
        wild-memory-access in handle_edge_irq for an interrupt that arrives
        while the boot CPU is being identified; measured: 2 of 40 bare
        boots; the guests now run with 4-level paging). A report with that
        signature (BOOT_RETRY_SIGNATURES) that comes before the driver's
        first console line boots the guest again, up to BOOT_ATTEMPTS times
        in all; each such console is kept as boot-report-console-<n>.log. Any
        other report, or one after the driver said anything (the root-disk
        and built-in guests probe it before the agent is up), fails the run
        at once: an intermittent defect is not retried away.
        """
        attempts = max(BOOT_ATTEMPTS, self.cfg.boot_attempts)
        self._times = {"guest": self.cfg.name, "test": os.environ.get("PYTEST_CURRENT_TEST", "")
                       .rsplit(" ", 1)[0], "started": time.monotonic()}
        for attempt in range(1, attempts + 1):
            self._boot()
            reports = self.reports()
            if (not reports or self.allow_reports or attempt == attempts
                    or not boot_retry_allowed(self.console(), self.boot_retry_signatures)):
                self._times["boot_s"] = time.monotonic() - self._times["started"]
                self._times["boot_cpu_s"] = self._qemu_cpu_s()
                self._times["boots"] = attempt
                return
            kept = self.dir / f"boot-report-console-{attempt}.log"
            shutil.copyfile(self.console_path, kept)
            print(f"warning: kernel report during boot {attempt} of {self.cfg.name}, before any "
                  f"module was loaded; booting again (console kept: {kept}):\n  "
                  + "\n  ".join(reports[:5]), file=sys.stderr, flush=True)
            self._kill()
            self.console_path.unlink(missing_ok=True)

    def _kill(self) -> None:
        """Kills QEMU and drops the agent connection."""
        if self.agent:
            self.agent.close()
            self.agent = None
        if self.qemu and self.qemu.poll() is None:
            os.killpg(self.qemu.pid, signal.SIGKILL)
            self.qemu.wait()
        self._buf = b""
        (self.sock_dir / "agent.sock").unlink(missing_ok=True)
        (self.sock_dir / "qmp.sock").unlink(missing_ok=True)

    def _boot(self) -> None:
        """Starts QEMU and waits for the agent."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._prepare_root()
        cmd = self.qemu_command()
        (self.dir / "qemu-cmdline").write_text(" ".join(cmd) + "\n")
        self.qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=open(self.dir / "qemu.log", "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 30
        sock_path = self.sock_dir / "agent.sock"
        while not sock_path.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                raise GuestError("QEMU did not create its agent socket within 30 s")
            time.sleep(0.05)
        self.agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.agent.connect(str(sock_path))
        self._read_until(READY, self.cfg.boot_timeout, "the guest to boot")

    def _prepare_root(self) -> None:
        """Writes what the guest boots from: its initramfs, or its root disk
        image (GuestConfig.root_disk)."""
        if self.cfg.root_disk:
            root = self.dir / "root.img"
            # A guest booted again (boot_again) keeps its root file system.
            if not root.exists():
                initramfs.root_image(root, self._modules(), extra_root=self.cfg.extra_root)
        else:
            initramfs.build(self.dir / "initrd.cpio", self._modules(), self.cfg.extra_root)

    def stop(self, failed: bool = False) -> None:
        """Scans for memory leaks, powers the guest off (killing it if
        needed) and checks its console. A guest that does not power off
        within POWEROFF_S, or whose leak scan finds an object allocated by
        the driver or the SCSI layer, fails the run."""
        problems = []
        # A guest whose kernel already reported a problem fails anyway, or
        # reported what its case provoked and allows (allow_reports: a C
        # driver's crash, a detector's self-test): no leak scan, and no wait
        # for a power-off it may not manage (a CPU stuck with preemption
        # off, a kernel that panicked and no longer answers).
        reported = bool(self.reports())
        if self.qemu and self.qemu.poll() is None:
            if reported or failed or not self.agent:
                os.killpg(self.qemu.pid, signal.SIGKILL)
                self.qemu.wait()
            else:
                stopping = time.monotonic()
                try:
                    problems += self.leaks()
                    self._send("poweroff -f")
                except (OSError, GuestError) as e:
                    problems.append(f"before power-off: {e}")
                powering_off = time.monotonic()
                self._times["leak_scan_s"] = powering_off - stopping
                self._times["cpu_s"] = self._qemu_cpu_s()
                try:
                    self.qemu.wait(timeout=self.poweroff_s)
                except subprocess.TimeoutExpired:
                    os.killpg(self.qemu.pid, signal.SIGKILL)
                    self.qemu.wait()
                    problems.append(f"the guest did not power off within {self.poweroff_s} s "
                                    "of `poweroff -f`")
        if self.agent:
            self.agent.close()
            self.agent = None
        self._record_times()
        reports = [] if self.allow_reports else self.reports()
        problems += reports
        if problems and not failed:
            failed = True
            self._cleanup(failed)
            raise GuestError("kernel error reports on the console of "
                             f"{self.cfg.name} (log: {self.console_path}):\n  " + "\n  ".join(problems[:20]))
        self._cleanup(failed)

    def _qemu_cpu_s(self) -> float | None:
        """The CPU time QEMU has used so far (all its threads, user and
        system), from /proc: how much of a guest's life was work rather than
        waiting, which decides what running guests side by side can gain."""
        try:
            with open(f"/proc/{self.qemu.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (AttributeError, OSError, IndexError):
            return None
        # utime and stime: fields 14 and 15 of stat(5), 11 and 12 after comm.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _record_times(self) -> None:
        """Appends this guest's life to build/logs/guests.jsonl (run_tests.py
        puts it in durations.json): its boot (with the boots it took), the
        leak scans and the whole life from QEMU's first start to the
        power-off; what its test did in between is the rest."""
        t = self._times
        if "started" not in t:
            return
        started = t.pop("started")
        t["life_s"] = time.monotonic() - started
        rec = {k: round(v, 1) if isinstance(v, float) else v for k, v in t.items()}
        try:
            paths.LOGS.mkdir(parents=True, exist_ok=True)
            with open(paths.LOGS / "guests.jsonl", "a") as f:
                f.write(json.dumps(rec) + "\n")
        except OSError as e:
            print(f"note: guest times not recorded: {e}", file=sys.stderr)

    def leaks(self) -> list[str]:
        """Runs a kmemleak scan (when the kernel has kmemleak and no test
        turned it off, in a guest that had the driver and, unless
        PVSCSI_KMEMLEAK=all, tore a driver down or unplugged a device:
        TEARDOWN, `tore_down`) and returns the reports that are this project's: the
        allocation backtrace passes through the driver or the SCSI layer
        (`leak_owner`). The others are printed, each with the reason it is
        not ours. The scan's duration is printed too."""
        if self.allow_reports or (KMEMLEAK == "teardown" and not self.tore_down):
            return []
        # Guests that never had the driver skip the scans (about 6 s each).
        loaded = any(re.search(self.leak_modules, f"[{n}]") for n, _, _ in self.module_ranges)
        present = " || ".join(f"[ -d /sys/module/{m} ]" for m in ("vmw_pvscsi_rs", "rust_scsi_ram"))
        start = time.monotonic()
        # Two scans: the first one only records the checksum of an object
        # it has not seen before (kmemleak reports an unreferenced object
        # once its contents stayed the same from one scan to the next), so
        # the objects leaked by the test's last steps (an unbind) are
        # reported by the second. And kmemleak reports only objects at
        # least 5 s old when a scan starts (MSECS_MIN_AGE, mm/kmemleak.c):
        # the second scan starts 6 s or more after this function began, or
        # a leak of the test's last seconds would go unreported (with 1 GiB
        # guests the two scans take about 8 s together, less than the first
        # one alone took with 2 GiB).
        rc, out = self.run_rc("k=/sys/kernel/debug/kmemleak; [ -w $k ] || exit 3; "
                              + ("" if loaded else f"{{ {present}; }} || exit 3; ")
                              + "read t0 _ < /proc/uptime; t0=${t0%.*}; echo scan > $k && "
                              "while read t _ < /proc/uptime; [ ${t%.*} -lt $((t0 + 6)) ]; do "
                              "sleep 0.2; done; echo scan > $k && cat $k", timeout=300)
        if rc == 3:
            return []
        print(f"note: kmemleak scans of {self.cfg.name}: {time.monotonic() - start:.1f} s",
              file=sys.stderr, flush=True)
        if rc != 0:
            return [f"kmemleak scan failed: {out.strip()[:200]}"]
        ours = []
        for block in kmemleak_reports(out):
            summary = " | ".join(line.strip() for line in block.splitlines()[:14])
            owner, why = self.leak_owner(block)
            if owner:
                ours.append(f"kmemleak report ({why}): {summary}")
            else:
                print(f"note: kmemleak report in {self.cfg.name} not counted ({why}): {summary}",
                      file=sys.stderr, flush=True)
        return ours

    def leak_owner(self, block: str) -> tuple[bool, str]:
        """Whether the kmemleak report `block` is this project's, and why:
        a backtrace frame in a module named by `leak_modules`, in the SCSI
        midlayer (SCSI_LAYER), or a bare address (a module unloaded since)
        in such a module's range as insmod() saw it, or in no range seen at
        all (a module unloaded before the scan that nothing can name counts
        against us)."""
        if re.search(self.leak_modules, block):
            return True, "allocated by the driver"
        if re.search(SCSI_LAYER, block, re.M):
            return True, "allocated by the SCSI layer"
        for m in re.finditer(r"^\s*0x([0-9a-f]{16})\s*$", block, re.M):
            addr = int(m.group(1), 16)
            if not MODULE_SPACE[0] <= addr < MODULE_SPACE[1]:
                continue
            names = [n for n, lo, hi in self.module_ranges if lo <= addr < hi]
            if not names:
                return True, f"allocated by an unloaded module at {addr:#x} that no insmod named"
            if any(re.search(self.leak_modules, f"[{n}]") for n in names):
                return True, f"allocated by the unloaded module {names[-1]}"
            return False, f"allocated by the unloaded module {names[-1]}"
        return False, "its backtrace passes through neither the driver nor the SCSI layer"

    def _cleanup(self, failed: bool) -> None:
        shutil.rmtree(self.sock_dir, ignore_errors=True)
        if failed or self.keep_logs:
            for img in self.dir.glob("*.img"):
                img.unlink()
            (self.dir / "initrd.cpio").unlink(missing_ok=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _check_alive(self) -> None:
        if self.qemu and self.qemu.poll() is not None:
            tail = self.console()[-3000:]
            qlog = (self.dir / "qemu.log").read_text(errors="replace")[-2000:]
            raise GuestError(f"QEMU exited (status {self.qemu.returncode}); qemu: {qlog}\n"
                             f"console tail ({self.console_path}):\n{tail}")

    # ---- console ---------------------------------------------------------

    def console(self) -> str:
        """The whole console log so far."""
        try:
            return self.console_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def reports(self) -> list[str]:
        """Kernel error reports on the console so far."""
        return console.find_reports(self.console())

    def wait_console(self, pattern: str, timeout: float = 60.0) -> re.Match:
        """Waits until the console (since the last mark) matches `pattern`."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.console(), self._console_offset)
            if m:
                return m
            self._check_alive()
            if time.monotonic() > deadline:
                raise GuestError(f"console did not show /{pattern}/ within {timeout} s "
                                 f"(log: {self.console_path})")
            time.sleep(0.1)

    def mark_console(self) -> None:
        """Makes wait_console() look only at what comes after this point."""
        self._console_offset = len(self.console())

    def console_since_mark(self) -> str:
        """The console from the last mark_console() on."""
        return self.console()[self._console_offset:]

    # ---- QEMU trace ------------------------------------------------------

    def trace(self) -> str:
        """The QEMU trace events written so far (GuestConfig.trace)."""
        try:
            return (self.dir / "trace.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # ---- agent -----------------------------------------------------------

    def _send(self, script: str) -> str:
        if TEARDOWN.search(script):
            self.tore_down = True
        self._seq += 1
        tag = str(self._seq)
        line = f"{tag} {base64.b64encode(script.encode()).decode()}\n"
        assert self.agent is not None
        self.agent.sendall(line.encode())
        return tag

    def _read_until(self, token: bytes, timeout: float, what: str) -> bytes:
        assert self.agent is not None
        deadline = time.monotonic() + timeout
        while token not in self._buf:
            self._check_alive()
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError(f"timed out after {timeout} s waiting for {what} "
                                 f"(console: {self.console_path})")
            self.agent.settimeout(min(left, 0.5))
            try:
                chunk = self.agent.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                self._check_alive()
                raise GuestError(f"agent connection closed while waiting for {what}")
            self._buf += chunk
        head, _, self._buf = self._buf.partition(token)
        return head

    def start_script(self, script: str) -> str:
        """Starts a shell script in the guest without waiting for it (for a
        command that suspends the guest); finish_script() collects it."""
        return self._send(script)

    def finish_script(self, tag: str, timeout: float = 120.0) -> tuple[int, str]:
        """Waits for a script start_script() started; returns (exit status,
        output). Scripts finish in the order they were sent."""
        return self._collect(tag, timeout, f"script {tag}")

    def run_rc(self, script: str, timeout: float = 120.0) -> tuple[int, str]:
        """Runs a shell script in the guest; returns (exit status, output)."""
        return self._collect(self._send(script), timeout, f"`{script[:60]}`")

    def _collect(self, tag: str, timeout: float, what: str) -> tuple[int, str]:
        """Reads the answer to script `tag`."""
        self._read_until(f"@@PVSCSI-BEGIN {tag}@@\n".encode(), timeout, what)
        body = self._read_until(f"@@PVSCSI-END {tag} ".encode(), timeout, what)
        rc_line = self._read_until(b"@@\n", 5, "the exit status")
        output = base64.b64decode(b"".join(body.split())).decode(errors="replace")
        return int(rc_line), output

    def run(self, script: str, timeout: float = 120.0) -> str:
        """Runs a shell script in the guest; raises CommandFailed if it fails."""
        rc, out = self.run_rc(script, timeout)
        if rc != 0:
            raise CommandFailed(script, rc, out)
        return out

    def shutdown_with(self, command: str, timeout: float = 120.0) -> None:
        """Runs a command that ends the guest (`reboot -f`, `poweroff -f`) and
        waits for QEMU to exit (guests run with -no-reboot)."""
        self._send(command)
        self._wait_exit(timeout, f"`{command}`")

    def _wait_exit(self, timeout: float, after: str) -> None:
        """Waits for QEMU to exit (the guest powered itself off)."""
        assert self.qemu is not None
        try:
            self.qemu.wait(timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise GuestError(f"guest still running {timeout} s after {after} "
                             f"(console: {self.console_path})") from e

    def boot_again(self, timeout: float = 600.0) -> None:
        """Waits for the guest to power itself off (as hibernation does once
        its image is written), checks the console for kernel reports, and
        boots the same configuration again with the same disk images. The
        console log goes on in the same file."""
        self._wait_exit(timeout, "it was expected to power off")
        reports = [] if self.allow_reports else self.reports()
        if reports:
            raise GuestError("kernel error reports before the guest powered off "
                             f"(log: {self.console_path}):\n  " + "\n  ".join(reports[:20]))
        self._kill()
        self._boot()

    # ---- drivers ---------------------------------------------------------

    def insmod(self, module: str, params: str = "", timeout: float = 120.0) -> str:
        """Loads /modules/<module>.ko with `params`, and notes where it was
        loaded (see leak_owner())."""
        out = self.run(f"insmod /modules/{module}.ko {params}", timeout)
        name = module.replace("-", "_")
        rc, line = self.run_rc(f"grep '^{name} ' /proc/modules")
        fields = line.split()
        if rc == 0 and len(fields) >= 6:
            start = int(fields[5], 16)
            self.module_ranges.append((name, start, start + int(fields[1])))
        return out

    def rmmod(self, module: str, timeout: float = 120.0) -> str:
        """Unloads a module."""
        return self.run(f"rmmod {module}", timeout)

    def pvscsi_bdfs(self) -> list[str]:
        """The PCI addresses of the pvscsi functions, in PCI order (pv0
        first)."""
        return sorted(self.run(
            "for d in /sys/bus/pci/devices/*; do "
            "[ \"$(cat $d/vendor)\" = 0x15ad ] && [ \"$(cat $d/device)\" = 0x07c0 ] && "
            "basename $d; done; true").split())

    def pvscsi_bdf(self) -> str:
        """The PCI address of the (first) pvscsi function."""
        return self.pvscsi_bdfs()[0]

    def bound_driver(self, bdf: str) -> str | None:
        """The name of the driver bound to PCI function `bdf`, if any."""
        rc, out = self.run_rc(f"basename $(readlink /sys/bus/pci/devices/{bdf}/driver)")
        return out.strip() if rc == 0 else None

    def scsi_disks(self) -> list[str]:
        """H:C:T:L of every SCSI disk, sorted by target."""
        out = self.run("ls /sys/class/scsi_disk 2>/dev/null || true").split()
        return sorted(out, key=lambda s: [int(x) for x in s.split(":")])

    # ---- QMP -------------------------------------------------------------

    def gdb(self):
        """A gdbstub connection (GuestConfig.gdb); connecting stops the guest."""
        from .gdbstub import GdbStub
        assert self.cfg.gdb, "GuestConfig.gdb is off"
        return GdbStub(str(self.sock_dir / "gdb.sock"))

    def qmp(self):
        """A connected synchronous QMP client (qemu.qmp.legacy)."""
        from qemu.qmp.legacy import QEMUMonitorProtocol
        mon = QEMUMonitorProtocol(str(self.sock_dir / "qmp.sock"))
        mon.connect()
        return _Monitor(mon, self)


class _Monitor:
    """A QMP client that notes a device_del on its guest (`tore_down`: the
    hot-remove path ran, see Guest.leaks) and is otherwise the client."""

    def __init__(self, mon, guest: Guest) -> None:
        self._mon = mon
        self._guest = guest

    def cmd(self, command: str, /, *args, **kwargs):
        # Positional-only: QMP arguments may be called `name`.
        if command == "device_del":
            self._guest.tore_down = True
        return self._mon.cmd(command, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._mon, name)

    def __enter__(self) -> "_Monitor":
        self._mon.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._mon.__exit__(*exc)
