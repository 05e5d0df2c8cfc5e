#!/usr/bin/env python3
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Mutation testing: does the test suite notice a small deliberate bug?
#
# Every operator below is a pattern over the C sources of src/ (and the key
# hand-off, sim/server/handoff.c and ssl_tap.c); each place it matches is
# one mutant.  Each mutant is applied, one at a time, to a copy of the tree
# (a temporary directory with its own meson build, never the checkout),
# built incrementally, and the suites that cover the file run with a time limit:
#
#   KILLED      a test failed (the first failing test is named)
#   SURVIVED    every test passed: the bug went unnoticed
#   ACCEPTED    survived, but listed in ACCEPTED below with the reason it
#               cannot or need not be noticed (equivalent mutants)
#   TIMEOUT     the tests ran past the limit (counts as noticed)
#   BUILD-FAIL  the mutant does not compile (not counted)
#
# The kill rate is (KILLED + TIMEOUT) / (all but ACCEPTED and BUILD-FAIL):
# accepted mutants are the equivalent or unreachable ones.  The exit
# status is 1 if a mutant of a must-kill class (MUST_KILL) SURVIVED, 2 on a
# setup error (the copy does not build, or its tests fail unmutated), else
# 0.  See docs/running.md ("Mutation testing").
#
# Usage:
#   scripts/mutate.py --list [selection]     list the mutants, run nothing
#   scripts/mutate.py [selection] [options]  run them
# Selection: --ops a,b  --classes a,b  --files f1,f2  --match REGEX
#            --ids 3,17 (numbers as --list prints them for the same
#            --ops/--classes)  --sample N [--seed S] (a random N of them)
# Options:   --timeout SECONDS (per mutant; default 4x the unmutated run,
#            at least 120)  --keep (leave the copy)  --jobs N (meson test)
#            --report FILE (also write the report there)  --worktree
#            (mutate the checkout's files as they are, uncommitted changes
#            included; by default the committed tree, HEAD, so that edits
#            made while it runs cannot leak into the copy)

import argparse
import fnmatch
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# What a surviving mutant of each class would mean.  The target: every
# mutant that changes bytes on the wire, an errno or an ordering is killed.
CLASSES = {
    "wire": "bytes on the wire (lengths, byte order, nonces, sequence)",
    "errno": "an error a caller sees (errno returned, check skipped)",
    "order": "the order records are queued, encrypted or sent",
    "wipe": "key material left in freed memory",
    "logic": "a comparison or condition (most change one of the above)",
    "count": "a statistics counter (informational)",
}
MUST_KILL = {"wire", "errno", "order", "wipe", "logic"}

# The files each operator applies to.
CORE = ["src/kern/uipc_ktls.c", "src/opencrypto/ktls_ocf.c"]
TX = CORE + [
    "src/kern/uipc_sockbuf.c",
    "src/kern/uipc_socket.c",
    "src/kern/kern_sendfile.c",
    "src/kern/uipc_mbuf.c",
    "src/netinet/tcp_output.c",
    "src/netinet/tcp_usrreq.c",
]
SRC = ["src/*/*.c"]
KEYS = ["sim/server/handoff.c", "sim/server/ssl_tap.c"]


def op(name, cls, files, pattern, repl, flags=0):
    return {
        "name": name,
        "class": cls,
        "files": files,
        "re": re.compile(pattern, flags),
        "repl": repl,
    }


# The operators.  repl is a re.sub() replacement for one match.  Grow the
# list: a new operator needs a name, a class from CLASSES, the files it
# applies to and a pattern that does not match inside comments, strings,
# preprocessor lines or KASSERT()/MPASS()/panic() (those are skipped).
# Lengths a record's layout is built from, each made one wrong (name,
# pattern, replacement; all class "wire" over CORE).
LAYOUT = [
    ("hdr-len", r"sizeof\(struct tls_record_layer\)",
     r"(sizeof(struct tls_record_layer) + 1)"),
    ("tag-len", r"\b(AES_GMAC_HASH_LEN|POLY1305_HASH_LEN)\b", r"(\1 - 1)"),
    ("mac-len", r"\bSHA(1|2_256|2_384)_HASH_LEN\b", r"(SHA\1_HASH_LEN - 1)"),
    ("block-len", r"\bAES_BLOCK_LEN\b", r"(AES_BLOCK_LEN / 2)"),
    ("max-frame", r"\bTLS_MAX_MSG_SIZE_V10_2\b",
     r"(TLS_MAX_MSG_SIZE_V10_2 - 1)"),
]
# Each comparison turned into its neighbour (class "logic" over TX); the
# lookarounds keep to binary operators between operands.
COMPARISONS = [("lt-le", "<", "<="), ("le-lt", "<=", "<"),
               ("gt-ge", ">", ">="), ("ge-gt", ">=", ">"),
               ("eq-ne", "==", "!="), ("ne-eq", "!=", "==")]
OPS = [
    # --- constants of the record layout ---------------------------------
    *[op(name, "wire", CORE, pat, repl) for name, pat, repl in LAYOUT],
    op("maxlen-16384", "wire", ["src/kern/uipc_ktls.c"], r"\b16384\b",
       "16383"),
    op("salt-len", "wire", CORE, r"\bTLS_AEAD_GCM_LEN\b",
       r"(TLS_AEAD_GCM_LEN + 1)"),
    op("iv-offset", "wire", CORE, r"(params\.iv) \+ 8\b", r"\1 + 7"),
    # --- byte order -----------------------------------------------------
    op("byte-order", "wire", SRC + KEYS, r"\bbe(16|32|64)(enc|dec)\(",
       r"le\1\2("),
    op("htobe", "wire", SRC, r"\bhto(be)(16|32|64)\(", r"htole\2("),
    # --- removed increments (sequence numbers, nonces, chained state) ----
    op("incr-removed", "logic", TX,
       r"(?m)^(\t+)(\(\*\w+\)|[\w.>\-\[\]]+)(\+\+| \+= [^;\n]+| -= [^;\n]+);$",
       r"\1;"),
    # --- errors ---------------------------------------------------------
    op("errno-zero", "errno", SRC, r"return \((E[A-Z0-9]+)\);",
       r"return (0);"),
    op("check-removed", "errno", SRC,
       r"(?m)^(\t+)if \(([^\n]*)\)\n(\t+return \(E[A-Z0-9]+\);)$",
       r"\1if (0)\n\3"),
    # --- ordering -------------------------------------------------------
    op("insert-head", "order", TX, r"\bSTAILQ_INSERT_TAIL\(",
       "STAILQ_INSERT_HEAD("),
    # --- wipes ----------------------------------------------------------
    op("zfree-kfree", "wipe", SRC, r"\bzfree\(([^,;]+),[^;]*\);",
       r"kfree(\1);"),
    op("bzero-removed", "wipe", SRC + KEYS,
       r"\bexplicit_bzero\([^;]*\);", ";"),
    op("cleanse-removed", "wipe", KEYS, r"\bOPENSSL_cleanse\([^;]*\);", ";"),
    # --- comparisons and conditions -------------------------------------
    *[op(name, "logic", TX, r"(?<=[\w)\]] )%s(?= [\w(])" % re.escape(a), b)
      for name, a, b in COMPARISONS],
    op("and-or", "logic", TX, r" && ", " || "),
    op("not-removed", "logic", TX, r"\bif \(!(?!=)", "if ("),
    # --- counters -------------------------------------------------------
    op("counter-removed", "count", SRC,
       r"\bcounter_u64_add\([^;]*\);", ";"),
]

# Survivors that need no test: operator, file, a substring of the mutated
# line, the reason, and optionally a substring of the line before it.
# Keep it short and honest: unreachable code and mutants that change
# nothing observable, nothing else.
KTLS_C = "src/kern/uipc_ktls.c"
OCF_C = "src/opencrypto/ktls_ocf.c"
NO_RX = ("the receive path is not modelled: ktls_enable_tx() is the only "
         "caller")
TLS10_NET = ("a second net under ktls_enqueue(), which parks TLS 1.0 records "
             "until their turn")


def accept(name, path, line, why, after=""):
    """An accepted survivor of operator name: the mutated line holds line
    and the line before it holds after."""
    return {"op": name, "file": path, "line": line, "why": why,
            "after": after}


ACCEPTED = [
    accept("byte-order", KTLS_C,
           "tls->initial_offload_seqno = be64dec(en->rec_seq);",
           "initial_offload_seqno is kept for the NIC (ifnet) path, which is "
           "not modelled: nothing reads it"),
    accept("hdr-len", OCF_C,
           "memcpy(aad, hdr, sizeof(struct tls_record_layer));",
           "one byte more copied into the 13-byte AAD buffer; aadlen, the "
           "length used, is unchanged"),
    accept("salt-len", OCF_C,
           "memcpy(nonce, tls->params.iv, TLS_AEAD_GCM_LEN);",
           "the extra nonce byte is overwritten by the explicit nonce copied "
           "right after"),
    accept("errno-zero", KTLS_C, "return (EALREADY);",
           "the second check under the send lock answers only when another "
           "thread enabled between the two; the tests are single writers",
           "ktls_free(tls);"),
    accept("errno-zero", OCF_C, "return (EIO);",
           "EVP calls on a context ktls_ocf_try() set up do not fail; the "
           "failure path itself is tested with a failing backend "
           "(unit/ktls_session)"),
    accept("errno-zero", OCF_C, "return (ENOMEM);",
           "only when libcrypto cannot allocate or fetch a cipher"),
    accept("check-removed", OCF_C, "if (direction != KTLS_TX)", NO_RX),
    accept("errno-zero", OCF_C, "return (EOPNOTSUPP);", NO_RX),
    accept("check-removed", OCF_C, "if (m->m_epg_seqno != os->next_seqno)",
           TLS10_NET + " (its mutants are killed by ktls_session and "
           "conf-notready)"),
    accept("errno-zero", OCF_C, "return (EINVAL);", TLS10_NET,
           "m->m_epg_seqno != os->next_seqno"),
]

# The tests that cover a file: those of these suites (src/) or these
# tests (the hand-off), less the ones that link nothing from src/.
SRC_SUITES = {"unit", "conformance", "fuzz"}
NOT_SRC = {"oracle", "oracle-openssl", "golden", "pcapng",
           "fuzz_trace_reader"}
KEYS_TESTS = ["keys"]


# The slowest of them run only when the others all passed, so that most
# mutants are killed in seconds.
SRC_SLOW = {"conf-sendfile", "conf-sendfile-64m", "trace"}


def tests_for(path):
    """A name for the test set and its tiers, each a list of tests."""
    if path.startswith("sim/"):
        return ("keys", [KEYS_TESTS])
    return ("src", [[t for t in SRC_TESTS if t not in SRC_SLOW],
                    [t for t in SRC_TESTS if t in SRC_SLOW]])


SRC_TESTS = []


def list_src_tests(tmp):
    """Names of the tests in SRC_SUITES of the copy's build, in order."""
    p = subprocess.run(["meson", "test", "-C", "build", "--no-rebuild",
                        "--list"], cwd=tmp, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    names = []
    for line in p.stdout.splitlines():
        if " / " not in line:
            continue
        suites, name = line.split(" / ", 1)
        suites = set(suites.split(":", 1)[-1].split("+"))
        if suites & SRC_SUITES and name not in NOT_SRC:
            names.append(name)
    return names


def log(msg):
    print("mutate: " + msg, file=sys.stderr, flush=True)


# --- finding the mutants ------------------------------------------------

SKIP_CALLS = re.compile(r"\b(KASSERT|MPASS|mtx_assert|panic|SOCKBUF_LOCK_ASSERT)\s*\(")


def excluded_spans(text):
    """Comments, strings, preprocessor lines and assertion calls."""
    spans = []
    tok = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'
                     r"'(?:\\.|[^'\\\n])*'|(?m:^[ \t]*#[^\n]*(?:\\\n[^\n]*)*)",
                     re.S)
    for m in tok.finditer(text):
        spans.append((m.start(), m.end()))
    for m in SKIP_CALLS.finditer(text):
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        spans.append((m.start(), i + 1))
    spans.sort()
    return spans


def overlaps(spans, a, b):
    for s, e in spans:
        if s < b and a < e:
            return True
        if s >= b:
            break
    return False


def selected_files(patterns):
    out = []
    for pat in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, pat))):
            rel = os.path.relpath(path, ROOT)
            if rel not in out:
                out.append(rel)
    return out


def read_source(path, worktree):
    if worktree:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            return f.read()
    return subprocess.run(["git", "show", "HEAD:" + path], cwd=ROOT,
                          check=True, stdout=subprocess.PIPE,
                          text=True).stdout


def find_mutants(ops, worktree=False):
    mutants = []
    texts = {}
    for o in ops:
        for path in selected_files(o["files"]):
            if path not in texts:
                texts[path] = read_source(path, worktree)
            text = texts[path]
            spans = excluded_spans(text)
            for m in o["re"].finditer(text):
                if overlaps(spans, m.start(), m.end()):
                    continue
                new = m.expand(o["repl"])
                line = text.count("\n", 0, m.start()) + 1
                lstart = text.rfind("\n", 0, m.start()) + 1
                lend = text.find("\n", m.start())
                pstart = text.rfind("\n", 0, max(lstart - 1, 0)) + 1
                mutants.append({
                    "op": o["name"],
                    "class": o["class"],
                    "file": path,
                    "line": line,
                    "start": m.start(),
                    "end": m.end(),
                    "new": new,
                    "src": text[lstart:lend].strip(),
                    "prev": text[pstart:max(lstart - 1, pstart)].strip(),
                })
    mutants.sort(key=lambda x: (x["file"], x["start"], x["op"]))
    for i, mu in enumerate(mutants):
        mu["id"] = i + 1
    return mutants, texts


def accepted_reason(mu):
    for a in ACCEPTED:
        if (a["op"] == mu["op"] and a["file"] == mu["file"] and
                a["line"] in mu["src"] and a.get("after", "") in mu["prev"]):
            return a["why"]
    return None


# --- running them -------------------------------------------------------

def run(cmd, cwd, timeout=None, out=None):
    """Exit status of cmd, or None if it ran out of time (then it and
    everything it started, e.g. the test binaries, are killed)."""
    p = subprocess.Popen(cmd, cwd=cwd, stdout=out or subprocess.DEVNULL,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if p.poll() is None or timeout is not None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def make_copy(keep, worktree):
    """The committed tree (HEAD), or with worktree the tracked files as
    they are in the checkout, in a new temporary directory."""
    tmp = tempfile.mkdtemp(prefix="ktlsim-mutate-")
    if not worktree:
        arch = subprocess.Popen(["git", "archive", "--format=tar", "HEAD"],
                                cwd=ROOT, stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", tmp], stdin=arch.stdout,
                       check=True)
        arch.stdout.close()
        if arch.wait() != 0:
            raise RuntimeError("git archive failed")
    else:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT,
                               check=True,
                               stdout=subprocess.PIPE).stdout.split(b"\0")
        for f in files:
            if not f:
                continue
            rel = f.decode()
            src = os.path.join(ROOT, rel)
            if not os.path.isfile(src):
                continue
            dst = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
    log("copy of %s in %s%s" % ("the checkout" if worktree else "HEAD", tmp,
                                " (kept)" if keep else ""))
    return tmp


def first_failure(build):
    path = os.path.join(build, "meson-logs", "testlog-mutant.json")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if r.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL"):
                    return r.get("name", "?"), r.get("result", "?")
    except OSError:
        pass
    return "?", "?"


def test_cmd(tests, jobs):
    return (["meson", "test", "-C", "build", "--no-rebuild", "--maxfail", "1",
             "--logbase", "testlog-mutant", "--num-processes", str(jobs)] +
            tests)


def run_tests(path, tmp, jobs, limit):
    """Run the tiers of path's tests: 0 all passed, None out of time,
    else the failing exit status."""
    t0 = time.time()
    for tier in tests_for(path)[1]:
        if not tier:
            continue
        left = None if limit is None else limit - (time.time() - t0)
        if left is not None and left <= 0:
            return None
        rc = run(test_cmd(tier, jobs), tmp, timeout=left)
        if rc != 0:
            return rc
    return 0


def main():
    ap = argparse.ArgumentParser(description="ktlsim mutation testing")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--ops")
    ap.add_argument("--classes")
    ap.add_argument("--files")
    ap.add_argument("--match")
    ap.add_argument("--ids")
    ap.add_argument("--sample", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--worktree", action="store_true")
    ap.add_argument("--report")
    args = ap.parse_args()
    # SIGTERM (kill PID) ends the run like ^C: the copy is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))

    ops = OPS
    if args.ops:
        names = args.ops.split(",")
        unknown = set(names) - {o["name"] for o in OPS}
        if unknown:
            ap.error("unknown operators: " + ", ".join(sorted(unknown)))
        ops = [o for o in ops if o["name"] in names]
    if args.classes:
        classes = args.classes.split(",")
        ops = [o for o in ops if o["class"] in classes]
    mutants, texts = find_mutants(ops, args.worktree)
    if args.files:
        files = args.files.split(",")
        mutants = [m for m in mutants
                   if any(fnmatch.fnmatch(m["file"], f) for f in files)]
    if args.match:
        rx = re.compile(args.match)
        mutants = [m for m in mutants if rx.search(m["src"])]
    if args.ids:
        ids = {int(i) for i in args.ids.split(",")}
        mutants = [m for m in mutants if m["id"] in ids]
    if args.sample is not None and args.sample < len(mutants):
        rng = random.Random(args.seed)
        mutants = sorted(rng.sample(mutants, args.sample),
                         key=lambda x: x["id"])

    if args.list:
        for m in mutants:
            print("%4d %-6s %-16s %s:%d: %s  =>  %s" % (
                m["id"], m["class"], m["op"], m["file"], m["line"],
                m["src"], m["new"]))
        print("%d mutants" % len(mutants))
        return 0
    if not mutants:
        log("no mutants selected")
        return 2

    tmp = make_copy(args.keep, args.worktree)
    build = os.path.join(tmp, "build")
    report = []

    def out(line):
        print(line, flush=True)
        report.append(line)

    try:
        log("building the unmutated copy")
        with open(os.path.join(tmp, "setup.log"), "w") as lf:
            if (run(["meson", "setup", "build"], tmp, out=lf) != 0 or
                    run(["ninja", "-C", "build"], tmp, out=lf) != 0):
                log("the unmutated copy does not build: %s/setup.log" % tmp)
                args.keep = True
                return 2
        SRC_TESTS[:] = list_src_tests(tmp)
        base = {}
        for path in sorted({m["file"] for m in mutants}):
            key = tests_for(path)[0]
            if key in base:
                continue
            t0 = time.time()
            rc = run_tests(path, tmp, args.jobs, None)
            base[key] = time.time() - t0
            if rc != 0:
                log("tests fail unmutated (%s): see %s/build/meson-logs" %
                    (key, tmp))
                args.keep = True
                return 2
            log("unmutated: the %s tests (%s) pass in %.0f s" %
                (key, " | ".join(" ".join(t) for t in tests_for(path)[1]),
                 base[key]))

        counts = {}
        survivors = []
        t_start = time.time()
        for n, m in enumerate(mutants, 1):
            path = os.path.join(tmp, m["file"])
            orig = texts[m["file"]]
            mutated = orig[:m["start"]] + m["new"] + orig[m["end"]:]
            with open(path, "w", encoding="utf-8") as f:
                f.write(mutated)
            limit = args.timeout or max(
                120, int(4 * base[tests_for(m["file"])[0]]))
            t0 = time.time()
            by = ""
            if run(["ninja", "-C", "build"], tmp, timeout=600) != 0:
                status = "BUILD-FAIL"
            else:
                rc = run_tests(m["file"], tmp, args.jobs, limit)
                if rc is None:
                    status = "TIMEOUT"
                elif rc == 0:
                    why = accepted_reason(m)
                    status = "ACCEPTED" if why else "SURVIVED"
                    if why:
                        by = why
                    else:
                        survivors.append(m)
                else:
                    name, result = first_failure(build)
                    status = "KILLED"
                    by = "%s (%s)" % (name, result)
            with open(path, "w", encoding="utf-8") as f:
                f.write(orig)
            counts.setdefault(m["class"], {}).setdefault(status, 0)
            counts[m["class"]][status] += 1
            out("%-10s #%-4d %-5s %-15s %s:%d: %s  =>  %s%s  [%.0fs]" % (
                status, m["id"], m["class"], m["op"], m["file"], m["line"],
                m["src"], m["new"].replace("\n", " "),
                ("  -- " + by) if by else "", time.time() - t0))
            if n % 10 == 0:
                log("%d of %d mutants done, %.0f min" %
                    (n, len(mutants), (time.time() - t_start) / 60))
        # Put the unmutated objects back for a --keep'd copy.
        run(["ninja", "-C", "build"], tmp)

        out("")
        out("%-6s %7s %7s %8s %8s %10s %9s" % (
            "class", "killed", "timeout", "survived", "accepted",
            "build-fail", "kill rate"))
        tot = {}
        for cls in CLASSES:
            c = counts.get(cls, {})
            if not c:
                continue
            for k, v in c.items():
                tot[k] = tot.get(k, 0) + v
            out(summary_line(cls, c))
        out(summary_line("all", tot))
        bad = [m for m in survivors if m["class"] in MUST_KILL]
        if bad:
            out("")
            out("%d must-kill mutants survived:" % len(bad))
            for m in bad:
                out("  #%d %s %s:%d: %s" % (m["id"], m["op"], m["file"],
                                            m["line"], m["src"]))
        else:
            out("no must-kill mutant survived")
        return 1 if bad else 0
    finally:
        if args.report:
            with open(args.report, "w", encoding="utf-8") as f:
                f.write("\n".join(report) + "\n")
        if args.keep:
            log("copy kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def summary_line(cls, c):
    k = c.get("KILLED", 0)
    t = c.get("TIMEOUT", 0)
    s = c.get("SURVIVED", 0)
    a = c.get("ACCEPTED", 0)
    b = c.get("BUILD-FAIL", 0)
    n = k + t + s
    rate = "%.1f%%" % (100.0 * (k + t) / n) if n else "-"
    return "%-6s %7d %7d %8d %8d %10d %9s" % (cls, k, t, s, a, b, rate)


if __name__ == "__main__":
    sys.exit(main())
