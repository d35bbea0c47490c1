# SPDX-License-Identifier: GPL-2.0
#
# vmw_pvscsi_rs: VMware PVSCSI driver in Rust, built out of tree.
# Every target installs or builds what it is missing first; see README.md.
#
#   make              build the module against the cached `debug` test kernel
#   make install      install it into that kernel's module tree and run depmod
#                     (INSTALL_MOD_PATH=<staging root>; PREFER_RS=1 also makes
#                     PVSCSI controllers bind to it instead of vmw_pvscsi)
#   make uninstall    remove what `make install` installed
#   make run          boot a guest with a pvscsi controller and disks, load the driver
#   make run ROOT=pvscsi   boot a kernel with the driver built in, root file system on a
#                     pvscsi disk, no initramfs
#   make test         everything: build, host tests, KUnit and guest integration tests
#   make check        rustfmt, clippy and checkpatch
#   make deb          the Debian DKMS package (build/deb/vmw-pvscsi-rs-dkms_*.deb),
#                     lintian-checked; on Debian 13 it builds the module for the
#                     stock kernel (README.md, "Debian 13")
#   make bench        C vmw_pvscsi vs vmw_pvscsi_rs vs virtio_scsi (fio, perf kernel)
#   make profile      guest instructions per I/O by function, C vs Rust driver
#   make stress       error-handling and sleep stress campaign (debug kernel, long),
#                     then the concurrency cases on the kcsan kernel (STRESS_ARGS="--only kcsan")
#   make soak         lying-device campaign: 10^5 ring corruptions, Rust vs C (long)
#   make series       the project as a patch series against 7.3 (build/series/:
#                     git format-patch with a cover letter), checked: it applies,
#                     checkpatch.pl --strict, get_maintainer.pl (scripts/series)
#   make fuzz         cargo-fuzz campaign of the pure-Rust decoders on the host
#                     (10^7 executions a target; FUZZ_ARGS="--runs N --target T")
#
# Variables: KCONFIG=debug|perf|perf-inline|kcsan (test kernel), KDIR=<any Rust-enabled
# 7.3 build tree> (instead of the cached kernels), LLVM=-N or 1 (the clang to
# build with; by default the one the kernel's .config names).

KCONFIG ?= debug
export KCONFIG KDIR LLVM

.PHONY: all modules install uninstall check deb test run bench profile stress soak midlayer-uaf series fuzz bootstrap kernel print-kdir print-module \
	rust-analyzer clean

all: modules

modules:
	@scripts/module build

install:
	@scripts/module install

uninstall:
	@scripts/module uninstall

check:
	@scripts/module check

deb:
	@scripts/deb-build

test:
	@scripts/test

run:
	@scripts/run

bench:
	@scripts/bench $(BENCH_ARGS)

profile:
	@scripts/profile $(PROFILE_ARGS)

stress:
	@scripts/stress $(STRESS_ARGS)

soak:
	@scripts/soak $(SOAK_ARGS)

midlayer-uaf:
	@scripts/midlayer-uaf test

series:
	@scripts/series check

fuzz:
	@scripts/fuzz $(FUZZ_ARGS)

bootstrap:
	@scripts/bootstrap

kernel:
	@scripts/module kdir >/dev/null

print-kdir:
	@scripts/module kdir

print-module:
	@scripts/module path

rust-analyzer:
	@scripts/module rust-analyzer

clean:
	@scripts/module clean
