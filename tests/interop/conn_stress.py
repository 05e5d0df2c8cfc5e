#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Seeded stress driver for sim_server's connection state machine.

For each seed it draws a set of client scripts and runs them concurrently
against a running sim_server (started with --stats and --root ROOT), while
a mutator changes one served file under them.  A script is a TLS version,
a way to send (all at once, in small raw pieces with pauses, split inside
records), a list of pipelined requests (good, missing, HEAD, malformed,
the mutating file) and an ending: read everything, half-close with
close_notify, FIN without close_notify, reset at a random point, stop
reading for a while, corrupt a record, vanish during the handshake.

Checks, per seed: every client that reads to the end gets well-formed
responses whose bodies equal the served files (the mutating one only in
size); the server stays up and serves a good request afterwards; once the
clients are gone its active connection count falls back to the one
asking.  A failure prints the seed and the client's script, so that
`conn_stress.py --seed N` replays it (the timing of threads is not
replayed, the choices are).

Usage: conn_stress.py --port N --root DIR (--seed S ... | --seconds T)
"""

import argparse
import json
import os
import random
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402

FILES = ["hello.txt", "r64k", "m1", "r4m"]


def make_root(root):
    os.makedirs(root, exist_ok=True)
    sizes = {"hello.txt": None, "r64k": 65536 + 17, "m1": 1000 * 1000 + 7,
             "r4m": 4 * 1024 * 1024 + 123}
    for name, size in sizes.items():
        path = os.path.join(root, name)
        if os.path.exists(path):
            continue
        with open(path, "wb") as f:
            f.write(b"hello\n" if size is None else os.urandom(size))


class Script:
    """One client's choices, drawn from the seed."""

    def __init__(self, rng, idx):
        self.idx = idx
        self.version = rng.choice(["1.2", "1.3"])
        self.ending = rng.choice(
            ["read", "read", "read", "half_close", "fin", "reset_early",
             "reset_late", "stall", "corrupt", "handshake_vanish",
             "handshake_trickle"])
        self.send = rng.choice(["whole", "pieces", "records"])
        n = rng.choice([1, 1, 2, 3, 8, 40])
        self.reqs = []
        for i in range(n):
            kind = rng.choices(
                ["get", "head", "missing", "mut", "bad", "close"],
                weights=[10, 2, 2, 3, 1, 1])[0]
            self.reqs.append((kind, rng.choice(FILES)))
        self.reset_after = rng.randrange(1, 2 << 20)
        self.stall = rng.uniform(0.2, 2.0)
        self.piece = rng.choice([1, 7, 100, 1000])
        self.pause = rng.choice([0, 0.001, 0.02])

    def request_bytes(self):
        out = []
        for kind, name in self.reqs:
            if kind == "head":
                out.append(("HEAD /%s HTTP/1.1\r\nHost: x\r\n\r\n" % name))
            elif kind == "missing":
                out.append("GET /no-%s HTTP/1.1\r\nHost: x\r\n\r\n" % name)
            elif kind == "mut":
                out.append("GET /mut HTTP/1.1\r\nHost: x\r\n\r\n")
            elif kind == "bad":
                out.append("G\x01T /%s HTTP/1.1\r\n\r\n" % name)
            elif kind == "close":
                out.append("GET /%s HTTP/1.1\r\nHost: x\r\n"
                           "Connection: close\r\n\r\n" % name)
            else:
                out.append("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % name)
        return "".join(out).encode("latin-1")

    def expected(self):
        """The responses a reader gets: requests up to the first that
        closes (a malformed one, or Connection: close)."""
        exp = []
        for kind, name in self.reqs:
            exp.append((kind, name))
            if kind in ("bad", "close"):
                break
        return exp

    def __str__(self):
        return ("client %d: TLS %s, send %s (piece %d, pause %g), ending %s, "
                "requests %s" % (self.idx, self.version, self.send,
                                 self.piece, self.pause, self.ending,
                                 ",".join("%s:%s" % r for r in self.reqs)))


def send_raw(c, data, script):
    """Put records on the wire as the script says."""
    if script.send == "whole":
        c.sock.sendall(data)
        return
    step = script.piece if script.send == "pieces" else \
        max(1, len(data) // 3)
    for off in range(0, len(data), step):
        c.sock.sendall(data[off:off + step])
        if script.pause:
            time.sleep(script.pause)


def check_responses(data, script, digests, short_ok=False):
    """None if data holds the expected responses (a prefix of them when
    short_ok), else what is wrong."""
    exp = script.expected()
    resps, rest = hostile.parse_responses(
        data, {i for i, (k, _) in enumerate(exp) if k == "head"})
    if short_ok:
        exp = exp[:len(resps)]
    if len(resps) != len(exp):
        return "got %d responses, want %d (%d bytes left over)" % (
            len(resps), len(exp), len(rest))
    for (status, body), (kind, name) in zip(resps, exp):
        if kind == "bad":
            ok = status == 400
        elif kind == "missing":
            ok = status == 404
        elif kind == "head":
            ok = status == 200 and body == b""
        elif kind == "mut":
            ok = status in (200, 404)
        else:
            ok = status == 200 and hostile.sha(body) == digests[name]
        if not ok:
            return "%s %s: status %d, %d bytes" % (kind, name, status,
                                                   len(body))
    return None


def run_client(port, script, digests, failures, deadline):
    t0 = time.monotonic()
    try:
        problem = client_body(port, script, digests)
    except (OSError, ssl.SSLError, ConnectionError) as e:
        # Only scripts that must read everything may not see errors, and
        # not even those when a file shrank under a response: the server
        # can only close such a connection (it promised a Content-Length).
        mut = any(k == "mut" for k, _ in script.expected())
        problem = None if script.ending != "read" or mut else repr(e)
    script.elapsed = time.monotonic() - t0
    # A client that trickles its handshake or request for longer than the
    # server's deadline (--handshake-timeout, --header-timeout) is closed
    # by it, rightly.
    if problem and script.elapsed < deadline:
        failures.append("%s: %s" % (script, problem))


def client_body(port, script, digests):
    if script.ending in ("handshake_vanish", "handshake_trickle"):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        o = hostile.client_context(script.version).wrap_bio(
            inc, out, server_hostname="localhost")
        try:
            o.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = out.read()
        cut = script.reset_after % max(1, len(hello))
        if script.ending == "handshake_vanish":
            s.sendall(hello[:cut])
            hostile.reset(s)
        else:
            for b in hello[:cut]:
                s.sendall(bytes([b]))
                time.sleep(0.01)
            s.close()
        return None
    c = hostile.TLSConn(port, version=script.version, timeout=30)
    c.handshake()
    req = script.request_bytes()
    if script.ending == "corrupt":
        recs = c.protect(req)
        recs = recs[:-1] + bytes([recs[-1] ^ 1])
        send_raw(c, recs, script)
        c.read_until_close()
        c.sock.close()
        return None
    send_raw(c, c.protect(req), script)
    if script.ending == "half_close":
        c.close_notify()
    elif script.ending == "fin":
        c.sock.shutdown(socket.SHUT_WR)
    elif script.ending == "reset_early":
        hostile.reset(c.sock)
        return None
    elif script.ending == "stall":
        time.sleep(script.stall)
    limit = None
    if script.ending == "reset_late":
        # Reset after reset_after bytes, or after a second of silence.
        limit = script.reset_after
        c.sock.settimeout(1)
    if script.ending in ("read", "stall") and script.expected()[-1][0] not in (
            "bad", "close"):
        # Keep-alive: ask the server to close after the last answer.
        send_raw(c, c.protect(hostile.get("/hello.txt", close=True)),
                 script)
        script.reqs.append(("close", "hello.txt"))
    data, how = c.read_until_close(limit)
    if script.ending == "reset_late":
        hostile.reset(c.sock)
        return None
    c.sock.close()
    if script.ending in ("read", "half_close", "stall", "fin"):
        # A file that shrinks under its response ends the connection.
        short_ok = any(k == "mut" for k, _ in script.expected())
        if how != "close_notify" and not short_ok:
            return "ended by %s after %d bytes" % (how, len(data))
        return check_responses(data, script, digests, short_ok)
    return None


def mutator(root, rng, stop):
    """Change /mut under the clients: grow, shrink, FIFO, symlink, gone."""
    path = os.path.join(root, "mut")
    fifo = os.path.join(root, ".fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    while not stop.is_set():
        op = rng.choice(["write", "truncate", "fifo", "symlink", "unlink",
                         "dir"])
        tmp = path + ".new"
        try:
            if op == "write":
                # O_NONBLOCK: the name may be a FIFO right now.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK |
                             os.O_NOFOLLOW, 0o644)
                try:
                    if os.path.isfile(path):
                        os.ftruncate(fd, 0)
                        os.write(fd, os.urandom(rng.randrange(0, 3 << 20)))
                finally:
                    os.close(fd)
            elif op == "truncate" and os.path.isfile(path):
                os.truncate(path, rng.randrange(0, 100000))
            elif op == "fifo":
                os.link(fifo, tmp)
                os.rename(tmp, path)
            elif op == "symlink":
                os.symlink("/etc/hostname", tmp)
                os.rename(tmp, path)
            elif op == "unlink":
                os.unlink(path)
            elif op == "dir":
                os.mkdir(tmp)
                os.rename(tmp, path)
                os.rmdir(path)
        except OSError:
            try:
                os.rmdir(tmp)
            except OSError:
                pass
            try:
                os.unlink(tmp)
            except OSError:
                pass
        time.sleep(rng.uniform(0, 0.01))


def stats(port):
    c = hostile.TLSConn(port, timeout=30)
    c.handshake()
    c.write(hostile.get("/stats", close=True))
    data, _ = c.read_until_close()
    resps, _ = hostile.parse_responses(data)
    return json.loads(resps[0][1])["sim_server"]


def run_seed(port, root, seed, nclients, parallel, digests, deadline):
    rng = random.Random(seed)
    scripts = [Script(rng, i) for i in range(nclients)]
    failures = []
    stop = threading.Event()
    mt = threading.Thread(target=mutator,
                          args=(root, random.Random(seed ^ 0x5eed), stop))
    mt.start()
    pending = list(scripts)
    running = []
    while pending or running:
        running = [t for t in running if t.is_alive()]
        while pending and len(running) < parallel:
            s = pending.pop(0)
            t = threading.Thread(target=run_client,
                                 args=(port, s, digests, failures,
                                       deadline))
            t.start()
            running.append(t)
        time.sleep(0.005)
    stop.set()
    mt.join()
    if os.environ.get("CONN_STRESS_VERBOSE"):
        for s in sorted(scripts, key=lambda s: -s.elapsed)[:3]:
            print("  %.1f s: %s" % (s.elapsed, s))
    # Afterwards: alive, serving, and nothing left but the asker.  Lingering
    # closes end within two seconds (conn_linger()).
    c = hostile.TLSConn(port, timeout=30)
    c.handshake()
    c.write(hostile.get("/r4m", close=True))
    data, how = c.read_until_close()
    resps, _ = hostile.parse_responses(data)
    if len(resps) != 1 or hostile.sha(resps[0][1]) != digests["r4m"]:
        failures.append("after the clients: r4m not served intact (%s)" % how)
    for _ in range(40):
        active = stats(port)["active"]
        if active == 1:
            break
        time.sleep(0.25)
    else:
        failures.append("after the clients: %d connections still active"
                        % (active - 1))
    return failures


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--seed", type=int, action="append", default=[])
    p.add_argument("--seeds-file")
    p.add_argument("--seconds", type=float, default=0,
                   help="random seeds until this much time has passed")
    p.add_argument("--clients", type=int, default=24)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--deadline", type=float, default=10,
                   help="the server's handshake and header timeouts (s)")
    a = p.parse_args()
    make_root(a.root)
    digests = {n: hostile.file_sha(os.path.join(a.root, n)) for n in FILES}
    seeds = list(a.seed)
    if a.seeds_file:
        with open(a.seeds_file) as f:
            seeds += [int(l.split("#")[0]) for l in f
                      if l.split("#")[0].strip()]
    t0 = time.monotonic()
    rnd = random.Random()
    nfail = nrun = 0
    i = 0
    while True:
        if i < len(seeds):
            seed = seeds[i]
        elif a.seconds and time.monotonic() - t0 < a.seconds:
            seed = rnd.randrange(1 << 32)
        else:
            break
        i += 1
        nrun += 1
        fails = run_seed(a.port, a.root, seed, a.clients, a.parallel,
                         digests, a.deadline)
        print("seed %d: %s" % (seed, "ok" if not fails else
                               "%d FAILED" % len(fails)))
        for f in fails:
            print("  seed %d %s" % (seed, f))
        sys.stdout.flush()
        nfail += bool(fails)
    cpu = os.times()
    print("conn_stress: %d seeds, %d failed, %.0f s (driver CPU %.1f s)" %
          (nrun, nfail, time.monotonic() - t0, cpu.user + cpu.system))
    return 1 if nfail or nrun == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
