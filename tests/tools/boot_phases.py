#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a test guest's boot time goes: the seconds from QEMU's start to
the kernel's first console line, to /init, and to the agent, for N boots
of the debug kernel with one pvscsi disk (the harness's own guest).

    tests/tools/boot_phases.py [--boots N] [--memory-mb M]

Prints one line per boot and writes build/boot-phases.json."""

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import initramfs, paths  # noqa: E402
from harness.guest import Disk, Guest, GuestConfig  # noqa: E402

MARKS = {"kernel": "Linux version", "init": "Run /init", "agent": "test guest:"}


def boot(kconfig: str, memory_mb: int) -> dict:
    g = Guest(GuestConfig(kconfig=kconfig, disks=[Disk(scsi_id=0)], name="boot-phases",
                          memory_mb=memory_mb))
    g.dir.mkdir(parents=True, exist_ok=True)
    initramfs.build(g.dir / "initrd.cpio", g._modules(), g.cfg.extra_root)
    stamps: dict[str, float] = {}
    start = time.monotonic()

    def watch() -> None:
        while len(stamps) < len(MARKS):
            text = g.console_path.read_text(errors="replace") if g.console_path.exists() else ""
            for key, mark in MARKS.items():
                if mark in text and key not in stamps:
                    stamps[key] = round(time.monotonic() - start, 2)
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    build = initramfs.build
    initramfs.build = lambda *a, **k: None  # built above, outside the timing
    try:
        g.start()
    finally:
        initramfs.build = build
    stamps["agent_ready"] = round(time.monotonic() - start, 2)
    g.stop()
    return stamps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boots", type=int, default=3)
    ap.add_argument("--memory-mb", type=int, default=2048)
    ap.add_argument("--kconfig", default="debug")
    args = ap.parse_args()
    runs = []
    for i in range(args.boots):
        r = boot(args.kconfig, args.memory_mb)
        runs.append(r)
        print(f"boot {i + 1}: seconds after QEMU's start: {r}", flush=True)
    out = paths.TOP / "build" / "boot-phases.json"
    out.write_text(json.dumps({"kconfig": args.kconfig, "memory_mb": args.memory_mb,
                               "boots": runs}, indent=2) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
