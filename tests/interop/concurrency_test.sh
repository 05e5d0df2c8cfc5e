#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Many clients at once: 64 concurrent fetches of 64 different files (sizes
# from 1 byte to 4 MiB, so that records end at every kind of offset) from
# one sim_server, 44 by curl and 20 by openssl s_client, by sendfile and
# then by write; every body compared by SHA-256.  Afterwards the server
# must have no connection left, in its own counters and in the kernel's
# (kern.ipc.tls stats.active), and no more descriptors than before.
#
# Usage: concurrency_test.sh /path/to/sim_server
#
. "$(dirname "$0")/lib.sh"

NCLIENTS=64
NSCLIENT=20 # of which openssl s_client
ROOT=$WORK/www
mkdir -p "$ROOT"
declare -A SHA
for i in $(seq 0 $((NCLIENTS - 1))); do
	# Sizes spread over record and page boundaries: 1 B .. ~4 MiB.
	case $((i % 8)) in
	0) size=$((i + 1)) ;;
	1) size=$((16384 * (i % 5 + 1) + i - 4)) ;;
	2) size=$((4096 * i + 1)) ;;
	3) size=$((1024 * 1024 + i * 12345)) ;;
	4) size=$((16383 + i)) ;;
	5) size=$((3 * 1024 * 1024 - i * 777)) ;;
	6) size=$((65536 * i)) ;;
	7) size=$((300000 + i * 4099)) ;;
	esac
	mkfile "$ROOT/c$i" "$size"
	SHA[c$i]=$(sha "$ROOT/c$i")
done
CERT=$WORK/ec
make_cert ec "$CERT"

run_clients() {
	local tag=$1 i pids=() bad=0 got
	rm -f "$WORK"/out.*
	for i in $(seq 0 $((NCLIENTS - 1))); do
		if [ "$i" -lt "$NSCLIENT" ]; then
			printf 'GET /c%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$i" |
			    timeout "$(t 90)" openssl s_client -quiet \
			    -connect "127.0.0.1:$PORT" -servername localhost \
			    -CAfile "$CERT.pem" -verify_return_error \
			    >"$WORK/out.s$i" 2>/dev/null &
		else
			timeout "$(t 90)" curl -sS --http1.1 --cacert "$CERT.pem" \
			    -o "$WORK/out.$i" "https://127.0.0.1:$PORT/c$i" &
		fi
		pids+=($!)
		BGPIDS+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	BGPIDS=()
	for i in $(seq 0 $((NCLIENTS - 1))); do
		if [ "$i" -lt "$NSCLIENT" ]; then
			got=$(http_split "$WORK/out.s$i" | awk '{ print $3 }')
		else
			got=$(sha "$WORK/out.$i" 2>/dev/null)
		fi
		if [ "$got" != "${SHA[c$i]}" ]; then
			note "$tag: client $i (c$i, $(stat -c %s "$ROOT/c$i") bytes): wrong or missing body"
			bad=$((bad + 1))
		fi
	done
	ok "$bad" "$tag: $NCLIENTS concurrent clients ($NSCLIENT s_client, $((NCLIENTS - NSCLIENT)) curl), all bodies intact"
}

for mode in sendfile write; do
	args=(--cert "$CERT.pem" --key "$CERT.key" --root "$ROOT" --cpus 2)
	[ "$mode" = write ] && args+=(--no-sendfile)
	srv_start "$mode" "${args[@]}" || { ok 1 "$mode: server starts"; continue; }
	fds0=$(ls /proc/"$SPID"/fd | wc -l)
	t0=$(date +%s.%N)
	run_clients "$mode"
	t1=$(date +%s.%N)
	note "$mode: $(python3 -c "print('%.2f' % ($t1 - $t0))") s for $NCLIENTS clients"
	# Lingering kernel sockets finish on their own; give them a moment.
	for _ in $(seq 40); do
		js=$(stats_json)
		[ "$(echo "$js" | jget 'd["sim_server"]["active"] + d["kern.ipc.tls"]["stats.active"]')" = 0 ] && break
		sleep 0.1
	done
	echo "$js" | jget 'd["sim_server"]["active"] == 0 and d["kern.ipc.tls"]["stats.active"] == 0 and d["sim_server"]["tx"]["ktls_sw"]["connections"] >= '"$NCLIENTS" |
	    grep -q True
	ok $? "$mode: afterwards no connection and no KTLS session left; all $NCLIENTS were KTLS"
	fds1=$(ls /proc/"$SPID"/fd | wc -l)
	[ "$fds1" -le "$fds0" ]
	ok $? "$mode: descriptors back to $fds0 (now $fds1)"
	[ "$(grep -c ' closed (' "$LOG")" -eq "$NCLIENTS" ] &&
	    ! grep -q 'closed (\(write error\|wire error\|file read error\)' "$LOG"
	ok $? "$mode: $NCLIENTS close lines, none an error"
	srv_stop_check "$mode"
done

finish
