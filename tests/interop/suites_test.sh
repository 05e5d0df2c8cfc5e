#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Every cipher suite OpenSSL 3.0's s_client and curl negotiate that ktls(4)
# can take over, against sim_server in --mode sw: files of 1, 16383, 16384
# and 16385 bytes by sendfile and by write (--no-sendfile), fetched by
# curl (keep-alive, one connection) and by openssl s_client (pipelined,
# one connection), compared by SHA-256; plus a 64 MiB + 4097 byte file for
# a subset that covers every TLS version, every cipher family (AES-GCM,
# ChaCha20-Poly1305, AES-CBC) and both send paths, alternating clients.
# The server's log must show the suite and ktls=SW for every connection.
#
# Usage: suites_test.sh /path/to/sim_server
# Environment: INTEROP_FULL=1 fetches the 64 MiB file in every case.
#
. "$(dirname "$0")/lib.sh"

FULL=${INTEROP_FULL:-0}
ROOT=$WORK/www
mkdir -p "$ROOT"
SMALL=(1 16383 16384 16385)
for s in "${SMALL[@]}"; do
	mkfile "$ROOT/f$s" "$s"
done
BIG=$((64 * 1024 * 1024 + 4097))
mkfile "$ROOT/big" "$BIG"
declare -A SHA
for f in "$ROOT"/*; do
	SHA[$(basename "$f")]=$(sha "$f")
done
make_cert ec "$WORK/ec" && make_cert rsa "$WORK/rsa"
ok $? "test certificates (EC P-256, RSA 2048)"

# The 64 MiB subset: "version suite mode" -> client.
declare -A BIGCASE=(
	["1.3 TLS_AES_128_GCM_SHA256 sendfile"]=curl
	["1.3 TLS_AES_256_GCM_SHA384 write"]=s_client
	["1.3 TLS_CHACHA20_POLY1305_SHA256 sendfile"]=s_client
	["1.2 ECDHE-RSA-AES128-GCM-SHA256 write"]=curl
	["1.2 ECDHE-ECDSA-AES256-GCM-SHA384 sendfile"]=s_client
	["1.2 ECDHE-ECDSA-CHACHA20-POLY1305 sendfile"]=curl
	["1.2 ECDHE-RSA-CHACHA20-POLY1305 write"]=s_client
	["1.2 ECDHE-ECDSA-AES256-SHA384 sendfile"]=s_client
	["1.2 ECDHE-RSA-AES128-SHA256 write"]=curl
	["1.2 ECDHE-RSA-AES256-SHA write"]=s_client
	["1.1 ECDHE-ECDSA-AES128-SHA sendfile"]=curl
	["1.1 ECDHE-RSA-AES256-SHA write"]=s_client
	["1.0 ECDHE-RSA-AES256-SHA write"]=s_client
	["1.0 ECDHE-ECDSA-AES128-SHA sendfile"]=curl
)

# fetch_curl VER SUITE FILES...: one curl, keep-alive; prints "name sha".
fetch_curl() {
	local ver=$1 suite=$2 f args=()
	shift 2
	case $ver in
	1.3) args=(--tlsv1.3 --tls13-ciphers "$suite") ;;
	1.2) args=(--tlsv1.2 --tls-max 1.2 --ciphers "$suite") ;;
	*) args=(--tlsv"$ver" --tls-max "$ver" --ciphers "$suite:@SECLEVEL=0") ;;
	esac
	for f in "$@"; do
		args+=(-o "$WORK/c.$f" "https://127.0.0.1:$PORT/$f")
	done
	rm -f "$WORK"/c.*
	timeout "$(t 60)" curl -sS --http1.1 --cacert "$CERT.pem" "${args[@]}" ||
	    note "curl exit $?" >&2
	for f in "$@"; do
		if [ -f "$WORK/c.$f" ]; then
			echo "$f $(sha "$WORK/c.$f")"
		else
			echo "$f missing"
		fi
	done
}

# fetch_s_client VER SUITE FILES...: pipelined requests on one connection.
fetch_s_client() {
	local ver=$1 suite=$2 f args=() last
	shift 2
	case $ver in
	1.3) args=(-tls1_3 -ciphersuites "$suite") ;;
	1.2) args=(-tls1_2 -cipher "$suite") ;;
	1.1) args=(-tls1_1 -cipher "$suite:@SECLEVEL=0") ;;
	1.0) args=(-tls1 -cipher "$suite:@SECLEVEL=0") ;;
	esac
	last=${*: -1}
	: >"$WORK/req"
	for f in "$@"; do
		if [ "$f" = "$last" ]; then
			printf 'GET /%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$f"
		else
			printf 'GET /%s HTTP/1.1\r\nHost: localhost\r\n\r\n' "$f"
		fi
	done >"$WORK/req"
	timeout "$(t 60)" openssl s_client -quiet -connect "127.0.0.1:$PORT" \
	    -servername localhost -verify_return_error -CAfile "$CERT.pem" \
	    "${args[@]}" <"$WORK/req" >"$WORK/s.out" 2>"$WORK/s.err" ||
	    note "s_client exit $?: $(grep -v '^depth\|^verify return' \
	    "$WORK/s.err" | head -2)" >&2
	paste -d' ' <(printf '%s\n' "$@") \
	    <(http_split "$WORK/s.out" | awk '{ print $3 }')
}

# check_fetch TAG OUTPUT: every "name sha" line matches the file.
check_fetch() {
	local tag=$1 out=$2 name got bad=0 count=0
	while read -r name got; do
		count=$((count + 1))
		if [ -z "$name" ] || [ "$got" != "${SHA[$name]:-none}" ]; then
			note "$tag: $name: got ${got:-nothing}"
			bad=1
		fi
	done <<<"$out"
	[ "$count" -gt 0 ] && [ "$bad" -eq 0 ]
}

suite_case() {
	local ver=$1 suite=$2 cert=$3 mode=$4 tag sargs big out nconn
	tag="TLS $ver $suite ($mode)"
	CERT=$WORK/$cert
	sargs=(--cert "$CERT.pem" --key "$CERT.key" --root "$ROOT")
	case $ver in
	1.3) sargs+=(--tls1.3 --ciphersuites "$suite") ;;
	1.2) sargs+=(--tls1.2 --ciphers "$suite") ;;
	1.1) sargs+=(--tls1.1 --ciphers "$suite:@SECLEVEL=0") ;;
	1.0) sargs+=(--tls1 --ciphers "$suite:@SECLEVEL=0") ;;
	esac
	[ "$mode" = write ] && sargs+=(--no-sendfile)
	if ! srv_start "case" "${sargs[@]}"; then
		ok 1 "$tag: server starts"
		return
	fi
	out=$(fetch_curl "$ver" "$suite" f1 f16383 f16384 f16385)
	check_fetch "$tag curl" "$out"
	ok $? "$tag: curl 1, 16383, 16384, 16385 bytes"
	out=$(fetch_s_client "$ver" "$suite" f1 f16383 f16384 f16385)
	check_fetch "$tag s_client" "$out"
	ok $? "$tag: s_client 1, 16383, 16384, 16385 bytes"
	big=${BIGCASE["$ver $suite $mode"]:-}
	if [ -z "$big" ] && [ "$FULL" = 1 ]; then
		big=curl
	fi
	if [ -n "$big" ]; then
		out=$("fetch_$big" "$ver" "$suite" big)
		check_fetch "$tag $big" "$out"
		ok $? "$tag: $big 64 MiB + 4097 bytes"
	fi
	# Every connection was handed to the kernel, under this suite.
	sleep 0.1
	nconn=$(grep -c " closed (" "$LOG")
	[ "$nconn" -ge 2 ] &&
	    [ "$(grep " closed (" "$LOG" | grep -c "$suite tx=kernel ktls=SW")" -eq "$nconn" ] &&
	    ! grep -q 'KTLS off' "$LOG"
	ok $? "$tag: log shows $suite, ktls=SW on all $nconn connections"
	srv_stop
	ok "$STATUS" "$tag: server exit status"
}

TLS13=(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384
    TLS_CHACHA20_POLY1305_SHA256)
TLS12_EC=(ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384
    ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-SHA
    ECDHE-ECDSA-AES256-SHA ECDHE-ECDSA-AES128-SHA256
    ECDHE-ECDSA-AES256-SHA384)
TLS12_RSA=(ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384
    ECDHE-RSA-CHACHA20-POLY1305 ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA
    ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA384)
LEGACY_EC=(ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA)
LEGACY_RSA=(ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA)

for mode in sendfile write; do
	for s in "${TLS13[@]}"; do
		suite_case 1.3 "$s" ec "$mode"
	done
	for s in "${TLS12_EC[@]}"; do
		suite_case 1.2 "$s" ec "$mode"
	done
	for s in "${TLS12_RSA[@]}"; do
		suite_case 1.2 "$s" rsa "$mode"
	done
	for v in 1.1 1.0; do
		for s in "${LEGACY_EC[@]}"; do
			suite_case "$v" "$s" ec "$mode"
		done
		for s in "${LEGACY_RSA[@]}"; do
			suite_case "$v" "$s" rsa "$mode"
		done
	done
done

finish
