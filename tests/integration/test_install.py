# SPDX-License-Identifier: GPL-2.0
"""Installing the module (issue 11): `make install`/`make uninstall` into a
staging root (INSTALL_MOD_PATH) against the cached test kernel, the checks
that refuse a kernel tree the module cannot be built for, the carrying over
of the C driver's settings and DKMS run on the host; the choice between
vmw_pvscsi and vmw_pvscsi_rs that the installed modprobe.d file makes is
shown in a guest booted with the installed module tree."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import paths
from harness.guest import Disk
from harness.scsi import C, RS, data_roundtrip, wait_disks

MODULE_REL = "drivers/scsi/vmw_pvscsi_rs/vmw_pvscsi_rs.ko"


def make(target: str, **env: str) -> subprocess.CompletedProcess:
    """Runs `make <target>` at the top of the checkout with `env` added,
    for the kernel the tests run on (PVSCSI_KCONFIG) unless KDIR says
    otherwise."""
    full = dict(os.environ)
    full["KCONFIG"] = os.environ.get("PVSCSI_KCONFIG", "debug")
    full.update(env)
    return subprocess.run(["make", "-s", "--no-print-directory", target], cwd=paths.TOP, env=full,
                          capture_output=True, text=True, timeout=1800)


def errors(res: subprocess.CompletedProcess) -> str:
    """The `error:` lines a script printed."""
    return "\n".join(line for line in res.stderr.splitlines() if line.startswith("error:"))


@pytest.fixture
def kdir(kconfig) -> Path:
    return paths.kdir(kconfig)


def test_install_and_uninstall(tmp_path, kdir):
    """`make install PREFER_RS=1` puts the module under updates/ of the
    kernel's module tree with a depmod index that finds it by its PCI
    alias, and a modprobe.d file that blacklists vmw_pvscsi and carries its
    settings over; `make uninstall` takes all of it back."""
    release = (kdir / "include/config/kernel.release").read_text().strip()
    root = tmp_path / "root"
    conf_dir = root / "etc/modprobe.d"
    conf_dir.mkdir(parents=True)
    (conf_dir / "local.conf").write_text(
        "# A C driver setting, and one for another module.\n"
        "options vmw_pvscsi ring_pages=16 \\\n  disable_msi\n"
        "options sd_mod foo=1\n")
    res = make("install", INSTALL_MOD_PATH=str(root), PREFER_RS="1", PVSCSI_CMDLINE="")
    assert res.returncode == 0, res.stderr[-2000:]
    mods = root / "lib/modules" / release
    ko = mods / "updates" / MODULE_REL
    assert ko.is_file()
    dep = (mods / "modules.dep").read_text()
    assert f"updates/{MODULE_REL}:" in dep, dep
    alias = (mods / "modules.alias").read_text()
    assert re.search(r"^alias pci:v000015ADd000007C0sv\*sd\*bc\*sc\*i\* vmw_pvscsi_rs$", alias, re.M), alias
    conf = (conf_dir / "vmw_pvscsi_rs.conf").read_text()
    assert re.search(r"^blacklist vmw_pvscsi$", conf, re.M), conf
    # A bare boolean is written out: the kernel crate takes no bare flags.
    assert re.search(r"^options vmw_pvscsi_rs ring_pages=16 disable_msi=Y$", conf, re.M), conf
    info = subprocess.run(["modinfo", "-b", str(root), "-k", release, "vmw_pvscsi_rs"],
                          capture_output=True, text=True, check=True).stdout
    assert "parm:           ring_pages:" in info, info

    res = make("uninstall", INSTALL_MOD_PATH=str(root))
    assert res.returncode == 0, res.stderr[-2000:]
    assert not ko.exists() and not (conf_dir / "vmw_pvscsi_rs.conf").exists()
    assert "vmw_pvscsi_rs" not in (mods / "modules.dep").read_text()
    assert (conf_dir / "local.conf").exists()
    # Again: nothing to do, and it says so.
    res = make("uninstall", INSTALL_MOD_PATH=str(root))
    assert res.returncode == 0 and "nothing of vmw_pvscsi_rs is installed" in res.stderr, res.stderr


def fake_tree(dest: Path, real: Path, edit=None, drop: str | None = None) -> Path:
    """A kernel tree that looks built: the real tree's configuration and
    the files the checks look for (empty), `edit` applied to .config and
    auto.conf, `drop` left out."""
    (dest / "include/config").mkdir(parents=True)
    for rel in (".config", "include/config/auto.conf", "include/config/kernel.release"):
        text = (real / rel).read_text()
        (dest / rel).write_text(edit(text) if edit and rel != "include/config/kernel.release" else text)
    for rel in ("rust/libkernel.rmeta", "rust/libmacros.so", "rust/libpin_init.rmeta", "Module.symvers",
                "scripts/mod/modpost"):
        if rel != drop:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_text("")
    return dest


@pytest.mark.parametrize("case,edit,drop,expect", [
    ("no-rust", lambda t: t.replace("CONFIG_RUST=y", "# CONFIG_RUST is not set"), None,
     "built without CONFIG_RUST=y"),
    ("headers-only", None, "rust/libkernel.rmeta", "lacks the kernel's Rust build artefacts (rust/libkernel.rmeta)"),
    ("other-rustc", lambda t: re.sub(r"rustc \d+\.\d+\.\d+ \([^)]*\)", "rustc 1.78.0 (9b00956e5 2024-04-29)", t),
     None, "was built with 'rustc 1.78.0 (9b00956e5 2024-04-29)'"),
    # A gcc-built kernel (Debian's) is fine, with its gcc installed.
    ("gcc-missing", lambda t: re.sub(r'CONFIG_CC_VERSION_TEXT=.*',
                                     'CONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-99 (Debian 99.1.0-1) 99.1.0"',
                                     t.replace("CONFIG_CC_IS_CLANG=y", "CONFIG_CC_IS_GCC=y")),
     None, "was built with x86_64-linux-gnu-gcc-99, which is not installed"),
    # Before, kbuild then built nothing and said nothing.
    ("built-in", lambda t: t + "CONFIG_SCSI_VMW_PVSCSI_RUST=y\n", None, "has vmw_pvscsi_rs built in"),
])
def test_unusable_kernel_tree_is_refused(tmp_path, kdir, case, edit, drop, expect):
    """A kernel tree the module cannot be built for, or whose kernel
    could not load it, is refused before kbuild runs, with a message that
    names what is missing and what to do (a distribution's header package
    has no Rust artefacts; a kernel built by another rustc is the most
    common failure of Rust modules)."""
    tree = fake_tree(tmp_path / case, kdir, edit, drop)
    for target in ("modules", "install"):
        res = make(target, KDIR=str(tree), INSTALL_MOD_PATH=str(tmp_path / "root"))
        assert res.returncode != 0
        assert expect in errors(res), res.stderr[-1500:]
    assert not (tmp_path / "root").exists()


def test_settings_of_the_c_driver_are_carried_over(tmp_path):
    """scripts/migrate-settings: every vmw_pvscsi option of modprobe.d and
    the kernel command line becomes one for vmw_pvscsi_rs (same names),
    with a note for each; unknown ones are dropped with a reason; a command
    line setting also gets the advice to rewrite it for a built-in driver."""
    d = tmp_path / "etc/modprobe.d"
    d.mkdir(parents=True)
    (d / "a.conf").write_text("options vmw-pvscsi cmd_per_lun=32 bogus=1 # depth\n"
                              "options vmw_pvscsi_rs ring_pages=4\n")
    res = subprocess.run([str(paths.SCRIPTS / "migrate-settings"), str(tmp_path)], capture_output=True,
                         text=True, env=dict(os.environ, PVSCSI_CMDLINE="ro vmw_pvscsi.msg_ring_pages=2 quiet"))
    assert res.returncode == 0, res.stderr
    assert res.stdout == "options vmw_pvscsi_rs cmd_per_lun=32 msg_ring_pages=2\n", res.stdout
    assert "bogus=1 is not a parameter of either driver; dropped" in res.stderr, res.stderr
    assert "vmw_pvscsi_rs.msg_ring_pages=2" in res.stderr, res.stderr
    # Nothing to carry over: nothing printed.
    empty = tmp_path / "empty"
    empty.mkdir()
    res = subprocess.run([str(paths.SCRIPTS / "migrate-settings"), str(empty)], capture_output=True,
                         text=True, env=dict(os.environ, PVSCSI_CMDLINE=""))
    assert res.returncode == 0 and res.stdout == "" and res.stderr == "", res



def bindgen() -> str:
    """The bindgen that scripts/bootstrap installed in the cache."""
    found = sorted((paths.CACHE / "tools").glob("bindgen-*/bin/bindgen"))
    assert found, "no bindgen in the cache: run scripts/bootstrap"
    return str(found[-1])


def test_dkms_add_build_install_autoinstall_remove(tmp_path, kdir):
    """DKMS for real, relocated under tmp_path: the kernel tree is
    installed as lib/modules/<release>/build of a staging root. A kernel
    without CONFIG_RUST is excluded by BUILD_EXCLUSIVE_CONFIG (nothing
    built, and scripts/dkms says why); `scripts/dkms install` copies the
    sources, runs dkms add, build and install, and the module lands in
    updates/dkms with the kernel's vermagic; after `dkms remove -k` and
    `dkms add`, `dkms autoinstall` (what a new kernel's package runs) builds and installs it
    again; `scripts/dkms remove` takes everything back."""
    release = (kdir / "include/config/kernel.release").read_text().strip()
    modules = tmp_path / "root/lib/modules"
    (modules / release).mkdir(parents=True)
    (modules / release / "build").symlink_to(kdir)
    src = tmp_path / "src"
    (tmp_path / "tree").mkdir()
    common = [f"--dkmstree={tmp_path / 'tree'}", f"--sourcetree={src}", f"--installtree={modules}",
              "--no-depmod"]
    env = dict(os.environ, SOURCETREE=str(src), BINDGEN=bindgen())

    def script(*args: str, tree: Path = kdir) -> subprocess.CompletedProcess:
        opts = " ".join(common[:1] + common[2:] + [f"--kernelsourcedir={tree}"])
        return subprocess.run([str(paths.SCRIPTS / "dkms"), *args], env=dict(env, DKMS_OPTS=opts),
                              capture_output=True, text=True, timeout=1200)

    def dkms(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["dkms", *args, *common, f"--kernelsourcedir={kdir}"], env=env,
                              capture_output=True, text=True, timeout=1200)

    def status() -> str:
        return dkms("status", "vmw_pvscsi_rs").stdout.strip()

    ko = modules / release / "updates/dkms/vmw_pvscsi_rs.ko"
    no_rust = fake_tree(tmp_path / "no-rust", kdir, lambda t: t.replace("CONFIG_RUST=y", "# CONFIG_RUST is not set"))
    res = script("install", release, tree=no_rust)
    assert res.returncode != 0 and "BUILD_EXCLUSIVE_CONFIG" in res.stderr, res
    assert not ko.exists()

    res = script("install", release)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert ko.is_file()
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(ko)], capture_output=True, text=True,
                              check=True).stdout
    assert vermagic.startswith(release + " "), vermagic
    assert status() == f"vmw_pvscsi_rs/0.1.0, {release}, x86_64: installed", status()
    # Only the files the module is built from were copied.
    assert not (src / "vmw_pvscsi_rs-0.1.0" / "tests").exists()

    res = dkms("remove", "vmw_pvscsi_rs/0.1.0", "-k", release)
    assert res.returncode == 0 and not ko.exists(), res
    # Removing it from its last kernel takes it out of DKMS; the sources
    # stay, as a package's would, and are added again.
    assert status() == "", status()
    assert dkms("add", "vmw_pvscsi_rs/0.1.0").returncode == 0
    assert status() == "vmw_pvscsi_rs/0.1.0: added", status()
    res = dkms("autoinstall", "-k", release)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert ko.is_file() and status().endswith(": installed"), status()

    res = script("remove")
    assert res.returncode == 0, res.stderr
    assert not ko.exists() and not (src / "vmw_pvscsi_rs-0.1.0").exists()
    assert status() == "", status()


def staging_root(tmp_path: Path, kdir: Path, settings: str) -> Path:
    """A root as a distribution has it after `make install PREFER_RS=1`:
    the kernel's vmw_pvscsi under kernel/, this module under updates/,
    the C driver's settings in `settings` (a modprobe.d file), depmod run."""
    release = (kdir / "include/config/kernel.release").read_text().strip()
    root = tmp_path / "root"
    (root / "etc/modprobe.d").mkdir(parents=True)
    (root / "etc/modprobe.d/local.conf").write_text(settings)
    res = make("install", INSTALL_MOD_PATH=str(root), PREFER_RS="1", PVSCSI_CMDLINE="")
    assert res.returncode == 0, res.stderr[-2000:]
    c_ko = root / "lib/modules" / release / "kernel/drivers/scsi/vmw_pvscsi.ko"
    c_ko.parent.mkdir(parents=True)
    shutil.copy(kdir / "drivers/scsi/vmw_pvscsi.ko", c_ko)
    subprocess.run(["depmod", "-b", str(root), release], check=True, capture_output=True)
    return root


def coldplug(g) -> None:
    """What udev does for each PVSCSI function at boot: modprobe -b (the
    blacklist applies) of its modalias, with kmod's modprobe."""
    g.run("for d in /sys/bus/pci/devices/*; do "
          "[ \"$(cat $d/vendor):$(cat $d/device)\" = 0x15ad:0x07c0 ] || continue; "
          "/sbin/modprobe -b $(cat $d/modalias); done")


def test_choosing_the_driver(make_guest, tmp_path, kdir):
    """With `make install PREFER_RS=1`, both controllers bind to
    vmw_pvscsi_rs at coldplug and vmw_pvscsi is not even loaded; the C
    driver's modprobe.d setting applies to vmw_pvscsi_rs, and so does a
    vmw_pvscsi_rs.* command-line setting. driver_override hands one
    controller to vmw_pvscsi while the other stays, both serving I/O. The
    documented way back (the modprobe.d file blacklisting vmw_pvscsi_rs
    instead) gives both controllers to vmw_pvscsi at the next coldplug."""
    root = staging_root(tmp_path, kdir, "options vmw_pvscsi cmd_per_lun=32\n")
    disks = [Disk(scsi_id=0, bus="pv0", size_mb=64), Disk(scsi_id=0, bus="pv1", size_mb=64)]
    with make_guest(pvscsi_count=2, disks=disks, extra_root=root, c_modules=False,
                    append="vmw_pvscsi_rs.msg_ring_pages=2") as g:
        bdf0, bdf1 = g.pvscsi_bdfs()
        assert g.run("uname -r").strip() == (kdir / "include/config/kernel.release").read_text().strip()
        coldplug(g)
        assert (g.bound_driver(bdf0), g.bound_driver(bdf1)) == (RS, RS)
        assert g.run_rc("[ -d /sys/module/vmw_pvscsi ]")[0] != 0, "vmw_pvscsi was loaded"
        # The values in effect (the 7.3 kernel crate makes no parameters/
        # files), on each host.
        hosts = sorted({h.split(":")[0] for h in wait_disks(g, RS, 2)})
        for h in hosts:
            attr = f"/sys/class/scsi_host/host{h}"
            assert g.run(f"cat {attr}/cmd_per_lun {attr}/msg_ring_pages").split() == ["32", "2"]

        # One controller to the C driver, the other one stays.
        g.run(f"/sbin/modprobe vmw_pvscsi; echo vmw_pvscsi > /sys/bus/pci/devices/{bdf1}/driver_override; "
              f"echo {bdf1} > /sys/bus/pci/drivers/{RS}/unbind; echo {bdf1} > /sys/bus/pci/drivers_probe")
        assert (g.bound_driver(bdf0), g.bound_driver(bdf1)) == (RS, C)
        data_roundtrip(g, next(iter(wait_disks(g, RS, 1).values())), mib=1)
        data_roundtrip(g, next(iter(wait_disks(g, C, 1).values())), mib=1)

        # Back to vmw_pvscsi everywhere: the modprobe.d file says so.
        g.run(f"echo > /sys/bus/pci/devices/{bdf1}/driver_override; "
              f"echo {bdf0} > /sys/bus/pci/drivers/{RS}/unbind; echo {bdf1} > /sys/bus/pci/drivers/{C}/unbind; "
              f"rmmod {RS} {C}; echo 'blacklist vmw_pvscsi_rs' > /etc/modprobe.d/vmw_pvscsi_rs.conf")
        coldplug(g)
        assert (g.bound_driver(bdf0), g.bound_driver(bdf1)) == (C, C)
        assert g.run_rc("[ -d /sys/module/vmw_pvscsi_rs ]")[0] != 0, "vmw_pvscsi_rs was loaded"
        data_roundtrip(g, next(iter(wait_disks(g, C, 2).values())), mib=1)


def test_intree_patch_and_apply_agree(tmp_path):
    """scripts/intree: the patch it prints applies with `patch -p1` to the
    kernel's drivers/scsi/{Kconfig,Makefile} and gives the same tree as
    `apply`, which is idempotent; the Kconfig entry comes right after
    VMWARE_PVSCSI's, the Makefile line after vmw_pvscsi.o's, and the driver
    directory holds its sources and headers. (Building that tree, =y and
    =m, is not done here: it is a kernel build.)"""
    ksrc = paths.kernel_source()
    trees = []
    for name in ("patched", "applied"):
        t = tmp_path / name
        (t / "drivers/scsi").mkdir(parents=True)
        for f in ("Kconfig", "Makefile"):
            shutil.copy(ksrc / "drivers/scsi" / f, t / "drivers/scsi" / f)
        trees.append(t)
    patch = subprocess.run([str(paths.SCRIPTS / "intree"), "patch", str(ksrc)], capture_output=True,
                           text=True, check=True).stdout
    subprocess.run(["patch", "-p1", "-s"], cwd=trees[0], input=patch, text=True, check=True)
    for _ in range(2):
        subprocess.run([str(paths.SCRIPTS / "intree"), "apply", str(trees[1])], capture_output=True,
                       check=True)
    diff = subprocess.run(["diff", "-r", str(trees[0]), str(trees[1])], capture_output=True, text=True)
    assert diff.returncode == 0, diff.stdout[-2000:]
    kconfig = (trees[1] / "drivers/scsi/Kconfig").read_text()
    assert kconfig.count("config SCSI_VMW_PVSCSI_RUST\n") == 1
    assert re.search(r"module will be called vmw_pvscsi\.\n\nconfig SCSI_VMW_PVSCSI_RUST\n", kconfig)
    makefile = (trees[1] / "drivers/scsi/Makefile").read_text()
    assert "+= vmw_pvscsi.o\nobj-$(CONFIG_SCSI_VMW_PVSCSI_RUST)\t+= vmw_pvscsi_rs/\n" in makefile
    scsi = trees[1] / "drivers/scsi"
    for f in ("vmw_pvscsi_rs/Kbuild", "vmw_pvscsi_rs/pvscsi.rs", "vmw_pvscsi_rs/rust_scsi_glue.c",
              "rust_scsi/mod.rs", "rust_scsi/host.rs", "rust_scsi/rust_scsi.mk",
              "rust_scsi/rust_scsi_helpers.c", "rust_scsi/rust_scsi_bindgen.h"):
        assert (scsi / f).is_file(), f
