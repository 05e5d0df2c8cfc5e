#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Install dependencies, build, and run the ktlsim demo.
#
# Usage: scripts/demo.sh [ARGS...]   (ARGS are passed to the demo program)
#
set -euo pipefail

cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}

log() {
	printf 'demo.sh: %s\n' "$*" >&2
}

# ---------------------------------------------------------------------------
# run_demo: THE demo.  Everything demo-specific lives in this one function;
# replace its body when sim_server lands.
#
# TODO(lead): once build/sim/sim_server exists, the demo becomes sim_server
# on loopback with `openssl s_client` as the peer, roughly:
#
#	"$BUILD_DIR/sim/sim_server" --port 0 ... &   # loopback only
#	timeout 20 openssl s_client -connect 127.0.0.1:PORT -keylogfile ... \
#	    -ign_eof <<<$'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
#	kill "$server_pid"
#
# Bound every step with `timeout` and always stop the server it started.
# ---------------------------------------------------------------------------
run_demo() {
	local demo="$BUILD_DIR/sim/ktls_demo"

	if [ ! -x "$demo" ]; then
		log "$demo was not built (the demo program is not written yet)"
		return 1
	fi
	log "running $demo $*"
	timeout 120 "$demo" "$@"
}

bash scripts/setup.sh
run_demo "$@"
