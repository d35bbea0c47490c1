#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make run`: the driver at work in a guest.

Boots the `perf` test kernel with a pvscsi controller and two disks (a 256 MiB
image at SCSI id 0, a 1 GiB null disk at id 20), loads vmw_pvscsi_rs, shows
what it bound and found, runs a short fio on every disk and powers off.

With ROOT=pvscsi (`make run ROOT=pvscsi`) it boots the `builtin` kernel
instead (the driver built in by scripts/intree) with no initramfs and the
root file system on a disk behind the pvscsi controller, writes and reads
back a file on it, shuts down cleanly and checks the file system on the host.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import driver_disks, fio  # noqa: E402
from harness.scsi import root_disk_io_and_poweroff, wait_disks  # noqa: E402
from harness.guest import Disk, Guest, GuestConfig, GuestError  # noqa: E402

KCONFIG = os.environ.get("KCONFIG_RUN", "perf")


def say(msg: str) -> None:
    print(msg, flush=True)


def root_on_pvscsi() -> int:
    """`make run ROOT=pvscsi`."""
    say(">>> building the kernel with vmw_pvscsi_rs built in (scripts/intree, "
        "CONFIG_SCSI_VMW_PVSCSI_RUST=y; a cold build takes about 15 minutes)")
    cfg = GuestConfig(kconfig="builtin", root_disk=True, c_modules=False, name="make-run-root")
    say(">>> booting it with no initramfs, root=/dev/sda: an ext4 disk at SCSI id 0 of a "
        "pvscsi controller")
    with Guest(cfg, with_rs=False) as g:
        say(f"    guest up ({g.run('uname -r').strip()})")
        say("    / is: " + g.run("grep ' / ' /proc/mounts").strip())
        bdf = g.pvscsi_bdf()
        say(f"    {bdf} is bound to: {g.bound_driver(bdf)} (built in)")
        log = g.run("dmesg | grep -E 'vmw_pvscsi_rs|scsi host|sd [0-9]|EXT4-fs|VFS' | tail -n 12")
        say("    kernel log:\n" + "".join(f"      {line}\n" for line in log.splitlines()))
        say(">>> writing 16 MiB to /data.bin on the root file system, reading it back; "
            "remounting / read-only, powering off")
        res = root_disk_io_and_poweroff(g)
        say(f"    e2fsck of the image: {'clean' if res.returncode == 0 else res.stdout}")
        if res.returncode != 0:
            return 1
    say(">>> done: no kernel warnings on the console")
    return 0


def main() -> int:
    if os.environ.get("ROOT", "") == "pvscsi":
        return root_on_pvscsi()
    if os.environ.get("ROOT", ""):
        say(f"ROOT={os.environ['ROOT']}: the only root mode is ROOT=pvscsi")
        return 2
    disks = [Disk(scsi_id=0, size_mb=256), Disk(scsi_id=20, size_mb=1024, backend="null")]
    cfg = GuestConfig(kconfig=KCONFIG, disks=disks, name="make-run")
    say(f">>> booting the {KCONFIG} kernel under QEMU: pvscsi controller, disks at SCSI ids 0 and 20")
    with Guest(cfg) as g:
        say(f"    guest up ({g.run('uname -r').strip()}, accel {g.qemu_command()[g.qemu_command().index('-accel') + 1]})")
        bdf = g.pvscsi_bdf()
        say(f">>> insmod vmw_pvscsi_rs.ko (pvscsi function at {bdf})")
        g.mark_console()
        g.insmod("vmw_pvscsi_rs")
        say(f"    {bdf} is bound to: {g.bound_driver(bdf)}")
        try:
            wait_disks(g, "vmw_pvscsi_rs", len(disks))
        except GuestError as e:
            say(f"    {e}")
        log = g.run("dmesg | grep -E 'vmw_pvscsi_rs|scsi host|sd [0-9]' | grep -vE 'Subtest|# |ok [0-9]' | tail -n 20")
        say("    kernel log:\n" + "".join(f"      {line}\n" for line in log.splitlines()))
        found = driver_disks(g, "vmw_pvscsi_rs")
        if not found:
            say("    no disks found")
        for dev in found:
            info = g.run(f"cat /sys/block/{dev}/device/model /sys/block/{dev}/size").split()
            hctl = g.run(f"ls /sys/block/{dev}/device/scsi_disk").strip()
            say(f"    /dev/{dev}: [{hctl}] {info[0]}, {int(info[-1]) // 2048} MiB")
        for dev in found:
            job = fio(g, dev, "randread", "4k", 32, runtime=5)
            say(f">>> fio 4 KiB random read, QD32, 5 s on /dev/{dev}: "
                f"{job['read']['iops']:.0f} IOPS, {job['read']['bw'] / 1024:.1f} MiB/s")
        say(">>> rmmod vmw_pvscsi_rs")
        g.rmmod("vmw_pvscsi_rs")
        say(f"    {bdf} is bound to: {g.bound_driver(bdf)}")
        say(">>> powering off")
    say(">>> done: no kernel warnings on the console")
    return 0


if __name__ == "__main__":
    sys.exit(main())
