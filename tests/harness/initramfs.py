# SPDX-License-Identifier: GPL-2.0
"""Builds the guest's initramfs.

The guest is a busybox initramfs rather than virtme-ng: it boots in seconds
under TCG, needs no 9p/virtiofs support in the test kernels, and holds exactly
what the tests use (fio, sg3-utils, mkfs.ext4). It is two concatenated cpio
archives, which the kernel unpacks in turn:

* a base archive (busybox, the tools and their shared libraries), cached and
  rebuilt only when one of those binaries changes;
* an overlay per boot with /init, the agent, the test scripts and the modules.

Modules go to /modules, not /lib/modules: nothing in the guest loads a driver
by alias, so the C vmw_pvscsi is only ever loaded when a test asks for it.
"""

import functools
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from . import paths
from .cpio import CpioWriter

# Host binaries copied into the guest, with the shared libraries they link
# (and fio, built by scripts/fio-build: fio()).
TOOLS = [
    "/sbin/mke2fs",
    "/usr/bin/sg_inq",
    "/usr/bin/sg_readcap",
    "/usr/bin/sg_raw",
    "/usr/bin/sg_vpd",
    "/usr/bin/sg_modes",
    "/usr/bin/sg_turs",
    "/usr/bin/sg_luns",
    "/usr/bin/sg_dd",
    "/usr/bin/sg_reset",
    # kmod's modprobe (sbin/modprobe; busybox's is /bin/modprobe): module
    # loading by alias with modprobe.d, as udev does it.
    "/usr/bin/kmod",
]
BUSYBOX = "/bin/busybox"
GUEST_DIR = paths.TOP / "tests" / "guest"


def _libs(binary: str) -> list[str]:
    """Returns the shared libraries (and the loader) `binary` needs."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


@functools.cache
def fio() -> str:
    """The guests' fio: Debian's fio 3.33 built without the engines that
    link Ceph, GlusterFS, RDMA and the like (scripts/fio-build), which were
    84 MB of the initramfs. It is /usr/bin/fio in the guest."""
    return paths._script("fio-build")


def _tools() -> list[tuple[str, str]]:
    """(host path, guest path) of every tool of the base archive."""
    return [(fio(), "/usr/bin/fio"), *((t, t) for t in TOOLS)]


def _base_key() -> str:
    h = hashlib.sha256(b"base-v3")
    for f in [BUSYBOX, *(host for host, _ in _tools())]:
        st = os.stat(f)
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


def base_archive() -> Path:
    """Returns the cached base archive, building it when missing."""
    for f in [BUSYBOX, *(host for host, _ in _tools())]:
        if not os.access(f, os.X_OK):
            raise RuntimeError(f"{f} is missing: run scripts/bootstrap")
    out = paths.CACHE / "initramfs" / f"base-{_base_key()}.cpio"
    if out.exists():
        return out
    w = CpioWriter()
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "mnt",
              "root", "etc", "run"]:
        w.mkdir(d)
    w.chardev("dev/console", 5, 1)
    w.chardev("dev/null", 1, 3, 0o666)
    w.file("bin/busybox", Path(BUSYBOX).read_bytes(), 0o755)
    w.symlink("bin/sh", "busybox")
    seen = set()
    for tool, guest in _tools():
        w.file(guest, Path(tool).read_bytes(), 0o755)
        for lib in _libs(tool):
            if lib not in seen:
                seen.add(lib)
                w.file(lib, Path(lib).resolve().read_bytes(), 0o755)
    w.symlink("sbin/mkfs.ext4", "mke2fs")
    for tool in ("modprobe", "depmod", "modinfo"):
        w.symlink(f"sbin/{tool}", "/usr/bin/kmod")
    w.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    w.file("etc/group", b"root:x:0:\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")  # parallel test workers
    tmp.write_bytes(w.finish())
    tmp.rename(out)
    return out


def overlay_archive(modules: dict[str, Path], extra_root: Path | None = None) -> bytes:
    """Returns the per-boot archive: init, agent, guest scripts, `modules`
    (name in the guest -> .ko on the host) and the files of `extra_root`
    (a staging root: its paths become the guest's)."""
    w = CpioWriter()
    if extra_root is not None:
        for path in sorted(extra_root.rglob("*")):
            rel = str(path.relative_to(extra_root))
            if path.is_symlink():
                continue  # lib/modules/*/build and the like: host paths
            if path.is_dir():
                w.mkdir(rel)
            else:
                # Executables stay executable (a test's helper program).
                w.file(rel, path.read_bytes(), 0o755 if path.stat().st_mode & 0o111 else 0o644)
    w.file("init", (GUEST_DIR / "init").read_bytes(), 0o755)
    for script in sorted(GUEST_DIR.iterdir()):
        if script.is_file() and script.name != "init":
            w.file(f"guest/{script.name}", script.read_bytes(), 0o755)
    w.mkdir("modules")
    for name, ko in modules.items():
        w.file(f"modules/{name}", ko.read_bytes())
    return w.finish()


def build(dest: Path, modules: dict[str, Path], extra_root: Path | None = None) -> Path:
    """Writes the whole initramfs (base + overlay) to `dest`."""
    base = base_archive()
    with open(dest, "wb") as f:
        f.write(base.read_bytes())
        f.write(overlay_archive(modules, extra_root))
    return dest


def root_image(dest: Path, modules: dict[str, Path], size_mb: int = 256,
               extra_root: Path | None = None) -> Path:
    """Writes an ext4 image of the same root file system as `build` (base +
    overlay) to `dest`: the root of a guest that boots from a disk with no
    initramfs (GuestConfig.root_disk)."""
    with tempfile.TemporaryDirectory(prefix="pvscsi-root-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        for archive in (base_archive().read_bytes(), overlay_archive(modules, extra_root)):
            # Extracting device nodes (dev/console, dev/null) needs root, as
            # every guest run here does (QEMU, mkfs).
            subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"], cwd=root,
                           input=archive, check=True)
        dest.unlink(missing_ok=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "root", "-d", str(root), str(dest),
                        f"{size_mb}M"], check=True, capture_output=True)
    return dest
