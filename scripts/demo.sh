#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Install dependencies, build, and run the ktlsim demo: sim_server on its
# embedded defaults serving a file to openssl s_client through the
# simulated kernel.
#
# Usage: scripts/demo.sh [SIM_SERVER_ARGS...]
#
set -euo pipefail

cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}

log() {
	printf 'demo.sh: %s\n' "$*" >&2
}

# ---------------------------------------------------------------------------
# run_demo: THE demo.  Everything demo-specific lives in this one function
# and the helpers right above it.
#
# sim_server on its embedded defaults (generated certificate and document
# root, 127.0.0.1:8443, --mode sw; another free port if 8443 is taken), with
# record traces; `openssl s_client` fetches /random.bin (4 MiB); its SHA-256
# must equal the served file's.  Then a per-record summary of what the
# simulated kernel sent, and tshark decrypting the pcapng trace with the
# key log the trace carries.  Exit 0 only if the hash matched.
# ---------------------------------------------------------------------------

# demo_wait_listen LOG PID: wait (10 s at most) for "listening on"; 0 if up.
demo_wait_listen() {
	local i
	for i in $(seq 200); do
		grep -q 'listening on' "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# demo_summary TRACE.jsonl: one line per record (the first and last few).
demo_summary() {
	python3 - "$1" <<'PY'
import json, sys
types = {20: "change_cipher_spec", 21: "alert", 22: "handshake",
         23: "application_data"}
recs, segs, wire = [], 0, 0
with open(sys.argv[1]) as f:
    for line in f:
        e = json.loads(line)
        if e.get("ev") == "framed":
            recs.append(e)
        elif e.get("ev") == "segment" and e.get("dir", "s2c") == "s2c":
            segs += 1
            wire += e.get("len", 0)
def show(e):
    t = e.get("inner_type") or e.get("type")
    print("  seq %4d  %-18s plaintext %5d -> record %5d bytes "
          "(header %d, trailer %d)" % (e["seq"], types.get(t, t),
          e["plen"], e["reclen"], e["hdrlen"], e["trllen"]))
if not recs:
    print("  (no records in the trace)")
    sys.exit(0)
head, tail = recs[:5], recs[5:][-3:]
for e in head:
    show(e)
if len(recs) > 8:
    print("  ... %d more records ..." % (len(recs) - 8))
for e in tail:
    show(e)
full = sum(1 for e in recs if e["plen"] == 16384)
print("  %d records (%d full 16 KiB ones), %d plaintext bytes, %d record "
      "bytes, %d TCP segments" % (len(recs), full,
      sum(e["plen"] for e in recs), sum(e["reclen"] for e in recs), segs))
PY
}

run_demo() {
	local server="$BUILD_DIR/sim/sim_server" dir log out root port help
	local want got rc tool trace_args=()

	if [ ! -x "$server" ]; then
		log "$server was not built"
		return 1
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/ktlsim-demo.XXXXXX")
	log=$dir/server.log
	out=$dir/server.out
	DEMO_PID=
	DEMO_DIR=$dir
	# Always stop the server and clean up, whatever happens.
	trap 'if [ -n "$DEMO_PID" ]; then kill "$DEMO_PID" 2>/dev/null; fi;
	    rm -rf "$DEMO_DIR"' EXIT
	# (pipefail: --help exits 2, so look at its text, not the pipeline.)
	help=$("$server" --help 2>&1 || true)
	if [[ $help == *--trace* ]]; then
		trace_args=(--trace "$dir/demo.jsonl" --trace "$dir/demo.txt"
		    --trace "$dir/demo.pcapng")
	fi

	log "starting $server (embedded defaults)"
	"$server" "${trace_args[@]}" "$@" >"$out" 2>"$log" &
	DEMO_PID=$!
	if ! demo_wait_listen "$log" "$DEMO_PID"; then
		wait "$DEMO_PID" 2>/dev/null
		log "default port busy? ($(tail -1 "$log")); trying a free port"
		"$server" --listen 127.0.0.1:0 "${trace_args[@]}" "$@" >"$out" \
		    2>"$log" &
		DEMO_PID=$!
		if ! demo_wait_listen "$log" "$DEMO_PID"; then
			log "sim_server did not start: $(tail -3 "$log")"
			return 1
		fi
	fi
	port=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\),.*/\1/p' "$log")
	root=$(sed -n 's/.*, root \([^ ]*\),.*/\1/p' "$log")
	sed -n '/listening on/s/^[^ ]* //p' "$log"

	log "openssl s_client: GET /random.bin from 127.0.0.1:$port"
	printf 'GET /random.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
	    timeout 30 openssl s_client -quiet -connect "127.0.0.1:$port" \
	    -servername localhost -CAfile "$(dirname "$root")/cert.pem" \
	    -verify_return_error >"$dir/response" 2>"$dir/s_client.err"
	rc=$?
	[ "$rc" -eq 0 ] || log "s_client exit $rc: $(tail -2 "$dir/s_client.err")"
	# The body follows the blank line after the header.
	python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(d.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in d else b"")
' "$dir/response" >"$dir/random.bin"
	head -1 "$dir/response" | tr -d '\r' | sed 's/^/  /'
	want=$(sha256sum "$root/random.bin" | cut -d' ' -f1)
	got=$(sha256sum "$dir/random.bin" | cut -d' ' -f1)
	echo "  served   $want  $(stat -c %s "$root/random.bin") bytes"
	echo "  received $got  $(stat -c %s "$dir/random.bin") bytes"

	sleep 0.3 # the close line
	log "stopping sim_server"
	kill "$DEMO_PID"
	wait "$DEMO_PID" 2>/dev/null
	DEMO_PID=
	echo "sim_server's per-connection log:"
	grep ' closed (' "$log" | sed 's/^[^ ]* sim_server: /  /'

	if [ -s "$dir/demo.jsonl" ]; then
		echo "What the simulated kernel sent (from --trace demo.jsonl):"
		tool=$(find "$BUILD_DIR" -name ktls_trace -type f -perm -u+x \
		    2>/dev/null | head -1)
		if [ -n "$tool" ]; then
			# The first records, then its verdict (the last line).
			timeout 60 "$tool" "$dir/demo.jsonl" >"$dir/summary" 2>&1 ||
			    true
			if [ "$(wc -l <"$dir/summary")" -gt 12 ]; then
				head -n 8 "$dir/summary"
				echo "  ... $(($(wc -l <"$dir/summary") - 11)) more records ..."
				tail -n 3 "$dir/summary"
			else
				cat "$dir/summary"
			fi
		else
			demo_summary "$dir/demo.jsonl"
		fi
		if command -v tshark >/dev/null 2>&1; then
			echo "tshark, decrypting demo.pcapng with its Decryption Secrets Block:"
			timeout 60 tshark -r "$dir/demo.pcapng" -Y http \
			    -T fields -e tcp.stream -e http.request.method \
			    -e http.request.uri -e http.response.code \
			    -e http.content_length 2>/dev/null |
			    sed 's/^/  /' || true
		fi
	fi

	if [ -n "$got" ] && [ "$got" = "$want" ]; then
		log "SHA-256 matches: every byte s_client read was framed and encrypted by the simulated kernel"
		return 0
	fi
	log "SHA-256 MISMATCH"
	return 1
}

bash scripts/setup.sh
run_demo "$@"
