#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Hostile and unusual TLS clients for sim_server's interop tests.

Each subcommand is one kind of client.  It talks TLS through Python's ssl
module over a MemoryBIO, so that it controls every byte and every close:
half-closes (close_notify, then keep reading: RFC 8446 section 6.1),
resets (SO_LINGER 0), pipelining without reading, trickling bytes,
corrupt records.  It prints one line of key=value results and exits 0
when the client-side outcome is the one asked for (see each command),
1 when it is not, 2 on a usage error.

Usage: hostile.py COMMAND --port N [options]   (hostile.py -h for more)
"""

import argparse
import hashlib
import os
import socket
import ssl
import struct
import sys
import threading
import time

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def client_context(version=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version in ("1.0", "1.1"):
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if version is not None:
        ctx.minimum_version = VERSIONS[version]
        ctx.maximum_version = VERSIONS[version]
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def reset(sock):
    """Close with RST instead of FIN (SO_LINGER {1, 0})."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class TLSConn:
    """A TLS client over a MemoryBIO: every wire byte passes through here."""

    def __init__(self, port, host="127.0.0.1", version=None, timeout=10,
                 ciphers=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = client_context(version, ciphers).wrap_bio(
            self.inc, self.out, server_hostname="localhost")
        self.eof = False
        self.wire_in = 0

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def feed(self):
        """One recv() into libssl; False at EOF."""
        data = self.sock.recv(262144)
        if not data:
            self.inc.write_eof()
            self.eof = True
            return False
        self.wire_in += len(data)
        self.inc.write(data)
        return True

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                if not self.feed():
                    raise ConnectionError("EOF during handshake")

    def write(self, data):
        self.obj.write(data)
        self.flush()

    def protect(self, data):
        """The records for data, not sent: the caller sends (or mangles)."""
        self.obj.write(data)
        return self.out.read()

    def close_notify(self):
        """Send close_notify once and go on reading (a half-close)."""
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            pass
        self.flush()

    def read_until_close(self, limit=None):
        """Read to the peer's close_notify or EOF.

        Returns (data, how): how is "close_notify", "eof" (a FIN without
        close_notify), "reset" or "alert:NAME" (a fatal alert received).
        """
        chunks = []
        total = 0
        while limit is None or total < limit:
            try:
                d = self.obj.read(262144)
                if not d:
                    return b"".join(chunks), "close_notify"
                chunks.append(d)
                total += len(d)
                continue
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return b"".join(chunks), "close_notify"
            except ssl.SSLError as e:
                return b"".join(chunks), "alert:" + (e.reason or str(e))
            try:
                if not self.feed():
                    # Let libssl see the EOF (it reports a truncation).
                    try:
                        d = self.obj.read(262144)
                        if d:
                            chunks.append(d)
                            continue
                        return b"".join(chunks), "close_notify"
                    except ssl.SSLZeroReturnError:
                        return b"".join(chunks), "close_notify"
                    except ssl.SSLError as e:
                        if "EOF" in str(e) or "eof" in str(e):
                            return b"".join(chunks), "eof"
                        return b"".join(chunks), "alert:" + (
                            e.reason or str(e))
            except ConnectionResetError:
                return b"".join(chunks), "reset"
            except socket.timeout:
                return b"".join(chunks), "timeout"
        return b"".join(chunks), "limit"


def get(path, close=False, host="x"):
    conn = "Connection: close\r\n" if close else ""
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" %
            (path, host, conn)).encode()


def parse_responses(data, heads=()):
    """[(status, body)] for the complete responses in data, and the rest.
    heads: the indices of responses to HEAD requests (no body follows)."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out, data
        head = data[:end].decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split()[1])
        except (IndexError, ValueError):
            return out, data
        clen = 0
        for h in head[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                clen = int(v.strip())
        if len(out) in heads:
            clen = 0
        if len(data) < end + 4 + clen:
            return out, data
        out.append((status, data[end + 4:end + 4 + clen]))
        data = data[end + 4 + clen:]


def sha(data):
    return hashlib.sha256(data).hexdigest()


def file_sha(path):
    with open(path, "rb") as f:
        return sha(f.read())


def report(ok, **kv):
    print(" ".join("%s=%s" % (k, v) for k, v in kv.items()))
    sys.stdout.flush()
    return 0 if ok else 1


# --- commands -----------------------------------------------------------------

def cmd_half_close(a):
    """Request, close_notify, read to the end: the whole file must arrive,
    followed by the server's own close_notify."""
    c = TLSConn(a.port, version=a.tls, timeout=a.timeout)
    c.handshake()
    reqs = b"".join(get(a.path) for _ in range(a.count))
    c.write(reqs)
    c.close_notify()
    data, how = c.read_until_close()
    resps, rest = parse_responses(data)
    want = file_sha(a.file)
    good = sum(1 for s, b in resps if s == 200 and sha(b) == want)
    return report(good == a.count and how == "close_notify" and not rest,
                  responses=len(resps), intact=good, want=a.count,
                  bytes=len(data), end=how, version=c.obj.version())


def cmd_pipeline_reset(a):
    """Pipeline COUNT requests in one send, then reset; ROUNDS times."""
    for _ in range(a.rounds):
        c = TLSConn(a.port, version=a.tls, timeout=a.timeout)
        c.handshake()
        c.write(b"".join(get(a.path) for _ in range(a.count)))
        if a.read_first:
            try:
                c.feed()
            except OSError:
                pass
        reset(c.sock)
    return report(True, rounds=a.rounds, count=a.count)


def cmd_reset_mid(a):
    """Request a large file, read AFTER bytes of it, then reset."""
    c = TLSConn(a.port, version=a.tls, timeout=a.timeout)
    c.handshake()
    c.write(get(a.path))
    got = 0
    while got < a.after:
        try:
            d = c.obj.read(262144)
            got += len(d)
            continue
        except ssl.SSLWantReadError:
            pass
        if not c.feed():
            break
    reset(c.sock)
    return report(got >= a.after, read=got)


def cmd_pipeline_get(a):
    """COUNT pipelined GETs of one path; read until the server closes.
    Every complete response must be a 200 whose body has a size the file
    had; exit 0 whatever the server decided about the rest."""
    c = TLSConn(a.port, version=a.tls, timeout=a.timeout)
    c.handshake()
    c.write(b"".join(get(a.path) for _ in range(a.count)) +
            get("/hello.txt", close=True))
    data, how = c.read_until_close()
    resps, rest = parse_responses(data)
    bad = [s for s, b in resps if s not in (200, 404)]
    return report(not bad, responses=len(resps), end=how,
                  partial=len(rest))


def cmd_noread(a):
    """Request a large file and COUNT more, never read; hold HOLD seconds.
    Reports whether and when the server closed the connection."""
    c = TLSConn(a.port, version=a.tls, timeout=a.timeout)
    c.handshake()
    c.write(get(a.path) + b"".join(get("/hello.txt") for _ in range(a.count)))
    t0 = time.monotonic()
    c.sock.setblocking(False)
    closed_at = None
    # Do not read: only peek, rarely, whether the server reset us.
    while time.monotonic() - t0 < a.hold:
        time.sleep(0.25)
        try:
            c.sock.send(b"")
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                closed_at = time.monotonic() - t0
                break
        except OSError:
            closed_at = time.monotonic() - t0
            break
    reset(c.sock)
    want_closed = a.expect_close
    ok = (closed_at is not None) == want_closed
    return report(ok, closed=closed_at is not None,
                  after="%.1f" % (closed_at if closed_at else a.hold))


def cmd_slowloris(a):
    """CONNS connections trickling one byte every INTERVAL seconds, in the
    handshake (a ClientHello) or in the request header.  Exit 0 when every
    one was closed by the server within HOLD seconds."""
    socks = []
    hello = None
    for _ in range(a.conns):
        if a.phase == "handshake":
            s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
            if hello is None:
                inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
                o = client_context().wrap_bio(inc, out,
                                              server_hostname="localhost")
                try:
                    o.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                hello = out.read()
            socks.append([s, hello, 0])
        else:
            c = TLSConn(a.port, timeout=5)
            c.handshake()
            recs = c.protect(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n" +
                             b"X-Slow: " + b"a" * 4000 + b"\r\n\r\n")
            socks.append([c.sock, recs, 0, c])
    t0 = time.monotonic()
    open_ = len(socks)
    closed_after = []
    while open_ and time.monotonic() - t0 < a.hold:
        for e in socks:
            if e[0] is None:
                continue
            s = e[0]
            try:
                if e[2] < len(e[1]):
                    s.send(e[1][e[2]:e[2] + 1])
                    e[2] += 1
                s.setblocking(False)
                try:
                    d = s.recv(65536)
                    if d == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
                s.setblocking(True)
            except OSError:
                closed_after.append(time.monotonic() - t0)
                s.close()
                e[0] = None
                open_ -= 1
        time.sleep(a.interval)
    for e in socks:
        if e[0] is not None:
            e[0].close()
    return report(open_ == 0, conns=a.conns, closed=len(closed_after),
                  last_close="%.1f" % (max(closed_after)
                                       if closed_after else -1))


def cmd_bad_record(a):
    """After the handshake and one good request, send garbage or a record
    whose MAC fails; the server must answer with a fatal alert."""
    c = TLSConn(a.port, version=a.tls, timeout=a.timeout)
    c.handshake()
    c.write(get("/hello.txt"))
    # The answer to the good request first: nothing follows the alert.
    data = b""
    while not parse_responses(data)[0]:
        try:
            data += c.obj.read(65536)
        except ssl.SSLWantReadError:
            if not c.feed():
                break
    recs = c.protect(get("/hello.txt"))
    if a.kind == "badmac":
        # Flip a byte of the last record's tag or MAC, keep the framing.
        recs = recs[:-1] + bytes([recs[-1] ^ 0x55])
    else:
        recs = os.urandom(64) if a.kind == "garbage" else \
            b"\x17\x03\x03\x48\x01" + b"\x00" * 64  # over 2^14 + 2048
    c.sock.sendall(recs)
    more, how = c.read_until_close()
    resps, _ = parse_responses(data + more)
    return report(how.startswith("alert:") and len(resps) == 1,
                  first_response=resps[0][0] if resps else "-", end=how)


def cmd_fifo_probe(a):
    """Fetch PATH COUNT times on fresh connections, each bounded by TIMEOUT
    seconds; every answer must be a 200 or a 404 and none may hang."""
    worst = 0.0
    hung = 0
    statuses = {}
    for _ in range(a.count):
        t0 = time.monotonic()
        try:
            c = TLSConn(a.port, timeout=a.timeout)
            c.handshake()
            c.write(get(a.path, close=True))
            data, how = c.read_until_close()
            if how == "timeout":
                hung += 1
            resps, _ = parse_responses(data)
            for s, _ in resps:
                statuses[s] = statuses.get(s, 0) + 1
            c.sock.close()
        except (OSError, ConnectionError):
            hung += 1
        worst = max(worst, time.monotonic() - t0)
    ok = hung == 0 and set(statuses) <= {200, 404}
    return report(ok, requests=a.count, hung=hung, worst="%.2f" % worst,
                  statuses=",".join("%d:%d" % kv
                                    for kv in sorted(statuses.items())))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, **defaults):
        sp = sub.add_parser(name, help=fn.__doc__.split("\n")[0])
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--tls", choices=sorted(VERSIONS), default=None)
        sp.add_argument("--timeout", type=float, default=30)
        sp.add_argument("--path", default=defaults.get("path", "/hello.txt"))
        sp.add_argument("--count", type=int, default=defaults.get("count", 1))
        sp.set_defaults(fn=fn)
        return sp

    sp = add("half-close", cmd_half_close)
    sp.add_argument("--file", required=True, help="the served file")
    sp = add("pipeline-reset", cmd_pipeline_reset, count=220)
    sp.add_argument("--rounds", type=int, default=5)
    sp.add_argument("--read-first", action="store_true")
    sp = add("reset-mid", cmd_reset_mid)
    sp.add_argument("--after", type=int, default=1 << 20)
    add("pipeline-get", cmd_pipeline_get, count=50)
    sp = add("noread", cmd_noread, count=2000)
    sp.add_argument("--hold", type=float, default=10)
    sp.add_argument("--expect-close", action="store_true")
    sp = add("slowloris", cmd_slowloris)
    sp.add_argument("--conns", type=int, default=20)
    sp.add_argument("--phase", choices=["handshake", "header"],
                    default="handshake")
    sp.add_argument("--interval", type=float, default=1.0)
    sp.add_argument("--hold", type=float, default=30)
    sp = add("bad-record", cmd_bad_record)
    sp.add_argument("--kind", choices=["garbage", "badmac", "toolong"],
                    default="badmac")
    add("fifo-probe", cmd_fifo_probe, count=100)
    a = p.parse_args()
    try:
        return a.fn(a)
    except (OSError, ConnectionError, ssl.SSLError) as e:
        return report(False, error=repr(e))


if __name__ == "__main__":
    sys.exit(main())
