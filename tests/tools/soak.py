# SPDX-License-Identifier: GPL-2.0
"""make soak: the full lying-device campaign, Rust driver and C driver.

The Rust driver gets `--injections` corruptions (default 100,000) of every
class, in rounds of `--round` corruptions per guest (a fresh guest each
round, so that one failure does not hide the rest), each round with its own
seed. Each round must end with no kernel report, no error on the verified
controller, the lying controller serving verified I/O again after a host
reset, and hot-plug working on it.

The C driver gets, class by class, a fresh guest and up to `--c-per-class`
corruptions of that class, and the record of what happened to it (it
trusts the device's context ids: expect crashes).

Progress goes to stdout; results to build/soak/<time>/results.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests"))

from harness import adversity  # noqa: E402
from harness.guest import Guest, GuestConfig, GuestError  # noqa: E402
from harness.pvring import Injector  # noqa: E402
from harness.scsi import C, RS  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def one(driver: str, injections: int, seed: int, classes: list[str] | None, name: str,
        budget_s: float) -> dict:
    """One guest, one campaign; never raises."""
    g = Guest(GuestConfig(name=name, **adversity.campaign_config()))
    start = time.monotonic()
    try:
        with g:
            if driver != RS:
                g.allow_reports = True
            res = adversity.campaign(g, driver, injections, seed=seed, classes=classes,
                                     budget_s=budget_s, progress=log)
            out = dataclasses.asdict(res)
            # The guest's ring layout and disks: of no use in the report.
            out.pop("setup", None)
            out["uncounted"] = res.uncounted() if driver == RS else []
            out["reports"] = [] if driver != RS else g.reports()
    except (GuestError, OSError) as e:
        out = {"driver": driver, "seed": seed, "injected": {}, "error": str(e)[:2000],
               "crashed": True}
    out["wall_s"] = round(time.monotonic() - start, 1)
    out["ok"] = bool(driver == RS and not out.get("crashed") and not out.get("error")
                     and not out.get("hung") and not out.get("notes")
                     and out.get("verify_failures") == 0 and out.get("recovered")
                     and out.get("hotplug_after") and not out.get("uncounted")
                     # A live disk the driver removed is a disk lost.
                     and not out.get("disks_removed"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--injections", type=int, default=100_000, help="Rust driver, in all")
    ap.add_argument("--round", type=int, default=20_000, help="corruptions per guest")
    ap.add_argument("--round-seconds", type=float, default=4 * 3600,
                    help="longest a Rust round injects (it ends earlier at --round corruptions)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--c-per-class", type=int, default=50)
    ap.add_argument("--skip-c", action="store_true")
    ap.add_argument("--skip-rs", action="store_true")
    args = ap.parse_args()
    out = TOP / "build" / "soak" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    doc: dict = {"command": " ".join(sys.argv), "rs_rounds": [], "c_classes": []}
    path = out / "results.json"

    def save() -> None:
        path.write_text(json.dumps(doc, indent=1) + "\n")

    done = 0
    n = 0
    while not args.skip_rs and done < args.injections:
        want = min(args.round, args.injections - done)
        log(f"Rust driver round {n + 1}: {want} corruptions (seed {args.seed + n}); "
            f"{done}/{args.injections} so far")
        r = one(RS, want, args.seed + n, None, f"soak-rs-{n}", budget_s=args.round_seconds)
        doc["rs_rounds"].append(r)
        got = sum(r.get("injected", {}).values())
        done += got
        n += 1
        log(f"  round {n}: {got} injected in {r.get('seconds', 0):.0f} s, ok={r['ok']}, "
            f"counters {r.get('counters')}, verify passes {r.get('verify_passes')}, "
            f"failures {r.get('verify_failures')}, hung {r.get('hung')}, "
            f"disks brought back {r.get('revived')}, load restarts {len(r.get('load_exits', []))}, "
            f"disks removed {r.get('disks_removed')}, "
            f"notes {str(r.get('notes'))[:300]}")
        save()
        if got == 0:
            log("  no corruption could be injected: stopping")
            break
    for cls in ([] if args.skip_c else Injector.CLASSES):
        log(f"C driver, class {cls}: up to {args.c_per_class} corruptions")
        r = one(C, args.c_per_class, args.seed, [cls], f"soak-c-{cls}", budget_s=900)
        r["class"] = cls
        doc["c_classes"].append(r)
        log(f"  {cls}: crashed={r.get('crashed')} after {sum(r.get('injected', {}).values())} "
            f"corruption(s): {(r.get('crash') or [''])[0]}")
        save()
    rs = doc["rs_rounds"]
    doc["summary"] = {
        "rs_injected": sum(sum(r.get("injected", {}).values()) for r in rs),
        "rs_by_class": {c: sum(r.get("injected", {}).get(c, 0) for r in rs) for c in Injector.CLASSES},
        "rs_rounds_ok": sum(1 for r in rs if r["ok"]),
        "rs_rounds": len(rs),
        "rs_counters": {k: sum(r.get("counters", {}).get(k, 0) for r in rs)
                        for k in ("bad_completions", "stale_completions", "bad_messages",
                                  "bad_submissions", "lost_commands")},
        "rs_hung_rounds": sum(1 for r in rs if r.get("hung")),
        "rs_revived": sum(r.get("revived", 0) for r in rs),
        "rs_load_restarts": sum(len(r.get("load_exits", [])) for r in rs),
        "rs_disks_removed": sum(r.get("disks_removed", 0) for r in rs),
        "rs_verify_passes": sum(r.get("verify_passes", 0) for r in rs),
        "rs_verify_failures": sum(r.get("verify_failures", 0) for r in rs),
        "c_crashed_classes": [r["class"] for r in doc["c_classes"] if r.get("crashed")],
    }
    save()
    log(f"summary: {json.dumps(doc['summary'])}")
    log(f"results: {path}")
    return 0 if all(r["ok"] for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
