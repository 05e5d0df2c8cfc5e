#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# A larger corpus for measuring a harness's replay rate (docs/fuzzing.md,
# "Replay speed"): N inputs, each a seed of SRC with one to eight random
# byte changes, insertions or deletions, the same every run (fixed seed).
# Not a corpus to keep: nothing here is checked in.
#
#   python3 tests/fuzz/gen_mutants.py tests/fuzz/fuzz_ops.in /tmp/ops-2000 2000
#   build/tests/fuzz/fuzz_ops /tmp/ops-2000
import os
import random
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit('usage: gen_mutants.py SRC-DIR DST-DIR N')
    src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(12345)
    seeds = [open(os.path.join(src, f), 'rb').read()
             for f in sorted(os.listdir(src))]
    if not seeds:
        sys.exit('%s: no seeds' % src)
    os.makedirs(dst, exist_ok=True)
    for i in range(n):
        b = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            k = rng.random()
            if k < 0.6 and b:
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif k < 0.8:
                p = rng.randrange(len(b) + 1)
                b[p:p] = bytes(rng.randrange(256)
                               for _ in range(rng.randint(1, 6)))
            elif len(b) > 10:
                p = rng.randrange(len(b))
                del b[p:p + rng.randint(1, 4)]
        with open(os.path.join(dst, 'm%05d' % i), 'wb') as f:
            f.write(bytes(b))


if __name__ == '__main__':
    main()
