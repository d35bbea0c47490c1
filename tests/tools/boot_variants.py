#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What two boot settings of the harness cost: boots the debug kernel (no
driver) with the harness's QEMU command as it is ("now"), without the
ACPI PCI hot-plug globals ("pty0": only the BSD ptys off), and without
either ("before"), `--rounds` times in turn, and prints the time from
QEMU's start to the agent, and the console times of the PCI root bridge
and of /init's banner.

    tests/tools/boot_variants.py [--rounds 2]
"""

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.guest import Guest, GuestConfig  # noqa: E402

HOTPLUG = ["PIIX4_PM.acpi-root-pci-hotplug=off", "PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off"]


def without(cmd: list[str], pty: bool, hotplug: bool) -> list[str]:
    """`cmd` without the BSD-pty parameter (pty) and the hot-plug globals (hotplug)."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(cmd):
        if skip:
            skip = False
            continue
        if hotplug and arg == "-global" and i + 1 < len(cmd) and cmd[i + 1] in HOTPLUG:
            skip = True
            continue
        if pty and i > 0 and cmd[i - 1] == "-append":
            arg = arg.replace("pty.legacy_count=0 ", "")
        out.append(arg)
    return out


class Variant(Guest):
    """A guest whose QEMU command drops some of the settings."""

    drop_pty = False
    drop_hotplug = False

    def qemu_command(self) -> list[str]:
        return without(super().qemu_command(), self.drop_pty, self.drop_hotplug)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    variants = {"before": (True, True), "pty0": (False, True), "now": (False, False)}
    for _ in range(args.rounds):
        for name, (pty, hotplug) in variants.items():
            g = Variant(GuestConfig(kconfig="debug", name=f"boot-variant-{name}", c_modules=False),
                        with_rs=False)
            g.drop_pty, g.drop_hotplug = pty, hotplug
            t0 = time.monotonic()
            with g:
                booted = time.monotonic() - t0
                con = g.console()
            banner = re.findall(r"^\[\s*([\d.]+)\] vmw-pvscsi-rs test guest", con, re.M)
            bridge = re.findall(r"^\[\s*([\d.]+)\] ACPI: PCI Root Bridge", con, re.M)
            print(f"{name}: agent after {booted:.1f} s, /init banner at {banner[:1]} s, "
                  f"PCI root bridge at {bridge[:1]} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
