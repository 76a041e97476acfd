"""Batch evaluation of many cases on worker processes, one engine per worker.

Input: a JSON Lines file (one case object a line; a pipe or a FIFO as well: the input is read
once, as it streams in) or a directory of case files. Output: JSON Lines, one record a case, in
input order: the ``analyze --format json`` document with the case's ``id``, or an error record
``{"id", "line", "error": {...}}``; every record also carries ``line`` (0 for a directory),
``input_sha256`` (of the input line or file) and, for a directory, ``file``.

Nothing is lost:

* each JSON line is parsed in its worker under the limits of YAML files (depth, size, string
  length, digits), so a poisoned line is one located error record ``FILE:LINE:COL: …``;
* a worker that dies is seen at once (its process sentinel): the case it was on gets an error
  record and only the other cases of its task are run again; one that hangs where its alarm
  cannot reach is killed at its deadline, likewise;
* the output is written through a temporary file and renamed at the end; Ctrl-C stops the
  workers, leaves the output as it was, keeps the finished records in ``OUTPUT.partial`` and
  says how to resume; a killed run's spool folder is removed by the next run;
* ``resume`` keeps the result records of ``OUTPUT`` (and ``OUTPUT.partial``) whose input line is
  unchanged: the key is the line number with the hash of the line, so a repeated case id
  cannot take another case's result (repeated ids are reported as warnings).
"""

from __future__ import annotations

import datetime as _dt

import hashlib
import json
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import signal
import stat
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator, Sequence

from ..i18n import Section
from ..errors import BatchInterrupted, Diagnostic, EvaluationError, InputError, Location, OutputError
from ..fileio import clean_stale, read_limited, special_kind, write_atomic

__all__ = ["BatchSummary", "Item", "read_inputs", "run_batch", "compact_record", "CASE_TIMEOUT", "RECORDS"]

CASE_TIMEOUT = 30.0  # seconds a single case may take in a worker
CHUNK = 8  # at most this many cases a task, so that the parent handles few messages
MAX_OPEN_SPOOL = 16  # spool files kept open while the output is assembled
MAX_WARNINGS = 20  # repeated case ids listed in the summary
SKIP_LIMIT = 16  # an over-long line is skipped up to this many times the line limit, then reading stops


RECORDS = ("full", "compact")
REPORTED_KINDS = ("conclusion", "liability", "remedy", "action")
MAX_FAILED = 20  # failed cases named in the summary
REACHED = "reached"  # a summary key: the case has the conclusion (holds or undetermined)

# the interface strings of the batch summary (message id -> language -> text)
MSG = Section("batch")  # kb/messages/{en,ru,kk}.yaml, section batch
RULE_KEY, ARTICLE_KEY = "rule=", "article="  # summary keys of the coverage (beside "type: status")


def _m(key: str, **kw: Any) -> str:
    return MSG[key]["en"].format(**kw)


@dataclass
class BatchSummary:
    """What a batch did: counts, time, for each conclusion type how many cases reached it and
    with which status (``types``: type -> status -> cases), and the failed cases with their
    error line (``failed``: (case id or input place, the error's first line))."""

    cases: int = 0
    errors: int = 0
    skipped: int = 0
    conclusions: Counter[str] = field(default_factory=Counter)  # "type: status" -> cases
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    output: str = ""
    coverage: Counter[str] = field(default_factory=Counter)  # "rule=ID" / "article=ACT/N" -> cases
    all_rules: tuple[str, ...] = ()  # the rule base's rule ids and articles, for "N of M"
    all_articles: tuple[str, ...] = ()

    def set_rulebase(self, rb: Any) -> None:
        """Give the rule base the run used, so that coverage says "N of M" and names the rules
        and articles no case applied."""
        self.all_rules = tuple(sorted({r.id for r in rb.rules}))
        self.all_articles = tuple(sorted({"/".join(c.split("/")[:2]) for r in rb.rules for c in r.cite
                                          if len(c.split("/")) >= 2}))

    def add(self, keys: list[str]) -> None:
        """Count one evaluated case's summary keys: its conclusions' (type, status) pairs and
        the rules and articles it applied."""
        for k in keys:
            if k.startswith((RULE_KEY, ARTICLE_KEY)):
                self.coverage[k] += 1
            else:
                self.conclusions[k] += 1

    @property
    def rules(self) -> dict[str, int]:
        """Rule id -> the number of cases in which it was applied (a derivation not withdrawn)."""
        return {k[len(RULE_KEY):]: n for k, n in sorted(self.coverage.items()) if k.startswith(RULE_KEY)}

    @property
    def articles(self) -> dict[str, int]:
        """Article (``act/number``) -> the number of cases in which a rule citing it was applied."""
        return {k[len(ARTICLE_KEY):]: n for k, n in sorted(self.coverage.items()) if k.startswith(ARTICLE_KEY)}

    @property
    def types(self) -> dict[str, dict[str, int]]:
        """The counts per conclusion type and status (``{type: {status: cases}}``), from the flat ``"type: status"`` counts."""
        out: dict[str, dict[str, int]] = {}
        for key, n in self.conclusions.items():
            t, _, status = key.partition(": ")
            out.setdefault(t, {})[status] = n
        return out

    def lines(self, kb: Any = None) -> list[str]:
        """The summary as text; with ``kb``, each type by its title too."""
        rate = self.cases / self.seconds if self.seconds else 0
        out = [_m("head", n=self.cases, e=self.errors, k=self.skipped, sec=self.seconds,
                  rate=f"{rate:.1f}" if rate < 10 else f"{rate:.0f}")]
        evaluated = self.cases - self.errors
        types = self.types
        if types:
            out.append(_m("across", n=evaluated))
            order = {"holds": 0, "undetermined": 1, "defeated": 2}

            def have(t: str) -> int:
                return types[t].get(REACHED, 0)

            for t in sorted(types, key=lambda t: (-have(t), t)):
                title = ""
                if kb is not None and t in kb.types:
                    title = " — " + kb.types[t].title.get("en", "")
                detail = ", ".join(f"{n} {st}" for st, n in sorted(types[t].items(), key=lambda x: order.get(x[0], 9))
                                   if st != REACHED)
                name = t
                out.append(_m("row", have=have(t), n=evaluated, title=title, name=name, detail=detail))
        if self.failed:
            out.append(_m("failed", n=self.errors))
            for ident, line in self.failed[:MAX_FAILED]:
                out.append(f"  {ident}: {line}")
            if self.errors > MAX_FAILED:
                out.append(_m("failed-more", n=self.errors - MAX_FAILED, output=self.output or "the output"))
        if self.all_rules and self.cases > self.errors:
            rules, articles = self.rules, self.articles
            out.append(_m("coverage", r=len(rules), rt=len(self.all_rules), a=len(articles),
                          at=len(self.all_articles) or len(articles)))
            never = [r for r in self.all_rules if r not in rules]
            if never:
                shown = ", ".join(never[:12]) + (f", … {len(never) - 12} more" if len(never) > 12 else "")
                out.append(_m("coverage-none", list=shown))
        out.extend(self.warnings[:MAX_WARNINGS])
        if len(self.warnings) > MAX_WARNINGS:
            out.append(_m("warnings-more", n=len(self.warnings) - MAX_WARNINGS))
        return out

    def to_json(self) -> dict[str, Any]:
        """The summary as printed by ``batch`` and written by ``--summary-only``: cases, errors, skipped, seconds, counts per type, the failed cases with their error line, warnings."""
        return {"cases": self.cases, "errors": self.errors, "skipped": self.skipped, "seconds": round(self.seconds, 3),
                "types": {t: dict(sorted(v.items())) for t, v in sorted(self.types.items())},
                "failed": [{"id": i, "error": line} for i, line in self.failed], "warnings": self.warnings,
                "coverage": {"rules": self.rules, "articles": self.articles,
                             "rules_never_applied": [r for r in self.all_rules if r not in self.rules],
                             "articles_never_cited": [a for a in self.all_articles if a not in self.articles]}}


# ---- input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One input case: where it is, its raw content and the hash that keys it for resume.

    ``kind`` is "line" (the bytes of one JSON line, parsed by the worker), "text" (a case
    file's text) or "error" (the message, for input that could not be read)."""

    index: int
    label: str  # FILE:LINE, or the file's path
    line: int  # the line of a JSON Lines file, 0 for a directory
    file: str  # the file's name for a directory, "" for JSON Lines
    payload: Any
    kind: str
    digest: str

    @property
    def key(self) -> tuple[str, int, str]:
        """What ``--resume`` keys a record by: the input file, the line number and the hash of the line (never the case id, which may repeat)."""
        return (self.file, self.line, self.digest)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_inputs(path: Path) -> Iterator[Item]:
    """The cases of ``path`` in input order, read once as they come (a pipe or a FIFO works).

    A directory gives its *.yaml, *.yml and *.json files in name order; one that is not a
    regular file (a FIFO, a device, a broken link) or cannot be read is an error item. A JSON
    Lines input gives its non-blank lines; a line longer than the file limit is an error item
    (and after ``SKIP_LIMIT`` times that without a line end, reading stops)."""
    from ..language.yamlio import LIMITS

    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError([Diagnostic(Location(str(path)), "unreadable", f"cannot read: {exc.strerror or exc}")]) from None
    if stat.S_ISDIR(st.st_mode):
        yield from _read_directory(path, LIMITS.max_bytes)
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        raise InputError([Diagnostic(Location(str(path)), "not-a-file", f"is {special_kind(st.st_mode)}: give a JSON "
                                     "Lines file, a pipe or a directory")])
    limit = LIMITS.max_bytes
    index = 0
    try:
        with open(path, "rb") as fh:  # a FIFO waits here for its writer, as `cat` does
            n = 0
            while True:
                raw = fh.readline(limit + 1)
                if not raw:
                    return
                n += 1
                label = f"{path}:{n}"
                if len(raw) > limit and not raw.endswith(b"\n"):
                    skipped, ended = len(raw), False
                    while skipped <= SKIP_LIMIT * limit:
                        chunk = fh.readline(1 << 20)
                        skipped += len(chunk)
                        if not chunk or chunk.endswith(b"\n"):
                            ended = True
                            break
                    message = f"{label}:1: -: the line is longer than {limit} bytes"
                    if not ended:
                        message += f"; no line end within {SKIP_LIMIT * limit} bytes: the rest of the input was not read"
                    yield Item(index, label, n, "", message, "error", _digest(raw[:limit]))
                    index += 1
                    if not ended:
                        return
                    continue
                if not raw.strip():
                    continue
                yield Item(index, label, n, "", raw, "line", _digest(raw.rstrip(b"\r\n")))
                index += 1
    except OSError as exc:
        raise InputError([Diagnostic(Location(str(path)), "unreadable", f"cannot read: {exc.strerror or exc}")]) from None


def _read_directory(path: Path, limit: int) -> Iterator[Item]:
    from ..fileio import FileTooLarge

    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        raise InputError([Diagnostic(Location(str(path)), "unreadable", f"cannot read: {exc.strerror or exc}")]) from None
    index = 0
    for e in entries:
        if not e.name.lower().endswith((".yaml", ".yml", ".json")):
            continue
        p = Path(e.path)
        label = str(p)
        why = ""
        data = b""
        try:
            st = os.stat(p)
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                why = f"is {special_kind(st.st_mode)}, not a regular file"
            else:
                data = read_limited(p, limit)
        except FileNotFoundError:
            why = "is a broken symbolic link" if os.path.islink(p) else "no such file"
        except FileTooLarge:
            why = f"is larger than {limit} bytes"
        except OSError as exc:
            why = f"cannot be read: {exc.strerror or exc}"
        if why:
            yield Item(index, label, 0, e.name, f"{label}:0:0: -: skipped: {why}", "error", _digest(why.encode()))
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Item(index, label, 0, e.name, f"{label}:1:1: -: not UTF-8 text (byte 0x{data[exc.start]:02X} at "
                           f"offset {exc.start})", "error", _digest(data))
            else:
                yield Item(index, label, 0, e.name, text, "text", _digest(data))
        index += 1


# ---- worker ------------------------------------------------------------------------------------

_W: dict[str, Any] = {}

# (the output line, or where a worker spooled it: (path, offset, length); summary keys, None
# for an error record)
Record = tuple[str | tuple[str, int, int], list[str] | None]


def _init_worker(rules: str | None, kb: str | None, engine: str, fault: str, spool: str, timeout: float,
                 record: str = "full", as_of: str | None = None) -> None:
    from ..rulebase import keep_resident, load_rulebase

    _W["rb"] = keep_resident(load_rulebase(rules, kb), engine)
    _W["record"] = record
    _W["engine"] = engine
    _W["as_of"] = as_of
    _W["fault"] = fault
    _W["spool"] = spool
    _W["timeout"] = timeout


class _CaseTimeout(BaseException):
    """Raised in a worker by its alarm when one case runs past the timeout (a BaseException,
    so that the catch-all of _record does not turn it into an internal error)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _CaseTimeout()


def _worker_main(conn: Any, rules: str | None, kb: str | None, engine: str, fault: str, spool: str,
                 timeout: float, record: str = "full", as_of: str | None = None) -> None:
    """A worker: load the rule base, say "ready", then evaluate each task it is sent, one
    message a case (so that the parent knows, if this process dies, which case it was on)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        _init_worker(rules, kb, engine, fault, spool, timeout, record, as_of)
    except BaseException as exc:  # noqa: B036 - reported to the parent, which stops the batch
        try:
            conn.send(("init-error", f"{type(exc).__name__}: {exc}"[:2000]))
        except Exception:
            pass
        return
    try:
        conn.send(("ready", os.getpid()))
        while True:
            msg = conn.recv()
            if msg is None:
                return
            tid, items = msg
            for k, item in enumerate(items):
                conn.send(("case", tid, k, _evaluate_one(item)))
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the parent is gone or stopped the batch


def _evaluate_one(item: Item) -> tuple[Record, str | None]:
    """One case's output record and its case id (None when it has none).

    Each case has its own time limit, set by an alarm in the worker, so a slow case gets the
    same answer whatever the size of its task. A record is not sent back through the pipe
    (results run to tens of kilobytes, and receiving them would cost the parent as much CPU as
    a worker): the worker appends it to its own spool file and answers with where it is; if
    that write fails, the record goes back inline."""
    timeout = float(_W.get("timeout") or 0)
    alarm = timeout > 0 and hasattr(signal, "setitimer")
    try:
        if alarm:
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            text, keys, ident = _record(item)
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except _CaseTimeout:
        ident = _W.get("ident")
        text, keys = _error_text(item, ident, f"evaluation did not finish within {timeout:g} s "
                                 "(stopped at its time limit)"), None
    try:
        data = (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # pragma: no cover - the loaders refuse unpaired surrogates
        text = json.dumps(json.loads(text), ensure_ascii=True, sort_keys=True)
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
        return (text, keys), ident
    _W["offset"] = offset + len(data)
    return ((_W["path"], offset, len(data)), keys), ident


def _summary_keys(doc: dict[str, Any]) -> list[str]:
    """The (type, status) pairs a case reached, each once: what the summary counts."""
    keys: set[str] = set()
    for c in doc.get("conclusions", []):
        if isinstance(c, dict) and c.get("kind", "conclusion") in REPORTED_KINDS and "type" in c and "status" in c:
            keys.add(f"{c['type']}: {c['status']}")
            if c["status"] in ("holds", "undetermined"):
                keys.add(f"{c['type']}: {REACHED}")
    # the rules and articles the case applied: a compact record lists them, a full one has its derivations
    rules, articles = doc.get("rules"), doc.get("articles")
    if not isinstance(rules, list) or not isinstance(articles, list):
        rules, articles = _applied([d for d in doc.get("derivations", []) if isinstance(d, dict)])
    keys.update(RULE_KEY + str(r) for r in rules)
    keys.update(ARTICLE_KEY + str(a) for a in articles)
    return sorted(keys)


def _applied(derivations: list[Any]) -> tuple[list[str], list[str]]:
    """The rule ids and the articles (``act/number``) of the derivations not withdrawn by an
    exception (dicts of a record, or :class:`Derivation` objects)."""
    rules: set[str] = set()
    articles: set[str] = set()
    for d in derivations:
        get = d.get if isinstance(d, dict) else (lambda k, d=d: getattr(d, k))
        if get("defeated_by"):
            continue
        rules.add(str(get("rule")).split("@")[0])
        for c in get("citations") or ():
            bits = str(c).split("/")
            if len(bits) >= 2:
                articles.add(f"{bits[0]}/{bits[1]}")
    return sorted(rules), sorted(articles)


def compact_record(result: Any, kb: Any) -> dict[str, Any]:
    """A compact record of one case: each reportable conclusion's type, attributes and status,
    the amounts (tenge) and deadlines (dates) among them, and the rule base it was made with —
    enough for summaries, and to explain the record later by running that case again (its
    ``line`` and ``input_sha256`` say which input it was)."""
    conclusions, amounts, deadlines = [], [], []
    for c in result.conclusions:
        if c.kind not in REPORTED_KINDS or c.status == "does_not_hold":
            continue
        conclusions.append({"type": c.type, "status": str(c.status), "attributes": c.attributes})
        t = kb.types.get(c.type)
        for name, v in c.attributes.items():
            a = t.attributes.get(name) if t is not None else None
            if a is None or v is None:
                continue
            if a.type == "tenge":
                amounts.append({"type": c.type, "status": str(c.status), "name": name, "tenge": v})
            elif a.type == "date":
                deadlines.append({"type": c.type, "status": str(c.status), "name": name, "date": v})
    from ..reasoning.result import SCHEMA_VERSION

    rules, articles = _applied(list(result.trace.derivations))
    return {"record": "compact", "schema_version": SCHEMA_VERSION, "engine": result.engine,
            "rulebase": {"fingerprint": result.rulebase.fingerprint, "encoded_up_to": result.rulebase.encoded_up_to},
            "conclusions": conclusions, "amounts": amounts, "deadlines": deadlines,
            "rules": rules, "articles": articles}


def _stamp(doc: dict[str, Any], item: Item) -> dict[str, Any]:
    doc["line"] = item.line
    doc["input_sha256"] = item.digest
    if item.file:
        doc["file"] = item.file
    return doc


def _error_text(item: Item, ident: str | None, message: str, diagnostics: list[Diagnostic] | None = None) -> str:
    err: dict[str, Any] = {"message": message}
    if diagnostics is not None:
        err["diagnostics"] = [{"location": str(d.location), "code": d.code, "message": d.message}
                              for d in diagnostics]
    doc = _stamp({"id": ident or item.label, "error": err}, item)
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


def _record(item: Item) -> tuple[str, list[str] | None, str | None]:
    """(the record's JSON text, its summary keys or None for an error, the case id)."""
    from ..errors import Diagnostics, KzError
    from ..rulebase import evaluate_case
    from ..language.scenario import load_scenarios, scenario_from_data
    from ..language.yamlio import load_json_line

    rb = _W["rb"]
    ident: str | None = None
    _W["ident"] = None
    try:
        if item.kind == "error":
            return _error_text(item, None, str(item.payload)), None, None
        diags = Diagnostics()
        if item.kind == "line":
            source = item.label.rsplit(":", 1)[0]
            data = load_json_line(item.payload, source, item.line, diags)
            if data is not None and not diags.errors:
                if isinstance(data, dict) and isinstance(data.get("id"), str):
                    ident = data["id"]
                found = scenario_from_data(data, rb.kb, diags, source, item.label)
                scenarios = [found] if found is not None else []
            else:
                scenarios = []
        else:
            scenarios = load_scenarios(Path(item.label), rb.kb, diags, shown=item.label, text=item.payload)
        if diags.errors:
            raise InputError(diags.errors)
        if len(scenarios) != 1:
            raise InputError([Diagnostic(Location(item.label), "many-cases",
                                         f"the file holds {len(scenarios)} cases; give one case a file")])
        scenario = scenarios[0]
        ident = _W["ident"] = scenario.id
        _fault_injection(ident)
        if _W.get("as_of"):
            from ..rulebase import assessed_as_of

            scenario = assessed_as_of(scenario, _dt.date.fromisoformat(_W["as_of"]))
        result = evaluate_case(rb, scenario, _W["engine"])
        doc = compact_record(result, rb.kb) if _W.get("record") == "compact" else result.to_json()
        doc["id"] = scenario.id
        _stamp(doc, item)
        return json.dumps(doc, ensure_ascii=False, sort_keys=True), _summary_keys(doc), ident
    except InputError as exc:
        return _error_text(item, ident, exc.render() or "the file holds no single case", exc.diagnostics), None, ident
    except KzError as exc:
        return _error_text(item, ident, str(exc)), None, ident
    except Exception as exc:  # never lose a case to an unexpected failure
        return _error_text(item, ident, f"internal error: {type(exc).__name__}: {exc}"), None, ident


def _fault_injection(ident: str) -> None:
    """For the tests of crash and hang handling only: KZCOPYRIGHT_FAULT=hang:ID or crash:ID."""
    fault = _W.get("fault", "")
    if fault == f"hang:{ident}":
        time.sleep(3600)
    elif fault == f"crash:{ident}":
        os.kill(os.getpid(), signal.SIGSEGV)


def _case_id(item: Item) -> str | None:
    """The id a case states, read (safely) in the parent for the record of a case whose worker
    died on it."""
    from ..errors import Diagnostics
    from ..language.yamlio import load_json_line, load_text

    diags = Diagnostics()
    try:
        if item.kind == "line":
            data = load_json_line(item.payload, "-", item.line, diags)
        elif item.kind == "text":
            data = load_text(item.payload, "-", diags)
        else:
            return None
    except Exception:  # pragma: no cover - the loaders report, they do not raise
        return None
    ident = data.get("id") if isinstance(data, dict) else None
    return ident if isinstance(ident, str) else None


# ---- the pool -----------------------------------------------------------------------------------


def _context() -> Any:
    # never fork a process that may hold durable_rules' threads: start workers fresh, from a
    # fork server that has imported the engine once (each worker then only loads the rule base).
    # The fork server ignores Ctrl-C, and so do the workers it forks (the first thing they do).
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["kzcopyright.engine.workflows._forkserver", "kzcopyright.engine.workflows.batch",
                                    "kzcopyright.engine.rulebase",
                                    "kzcopyright.engine.reasoning.pybackend", "kzcopyright.engine.reasoning.result"])
        return ctx
    return mp.get_context("spawn")


@dataclass
class _Task:
    tid: int
    items: list[Item]
    done: int = 0  # cases of it answered so far


@dataclass
class _Worker:
    proc: Any
    conn: Any
    ready: bool = False
    task: _Task | None = None
    since: float = 0.0  # when its current case started (its last answer, or the task's start)


class _Pool:
    """Worker processes, each sent one task at a time, each answering one message a case.

    A dead worker is seen at once through its process sentinel: the answers it sent before it
    died are read, the case it was on gets an error record, and the rest of its task goes back
    to the front of the queue. A case that does not answer within ``timeout`` and a margin
    (a hang where the worker's alarm cannot reach, inside C code) has its worker killed, the
    same way."""

    def __init__(self, n: int, args: tuple[Any, ...], timeout: float,
                 on_case: Callable[[Item, Record, str | None], None]):
        self.ctx = _context()
        self.n = n
        self.args = args
        self.timeout = timeout
        self.margin = max(2.0, min(timeout, 5.0))
        self.on_case = on_case
        self.workers: list[_Worker] = []
        self.queue: deque[_Task] = deque()
        self.counter = 0
        self.failed_starts = 0

    # -- workers
    def _start(self) -> None:
        parent, child = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(target=_worker_main, args=(child, *self.args), daemon=True)
        proc.start()
        child.close()
        self.workers.append(_Worker(proc, parent))

    def _retire(self, w: _Worker, kill: bool) -> None:
        if kill and w.proc.is_alive():
            w.proc.kill()
        w.proc.join(5)
        try:
            w.conn.close()
        except OSError:
            pass
        self.workers.remove(w)

    def stop(self) -> None:
        for w in list(self.workers):
            try:
                w.proc.kill()
            except Exception:
                pass
        for w in list(self.workers):
            self._retire(w, kill=True)

    def close(self) -> None:
        for w in self.workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
        for w in list(self.workers):
            w.proc.join(10)
            self._retire(w, kill=True)

    # -- tasks
    def submit(self, items: list[Item]) -> None:
        self.counter += 1
        self.queue.append(_Task(self.counter, items))

    @property
    def busy(self) -> int:
        return sum(1 for w in self.workers if w.task is not None)

    def idle(self) -> bool:
        return not self.queue and self.busy == 0

    def _dispatch(self) -> None:
        for w in self.workers:
            if w.ready and w.task is None and self.queue:
                task = self.queue.popleft()
                try:
                    w.conn.send((task.tid, task.items))
                except OSError:
                    self.queue.appendleft(task)
                    continue
                w.task, w.since = task, time.monotonic()
        wanted = min(self.n, len(self.workers) + len(self.queue))
        while len(self.workers) < wanted:
            self._start()

    def _answer(self, w: _Worker, msg: Any) -> None:
        kind = msg[0]
        if kind == "ready":
            w.ready = True
            self.failed_starts = 0
        elif kind == "case":
            _tid, _k, answer = msg[1], msg[2], msg[3]
            task = w.task
            if task is None or task.tid != _tid:
                return  # pragma: no cover - an answer for a task that was taken back
            item = task.items[task.done]
            task.done += 1
            w.since = time.monotonic()
            (record, ident) = answer
            self.on_case(item, record, ident)
            if task.done == len(task.items):
                w.task = None
        elif kind == "init-error":
            raise EvaluationError(f"a batch worker could not start: {msg[1]}")

    def _drain(self, w: _Worker) -> None:
        """Read every answer a worker sent before it died or was killed."""
        while True:
            try:
                if not w.conn.poll(0):
                    return
                self._answer(w, w.conn.recv())
            except (EOFError, OSError):
                return

    def _lost(self, w: _Worker, why: str) -> None:
        """A worker died or was killed: blame the case it was on, requeue the rest of its task."""
        self._drain(w)
        task = w.task
        self._retire(w, kill=True)
        if task is None:
            if not w.ready:
                self.failed_starts += 1
                if self.failed_starts > 3:
                    raise EvaluationError(f"batch workers die while starting ({why})")
            return
        item = task.items[task.done]
        record = (_error_text(item, _case_id(item), f"evaluation did not finish: {why}"), None)
        self.on_case(item, record, None)
        rest = task.items[task.done + 1:]
        if rest:
            self.counter += 1
            self.queue.appendleft(_Task(self.counter, rest))

    def step(self, block: bool = True) -> None:
        """Hand out tasks, then wait for one event (an answer, a death, a deadline); without
        ``block``, only take the events already there."""
        self._dispatch()
        now = time.monotonic()
        deadlines = [w.since + self.timeout + self.margin for w in self.workers if w.task is not None]
        wait = (max(0.0, min(deadlines) - now) if deadlines else 1.0) if block else 0.0
        by_conn = {w.conn: w for w in self.workers}
        by_sentinel = {w.proc.sentinel: w for w in self.workers}
        ready = mpc.wait(list(by_conn) + list(by_sentinel), timeout=wait + 0.01 if block else 0)
        for obj in ready:
            w = by_conn.get(obj)
            if w is not None and w in self.workers:
                try:
                    self._answer(w, w.conn.recv())
                except (EOFError, OSError):
                    self._lost(w, self._death(w))
        for obj in ready:
            w = by_sentinel.get(obj)
            if w is not None and w in self.workers:
                self._lost(w, self._death(w))
        now = time.monotonic()
        for w in list(self.workers):
            if w.task is not None and now > w.since + self.timeout + self.margin:
                self._lost(w, f"no answer within {self.timeout:g} s (the worker hung and was stopped)")

    def _death(self, w: _Worker) -> str:
        w.proc.join(1)
        code = w.proc.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"its worker died (killed by {name})"
        return f"its worker died (exit code {code})"


# ---- driver --------------------------------------------------------------------------------------


def _previous(paths: list[Path], record: str = "full") -> dict[tuple[str, int, str], tuple[Record, str | None]]:
    """The result records of earlier runs, by input key (file, line, hash of the input): where
    each is (the file, its offset and length: copied, not held in memory) and its case id.
    Error records are left out (evaluated again); a line that is not a record is ignored."""
    from ..language.yamlio import LIMITS

    done: dict[tuple[str, int, str], tuple[Record, str | None]] = {}
    for path in paths:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                continue
            fh = open(path, "rb")
        except OSError:
            continue
        with fh:
            offset = 0
            while True:
                raw = fh.readline(4 * LIMITS.max_bytes)
                if not raw:
                    break
                start, offset = offset, offset + len(raw)
                if not raw.endswith(b"\n"):
                    continue
                try:
                    rec = json.loads(raw)
                except (ValueError, RecursionError):
                    continue
                if not isinstance(rec, dict) or "error" in rec or rec.get("record", "full") != record:
                    continue
                line, digest, name = rec.get("line"), rec.get("input_sha256"), rec.get("file", "")
                if not isinstance(line, int) or not isinstance(digest, str) or not isinstance(name, str):
                    continue
                ident = rec.get("id")
                done[(name, line, digest)] = (((str(path), start, len(raw)), _summary_keys(rec)),
                                              ident if isinstance(ident, str) else None)
    return done


def _spool_parent(output: Path) -> Path:
    """The spool lives next to the output (the system temp directory may be small or in
    memory), unless the output is a device or a FIFO."""
    try:
        st = os.stat(output)
        if not stat.S_ISREG(st.st_mode):
            return Path(tempfile.gettempdir())
    except OSError:
        pass
    real = Path(os.path.realpath(output))
    return real.parent


def _check_paths(input_path: Path, output: Path) -> None:
    try:
        same = os.path.samefile(input_path, output)
    except OSError:
        same = False
    if same:
        raise OutputError(str(output), "it is the input: give another output file")


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
    record: str = "full",
    summary_only: bool = False,
    as_of: _dt.date | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    partition: int = 0,
) -> BatchSummary:
    """Evaluate every case of ``input_path`` into ``output`` (JSON Lines, input order).

    Raises :class:`BatchInterrupted` on Ctrl-C (the output is left as it was, the finished
    records are kept in ``OUTPUT.partial`` for ``resume``), :class:`OutputError` when the
    output cannot be written or is the input, :class:`InputError` when the input cannot be
    read. ``as_of`` is the date of assessment of every case that gives none (the CLI passes
    today); None leaves such cases without one.

    ``record`` is "full" (the result's lossless JSON, which ``why --result`` reads) or
    "compact" (:func:`compact_record`); with ``summary_only`` no record is written at all and
    ``output`` is not touched (only the summary is returned).

    ``executor`` "dask" runs the cases on a Dask cluster (``scheduler``'s address, or a local
    cluster of ``workers`` processes) in partitions of ``partition`` cases: the same records,
    the same output bytes (:mod:`.dask_batch`)."""
    if record not in RECORDS:
        raise ValueError(f"record must be one of {RECORDS}")
    if executor not in ("local", "dask"):
        raise ValueError("executor must be 'local' or 'dask'")
    started = time.perf_counter()
    input_path, output = Path(input_path), Path(output)
    if str(output) == "":
        raise OutputError("", "an empty file name")
    _check_paths(input_path, output)
    partial = Path(f"{output}.partial")
    parent = _spool_parent(output)
    clean_stale(parent, output.name)
    previous = _previous([output, partial], record) if resume and not summary_only else {}
    summary = BatchSummary(output=str(output))
    records: list[Record | None] = []
    first_use: dict[str, str] = {}

    def note(item: Item, record: Record, ident: str | None) -> None:
        while len(records) <= item.index:
            records.append(None)
        records[item.index] = record
        if ident is not None and record[1] is not None:
            if ident in first_use:
                summary.warnings.append(f"warning: {item.label}: case id '{ident}' is also used at {first_use[ident]}")
            else:
                first_use[ident] = item.label
        if progress is not None:
            progress(1)

    n_workers = max(1, workers or os.cpu_count() or 1)
    fault = os.environ.get("KZCOPYRIGHT_FAULT", "")  # read here: a fork server started earlier would not see it
    try:
        spool_dir = tempfile.mkdtemp(prefix=f".{output.name}.spool-{os.getpid()}-", dir=parent)
    except OSError as exc:
        raise OutputError(str(output), f"cannot make a spool folder in {parent}: {exc.strerror or exc}") from None
    pool: Any = None
    read = 0
    try:
        try:
            if executor == "dask":
                from .dask_batch import DaskPool

                pool = DaskPool(scheduler, n_workers, (rules, kb, engine, record, as_of.isoformat() if as_of else None),
                                spool_dir, note)
            else:
                pool = _Pool(n_workers, (rules, kb, engine, fault, spool_dir, timeout, record,
                                         as_of.isoformat() if as_of else None), timeout, note)
            batch: list[Item] = []
            for item in read_inputs(input_path):
                read += 1
                kept = previous.get(item.key)
                if item.kind == "error":  # unreadable input: its record needs no worker
                    note(item, (_error_text(item, None, str(item.payload)), None), None)
                    continue
                if kept is not None:
                    summary.skipped += 1
                    note(item, kept[0], kept[1])
                    continue
                batch.append(item)
                size = partition or max(1, min(CHUNK, read // (n_workers * 4)))
                if len(batch) >= size:
                    pool.submit(batch)
                    batch = []
                pool.step(block=False)
                # keep at most two tasks a worker waiting: the input streams in as the cases go out
                while len(pool.queue) >= 2 * n_workers:
                    pool.step()
            if batch:
                pool.submit(batch)
            while not pool.idle():
                pool.step()
            pool.close()
        except KeyboardInterrupt:
            if pool is not None:
                pool.stop()
            raise BatchInterrupted(_interrupted(output, partial, records, read)) from None
        except BaseException:
            if pool is not None:
                pool.stop()
            raise
        for rec in records:
            assert rec is not None
            summary.cases += 1
            if rec[1] is None:
                summary.errors += 1
                if len(summary.failed) < MAX_FAILED:
                    summary.failed.append(_failure(rec))
            else:
                summary.add(rec[1])
        if not summary_only:
            # records are copied from the spool files one at a time: the output is never held whole
            # in memory (a result is tens of kilobytes; a batch may have hundreds of thousands)
            write_atomic(output, _output_chunks(records))
            try:
                partial.unlink()
            except OSError:
                pass
    finally:
        import shutil

        shutil.rmtree(spool_dir, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _failure(rec: Record) -> tuple[str, str]:
    """(case id or input place, first line of the error) of an error record."""
    (where, _keys) = rec
    try:
        if isinstance(where, str):
            text = where
        else:
            path, offset, length = where
            with open(path, "rb") as fh:
                fh.seek(offset)
                text = fh.read(length).decode("utf-8")
        doc = json.loads(text)
        message = str(doc.get("error", {}).get("message", ""))
        return str(doc.get("id", "?")), (message.splitlines() or [""])[0]
    except (OSError, ValueError, AttributeError):  # pragma: no cover - the record was written by us
        return "?", "the error record could not be read back"


def _interrupted(output: Path, partial: Path, records: list[Record | None], read: int) -> str:
    """Keep the finished records (in input order) in OUTPUT.partial; say how to go on."""
    finished = [r for r in records if r is not None]
    kept = ""
    try:
        st = os.stat(output)
        regular = stat.S_ISREG(st.st_mode)
    except OSError:
        regular = True
    if finished and regular:
        try:
            write_atomic(partial, _output_chunks(finished))
            kept = f"; the {len(finished)} finished results are in {partial}: run the same command with --resume to go on"
        except (OutputError, OSError) as exc:
            kept = f"; the finished results could not be kept ({exc})"
    elif finished:
        kept = "; the output is not a regular file, so nothing was kept to resume from"
    return (f"interrupted: {len(finished)} of the {read} cases read were done; {output} was left as it was"
            + kept)


def _output_chunks(records: Sequence[Record | None]) -> Iterator[bytes]:
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
