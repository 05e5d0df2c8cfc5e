#!/usr/bin/env python3
#
# SPDX-License-Identifier: BSD-2-Clause
#
# The performance benchmark of docs/performance.md, in one run: the limit
# (raw AEAD per backend and suite), the simulated kernel's pipeline
# (ktls_bench), the userland baseline (libssl SSL_write() of read(2)
# buffers) and end to end (sim_server in each mode and nginx serving one
# large file to curl on loopback).  Prints a table with ratios, writes
# JSON and renders a gnuplot chart.  The figures are never pass/fail.
#
# The end-to-end runs are interleaved (every configuration once per round,
# A B C A B C ...) and reported as medians over the rounds, with ratios
# against nginx of the same TLS version and client count, because the
# machine is shared and noisy.  Server CPU is the run time of every thread
# of the server's processes (/proc/PID/task/*/schedstat: utime+stime
# without clock-tick rounding), context switches the sum of
# voluntary and involuntary over every thread (/proc/PID/task/*/status),
# peak RSS VmHWM (/proc/PID/status; for nginx summed over master and
# workers).
#
#   scripts/bench.py                 # the full run (1 GiB end to end)
#   scripts/bench.py --quick         # minutes: 256 MiB, fewer rounds
#   scripts/bench.py --smoke         # seconds: tiny sizes (test suite)
#
# nginx (nginx-light) and gnuplot (gnuplot-nox) come from
# `scripts/setup.sh --bench`; without them the nginx rows and the chart are
# left out and said to be missing.

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = float(1 << 30)
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The limit's suites: openssl speed's EVP names.
SPEED_SUITES = ["aes-256-gcm", "chacha20-poly1305", "aes-128-cbc-hmac-sha1"]

# TLS versions of the end-to-end runs, both AES-256-GCM: curl options.
TLS_CLIENT = {
    "1.3": ["--tlsv1.3", "--tls-max", "1.3",
            "--tls13-ciphers", "TLS_AES_256_GCM_SHA384"],
    "1.2": ["--tlsv1.2", "--tls-max", "1.2",
            "--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"],
}

PROFILES = {
    # size_mib: end-to-end file; rounds: end-to-end rounds; mib: pipeline
    # and limit bytes; speed_s: openssl speed seconds per suite.
    # every_pair: every TLS version with every client count; else the
    # versions after the first run with the first client count only.
    # all_backends: every backend of the build in the pipeline and end to
    # end, else the default (evp) alone, with one worker.
    "full": dict(size_mib=1024, rounds=3, mib=1024, speed_s=3,
                 clients=[1, 4, 16], tls=["1.3", "1.2"], all_backends=True,
                 every_pair=False),
    "quick": dict(size_mib=256, rounds=2, mib=256, speed_s=1,
                  clients=[1, 4], tls=["1.3", "1.2"], all_backends=True,
                  every_pair=True),
    "smoke": dict(size_mib=16, rounds=1, mib=64, speed_s=1,
                  clients=[1], tls=["1.3"], all_backends=False,
                  every_pair=True),
}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def run(cmd, timeout=900):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                p.stderr.strip()[-400:]))
    return p.stdout


def cpu_s_per_gib(rate_bytes_per_s):
    return GIB / rate_bytes_per_s if rate_bytes_per_s > 0 else None


# ---------------------------------------------------------------- limit


def openssl_speed(suite, seconds):
    """openssl speed divides by user CPU time unless -elapsed is given,
    so its rate is already per CPU second."""
    out = run(["openssl", "speed", "-seconds", str(seconds), "-bytes",
               "16384", "-evp", suite])
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+([0-9.]+)k\s*$", line.strip())
        if m:
            rate = float(m.group(2)) * 1000.0
            return {"suite": suite, "mb_s": rate / 1e6,
                    "cpu_s_gib": cpu_s_per_gib(rate)}
    raise RuntimeError("openssl speed %s: no figure in %r" % (suite, out))


def aead_bench(build, mib):
    out = run([os.path.join(build, "sim", "ktls_aead_bench"), "-m",
               str(mib)])
    rows = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 8 and f[0] == "aead":
            rows.append({"backend": f[1], "suite": f[2], "taken_by": f[3],
                         "mb_s": float(f[4]), "cpu_s_gib": float(f[6])})
    if not rows:
        raise RuntimeError("ktls_aead_bench printed nothing")
    return rows


def backends(build):
    """The backends this build has: ktls_bench names them on a bad -b."""
    p = subprocess.run([os.path.join(build, "sim", "ktls_bench"), "-b",
                        "?"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    m = re.search(r"this build has ([a-z0-9 ]+) \(", p.stderr)
    if not m:
        raise RuntimeError("ktls_bench -b: %r" % p.stderr)
    return m.group(1).split()


# ------------------------------------------------------------- pipeline

KB_LINE = re.compile(r"^(\S+)\s+([0-9.]+) MB/s\s+([0-9.]+) CPU s/GiB")
KB_WORKERS = re.compile(r"^\s+CPU s/GiB: .*workers ([0-9.]+) ")

# ktls_bench's paths: the pipeline's rows, and the no-pipeline passes over
# the warm cache's pages that the limit table shows.
KB_PATHS = ["write", "sendfile", "sendfile-cold", "sendfile-net", "encrypt"]
KB_PAGES = ["pages-copy", "pages-cipher"]


def ktls_bench(build, backend, cpus, mib):
    """One ktls_bench run, one connection per worker: each path's MB/s,
    CPU-s/GiB of the whole process and of the KTLS workers alone."""
    out = run([os.path.join(build, "sim", "ktls_bench"), "-b", backend,
               "-c", str(cpus), "-n", str(cpus), "-m", str(mib)])
    res = {}
    last = None
    for line in out.splitlines():
        m = KB_LINE.match(line)
        if m:
            last = m.group(1)
            res[last] = {"mb_s": float(m.group(2)),
                         "cpu_s_gib": float(m.group(3))}
            continue
        m = KB_WORKERS.match(line)
        if m and last:
            res[last]["workers_cpu_s_gib"] = float(m.group(1))
    for k in ["evp"] + KB_PATHS + KB_PAGES:
        if k not in res:
            raise RuntimeError("ktls_bench: no %s line in %r" % (k, out))
    return res


def fraction(limit, cost):
    """pipeline/limit (docs/performance.md): the limit's CPU-s/GiB over
    the pipeline's, so 1.0 is a pipeline that costs nothing beyond the
    limit and 0.5 one that doubles it."""
    return limit / cost if limit and cost else None


def userland_baseline(build, mib):
    out = run([os.path.join(build, "sim", "ssl_write_bench"), "-m",
               str(mib)])
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 7 and f[0] == "userland":
            ver = f[1].replace("TLSv", "")
            rows[ver] = {"suite": f[2], "mb_s": float(f[3]),
                         "cpu_s_gib": float(f[5])}
    if not rows:
        raise RuntimeError("ssl_write_bench printed nothing")
    return rows


# ----------------------------------------------------------- end to end


def proc_pids(pid):
    """pid and its descendants (nginx's workers)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def task_cpu(p, t):
    """CPU seconds of one thread: its run time in nanoseconds
    (/proc/PID/task/TID/schedstat, the sum utime+stime of
    /proc/PID/stat is sampled from, without the clock-tick rounding that
    makes a short run read 0), or utime+stime where schedstat is
    missing."""
    try:
        with open("/proc/%d/task/%s/schedstat" % (p, t)) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        with open("/proc/%d/task/%s/stat" % (p, t)) as f:
            st = f.read()
        f2 = st[st.rindex(")") + 2:].split()
        return (int(f2[11]) + int(f2[12])) / CLK_TCK


def proc_sample(pid):
    """CPU seconds, context switches and VmHWM (KiB) of pid's tree, summed
    over every thread (the process-wide files count the main thread's
    switches only)."""
    cpu, csw, hwm = 0.0, 0, 0
    for p in proc_pids(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
            for t in os.listdir("/proc/%d/task" % p):
                cpu += task_cpu(p, t)
                with open("/proc/%d/task/%s/status" % (p, t)) as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches",
                                            "nonvoluntary_ctxt_switches")):
                            csw += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return cpu, csw, hwm


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server on port %d did not come up" % port)


class Server:
    """One server configuration, started once and kept for every round."""

    def __init__(self, name, mode, backend, argv, port, logpath):
        self.name, self.mode, self.backend = name, mode, backend
        self.port = port
        self.logf = open(logpath, "w")
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        try:
            wait_port(port, self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def make_tree(tmp, size_mib, clients):
    """The document root: one file per client count, sized so that every
    run moves size_mib in total, and an EC P-256 certificate."""
    root = os.path.join(tmp, "www")
    os.mkdir(root)
    total = size_mib << 20
    block = os.urandom(1 << 20)
    files = {}
    for n in clients:
        size = total // n
        path = os.path.join(root, "f%d.bin" % n)
        with open(path, "wb") as f:
            left = size
            while left > 0:
                f.write(block[:min(left, len(block))])
                left -= len(block)
        files[n] = ("/f%d.bin" % n, size)
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
         "/CN=localhost", "-addext",
         "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key,
         "-out", cert])
    return root, files, cert, key


def nginx_conf(tmp, port, root, cert, key):
    conf = os.path.join(tmp, "nginx.conf")
    ntmp = os.path.join(tmp, "nginx")
    os.mkdir(ntmp)
    with open(conf, "w") as f:
        f.write("""daemon off;
master_process on;
user root;
worker_processes auto;
pid %(t)s/nginx.pid;
error_log %(t)s/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000;
    client_body_temp_path %(t)s/body;
    proxy_temp_path %(t)s/proxy;
    fastcgi_temp_path %(t)s/fastcgi;
    uwsgi_temp_path %(t)s/uwsgi;
    scgi_temp_path %(t)s/scgi;
    types { application/octet-stream bin; }
    server {
        listen 127.0.0.1:%(port)d ssl;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384;
        ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;
        root %(root)s;
    }
}
""" % dict(t=ntmp, port=port, cert=cert, key=key, root=root))
    return conf


def start_servers(build, tmp, root, cert, key, bes, cpus, want_nginx):
    sim = os.path.join(build, "sim", "sim_server")
    common = ["--root", root, "--cert", cert, "--key", key, "--cpus",
              str(cpus), "--idle-timeout", "0", "--send-timeout", "0"]
    specs = []
    for be in bes:
        specs.append(("sw-sendfile/" + be, "sw sendfile", be,
                      ["--mode", "sw", "--backend", be]))
        specs.append(("sw-write/" + be, "sw no-sendfile", be,
                      ["--mode", "sw", "--backend", be, "--no-sendfile"]))
    specs.append(("userland", "userland", "libssl", ["--mode", "userland"]))
    # NIC mode on its default lossless link: the engine encrypts inside
    # sim_server, so its CPU here is host plus engine time (a real card's
    # host pays none of the engine's share).
    specs.append(("nic/mlx5", "nic mlx5", "engine",
                  ["--mode", "nic", "--nic", "mlx5"]))
    servers = []
    try:
        nginx_note = start_all(servers, specs, sim, common, tmp, root, cert,
                               key, want_nginx)
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers, nginx_note


def start_all(servers, specs, sim, common, tmp, root, cert, key,
              want_nginx):
    """Start every server into servers (the caller stops them if one
    fails); returns why nginx is missing, or None."""
    for name, mode, be, extra in specs:
        port = free_port()
        argv = [sim, "--listen", "127.0.0.1:%d" % port] + common + extra
        servers.append(Server(name, mode, be, argv, port,
                              os.path.join(tmp, name.replace("/", "-") +
                                           ".log")))
    nginx_note = None
    if want_nginx:
        nginx = shutil.which("nginx") or (
            "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
            else None)
        if nginx is None:
            nginx_note = "nginx not installed (scripts/setup.sh --bench)"
        else:
            port = free_port()
            conf = nginx_conf(tmp, port, root, cert, key)
            servers.append(Server("nginx", "nginx", "libssl",
                                  [nginx, "-c", conf, "-e",
                                   os.path.join(tmp, "nginx-stderr.log")],
                                  port, os.path.join(tmp, "nginx.log")))
    else:
        nginx_note = "nginx left out (--no-nginx)"
    return nginx_note


def fetch(srv, tls, path, size, n, cert):
    """n concurrent curl clients, each fetching path once; returns wall
    seconds.  A short or failed transfer is an error, not a figure."""
    url = "https://localhost:%d%s" % (srv.port, path)
    cmd = (["curl", "-s", "--http1.1", "--cacert", cert, "-o", "/dev/null",
            "--connect-to", "localhost:%d:127.0.0.1:%d" % (srv.port,
                                                          srv.port),
            "-w", "%{http_code} %{size_download}\n"] + TLS_CLIENT[tls] +
           [url])
    t0 = time.monotonic()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    outs = [p.communicate(timeout=900) for p in procs]
    wall = time.monotonic() - t0
    for p, (o, e) in zip(procs, outs):
        f = o.split()
        if p.returncode != 0 or f[:1] != ["200"] or int(f[1]) != size:
            raise RuntimeError("%s TLS %s x%d: curl exit %d, %r %s" %
                               (srv.name, tls, n, p.returncode, o,
                                e.strip()))
    return wall


def end_to_end(build, tmp, prof, bes, cpus, want_nginx):
    root, files, cert, key = make_tree(tmp, prof["size_mib"],
                                       prof["clients"])
    servers, nginx_note = start_servers(build, tmp, root, cert, key, bes,
                                        cpus, want_nginx)
    samples = {}
    try:
        # Warm-up: one fetch of the largest file per server, so that
        # sim_server has touched all its page frames (the first touch of
        # memory costs several times a later one, on a virtual machine
        # most of all, and nginx reuses a few small buffers), and one
        # small fetch per server and version, so that the page cache
        # holds the files and no handshake code is cold.
        big = min(prof["clients"])
        for s in servers:
            fetch(s, prof["tls"][0], *files[big], 1, cert)
            for tls in prof["tls"]:
                fetch(s, tls, *files[prof["clients"][-1]], 1, cert)
        pairs = [(tls, n) for i, tls in enumerate(prof["tls"])
                 for n in prof["clients"]
                 if prof["every_pair"] or i == 0 or n == prof["clients"][0]]
        for rnd in range(prof["rounds"]):
            for tls, n in pairs:
                path, size = files[n]
                nbytes = size * n
                for s in servers:
                    c0, x0, _ = proc_sample(s.proc.pid)
                    wall = fetch(s, tls, path, size, n, cert)
                    c1, x1, _ = proc_sample(s.proc.pid)
                    samples.setdefault((s.name, tls, n), []).append(
                        {"cpu_s_gib": (c1 - c0) / (nbytes / GIB),
                         "mb_s": nbytes / wall / 1e6,
                         "csw_per_gib": (x1 - x0) / (nbytes / GIB)})
            log("end to end: round %d of %d done" % (rnd + 1,
                                                     prof["rounds"]))
        hwm = {s.name: proc_sample(s.proc.pid)[2] for s in servers}
    finally:
        for s in servers:
            s.stop()
    rows = []
    meta = {s.name: s for s in servers}
    for (name, tls, n), ss in samples.items():
        med = {k: statistics.median(x[k] for x in ss)
               for k in ("cpu_s_gib", "mb_s", "csw_per_gib")}
        rows.append(dict(server=name, mode=meta[name].mode,
                         backend=meta[name].backend, tls=tls, clients=n,
                         rounds=len(ss), bytes=files[n][1] * n,
                         peak_rss_kib=hwm[name], **med))
    for r in rows:
        ref = [x for x in rows if x["server"] == "nginx" and
               x["tls"] == r["tls"] and x["clients"] == r["clients"]]
        if ref and ref[0]["cpu_s_gib"] > 0:
            r["cpu_vs_nginx"] = r["cpu_s_gib"] / ref[0]["cpu_s_gib"]
            r["mb_s_vs_nginx"] = r["mb_s"] / ref[0]["mb_s"]
        else:
            r["cpu_vs_nginx"] = r["mb_s_vs_nginx"] = None
    return rows, nginx_note


def nic_slot(rows):
    """--mode nic: its rows are among the end-to-end ones."""
    if any(r["mode"] == "nic mlx5" for r in rows):
        return {"status": "measured",
                "why": "rows 'nic mlx5': sim_server --mode nic --nic mlx5 "
                       "on a lossless link; CPU includes the simulated "
                       "engine's encryption"}
    return {"status": "not measured", "why": "no NIC row"}


# -------------------------------------------------------------- output


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def table(res):
    out = []
    m = res["machine"]
    out.append("ktlsim benchmark, %s, %s (%s cores), load %s -> %s, "
               "profile %s" % (res["date"], m["model"], m["cpus"],
                               m["load_before"], m["load_after"],
                               res["profile"]))
    out.append("")
    out.append("Limit: raw AEAD, 16 KiB records, one thread (MB/s is wall "
               "clock, CPU-s/GiB the thread's CPU)")
    out.append("")
    out.append("| source | backend | suite | MB/s | CPU-s/GiB |")
    out.append("|---|---|---|---:|---:|")
    for r in res["limit"]["openssl_speed"]:
        out.append("| openssl speed | libcrypto | %s | %.0f | %.3f |" %
                   (r["suite"], r["mb_s"], r["cpu_s_gib"]))
    for r in res["limit"]["backends"]:
        be = r["backend"]
        if r["taken_by"] != be:
            be += " (declined: %s)" % r["taken_by"]
        out.append("| ktls_aead_bench | %s | %s | %.0f | %.3f |" %
                   (be, r["suite"], r["mb_s"], r["cpu_s_gib"]))
    r = res["limit"].get("ktls_bench_evp")
    if r:
        out.append("| ktls_bench (evp line) | plain EVP loop | aes-256-gcm "
                   "| %.0f | %.3f |" % (r["mb_s"], r["cpu_s_gib"]))
    out.append("")
    pg = res["limit"].get("pages", {})
    if pg:
        out.append("")
        out.append("The same limit on the memory sendfile reads: ktls_bench "
                   "pages-copy and pages-cipher, the warm cache's pages "
                   "copied, or encrypted by the backend, into new pages, "
                   "one thread, no pipeline")
        out.append("")
        out.append("| backend | pass | MB/s | CPU-s/GiB | over the bare "
                   "cipher |")
        out.append("|---|---|---:|---:|---:|")
        for be, r in sorted(pg.items()):
            for k in KB_PAGES:
                out.append("| %s | %s | %.0f | %.3f | %s |" %
                           (be, k, r[k]["mb_s"], r[k]["cpu_s_gib"],
                            fmt(r[k].get("over_bare"), "%+.3f")))
    out.append("")
    out.append("Pipeline: ktls_bench, AES-256-GCM TLS 1.3, one connection "
               "per worker.  pipeline/limit = the backend's bare "
               "AES-256-GCM CPU-s/GiB over the path's (1.00: no overhead "
               "at all); on its pages = pages-cipher's over the path's, "
               "the same with the memory traffic of the pages counted as "
               "limit")
    out.append("")
    out.append("| backend | workers | path | MB/s | CPU-s/GiB | workers' "
               "CPU-s/GiB | pipeline/limit | on its pages |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in res["pipeline"]:
        out.append("| %s | %d | %s | %.0f | %.2f | %s | %s | %s |" %
                   (r["backend"], r["workers"], r["path"], r["mb_s"],
                    r["cpu_s_gib"], fmt(r.get("workers_cpu_s_gib")),
                    fmt(r["pipeline_limit"]), fmt(r.get("pages_limit"))))
    sc = res.get("worker_scaling")
    if sc:
        out.append("")
        out.append("Encryption stage alone (ktls_bench -p encrypt), %d "
                   "workers over 1: %s" % (sc[0]["workers"], ", ".join(
                       "%s MB/s x%s, workers' CPU-s/GiB %s -> %s" %
                       (r["backend"], fmt(r["mb_s_ratio"]),
                        fmt(r["cpu_1"], "%.3f"), fmt(r["cpu_n"], "%.3f"))
                       for r in sc)))
    out.append("")
    out.append("Userland baseline: ssl_write_bench (read(2) + SSL_write, "
               "records dropped)")
    out.append("")
    out.append("| TLS | suite | MB/s | CPU-s/GiB |")
    out.append("|---|---|---:|---:|")
    for ver, r in sorted(res["userland_baseline"].items()):
        out.append("| %s | %s | %.0f | %.2f |" % (ver, r["suite"],
                                                   r["mb_s"],
                                                   r["cpu_s_gib"]))
    out.append("")
    e = res["end_to_end"]
    out.append("End to end: %d MiB per run, curl on loopback, medians of "
               "%d interleaved rounds; x = ratio to nginx (CPU: lower is "
               "better, MB/s: higher is better)" % (e["size_mib"],
                                                    e["rounds"]))
    out.append("")
    if e.get("nginx_note"):
        out.append("(%s)" % e["nginx_note"])
        out.append("")
    out.append("| server | backend | TLS | clients | CPU-s/GiB | x nginx | "
               "MB/s | x nginx | csw/GiB | peak RSS MiB |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(e["rows"], key=lambda r: (r["tls"] != "1.3",
                                              r["clients"], r["mode"],
                                              r["backend"])):
        out.append("| %s | %s | %s | %d | %.2f | %s | %.0f | %s | %.0f | "
                   "%.1f |" % (r["mode"], r["backend"], r["tls"],
                               r["clients"], r["cpu_s_gib"],
                               fmt(r["cpu_vs_nginx"]), r["mb_s"],
                               fmt(r["mb_s_vs_nginx"]), r["csw_per_gib"],
                               r["peak_rss_kib"] / 1024.0))
    out.append("")
    h = res["headline"]
    if h:
        out.append("Headline (TLS 1.3, 1 client, backend %s): sw sendfile "
                   "vs nginx CPU/GiB x%s, throughput x%s; pipeline/limit "
                   "of warm sendfile, 1 worker, %s (on its pages %s; 1.00 "
                   "is no overhead)" %
                   (h["backend"], fmt(h["cpu_vs_nginx"]),
                    fmt(h["mb_s_vs_nginx"]), fmt(h["pipeline_limit"]),
                    fmt(h["pages_limit"])))
    return "\n".join(out) + "\n"


def chart(res, outdir, name):
    """CPU per GiB and throughput by mode and backend (TLS 1.3, the
    smallest client count), as PNG and SVG."""
    gp = shutil.which("gnuplot")
    if gp is None:
        return "gnuplot not installed (scripts/setup.sh --bench)"
    rows = [r for r in res["end_to_end"]["rows"] if r["tls"] == "1.3"]
    if not rows:
        return "no end-to-end rows"
    n = min(r["clients"] for r in rows)
    rows = sorted((r for r in rows if r["clients"] == n),
                  key=lambda r: (r["mode"], r["backend"]))
    dat = os.path.join(outdir, name + ".dat")
    with open(dat, "w") as f:
        for r in rows:
            label = r["mode"] if r["backend"] == "libssl" else \
                "%s %s" % (r["mode"], r["backend"])
            f.write('"%s" %.4f %.1f\n' % (label, r["cpu_s_gib"], r["mb_s"]))
    paths = []
    for term, ext in (("pngcairo size 900,420 font ',9'", "png"),
                      ("png size 900,420", "png"),
                      ("svg size 900,420 font 'sans,10'", "svg")):
        out = os.path.join(outdir, "%s.%s" % (name, ext))
        if out in paths:
            continue
        script = """set terminal %(term)s
set output '%(out)s'
set multiplot layout 1,2 title 'ktlsim end to end, TLS 1.3 AES-256-GCM, %(n)d client(s), %(mib)d MiB (%(date)s)'
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -30 font ',8'
set grid ytics
set key off
set yrange [0:*]
set title 'server CPU seconds per GiB (lower is better)'
plot '%(dat)s' using 2:xtic(1) lc rgb '#4477aa'
set title 'throughput MB/s (higher is better)'
plot '%(dat)s' using 3:xtic(1) lc rgb '#228833'
unset multiplot
""" % dict(term=term, out=out, n=n, dat=dat,
           mib=res["end_to_end"]["size_mib"], date=res["date"][:10])
        p = subprocess.run([gp], input=script, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode == 0 and os.path.getsize(out) > 0:
            paths.append(out)
    os.unlink(dat)
    return paths


def main():
    ap = argparse.ArgumentParser(
        description="ktlsim performance benchmark (docs/performance.md)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_const", dest="profile",
                   const="quick", help="256 MiB, 2 rounds, 1 and 4 clients")
    g.add_argument("--smoke", action="store_const", dest="profile",
                   const="smoke", help="tiny sizes, seconds (test suite)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="meson build directory (default: build)")
    ap.add_argument("--out", default=None,
                    help="output directory (default: BUILD/bench)")
    ap.add_argument("--size", type=int, help="end-to-end MiB per run")
    ap.add_argument("--rounds", type=int, help="end-to-end rounds")
    ap.add_argument("--clients", help="client counts, e.g. 1,4,16")
    ap.add_argument("--tls", help="TLS versions, e.g. 1.3,1.2")
    ap.add_argument("--every-pair", action="store_true",
                    help="every TLS version with every client count (the "
                    "full profile runs the second version with the first "
                    "count only)")
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2,
                    help="sim_server KTLS workers (default: one per CPU)")
    ap.add_argument("--no-nginx", action="store_true",
                    help="leave nginx out")
    args = ap.parse_args()
    prof = dict(PROFILES[args.profile or "full"])
    if args.size:
        prof["size_mib"] = args.size
    if args.rounds:
        prof["rounds"] = args.rounds
    if args.clients:
        prof["clients"] = [int(x) for x in args.clients.split(",")]
    if args.tls:
        prof["tls"] = args.tls.split(",")
    if args.every_pair:
        prof["every_pair"] = True
    for t in prof["tls"]:
        if t not in TLS_CLIENT:
            ap.error("--tls: %s is not one of %s" % (t, ",".join(TLS_CLIENT)))
    if prof["size_mib"] < 1 or prof["rounds"] < 1 or \
            min(prof["clients"]) < 1 or args.cpus < 1:
        ap.error("sizes, rounds, clients and cpus must be positive")
    build = os.path.abspath(args.build)
    for exe in ("ktls_bench", "ktls_aead_bench", "ssl_write_bench",
                "sim_server"):
        if not os.access(os.path.join(build, "sim", exe), os.X_OK):
            sys.exit("bench: %s/sim/%s missing: build first (ninja -C %s)"
                     % (build, exe, build))
    outdir = os.path.abspath(args.out or os.path.join(build, "bench"))
    os.makedirs(outdir, exist_ok=True)

    ncpu = os.cpu_count() or 1
    model = "unknown"
    try:
        for line in run(["lscpu"]).splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (RuntimeError, OSError):
        pass
    res = {"profile": args.profile or "full",
           "date": datetime.datetime.now(datetime.timezone.utc)
           .strftime("%Y-%m-%dT%H:%M:%SZ"),
           "machine": {"model": model, "cpus": ncpu,
                       "load_before": "%.2f" % os.getloadavg()[0]}}
    bes = backends(build)
    if not prof["all_backends"]:
        bes = ["evp"] if "evp" in bes else bes[:1]
    t0 = time.monotonic()

    log("limit: openssl speed")
    res["limit"] = {"openssl_speed": [openssl_speed(s, prof["speed_s"])
                                      for s in SPEED_SUITES]}
    log("limit: ktls_aead_bench")
    res["limit"]["backends"] = aead_bench(build, max(64, prof["mib"] // 4))
    bare = {r["backend"]: r["cpu_s_gib"] for r in res["limit"]["backends"]
            if r["suite"] == "aes-256-gcm" and r["taken_by"] == r["backend"]}

    res["pipeline"] = []
    res["limit"]["pages"] = {}
    enc = {}
    for be in bes:
        for workers in sorted({1, ncpu}) if prof["all_backends"] else [1]:
            log("pipeline: ktls_bench -b %s -c %d" % (be, workers))
            kb = ktls_bench(build, be, workers, prof["mib"])
            res["limit"].setdefault("ktls_bench_evp", kb["evp"])
            if workers == 1:
                res["limit"]["pages"][be] = {
                    k: dict(kb[k], over_bare=kb[k]["cpu_s_gib"] - bare[be]
                            if k == "pages-cipher" and bare.get(be)
                            else None) for k in KB_PAGES}
            pages = res["limit"]["pages"].get(be, {}).get("pages-cipher")
            for path in KB_PATHS:
                r = kb[path]
                res["pipeline"].append(dict(
                    backend=be, workers=workers, path=path,
                    mb_s=r["mb_s"], cpu_s_gib=r["cpu_s_gib"],
                    workers_cpu_s_gib=r.get("workers_cpu_s_gib"),
                    pipeline_limit=fraction(bare.get(be), r["cpu_s_gib"]),
                    pages_limit=fraction(pages["cpu_s_gib"], r["cpu_s_gib"])
                    if pages and path != "write" else None))
            enc.setdefault(be, {})[workers] = kb["encrypt"]
    res["worker_scaling"] = [
        {"backend": be, "workers": ncpu,
         "mb_s_ratio": e[ncpu]["mb_s"] / e[1]["mb_s"],
         "cpu_1": e[1].get("workers_cpu_s_gib"),
         "cpu_n": e[ncpu].get("workers_cpu_s_gib")}
        for be, e in sorted(enc.items()) if ncpu > 1 and ncpu in e]
    log("userland baseline: ssl_write_bench")
    res["userland_baseline"] = userland_baseline(build, prof["mib"])

    with tempfile.TemporaryDirectory(prefix="ktlsim-bench.") as tmp:
        log("end to end: %d MiB, clients %s, TLS %s, %d rounds" %
            (prof["size_mib"], prof["clients"], prof["tls"],
             prof["rounds"]))
        rows, note = end_to_end(build, tmp, prof, bes, args.cpus,
                                not args.no_nginx)
    res["end_to_end"] = {"size_mib": prof["size_mib"],
                         "rounds": prof["rounds"],
                         "clients": prof["clients"], "tls": prof["tls"],
                         "sim_server_cpus": args.cpus,
                         "client": "curl --http1.1 -o /dev/null",
                         "nginx_note": note, "rows": rows,
                         "nic": nic_slot(rows)}

    head = {}
    be0 = "evp" if "evp" in bes else bes[0]
    sf = [r for r in rows if r["server"] == "sw-sendfile/" + be0 and
          r["tls"] == "1.3" and r["clients"] == min(prof["clients"])]
    pl = [r for r in res["pipeline"] if r["backend"] == be0 and
          r["workers"] == 1 and r["path"] == "sendfile"]
    if sf:
        head = {"backend": be0, "cpu_vs_nginx": sf[0]["cpu_vs_nginx"],
                "mb_s_vs_nginx": sf[0]["mb_s_vs_nginx"],
                "pipeline_limit": pl[0]["pipeline_limit"] if pl else None,
                "pages_limit": pl[0]["pages_limit"] if pl else None}
    res["headline"] = head
    res["machine"]["load_after"] = "%.2f" % os.getloadavg()[0]
    res["seconds"] = round(time.monotonic() - t0, 1)

    txt = table(res)
    charts = chart(res, outdir, "bench")
    res["chart"] = charts if isinstance(charts, list) else None
    if not isinstance(charts, list):
        res["chart_note"] = charts
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    with open(os.path.join(outdir, "bench.md"), "w") as f:
        f.write(txt)
    sys.stdout.write(txt)
    log("wrote %s/bench.json, bench.md%s (%.0f s)" %
        (outdir, ", " + ", ".join(os.path.basename(c) for c in charts)
         if isinstance(charts, list) else " (" + charts + ")",
         res["seconds"]))


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        sys.exit("bench: %s" % e)
