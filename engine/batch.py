"""Batch evaluation of many cases on a process pool, one engine per worker.

Input: a JSON Lines file (one case object a line) or a directory of case files. Output: JSON
Lines, one record a case, in input order: the ``analyze --format json`` document with the
case's ``id``, or an error record ``{"id", "line", "error": {...}}``. A bad case (invalid
JSON/YAML, an unknown attribute, an evaluation failure, a crash or hang of its worker) is
reported and the batch goes on. The output file is written through a temporary file and
renamed, so it is never half-written; ``resume`` keeps the records of ids already there.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .fileio import write_atomic
from typing import Any
from collections.abc import Callable, Iterator

__all__ = ["BatchSummary", "read_inputs", "run_batch", "CASE_TIMEOUT"]

CASE_TIMEOUT = 30.0  # seconds a single case may take in a worker


@dataclass
class BatchSummary:
    cases: int = 0
    errors: int = 0
    skipped: int = 0
    conclusions: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"{self.cases} cases, {self.errors} errors, {self.skipped} skipped (resume), "
               f"{self.seconds:.1f} s ({self.cases / self.seconds if self.seconds else 0:.0f} cases/s)"]
        for key, n in sorted(self.conclusions.items()):
            out.append(f"  {n:7d}  {key}")
        return out


# ---- input ------------------------------------------------------------------------------------


def read_inputs(path: Path) -> Iterator[tuple[str, int, Any, str]]:
    """Yield (label, line, payload, kind): kind "json" (a parsed object), "text" (file text) or
    "error" (payload is the message)."""
    if path.is_dir():
        for p in sorted(path.iterdir()):
            if p.suffix.lower() in (".yaml", ".yml", ".json") and p.is_file():
                try:
                    yield str(p), 0, p.read_text(encoding="utf-8"), "text"
                except (OSError, UnicodeDecodeError) as exc:
                    yield str(p), 0, f"cannot read {p}: {exc}", "error"
        return
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"{path}:{n}", n, f"{path}:{n}:{exc.colno}: invalid JSON: {exc.msg}", "error"
                continue
            yield f"{path}:{n}", n, obj, "json"


# ---- worker ------------------------------------------------------------------------------------

_W: dict[str, Any] = {}


def _init_worker(rules: str | None, kb: str | None, engine: str, fault: str) -> None:
    from .project import load_rulebase

    _W["rb"] = load_rulebase(rules, kb)
    _W["engine"] = engine
    _W["fault"] = fault


def _evaluate_one(label: str, line: int, payload: Any, kind: str) -> str:
    from .errors import InputError, KzError
    from .project import evaluate_case, load_case
    from .scenario import load_scenarios
    from .errors import Diagnostics

    rb = _W["rb"]
    ident = payload.get("id") if kind == "json" and isinstance(payload, dict) else None
    try:
        if kind == "error":
            return json.dumps({"id": ident or label, "line": line, "error": {"message": payload}}, ensure_ascii=False)
        if kind == "json":
            if not isinstance(payload, dict):
                return json.dumps({"id": label, "line": line, "error": {"message": "a case must be a JSON object"}})
            scenario = load_case(rb, payload)
        else:
            diags = Diagnostics()
            found = load_scenarios(Path(label), rb.kb, diags, shown=label, text=payload)
            if diags.errors:
                raise InputError(diags.errors)
            if len(found) != 1:
                raise InputError([])
            scenario = found[0]
        ident = scenario.id
        _fault_injection(ident)
        result = evaluate_case(rb, scenario, _W["engine"])
        doc = result.to_json()
        doc["id"] = scenario.id
        return json.dumps(doc, ensure_ascii=False, sort_keys=True)
    except InputError as exc:
        return json.dumps({"id": ident or label, "line": line, "error": {
            "message": exc.render() or "the file holds no single case",
            "diagnostics": [{"location": str(d.location), "code": d.code, "message": d.message}
                            for d in exc.diagnostics]}}, ensure_ascii=False, sort_keys=True)
    except KzError as exc:
        return json.dumps({"id": ident or label, "line": line, "error": {"message": str(exc)}},
                          ensure_ascii=False, sort_keys=True)
    except Exception as exc:  # never lose a case to an unexpected failure
        return json.dumps({"id": ident or label, "line": line, "error": {
            "message": f"internal error: {type(exc).__name__}: {exc}"}}, ensure_ascii=False, sort_keys=True)


def _fault_injection(ident: str) -> None:
    """For the tests of crash and hang handling only: KZCOPYRIGHT_FAULT=hang:ID or crash:ID."""
    fault = _W.get("fault", "")
    if fault == f"hang:{ident}":
        time.sleep(3600)
    elif fault == f"crash:{ident}":
        import signal

        os.kill(os.getpid(), signal.SIGSEGV)


# ---- driver --------------------------------------------------------------------------------------


def _existing(output: Path) -> dict[str, str]:
    done: dict[str, str] = {}
    if not output.exists():
        return done
    for line in output.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "id" in rec and "error" not in rec:
            done[str(rec["id"])] = line
    return done


def _context() -> Any:
    # never fork a process that may hold durable_rules' threads: start workers fresh
    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


def run_batch(
    input_path: Path,
    output: Path,
    *,
    rules: str | None = None,
    kb: str | None = None,
    engine: str = "python",
    workers: int | None = None,
    resume: bool = False,
    timeout: float = CASE_TIMEOUT,
    progress: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Evaluate every case of ``input_path`` into ``output`` (JSON Lines, input order)."""
    started = time.perf_counter()
    summary = BatchSummary()
    items = list(read_inputs(input_path))
    previous = _existing(output) if resume else {}
    records: list[str | None] = [None] * len(items)
    todo: list[int] = []
    for i, (_label, _line, payload, kind) in enumerate(items):
        ident = payload.get("id") if kind == "json" and isinstance(payload, dict) else None
        if ident is not None and str(ident) in previous:
            records[i] = previous[str(ident)]
            summary.skipped += 1
        else:
            todo.append(i)
    n_workers = max(1, workers or os.cpu_count() or 1)
    if todo:
        _run_pool(items, todo, records, rules, kb, engine, n_workers, timeout, progress)
    for rec in records:
        assert rec is not None
        doc = json.loads(rec)
        summary.cases += 1
        if "error" in doc:
            summary.errors += 1
            continue
        for c in doc.get("conclusions", []):
            summary.conclusions[f"{c['type']}: {c['status']}"] += 1
    write_atomic(output, "".join(r + "\n" for r in records if r is not None))
    summary.seconds = time.perf_counter() - started
    return summary


def _run_pool(items: list[tuple[str, int, Any, str]], todo: list[int], records: list[str | None],
              rules: str | None, kb: str | None, engine: str, n_workers: int, timeout: float,
              progress: Callable[[int], None] | None) -> None:
    ctx = _context()

    def new_pool() -> Any:
        # the fault-injection switch is read here, in the parent: a forkserver started earlier
        # would not see a variable set later
        fault = os.environ.get("KZCOPYRIGHT_FAULT", "")
        return ctx.Pool(n_workers, initializer=_init_worker, initargs=(rules, kb, engine, fault),
                        maxtasksperchild=5000)

    pool = new_pool()
    pending: dict[int, tuple[Any, float]] = {}
    queue = list(reversed(todo))
    window = n_workers * 8
    try:
        while queue or pending:
            while queue and len(pending) < window:
                i = queue.pop()
                pending[i] = (pool.apply_async(_evaluate_one, items[i]), 0.0)
            progressed = False
            now = time.monotonic()
            running = set(sorted(pending)[:n_workers])  # the oldest tasks are the ones being run
            for i in sorted(pending):
                res, deadline = pending[i]
                if res.ready():
                    try:
                        records[i] = res.get()
                    except Exception as exc:  # pragma: no cover - _evaluate_one catches everything
                        records[i] = json.dumps({"id": items[i][0], "line": items[i][1],
                                                 "error": {"message": f"worker failed: {exc}"}})
                    del pending[i]
                    progressed = True
                    if progress:
                        progress(1)
                elif deadline == 0.0:
                    if i in running:
                        pending[i] = (res, now + timeout)
                elif now > deadline:
                    # a hang or a crash (a worker killed by a segfault never answers): report
                    # this case, restart the pool and resubmit the others
                    label, line, payload, kind = items[i]
                    ident = payload.get("id") if kind == "json" and isinstance(payload, dict) else label
                    records[i] = json.dumps({"id": ident, "line": line, "error": {
                        "message": f"evaluation did not finish within {timeout:g} s (the worker hung or crashed)"}},
                        ensure_ascii=False, sort_keys=True)
                    del pending[i]
                    pool.terminate()
                    pool.join()
                    pool = new_pool()
                    queue.extend(sorted(pending, reverse=True))
                    pending.clear()
                    if progress:
                        progress(1)
                    progressed = True
                    break
            if not progressed:
                time.sleep(0.002)
    finally:
        pool.terminate()
        pool.join()
