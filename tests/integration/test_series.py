# SPDX-License-Identifier: GPL-2.0
"""The project as a patch series against Linux 7.3 (issue 30, "The series"):
scripts/series makes it from the project's files (the layer as
rust/kernel/scsi/, its sample in samples/rust/, the driver in
drivers/scsi/vmw_pvscsi_rs/, the documentation, each patch with its
MAINTAINERS lines), and make test's build step (scripts/kernel build intree)
has built it one patch at a time, LLVM with CLIPPY=1, rustfmtcheck and
rustdoc after each patch touching Rust, before any guest. The intree and
builtin guests (test_intree.py, test_root_disk.py) boot kernels built from
the series' last patch.

Here, without a guest: the mailed patches (git format-patch) apply to a
clean 7.3 with `git apply` and give exactly the trees that were built, each
passes `checkpatch.pl --strict` without a warning or check, and
`get_maintainer.pl` sends each to the SCSI and Rust lists."""

import json
import subprocess
from pathlib import Path

from harness import paths

SCSI_LIST = "linux-scsi@vger.kernel.org"
RUST_LIST = "rust-for-linux@vger.kernel.org"


def test_series_applies_was_built_and_passes_checkpatch(tmp_path):
    out = tmp_path / "series"
    res = subprocess.run([str(paths.SCRIPTS / "series"), "check", "--built", "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    report = json.loads((out / "check.json").read_text())
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    patches = report["patches"]
    assert [p["subject"].split(":")[0] for p in patches] == \
        ["rust", "rust", "samples", "scsi", "Documentation"]
    for p in patches:
        assert p["applies"] and p["tree_matches"], p
        assert p["checkpatch"].startswith("total: 0 errors, 0 warnings, 0 checks"), p
        assert p["built"], f"{p['patch']} was not built at its step (scripts/kernel build intree)"
    for p in patches:
        lists = [line for line in p["get_maintainer"] if "@vger.kernel.org" in line]
        assert any(SCSI_LIST in line for line in lists), (p["patch"], lists)
        if p["subject"].startswith(("rust", "samples")):
            assert any(RUST_LIST in line for line in lists), (p["patch"], lists)
    # The cover letter has its subject and text, and names the base release.
    cover = next(out.glob("0000-*.patch")).read_text()
    assert "*** SUBJECT HERE ***" not in cover and "*** BLURB HERE ***" not in cover
    assert "[RFC PATCH 0/5]" in cover and "tested against Linux 7.3" in cover


def test_intree_kernels_are_built_from_the_series():
    """The intree and builtin kernels' build trees name the series' worktree
    as their source (scripts/kernel), so their guests run its code."""
    for variant in ("intree", "builtin"):
        kdir = subprocess.run([str(paths.SCRIPTS / "kernel"), "path", variant], capture_output=True,
                              text=True, check=True).stdout.strip()
        makefile = (Path(kdir) / "Makefile").read_text()
        assert "/series/tree" in makefile, (variant, makefile[:500])
