"""Evaluation in worker processes, each with its time limit: a slow, hung or crashing
evaluation costs one request, never the server.

The server process keeps ``size`` workers. Each loads the rule base once when it starts and
then runs jobs (evaluate a case, why-not's change search, the memo, render a graph) sent over
a pipe. A request takes an idle worker (or waits ``queue_wait`` seconds for one: :class:`Busy`),
sends its job and waits ``time_limit`` seconds for the answer. A worker that does not answer
in time is killed and replaced (:class:`Timeout`); one that dies is replaced too
(:class:`Crashed`). Workers are started from a fork server, as batch workers are: the server
process may hold threads, which must not be forked.

Jobs and their values cross the pipe by multiprocessing's own serialisation, between the
server and the workers it started; what a request sends is parsed (YAML/JSON, checked) in
the server before any of it reaches a worker.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from ..errors import Diagnostic, EvaluationError, InputError, KzError

__all__ = ["EvalPool", "PoolError", "Busy", "Timeout", "Crashed", "JOBS"]

START_TIMEOUT = 120.0  # seconds a new worker may take to load the rule base


class PoolError(Exception):
    """A job could not be run to its end; the message says why, for the client."""


class Busy(PoolError):
    """No worker became free within the queue wait."""


class Timeout(PoolError):
    """The job ran past the time limit; its worker was replaced."""


class Crashed(PoolError):
    """The worker died while running the job; it was replaced."""


# ---- the worker side ---------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _evaluate(rb: Any, scenario: Any, engine: str) -> Any:
    from ..rulebase import evaluate_case

    _fault(scenario.id)
    return evaluate_case(rb, scenario, engine)


def _job_analyze(rb: Any, scenario: Any, engine: str) -> str:
    """The analysis' JSON text, exactly as ``analyze --format json`` prints it (the result's
    lossless JSON with its summary and handles)."""
    from ..views.document import analysis_json_text

    text: str = analysis_json_text(_evaluate(rb, scenario, engine), rb.kb)
    return text


def _job_result(rb: Any, scenario: Any, engine: str) -> Any:
    """The result itself, for the pages (sent back through the pipe: ten times cheaper than its
    JSON text, which for a sparse case runs to megabytes)."""
    return _evaluate(rb, scenario, engine)


def _job_why_not(rb: Any, scenario: Any, tname: str, attrs: dict[str, str], max_changes: int,
                 max_evals: int) -> tuple[Any, Any]:
    from ..reasoning.whynot import minimal_changes, why_not

    _fault(scenario.id)
    analyses = why_not(rb, scenario, tname, attrs)
    search = minimal_changes(rb, scenario, tname, attrs, max_size=max_changes, max_evals=max_evals) \
        if max_changes else None
    return analyses, search


def _job_memo(rb: Any, scenario: Any, engine: str, lang: str) -> str:
    from ..views.memo import memo_html

    html: str = memo_html(_evaluate(rb, scenario, engine), rb.kb, lang, description=scenario.description)
    return html


def _job_memo_pdf(rb: Any, scenario: Any, engine: str, lang: str) -> bytes | str:
    """The memo as a PDF (as ``analyze --format pdf``), or the reason it cannot be made here."""
    from ..views.memo import PdfUnavailable, memo_html, memo_pdf

    page = memo_html(_evaluate(rb, scenario, engine), rb.kb, lang, description=scenario.description, images="png")
    try:
        return memo_pdf(page)
    except PdfUnavailable as exc:
        return str(exc)


def _job_render(rb: Any, dot: str, fmt: str) -> bytes | None:
    """Graphviz's drawing of DOT text, or None when Graphviz is not installed."""
    from ..views.graph import GraphvizMissing, render

    try:
        return render(dot, fmt)
    except GraphvizMissing:
        return None


def _job_ping(rb: Any) -> str:
    fingerprint: str = rb.fingerprint
    return fingerprint


JOBS: dict[str, Callable[..., Any]] = {"analyze": _job_analyze, "result": _job_result, "why_not": _job_why_not, "memo": _job_memo,
        "memo_pdf": _job_memo_pdf, "render": _job_render,
        "ping": _job_ping}


def _fault(ident: str) -> None:
    """For the tests of hang and crash handling only: KZCOPYRIGHT_FAULT=hang:ID,crash:ID
    (read by the server when it starts a worker)."""
    faults = set(str(_STATE.get("fault", "")).split(","))
    if f"hang:{ident}" in faults:
        time.sleep(3600)
    elif f"crash:{ident}" in faults:
        os.kill(os.getpid(), signal.SIGSEGV)


def _worker_main(conn: Any, rules: str | None, kb: str | None, fault: str) -> None:
    """A worker's life: load the rule base, say so, then answer jobs until the pipe closes."""
    from ..rulebase import load_rulebase

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    _STATE["fault"] = fault
    try:
        rb = load_rulebase(rules, kb)
    except KzError as exc:
        conn.send(("fatal", str(exc)))
        return
    conn.send(("ready", rb.fingerprint))
    while True:
        try:
            job, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[Any, ...] = ("ok", JOBS[job](rb, *args))
        except InputError as exc:
            reply = ("input", list(exc.diagnostics))
        except KzError as exc:
            reply = ("evaluation", str(exc))
        except Exception as exc:  # reported to the client as an internal error; the worker goes on
            reply = ("internal", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


# ---- the server side ---------------------------------------------------------------------------


def _context() -> Any:
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["kzcopyright.engine.web.workers", "kzcopyright.engine.rulebase",
                                    "kzcopyright.engine.reasoning.pybackend", "kzcopyright.engine.reasoning.result"])
        return ctx
    return mp.get_context("spawn")


@dataclass
class _Worker:
    process: Any
    conn: Any
    ready: bool = False

    def kill(self) -> None:
        """Stop the worker's process."""
        try:
            self.conn.close()
        except OSError:
            pass
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class EvalPool:
    """``size`` worker processes; :meth:`run` is blocking and thread-safe (call it from a
    thread of the server, not from its event loop)."""

    def __init__(self, rules: str | None, kb: str | None, size: int = 1):
        self.rules, self.kb = rules, kb
        self.size = max(1, size)
        self._ctx = _context()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self.restarts = 0

    def start(self) -> None:
        """Start the workers (they load the rule base in the background)."""
        for _ in range(self.size):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        fault = os.environ.get("KZCOPYRIGHT_FAULT", "")
        p = self._ctx.Process(target=_worker_main, args=(child, self.rules, self.kb, fault),
                              name="kzcopyright-eval", daemon=True)
        p.start()
        child.close()
        return _Worker(p, parent)

    def _replace(self, w: _Worker) -> _Worker:
        w.kill()
        with self._lock:
            self.restarts += 1
        return self._spawn()

    def _wait_ready(self, w: _Worker) -> None:
        if w.ready:
            return
        if not w.conn.poll(START_TIMEOUT):
            raise Crashed("an evaluation worker did not start in time")
        msg = w.conn.recv()
        if msg[0] == "fatal":
            raise EvaluationError(f"the rule base could not be loaded in a worker: {msg[1]}")
        w.ready = True

    def run(self, job: str, args: tuple[Any, ...], time_limit: float, queue_wait: float) -> Any:
        """Run ``job`` on a free worker; returns its value or raises InputError,
        EvaluationError or a :class:`PoolError`."""
        if self._closed:
            raise Crashed("the server is shutting down")
        try:
            w = self._idle.get(timeout=queue_wait)
        except queue.Empty:
            raise Busy(f"every evaluation worker stayed busy for {queue_wait:g} s; try again") from None
        try:
            try:
                self._wait_ready(w)
                w.conn.send((job, args))
                answered = w.conn.poll(time_limit)
            except (EOFError, OSError, BrokenPipeError):
                w = self._replace(w)
                raise Crashed("the evaluation worker stopped unexpectedly; it was restarted") from None
            if not answered:
                w = self._replace(w)
                raise Timeout(f"the evaluation did not finish within {time_limit:g} s; it was stopped")
            try:
                kind, *rest = w.conn.recv()
            except (EOFError, OSError):
                w = self._replace(w)
                raise Crashed("the evaluation worker stopped while answering; it was restarted") from None
        finally:
            if self._closed:
                w.kill()
            else:
                self._idle.put(w)
        if kind == "ok":
            return rest[0]
        if kind == "input":
            diags: list[Diagnostic] = rest[0]
            raise InputError(diags)
        if kind == "evaluation":
            raise EvaluationError(rest[0])
        raise Crashed(f"internal error in the evaluation: {rest[0]}")

    def close(self) -> None:
        """Stop every idle worker; busy ones stop when their job ends."""
        self._closed = True
        while True:
            try:
                w = self._idle.get_nowait()
            except queue.Empty:
                break
            w.kill()
