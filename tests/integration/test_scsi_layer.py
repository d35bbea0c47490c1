# SPDX-License-Identifier: GPL-2.0
"""The Rust SCSI host layer (drivers/scsi/rust_scsi/) without PVSCSI: its
second user, rust_scsi_ram (samples/rust_scsi_ram/), a RAM-backed host on a
faux device, serves a disk that the midlayer scans and sd drives like any
other.

What is checked is what a user sees: the disk's identity and size, data
written and read back, the host's sense data on a bad command (through
SG_IO), the host attributes the template defines, typed per-command data
that persists from one use of a command to the next, a clean unload, and
the layer's own KUnit suite (drivers/scsi/rust_scsi/tests.rs)."""

from harness import kunit
from harness.guest import GuestError
from harness.scsi import data_roundtrip, load

MODULE = "rust_scsi_ram"
# The layer's own KUnit suite (drivers/scsi/rust_scsi/tests.rs), compiled
# into its sample only, and its cases.
LAYER_SUITE = "rust_scsi_layer"
LAYER_CASES = 4
DISK_BLOCKS = (16 << 20) // 512


def test_ram_host_serves_a_disk_and_unloads(make_guest, tmp_path):
    with make_guest(pvscsi=False, c_modules=False, samples=True) as g:
        (hctl, dev), = load(g, MODULE, 1).items()
        # The layer's KUnit suite passes, every case of it.
        kunit.check_suite(g, LAYER_SUITE, LAYER_CASES, tmp_path)
        host = hctl.split(":")[0]
        assert g.run(f"cat /sys/block/{dev}/device/model").strip() == "Rust RAM disk"
        assert int(g.run(f"cat /sys/block/{dev}/size")) == DISK_BLOCKS

        data_roundtrip(g, dev, mib=8, seek_mib=4)

        # A READ (10) at the capacity: the host's CHECK CONDITION and sense
        # (ILLEGAL REQUEST, LBA out of range) reach the caller (sg3-utils
        # exits 5 for an ILLEGAL REQUEST, or 22 for this one in particular).
        sg = g.run(f"ls /sys/block/{dev}/device/scsi_generic").strip()
        rc, out = g.run_rc(f"sg_raw -r 512 /dev/{sg} 28 00 00 00 {DISK_BLOCKS >> 8 & 0xff:02x} "
                           f"{DISK_BLOCKS & 0xff:02x} 00 00 01 00 2>&1")
        assert rc in (5, 22), out
        assert "Check Condition" in out and "Illegal Request" in out, out
        assert "Logical block address out of range" in out, out
        # An opcode the host does not implement (WRITE SAME (10)): 5, or 9
        # for an invalid opcode in particular.
        rc, out = g.run_rc(f"sg_raw /dev/{sg} 41 00 00 00 00 00 00 00 01 00 2>&1")
        assert rc in (5, 9), out
        assert "Illegal Request" in out and "Invalid command operation code" in out, out

        # 1,000 single-block reads: more commands than the queue has
        # requests (64 tags, at most 256 scheduler requests), so some
        # request serves several of them.
        g.run(f"dd if=/dev/{dev} of=/dev/null bs=512 count=1000 iflag=direct 2>/dev/null")

        # Host attributes of the template, read through sysfs.
        attrs = f"/sys/class/scsi_host/host{host}"
        commands = int(g.run(f"cat {attrs}/commands"))
        assert commands >= 1000, commands
        # The per-command data (a use count) outlived each use.
        assert int(g.run(f"cat {attrs}/max_command_reuse")) > 1
        assert g.run(f"cat {attrs}/proc_name").strip() == MODULE

        g.rmmod(MODULE)
        assert not g.run(f"ls /sys/class/scsi_host/host{host} 2>/dev/null || true").strip()
        try:
            g.run(f"test ! -e /dev/{dev}")
        except GuestError as e:
            raise AssertionError(f"/dev/{dev} is still there after rmmod") from e
