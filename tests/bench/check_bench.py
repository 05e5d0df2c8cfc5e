#!/usr/bin/env python3
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Suite 'bench': scripts/bench.py --smoke, at its smallest sizes, must
# produce well-formed JSON with every key docs/performance.md describes
# and positive figures, the table and (with gnuplot) the chart.  The
# figures themselves are never pass/fail.  nginx rows are expected exactly
# when nginx is installed.  The checker is then shown a broken copy of the
# result (a key gone, a figure zero, a mode missing), which it must refuse.
#
# usage: check_bench.py SRCDIR BUILDDIR

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

SUITES = ["aes-256-gcm", "chacha20-poly1305", "aes-128-cbc-hmac-sha1"]
MODES = ["sw sendfile", "sw no-sendfile", "userland", "nic mlx5"]
# ktls_bench paths of the pipeline table (scripts/bench.py KB_PATHS).
PATHS = ["write", "sendfile", "sendfile-cold", "sendfile-net", "encrypt"]


def positive(errs, where, obj, keys):
    for k in keys:
        v = obj.get(k) if isinstance(obj, dict) else None
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            errs.append("%s.%s: %r is not a positive number" % (where, k, v))


def has(errs, where, obj, keys):
    for k in keys:
        if not isinstance(obj, dict) or k not in obj:
            errs.append("%s: no key %s" % (where, k))


def validate(res, backends, want_nginx):
    errs = []
    has(errs, "top", res, ["profile", "date", "machine", "limit",
                           "pipeline", "userland_baseline", "end_to_end",
                           "headline"])
    if errs:
        return errs
    has(errs, "machine", res["machine"], ["model", "load_before",
                                          "load_after"])
    positive(errs, "machine", res["machine"], ["cpus"])
    lim = res["limit"]
    has(errs, "limit", lim, ["openssl_speed", "backends", "ktls_bench_evp"])
    got = sorted(r.get("suite") for r in lim.get("openssl_speed", []))
    if got != sorted(SUITES):
        errs.append("limit.openssl_speed suites %r" % got)
    for r in lim.get("openssl_speed", []):
        positive(errs, "openssl_speed", r, ["mb_s", "cpu_s_gib"])
    got = sorted((r.get("backend"), r.get("suite"))
                 for r in lim.get("backends", []))
    want = sorted((b, s) for b in backends for s in SUITES)
    if got != want:
        errs.append("limit.backends %r, want %r" % (got, want))
    for r in lim.get("backends", []):
        has(errs, "limit.backends", r, ["taken_by"])
        positive(errs, "limit.backends", r, ["mb_s", "cpu_s_gib"])
    positive(errs, "limit.ktls_bench_evp", lim.get("ktls_bench_evp", {}),
             ["mb_s", "cpu_s_gib"])
    paths = sorted(set(r.get("path") for r in res["pipeline"]))
    if paths != sorted(PATHS):
        errs.append("pipeline paths %r, want %r" % (paths, sorted(PATHS)))
    for r in res["pipeline"]:
        has(errs, "pipeline", r, ["backend"])
        positive(errs, "pipeline", r, ["workers", "mb_s", "cpu_s_gib",
                                       "workers_cpu_s_gib", "pipeline_limit"])
        # A fraction of the limit: the pipeline never costs less.
        if not 0 < (r.get("pipeline_limit") or 0) <= 1.5:
            errs.append("pipeline %s: pipeline_limit %r is no fraction" %
                        (r.get("path"), r.get("pipeline_limit")))
        if r.get("path") != "write":
            positive(errs, "pipeline " + str(r.get("path")), r,
                     ["pages_limit"])
    for b in set(r.get("backend") for r in res["pipeline"]):
        pg = lim.get("pages", {}).get(b, {})
        for k in ("pages-copy", "pages-cipher"):
            positive(errs, "limit.pages.%s.%s" % (b, k), pg.get(k, {}),
                     ["mb_s", "cpu_s_gib"])
    for v in ("1.2", "1.3"):
        positive(errs, "userland_baseline." + v,
                 res["userland_baseline"].get(v, {}),
                 ["mb_s", "cpu_s_gib"])
    e = res["end_to_end"]
    has(errs, "end_to_end", e, ["rows", "nic", "nginx_note", "tls",
                                "clients"])
    positive(errs, "end_to_end", e, ["size_mib", "rounds"])
    if e.get("nic", {}).get("status") != "measured":
        errs.append("end_to_end.nic: %r" % e.get("nic"))
    rows = e.get("rows", [])
    modes = set(r.get("mode") for r in rows)
    for m in MODES + (["nginx"] if want_nginx else []):
        if m not in modes:
            errs.append("end_to_end: no %s row" % m)
    if not want_nginx and "nginx" in modes:
        errs.append("end_to_end: an nginx row without nginx")
    for r in rows:
        w = "end_to_end %s" % r.get("server")
        has(errs, w, r, ["backend", "tls", "cpu_vs_nginx", "mb_s_vs_nginx"])
        positive(errs, w, r, ["cpu_s_gib", "mb_s", "peak_rss_kib", "bytes",
                              "clients"])
        if not isinstance(r.get("csw_per_gib"), (int, float)) or \
                r["csw_per_gib"] < 0:
            errs.append("%s: csw_per_gib %r" % (w, r.get("csw_per_gib")))
        if want_nginx:
            positive(errs, w, r, ["cpu_vs_nginx", "mb_s_vs_nginx"])
    if want_nginx:
        positive(errs, "headline", res["headline"],
                 ["cpu_vs_nginx", "mb_s_vs_nginx", "pipeline_limit",
                  "pages_limit"])
    return errs


def main():
    src, build = sys.argv[1], sys.argv[2]
    backends = os.environ.get("KTLSIM_BACKENDS", "evp").split()
    want_nginx = (shutil.which("nginx") or
                  os.access("/usr/sbin/nginx", os.X_OK))
    want_chart = shutil.which("gnuplot") is not None
    with tempfile.TemporaryDirectory(prefix="bench-test.") as out:
        p = subprocess.run([sys.executable,
                            os.path.join(src, "scripts", "bench.py"),
                            "--smoke", "--build", build, "--out", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=600)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        if p.returncode != 0:
            sys.exit("bench.py --smoke exited %d" % p.returncode)
        with open(os.path.join(out, "bench.json")) as f:
            res = json.load(f)
        errs = validate(res, backends, want_nginx)
        for name in ("bench.md",) + (("bench.png", "bench.svg")
                                     if want_chart else ()):
            path = os.path.join(out, name)
            if not os.path.exists(path) or os.path.getsize(path) == 0:
                errs.append("%s missing or empty" % name)
        if "| sw sendfile |" not in p.stdout or "| nic mlx5 |" not in p.stdout:
            errs.append("the printed table lacks the sw sendfile row or "
                        "the NIC row")
    if errs:
        sys.exit("bench.json:\n  " + "\n  ".join(errs))

    # The checker itself: each of these breaks must be refused.
    breaks = []
    b = copy.deepcopy(res)
    del b["pipeline"][0]["cpu_s_gib"]
    breaks.append(("a pipeline figure gone", b))
    b = copy.deepcopy(res)
    b["pipeline"] = [r for r in b["pipeline"] if r["path"] != "sendfile-net"]
    breaks.append(("the sendfile-net rows gone", b))
    b = copy.deepcopy(res)
    b["pipeline"][0]["pipeline_limit"] = 1.0 / b["pipeline"][0][
        "pipeline_limit"] + 1.0
    breaks.append(("pipeline/limit inverted (a multiple, not a fraction)",
                   b))
    b = copy.deepcopy(res)
    del b["limit"]["pages"]
    breaks.append(("the pages limit gone", b))
    b = copy.deepcopy(res)
    b["end_to_end"]["rows"][0]["mb_s"] = 0.0
    breaks.append(("an end-to-end figure zero", b))
    b = copy.deepcopy(res)
    b["end_to_end"]["rows"] = [r for r in b["end_to_end"]["rows"]
                               if r["mode"] != "userland"]
    breaks.append(("the userland rows gone", b))
    b = copy.deepcopy(res)
    b["limit"]["backends"].pop()
    breaks.append(("a backend's suite gone", b))
    for what, b in breaks:
        if not validate(b, backends, want_nginx):
            sys.exit("the checker accepted a result with %s" % what)
    print("bench: JSON well-formed (%d end-to-end rows, nginx %s, chart %s)"
          % (len(res["end_to_end"]["rows"]),
             "in" if want_nginx else "absent",
             "drawn" if want_chart else "absent"))


if __name__ == "__main__":
    main()
