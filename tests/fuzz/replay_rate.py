#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# The replay rate of one or more harness binaries over a fixed corpus
# (docs/fuzzing.md, "Replay speed"): each binary replays the corpus (with
# --times N, N times over in one process) RUNS times, the binaries taking
# turns (A B A B ...) so that a shared machine's load falls on all of them
# alike, and the median inputs/s is printed by CPU time (user + system of
# the replay, what perf stat calls task-clock) and by wall time (the
# driver's own last line).  Nothing is asserted.
#
#   python3 tests/fuzz/gen_mutants.py tests/fuzz/fuzz_ops.in /tmp/ops-2000 2000
#   python3 tests/fuzz/replay_rate.py /tmp/ops-2000 7 \
#       /tmp/fuzz_ops.before build/tests/fuzz/fuzz_ops
#   python3 tests/fuzz/replay_rate.py --times 40 tests/fuzz/fuzz_ops.in 7 \
#       build/tests/fuzz/fuzz_ops
import argparse
import os
import re
import statistics
import subprocess
import sys

LAST = re.compile(r'(\d+) inputs replayed, (\d+) errors, ([\d.]+) s')


def replay(binary, corpus, times):
    """One replay: (inputs, CPU seconds, wall seconds)."""
    p = subprocess.Popen([binary] + [corpus] * times,
                         stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    m = LAST.search(err)
    if p.returncode != 0 or m is None or m.group(2) != '0':
        sys.exit('%s %s: exit %d\n%s' % (binary, corpus, p.returncode,
                                         err[-2000:]))
    return (int(m.group(1)), ru.ru_utime + ru.ru_stime, float(m.group(3)))


def main():
    ap = argparse.ArgumentParser(description='median replay rates')
    ap.add_argument('--times', type=int, default=1,
                    help='replay the corpus this many times per run')
    ap.add_argument('corpus')
    ap.add_argument('runs', type=int)
    ap.add_argument('binary', nargs='+')
    args = ap.parse_args()
    corpus, runs, binaries = args.corpus, args.runs, args.binary
    cpu = {b: [] for b in binaries}
    wall = {b: [] for b in binaries}
    for _ in range(runs):
        for b in binaries:
            n, c, w = replay(b, corpus, args.times)
            cpu[b].append(n / c)
            wall[b].append(n / w)
    for b in binaries:
        print('%s: %d inputs, median %.0f inputs/s by CPU (%.0f..%.0f), '
              '%.0f by wall (%.0f..%.0f), %d runs' %
              (b, n, statistics.median(cpu[b]), min(cpu[b]), max(cpu[b]),
               statistics.median(wall[b]), min(wall[b]), max(wall[b]),
               runs))


if __name__ == '__main__':
    main()
