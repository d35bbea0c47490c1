# SPDX-License-Identifier: GPL-2.0
"""Guest-side SCSI helpers for the integration tests: waiting for disks,
checking data, running fio."""

from __future__ import annotations

import json
import subprocess
import time

from .guest import Guest, GuestError

RS = "vmw_pvscsi_rs"
C = "vmw_pvscsi"


def wait_for(what: str, cond, timeout: float = 60.0, step: float = 0.2):
    """Polls `cond` every `step` seconds until it returns something true;
    returns that, or raises GuestError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise GuestError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def host_disks(g: Guest, proc_name: str) -> dict[str, str]:
    """`H:C:T:L` -> block device name, for every ready disk of hosts of `proc_name`."""
    out = g.run(
        "for h in /sys/class/scsi_host/host*; do "
        "  [ -e \"$h/proc_name\" ] || continue; "
        f"  [ \"$(cat $h/proc_name)\" = {proc_name} ] || continue; "
        "  n=${h##*host}; "
        "  for d in /sys/class/scsi_disk/$n:*; do "
        # Ready: the block device node exists and its capacity is known.
        "    b=$(ls $d/device/block 2>/dev/null) || continue; "
        "    [ -b /dev/$b ] && [ \"$(cat /sys/block/$b/size)\" -gt 0 ] && echo \"${d##*/} $b\"; "
        "  done; "
        "done 2>/dev/null; true")
    return dict(line.split() for line in out.splitlines() if line.strip())


def targets(disks: dict[str, str]) -> list[int]:
    """Sorted target ids of `host_disks()` output."""
    return sorted(int(hctl.split(":")[2]) for hctl in disks)


def wait_disks(g: Guest, proc_name: str, count: int, timeout: float = 60.0) -> dict[str, str]:
    """Waits until hosts of `proc_name` have exactly `count` disks with block devices."""
    deadline = time.monotonic() + timeout
    while True:
        disks = host_disks(g, proc_name)
        if len(disks) == count:
            return disks
        if time.monotonic() > deadline:
            raise GuestError(f"{proc_name}: {len(disks)} disks ({disks}) instead of {count} "
                             f"after {timeout} s")
        time.sleep(0.2)


def load(g: Guest, module: str, disks: int, params: str = "", timeout: float = 120.0) -> dict[str, str]:
    """Loads a driver and waits for its `disks` disks."""
    g.insmod(module, params, timeout=timeout)
    return wait_disks(g, module, disks, timeout=timeout)


def fio_json(g: Guest, args: str, timeout: float = 600.0) -> dict:
    """Runs fio with JSON output; returns the parsed document."""
    out = g.run(f"fio --output-format=json {args}", timeout=timeout)
    return json.loads(out[out.index("{"):])


def fio_errors(doc: dict) -> int:
    """Sum of the errors of every job of a fio JSON document."""
    return sum(job.get("error", 0) for job in doc["jobs"])


def roundtrip_script(dev: str, mib: int = 4, seek_mib: int = 0) -> str:
    """A guest script that writes random data directly to /dev/`dev` and
    reads it back; it fails unless the data comes back identical."""
    return (f"dd if=/dev/urandom of=/tmp/pattern bs=1M count={mib} 2>/dev/null && "
            f"dd if=/tmp/pattern of=/dev/{dev} bs=1M seek={seek_mib} oflag=direct conv=fsync 2>/dev/null && "
            f"dd if=/dev/{dev} of=/tmp/readback bs=1M skip={seek_mib} count={mib} iflag=direct 2>/dev/null && "
            "cmp /tmp/pattern /tmp/readback")


def data_roundtrip(g: Guest, dev: str, mib: int = 4, seek_mib: int = 0) -> None:
    """Writes random data directly to /dev/`dev` and reads it back identical."""
    g.run(roundtrip_script(dev, mib, seek_mib))


def hot_add_null(mon, node: str, target: int, size_mb: int = 32, bus: str = "pv0",
                 latency_ms: int = 0) -> str:
    """Hot-adds, through the QMP monitor `mon`, a null-co disk (reads give
    zeroes; each request takes `latency_ms`) of `size_mb` MiB as node
    `node` at `target` of controller `bus`; returns its device id,
    dev-<node>, for device_del."""
    mon.cmd("blockdev-add", **{"driver": "null-co", "node-name": node, "size": size_mb << 20,
                               "read-zeroes": True, "latency-ns": latency_ms * 1_000_000})
    mon.cmd("device_add", **{"driver": "scsi-hd", "bus": f"{bus}.0", "scsi-id": target, "lun": 0,
                             "drive": node, "id": f"dev-{node}"})
    return f"dev-{node}"


def background(cmd: str, tag: str) -> str:
    """A guest script that starts `cmd` in the background: its output in
    /tmp/<tag>.log, its exit status in /tmp/<tag>.rc once it ends, and in
    /tmp/<tag>.pid a process that lives exactly as long as `cmd` (for
    wait_inflight and wait_background)."""
    return (f"rm -f /tmp/{tag}.rc; ({cmd}; echo $? > /tmp/{tag}.rc) > /tmp/{tag}.log 2>&1 < /dev/null & "
            f"echo $! > /tmp/{tag}.pid")


def wait_background(g: Guest, tag: str, timeout: float = 600.0) -> None:
    """Waits for the command background() started as `tag` and checks that
    it exited with status 0 (saying what it printed otherwise)."""
    g.run(f"while kill -0 $(cat /tmp/{tag}.pid) 2>/dev/null; do sleep 0.2; done", timeout=timeout)
    rc = g.run(f"cat /tmp/{tag}.rc 2>/dev/null || echo none").strip()
    assert rc == "0", f"`{tag}` exited with status {rc}:\n" + g.run(f"tail -n 20 /tmp/{tag}.log; true")


def start_polled_job(g: Guest, dev: str, tag: str, iodepth: int, runtime_s: int,
                     offset_mb: int = 0) -> None:
    """Starts, in the background, an io_uring IOPOLL (fio `hipri`) random
    write-and-verify job of 8 MiB at `offset_mb` of /dev/`dev`, for
    `runtime_s` seconds of the guest's waking time (verifying as it goes:
    verify_backlog), and waits until it has commands in flight."""
    g.run(background(f"fio --name={tag} --filename=/dev/{dev} --ioengine=io_uring --hipri=1 --direct=1 "
                     f"--rw=randwrite --bs=4k --iodepth={iodepth} --offset={offset_mb}M --size=8M "
                     f"--time_based --runtime={runtime_s} --verify=crc32c --verify_backlog=64 "
                     f"--verify_fatal=1 --output-format=json --output=/tmp/{tag}.json", tag))
    wait_inflight(g, dev, f"/tmp/{tag}.pid", f"/tmp/{tag}.log")


def finish_polled_job(g: Guest, tag: str) -> dict:
    """Waits for the job of start_polled_job and checks its exit: no error,
    data written and read back. Returns fio's JSON document."""
    wait_background(g, tag, 600)
    text = g.run(f"cat /tmp/{tag}.json")
    assert "{" in text, g.run(f"cat /tmp/{tag}.log")
    doc = json.loads(text[text.index("{"):])
    assert fio_errors(doc) == 0, g.run(f"cat /tmp/{tag}.log")
    job = doc["jobs"][0]
    assert job["write"]["io_bytes"] > 0 and job["read"]["io_bytes"] > 0, job
    return doc


def start_verify(g: Guest, devs: list[str], tag: str, size_mb: int = 8) -> None:
    """Starts fio write+verify passes on `devs`, repeated until /tmp/<tag>.stop
    exists; each pass writes its JSON report to /tmp/<tag>-<n>.json and its
    exit status to /tmp/<tag>-<n>.rc."""
    jobs = " ".join(f"--name={d} --filename=/dev/{d}" for d in devs)
    g.run(f"rm -f /tmp/{tag}.stop /tmp/{tag}-*.json /tmp/{tag}-*.rc; "
          f"(n=0; while [ ! -e /tmp/{tag}.stop ]; do n=$((n+1)); "
          "fio --direct=1 --ioengine=libaio --rw=randwrite --bs=4k --iodepth=16 "
          f"--size={size_mb}M --verify=crc32c --do_verify=1 --verify_fatal=1 "
          f"--output-format=json --output=/tmp/{tag}-$n.json {jobs} > /dev/null 2>&1; "
          f"echo $? > /tmp/{tag}-$n.rc; "
          f"done; touch /tmp/{tag}.done) > /dev/null 2>&1 &")


def stop_verify(g: Guest, tag: str, size_mb: int = 8) -> int:
    """Stops the passes of start_verify; checks every report (no error, all
    data written and read back); returns the number of passes."""
    g.run(f"touch /tmp/{tag}.stop; while [ ! -e /tmp/{tag}.done ]; do sleep 0.5; done", timeout=600)
    names = g.run(f"ls /tmp/{tag}-*.json").split()
    assert names, "fio never ran"
    for name in names:
        rc = g.run(f"cat {name.removesuffix('.json')}.rc").strip()
        assert rc == "0", f"fio pass {name} exited with {rc}"
        text = g.run(f"cat {name}")
        doc = json.loads(text[text.index("{"):])
        for job in doc["jobs"]:
            assert job["error"] == 0, (name, job["jobname"], job["error"])
            assert job["write"]["io_bytes"] == size_mb << 20, (name, job["jobname"])
            assert job["read"]["io_bytes"] == size_mb << 20, (name, job["jobname"])
    return len(names)


def wait_inflight(g: Guest, dev: str, pidfile: str | None = None, log: str | None = None) -> None:
    """Waits until `dev` has commands in flight (up to 90 s of guest time,
    read from the guest's clock: a loaded debug guest runs the loop far
    slower than the host's clock would suggest).
    With `pidfile`, stops waiting as soon as the process issuing the I/O has
    exited. Failing, says what the guest saw: the disk's in-flight and I/O
    counts, `log` (the I/O tool's output) and the end of the kernel log.

    The disk's counts are sampled with shell builtins only (`read`, `[`,
    arithmetic), a few hundred times between two looks at the clock and the
    process: a loop that forked `cat`, `date` and `sleep` for every sample
    took one sample in 0.6 s on a debug guest and missed the whole of
    test_eh's fio run in CI (2026-12-03), which has commands in flight only
    a few per cent of its 12 s."""
    gone = (f"[ -n \"$pid\" ] && ! kill -0 $pid 2>/dev/null && exit 2; " if pidfile else "")
    rc, _ = g.run_rc((f"pid=$(cat {pidfile} 2>/dev/null); " if pidfile else "")
                     + "end=$(($(date +%s) + 90)); while [ $(date +%s) -lt $end ]; do "
                     "n=0; while [ $n -lt 400 ]; do "
                     f"read r w < /sys/block/{dev}/inflight; "
                     "[ $((r + w)) -gt 0 ] && exit 0; n=$((n + 1)); done; "
                     + gone + "done; exit 1",
                     timeout=120)
    if rc == 0:
        return
    _, seen = g.run_rc(f"echo inflight: $(cat /sys/block/{dev}/inflight); "
                       f"echo stat: $(cat /sys/block/{dev}/stat); "
                       + (f"echo '--- {log}'; tail -n 30 {log}; " if log else "")
                       + "echo '--- dmesg'; dmesg | tail -n 30", timeout=60)
    why = "the I/O process exited first" if rc == 2 else "none within 90 s"
    raise AssertionError(f"no command in flight on {dev} ({why}):\n{seen}")


def root_disk_io_and_poweroff(g: Guest) -> subprocess.CompletedProcess:
    """For a guest whose root file system is its disk image
    (GuestConfig.root_disk): writes 16 MiB to /data.bin and reads them back
    past the page cache, remounts / read-only, powers off, and returns
    `e2fsck -fn` of the image, run on the host."""
    g.run("dd if=/dev/urandom of=/data.bin bs=1M count=16 2>/dev/null && "
          "sha256sum /data.bin > /data.sum && sync && "
          "echo 3 > /proc/sys/vm/drop_caches && sha256sum -c /data.sum", timeout=300)
    g.shutdown_with("sync; mount -o remount,ro / && poweroff -f")
    return subprocess.run(["e2fsck", "-fn", str(g.dir / "root.img")], capture_output=True,
                          text=True)


def reset_storm(g: Guest, a: str, b: str, rounds: int) -> float:
    """`rounds` rounds of device, target, bus and host resets (sg_reset -d
    -t -b -H) on disks `a` and `b` of one controller, one loop per disk,
    both at once, in the guest: resets of the two targets race each other
    (and the completions of the I/O they cancel). Every reset must succeed
    without escalating (-N). Returns the seconds it took."""
    start = time.monotonic()
    g.run("rm -f /tmp/storm.err /tmp/storm.done.*; "
          f"for d in {a} {b}; do (for r in $(seq {rounds}); do for f in -d -t -b -H; do "
              # O_NONBLOCK (as sg_reset opens) gets EAGAIN while the other
              # loop's reset is in progress (scsi_host_in_recovery counts
              # tmf_in_progress): try again then. sg_reset words it
              # "Resource temporarily unavailable" or, seen once on the
              # kcsan kernel, "try again later, may be resetting now".
              "n=0; until out=$(sg_reset -N $f /dev/$d 2>&1); do "
              "case \"$out\" in *'temporarily unavailable'*|*'may be resetting now'*) "
              "n=$((n+1)); "
              "[ $n -lt 3000 ] && { sleep 0.1; continue; } ;; esac; "
              "echo \"$d round $r: sg_reset $f failed: $out\" >> /tmp/storm.err; break; done; "
          "done; done; touch /tmp/storm.done.$d) > /dev/null 2>&1 & done; "
          f"while [ ! -e /tmp/storm.done.{a} ] || [ ! -e /tmp/storm.done.{b} ]; do sleep 0.5; done; "
          "! cat /tmp/storm.err 2>/dev/null", timeout=300 * rounds)
    return time.monotonic() - start
