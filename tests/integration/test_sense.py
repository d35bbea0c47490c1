# SPDX-License-Identifier: GPL-2.0
"""SG_IO through sg3-utils: INQUIRY and READ CAPACITY succeed, and CHECK
CONDITIONs with a data phase reach user space as CHECK CONDITION with
ILLEGAL REQUEST sense.

QEMU reports every data-phase CHECK CONDITION as BTSTAT_DATARUN. The C driver
turns that into DID_ERROR and drops the status; the same cases run on it and
record the difference."""

import pytest

from harness.guest import Disk, Guest, GuestConfig
from harness.scsi import C, RS, load

DISK_MB = 64
LAST_LBA = DISK_MB * 2048 - 1
BEYOND = f"{LAST_LBA + 1:08x}"
# name -> sg_raw CDB (bytes in hex); each fails with ILLEGAL REQUEST on QEMU.
CHECK_CASES = {
    "unsupported-vpd-page": "12 01 80 00 ff 00",  # INQUIRY VPD 0x80: no serial set
    "unsupported-mode-page": "1a 00 2e 00 fc 00",  # MODE SENSE(6) page 0x2e
    "read-beyond-last-lba": "28 00 " + " ".join(BEYOND[i:i + 2] for i in range(0, 8, 2))
    + " 00 00 08 00",  # READ(10), 8 blocks at capacity
}
# sg3-utils exit codes: 5 = ILLEGAL REQUEST, 22 = LBA out of range
# (an ILLEGAL REQUEST as well), 99 = other errors (DID_ERROR here).
ILLEGAL_REQUEST_EXITS = {5, 22}


@pytest.fixture(scope="module", params=[RS, C])
def guest(request, kconfig):
    with Guest(GuestConfig(kconfig=kconfig, disks=[Disk(scsi_id=0, size_mb=DISK_MB)],
                           name=f"sense-{request.param}")) as g:
        g.driver = request.param
        load(g, request.param, 1)
        g.run("for i in $(seq 100); do [ -e /dev/sg0 ] && exit 0; sleep 0.1; done; exit 1")
        yield g


def test_inquiry_and_read_capacity(guest):
    if guest.driver == C:
        pytest.skip("reference cases run on the Rust driver only")
    out = guest.run("sg_inq /dev/sg0")
    assert "QEMU" in out and "QEMU HARDDISK" in out
    out = guest.run("sg_readcap /dev/sg0")
    assert f"Last LBA={LAST_LBA}" in out, out
    assert "Logical block length=512 bytes" in out, out


@pytest.mark.parametrize("case", list(CHECK_CASES))
def test_check_condition_with_data_phase(guest, case):
    rc, out = guest.run_rc(f"sg_raw -r 4096 /dev/sg0 {CHECK_CASES[case]} 2>&1")
    if guest.driver == RS:
        assert rc in ILLEGAL_REQUEST_EXITS, out
        assert "SCSI Status: Check Condition" in out, out
        assert "Sense key: Illegal Request" in out, out
    else:
        # Recorded C driver behaviour: DID_ERROR, status and sense lost.
        assert rc == 99, out
        assert "DID_ERROR" in out, out
        assert "Check Condition" not in out, out
