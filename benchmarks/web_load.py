"""A small load check of `kzcopyright serve` (not part of the test suite): requests per second
of POST /v1/analyze with 1 and 2 server processes, on the loopback interface only.

    .venv/bin/python benchmarks/web_load.py                 # --workers 1,2 --clients 4 --seconds 15
    .venv/bin/python benchmarks/web_load.py --requests 200 --seconds 10

Each run starts `kzcopyright serve --host 127.0.0.1` on a free port (one evaluation process
per server process unless --eval-workers says otherwise), waits for /v1/health, and sends the
bundled example from --clients threads with keep-alive connections for at most --seconds
seconds or --requests requests, whichever comes first; then stops the server. Two kinds of
request are timed: "distinct" cases (the example with a new id each time, so every request is
evaluated) and the "same" case (answered from the server's cache of results). Traffic goes to
127.0.0.1 only, bounded in count and time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only: never another address
MAX_REQUESTS = 5000
MAX_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start(workers: int, eval_workers: int, port: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("kzcopyright")
    cmd = [str(exe), "serve", "--host", HOST, "--port", str(port), "--workers", str(workers),
           "--eval-workers", str(eval_workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", "/v1/health")
            r = c.getresponse()
            r.read()
            if r.status == 200:
                # every server process answers health before its workers are warm: warm them up
                for _ in range(4 * workers):
                    c.request("POST", "/v1/analyze", body=json.dumps({"example": "marketplace-photos"}),
                              headers={"Content-Type": "application/json"})
                    c.getresponse().read()
                c.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not start: {proc.stdout.read().decode() if proc.stdout else ''}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load(port: int, body_of: object, clients: int, requests: int, seconds: float) -> dict[str, float]:
    lock = threading.Lock()
    counter = {"sent": 0, "ok": 0, "errors": 0}
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        while True:
            with lock:
                if counter["sent"] >= requests or time.monotonic() > stop_at:
                    break
                n = counter["sent"]
                counter["sent"] += 1
            body = body_of(n)  # type: ignore[operator]
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/v1/analyze", body=body, headers={"Content-Type": "application/yaml"})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
            dt = time.perf_counter() - t0
            with lock:
                counter["ok" if ok else "errors"] += 1
                latencies.append(dt)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    lat = sorted(latencies) or [0.0]
    return {"requests": counter["ok"] + counter["errors"], "errors": counter["errors"], "seconds": wall,
            "rps": counter["ok"] / wall if wall else 0.0, "p50_ms": statistics.median(lat) * 1000,
            "p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2", help="server processes to try, comma-separated")
    ap.add_argument("--eval-workers", type=int, default=1, help="evaluation processes per server process")
    ap.add_argument("--clients", type=int, default=4, help="concurrent client connections")
    ap.add_argument("--requests", type=int, default=600, help=f"requests per measurement (at most {MAX_REQUESTS})")
    ap.add_argument("--seconds", type=float, default=15.0, help=f"seconds per measurement (at most {MAX_SECONDS:g})")
    args = ap.parse_args()
    requests = min(args.requests, MAX_REQUESTS)
    seconds = min(args.seconds, MAX_SECONDS)
    text = (ROOT / "kb" / "examples" / "marketplace-photos.yaml").read_text(encoding="utf-8")
    def distinct(n):
        return (text.replace("id: marketplace-photos", f"id: load-{os.getpid()}-{n}", 1).encode())
    def same(n):
        return (text.encode())
    print(f"POST /v1/analyze on {HOST}, the bundled example; {args.clients} clients; at most {requests} requests "
          f"or {seconds:g} s a measurement; {os.cpu_count()} CPUs")
    print(f"{'server processes':>16} {'eval/server':>11} {'cases':>9} {'requests':>9} {'errors':>6} {'req/s':>7} "
          f"{'p50 ms':>7} {'p95 ms':>7}")
    for w in [int(x) for x in args.workers.split(",") if x.strip()]:
        port = free_port()
        proc = start(w, args.eval_workers, port)
        try:
            for label, body in (("distinct", distinct), ("same", same)):
                r = load(port, body, args.clients, requests, seconds)
                print(f"{w:>16} {args.eval_workers:>11} {label:>9} {r['requests']:>9.0f} {r['errors']:>6.0f} "
                      f"{r['rps']:>7.1f} {r['p50_ms']:>7.0f} {r['p95_ms']:>7.0f}")
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
