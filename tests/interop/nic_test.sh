#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# sim_server --mode nic against real clients (docs/sim_server.md, "NIC
# mode"): the simulated connection loses 5% of its segments and reorders
# 2% on the link, the NIC re-synchronises for the retransmissions, and the
# client still reads the file byte for byte.
#
#   - openssl s_client and curl, TLS 1.3 and TLS 1.2 AES-GCM on mlx5, and
#     curl with TLS 1.2 AES-CBC on t6: byte-exact; the pcapng trace
#     decrypts in tshark, with no option, to the same bytes
#     (docs/trace-format.md, "pcapng"); ktls_trace validates the pcapng
#     and the JSON lines; the stats show NIC resyncs, TCP retransmissions
#     and no plaintext segment.  The s_client transfers keep FreeBSD's
#     kern.ipc.tls.ifnet_max_rexmit_pct (2%), which sends them back to
#     software early; the others raise it to 100 and stay on the NIC.
#   - TLS 1.2 AES-CBC: mlx5 refuses the tag and the connection falls back
#     to software (ktls_try_ifnet() fails)
#   - a client that does not read for a while: the link's receiver stops,
#     its window closes and reopens, nothing is lost
#   - --route-flip-every between two NICs: tag resets, byte-exact; to a
#     plain interface: FreeBSD drops the connection (ktls_reset_send_tag()
#     cannot get a tag), and no plaintext leaves
#   - bad option values are refused with a reason
#
# usage: nic_test.sh SIM_SERVER KTLS_TRACE [FILE_SIZE]
# The default size is 4 MiB; the 'slow' suite runs 64 MiB (NewReno over 5%
# loss in real time: about 80 s per transfer, docs/running.md).
# NIC_TEST_SEED=N: the links' seed (sim_server --seed, default 1).

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
KTLS_TRACE=${1:?usage: $0 SIM_SERVER KTLS_TRACE [SIZE]}
SIZE=${2:-4194304}
# A transfer's time limit: 64 MiB takes about 80 s on 2 CPUs.
XFER=$((60 + SIZE / 400000))

for tool in curl openssl python3 tshark; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "nic_test: $tool is not installed (scripts/setup.sh)"
		exit 77
	}
done

ROOT=$WORK/www
mkdir -p "$ROOT"
mkfile "$ROOT/f.bin" "$SIZE"
mkfile "$ROOT/small.bin" 3000000
# Bigger than what the real sockets' buffers hold between server and client.
mkfile "$ROOT/slow.bin" $((16 * 1048576))
make_cert ec "$WORK/c"
SEED=${NIC_TEST_SEED:-1}
FAULTS=(--loss 0.05 --reorder 0.02 --seed "$SEED")
note "links seeded $SEED (NIC_TEST_SEED)"
# A NIC session that stays on the NIC however much it retransmits.
ON_NIC=(--sysctl kern.ipc.tls.ifnet_max_rexmit_pct=100)

# final_json: the counters sim_server printed at exit (the last dump).
final_json() {
	awk '/^{/ { buf = "" } { buf = buf $0 "\n" } /^}/ { last = buf }
	    END { printf "%s", last }' "$OUT"
}

# get_s_client NAME FILE ARGS...: the response to GET /FILE in NAME.resp.
get_s_client() {
	local name=$1 file=$2
	shift 2
	printf 'GET /%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
	    "$file" | timeout "$(t "$XFER")" openssl s_client -quiet \
	    -ign_eof -connect "127.0.0.1:$PORT" -servername localhost \
	    -CAfile "$WORK/c.pem" "$@" >"$WORK/$name.resp" 2>/dev/null
	http_split "$WORK/$name.resp" | awk '{ print $3 }'
}

# get_curl NAME FILE ARGS...: the body of /FILE in NAME.body.
get_curl() {
	local name=$1 file=$2
	shift 2
	timeout "$(t "$XFER")" curl -sS --http1.1 --cacert "$WORK/c.pem" \
	    "$@" -o "$WORK/$name.body" "https://localhost:$PORT/$file" \
	    2>"$WORK/$name.curl"
	sha "$WORK/$name.body" 2>/dev/null
}

# serve NAME SERVER_ARGS...
serve() {
	local name=$1
	shift
	srv_start "$name" --root "$ROOT" --cert "$WORK/c.pem" \
	    --key "$WORK/c.key" --mode nic "$@"
}

# traced NAME CLIENT IFACE SERVER_ARGS... -- CLIENT_ARGS...: a transfer
# with faults and traces whose segments leave by IFACE, and every check on
# it.
traced() {
	local name=$1 client=$2 iface=$3 got want start secs objs
	local -a sargs=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		sargs+=("$1")
		shift
	done
	shift
	want=$(sha "$ROOT/f.bin")
	serve "$name" "${FAULTS[@]}" "${sargs[@]}" \
	    --trace "$WORK/$name.pcapng" --trace "$WORK/$name.jsonl" || {
		ok 1 "$name: server starts"
		return
	}
	start=$(date +%s)
	got=$("get_$client" "$name" f.bin "$@")
	secs=$(($(date +%s) - start))
	[ "$got" = "$want" ]
	ok $? "$name: $client received $SIZE bytes intact over the lossy link ($secs s)"
	srv_stop
	ok "$STATUS" "$name: sim_server exits cleanly"
	final_json >"$WORK/$name.json"
	python3 - "$WORK/$name.json" "$iface" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n, tcp, kern = d["nic"], d["net.inet.tcp.stats"], d["kern.ipc.tls"]
e = n["engine"]
print("# nic: %d resync events (%d bytes), %d plaintext segments; tcp: %d "
      "retransmitted segments, %d timeouts; link lost %d of %d; "
      "ifnet_max_rexmit_pct %d, back to software %d" %
      (e["resync_events"], e["dma_bytes_resync"], n["plaintext_segments"],
       tcp["tcps_sndrexmitpack"], tcp["tcps_rexmttimeo"],
       n["link_totals"]["data_lost_random"], n["link_totals"]["data_sent"],
       n["ifnet_max_rexmit_pct"], kern["stats.ifnet_disable_ok"]))
assert d["sim_server"]["mode"] == "nic", d["sim_server"]["mode"]
assert n["ifnet_sessions"] == 1, n
assert e["tag_allocs"] >= 1, e
if sys.argv[2] == "cc0":
    assert e["t6_records"] > 0, e  # t6 built the records
assert e["resync_events"] > 0, "no resync"
assert n["plaintext_segments"] == 0, "plaintext on the wire"
assert n["ifnet"]["untagged_tls_bytes"] == 0 and e["untagged_tls_bytes"] == 0
assert e["hw_state_errors"] == 0, e
assert tcp["tcps_sndrexmitpack"] > 0, "no retransmission"
assert n["link_totals"]["data_lost_random"] > 0, "no loss"
assert n["link_totals"]["rcv_mismatch_segs"] == 0, "retransmission differed"
# A NIC that sees this much loss is given up for software once
# (kern.ipc.tls.ifnet_max_rexmit_pct), as FreeBSD does; at 100 never.
want = 0 if n["ifnet_max_rexmit_pct"] == 100 else 1
assert kern["stats.ifnet_disable_ok"] == want, kern["stats.ifnet_disable_ok"]
PY
	ok $? "$name: stats: resyncs, retransmissions, no plaintext segment"

	# tshark decrypts the pcapng with its Decryption Secrets Block and
	# nothing else (docs/trace-format.md, "pcapng").
	objs=$WORK/$name.objs
	rm -rf "$objs" && mkdir "$objs"
	start=$(date +%s)
	timeout "$(t "$XFER")" tshark -r "$WORK/$name.pcapng" -q \
	    --export-objects "http,$objs" >/dev/null 2>&1
	secs=$(($(date +%s) - start))
	got=$(sha "$objs/f.bin" 2>/dev/null)
	[ "$got" = "$want" ]
	ok $? "$name: tshark decrypts the pcapng to the same bytes with no option ($secs s)"
	rm -rf "$objs"

	timeout "$(t "$XFER")" "$KTLS_TRACE" -q "$WORK/$name.jsonl" \
	    "$WORK/$name.pcapng" >"$WORK/$name.kt" 2>&1
	ok $? "$name: ktls_trace validates both dumps: $(tail -1 "$WORK/$name.kt")"
	python3 - "$WORK/$name.jsonl" "$iface" <<'PY'
import json, sys
segs = [json.loads(l) for l in open(sys.argv[1]) if '"segment"' in l]
segs = [s for s in segs if s.get("ev") == "segment"]
rx = sum(1 for s in segs if s["rexmit"])
rs = sum(1 for s in segs if s.get("resync"))
print("# trace: %d segments, %d retransmitted, %d resync" % (len(segs), rx, rs))
assert rx > 0 and rs > 0
assert all(s["iface"] == sys.argv[2] for s in segs), {s["iface"] for s in segs}
assert not any(s.get("plaintext") for s in segs)
PY
	ok $? "$name: the trace shows retransmissions and resyncs on $iface"
	rm -f "$WORK/$name.pcapng" "$WORK/$name.jsonl" "$WORK/$name.body" \
	    "$WORK/$name.resp"
}

# Each transfer mostly waits for the link's real-time delays and
# retransmission timeouts: they run side by side (lib.sh group), and the
# shorter checks below one after another beside them.
group tls13_s_client traced tls13_s_client s_client mce0 --tls1.3 -- \
    -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384
group tls13_curl traced tls13_curl curl mce0 --tls1.3 "${ON_NIC[@]}" -- \
    --tlsv1.3
group tls12_s_client traced tls12_s_client s_client mce0 --tls1.2 -- \
    -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
group tls12_curl traced tls12_curl curl mce0 --tls1.2 "${ON_NIC[@]}" -- \
    --tlsv1.2 --tls-max 1.2
# AES-CBC with HMAC-SHA256: offloaded by t6 (cc0), not by mlx5 (below).
group cbc_t6 traced cbc_t6 curl cc0 --nic t6 --tls1.2 \
    --ciphers ECDHE-ECDSA-AES128-SHA256 "${ON_NIC[@]}" -- --tls-max 1.2

# TLS 1.2 AES-CBC on mlx5: the NIC refuses the tag, ktls_try_ifnet()
# fails and the connection is software, as FreeBSD falls back.
cbc_mlx5() {
	local got
	serve cbc_mlx5 --nic mlx5 "${FAULTS[@]}" --tls1.2 \
	    --ciphers ECDHE-ECDSA-AES128-SHA256 || true
	got=$(get_curl cbc_mlx5 small.bin --tls-max 1.2)
	[ "$got" = "$(sha "$ROOT/small.bin")" ]
	ok $? "cbc on mlx5: curl received the file intact"
	srv_stop
	final_json | python3 -c '
import json, sys
d = json.load(sys.stdin); n = d["nic"]; e = n["engine"]
print("# ifnet sessions %d, sw %d, tag failures %d" % (n["ifnet_sessions"],
    n["sw_sessions"], e["tag_alloc_failures"]))
assert n["plaintext_segments"] == 0
assert n["sw_sessions"] == 1 and e["tag_alloc_failures"] >= 1, n
assert e["tx_tls_requests"] == 0, e
'
	ok $? "cbc on mlx5: falls back to software"
}

# Flow control: a reader that waits 3 s before it reads fills its socket;
# the link's receiver must stop (no unbounded buffering) and resume.
slow_reader() {
	serve slow || true
	python3 - "$PORT" slow.bin "$WORK/c.pem" >"$WORK/slow.out" 2>&1 <<'PY'
import hashlib, socket, ssl, sys, time
port, path, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
s.settimeout(60)
s.connect(("127.0.0.1", port))
t = ctx.wrap_socket(s, server_hostname="localhost")
t.sendall(("GET /%s HTTP/1.1\r\nHost: localhost\r\nConnection: close"
           "\r\n\r\n" % path).encode())
time.sleep(3)
buf = bytearray()
while True:
    d = t.recv(1 << 16)
    if not d:
        break
    buf += d
print(hashlib.sha256(buf[buf.index(b"\r\n\r\n") + 4:]).hexdigest())
PY
	[ "$(cat "$WORK/slow.out")" = "$(sha "$ROOT/slow.bin")" ]
	ok $? "slow reader: the file arrives intact"
	srv_stop
	final_json | python3 -c '
import json, sys
d = json.load(sys.stdin); n = d["nic"]; tcp = d["net.inet.tcp.stats"]
print("# client socket full %d times, %d window updates, %d bytes beyond "
      "the window" % (n["client_socket_full"], tcp["tcps_rcvwinupd"],
      n["link_totals"]["rcv_wnd_trimmed"]))
assert n["client_socket_full"] > 0 and tcp["tcps_rcvwinupd"] > 0
assert n["link_totals"]["rcv_wnd_trimmed"] == 0
'
	ok $? "slow reader: the receiver stopped, its window reopened, the sender kept to it"
}

# Route flips between two TLS NICs: every flip resets the tag.
route_flips() {
	local got
	serve flip --route-flip-every 200 --route-flip-to t6 --tls1.2 || true
	got=$(get_curl flip small.bin)
	[ "$got" = "$(sha "$ROOT/small.bin")" ]
	ok $? "route flips mlx5 <-> t6: curl received the file intact"
	srv_stop
	final_json | python3 -c '
import json, sys
d = json.load(sys.stdin); n = d["nic"]; k = d["kern.ipc.tls"]
print("# %d flips, %d tag resets, flip engine %d tags" % (n["route_flips"],
      k["ifnet.reset"], n["flip_engine"]["tag_allocs"]))
assert n["route_flips"] > 0 and k["ifnet.reset"] > 0
assert n["flip_engine"]["tag_allocs"] > 0 and n["plaintext_segments"] == 0
'
	ok $? "route flips: tags reset onto the other NIC, no plaintext"

	# To a plain interface: no tag there, so FreeBSD drops the connection.
	serve flip_plain --route-flip-every 200 --route-flip-to plain || true
	get_curl flip_plain small.bin >/dev/null
	srv_stop
	final_json | python3 -c '
import json, sys
d = json.load(sys.stdin); n = d["nic"]; k = d["kern.ipc.tls"]
print("# %d flips, reset failed %d, dropped %d" % (n["route_flips"],
      k["ifnet.reset_failed"], k["ifnet.reset_dropped"]))
assert k["ifnet.reset_dropped"] == 1 and n["plaintext_segments"] == 0
assert n["ifnet"]["untagged_tls_bytes"] == 0
'
	ok $? "route flip to a plain interface: connection dropped, no plaintext"
}

shorter() {
	cbc_mlx5
	slow_reader
	route_flips
}
group shorter shorter

# Bad values: exit 2 with a reason, before anything is served.
bad() {
	local want=$1 out
	shift
	out=$(timeout 10 "$SERVER" --listen 127.0.0.1:0 "$@" 2>&1 </dev/null)
	[ $? -eq 2 ] && printf '%s' "$out" | grep -q -- "$want"
	ok $? "refused: $* ($want)"
}
bad "expected a probability" --mode nic --loss 1.5
bad "expected a probability" --mode nic --reorder -0.1
bad "expected a probability" --mode nic --dup x
bad "expected 1.." --mode nic --route-flip-every 0
bad "expected mlx5, t6 or linux" --mode nic --nic e1000
bad "expected mlx5, t6, linux or plain" --mode nic --route-flip-every 5 \
    --route-flip-to foo
bad "needs --route-flip-every" --mode nic --route-flip-to plain
bad "need --mode nic" --loss 0.1
bad "unknown key" --mode nic --link bogus=1
bad "known: kern.ipc.tls.ifnet_max_rexmit_pct" --mode nic \
    --sysctl kern.ipc.tls.bogus=1
bad "expected 0..100" --mode nic \
    --sysctl kern.ipc.tls.ifnet_max_rexmit_pct=101
bad "expected NAME=VALUE" --mode nic --sysctl kern.ipc.tls.ifnet_max_rexmit_pct
bad "no simulated kernel" --mode userland \
    --sysctl kern.ipc.tls.ifnet_max_rexmit_pct=5

group_wait
finish
