#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Replays the seeds of conn_stress.seeds through conn_stress.py against
# sim_server: concurrent clients with drawn scripts (pipelining, partial
# sends, half-closes, FINs, resets, stalls, corrupt records) while a served
# file changes under them, in sendfile, write and userland mode.  The
# server must stay correct and up, and exit 0 (ASan: no error, no leak;
# TSan: no race).
#
# Usage: conn_stress_test.sh /path/to/sim_server [MODE...]
#   MODE: sendfile, write, userland (default: all three)
# The modes run at the same time, each against its own server.
# Environment: CONN_STRESS_SECONDS=T adds random seeds until T seconds have
# passed in each mode (the long run of docs/fuzzing.md);
# CONN_STRESS_PARALLEL=N runs N clients at a time (default 8).
#
. "$(dirname "$0")/lib.sh"

MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=(sendfile write userland)

SECONDS_EXTRA=${CONN_STRESS_SECONDS:-0}

# stress MODE: one server and one driver, with a root of their own (the
# driver's mutator changes files in it).
stress() {
	local mode=$1 root=$WORK/www-$1 out=$WORK/stress-$1.out MARGS rc
	mode_args "$mode" || { ok 1 "unknown mode $mode"; return; }
	mkdir -p "$root"
	srv_start "stress-$mode" --root "$root" --stats \
	    --handshake-timeout 10 --header-timeout 10 "${MARGS[@]}" ||
	    { ok 1 "$mode: server starts"; return; }
	timeout $((600 * SLOWDOWN + SECONDS_EXTRA * 2)) python3 \
	    "$HERE/conn_stress.py" --port "$PORT" --root "$root" \
	    --seeds-file "$HERE/conn_stress.seeds" --seconds "$SECONDS_EXTRA" \
	    --parallel "${CONN_STRESS_PARALLEL:-8}" --deadline 10 \
	    >"$out" 2>&1
	rc=$?
	sed 's/^/# /' "$out"
	ok $rc "$mode: $(tail -1 "$out")"
	note "server CPU: $(awk '{ printf "%.1f s", ($14 + $15) / 100 }' \
	    "/proc/$SPID/stat")"
	srv_stop_check "stress-$mode"
}

# Most of a seed's time is clients stalling, trickling and waiting for
# the server's deadlines, so the modes run side by side.
for mode in "${MODES[@]}"; do
	group "$mode" stress "$mode"
done
group_wait
finish
