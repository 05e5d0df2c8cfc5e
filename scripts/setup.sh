#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Install ktlsim's build and test dependencies (Debian bookworm) and build
# the default tree in ./build.  Idempotent: a second run installs nothing,
# skips `apt-get update` and only re-runs the incremental build.
#
# Options:
#   --bench             also install what scripts/bench.py compares with and
#                       draws with: nginx-light and gnuplot-nox
#                       (docs/performance.md); never needed by the tests
#   -h, --help          this text
#
# Environment:
#   BUILD_DIR           build directory (default: build)
#   MESON_SETUP_ARGS    extra arguments for `meson setup`
#   KTLSIM_SKIP_APT=1   do not touch packages at all
#   KTLSIM_SKIP_BUILD=1 install packages only
#
set -euo pipefail

cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}

PACKAGES=(
	meson
	ninja-build
	pkg-config
	gcc
	libssl-dev
	openssl
	libevent-dev
	libcmocka-dev
	libjansson-dev
	libbsd-dev
	curl
	tshark
	clang-format
	ca-certificates
	python3
	xxd
)
# The ipsecmb crypto backend (docs/architecture.md, "Crypto backends"):
# Intel's library exists for x86-64 only; without it the build has the EVP
# backend alone.
if command -v dpkg >/dev/null 2>&1 &&
    [ "$(dpkg --print-architecture)" = amd64 ]; then
	PACKAGES+=(libipsec-mb-dev)
fi

usage() {
	sed -n '5,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

for arg in "$@"; do
	case $arg in
	--bench)
		PACKAGES+=(nginx-light gnuplot-nox)
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		printf 'setup: unknown option %s\n' "$arg" >&2
		usage >&2
		exit 2
		;;
	esac
done

log() {
	printf 'setup: %s\n' "$*" >&2
}

# Run a command as root: directly if we are root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		log "need root (or sudo) to run: $*"
		return 1
	fi
}

missing_packages() {
	local p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null ||
		    true)
		if [ "$status" != "installed" ]; then
			printf '%s\n' "$p"
		fi
	done
}

install_packages() {
	local missing
	if ! command -v dpkg-query >/dev/null 2>&1; then
		log "dpkg-query not found: not a Debian system; skipping packages"
		return 0
	fi
	mapfile -t missing < <(missing_packages)
	if [ "${#missing[@]}" -eq 0 ]; then
		log "all packages present"
		return 0
	fi
	log "installing: ${missing[*]}"
	# wireshark-common asks whether non-root users may capture; answer
	# in advance so the install never blocks on a prompt.
	echo 'wireshark-common wireshark-common/install-setuid boolean false' |
	    as_root debconf-set-selections
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends "${missing[@]}"
}

# meson_setup DIR [ARGS...]: configure DIR, or reconfigure it if it is
# already a meson build directory.
meson_setup() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

build() {
	# shellcheck disable=SC2086
	meson_setup "$BUILD_DIR" ${MESON_SETUP_ARGS:-}
	meson compile -C "$BUILD_DIR"
}

if [ "${KTLSIM_SKIP_APT:-0}" != 1 ]; then
	install_packages
fi
if [ "${KTLSIM_SKIP_BUILD:-0}" != 1 ]; then
	build
fi
