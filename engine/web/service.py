"""What the web server does, as plain synchronous calls: read a case from text or a request
body (never from a path: no request names a file on the server), evaluate it in a worker
process within the limits, and explain the result. The JSON API and the pages are thin
layers on one :class:`Service`.

The rule base is loaded once per server process (and once in each evaluation worker).
Results are kept in a small cache keyed by the case's content and the engine, so that the
pages of one case (answer, why, graph, what-if) evaluate it once.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from ..errors import Diagnostic, Diagnostics, InputError, Location, suggest
from ..language.scenario import Scenario, scenario_from_data
from ..language.values import json_value
from ..language.yamlio import LDict, load_text
from ..reasoning.compare import compare_results
from ..reasoning.provenance import Status
from ..reasoning.result import Conclusion, Result
from ..rulebase import RuleBase, choose_engine, examples_dir, list_examples, load_rulebase
from .config import WebConfig
from .explain import change_plain, conclusion_plain, question_plain, why_not_plain, why_tree
from .workers import Busy, Crashed, EvalPool, Timeout

__all__ = ["ApiError", "Service", "diagnostics_plain"]


class ApiError(Exception):
    """An answer other than 200 that is not an input error: its HTTP status, a stable code
    and a message (e.g. 504 ``timeout``)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        super().__init__(message)


def diagnostics_plain(exc: InputError) -> list[dict[str, Any]]:
    """The located diagnostics of an input error, as the API returns them."""
    return [{"location": {"path": d.location.path, "line": d.location.line, "col": d.location.col},
             "code": d.code, "message": d.message, "hint": d.hint, "subject": d.subject, "severity": d.severity,
             "source_line": d.source_line, "related": [str(r) for r in d.related], "text": d.render()}
            for d in exc.diagnostics]


def _input_error(code: str, message: str, where: str = "<request>", hint: str = "", line: int = 0,
                 col: int = 0) -> InputError:
    return InputError([Diagnostic(Location(where, line, col), code, message, "-", hint)])


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> Any:
        """The value of ``key`` (None when absent); it becomes the most recent."""
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key``, dropping the oldest beyond the size."""
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


class Service:
    """One server process's rule base, worker pool and caches."""

    def __init__(self, config: WebConfig):
        self.config = config
        self.limits = config.limits
        self.rb: RuleBase = load_rulebase(config.rules, config.kb)
        self.engine, self.notice = choose_engine(config.engine)
        self.pool = EvalPool(config.rules, config.kb, config.eval_workers)
        self._texts = _LRU(64)
        self._results = _LRU(16)
        self._schema: dict[str, Any] | None = None

    @property
    def kb(self) -> Any:
        """The knowledge base."""
        return self.rb.kb

    def start(self) -> None:
        """Start the evaluation workers."""
        self.pool.start()

    def close(self) -> None:
        """Stop the evaluation workers."""
        self.pool.close()

    # ---- reading cases --------------------------------------------------------------------------
    def engine_for(self, engine: str | None) -> str:
        """The engine to use: the server's, or one asked for (checked)."""
        if engine in (None, ""):
            return self.engine
        if engine not in ("durable", "python"):
            raise _input_error("bad-argument", f"unknown engine '{engine}'", "engine", "use durable or python")
        return choose_engine(engine)[0]

    def parse_text(self, text: str, name: str, diags: Diagnostics) -> Any:
        """Text as located data; an empty text is an error."""
        data = load_text(text, name, diags)
        if data is None and not diags.errors:
            diags.error(Location(name, 1, 1), "empty-file", "the case is empty")
        return data

    def case_from_text(self, text: str, name: str = "<case>", default_id: str = "case") -> Scenario:
        """A case from the text of a case file (YAML or JSON); located diagnostics name ``name``."""
        diags = Diagnostics()
        return self.case_from_data(self.parse_text(text, name, diags), diags, name, default_id)

    def case_from_bytes(self, data: bytes, name: str = "<case>", default_id: str = "case") -> Scenario:
        """A case from the bytes of a file (UTF-8)."""
        return self.case_from_text(self.decode(data, name), name, default_id)

    def decode(self, data: bytes, name: str) -> str:
        """UTF-8 text of ``data``; else a located ``encoding`` error."""
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _input_error("encoding", f"not UTF-8 text (byte {exc.start})", name, line=1, col=1) from None

    def case_from_data(self, data: Any, diags: Diagnostics, name: str, default_id: str = "case") -> Scenario:
        """A case from located data (a parsed file or part of a request body)."""
        scenario = None
        if data is not None:
            if isinstance(data, LDict) and "cases" in data:
                diags.error(data.key_loc("cases"), "many-cases", "the file holds several cases; the web service "
                            "takes one (use kzcopyright batch for many)")
            else:
                facts = data.get("facts") if isinstance(data, dict) else None
                if isinstance(facts, list) and len(facts) > self.limits.max_facts:
                    loc = data.val_loc("facts") if isinstance(data, LDict) else Location(name)
                    diags.error(loc, "too-many-facts", f"the case states {len(facts)} facts; the server takes at "
                                f"most {self.limits.max_facts} per case")
                else:
                    scenario = scenario_from_data(data, self.kb, diags, name, default_id)
        if diags.errors or scenario is None:
            raise InputError(diags.items or [Diagnostic(Location(name), "bad-case", "no case could be read")])
        return scenario

    def case_from_mapping(self, case: dict[str, Any]) -> Scenario:
        """A case given as plain data (a page's state): checked like a file."""
        from ..rulebase import _to_located

        return self.case_from_data(_to_located(case), Diagnostics(), "<case>", "case")

    def example_text(self, name: str) -> str:
        """The text of a bundled example, chosen by its name among :meth:`examples`."""
        if name not in self.examples():
            raise ApiError(404, "unknown-example", f"no bundled example '{name}'" + (
                f" ({suggest(name, self.examples())})" if suggest(name, self.examples()) else ""))
        return (examples_dir(self.rb.kb_dir) / f"{name}.yaml").read_text(encoding="utf-8")

    def example_case(self, name: str) -> Scenario:
        """A bundled example's case."""
        return self.case_from_text(self.example_text(name), f"examples/{name}.yaml", name)

    def examples(self) -> list[str]:
        """The bundled examples' names."""
        return list_examples(self.rb.kb_dir)

    def body_case(self, body: LDict, diags: Diagnostics) -> Scenario:
        """The case of a JSON request body: ``case`` (an object, or the text of a case file) or
        ``example`` (the name of a bundled example)."""
        if "case" in body:
            case = body["case"]
            if isinstance(case, str):
                return self.case_from_text(case, "<case>")
            if isinstance(case, dict):
                return self.case_from_data(case, diags, "<request>")
            raise InputError([Diagnostic(body.val_loc("case"), "bad-case", "'case' must be an object or the text of "
                                         "a case file")])
        if "example" in body:
            return self.example_case(str(body["example"]))
        raise InputError([Diagnostic(body.loc, "missing-case", "the request names no case", "-",
                                     "give 'case' (an object or the text of a case file) or 'example'")])

    def body(self, data: bytes) -> tuple[LDict, Diagnostics]:
        """A JSON (or YAML) request body as located data; its problems are located in it."""
        diags = Diagnostics()
        parsed = self.parse_text(self.decode(data, "<request>"), "<request>", diags)
        if diags.errors:
            raise InputError(diags.items)
        if not isinstance(parsed, LDict):
            raise _input_error("bad-request", "the request body must be a JSON object", line=1, col=1)
        return parsed, diags

    # ---- evaluation -----------------------------------------------------------------------------
    @staticmethod
    def key(scenario: Scenario, engine: str) -> str:
        """The cache key of a case on an engine: a hash of its content."""
        facts = [(f.fid, f.type, [(k, json_value(v)) for k, v in f.attrs]) for f in scenario.facts]
        text = json.dumps([scenario.id, scenario.title, facts, engine], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def run(self, job: str, *args: Any, time_factor: float = 1.0) -> Any:
        """Run a job on a worker within the limits (``time_factor`` times the time limit, for a
        job that is slow by nature, such as laying out a PDF); pool failures become ApiErrors."""
        try:
            return self.pool.run(job, args, self.limits.time_limit * time_factor, self.limits.queue_wait)
        except Busy as exc:
            raise ApiError(503, "busy", str(exc), {"Retry-After": "5"}) from None
        except Timeout as exc:
            raise ApiError(504, "timeout", str(exc)) from None
        except Crashed as exc:
            raise ApiError(500, "evaluation-failed", str(exc)) from None

    @staticmethod
    def _portable(scenario: Scenario) -> Scenario:
        """The case as a worker evaluates it: without its source text, and — as the CLI does —
        assessed as of today when it gives no date of assessment (the result says so)."""
        import datetime as _dt

        from ..rulebase import assessed_as_of

        return assessed_as_of(replace(scenario, raw=None, expect=None), _dt.date.today())

    def analyze_text(self, scenario: Scenario, engine: str | None = None) -> str:
        """The result's JSON text (byte-identical to ``analyze --format json``)."""
        name = self.engine_for(engine)
        case = self._portable(scenario)
        key = self.key(case, name)
        text: str | None = self._texts.get(key)
        if text is None:
            text = self.run("analyze", case, name)
            self._texts.put(key, text)
        return text

    def result(self, scenario: Scenario, engine: str | None = None) -> Result:
        """The result of a case (evaluated by a worker, kept in the cache)."""
        name = self.engine_for(engine)
        case = self._portable(scenario)
        key = self.key(case, name)
        result: Result | None = self._results.get(key)
        if result is None:
            result = self.run("result", case, name)
            assert isinstance(result, Result)
            self._results.put(key, result)
        return result

    # ---- explanations -----------------------------------------------------------------------------
    def select(self, result: Result, spec: str) -> tuple[str, dict[str, str], list[Conclusion]]:
        """The conclusions a name selects: ``TYPE``, ``TYPE(attr=value, ...)`` or a JSON id."""
        from ..views.explain import parse_spec

        spec = spec.strip()
        if "#" in spec:
            c = result.conclusion(spec)
            if c is None:
                ids = [x.id for x in result.conclusions]
                raise _input_error("unknown-conclusion", f"no conclusion '{spec}' in this result", "conclusion",
                                   suggest(spec, ids))
            return c.type, {}, [c]
        try:
            tname, attrs = parse_spec(self.kb, spec)
        except InputError as exc:
            raise InputError([replace(d, location=Location("conclusion")) for d in exc.diagnostics]) from None
        return tname, attrs, [c for c in result.select(tname, attrs)
                              if c.status in (Status.HOLDS, Status.UNDETERMINED, Status.DEFEATED)]

    def why(self, result: Result, spec: str, lang: str) -> dict[str, Any]:
        """The why answer of the API for ``spec`` in ``result``."""
        from ..views.explain import why_lines

        tname, attrs, found = self.select(result, spec)
        return {"conclusion": spec, "type": tname, "attributes": attrs,
                "status": str(found[0].status) if found else "does_not_hold",
                "matches": [{"conclusion": conclusion_plain(c, self.kb, lang), "tree": why_tree(result, self.kb, c, lang),
                             "lines": why_lines(result, self.kb, c, lang)} for c in found],
                "disclaimer": result.disclaimer}

    def why_not(self, scenario: Scenario, spec: str, lang: str, engine: str | None = None,
                max_changes: int = 2, max_evals: int | None = None) -> dict[str, Any]:
        """The why-not answer of the API: rule by rule, and the bounded change search."""
        from ..views.explain import parse_spec, why_not_lines

        if "#" in spec:
            tname, attrs, _found = self.select(self.result(scenario, engine), spec)
        else:
            try:
                tname, attrs = parse_spec(self.kb, spec)
            except InputError as exc:
                raise InputError([replace(d, location=Location("conclusion")) for d in exc.diagnostics]) from None
        evals = max_evals if max_evals is not None else self.limits.default_evals
        if not 0 <= max_changes <= self.limits.max_changes:
            raise _input_error("bad-argument", f"max_changes must be 0 to {self.limits.max_changes}", "max_changes")
        if not 1 <= evals <= self.limits.max_evals:
            raise _input_error("bad-argument", f"max_evals must be 1 to {self.limits.max_evals}", "max_evals")
        result = self.result(scenario, engine)
        analyses, search = self.run("why_not", self._portable(scenario), tname, attrs, max_changes, evals)
        current = [{"id": c.id, "status": str(c.status)} for c in result.select(tname, attrs)]
        best = next((s for s in ("holds", "undetermined", "defeated") if any(c["status"] == s for c in current)),
                    "does_not_hold")
        out = {"conclusion": spec, "type": tname, "attributes": attrs, "status": best, "current": current}
        out.update(why_not_plain(analyses, search))
        out["lines"] = why_not_lines(result, self.kb, tname, attrs, analyses, lang, search)
        out["disclaimer"] = result.disclaimer
        return out

    def assignments(self, scenario: Scenario, sets: Any) -> list[tuple[str, str, Any]]:
        """What-if changes: ``["ENTITY.ATTR=VALUE", ...]`` or ``{"ENTITY.ATTR": value}``."""
        from ..reasoning.whynot import parse_assignment

        if isinstance(sets, dict):
            items = []
            for k, v in sets.items():
                if v is None:
                    v = "unknown"
                elif isinstance(v, bool):
                    v = "true" if v else "false"
                elif isinstance(v, list):
                    v = ", ".join(str(x) for x in v)
                items.append(f"{k}={v}")
        elif isinstance(sets, list) and all(isinstance(x, str) for x in sets):
            items = list(sets)
        elif isinstance(sets, str):
            items = [sets]
        else:
            raise _input_error("bad-argument", "'set' must be a list of 'ENTITY.ATTR=VALUE' or an object "
                               "{\"ENTITY.ATTR\": value}", "set")
        if not items:
            raise _input_error("bad-argument", "no change given", "set", "e.g. use:listing.damage_tenge=700000")
        if len(items) > self.limits.max_set:
            raise _input_error("bad-argument", f"at most {self.limits.max_set} changes at once", "set")
        out = []
        for i, text in enumerate(items):
            try:
                out.append(parse_assignment(self.rb, scenario, text))
            except InputError as exc:
                raise InputError([replace(d, location=Location(f"set[{i}]")) for d in exc.diagnostics]) from None
        return out

    def what_if(self, scenario: Scenario, changes: list[tuple[str, str, Any]], lang: str,
                engine: str | None = None) -> dict[str, Any]:
        """The what-if answer of the API: the differences and the changed case."""
        from ..reasoning.whynot import apply_changes
        from ..views.explain import what_if_lines
        from .state import case_data_of

        after_case = apply_changes(scenario, changes)
        before = self.result(scenario, engine)
        after = self.result(after_case, engine)
        diffs = compare_results(before, after, self.kb)
        return {"changes": [{"fact": f, "attribute": a, "value": json_value(v)} for f, a, v in changes],
                "differences": [change_plain(ch, self.kb, lang) for ch in diffs],
                "lines": what_if_lines(self.kb, diffs, changes, lang),
                "case": case_data_of(after_case, self.kb), "disclaimer": after.disclaimer}

    def session(self, scenario: Scenario, skipped: list[tuple[str, str]], lang: str, engine: str | None = None) -> Any:
        """A consultation over the case whose result is computed by a worker."""
        from ..workflows.consult import Consultation

        name = self.engine_for(engine)
        return Consultation(self.rb, scenario, name, lang, skipped=set(skipped), _result=self.result(scenario, name))

    def next_questions(self, scenario: Scenario, skipped: list[tuple[str, str]], lang: str,
                       engine: str | None = None, limit: int | None = None) -> dict[str, Any]:
        """The interview's open questions on the case, ranked."""
        session = self.session(scenario, skipped, lang, engine)
        result = session.result()
        qs = session.candidates()
        return {"questions": [question_plain(q, result, lang) for q in qs[:limit]], "done": not qs,
                "open": len(qs), "counts": {s: len(result.by_status(s)) for s in ("holds", "undetermined", "defeated")},
                "disclaimer": result.disclaimer}

    # ---- the rule base ----------------------------------------------------------------------------
    def rules_list(self, lang: str = "en") -> list[dict[str, Any]]:
        """Every rule version as plain data."""
        out = []
        for r in sorted(self.rb.rules, key=lambda r: r.uid):
            out.append({"uid": r.uid, "id": r.id, "version": r.version, "title": dict(r.title),
                        "citations": list(r.cite), "excerpt": dict(r.excerpt), "assumption": dict(r.assumption),
                        "valid_from": r.valid_from.isoformat() if r.valid_from else None,
                        "valid_to": r.valid_to.isoformat() if r.valid_to else None,
                        "amended_by": r.amended_by or None,
                        "concludes": sorted({h.type for h in r.then}),
                        "defeats": sorted({d.target for d in r.defeats})})
        return out

    def rule(self, rule_id: str) -> list[Any]:
        """The versions of a rule (by id or id@version); 404 when there is none."""
        found = [r for r in self.rb.rules if r.id == rule_id or r.uid == rule_id]
        if not found:
            raise ApiError(404, "unknown-rule", f"no rule '{rule_id}'" + (
                f" ({suggest(rule_id, {r.id for r in self.rb.rules})})" if suggest(rule_id, {r.id for r in self.rb.rules})
                else ""))
        return sorted(found, key=lambda r: (r.valid_from or _dt.date.min, r.version))

    def article(self, ref: str, lang: str = "en") -> dict[str, Any]:
        """An article as plain data (``act/article[/part]``); 404 when there is none."""
        bits = [b for b in ref.strip("/").replace(".", "/").split("/") if b]
        key = "/".join(bits[:2])
        art = self.kb.articles.get(key)
        if art is None:
            hint = suggest(key, self.kb.articles)
            raise ApiError(404, "unknown-article", f"no article '{ref}'" + (f" ({hint})" if hint else ""))
        act = self.kb.acts.get(art.act)
        rules = sorted({r.uid for r in self.rb.rules if any("/".join(c.split("/")[:2]) == key for c in r.cite)})
        return {"id": key, "act": art.act, "act_title": dict(act.title) if act else {},
                "act_short": dict(act.short) if act and act.short else {}, "number": art.number,
                "title": dict(art.title), "text": dict(art.text),
                "parts": {n: {"text": dict(p.text), "items": list(p.items)} for n, p in art.parts.items()},
                "source": art.source, "last_checked": art.last_checked.isoformat() if art.last_checked else None,
                "in_force_from": art.in_force_from.isoformat() if art.in_force_from else None,
                "in_force_to": art.in_force_to.isoformat() if art.in_force_to else None,
                "amended_by": list(art.amended_by), "encoded": art.encoded, "rules": rules,
                "part": bits[2] if len(bits) > 2 else None}

    def conclusion_types(self, lang: str = "en") -> list[dict[str, Any]]:
        """The conclusion types as plain data."""
        return [{"type": ft.name, "kind": ft.kind, "title": dict(ft.title),
                 "attributes": [{"name": a.name, "type": a.type, "values": list(a.values)} for a in ft.attributes.values()]}
                for ft in self.kb.types.values() if ft.kind != "entity"]

    def case_schema(self) -> dict[str, Any]:
        """The JSON Schema of case files (generated once)."""
        if self._schema is None:
            from .schema import case_schema

            self._schema = case_schema(self.kb)
        return self._schema

    def health(self) -> dict[str, Any]:
        """The server's state for ``/v1/health``."""
        kb = self.kb
        return {"status": "ok", "rulebase": self.rb.fingerprint, "name": kb.name,
                "encoded_up_to": kb.encoded_up_to.isoformat() if kb.encoded_up_to else None, "engine": self.engine,
                "eval_workers": self.pool.size, "restarts": self.pool.restarts}

    # ---- documents ----------------------------------------------------------------------------------
    def memo(self, scenario: Scenario, lang: str, engine: str | None = None) -> str:
        """The memo of a case (HTML), made by a worker."""
        html: str = self.run("memo", self._portable(scenario), self.engine_for(engine), lang)
        return html

    def memo_pdf(self, scenario: Scenario, lang: str, engine: str | None = None) -> bytes:
        """The memo of a case as a PDF, made by a worker; 501 where WeasyPrint is missing."""
        # laying out a memo of some 20 pages takes WeasyPrint several seconds more than the analysis
        data = self.run("memo_pdf", self._portable(scenario), self.engine_for(engine), lang, time_factor=3.0)
        if isinstance(data, str):
            raise ApiError(501, "pdf-unavailable", data)
        return bytes(data)

    def render(self, dot: str, fmt: str = "svg") -> bytes | None:
        """DOT text drawn by Graphviz in a worker (None without Graphviz)."""
        data: bytes | None = self.run("render", dot, fmt)
        return data
