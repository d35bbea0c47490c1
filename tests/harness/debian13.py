# SPDX-License-Identifier: GPL-2.0
"""Guests that boot Debian 13's own, unmodified kernel from a Debian 13
root file system (scripts/debian13) in which the DKMS package of `make deb`
was installed by apt, as a user installs it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from . import paths
from .guest import BOOT_RETRY_SIGNATURES, Guest, GuestConfig

# What the root file system's copy gets for the tests: the harness's command
# agent on ttyS1, started by systemd once the system is up.
AGENT_UNIT = """\
[Unit]
Description=vmw_pvscsi_rs test agent (ttyS1)
After=systemd-udevd.service local-fs.target

[Service]
ExecStart=/usr/local/sbin/pvscsi-agent
StandardInput=tty
StandardOutput=tty
TTYPath=/dev/ttyS1

[Install]
WantedBy=multi-user.target
"""

# The modprobe.d file of the package, as installed (the C driver keeps the
# controllers) and switched to vmw_pvscsi_rs (its README.Debian).
SELECT_C = "blacklist vmw_pvscsi_rs\n#blacklist vmw_pvscsi\n"
SELECT_RS = "#blacklist vmw_pvscsi_rs\nblacklist vmw_pvscsi\n"


def script(*args: str, timeout: float = 1800) -> str:
    """Runs scripts/debian13 with `args`; returns its standard output. Its
    progress lines go to the terminal."""
    res = subprocess.run([str(paths.SCRIPTS / "debian13"), *args], stdout=subprocess.PIPE,
                         text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"scripts/debian13 {' '.join(args)} failed ({res.returncode})")
    return res.stdout.strip()


def kver() -> str:
    """The stock kernel's release (7.3.4+deb13-cloud-amd64)."""
    return script("print-kver")


def build_deb() -> Path:
    """`make deb`'s package (scripts/deb-build, lintian-checked)."""
    res = subprocess.run([str(paths.SCRIPTS / "deb-build")], stdout=subprocess.PIPE, text=True,
                         timeout=600)
    if res.returncode != 0:
        raise RuntimeError("scripts/deb-build failed")
    return Path(res.stdout.strip().splitlines()[-1])


def install(dest: Path, deb: Path) -> Path:
    """A copy of the Debian 13 root file system at `dest` with `deb`
    installed by apt (DKMS builds the module for both flavours), plus the
    test agent."""
    script("install", str(dest), str(deb))
    sbin = dest / "usr/local/sbin"
    shutil.copy(paths.TOP / "tests/guest/agent", sbin / "pvscsi-agent")
    (sbin / "pvscsi-agent").chmod(0o755)
    unit = dest / "etc/systemd/system/pvscsi-agent.service"
    unit.write_text(AGENT_UNIT)
    wants = dest / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "pvscsi-agent.service").unlink(missing_ok=True)
    (wants / "pvscsi-agent.service").symlink_to("/etc/systemd/system/pvscsi-agent.service")
    return dest


def select(root: Path, text: str) -> None:
    """Writes the package's modprobe.d file and runs update-initramfs -u in
    the root file system, as its README.Debian says."""
    (root / "etc/modprobe.d/vmw_pvscsi_rs.conf").write_text(
        "# Written by the tests (harness/debian13.py).\n" + text)
    script("chroot", str(root), "update-initramfs", "-u", "-k", kver())


def image(root: Path, dest: Path) -> Path:
    """An ext4 image of `root` at `dest` (label debian13), with a copy of
    its stock kernel and initramfs beside it (dest.vmlinuz, dest.initrd),
    which a guest boots as a boot loader would."""
    script("image", str(root), str(dest))
    release = kver()
    shutil.copy(root / f"boot/vmlinuz-{release}", dest.with_suffix(".vmlinuz"))
    shutil.copy(root / f"boot/initrd.img-{release}", dest.with_suffix(".initrd"))
    return dest


# Reports of the stock kernel during boot that allow another boot, before the
# driver's first line (Guest.start): an int3 Oops at an instruction that
# the console shows is already a NOP again (enqueue_task_fair+0xa0b, code
# "0f <1f> 44 00 00", in a kworker of the async boot work, no module loaded
# yet), then the panic it causes. One boot in 8 of this guest did so on
# 2026-12-06. It is the text_poke_bp() of a static key or jump label: a vCPU
# runs the int3 after the patching CPU finished and synchronised, which
# TCG's translated-code cache allows and hardware does not.
STOCK_BOOT_RETRY_SIGNATURES = [
    re.compile(r"Oops: int3: 0000 \[#\d+\]"),
    re.compile(r"Kernel panic - not syncing: Fatal exception"),
]


class StockGuest(Guest):
    """A guest that boots the stock kernel and initramfs of an image()
    with that image as its root disk: on virtio-blk, or at target 0 of the
    first pvscsi controller (`root_on_pvscsi`)."""

    def __init__(self, config: GuestConfig, disk: Path, root_on_pvscsi: bool = False) -> None:
        super().__init__(config, with_rs=False)
        self.image = disk
        self.root_on_pvscsi = root_on_pvscsi
        self.boot_retry_signatures = [*BOOT_RETRY_SIGNATURES, *STOCK_BOOT_RETRY_SIGNATURES]

    def _prepare_root(self) -> None:
        """The root disk is `image`, made beforehand."""

    def qemu_command(self) -> list[str]:
        cmd = super().qemu_command()
        cmd[cmd.index("-kernel") + 1] = str(self.image.with_suffix(".vmlinuz"))
        cmd[cmd.index("-initrd") + 1] = str(self.image.with_suffix(".initrd"))
        # The kernel's command line as a Debian system has it, plus the
        # harness's console settings.
        append = cmd.index("-append") + 1
        cmd[append] = ("root=LABEL=debian13 rw console=ttyS0 panic=-1 printk.devkmsg=on "
                       + self.cfg.append).strip()
        if self.root_on_pvscsi:
            disk = ["-device", "scsi-hd,bus=pv0.0,scsi-id=0,lun=0,drive=root,id=disk-root"]
        else:
            disk = ["-device", "virtio-blk-pci,drive=root,id=disk-root"]
        return cmd + ["-blockdev", f"driver=raw,node-name=root,file.driver=file,"
                      f"file.filename={self.image},cache.direct=off", *disk]
