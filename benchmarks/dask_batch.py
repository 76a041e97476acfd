"""Batch throughput: the local pool against a local Dask cluster, 1 and 2 workers.

    python benchmarks/dask_batch.py [N]

The bundled example with its damage varied, N cases (default 1,000), ``--record compact``, the
python engine; prints cases per second for each executor and whether the four outputs are
byte-identical. Needs the ``dask`` extra.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from distributed import LocalCluster

from kzcopyright.engine.workflows.batch import run_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realcase import lines  # noqa: E402  (the same cases as the per-case benchmark)


def _cases(n: int, path: Path) -> None:
    path.write_text("".join(line + "\n" for line in lines(n)), encoding="utf-8")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    folder = Path(tempfile.mkdtemp())
    cases = folder / "in.jsonl"
    _cases(n, cases)
    seconds: dict[str, float] = {}
    for w in (1, 2):
        t = time.perf_counter()
        run_batch(cases, folder / f"local{w}.jsonl", engine="python", workers=w, record="compact")
        seconds[f"local {w}"] = time.perf_counter() - t
    for w in (1, 2):
        with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None,
                          host="127.0.0.1") as cluster:
            t = time.perf_counter()
            run_batch(cases, folder / f"dask{w}.jsonl", engine="python", workers=w, record="compact",
                      executor="dask", scheduler=cluster.scheduler_address, partition=50)
            seconds[f"dask {w}"] = time.perf_counter() - t
    first = (folder / "local1.jsonl").read_bytes()
    same = all((folder / name).read_bytes() == first for name in ("local2.jsonl", "dask1.jsonl", "dask2.jsonl"))
    for name, s in seconds.items():
        print(f"{name:8} {n / s:7.0f} cases/s  ({s:.1f} s)")
    print("outputs byte-identical:", same, " load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
