# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the project's shell scripts. Source it; do not run it.
#
# Everything that is downloaded or built lives in one cache folder outside the
# checkout, so that a fresh clone reuses it and `git clean` never loses it:
#   $PVSCSI_RS_CACHE  (default: ${XDG_CACHE_HOME:-$HOME/.cache}/vmw-pvscsi-rs)

set -euo pipefail

PVSCSI_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PVSCSI_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmw-pvscsi-rs}

# Versions the project pins. The kernel series and the LLVM major are the ones
# the shared research validated; bindgen must be at least the kernel's minimum.
KERNEL_SERIES=7.3
LLVM_SUFFIX=-19
LLVM_MAJOR=19
BINDGEN_VERSION=0.73.2

# Where the pieces land inside the cache.
SRC_CACHE=$CACHE/src
TOOLS_CACHE=$CACHE/tools
KERNEL_CACHE=$CACHE/kernels
VENV=$CACHE/venv
BINDGEN=$TOOLS_CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen
export LIBCLANG_PATH=/usr/lib/llvm-$LLVM_MAJOR/lib

# Prints a progress line on stderr (stdout stays clean for `print-*` targets).
say() { printf '>>> %s\n' "$*" >&2; }

# Prints an error on stderr and exits.
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root (directly, or through sudo when available).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "root is needed to run '$*' (install sudo or run as root)"
	fi
}

# Prints the URI of the Debian archive the system already uses for bookworm.
archive_uri() {
	local uri
	# deb822 sources: the URIs line of the stanza whose Suites name bookworm.
	uri=$(awk '
		/^[[:space:]]*$/ { if (u != "" && s ~ /(^| )bookworm( |$)/) { print u; exit } u=""; s=""; next }
		/^URIs:/   { u=$2 }
		/^Suites:/ { $1=""; s=$0 " " }
		END { if (u != "" && s ~ /(^| )bookworm( |$)/) print u }
	' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	if [ -z "$uri" ]; then
		# One-line sources: "deb [opts] URI bookworm main".
		uri=$(grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -E 's/\[[^]]*\]//' | awk '$3 == "bookworm" { print $2; exit }')
	fi
	[ -n "$uri" ] || die "no Debian bookworm archive found in /etc/apt/sources.list*; configure one first"
	echo "$uri"
}

# Prints the version of the rustc on PATH (e.g. 1.95.0).
rustc_version() { rustc --version | awk '{print $2}'; }

# Prints the directory holding the unpacked kernel source (after fetch-sources).
kernel_src_dir() {
	local f=$SRC_CACHE/linux-source-$KERNEL_SERIES.current
	[ -f "$f" ] || die "kernel source not fetched yet: run scripts/fetch-sources"
	cat "$f"
}

# Prints RUST_LIB_SRC for the current rustc (after fetch-sources).
rust_lib_src() {
	local d=$SRC_CACHE/rust-src-$(rustc_version)/usr/lib/rustlib/src/rust/library
	[ -d "$d" ] || die "rust-src for rustc $(rustc_version) not fetched yet: run scripts/fetch-sources"
	echo "$d"
}
