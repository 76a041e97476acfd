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
import queue
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import write_atomic
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
    """Yield (label, line, payload, kind): kind "line" (one line of a JSON Lines file, parsed by
    the worker, not by the parent), "text" (a case file's text) or "error" (the message)."""
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
            if line.strip():
                yield f"{path}:{n}", n, line, "line"


def parse_item(label: str, line: int, payload: Any, kind: str) -> tuple[Any, str]:
    """(payload, kind) with a "line" item parsed: "json" (the object) or "error" (the message)."""
    if kind != "line":
        return payload, kind
    try:
        return json.loads(payload), "json"
    except json.JSONDecodeError as exc:
        return f"{label}:{exc.colno}: invalid JSON: {exc.msg}", "error"


def _ident(label: str, line: int, payload: Any, kind: str) -> Any:
    payload, kind = parse_item(label, line, payload, kind)
    return payload.get("id") if kind == "json" and isinstance(payload, dict) else None


# ---- worker ------------------------------------------------------------------------------------

_W: dict[str, Any] = {}

# (the output line, or where a worker spooled it: (path, offset, length); summary keys, None
# for an error record)
Record = tuple[str | tuple[str, int, int], list[str] | None]


def _init_worker(rules: str | None, kb: str | None, engine: str, fault: str, spool: str, timeout: float) -> None:
    from ..rulebase import keep_resident, load_rulebase

    _W["rb"] = keep_resident(load_rulebase(rules, kb), engine)
    _W["engine"] = engine
    _W["fault"] = fault
    _W["spool"] = spool
    _W["timeout"] = timeout


class _CaseTimeout(BaseException):
    """Raised in a worker by its alarm when one case runs past the timeout (a BaseException,
    so that the catch-all of _record does not turn it into an internal error)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _CaseTimeout()


def _evaluate_one(label: str, line: int, payload: Any, kind: str) -> Record:
    """One case's output record and its summary keys (None for an error record).

    Each case has its own time limit, set by an alarm in the worker, so a slow case gets the
    same answer whatever the size of its task. A record is not sent back through the pool's
    pipe (results run to tens of kilobytes, and receiving them would cost the parent as much
    CPU as a worker): the worker appends it to its own spool file and answers with where it
    is; if that write fails, the record goes back inline."""
    timeout = float(_W.get("timeout") or 0)
    alarm = timeout > 0 and hasattr(signal, "setitimer")
    try:
        if alarm:
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            out = _record(label, line, payload, kind)
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except _CaseTimeout:
        return _timeout_record((label, line, payload, kind), timeout, "stopped at its time limit")
    text, keys = out if isinstance(out, tuple) else (out, None)
    data = (text + "\n").encode("utf-8")
    try:
        if "fd" not in _W:
            path = os.path.join(_W["spool"], f"w{os.getpid()}-{time.monotonic_ns()}.jsonl")
            _W["fd"], _W["path"], _W["offset"] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), path, 0
        offset = _W["offset"]
        view = memoryview(data)
        while view:
            view = view[os.write(_W["fd"], view):]
    except OSError:
        # a partial write leaves the file's end unknown: start a new spool file next time
        fd = _W.pop("fd", None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        return text, keys
    _W["offset"] = offset + len(data)
    return (_W["path"], offset, len(data)), keys


def _summary_keys(doc: dict[str, Any]) -> list[str]:
    return [f"{c['type']}: {c['status']}" for c in doc.get("conclusions", [])]


def _record(label: str, line: int, payload: Any, kind: str) -> str | tuple[str, list[str]]:
    from ..errors import InputError, KzError
    from ..rulebase import evaluate_case, load_case
    from ..language.scenario import load_scenarios
    from ..errors import Diagnostics

    rb = _W["rb"]
    payload, kind = parse_item(label, line, payload, kind)
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
        return json.dumps(doc, ensure_ascii=False, sort_keys=True), _summary_keys(doc)
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
    # never fork a process that may hold durable_rules' threads: start workers fresh, from a
    # fork server that has imported the engine once (each worker then only loads the rule base)
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["kzcopyright.engine.workflows.batch", "kzcopyright.engine.rulebase",
                                    "kzcopyright.engine.reasoning.pybackend", "kzcopyright.engine.reasoning.result"])
        return ctx
    return mp.get_context("spawn")




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
    records: list[Record | None] = [None] * len(items)
    todo: list[int] = []
    for i, item in enumerate(items):
        ident = _ident(*item) if previous else None
        if ident is not None and str(ident) in previous:
            line = previous[str(ident)]
            records[i] = (line, _summary_keys(json.loads(line)))
            summary.skipped += 1
        else:
            todo.append(i)
    n_workers = max(1, workers or os.cpu_count() or 1)
    # the spool lives next to the output (the system temp directory may be small or in memory)
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.spool-", dir=output.parent if str(output.parent) else ".") as spool:
        if todo:
            _run_pool(items, todo, records, rules, kb, engine, n_workers, timeout, progress, spool)
        for rec in records:
            assert rec is not None
            summary.cases += 1
            if rec[1] is None:
                summary.errors += 1
            else:
                summary.conclusions.update(rec[1])
        # records are copied from the spool files one at a time: the output is never held whole
        # in memory (a result is tens of kilobytes; a batch may have hundreds of thousands)
        write_atomic(output, _output_chunks(records))
    summary.seconds = time.perf_counter() - started
    return summary


MAX_OPEN_SPOOL = 16  # spool files kept open while the output is assembled


def _output_chunks(records: list[Record | None]) -> Iterator[bytes]:
    files: dict[str, Any] = {}  # in order of last use: a pool restart leaves many spool files
    try:
        for rec in records:
            assert rec is not None
            where = rec[0]
            if isinstance(where, str):
                yield (where + "\n").encode("utf-8")
                continue
            path, offset, length = where
            fh = files.pop(path, None)
            if fh is None:
                if len(files) >= MAX_OPEN_SPOOL:
                    files.pop(next(iter(files))).close()
                fh = open(path, "rb")
            files[path] = fh
            fh.seek(offset)
            yield fh.read(length)
    finally:
        for fh in files.values():
            fh.close()


def _timeout_record(item: tuple[str, int, Any, str], timeout: float,
                    why: str = "the worker hung or crashed") -> Record:
    label, line = item[0], item[1]
    ident = _ident(*item)
    if ident is None:
        ident = label
    return (json.dumps({"id": ident, "line": line, "error": {
        "message": f"evaluation did not finish within {timeout:g} s ({why})"}},
        ensure_ascii=False, sort_keys=True), None)


CHUNK = 8  # at most this many cases a task, so that the parent handles few messages


def _evaluate_chunk(chunk: list[tuple[str, int, Any, str]]) -> list[Record]:
    return [_evaluate_one(*item) for item in chunk]


def _run_pool(items: list[tuple[str, int, Any, str]], todo: list[int], records: list[Record | None],
              rules: str | None, kb: str | None, engine: str, n_workers: int, timeout: float,
              progress: Callable[[int], None] | None, spool: str) -> None:
    """Run the cases of ``todo`` on a pool, a few cases a task. The parent sleeps on a queue that
    the pool's result callbacks fill (no polling), so with as many workers as cores it takes
    little CPU from them. A case that runs past ``timeout`` is stopped by an alarm in its worker
    and gets an error record. A task that does not answer within ``timeout`` per case (and a
    margin) once running — a worker killed by a crash never answers — stops the pool; its cases
    are run again one a task, and a single case that does not answer gets an error record. The
    pool is restarted and the other pending tasks are submitted again."""
    ctx = _context()
    done: queue.SimpleQueue[tuple[int, int, Any, bool]] = queue.SimpleQueue()

    def new_pool() -> Any:
        # the fault-injection switch is read here, in the parent: a forkserver started earlier
        # would not see a variable set later
        fault = os.environ.get("KZCOPYRIGHT_FAULT", "")
        return ctx.Pool(n_workers, initializer=_init_worker, initargs=(rules, kb, engine, fault, spool, timeout),
                        maxtasksperchild=1000)

    generation = 0
    pool = new_pool()
    size = max(1, min(CHUNK, len(todo) // (n_workers * 4)))
    waiting: list[list[int]] = [todo[k:k + size] for k in range(0, len(todo), size)]
    waiting.reverse()
    tasks: dict[int, list[int]] = {}  # task number -> its case indexes
    pending: dict[int, float] = {}  # task number -> deadline (0.0 until it is among the running)
    counter = 0
    window = n_workers * 4

    def submit(cases: list[int]) -> None:
        nonlocal counter
        counter += 1
        tid, gen = counter, generation
        tasks[tid], pending[tid] = cases, 0.0
        pool.apply_async(_evaluate_chunk, ([items[i] for i in cases],),
                         callback=lambda r, tid=tid, gen=gen: done.put((gen, tid, r, True)),
                         error_callback=lambda e, tid=tid, gen=gen: done.put((gen, tid, e, False)))

    try:
        while waiting or pending:
            while waiting and len(pending) < window:
                submit(waiting.pop())
            now = time.monotonic()
            running = sorted(pending)[:n_workers]  # the oldest tasks are the ones being run
            for tid in running:
                if pending[tid] == 0.0:
                    # each case stops itself at the timeout (an alarm in the worker); this
                    # deadline catches a worker that crashed or hangs where the alarm cannot
                    # reach (inside C code)
                    pending[tid] = now + timeout * len(tasks[tid]) + min(timeout, 5.0)
            next_deadline = min(pending[tid] for tid in running)
            try:
                gen, tid, value, ok = done.get(timeout=max(0.0, next_deadline - now) + 0.01)
            except queue.Empty:
                expired = [tid for tid in running if time.monotonic() > pending[tid]]
                if not expired:
                    continue
                tid = expired[0]
                cases = tasks.pop(tid)
                del pending[tid]
                again = [tasks.pop(t) for t in sorted(pending)]
                pending.clear()
                pool.terminate()
                pool.join()
                generation += 1
                pool = new_pool()
                if len(cases) == 1:
                    records[cases[0]] = _timeout_record(items[cases[0]], timeout)
                    if progress:
                        progress(1)
                else:  # find the case that hangs: run these one a task, first
                    again = [[i] for i in cases] + again
                for t in again:
                    submit(t)
                continue
            if gen != generation or tid not in pending:
                continue  # a late answer from a pool that was restarted
            cases = tasks.pop(tid)
            del pending[tid]
            for k, i in enumerate(cases):
                if ok:
                    records[i] = value[k]
                else:  # pragma: no cover - _evaluate_one catches everything
                    records[i] = (json.dumps({"id": items[i][0], "line": items[i][1],
                                              "error": {"message": f"worker failed: {value}"}}), None)
            if progress:
                progress(len(cases))
    finally:
        pool.terminate()
        pool.join()
