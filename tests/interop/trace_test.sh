#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Record traces of real sim_server sessions, checked by parties that share
# no code with the simulated kernel:
#   - tshark decrypts the pcapng with the Decryption Secrets Block it holds
#     (no key file, no options) and the HTTP bodies it exports have the
#     served files' SHA-256;
#   - the JSON-lines stream parses (python3's json), and its records, in
#     order, have exactly the lengths of the server's TLS records that
#     tshark dissected from the pcapng, and tile the server's byte stream;
#   - ktls_trace reads both dumps and validates every record against the
#     golden model.
# Sessions: TLS 1.3 AES-256-GCM by sendfile, TLS 1.2 ChaCha20 by write,
# TLS 1.2 AES-CBC-SHA384 by sendfile.
#
# Usage: trace_test.sh SIM_SERVER KTLS_TRACE

. "$(dirname "$0")/lib.sh"

KTLS_TRACE=${1:?usage: trace_test.sh SIM_SERVER KTLS_TRACE}
command -v tshark >/dev/null 2>&1 || {
	echo "trace_test: tshark is not installed (scripts/setup.sh installs it)"
	exit 1
}

ROOT=$WORK/www
mkdir -p "$ROOT" "$WORK/objs"
mkfile "$ROOT/big.bin" $((3 * 1048576 + 777))
mkfile "$ROOT/mid.bin" 100000
mkfile "$ROOT/small.bin" 16385
make_cert ec "$WORK/c"

# run NAME S_CLIENT_ARGS FILE SERVER_ARGS...
run() {
	local name=$1 cargs=$2 file=$3
	shift 3
	srv_start "$name" --root "$ROOT" --cert "$WORK/c.pem" \
	    --key "$WORK/c.key" --trace "$WORK/$name.pcapng" \
	    --trace "$WORK/$name.jsonl" "$@" || return 1
	# shellcheck disable=SC2086
	printf 'GET /%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
	    "$file" | timeout "$(t 60)" openssl s_client -quiet -ign_eof \
	    -connect "127.0.0.1:$PORT" -servername localhost \
	    -CAfile "$WORK/c.pem" $cargs >"$WORK/$name.resp" 2>/dev/null
	srv_stop
	ok "$STATUS" "$name: sim_server exits cleanly"
}

# check NAME FILE: the three independent checks on one session's dumps.
check() {
	local name=$1 file=$2 want got
	want=$(sha "$ROOT/$file")

	# s_client itself read the right bytes.
	got=$(http_split "$WORK/$name.resp" | awk '{ print $3 }')
	[ "$got" = "$want" ]
	ok $? "$name: s_client received $file intact"

	# tshark decrypts the pcapng on its own and exports the HTTP body.
	rm -rf "$WORK/objs" && mkdir "$WORK/objs"
	timeout "$(t 120)" tshark -r "$WORK/$name.pcapng" -q \
	    --export-objects "http,$WORK/objs" >/dev/null 2>&1
	got=$(sha "$WORK/objs/$file" 2>/dev/null)
	[ "$got" = "$want" ]
	ok $? "$name: tshark decrypts the pcapng, body SHA-256 matches"

	# Server-to-client TLS record lengths as tshark dissects them, after
	# the handshake flight (records the kernel sent are those after the
	# first application-data record's start in the JSON-lines stream).
	timeout "$(t 120)" tshark -r "$WORK/$name.pcapng" -o tls.desegment_ssl_records:TRUE \
	    -Y "tcp.srcport == $PORT && tls.record" -T fields \
	    -e tls.record.length >"$WORK/$name.reclens" 2>/dev/null
	python3 - "$WORK/$name.jsonl" "$WORK/$name.reclens" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
framed = [e for e in events if e.get("ev") == "framed"]
assert framed, "no framed events"
# The kernel's records tile its byte stream from offset 0, in seqno order.
framed.sort(key=lambda e: e["off"])
off, seq = 0, framed[0]["seq"]
for e in framed:
    assert e["off"] == off, ("gap or overlap at", e)
    assert e["seq"] == seq, ("seqno not consecutive", e)
    off += e["reclen"]
    seq += 1
ours = [e["reclen"] - 5 for e in framed]
wire = []
for line in open(sys.argv[2]):
    for v in line.strip().split(","):
        if v:
            wire.append(int(v))
# tshark lists every server record, handshake flight first: ours must be
# exactly the tail of what it saw.
assert len(wire) >= len(ours), (len(wire), len(ours))
assert wire[-len(ours):] == ours, ("record lengths differ",
    wire[-len(ours):][:8], ours[:8])
print("# %d kernel records, %d bytes, match tshark" % (len(ours), off))
PY
	ok $? "$name: JSON lines parse and match tshark's records"

	timeout "$(t 120)" "$KTLS_TRACE" -q "$WORK/$name.jsonl" \
	    "$WORK/$name.pcapng" >"$WORK/$name.kt" 2>&1
	ok $? "$name: ktls_trace validates both dumps: $(tail -1 "$WORK/$name.kt")"
}

run tls13 "-tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384" big.bin --tls1.3 &&
    check tls13 big.bin
run chacha "-tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305" mid.bin --tls1.2 \
    --no-sendfile && check chacha mid.bin
run cbc "-tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384" small.bin --tls1.2 &&
    check cbc small.bin

finish
