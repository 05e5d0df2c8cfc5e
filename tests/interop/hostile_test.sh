#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# sim_server against hostile and unusual clients (tests/interop/hostile.py
# and real tools).  Each case once crashed, hung or cut a response; after
# each the server must still serve a 4 MiB file intact, and at the end
# exit 0 (under ASan: no error, no leak).
#
#   - pipelining then reset (sw sendfile, sw write, userland), userland
#     reset mid-transfer, max_fragment_length fallback killed mid-transfer
#   - a served file that shrinks under pipelined GETs (sendfile and write)
#   - a name that turns into a FIFO between stat() and open()
#     (fifo_swap_preload.c makes the race certain)
#   - a client that pipelines 2000 requests behind a 64 MiB one and never
#     reads: no busy loop, closed by the send timeout
#   - a slow reader outlasting the idle timeout (64 MiB at 4 MB/s)
#   - half-closing clients (close_notify, then read to the end) for TLS 1.2
#     and 1.3, sendfile, write and userland: every response arrives, then
#     the server's close_notify; the log's bytes= is what arrived
#   - slowloris in the handshake and in the request header
#   - garbage, a bad MAC, an oversized record after the handshake: a fatal
#     alert and a logged reason
#   - bad command lines: port out of range, --root a file, stray argument,
#     --sndbuf out of range or with --mode userland
#
# Usage: hostile_test.sh /path/to/sim_server /path/to/fifo_swap_preload.so
#
. "$(dirname "$0")/lib.sh"

PRELOAD=${1:?usage: $0 sim_server fifo_swap_preload.so}

HOSTILE=(python3 "$HERE/hostile.py")
ROOT=$WORK/www
mkdir -p "$ROOT"
mkfile "$ROOT/r4m" $((4 * 1024 * 1024 + 123))
mkfile "$ROOT/m1" $((1000 * 1000 + 7))
mkfile "$ROOT/big" $((64 * 1024 * 1024))
printf 'hello\n' >"$ROOT/hello.txt"
R4M_SHA=$(sha "$ROOT/r4m")
CERT=$WORK/ec
make_cert ec "$CERT"
SARGS=(--cert "$CERT.pem" --key "$CERT.key" --root "$ROOT")

hostile() {
	timeout "$(t 60)" "${HOSTILE[@]}" "$1" --port "$PORT" "${@:2}"
}

# still_serves TAG: the server is alive and r4m arrives intact.
still_serves() {
	local got
	got=$(timeout "$(t 30)" curl -sS --http1.1 --cacert "$CERT.pem" \
	    "https://127.0.0.1:$PORT/r4m" 2>/dev/null | sha256sum | cut -d' ' -f1)
	kill -0 "$SPID" 2>/dev/null && [ "$got" = "$R4M_SHA" ]
	ok $? "$1: server alive, r4m intact"
}

# cpu_ticks: user+system clock ticks the server used so far.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$SPID/stat"
}

# --- bad command lines -------------------------------------------------------
badargs() {
	local want=$1 tag=$2 rc
	shift 2
	timeout 10 "$SERVER" "$@" >/dev/null 2>"$WORK/args.err"
	rc=$?
	[ "$rc" = 2 ] && grep -q "$want" "$WORK/args.err"
	ok $? "$tag: exit $rc, '$(head -1 "$WORK/args.err")'"
}
badargs 'expected ADDR:PORT' "--listen port 65536" --listen 127.0.0.1:65536
badargs 'expected ADDR:PORT' "--listen port 99999" --listen 127.0.0.1:99999
badargs 'not a directory' "--root a regular file" --root "$ROOT/hello.txt"
badargs "unexpected argument 'stray'" "stray positional argument" stray
badargs 'expected 1..1864135' "--sndbuf 0" --sndbuf 0
badargs 'expected 1..1864135' "--sndbuf 2m (above sb_max_adj)" --sndbuf 2m
badargs 'expected 1..1864135' "--sndbuf 12x" --sndbuf 12x
badargs 'expected 1..1864135' "--sndbuf -1" --sndbuf -1
badargs 'sizes the simulated socket' "--sndbuf with --mode userland" \
    --sndbuf 4096 --mode userland

# --- resets, in every transmit path ------------------------------------------
resets() {
	local mode MARGS
	for mode in sw-sendfile sw-write userland; do
		mode_args "$mode"
		srv_start "reset-$mode" "${SARGS[@]}" "${MARGS[@]}" ||
		    { ok 1 "$mode: server starts"; continue; }
		hostile pipeline-reset --count 220 --rounds 5 >/dev/null
		hostile pipeline-reset --count 220 --rounds 5 --read-first \
		    >/dev/null
		hostile pipeline-reset --tls 1.2 --count 220 --rounds 3 \
		    >/dev/null
		still_serves "$mode: 13 clients pipelining 220 GETs, then reset"
		for _ in 1 2 3; do
			hostile reset-mid --path /big --after $((1 << 20)) \
			    >/dev/null
		done
		still_serves "$mode: 3 resets in the middle of 64 MiB"
		srv_stop_check "reset-$mode"
	done
}

# max_fragment_length (RFC 6066 section 4) makes KTLS fall back to userland.
maxfrag() {
	srv_start maxfrag "${SARGS[@]}" || ok 1 "maxfrag server starts"
	printf 'GET /big HTTP/1.1\r\nHost: x\r\n\r\n' >"$WORK/big.req"
	for _ in 1 2 3; do
		timeout -s KILL 1 openssl s_client -connect "127.0.0.1:$PORT" \
		    -maxfraglen 512 -tls1_2 -quiet -ign_eof <"$WORK/big.req" \
		    2>/dev/null | head -c 300000 >/dev/null
	done
	grep -q 'KTLS off, userland TLS: .*max_fragment_length' "$LOG"
	ok $? "max_fragment_length: falls back to userland, says why"
	still_serves "max_fragment_length clients killed mid-transfer"
	srv_stop_check maxfrag
}

# --- a file that shrinks while it is served ----------------------------------
shrinker() {
	python3 - "$ROOT/shrink" "$1" <<'EOF'
import os, sys, time
data = os.urandom(4000000)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    os.pwrite(fd, data, 0)
    time.sleep(0.003)
    os.ftruncate(fd, 1000)
    time.sleep(0.002)
EOF
}
shrinking() {
	local mode MARGS spid bad
	for mode in sendfile write; do
		mode_args "$mode"
		srv_start "shrink-$mode" "${SARGS[@]}" "${MARGS[@]}" ||
		    ok 1 "shrink-$mode server starts"
		shrinker 8 &
		spid=$!
		BGPIDS+=($spid)
		bad=0
		for _ in 1 2 3 4 5 6; do
			hostile pipeline-get --path /shrink --count 50 \
			    >>"$WORK/shrink.out" || bad=$((bad + 1))
		done
		wait "$spid"
		[ "$bad" = 0 ]
		ok $? "$mode: 6 x 50 pipelined GETs of a shrinking file, every answer a 200 ($(grep -c 'file read error' "$LOG") cut short)"
		still_serves "$mode: after the shrinking file"
		srv_stop_check "shrink-$mode"
	done
}

# --- a FIFO swapped in between stat() and open() -------------------------------
# fifo_swap_preload.c turns the name into a FIFO right before every open()
# of it, after http_resolve() saw a regular file: the race, every time.
fifo_swap() {
	local out
	mkfifo "$WORK/fifo"
	cp "$ROOT/hello.txt" "$WORK/regular"
	cp "$WORK/regular" "$ROOT/swap"
	export FIFO_SWAP_NAME=/swap FIFO_SWAP_FIFO=$WORK/fifo \
	    FIFO_SWAP_FILE=$WORK/regular
	LD_PRELOAD=$PRELOAD ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 \
	    srv_start fifo "${SARGS[@]}" || ok 1 "fifo server starts"
	unset FIFO_SWAP_NAME FIFO_SWAP_FIFO FIFO_SWAP_FILE
	out=$(hostile fifo-probe --path /swap --count 20 --timeout 5)
	ok $? "FIFO swapped in before open(): 20 fetches, none hangs ($out)"
	[ "${out#*statuses=}" = "404:20" ]
	ok $? "FIFO swapped in before open(): each a 404"
	still_serves "after the FIFO swap"
	srv_stop_check fifo
}

# --- pipelining behind a large response, never reading -----------------------
# Default settings first: the server must sit idle, not spin on the full
# input buffer; then a short --send-timeout closes such a client.
noread() {
	local c0 c1 nrpid out rc
	srv_start noread "${SARGS[@]}" || ok 1 "noread server starts"
	c0=$(cpu_ticks)
	hostile noread --path /big --count 2000 --hold 8 >/dev/null &
	nrpid=$!
	BGPIDS+=($nrpid)
	sleep 6
	c1=$(cpu_ticks)
	# A loop on the full input buffer burns all 600 ticks of those 6 s.
	[ $((c1 - c0)) -lt 150 ]
	ok $? "non-reading pipeliner: server idle while it waits ($((c1 - c0)) ticks in 6 s)"
	wait "$nrpid"
	still_serves "after the non-reading pipeliner"
	srv_stop_check noread
	srv_start noread-timeout "${SARGS[@]}" --send-timeout 4 ||
	    ok 1 "noread-timeout server starts"
	out=$(hostile noread --path /big --count 2000 --hold 12 --expect-close)
	rc=$?
	grep -q 'closed (send timeout)' "$LOG"
	ok $((rc || $?)) "non-reading pipeliner: closed by --send-timeout 4 ($out)"
	srv_stop_check noread-timeout
}

# --- a slow reader outlasts the idle timeout ---------------------------------
# 64 MiB at 4 MB/s: far more than loopback's socket buffers hold, so the
# server is still sending, paced by the reader, long after 3 s.
slow_reader() {
	local rc
	srv_start slow "${SARGS[@]}" --idle-timeout 3 ||
	    ok 1 "slow server starts"
	timeout "$(t 90)" curl -sS --http1.1 --cacert "$CERT.pem" \
	    --limit-rate 4M -o "$WORK/slow.out" "https://127.0.0.1:$PORT/big"
	rc=$?
	[ "$rc" = 0 ] && cmp -s "$WORK/slow.out" "$ROOT/big"
	ok $? "curl --limit-rate 4M of 64 MiB (16 s) with --idle-timeout 3: intact (curl exit $rc)"
	rm -f "$WORK/slow.out"
	srv_stop_check slow
}

# --- half-closing clients ----------------------------------------------------
half_close() {
	local mode MARGS v out got logged
	for mode in sw-sendfile sw-write userland; do
		mode_args "$mode"
		srv_start "half-$mode" "${SARGS[@]}" "${MARGS[@]}" ||
		    ok 1 "half-$mode server starts"
		for v in 1.2 1.3; do
			out=$(hostile half-close --tls "$v" --path /big \
			    --file "$ROOT/big")
			ok $? "$mode TLS $v: request, close_notify, read: $out"
			sleep 0.2
			got=${out#*bytes=}
			got=${got%% *}
			logged=$(sed -n 's/.*closed (peer close_notify).* bytes=\([0-9]*\) .*/\1/p' \
			    "$LOG" | tail -1)
			[ -n "$got" ] && [ "$logged" = "$got" ]
			ok $? "$mode TLS $v: closed as 'peer close_notify', bytes=$logged is what arrived ($got)"
		done
		srv_stop_check "half-$mode"
	done
}

# --- slowloris ---------------------------------------------------------------
# The default deadlines: 10 s for the handshake and for a request header.
slowloris() {
	local phase out
	srv_start slowloris "${SARGS[@]}" || ok 1 "slowloris server starts"
	for phase in handshake header; do
		out=$(hostile slowloris --conns 50 --phase "$phase" \
		    --interval 1 --hold 15)
		ok $? "slowloris, one byte a second in the $phase: all closed ($out)"
	done
	stats_json | jget 'd["sim_server"]["closed"].get("handshake timeout", 0) >= 50 and
	    d["sim_server"]["closed"].get("request header timeout", 0) >= 50' |
	    grep -q True
	ok $? "slowloris: closed by the handshake and request header deadlines"
	still_serves "after slowloris"
	srv_stop_check slowloris
}

# --- corrupt input after the handshake ---------------------------------------
bad_records() {
	local mode margs k kind v out nerr
	for mode in sw userland; do
		margs=()
		[ $mode = userland ] && margs=(--mode userland)
		srv_start "bad-$mode" "${SARGS[@]}" "${margs[@]}" ||
		    ok 1 "bad-$mode server starts"
		for k in "badmac 1.3" "badmac 1.2" "garbage 1.3" "toolong 1.2"; do
			read -r kind v <<<"$k"
			out=$(hostile bad-record --kind "$kind" --tls "$v")
			ok $? "$mode TLS $v, $kind: answered, then a fatal alert ($out)"
		done
		nerr=$(grep -c 'TLS error: .*; sending alert' "$LOG")
		[ "$nerr" -ge 4 ] && ! grep -q 'closed (peer closed)' "$LOG"
		ok $? "$mode: each logged with its reason ($nerr), none as 'peer closed'"
		still_serves "$mode: after corrupt records"
		srv_stop_check "bad-$mode"
	done
}

# The cases that mostly wait (a shrinker's seconds, a client that never
# reads, a rate-limited reader, the slowloris deadlines) run beside the
# ones that keep the CPU busy, which run one after another.
cpu_bound() {
	resets
	maxfrag
	fifo_swap
	half_close
	bad_records
}
group cpu cpu_bound
group shrink shrinking
group noread noread
group slow slow_reader
group slowloris slowloris
group_wait

finish
