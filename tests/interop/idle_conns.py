#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# idle_conns.py HOST PORT N: open N TCP connections that never send a
# byte, print "connected K" (how many got through), then hold them until
# stdin closes, then close them all and print "closed".
import socket
import sys


def main(host, port, n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect((host, port))
        except OSError as e:
            print("connect failed after %d: %s" % (len(socks), e), flush=True)
            s.close()
            break
        socks.append(s)
    print("connected %d" % len(socks), flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
