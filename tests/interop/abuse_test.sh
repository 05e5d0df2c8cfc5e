#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# sim_server against misbehaving clients; after each kind it must still
# serve correctly (SHA-256 of a 4 MiB file), and at the end exit 0 (under
# ASan: no leak, no error).
#
#   - garbage instead of a ClientHello, a truncated ClientHello, plain HTTP
#   - clients killed in the middle of a 64 MiB transfer (curl, s_client;
#     by sendfile and by write)
#   - malformed and oversized HTTP requests (400, 405, 413, 414, 431, 501,
#     505)
#   - a slow reader: curl --limit-rate 200k on a 4 MiB file, arriving
#     intact while everything else goes on
#   - 2000 TCP connections that never send a byte, held while other clients
#     are served; afterwards no connection or descriptor is left
#   - TLS 1.3 KeyUpdate from openssl s_client: `k` (update_not_requested)
#     keeps the connection; `K` (update_requested) closes it in order with
#     a log line in KTLS mode, and is handled by libssl in userland mode
#
# Usage: abuse_test.sh /path/to/sim_server
#
. "$(dirname "$0")/lib.sh"

ROOT=$WORK/www
mkdir -p "$ROOT"
mkfile "$ROOT/r4m" $((4 * 1024 * 1024 + 123))
mkfile "$ROOT/big" $((64 * 1024 * 1024))
printf 'hello\n' >"$ROOT/hello.txt"
R4M_SHA=$(sha "$ROOT/r4m")
CERT=$WORK/ec
make_cert ec "$CERT"
SARGS=(--cert "$CERT.pem" --key "$CERT.key" --root "$ROOT" --stats)
SCLIENT=(openssl s_client -connect "127.0.0.1:PORT" -servername localhost
    -CAfile "$CERT.pem" -verify_return_error)

sclient() {
	timeout "$(t 20)" "${SCLIENT[@]/PORT/$PORT}" "$@"
}

# still_serves TAG: curl and s_client both get r4m intact.
still_serves() {
	local got1 got2
	got1=$(timeout "$(t 30)" curl -sS --http1.1 --cacert "$CERT.pem" \
	    "https://127.0.0.1:$PORT/r4m" | sha256sum | cut -d' ' -f1)
	printf 'GET /r4m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	    sclient -quiet >"$WORK/ss.out" 2>/dev/null
	got2=$(http_split "$WORK/ss.out" | awk '{ print $3 }')
	[ "$got1" = "$R4M_SHA" ] && [ "$got2" = "$R4M_SHA" ]
	ok $? "$1: still serves r4m intact to curl and s_client"
}

# raw BYTES-ON-STDIN: send them on a plain TCP connection, read 1 s.
raw() {
	timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; \
	    timeout 1 cat <&3 >/dev/null" 2>/dev/null || true
}

srv_start main "${SARGS[@]}" || { ok 1 "server starts"; finish; }

# --- slow reader, in the background throughout ------------------------------
timeout "$(t 60)" curl -sS --http1.1 --cacert "$CERT.pem" --limit-rate 200k \
    -o "$WORK/slow.out" "https://127.0.0.1:$PORT/r4m" &
SLOWPID=$!
BGPIDS+=($SLOWPID)

# --- handshake garbage ------------------------------------------------------
hf0=$(stats_json | jget 'd["sim_server"]["handshake_failed"]')
head -c 3000 /dev/urandom | raw
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | raw
printf '\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00' | raw
printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' | raw # truncated
printf '\x16\x03\x03\x40\x00' | head -c 5 | raw               # huge length
head -c 100000 /dev/zero | raw
hf1=$(stats_json | jget 'd["sim_server"]["handshake_failed"]')
[ "$hf1" -ge $((hf0 + 4)) ] && grep -q 'handshake failed: ' "$LOG"
ok $? "garbage handshakes counted as failed ($hf0 -> $hf1)"
still_serves "after garbage"

# --- clients killed mid-transfer ---------------------------------------------
# kill_mid TAG: SIGKILL curl and s_client in the middle of 64 MiB.
kill_mid() {
	local tag=$1 before
	before=$(grep -c 'closed (\(wire error\|peer closed\|write error\))' "$LOG")
	(timeout -s KILL 1 curl -sS --http1.1 --cacert "$CERT.pem" \
	    --limit-rate 8M -o /dev/null "https://127.0.0.1:$PORT/big" \
	    2>/dev/null) 2>/dev/null
	printf 'GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
	    >"$WORK/big.req"
	# -quiet: stdin's end does not close the connection.  The pipe into
	# sleep is never read: s_client stops reading, TCP pushes back.
	timeout -s KILL 1 "${SCLIENT[@]/PORT/$PORT}" -quiet \
	    <"$WORK/big.req" 2>/dev/null | sleep 1.5
	sleep 0.5
	[ "$(grep -c 'closed (\(wire error\|peer closed\|write error\))' "$LOG")" -ge $((before + 2)) ]
	ok $? "$tag: both killed clients' connections closed as errors"
}
kill_mid "sendfile, killed mid-transfer" 2>/dev/null
still_serves "after killed clients"

# --- malformed and oversized requests ----------------------------------------
# bad_request WANT TAG: the request on stdin gets status WANT.  (lastpipe:
# `printf ... | bad_request` runs in this shell, so that ok counts.)
shopt -s lastpipe
bad_request() {
	local want=$1 tag=$2 got
	cat >"$WORK/bad.req"
	got=$(sclient -quiet <"$WORK/bad.req" 2>/dev/null | head -1 | tr -d '\r')
	[ "${got#HTTP/1.1 }" != "$got" ] && [ "${got:9:3}" = "$want" ]
	ok $? "$tag: ${got:-no answer} (want $want)"
}
printf 'BLAH\r\n\r\n' | bad_request 400 "request line without target"
printf 'GET hello.txt HTTP/1.1\r\n\r\n' | bad_request 400 "relative target"
printf 'GET /hello.txt HTTP/1.1\r\nBad Header\r\n\r\n' |
    bad_request 400 "header without colon"
printf 'GET /hello\x00.txt HTTP/1.1\r\n\r\n' | bad_request 400 "NUL in target"
printf 'DELETE /hello.txt HTTP/1.1\r\n\r\n' | bad_request 405 "DELETE"
printf 'GET /hello.txt HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello' |
    bad_request 413 "request body"
printf 'GET /%s HTTP/1.1\r\n\r\n' "$(head -c 3000 /dev/zero | tr '\0' a)" |
    bad_request 414 "3000-byte target"
printf 'GET / HTTP/1.1\r\nX-A: %s\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' a)" |
    bad_request 431 "20000-byte header"
head -c $((1024 * 1024)) /dev/zero | tr '\0' A | bad_request 431 "1 MiB without CRLF"
printf 'GET /hello.txt HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' |
    bad_request 501 "chunked request"
printf 'ABCDEFGHIJKLMNOPQRSTUVWXYZ /hello.txt HTTP/1.1\r\n\r\n' |
    bad_request 501 "26-byte method"
printf 'GET /hello.txt HTTP/2.0\r\n\r\n' | bad_request 505 "HTTP/2.0"
still_serves "after malformed requests"

# --- 2000 idle TCP connections ------------------------------------------------
NIDLE=2000
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((NIDLE + 200)) ]; then
	NIDLE=$(($(ulimit -Hn) - 200))
	note "hard descriptor limit $(ulimit -Hn): $NIDLE idle connections"
fi
ulimit -n $((NIDLE + 200)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fds0=$(ls /proc/"$SPID"/fd | wc -l)
mkfifo "$WORK/idle.ctl"
python3 "$HERE/idle_conns.py" 127.0.0.1 "$PORT" "$NIDLE" \
    <"$WORK/idle.ctl" >"$WORK/idle.out" 2>&1 &
IDLEPID=$!
BGPIDS+=($IDLEPID)
exec 7>"$WORK/idle.ctl"
for _ in $(seq $((300 * SLOWDOWN))); do
	grep -q 'connected\|failed' "$WORK/idle.out" && break
	sleep 0.1
done
grep -q "connected $NIDLE" "$WORK/idle.out"
ok $? "$NIDLE idle connections open ($(head -1 "$WORK/idle.out"))"
sleep 0.5
active=$(stats_json | jget 'd["sim_server"]["active"]')
[ "$active" -ge "$NIDLE" ]
ok $? "server holds them ($active active)"
still_serves "with $NIDLE idle connections"
exec 7>&-
for _ in $(seq 100); do
	grep -q closed "$WORK/idle.out" && break
	sleep 0.1
done
wait "$IDLEPID"
for _ in $(seq 100); do
	active=$(stats_json | jget 'd["sim_server"]["active"]')
	# The slow reader may still be there.
	[ "$active" -le 1 ] && break
	sleep 0.1
done
fds1=$(ls /proc/"$SPID"/fd | wc -l)
[ "$active" -le 1 ] && [ "$fds1" -le "$fds0" ]
ok $? "idle connections gone: $active active, $fds1 descriptors (before: $fds0)"

# --- the slow reader -----------------------------------------------------------
wait "$SLOWPID"
rc=$?
[ "$rc" -eq 0 ] && [ "$(sha "$WORK/slow.out")" = "$R4M_SHA" ]
ok $? "slow reader (--limit-rate 200k, 4 MiB) got r4m intact (curl exit $rc)"

# --- counters at /stats ----------------------------------------------------------
timeout 10 curl -sS --http1.1 --cacert "$CERT.pem" -D "$WORK/stats.hdr" \
    -o "$WORK/stats.json" "https://127.0.0.1:$PORT/stats"
grep -qi '^content-type: application/json' "$WORK/stats.hdr" &&
    jget 'd["sim_server"]["accepted"] > 2000 and
	d["sim_server"]["responses"]["4xx"] >= 9 and
	d["sim_server"]["responses"]["5xx"] >= 3 and
	d["kern.ipc.tls"]["stats.offload_total"] > 0 and
	d["kern.ipc.tls"]["sw.gcm"] > 0' <"$WORK/stats.json" | grep -q True
ok $? "/stats: JSON counters (accepted, responses, kern.ipc.tls)"
srv_stop_check "main"

# --- write path: a killed client; KeyUpdate -------------------------------------
srv_start write "${SARGS[@]}" --no-sendfile || ok 1 "write server starts"
kill_mid "write, killed mid-transfer" 2>/dev/null

# keyupdate LETTER: a request, the s_client command, a second request.
keyupdate() {
	{
		printf 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n'
		sleep 0.5
		echo "$1"
		sleep 0.5
		printf 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
		sleep 1
	} | sclient -tls1_3 >"$WORK/ku.out" 2>"$WORK/ku.err"
	grep -c '^hello$' "$WORK/ku.out"
}
got=$(keyupdate k)
[ "$got" = 2 ] && grep -q 'KeyUpdate (update_not_requested): receive key updated' "$LOG"
ok $? "KTLS, KeyUpdate update_not_requested (k): connection goes on ($got responses)"
got=$(keyupdate K)
[ "$got" = 1 ] &&
    grep -q 'KeyUpdate (update_requested): KTLS transmit cannot rekey' "$LOG" &&
    grep -q 'closed (KeyUpdate refused)' "$LOG" &&
    ! grep -q 'unexpected eof' "$WORK/ku.err"
ok $? "KTLS, KeyUpdate update_requested (K): logged, closed with close_notify ($got responses)"
[ "$(stats_json | jget 'd["sim_server"]["key_updates_refused"]')" = 1 ]
ok $? "key_updates_refused counted"
still_serves "after KeyUpdate"
srv_stop_check "write"

srv_start userland "${SARGS[@]}" --mode userland || ok 1 "userland server starts"
got=$(keyupdate K)
[ "$got" = 2 ] && grep -q 'KeyUpdate (update_requested), handled by libssl' "$LOG"
ok $? "userland, KeyUpdate update_requested (K): libssl rekeys ($got responses)"
srv_stop_check "userland"

finish
