"""Batch on Dask: the same input, records and output as the local pool, on a Dask cluster.

``kzcopyright batch INPUT -o OUT --executor dask --scheduler tcp://HOST:8786`` streams the
input as the local pool does and sends it to the cluster in partitions (tasks of
``partition`` cases); each Dask worker process loads the rule base once, keeps it for every
partition it is given, and answers with the records' text (a worker's disk is not the
parent's), which the parent spools to its own disk and writes out in input order through the
same atomic writer. So the output file is byte for byte the one the local pool writes.

Requires the optional extra ``kzcopyright[dask]`` (dask and distributed). Without
``--scheduler`` a local cluster of ``--workers`` processes is started for the run. The
per-case time limit of the local pool needs a process of its own per case and is not applied
here: give the cluster's workers a memory limit and watch them with Dask's dashboard.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from ..errors import EvaluationError

__all__ = ["DaskPool", "dask_available", "partition_task"]

_LOCK = threading.Lock()


def dask_available() -> bool:
    """Whether dask.distributed imports here."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def partition_task(items: list[Any], config: tuple[Any, ...]) -> list[tuple[str, list[str] | None, str | None]]:
    """Run on a Dask worker: the (record text, summary keys, case id) of each item of one
    partition. The rule base of ``config`` (rules, kb, engine, record, as_of) is loaded once per
    worker process and kept for the following partitions."""
    from . import batch as B

    with _LOCK:  # one case at a time per process: the worker's state (B._W) is shared
        if B._W.get("dask_config") != config:
            rules, kb, engine, record, as_of = config
            B._init_worker(rules, kb, engine, "", "", 0.0, record, as_of)
            B._W["dask_config"] = config
        return [B._record(item) for item in items]


class DaskPool:
    """The local pool's interface (``submit``, ``step``, ``idle``, ``close``, ``stop``) over a
    Dask client: partitions in flight are futures; an answered partition's records are written
    to the parent's spool file and reported, in any order, to ``on_case``."""

    def __init__(self, scheduler: str | None, workers: int, config: tuple[Any, ...], spool_dir: str,
                 on_case: Callable[[Any, Any, str | None], None], in_flight: int = 0):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise EvaluationError("the Dask executor needs the optional extra: pip install 'kzcopyright[dask]' "
                                  f"({exc})") from None
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:  # unreachable, or not an address
                raise EvaluationError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        else:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, host="127.0.0.1")
            self.client = Client(self.cluster, set_as_default=False)
        self.config = config
        self.on_case = on_case
        n = max(1, len(self.client.scheduler_info().get("workers", {})) or workers)
        self.in_flight = in_flight or 2 * n
        self.futures: dict[Any, list[Any]] = {}
        self.waiting: list[list[Any]] = []
        self.path = os.path.join(spool_dir, "dask.jsonl")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.offset = 0

    @property
    def queue(self) -> list[list[Any]]:
        """Partitions not yet sent to the cluster (the local pool's queue of tasks)."""
        return self.waiting

    def submit(self, items: list[Any]) -> None:
        """Queue one partition of input items; it is sent to the cluster as soon as fewer than ``in_flight`` are running."""
        self.waiting.append(items)
        self._send()

    def _send(self) -> None:
        while self.waiting and len(self.futures) < self.in_flight:
            items = self.waiting.pop(0)
            fut = self.client.submit(partition_task, items, self.config, pure=False)
            self.futures[fut] = items

    def idle(self) -> bool:
        """Whether no partition is waiting or running."""
        return not self.waiting and not self.futures

    def step(self, block: bool = True) -> None:
        """Send what may go, then take the partitions that are done (waiting for one if
        ``block``); a failed partition gives each of its cases an error record."""
        from distributed import wait

        self._send()
        if not self.futures:
            return
        done = [f for f in self.futures if f.done()]
        if not done and block:
            with self.client.as_current():  # wait() looks for the client it belongs to
                done = list(wait(list(self.futures), return_when="FIRST_COMPLETED").done)
        for fut in done:
            items = self.futures.pop(fut)
            try:
                answers = fut.result()
            except Exception as exc:  # a lost worker or a failure inside it: one record per case
                from .batch import _case_id, _error_text

                for item in items:
                    self.on_case(item, (_error_text(item, _case_id(item), f"evaluation did not finish: the Dask "
                                                    f"task failed ({type(exc).__name__}: {exc})"), None), None)
                continue
            for item, (text, keys, ident) in zip(items, answers):
                data = (text + "\n").encode("utf-8")
                view = memoryview(data)
                while view:
                    view = view[os.write(self.fd, view):]
                self.on_case(item, ((self.path, self.offset, len(data)), keys), ident)
                self.offset += len(data)
        self._send()

    def close(self) -> None:
        """The run is over: close the spool file (it is read back for the output) and the client."""
        try:
            os.close(self.fd)
        except OSError:
            pass
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def stop(self) -> None:
        """Interrupted or failed: cancel what is in flight and close."""
        try:
            self.client.cancel(list(self.futures))
        except Exception:  # pragma: no cover - the cluster may be gone already
            pass
        self.futures.clear()
        self.waiting.clear()
        self.close()
