# SPDX-License-Identifier: GPL-2.0
"""Polled completions (issue 10): with `poll_queues=1` the host has a poll
queue, io_uring's IOPOLL (fio `hipri`) submits through it and reaps its
completions with `mq_poll`, and the driver masks the completion interrupt
while every command in flight is polled.

What the device and the user see: fio's data verifies, QEMU sends (almost)
no MSI message for polled I/O (its `pvscsi_update_irq_msi` trace event) and
the guest's interrupt count barely moves; interrupt-driven I/O on the same
disk at the same time verifies too. Neither the C vmw_pvscsi nor
virtio_scsi has poll queues."""

import re

from harness.guest import Disk
from harness.scsi import RS, fio_errors, fio_json, load

IOS = 2000
MSI = "pvscsi_update_irq_msi"


def interrupts(g) -> int:
    """The driver's interrupts so far, over every CPU."""
    line = g.run(f"grep {RS} /proc/interrupts")
    return sum(int(x) for x in re.findall(r"\s(\d+)", line.split(":", 1)[1].split("PCI")[0]))


def test_polled_io_needs_no_interrupt(make_guest):
    with make_guest(disks=[Disk(scsi_id=0, size_mb=64)], trace=[MSI]) as g:
        ((hctl, dev),) = load(g, RS, 1, "poll_queues=1").items()
        host = hctl.split(":")[0]
        assert g.run(f"cat /sys/class/scsi_host/host{host}/poll_queues").strip() == "1"
        assert g.run(f"cat /sys/block/{dev}/queue/io_poll").strip() == "1"

        # Polled I/O alone: random writes, every block verified.
        mark, irqs = len(g.trace()), interrupts(g)
        doc = fio_json(g, f"--name=polled --filename=/dev/{dev} --ioengine=io_uring --hipri=1 "
                          "--direct=1 --rw=randwrite --bs=4k --iodepth=8 --size=8M "
                          f"--number_ios={IOS} --verify=crc32c --do_verify=1 --verify_fatal=1",
                       timeout=600)
        assert fio_errors(doc) == 0
        job = doc["jobs"][0]
        ios = job["write"]["total_ios"] + job["read"]["total_ios"]
        msis = g.trace()[mark:].count(MSI)
        irq_delta = interrupts(g) - irqs
        print(f"polled: {ios} I/Os, {msis} MSI messages from the device, "
              f"{irq_delta} guest interrupts")
        assert ios >= IOS
        assert msis / ios < 0.05, (msis, ios)
        assert irq_delta / ios < 0.05, (irq_delta, ios)

        # Polled and interrupt-driven I/O at once, on two halves of the disk.
        mark = len(g.trace())
        doc = fio_json(g, "--direct=1 --rw=randwrite --bs=4k --iodepth=8 --size=16M "
                          "--verify=crc32c --do_verify=1 --verify_fatal=1 "
                          f"--name=polled --filename=/dev/{dev} --ioengine=io_uring --hipri=1 "
                          f"--name=irq --filename=/dev/{dev} --ioengine=libaio --offset=32M",
                       timeout=600)
        assert fio_errors(doc) == 0
        for job in doc["jobs"]:
            assert job["write"]["io_bytes"] > 0 and job["read"]["io_bytes"] > 0, job["jobname"]
        # The interrupt-driven job needed interrupts, and got them.
        assert g.trace()[mark:].count(MSI) > 0
