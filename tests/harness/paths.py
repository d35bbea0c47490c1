# SPDX-License-Identifier: GPL-2.0
"""Where the project's pieces are: the checkout, the cache, kernels, modules."""

import functools
import os
import subprocess
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
SCRIPTS = TOP / "scripts"
CACHE = Path(
    os.environ.get("PVSCSI_RS_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vmw-pvscsi-rs"
)
LOGS = TOP / "build" / "logs"


def _script(*args: str, env: dict | None = None) -> str:
    """Runs a project script, streaming its progress to stderr, and returns stdout."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    res = subprocess.run([str(SCRIPTS / args[0]), *args[1:]], stdout=subprocess.PIPE,
                         text=True, env=full_env)
    if res.returncode != 0:
        raise RuntimeError(f"scripts/{' '.join(args)} failed (exit {res.returncode})")
    return res.stdout.strip()


@functools.cache
def kdir(kconfig: str) -> Path:
    """The kernel build tree of a test-kernel configuration (built if
    missing): debug, perf, perf-inline, kcsan, builtin or intree (the
    variants of scripts/kernel)."""
    return Path(_script("module", "kdir", env={"KCONFIG": kconfig}))


# The kernels whose own build makes vmw_pvscsi_rs.ko (scripts/kernel intree).
INTREE = {"intree", "cfi"}


@functools.cache
def module(kconfig: str) -> Path:
    """The vmw_pvscsi_rs.ko built against that kernel (built if missing):
    out of tree, or by the kernel's own build for an `intree` kernel."""
    if kconfig in INTREE:
        return kdir(kconfig) / "drivers/scsi/vmw_pvscsi_rs/vmw_pvscsi_rs.ko"
    return Path(_script("module", "path", env={"KCONFIG": kconfig}))


@functools.cache
def sample_module(kconfig: str) -> Path:
    """rust_scsi_ram.ko, the SCSI layer's second user (samples/), built
    against that kernel (built if missing)."""
    return Path(_script("module", "sample-path", env={"KCONFIG": kconfig}))


@functools.cache
def kernel_source() -> Path:
    """The unpacked kernel source (for tools/testing/kunit/kunit.py)."""
    return Path((CACHE / "src" / "linux-source-7.3.current").read_text().strip())


@functools.cache
def qemu_vmware() -> Path:
    """QEMU with the VMware mode of its pvscsi device (built if missing:
    scripts/qemu-vmware, tests/qemu/vmware-mode/)."""
    return Path(_script("qemu-vmware", "build"))
