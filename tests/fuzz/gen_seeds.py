#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Regenerate the seed corpora tests/fuzz/<target>.in/seed-* from the
# input layouts documented at the top of each harness.  Regression seeds
# (files not named seed-*) are left alone.
#
#   python3 tests/fuzz/gen_seeds.py
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# tests/lib/suites.h ALL_SUITES order:
# (cipher, key_len, auth, auth_key_len, vminor, iv_len)
SUITES = [
    (11, 16, 7, 20, 1, 16), (11, 32, 7, 20, 1, 16),
    (11, 16, 7, 20, 2, 0), (11, 32, 7, 20, 2, 0),
    (11, 16, 7, 20, 3, 0), (11, 32, 7, 20, 3, 0),
    (11, 16, 18, 32, 3, 0), (11, 32, 18, 32, 3, 0),
    (11, 16, 19, 48, 3, 0), (11, 32, 19, 48, 3, 0),
    (25, 16, 0, 0, 3, 4), (25, 32, 0, 0, 3, 4),
    (25, 16, 0, 0, 4, 12), (25, 32, 0, 0, 4, 12),
    (41, 32, 0, 0, 3, 12), (41, 32, 0, 0, 4, 12),
]
INVALID_BASE = len(SUITES)  # test_invalid_suites[] follow (11 of them)

rng = random.Random(20240611)


def rbytes(n):
    return bytes(rng.randrange(256) for _ in range(n))


def write_corpus(name, seeds):
    d = os.path.join(HERE, name + '.in')
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith('seed-'):
            os.unlink(os.path.join(d, f))
    total = 0
    for i, (label, data) in enumerate(seeds):
        with open(os.path.join(d, 'seed-%02d-%s' % (i, label)), 'wb') as f:
            f.write(data)
        total += len(data)
    print('%s: %d seeds, %d bytes' % (name, len(seeds), total))


# ---- fuzz_tls_enable -------------------------------------------------------

def tls_enable(label, bidx, f1=0, f2=0, size=None, x=(0,) * 6, vmaj=0,
               vmin=0, seq=0, psel=(0, 0, 0), wlen=100, seed=1,
               lens=None):
    b = bytes([f1, f2, bidx])
    if f1 & 3 >= 2:
        b += bytes([size])
    b += struct.pack('<6i', *x) + bytes([vmaj, vmin])
    b += struct.pack('>Q', seq) + bytes(psel)
    b += struct.pack('<HQ', wlen, seed)
    if lens is None:
        s = SUITES[bidx] if bidx < len(SUITES) else (0, 16, 0, 0, 0, 0)
        lens = (s[1], s[5], s[3])
    for n in lens:
        if 0 < n <= 4096:
            b += rbytes(n)
    return (label, b + rbytes(min(wlen, 64)))


def tls_enable_seeds():
    s = []
    for i in range(len(SUITES)):
        s.append(tls_enable('suite%d' % i, i, seq=rng.randrange(1 << 64),
                            wlen=[1, 100, 16384, 0][i % 4], seed=i))
    for i in range(11):
        s.append(tls_enable('invalid%d' % i, INVALID_BASE + i))
    s += [
        tls_enable('v0', 12, f1=1),
        tls_enable('short', 12, f1=2, size=60),
        tls_enable('long', 12, f1=3, size=17),
        tls_enable('nullkey', 10, psel=(1, 0, 0)),
        tls_enable('nulliv', 14, psel=(0, 1, 0)),
        tls_enable('nullauth', 4, psel=(0, 0, 1)),
        tls_enable('aes192', 10, x=(0, 16 ^ 24, 0, 0, 0, 0),
                   lens=(24, 4, 0)),
        tls_enable('hmac10', 4, x=(0, 0, 0, 0, 20 ^ 10, 0),
                   lens=(16, 0, 10)),
        tls_enable('hmac100', 8, x=(0, 0, 0, 0, 48 ^ 100, 0),
                   lens=(16, 0, 100)),
        tls_enable('hmac200', 6, x=(0, 0, 0, 0, 32 ^ 200, 0),
                   lens=(16, 0, 200)),
        tls_enable('cbc11iv', 2, x=(0, 0, 0 ^ 16, 0, 0, 0),
                   lens=(16, 16, 20)),
        tls_enable('flags', 12, x=(0, 0, 0, 0, 0, 1)),
        tls_enable('vmajor', 12, vmaj=1),
        tls_enable('disabled', 12, f1=0x04),
        tls_enable('cbcoff', 0, f1=0x08),
        tls_enable('noextpg', 12, f1=0x10),
        tls_enable('twice', 14, f1=0x20),
        tls_enable('dropped', 12, f1=0x40),
        tls_enable('udp', 12, f2=0x01),
        tls_enable('listen', 12, f2=0x02),
        tls_enable('nullopt', 12, f2=0x04),
        tls_enable('async', 13, f2=0x08),
        tls_enable('unconnected', 15, f2=0x10),
        tls_enable('zero', 255, lens=(0, 0, 0)),
    ]
    return s


# ---- fuzz_ops --------------------------------------------------------------

def W(n): return bytes([0]) + struct.pack('<H', n)
def SW(n): return bytes([1, n])
def C(t, n): return bytes([2, t]) + struct.pack('<H', n)
def SF(f, off, nb, hdr): return bytes([3, f]) + struct.pack('<IIH', off, nb, hdr)
def LIM(n): return bytes([4]) + struct.pack('<H', n)
DRAIN = bytes([5])
def STEP(n): return bytes([6, n])
RUN = bytes([7])
SHUT = bytes([8])
def SNDBUF(h, l): return bytes([9]) + struct.pack('<HH', h, l)
NBIO = bytes([10])
DROP = bytes([11, 0x5a])
STAT = bytes([12])


def ops(label, suite, ops_, flags=0, seq=0, seed=1, hiwat=(32768 - 1024) // 4,
        lowat=2048, iodelay=0, keys=None):
    b = bytes([suite, flags]) + struct.pack('<QQHHB', seq, seed, hiwat,
                                            lowat, iodelay)
    b += keys if keys is not None else rbytes(32 + 16 + 48)
    return (label, b + b''.join(ops_))


def ops_seeds():
    s = []
    basic = [W(100), C(22, 20000), RUN, SF(9, 100, 0, 50), W(40000), RUN,
             SW(0), STEP(20), C(21, 2), SF(5, 4000, 200, 0)]
    for i in range(len(SUITES)):
        s.append(ops('basic%d' % i, i, basic, seq=rng.randrange(1 << 64),
                     seed=i))
    s += [
        ops('tight', 12, [SNDBUF(1000, 512), LIM(100), W(60000), STEP(50),
                          DRAIN, C(22, 3000), STEP(10), W(5000)],
            flags=0x10 | 0x02),
        ops('nbio', 10, [LIM(10), W(65535), W(65535), STEP(30), DRAIN,
                         W(65535)], flags=0x02),
        ops('async2cpu', 14, [W(30000), STEP(3), W(1), SF(8, 0, 0, 0),
                              STEP(5), W(16384)], flags=0x01 | 0x04),
        ops('fifo', 0, [SW(0), SW(1), SW(0), W(16385), RUN], flags=0x08),
        ops('coldcache', 13, [SF(9, 1, 0, 4096), SF(7, 4096, 4097, 1),
                              STEP(7), SF(3, 0, 0, 0)],
            flags=0x20 | 0x40, iodelay=50),
        ops('shutdown', 15, [W(1000), SHUT, W(10), SF(2, 0, 0, 0),
                             C(22, 5)]),
        ops('drop', 12, [LIM(300), W(50000), STEP(40), DROP, W(100), RUN]),
        ops('wrap', 11, [W(16384), W(16384), W(16384), W(1)],
            seq=(1 << 64) - 2),
        ops('cbc10chain', 1, [W(5), STEP(1), W(40000), STEP(2), SW(0),
                              RUN, W(17)], flags=0x04, seed=7),
        ops('bigctl', 12, [C(22, 40000), C(22, 32768), C(23, 0)]),
        ops('sndbufmid', 6, [W(20000), SNDBUF(2000, 100), W(30000),
                             STEP(100), SNDBUF(65535, 0), W(30000)]),
        ops('sfhdrs', 4, [SNDBUF(1500, 100), SF(9, 5000, 100000, 4096),
                          RUN], flags=0x02),
        # Cold disk whose reads overtake each other, FIFO runner; fixed
        # keys so that the seeds above stay as they were.
        ops('diskreorder', 0, [SNDBUF(65535, 2048), SF(9, 0, 30000, 0),
                               SF(9, 30000, 30000, 100), W(3000),
                               SF(8, 5, 0, 0), SF(9, 60000, 4096, 0),
                               STEP(3), SF(7, 1, 9000, 0), RUN],
            flags=0x08 | 0x10 | 0x20 | 0x80, iodelay=20,
            keys=bytes(range(96))),
    ]
    return s


# ---- fuzz_trace_reader -----------------------------------------------------

def jl(*evs):
    import json
    return ('\n'.join(json.dumps(e, separators=(',', ':')) for e in evs)
            + '\n').encode()


def trace_seeds():
    hdr12 = '170303007c' + '0001020304050607'
    framed = dict(ev='framed', conn=0, t=1, seq=0, type=23, inner_type=23,
                  cipher=25, auth=0, tls_vminor=3, plen=100, reclen=129,
                  hdrlen=13, explicit_len=8, trllen=16, maxseg=1448,
                  hdr=hdr12, off=0, npgs=1, pg_off=0, pg_last_len=100,
                  pages=[100], mbuf='0x1')
    opn = dict(ev='conn_open', conn=0, t=0, cport=40000, sport=443,
               label='x', client='10.0.0.1', server='10.0.0.2')
    enc = dict(ev='encrypted', conn=0, t=2, seq=0, trailer='00' * 16,
               trllen=16)
    rdy = dict(ev='ready', conn=0, t=3, seq=0)
    seg = dict(ev='segment', conn=0, t=4, dir='s2c', off=0, len=129,
               rexmit=False, iface='sim0', seqs=[0])
    fre = dict(ev='freed', conn=0, t=5, seq=0)
    cls = dict(ev='conn_close', conn=0, t=6, server_plain=0,
               server_bytes=129, client_bytes=0)
    cli = dict(ev='client', conn=0, t=0, dir='c2s', off=0, len=10)
    spl = dict(ev='server_plain', conn=0, t=0, dir='s2c', off=0, len=5)
    f13 = dict(framed, seq=1, inner_type=22, tls_vminor=4, hdrlen=5,
               explicit_len=0, trllen=17, hdr='1703030075', reclen=122,
               off=129)
    s = [
        ('one-gcm12', jl(opn, framed, enc, rdy, seg, fre, cls)),
        ('unordered', jl(opn, rdy, framed, fre, seg, enc)),
        ('two-conns', jl(opn, dict(opn, conn=1), framed,
                         dict(framed, conn=1), seg, dict(seg, conn=1))),
        ('client-plain', jl(opn, cli, spl, framed, enc, rdy, seg, fre)),
        ('tls13', jl(opn, framed, f13, enc, dict(enc, seq=1), rdy,
                     dict(rdy, seq=1), dict(seg, len=251))),
        ('keylog', jl(opn, dict(ev='keylog', conn=0, lines=1), cls)),
        ('blank', b'\n\n  \n'),
        ('bad', b'{"ev":"framed"}\n'),
        ('rexmit', jl(opn, framed, enc, rdy, seg, dict(seg, rexmit=True),
                      fre)),
    ]
    shb = bytes.fromhex('0a0d0d0a') + struct.pack('<IIHHqI', 28,
                                                   0x1a2b3c4d, 1, 0, -1, 28)
    idb = struct.pack('<IIHHII', 1, 20, 1, 0, 65535, 20)
    s.append(('pcapng-empty', shb + idb))
    events = dict(opn=opn, framed=framed, enc=enc, rdy=rdy, fre=fre)
    s.append(('pcapng-flow', pcapng_flow('<', events)))
    s.append(('pcapng-flow-be', pcapng_flow('>', events)))
    return s


# ---- fuzz_http ---------------------------------------------------------------

def req(target, method='GET', version='HTTP/1.1', fields=(('Host', 'x'),)):
    return ('%s %s %s\r\n' % (method, target, version)
            + ''.join('%s: %s\r\n' % f for f in fields)
            + '\r\n').encode('latin-1')


def http_seeds():
    # Targets name the tree fuzz_http.c makes under its temporary root.
    curl = (('Host', 'localhost:8443'), ('User-Agent', 'curl/7.88.1'),
            ('Accept', '*/*'))
    s = [
        ('get', req('/index.html', fields=curl)),
        ('head10', req('/a.txt', 'HEAD', 'HTTP/1.0',
                       (('Connection', 'keep-alive'),))),
        ('pipelined', req('/a.txt') + req('/sub/', 'HEAD')
         + req('/b%20c.txt', fields=(('Connection', 'foo, close'),))),
        ('pipelined-partial', req('/sub/d.json') + b'GET /a.txt HTTP/1.1\r\nHo'),
        ('query', req('/a.txt?x=1&y=%2F#frag')),
        ('links-in', req('/in/d.json') + req('/sub/up/a.txt')
         + req('/a-link')),
        ('links-out', req('/out') + req('/outdir/secret') + req('/abs')
         + req('/sub/loop') + req('/empty/')),
        ('dotdot', req('/%2e%2e/secret')),
        ('slash2f', req('/sub%2f..%2f..%2fsecret')),
        ('cl0', req('/a.txt', fields=(('Content-Length', '0'),))),
        ('cl5', req('/a.txt', fields=(('Content-Length', '5'),)) + b'hello'),
        ('chunked', req('/a.txt', fields=(('Transfer-Encoding', 'chunked'),))
         + b'0\r\n\r\n'),
        ('post', req('/a.txt', 'POST')),
        ('http2', req('/a.txt', version='HTTP/2.0')),
        ('long-target', req('/' + 'a' * 2100)),
        ('big-field', req('/', fields=(('X-A', 'a' * 9000),))),
        ('incomplete', b'GET /a.txt HTTP/1.1\r\nHost: a\r\n'),
        ('obs-text', req('/a.txt', fields=(('X', '\xe9t\xe9\tx'),))),
        ('relative', req('a.txt')),
        ('no-target', b'GET\r\n\r\n'),
        ('two-spaces', b'GET  /a.txt HTTP/1.1\r\n\r\n'),
        ('long-method', req('/a.txt', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')),
        ('target-del', req('/a\x7f.txt')),
        ('target-8bit', req('/\xc3\xa9.txt')),
        ('version-short', b'GET /a.txt HTTP/1\r\n\r\n'),
        ('no-colon', b'GET /a.txt HTTP/1.1\r\nHost x\r\n\r\n'),
        ('empty-name', b'GET /a.txt HTTP/1.1\r\n: x\r\n\r\n'),
        ('cl-empty', req('/a.txt', fields=(('Content-Length', ''),))),
        ('cl-ows', b'GET /a.txt HTTP/1.1\r\nContent-Length:\t00 \t\r\n\r\n'),
        ('connection-ows', req('/a.txt', 'GET', 'HTTP/1.0', (
            ('Connection', ' , keep-alive\t, Close \t'),))),
        ('space-first', b' GET /a.txt HTTP/1.1\r\n\r\n'),
        ('one-space', b'GET /a.txt\r\n\r\n'),
        ('method-paren', req('/a.txt', 'G(T')),
        ('target-ctl', req('/a\x01.txt')),
        ('version-name', req('/a.txt', version='XTTP/1.1')),
        ('version-major', req('/a.txt', version='HTTP/x.1')),
        ('version-dot', req('/a.txt', version='HTTP/1-1')),
        ('cl-hex', req('/a.txt', fields=(('Content-Length', '1a'),))),
        ('connection-tabs', req('/a.txt', fields=(
            ('Connection', '\tfoo ,\tclose , bar'),))),
        # The input as a raw target for http_resolve().
        ('raw-target', b'/sub/d.json'),
        ('raw-target-pct', b'/b%20c.txt?q'),
    ]
    return s


def pcapng_flow(bo, ev):
    """One TLS record sent in one segment of a synthetic flow, as
    sim/trace/pcapng.c writes it: SHB, IDB (Ethernet), then EPBs for
    SYN, SYN-ACK, the server's data and the client's ACK, with the
    record's events as JSON lines in opt_comment (docs/trace-format.md).
    bo is the section's byte order, '<' or '>' (pcapng section 4.1)."""
    def block(btype, body):
        return struct.pack(bo + 'II', btype, 12 + len(body)) + body + \
            struct.pack(bo + 'I', 12 + len(body))

    def pad4(b):
        return b + bytes(-len(b) % 4)

    def comment(*evs):
        v = jl(*(dict(e, conn=1) for e in evs))
        return pad4(struct.pack(bo + 'HH', 1, len(v)) + v) + \
            struct.pack(bo + 'HH', 0, 0)

    def frame(src, dst, sport, dport, seq, ack, flags, pay=b''):
        tcp = struct.pack('>HHIIBBHHH', sport, dport, seq, ack, 5 << 4,
                          flags, 4096, 0, 0)
        ip = struct.pack('>BBHHHBBHII', 0x45, 0, 40 + len(pay), 0, 0x4000,
                         64, 6, 0, src, dst)
        eth = bytes.fromhex('020000000002' '020000000001' '0800')
        return eth + ip + tcp + pay

    def epb(f, opts=b''):
        return block(6, struct.pack(bo + 'IIIII', 0, 0, 0, len(f), len(f)) +
                     pad4(f) + opts)

    cli, srv, cport, sport = 0x0a000001, 0x0a000002, 40000, 443
    cisn, sisn = 1000, 5000
    hdr = bytes.fromhex(ev['framed']['hdr'])
    rec = hdr + bytes(100) + bytes(16)  # plen 100, trailer of zeros
    shb = block(0x0a0d0d0a, struct.pack(bo + 'IHHq', 0x1a2b3c4d, 1, 0, -1))
    idb = block(1, struct.pack(bo + 'HHI', 1, 0, 65535))
    return (shb + idb +
            epb(frame(cli, srv, cport, sport, cisn, 0, 0x02),
                comment(ev['opn'])) +
            epb(frame(srv, cli, sport, cport, sisn, cisn + 1, 0x12)) +
            epb(frame(srv, cli, sport, cport, sisn + 1, cisn + 1, 0x18, rec),
                comment(ev['framed'], ev['enc'], ev['rdy'])) +
            epb(frame(cli, srv, cport, sport, cisn + 1, sisn + 1 + len(rec),
                      0x10), comment(ev['fre'])))


def main():
    write_corpus('fuzz_tls_enable', tls_enable_seeds())
    write_corpus('fuzz_ops', ops_seeds())
    write_corpus('fuzz_trace_reader', trace_seeds())
    write_corpus('fuzz_http', http_seeds())
    return 0


if __name__ == '__main__':
    sys.exit(main())
