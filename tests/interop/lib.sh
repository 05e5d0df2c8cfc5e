# SPDX-License-Identifier: BSD-2-Clause
#
# Shared helpers for the sim_server interop scripts (sourced, not run).
#
#   SERVER      the sim_server binary (first argument of every script)
#   WORK        scratch directory, removed on exit
#   ok RC NAME  record a check: "ok N - NAME" / "not ok N - NAME"
#   srv_start NAME ARGS...   sim_server on a free loopback port: sets PORT,
#                            LOG (stderr), OUT (stdout), SPID
#   srv_stop    SIGTERM, wait (bounded), record the exit status as a check
#               (an ASan build exits non-zero on leaks or errors)
#   finish      print "N passed, M failed" and exit accordingly
#   group NAME FUNC ARGS...  run FUNC ARGS in the background (see below)
#   group_wait  wait for the groups, then report their checks in order
#
# Every client runs under `timeout`; the EXIT trap kills whatever this
# script started (servers and background clients, by process id).

set -u

SERVER=${1:?usage: $0 /path/to/sim_server}
shift
case $SERVER in
/*) ;;
*) SERVER=$PWD/$SERVER ;;
esac
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sim_server_interop.XXXXXX")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SPID=
PORT=
LOG=
OUT=
STATUS=0
BGPIDS=()
NSTART=0
GROUP=
GROUPS_RUNNING=()
pass=0
fail=0
n=0

# Sanitizer builds report at exit; make them fail loudly.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

# Is SERVER built with a sanitizer?  (Slower: scale timeouts.)
if grep -q -a '__asan_init' "$SERVER" 2>/dev/null; then
	ASAN=1
	SLOWDOWN=4
elif grep -q -a '__tsan_init' "$SERVER" 2>/dev/null; then
	ASAN=0
	SLOWDOWN=6
else
	ASAN=0
	SLOWDOWN=1
fi

lib_cleanup() {
	local p
	# Servers of groups that could not stop them (see group).
	for p in "${BGPIDS[@]}" $SPID $(cat "$WORK"/group.*.spid 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "# work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap lib_cleanup EXIT
trap 'exit 130' INT TERM

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $n - $2"
	else
		fail=$((fail + 1))
		echo "not ok $n - $2"
	fi
}

# note MSG: a diagnostic line (TAP comment).
note() {
	echo "# $*"
}

# t SECONDS: a timeout scaled for sanitizer builds.
t() {
	echo $(($1 * SLOWDOWN))
}

srv_start() {
	local name=$1 i
	shift
	[ -z "$SPID" ] || srv_stop
	NSTART=$((NSTART + 1))
	LOG=$WORK/$name.$NSTART.log
	OUT=$WORK/$name.$NSTART.out
	: >"$LOG"
	"$SERVER" --listen 127.0.0.1:0 "$@" >"$OUT" 2>"$LOG" &
	SPID=$!
	[ -z "$GROUP" ] || echo "$SPID" >"$WORK/group.$GROUP.spid"
	PORT=
	for i in $(seq 200); do
		if grep -q 'listening on' "$LOG"; then
			PORT=$(sed -n \
			    's/.*listening on [^ ]*:\([0-9]*\),.*/\1/p' "$LOG")
			break
		fi
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$PORT" ] && grep -q 'null cipher' "$LOG" &&
	    case " ${KTLSIM_BACKENDS:-} " in *" null "*) true ;; *) false ;; esac; then
		# A -Dnull_cipher=true build (meson lists the null backend):
		# nothing to check against real clients.  In any other build
		# the refusal is a failure, below.
		echo "SKIP: $(cat "$LOG")"
		exit 77
	fi
	if [ -z "$PORT" ]; then
		note "server $name did not start: $(tail -3 "$LOG")"
		return 1
	fi
	return 0
}

srv_stop() {
	local i
	STATUS=0
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID" 2>/dev/null
	for i in $(seq $((200 * SLOWDOWN))); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$SPID" 2>/dev/null; then
		note "server did not exit within $((10 * SLOWDOWN)) s of SIGTERM"
		kill -KILL "$SPID" 2>/dev/null
	fi
	wait "$SPID" 2>/dev/null
	STATUS=$?
	SPID=
	[ -z "$GROUP" ] || rm -f "$WORK/group.$GROUP.spid"
	if [ "$STATUS" -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$LOG"; then
		note "$(grep -m5 -A5 'Sanitizer\|runtime error' "$LOG")"
		[ "$STATUS" -ne 0 ] || STATUS=1
	fi
	return 0
}

# srv_stop_check NAME: stop and record "NAME: exit 0, no sanitizer report".
srv_stop_check() {
	srv_stop
	ok "$STATUS" "$1: server exits 0 on SIGTERM, no sanitizer report"
}

# mode_args MODE: in MARGS, sim_server's arguments for a transmit path:
# sendfile (or sw-sendfile), write (sw-write: --no-sendfile) or userland
# (--mode userland).  1 for another MODE.
mode_args() {
	case $1 in
	sendfile | sw-sendfile) MARGS=() ;;
	write | sw-write) MARGS=(--no-sendfile) ;;
	userland) MARGS=(--mode userland) ;;
	*) return 1 ;;
	esac
}

# stats_json: the counters the server prints on SIGUSR1 (last dump).
stats_json() {
	local before
	before=$(grep -c '^}' "$OUT")
	kill -USR1 "$SPID"
	for _ in $(seq 100); do
		[ "$(grep -c '^}' "$OUT")" -gt "$before" ] && break
		sleep 0.05
	done
	awk '/^{/ { buf = "" } { buf = buf $0 "\n" } /^}/ { last = buf }
	    END { printf "%s", last }' "$OUT"
}

# jget EXPR: evaluate a Python expression over the JSON on stdin as `d`.
jget() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print('"$1"')'
}

# mkfile PATH SIZE: random contents.
mkfile() {
	head -c "$2" /dev/urandom >"$1"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# make_cert ec|rsa PREFIX: self-signed localhost/127.0.0.1 cert and key.
make_cert() {
	local kind=$1 p=$2 alg
	if [ "$kind" = rsa ]; then
		alg=(-newkey rsa:2048)
	else
		alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
	fi
	timeout 60 openssl req -x509 "${alg[@]}" -nodes -days 2 \
	    -subj /CN=localhost \
	    -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
	    -keyout "$p.key" -out "$p.pem" 2>/dev/null
}

# http_split FILE: "status length sha256" for each response in FILE.
http_split() {
	python3 "$HERE/http_split.py" "$1"
}

# Checks that take wall-clock time but little CPU (seeded clients that
# stall, a rate-limited reader, deadlines to wait out) run side by side:
# `group NAME FUNC ARGS...` runs FUNC ARGS in a background subshell with
# its own server (srv_start, srv_stop, ok and note work there as they do
# here), writing to $WORK/group.NAME.out; `group_wait` waits for every
# group and then reports their checks and notes, numbered on from here, in
# the order the groups started.  Groups run at the same time, so their
# servers need distinct names, and their files distinct paths.  A group
# that does not run to its end (a signal, a shell error) is one failed
# check.
group() {
	local name=$1
	shift
	(
		GROUP=$name
		SPID=
		BGPIDS=()
		trap 'exit 130' INT TERM
		trap 'for p in "${BGPIDS[@]}" $SPID; do
			kill -KILL "$p" 2>/dev/null
		done' EXIT
		"$@"
		[ -z "$SPID" ] || srv_stop
		exit 0
	) >"$WORK/group.$name.out" 2>&1 &
	BGPIDS+=($!)
	GROUPS_RUNNING+=("$name:$!")
}

group_wait() {
	local g rc line
	for g in "${GROUPS_RUNNING[@]}"; do
		wait "${g##*:}"
		rc=$?
		while IFS= read -r line; do
			case $line in
			"ok "*) ok 0 "${line#ok * - }" ;;
			"not ok "*) ok 1 "${line#not ok * - }" ;;
			*) echo "$line" ;;
			esac
		done <"$WORK/group.${g%%:*}.out"
		[ "$rc" -eq 0 ] || ok 1 "${g%%:*}: ended early (exit $rc)"
	done
	GROUPS_RUNNING=()
}

finish() {
	[ -z "$SPID" ] || srv_stop
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit
}
