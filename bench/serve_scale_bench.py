#!/usr/bin/env python3
"""Jobs per second through one `glyph serve` host against two hosts on one Redis.

Starts a redis-server (loopback, a free port, a temporary folder) and, for each setup, that many
`glyph serve` processes (--queue redis://..., --workers W); posts N jobs spread over the hosts
from 8 client threads, and times from the first POST until Redis counts every job done. Kinds:
render jobs (a distinct one-line text each, small pages) and OCR asks (a distinct short text
each, a question, the embedded Tesseract reader). A row "1 host, SQLite" is the default queue.
Also shown: the CPU time of the hosts and of redis-server per job (median), which the machine's
load disturbs less than the wall clock.

Usage: bench/serve_scale_bench.py [BUILD_DIR=build] [--render N] [--ask N] [--workers W]
                                  [--repeat R]
The hosts share this machine's cores: two hosts on one machine show the queue's overhead and
its fairness, not the gain of a second machine.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


class Resp:
    """A persistent connection to Redis for counting (no process spawned per poll)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def zcard(self, key):
        k = key.encode()
        self.sock.sendall(b"*2\r\n$5\r\nZCARD\r\n$%d\r\n%s\r\n" % (len(k), k))
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return int(line[1:])


def start_host(glyph, data, extra):
    p = subprocess.Popen([glyph, "serve", "--port", "0", "--data", data, *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    port = int(line.split("http://127.0.0.1:")[1].split(" ")[0])
    return p, port


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/jobs", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())["id"]


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as r:
        return json.loads(r.read())


def job(kind, n, tag):
    text = f"Run {tag} job {n}: the invoice number is {100000 + n} and the total is {n % 97} euros."
    body = {"text": text, "config": {"dpi": 36 if kind == "render" else 96,
                                     "page-size": "298,420"}}
    if kind == "render":
        body["mode"] = "render"
    else:
        body.update(mode="qa", question="What is the invoice number?")
    return body


def run(glyph, hosts, kind, count, workers, redis_port, redis_pid, tag):
    tmp = tempfile.mkdtemp(prefix="glyph-scale-")
    procs = []
    try:
        extra = ["--workers", str(workers), "--max-renders", str(workers), "--max-asks",
                 str(workers), "--max-queued-jobs", str(count + 10)]
        if redis_port:
            redis_cli(redis_port, "FLUSHALL")
            extra += ["--queue", f"redis://127.0.0.1:{redis_port}/0"]
        for h in range(hosts):
            procs.append(start_host(glyph, f"{tmp}/host{h}", extra))
        ports = [port for _, port in procs]
        # Warm every host (fonts, tokenizer, OCR model) outside the timing.
        for port in ports:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/render",
                data=json.dumps({"text": "warm", "config": {"dpi": 36}}).encode())).read()
        cpu_before = sum(cpu_seconds(p.pid) for p, _ in procs) + (
            cpu_seconds(redis_pid) if redis_port else 0)
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda n: post(ports[n % hosts], job(kind, n, tag)), range(count)))
        # Counted without going through the hosts: Redis's sets, or the SQLite file (WAL: a
        # reader never blocks the writers).
        if redis_port:
            resp = Resp(redis_port)
            count_finished = lambda: (resp.zcard("glyph:state:done"),
                                      resp.zcard("glyph:state:failed"))
        else:
            db = sqlite3.connect(f"{tmp}/host0/queue.db")
            count_finished = lambda: (
                db.execute("SELECT COUNT(*) FROM jobs WHERE state='done'").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM jobs WHERE state='failed'").fetchone()[0])
        while True:
            done, failed = count_finished()
            if done + failed >= len(ids):
                break
            time.sleep(0.02)
        seconds = time.monotonic() - start
        cpu = sum(cpu_seconds(p.pid) for p, _ in procs) + (
            cpu_seconds(redis_pid) if redis_port else 0) - cpu_before
        return seconds, failed, cpu
    finally:
        for p, _ in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--render", type=int, default=400)
    ap.add_argument("--ask", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="runs per row; the median is shown")
    args = ap.parse_args()
    glyph = os.path.join(args.build, "glyph")
    rdir = tempfile.mkdtemp(prefix="glyph-scale-redis-")
    rport = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--dir",
                              rdir, "--save", "", "--appendonly", "no", "--logfile",
                              f"{rdir}/redis.log"])
    try:
        for _ in range(100):
            try:
                if redis_cli(rport, "PING") == "PONG":
                    break
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.05)
        print(f"{'setup':<24} {'kind':<7} {'jobs':>5} {'jobs/s (median)':>16} {'runs':>20} "
              f"{'CPU ms/job':>11}")
        tag = 0
        for kind, count in (("render", args.render), ("ask", args.ask)):
            if count <= 0:
                continue
            for label, hosts, use_redis in (("1 host, SQLite", 1, False),
                                            ("1 host, Redis", 1, True),
                                            ("2 hosts, one Redis", 2, True)):
                rates, cpus, failures = [], [], 0
                for _ in range(args.repeat):
                    tag += 1
                    seconds, failed, cpu = run(glyph, hosts, kind, count, args.workers,
                                               rport if use_redis else 0, redis.pid,
                                               f"{time.time()}-{tag}")
                    rates.append(count / seconds)
                    cpus.append(1000 * cpu / count)
                    failures += failed
                rates.sort()
                cpus.sort()
                note = f"  ({failures} failed)" if failures else ""
                runs = " ".join(f"{r:.1f}" for r in rates)
                print(f"{label:<24} {kind:<7} {count:>5} {rates[len(rates) // 2]:>16.1f} "
                      f"{runs:>20} {cpus[len(cpus) // 2]:>11.1f}{note}", flush=True)
    finally:
        redis.kill()
        redis.wait()
        shutil.rmtree(rdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
