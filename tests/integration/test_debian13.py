# SPDX-License-Identifier: GPL-2.0
"""vmw_pvscsi_rs on Debian 13's own, unmodified Rust-enabled kernel
(linux-image-7.3.4+deb13-cloud-amd64), installed the way a user installs it:
`make deb`'s DKMS package, installed by apt in a Debian 13 root file system
(scripts/debian13), builds the module for both amd64 flavours; the guests
boot that system's stock kernel and initramfs. These are the commands of
the README's Debian instructions."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import debian13, paths
from harness.debian13 import StockGuest
from harness.guest import Disk, GuestConfig
from harness.scsi import (RS, data_roundtrip, host_disks, hot_add_null, start_verify, stop_verify, targets,
                          wait_disks, wait_for)

pytestmark = pytest.mark.stress

WORK = paths.TOP / "build" / "debian13"
FLAVOURS = ("cloud-amd64", "amd64")
# Targets of the pvscsi disks: the first, one in the middle and the last of
# QEMU's 64.
TARGETS = (0, 20, 63)


class System:
    """The installed root file system and its two images: as installed (the
    C driver keeps the controllers) and switched to vmw_pvscsi_rs."""

    def __init__(self) -> None:
        WORK.mkdir(parents=True, exist_ok=True)
        self.deb = debian13.build_deb()
        self.root = debian13.install(WORK / "root", self.deb)
        self.release = debian13.kver()
        self.abi = self.release.removesuffix("-cloud-amd64")
        self.as_installed = debian13.image(self.root, WORK / "as-installed.img")
        debian13.select(self.root, debian13.SELECT_RS)
        self.switched = debian13.image(self.root, WORK / "switched.img")


@pytest.fixture(scope="module")
def system() -> System:
    return System()


def disks() -> list[Disk]:
    return [Disk(scsi_id=t) for t in TARGETS]


def test_package_builds_a_signed_module_for_each_flavour(system):
    """Installing the package built and installed the module for both
    flavours' kernels, after the regenerated Rust build output passed the
    check against the kernel's exported symbols; DKMS signed it with its
    MOK key."""
    root = system.root
    cert = root / "var/lib/dkms/mok.pub"
    serial = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(cert), "-noout", "-serial"],
                            capture_output=True, text=True, check=True).stdout
    serial = serial.strip().split("=")[1].upper().lstrip("0")
    for flavour in FLAVOURS:
        release = f"{system.abi}-{flavour}"
        found = list((root / f"lib/modules/{release}/updates/dkms").glob("vmw_pvscsi_rs.ko*"))
        assert len(found) == 1, (release, found)
        info = {}
        for field in ("vermagic", "signer", "sig_key", "sig_hashalgo"):
            info[field] = subprocess.run(["modinfo", "-F", field, str(found[0])], capture_output=True,
                                         text=True, check=True).stdout.strip()
        assert info["vermagic"].startswith(release + " "), info
        assert info["signer"] == "DKMS module signing key", info
        # The signature names the key of /var/lib/dkms/mok.pub (its serial).
        assert info["sig_key"].replace(":", "").upper().lstrip("0") == serial, (info, serial)
        log = (root / f"var/lib/dkms/vmw_pvscsi_rs/0.1.0/{release}/x86_64/log/make.log").read_text()
        m = re.search(r"check passed: all (\d+) Rust symbols regenerated for (\S+) are exported by the "
                      r"kernel \(crate hashes (\S+) (\S+)\)", log)
        assert m and m.group(2) == release, log[-3000:]
        assert m.group(3) == "Cs2lKf6AS60Zg_4core" and m.group(4) == "Csb5MLIFMWygY_6kernel", m.group(0)
    status = subprocess.run(["chroot", str(root), "dkms", "status", "vmw_pvscsi_rs"], capture_output=True,
                            text=True, check=True).stdout
    for flavour in FLAVOURS:
        assert f"vmw_pvscsi_rs/0.1.0, {system.abi}-{flavour}, x86_64: installed" in status, status


def test_driver_layer_and_sample_build_with_the_stock_toolchain(system):
    """The driver, the SCSI layer and its second user (the RAM-backed
    sample, which the package does not ship) build against the stock
    kernel's regenerated tree with its own toolchain (rustc 1.85.1, gcc-14)
    with no warning: C warnings and Rust warnings are errors here, and the
    KUnit suites are left out (the stock kernel has no CONFIG_KUNIT)."""
    root = system.root
    src = root / "tmp/src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "drivers/scsi").mkdir(parents=True)
    (src / "samples").mkdir()
    shutil.copy(paths.TOP / "Kbuild", src)
    for d in ("drivers/scsi/vmw_pvscsi_rs", "drivers/scsi/rust_scsi", "samples/rust_scsi_ram"):
        shutil.copytree(paths.TOP / d, src / d)
    for flavour in FLAVOURS:
        release = f"{system.abi}-{flavour}"
        res = subprocess.run([str(paths.SCRIPTS / "debian13"), "chroot", str(root), "make", "-C",
                              f"/var/lib/vmw_pvscsi_rs/kbuild/{release}", "M=/tmp/src", f"MO=/tmp/out-{flavour}",
                              "PVSCSI_SAMPLES=1", "KCFLAGS=-Werror", "KRUSTFLAGS=-Dwarnings", "modules"],
                             capture_output=True, text=True, timeout=1200)
        out = res.stdout + res.stderr
        assert res.returncode == 0, out[-3000:]
        assert "warning" not in out.lower(), out[-3000:]
        for ko in ("drivers/scsi/vmw_pvscsi_rs/vmw_pvscsi_rs.ko", "samples/rust_scsi_ram/rust_scsi_ram.ko"):
            built = root / f"tmp/out-{flavour}" / ko
            assert built.is_file(), (release, ko)
            # No KUnit suite in the module (its kunit_test_suites section).
            sections = subprocess.run(["objdump", "-h", str(built)], capture_output=True, text=True,
                                      check=True).stdout
            assert "kunit" not in sections, (release, ko)


def test_stock_kernel_runs_the_driver(system):
    """On the stock kernel, with the package as installed: the C driver
    keeps the controller; `modprobe -r vmw_pvscsi; modprobe vmw_pvscsi_rs`
    hands it over; disks at targets 0, 20 and 63 come up; fio write+verify
    on all of them; a disk hot-added and removed; device, bus and host
    resets (sg_reset) under verified I/O; the module unloaded and loaded
    again twice with the data intact. The console must stay free of kernel
    reports (Guest.stop)."""
    cfg = GuestConfig(name="debian13-stock", boot_timeout=400, disks=disks())
    with StockGuest(cfg, system.as_installed) as g:
        assert g.run("uname -r").strip() == system.release
        bdf = g.pvscsi_bdf()
        assert g.bound_driver(bdf) == "vmw_pvscsi"
        # The stock kernel loads the module signed by a key it does not
        # know, and says so with its taint flags (no Secure Boot here).
        g.run("modprobe -r vmw_pvscsi && modprobe vmw_pvscsi_rs")
        assert g.bound_driver(bdf) == RS
        found = wait_disks(g, RS, len(TARGETS))
        assert targets(found) == list(TARGETS)
        taint = g.run("cat /sys/module/vmw_pvscsi_rs/taint").strip()
        print(f"note: vmw_pvscsi_rs taint flags on the stock kernel: {taint!r}")
        devs = sorted(found.values())
        start_verify(g, devs, "all")
        assert stop_verify(g, "all") >= 1

        # Hot-add at target 5 and remove.
        mon = g.qmp()
        try:
            hot_add_null(mon, "hot5", 5)
            dev = wait_for("0:0:5:0 to appear", lambda: host_disks(g, RS).get("0:0:5:0"))
            g.run(f"dd if=/dev/{dev} of=/dev/null bs=64k count=64 iflag=direct")
            mon.cmd("device_del", id="dev-hot5")
            wait_for("0:0:5:0 to disappear", lambda: "0:0:5:0" not in host_disks(g, RS))
        finally:
            mon.close()

        # Resets under verified I/O.
        start_verify(g, devs, "reset")
        g.run(f"sleep 2; sg_reset -d /dev/{devs[0]}; sg_reset -b /dev/{devs[1]}; "
              f"sg_reset -H /dev/{devs[2]}", timeout=180)
        assert stop_verify(g, "reset") >= 1
        assert g.run(f"cat /sys/block/{devs[0]}/device/state").strip() == "running"

        # Unload and load again.
        for _ in range(2):
            # udev reprobes a disk closed after writing (its watch on block
            # devices), holding it, and so the module, open for a moment:
            # modprobe -r then fails with "in use" (seen 2026-12-07 after
            # the round trips). It is retried until udev is done, a bounded
            # number of times, so that a reference the driver kept still
            # fails the case.
            g.run("n=0; until modprobe -r vmw_pvscsi_rs; do n=$((n + 1)); "
                  "[ $n -lt 50 ] || exit 1; udevadm settle; sleep 0.2; done; "
                  "modprobe vmw_pvscsi_rs", timeout=180)
            found = wait_disks(g, RS, len(TARGETS))
            for dev in sorted(found.values()):
                data_roundtrip(g, dev, mib=2)


def root_guest(system: System, boot: int) -> StockGuest:
    cfg = GuestConfig(name=f"debian13-root-{boot}", boot_timeout=400, disks=[Disk(scsi_id=20)])
    return StockGuest(cfg, system.switched, root_on_pvscsi=True)


def test_root_disk_on_pvscsi_through_the_initramfs(system):
    """Switched as README.Debian says (the modprobe.d file, then
    update-initramfs -u), the stock kernel's initramfs loads vmw_pvscsi_rs
    and not vmw_pvscsi, and mounts the root file system from target 0 of the
    pvscsi controller. Data written there survives two clean reboots
    (`systemctl reboot`: the shutdown path flushes the disk's cache)."""
    digest = None
    for boot in range(3):
        with root_guest(system, boot) as g:
            src = g.run("findmnt -no SOURCE /").strip()
            dev = src.removeprefix("/dev/")
            assert g.run(f"cat /sys/block/{dev}/device/../../scsi_host/*/proc_name").strip() == RS
            assert g.bound_driver(g.pvscsi_bdf()) == RS
            assert g.run_rc("grep -q '^vmw_pvscsi ' /proc/modules")[0] != 0
            # The module came from the initramfs, before the root was mounted.
            assert g.run_rc("lsinitramfs /boot/initrd.img-$(uname -r) | "
                            "grep -q 'updates/dkms/vmw_pvscsi_rs.ko'")[0] == 0
            if boot == 0:
                g.run("head -c 8M /dev/urandom > /var/tmp/data && sha256sum /var/tmp/data > /var/tmp/data.sum")
                digest = g.run("cat /var/tmp/data.sum").split()[0]
            else:
                assert g.run("sha256sum /var/tmp/data").split()[0] == digest
                g.run("sha256sum -c /var/tmp/data.sum")
            if boot < 2:
                g.shutdown_with("systemctl reboot", timeout=300)
    assert digest and len(digest) == 64


def test_a_mismatch_is_refused_before_anything_is_built(system, tmp_path):
    """scripts/dkms-rust-kbuild, as the package runs it, in the installed
    system: another rustc than the kernel's is refused at once, naming the
    version needed; and Rust build output that does not match the kernel's
    exported symbols (its Module.symvers doctored: `core`'s crate hash
    changed, as another rustc's would be) is refused after regenerating,
    naming both hashes, with no tree left behind."""
    root = system.root
    release = system.release
    helper = "/usr/src/vmw_pvscsi_rs-0.1.0/scripts/dkms-rust-kbuild"
    fake = root / "tmp/rustc-1.98.1"
    fake.write_text("#!/bin/sh\necho 'rustc 1.98.1 (f3a7b3ba1 2026-10-01) (built from a source tarball)'\n")
    fake.chmod(0o755)

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(paths.SCRIPTS / "debian13"), "chroot", str(root), *cmd],
                              capture_output=True, text=True, timeout=1200)

    res = run("env", "RUSTC=/tmp/rustc-1.98.1", helper, f"/usr/src/linux-headers-{release}", "/tmp/kb-rustc")
    assert res.returncode != 0
    assert "install rustc 1.85.1" in res.stderr, res.stderr[-2000:]
    assert not (root / "tmp/kb-rustc").exists()

    res = run("sh", "-c", f"rm -rf /tmp/hdr && cp -a /usr/src/linux-headers-{release} /tmp/hdr && "
              "sed -i 's/Cs2lKf6AS60Zg_4core/Cs0000000000Z_4core/' /tmp/hdr/Module.symvers && "
              "sed -i 's|^KBUILD_OUTPUT=.*|KBUILD_OUTPUT=/tmp/hdr|' /tmp/hdr/Makefile && "
              f"{helper} /tmp/hdr /tmp/kb-symvers")
    assert res.returncode != 0
    assert re.search(r"error: \d+ of the \d+ Rust symbols regenerated for .* are not exported by the kernel "
                     r".*crate hashes here: Cs2lKf6AS60Zg_4core Csb5MLIFMWygY_6kernel, in the kernel's "
                     r"Module.symvers: Cs0000000000Z_4core Csb5MLIFMWygY_6kernel", res.stderr), res.stderr[-2000:]
    assert not (root / "tmp/kb-symvers").exists()
