#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Split a stream of HTTP/1.1 responses (what `openssl s_client -quiet`
# printed for pipelined requests) and print "status length sha256" per
# response, one line each.  Bodies are framed by Content-Length only (the
# server never uses chunked encoding).  Streams the bodies: 64 MiB files
# are fine.  Exits 1 on a truncated or malformed stream (after printing
# what it could).
import hashlib
import sys


def main(path):
    rc = 0
    with open(path, "rb") as f:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = f.read(65536)
                if not chunk:
                    if buf:
                        print("truncated-header %d" % len(buf))
                        return 1
                    return rc
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            try:
                status = int(lines[0].split()[1])
            except (IndexError, ValueError):
                print("malformed %r" % lines[0][:80])
                return 1
            length = 0
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            h = hashlib.sha256()
            left = length
            take = min(left, len(buf))
            h.update(buf[:take])
            buf = buf[take:]
            left -= take
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    print("%d %d truncated" % (status, length))
                    return 1
                h.update(chunk)
                left -= len(chunk)
            print("%d %d %s" % (status, length, h.hexdigest()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
