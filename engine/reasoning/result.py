"""The result of analysing one case: conclusions with status, built from the typed trace.

A :class:`Result` is assembled from a :class:`~.provenance.Trace` and the rule base's
:class:`~.tracing.Catalog` and holds no reference to the engine. Its JSON form
(``schema_version`` 2, docs/json-schema.md) is lossless: :meth:`Result.from_json` of a saved
analysis or batch record gives back an equal result that every view can use. The JSON is
deterministic: every list is sorted, ids are content hashes, nothing depends on the order in
which facts or rule files were read, nor on the engine (except the ``engine`` field).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import Diagnostic, InputError, Location
from ..language.intervals import Interval, format_interval, is_interval_json
from ..language.kb import CASE_TYPE
from .provenance import (REPORTED_KINDS, Bound, BranchInfo, CaseSearch, Catalog, Derivation, Mode, Role, RuleInfo, Status,
                         Trace, TraceFact, Unknown, from_plain, to_plain)

__all__ = [
    "Result",
    "Conclusion",
    "Dependency",
    "DefeatRef",
    "OpenPoint",
    "ByCases",
    "CaseStatus",
    "OpenQuestion",
    "rebuild_with_cases",
    "ReportableType",
    "Conflict",
    "AssumptionNote",
    "VersionUse",
    "ParameterUse",
    "RulebaseInfo",
    "build_result",
    "load_result",
    "SCHEMA_VERSION",
    "REPORTED_KINDS",
    "STATUSES",
    "format_value",
]

SCHEMA_VERSION = 2
STATUSES = tuple(Status)
OUTCOME_KINDS = ("liability", "remedy", "action")  # what the user acts on


def format_value(v: Any) -> str:
    """A value as the reports print it: yes/no, thousands separators, ISO dates."""
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return ", ".join(format_value(x) for x in v)
    if isinstance(v, dict) and is_interval_json(v):
        return format_interval(v)
    if isinstance(v, Interval):
        return format_interval(v.to_json())
    return str(v)


# ---- the records of a result -------------------------------------------------------------------


@dataclass(frozen=True)
class Dependency:
    """An unknown attribute a conclusion depends on, with the question that would settle it."""

    fact: str
    attribute: str
    question: dict[str, str]


@dataclass(frozen=True)
class DefeatRef:
    """The exception (a rule) that withdrew a conclusion."""

    rule: str
    citations: tuple[str, ...]
    title: dict[str, str]


@dataclass(frozen=True)
class OpenPoint:
    """An unknown attribute and the conclusion types whose status hangs on it.

    ``decides`` names the undetermined conclusions that depend on it (their ids), ``order`` is
    the attribute's place in the vocabulary (ties in the ranking of questions), ``askable``
    whether the vocabulary gives it a question (or it is one of the case's dates)."""

    fact: str
    attribute: str
    question: dict[str, str]
    affects: tuple[str, ...]
    decides: tuple[str, ...] = ()
    order: int = 0
    askable: bool = True


@dataclass(frozen=True)
class CaseStatus:
    """A conclusion's status in one case of a case split (``leaf``: the case's id in
    ``trace.cases.leaves``)."""

    leaf: int
    status: Status


@dataclass(frozen=True)
class ByCases:
    """How deciding by cases settled (or did not settle) an undetermined conclusion: the
    unknowns split while it was open (``over``), the rules split on whether they apply
    (``rules``: an application whose own tests a range leaves open, such as an exception), its
    status in each case that ended a branch of the search, whether every case was explored
    (``complete``: no bound cut it short), and the conclusions taken as given when it was
    decided (``given``: each shown before to hold in every case, so the cases then evaluated
    start from it)."""

    over: tuple[Unknown, ...]
    cases: tuple[CaseStatus, ...]
    complete: bool
    rules: tuple[str, ...] = ()  # rules split on whether they apply (their own tests undecided)
    given: tuple[str, ...] = ()  # conclusions taken as given, having been shown to hold in every case


@dataclass(frozen=True)
class OpenQuestion:
    """A question the case leaves open, ranked: the open point, the undetermined conclusions
    it decides (shown ones, or all with ``everything``), and how many."""

    point: OpenPoint
    conclusions: tuple[str, ...]
    settles: int


@dataclass(frozen=True)
class ReportableType:
    """A conclusion type that does not hold in this case, with the rules that could give it."""

    type: str
    kind: str
    title: dict[str, str]
    rules: tuple[str, ...]
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Conflict:
    """Two live conclusions the vocabulary declares contradictory, with no exception between them."""

    status: Status
    conclusions: tuple[str, ...]
    types: tuple[str, ...]
    rules: tuple[str, ...]
    citations: tuple[str, ...]


@dataclass(frozen=True)
class AssumptionNote:
    """An assumption a rule that applied makes where the law is unsettled."""

    rule: str
    text: dict[str, str]
    citations: tuple[str, ...]


@dataclass(frozen=True)
class VersionUse:
    """A dated rule version in force for the case, and whether it applied."""

    rule: str
    version: str
    valid_from: str | None
    valid_to: str | None
    amended_by: str | None
    applied: bool


@dataclass(frozen=True)
class ParameterUse:
    """A dated parameter value the analysis read."""

    name: str
    date: str
    value: Any
    source: str
    title: dict[str, str]


@dataclass(frozen=True)
class RulebaseInfo:
    """Which rule base produced the result."""

    fingerprint: str
    encoded_up_to: str
    name: str


@dataclass
class Conclusion:
    """A derived fact with its status, explanation, law and provenance."""

    id: str
    type: str
    kind: str
    status: Status
    title: dict[str, str]
    attributes: dict[str, Any]
    explanation: dict[str, str]
    citations: list[str]
    rules: list[str]
    depends_on: list[Dependency] = field(default_factory=list)
    defeated_by: list[DefeatRef] = field(default_factory=list)
    derivations: list[str] = field(default_factory=list)
    by_cases: ByCases | None = None
    relevant: bool = True

    @property
    def fid(self) -> str:
        """The id of the conclusion's fact (the same as ``id``)."""
        return self.id


@dataclass
class Result:
    """One analysed case. ``conclusions`` are ordered by kind, status, type and attributes."""

    case_id: str
    case_title: str
    dates: dict[str, Any]
    perspective: str | None
    engine: str
    rulebase: RulebaseInfo
    disclaimer: str
    conclusions: list[Conclusion]
    does_not_hold: list[ReportableType]
    conflicts: list[Conflict]
    undetermined: list[OpenPoint]
    assumptions: list[AssumptionNote]
    versions: list[VersionUse]
    parameters: list[ParameterUse]
    trace: Trace

    # ---- queries ---------------------------------------------------------------------------
    @property
    def facts(self) -> list[TraceFact]:
        """The facts the case states, in id order."""
        return [f for f in self.trace.facts.values() if f.role == Role.INPUT]

    @property
    def derivations(self) -> tuple[Derivation, ...]:
        """Every derivation of the trace."""
        return self.trace.derivations

    def fact(self, fid: str) -> TraceFact | None:
        """The fact ``fid`` of the trace (stated or derived), or None."""
        return self.trace.facts.get(fid)

    def conclusion(self, fid: str) -> Conclusion | None:
        """The conclusion about fact ``fid``, or None."""
        index: dict[str, Conclusion] | None = self.__dict__.get("_by_id")
        if index is None:
            index = self.__dict__["_by_id"] = {c.id: c for c in self.conclusions}
        return index.get(fid)

    def best_derivation(self, fid: str) -> Derivation | None:
        """The derivation that explains ``fid`` best (for a defeated one, the withdrawn one)."""
        did = self.trace.best.get(fid)
        return self.trace.derivation(did) if did else None

    def by_kind(self) -> list[tuple[str, list[Conclusion]]]:
        """Reported conclusions grouped by kind, in report order; steps by their 'order'."""
        out = []
        for kind in REPORTED_KINDS:
            items = [c for c in self.conclusions if c.kind == kind]
            if kind == "action":
                items.sort(key=lambda c: (str(c.attributes.get("use")), c.attributes.get("order", 0)))
            if items:
                out.append((kind, items))
        return out

    def by_status(self, status: str) -> list[Conclusion]:
        """The conclusions with ``status``, in report order."""
        return [c for c in self.conclusions if c.status == status]

    def known_types(self) -> set[str]:
        """Every conclusion type the rule base can report, derived here or not."""
        return {c.type for c in self.conclusions} | {d.type for d in self.does_not_hold}

    def find(self, tname: str, **attrs: Any) -> list[Conclusion]:
        """Conclusions of ``tname`` whose attributes include ``attrs`` (values compared as text).

        Raises ``KeyError`` for a type the rule base cannot report."""
        if tname not in self.known_types():
            from ..errors import suggest

            hint = suggest(tname, sorted(self.known_types()))
            raise KeyError(f"unknown conclusion type '{tname}'" + (f" ({hint})" if hint else ""))

        def same(a: Any, b: Any) -> bool:
            b = b.isoformat() if isinstance(b, _dt.date) else b
            return a == b or (a is not None and str(a) == str(b))

        return [c for c in self.conclusions if c.type == tname
                and all(same(c.attributes.get(k), v) for k, v in attrs.items())]

    def select(self, tname: str, attrs: dict[str, str]) -> list[Conclusion]:
        """Conclusions of ``tname`` whose attributes read as ``attrs`` (text, any case): the
        matching of a conclusion named on the command line, ``TYPE(attr=value)``."""
        def matches(c: Conclusion) -> bool:
            for k, v in attrs.items():
                have = c.attributes.get(k)
                if have is None or str(json.dumps(have) if isinstance(have, bool) else have).lower() != v.lower():
                    return False
            return True

        return [c for c in self.conclusions if c.type == tname and matches(c)]

    # ---- what the reader sees: relevance and the questions, ranked -------------------------------
    def open_questions(self, everything: bool = False) -> list[OpenQuestion]:
        """The questions the case leaves open, the most decisive first: for each unknown, the
        undetermined conclusions it decides — those the report shows (``relevant``), or all of
        them with ``everything`` — ranked by how many (then the vocabulary's order, then the
        fact and attribute). A question that decides nothing shown is left out. This is the one
        ranking of questions: the report groups its open points by it and ``consult`` asks in
        its order."""
        shown = {c.id for c in self.conclusions if c.status == Status.UNDETERMINED and (everything or c.relevant)
                 and c.kind in REPORTED_KINDS}
        out = []
        for p in self.undetermined:
            ids = tuple(i for i in p.decides if i in shown)
            if ids:
                out.append(OpenQuestion(p, ids, len(ids)))
        out.sort(key=lambda q: (-q.settles, q.point.order, q.point.fact, q.point.attribute))
        return out

    def undetermined_groups(self, everything: bool = False) -> list[tuple[OpenQuestion | None, list[Conclusion]]]:
        """The undetermined conclusions the report shows (all with ``everything``), each under
        the most decisive question that decides it (:meth:`open_questions`), the groups in
        that order; conclusions no question of the case decides come last, under None."""
        questions = self.open_questions(everything)
        rank = {(q.point.fact, q.point.attribute): i for i, q in enumerate(questions)}
        groups: dict[int, list[Conclusion]] = {}
        for c in self.conclusions:
            if c.status != Status.UNDETERMINED or c.kind not in REPORTED_KINDS or not (everything or c.relevant):
                continue
            ranks = [rank[(d.fact, d.attribute)] for d in c.depends_on if (d.fact, d.attribute) in rank]
            groups.setdefault(min(ranks) if ranks else len(questions), []).append(c)
        return [(questions[i] if i < len(questions) else None, groups[i]) for i in sorted(groups)]

    def hidden_points(self) -> list[Conclusion]:
        """The undetermined conclusions the report does not show by default: no outcome still
        open hangs on them, or they are about someone the case does not name (``relevant``)."""
        return [c for c in self.conclusions if c.status == Status.UNDETERMINED and c.kind in REPORTED_KINDS
                and not c.relevant]

    def status_of(self, tname: str, **attrs: Any) -> str:
        """The best status of any conclusion of ``tname`` matching ``attrs``."""
        found = self.find(tname, **attrs)
        for s in STATUSES:
            if any(c.status == s for c in found):
                return s.value
        return Status.DOES_NOT_HOLD.value

    # ---- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The result as JSON data (docs/json-schema.md), the trace included."""
        derived = {k: to_plain(f) for k, f in self.trace.facts.items() if f.role != Role.INPUT}
        return {
            "schema_version": SCHEMA_VERSION,
            "case": {"id": self.case_id, "title": self.case_title, "dates": self.dates,
                     "perspective": self.perspective},
            "engine": self.engine,
            "rulebase": to_plain(self.rulebase),
            "disclaimer": self.disclaimer,
            "facts": [{"id": f.id, "type": f.type, "attributes": f.attributes} for f in self.facts],
            "conclusions": [to_plain(c) for c in self.conclusions],
            "does_not_hold": to_plain(self.does_not_hold),
            "conflicts": to_plain(self.conflicts),
            "undetermined": to_plain(self.undetermined),
            "assumptions": to_plain(self.assumptions),
            "versions": to_plain(self.versions),
            "parameters": to_plain(self.parameters),
            "derivations": to_plain(self.trace.derivations),
            "trace": {"facts": derived, "rules": to_plain(self.trace.rules),
                      "branches": to_plain(self.trace.branches), "best": dict(self.trace.best),
                      "bounds": to_plain(self.trace.bounds), "cases": to_plain(self.trace.cases)},
        }

    def to_json_text(self) -> str:
        """:meth:`to_json` as indented text with sorted keys, ending in a newline."""
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> Result:
        """The result a JSON document (``to_json`` / ``analyze --format json`` / a full batch
        record) describes. Raises ``ValueError`` when it is not such a document."""
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, dict):
            raise ValueError("a result is a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r}: this version of kzcopyright reads schema_version "
                             f"{SCHEMA_VERSION} (re-run the analysis to get it)")
        try:
            case = data["case"]
            tr = data["trace"]
            facts = {f["id"]: TraceFact(f["id"], f["type"], Role.INPUT, Mode.CERTAIN, dict(f["attributes"]))
                     for f in data["facts"]}
            facts.update(from_plain(dict[str, TraceFact], tr["facts"]))
            trace = Trace(dict(sorted(facts.items())), from_plain(tuple[Derivation, ...], data["derivations"]),
                          from_plain(dict[str, RuleInfo], tr["rules"]), from_plain(dict[str, BranchInfo], tr["branches"]),
                          dict(tr["best"]), from_plain(tuple[Bound, ...], tr.get("bounds", [])),
                          from_plain(CaseSearch | None, tr.get("cases")))
            return cls(
                case_id=case["id"], case_title=case["title"], dates=dict(case["dates"]),
                perspective=case.get("perspective"), engine=data["engine"],
                rulebase=from_plain(RulebaseInfo, data["rulebase"]), disclaimer=data["disclaimer"],
                conclusions=from_plain(list[Conclusion], data["conclusions"]),
                does_not_hold=from_plain(list[ReportableType], data["does_not_hold"]),
                conflicts=from_plain(list[Conflict], data["conflicts"]),
                undetermined=from_plain(list[OpenPoint], data["undetermined"]),
                assumptions=from_plain(list[AssumptionNote], data["assumptions"]),
                versions=from_plain(list[VersionUse], data["versions"]),
                parameters=from_plain(list[ParameterUse], data["parameters"]),
                trace=trace,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a kzcopyright result: missing or malformed {exc}") from None


def load_result(path: str, case_id: str | None = None) -> Result:
    """A saved result: a file written by ``analyze --format json``, or a JSON Lines file of
    full batch records (``case_id`` picks the record; it may be omitted for a single one).
    Raises :class:`InputError` located at the file (and line) for anything else."""
    from pathlib import Path

    def fail(msg: str, line: int = 0, hint: str = "") -> InputError:
        return InputError([Diagnostic(Location(str(path), line, 0), "bad-result", msg, "-", hint)])

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read the saved result: {getattr(exc, 'strerror', None) or exc}") from None
    docs: list[tuple[int, Any]] = []
    try:
        docs = [(1, json.loads(text))]
    except (json.JSONDecodeError, RecursionError):
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    docs.append((n, json.loads(line)))
                except (json.JSONDecodeError, RecursionError) as exc:
                    raise fail(f"invalid JSON: {exc}", n) from None
    records = [(n, d) for n, d in docs if isinstance(d, dict) and "error" not in d]
    if case_id is not None:
        records = [(n, d) for n, d in records if isinstance(d.get("case"), dict) and d["case"].get("id") == case_id]
        if not records:
            ids = sorted(str(d["case"].get("id")) for _, d in docs if isinstance(d, dict) and isinstance(d.get("case"), dict))
            from ..errors import suggest

            raise fail(f"no result for case '{case_id}' in the file", hint=suggest(case_id, ids) or
                       ("cases: " + ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")))
    if len(records) != 1:
        raise fail(f"the file holds {len(records)} results; choose one with --id CASE_ID" if records
                   else "the file holds no result")
    n, doc = records[0]
    try:
        return Result.from_json(doc)
    except ValueError as exc:
        raise fail(str(exc), n) from None


# ---- building a result from a trace ------------------------------------------------------------


def _render(template: str, values: dict[str, Any], lang: str = "en") -> str:
    from ..i18n import format_value as local_value

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in values and values[name] is not None:
            return local_value(values[name], lang)
        return "(unknown)"

    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, template)


class _Builder:
    def __init__(self, trace: Trace, catalog: Catalog):
        self.trace = trace
        self.catalog = catalog
        self.kb = catalog.kb
        self.facts = trace.facts
        self.live_by: dict[str, list[Derivation]] = {}  # fact (or record) -> live derivations producing it
        for d in trace.derivations:
            if not d.defeated:
                for fid in d.conclusions + d.records:
                    self.live_by.setdefault(fid, []).append(d)
        self._deps: dict[str, set[tuple[str, str]]] = {}

    def certain(self, fid: str) -> bool:
        f = self.facts.get(fid)
        return f is not None and f.mode == Mode.CERTAIN

    def depends(self, fid: str, stack: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
        """The unknown input attributes a possible-but-not-certain fact depends on."""
        if fid in self._deps:
            return self._deps[fid]
        if self.certain(fid) or fid in stack:
            return set()
        out: set[tuple[str, str]] = set()
        stack = stack | {fid}
        for d in self.live_by.get(fid, []):
            if d.mode == Mode.POSSIBLE:
                out |= self.derivation_deps(d, stack)
        self._deps[fid] = out
        return out

    def derivation_deps(self, d: Derivation, stack: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for u in d.assumptions:
            f = self.facts.get(u.fact)
            if f is not None and f.role == Role.INPUT:
                out.add((u.fact, u.attribute))
            else:
                out |= self.depends(u.fact, stack)
                out |= self.range_deps(u.fact, u.attribute, stack)
        for p in d.premises:
            if not self.certain(p):
                out |= self.depends(p, stack)
        for b in d.blockers:
            out |= self.depends(b, stack)
        return out

    def range_deps(self, fid: str, attr: str, stack: frozenset[str]) -> set[tuple[str, str]]:
        """The input attributes a derived range (``fid.attr``) was computed from: what would
        narrow it."""
        key = f"{fid}.{attr}"
        if key in stack:
            return set()
        out: set[tuple[str, str]] = set()
        for d in self.live_by.get(fid, []):
            for src in d.sources:
                if src.conclusion != fid or src.attribute != attr:
                    continue
                for u in src.inputs:
                    f = self.facts.get(u.fact)
                    if f is not None and f.role == Role.INPUT:
                        out.add((u.fact, u.attribute))
                    else:
                        out |= self.range_deps(u.fact, u.attribute, stack | {key})
                        out |= self.depends(u.fact, stack | {key})
        return out

    def question(self, fid: str, attr: str) -> dict[str, str]:
        fact = self.facts.get(fid)
        t = self.kb.types.get(fact.type) if fact else None
        if t is None:
            return {}
        a = t.attributes.get(attr)
        if a is None:
            return {}
        return dict(a.question) if a.question else {"en": f"{t.title.get('en', t.name)}: {attr}?"}

    def explanation(self, d: Derivation, fact: TraceFact) -> dict[str, str]:
        rule = self.trace.rules[d.rule]
        values = dict(d.bindings)
        values.update(fact.attributes)
        return {lang: _render(t, values, lang) for lang, t in sorted(rule.because.items())}

    def conclusion(self, fact: TraceFact, status: Status, derivations: list[Derivation]) -> Conclusion:
        t = self.kb.types[fact.type]
        rules = sorted({d.rule for d in derivations})
        cites: list[str] = []
        for r_uid in rules:
            for c in self.trace.rules[r_uid].citations:
                if c not in cites:
                    cites.append(c)
        best = self.trace.derivation(self.trace.best[fact.id]) if fact.id in self.trace.best else None
        expl = self.explanation(best, fact) if best else {}
        deps: list[Dependency] = []
        if status == Status.UNDETERMINED:
            deps = [Dependency(f, a, self.question(f, a)) for f, a in sorted(self.depends(fact.id))]
        return Conclusion(
            id=fact.id, type=fact.type, kind=t.kind, status=status, title=dict(t.title),
            attributes=dict(sorted(fact.attributes.items())), explanation=expl, citations=sorted(cites), rules=rules,
            depends_on=deps, derivations=sorted(d.id for d in derivations),
        )

    def build(self, case: dict[str, Any], engine: str, fingerprint: str) -> Result:
        kb, trace = self.kb, self.trace
        conclusions: list[Conclusion] = []
        defeated: dict[str, list[Derivation]] = {}
        for d in trace.derivations:
            if d.defeated:
                for fid in d.conclusions:
                    defeated.setdefault(fid, []).append(d)
        for fid, fact in trace.facts.items():
            if fact.role != Role.DERIVED:
                continue
            t = kb.types.get(fact.type)
            if t is None or t.kind == "entity":
                continue
            if fact.mode is None:
                c = self.conclusion(fact, Status.DEFEATED, defeated.get(fid, []))
                by: dict[str, DefeatRef] = {}
                for d in defeated.get(fid, []):
                    for r_uid in d.defeated_by:
                        r = trace.rules.get(r_uid)
                        by[r_uid] = DefeatRef(r_uid, r.citations if r else (), dict(r.title) if r else {})
                c.defeated_by = [by[k] for k in sorted(by)]
            else:
                status = Status.HOLDS if fact.mode == Mode.CERTAIN else Status.UNDETERMINED
                ds = [d for d in self.live_by.get(fid, []) if status == Status.UNDETERMINED or d.mode == Mode.CERTAIN]
                c = self.conclusion(fact, status, ds)
            conclusions.append(c)
        self.sort(conclusions)
        self.relevance(conclusions)
        present = {c.type for c in conclusions if c.status in (Status.HOLDS, Status.UNDETERMINED)}
        used_rules = {d.rule for d in trace.derivations}
        params: dict[tuple[str, str], ParameterUse] = {}
        for d in trace.derivations:
            for p in d.parameters:
                params[(p.name, p.date)] = ParameterUse(p.name, p.date, p.value, p.source,
                                                        dict(kb.parameters[p.name].title))
        assumptions = [AssumptionNote(uid, *self.catalog.assumptions[uid]) for uid in sorted(used_rules)
                       if uid in self.catalog.assumptions]
        case_fact = case["case_fact"]
        if case_fact is not None and case_fact.get("assessment_date_assumed") is True:
            day = case_fact.get("assessment_date")
            from ..i18n import LANGS, format_value as local_value, msg

            assumptions.insert(0, AssumptionNote("", {
                lang: msg("result", "assessment-date-assumed", lang, day=local_value(day, lang)) for lang in LANGS}, ()))
        up_to = kb.encoded_up_to.isoformat() if kb.encoded_up_to else "unknown"
        return Result(
            case_id=case["id"], case_title=case["title"], dates=case["dates"], perspective=case["perspective"],
            engine=engine, rulebase=RulebaseInfo(fingerprint, up_to, kb.name),
            disclaimer=f"Not legal advice; law as encoded up to {up_to}.",
            conclusions=conclusions, does_not_hold=self.does_not_hold(present), conflicts=self.conflicts(conclusions),
            undetermined=self.open_points(conclusions),
            assumptions=assumptions, versions=self.versions(case["case_fact"], used_rules),
            parameters=[params[k] for k in sorted(params)], trace=trace,
        )

    def relevance(self, conclusions: list[Conclusion]) -> None:
        """Mark which undetermined conclusions the report shows (``relevant``): an outcome the
        user acts on (a remedy, a liability, a step) that is still open, and every conclusion
        such an outcome hangs on (a premise, or an exception that might apply, of one of its
        possible derivations) — provided it is about what the case contains: each reference it
        must have names an entity of the case. The rest can no longer change what the user is
        told; the report counts them in one line."""
        support: set[str] = set()
        for c in conclusions:
            if c.status == Status.UNDETERMINED and c.kind in OUTCOME_KINDS and self.about_case(c):
                support |= self.support(c.id)
        for c in conclusions:
            c.relevant = c.status != Status.UNDETERMINED or (
                c.kind in REPORTED_KINDS and c.id in support and self.about_case(c))

    def about_case(self, c: Conclusion) -> bool:
        t = self.kb.types.get(c.type)
        for name, a in (t.attributes.items() if t else ()):
            if a.type != "ref":
                continue
            v = c.attributes.get(name)
            if v is None:
                if a.required:
                    return False  # about someone the case does not name
                continue
            f = self.facts.get(f"{a.to}:{v}")
            if f is None or f.role != Role.INPUT:
                return False
        return True

    def support(self, fid: str, stack: frozenset[str] = frozenset()) -> set[str]:
        """``fid`` and the possible facts its possible derivations rest on."""
        cache: dict[str, set[str]] = self.__dict__.setdefault("_support", {})
        if fid in cache:
            return cache[fid]
        out = {fid}
        if fid in stack or self.certain(fid):
            return out
        stack = stack | {fid}
        for d in self.live_by.get(fid, []):
            if d.mode != Mode.POSSIBLE:
                continue
            for p in d.premises + d.blockers:
                if not self.certain(p):
                    out |= self.support(p, stack)
            for u in d.assumptions:
                f = self.facts.get(u.fact)
                if f is not None and f.role != Role.INPUT:
                    out |= self.support(u.fact, stack)
        cache[fid] = out
        return out

    def sort(self, conclusions: list[Conclusion]) -> None:
        """In report order: by kind, status, type, then attributes in the vocabulary's order."""
        kb = self.kb
        order = {s: i for i, s in enumerate(STATUSES)}
        kind_order = {k: i for i, k in enumerate(REPORTED_KINDS + ("intermediate",))}

        def attr_key(c: Conclusion) -> tuple[tuple[int, str], ...]:
            # attributes in the vocabulary's declared order: parts 1, 2, 3; steps by their order
            out = []
            for name in kb.types[c.type].attributes:
                v = c.attributes.get(name)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out.append((1, f"{v:030.6f}"))
                else:
                    out.append((0, "") if v is None else (1, json.dumps(v, ensure_ascii=False, sort_keys=True)))
            return tuple(out)

        conclusions.sort(key=lambda c: (kind_order.get(c.kind, 9), order[c.status], c.type, attr_key(c), c.id))

    def open_points(self, conclusions: list[Conclusion]) -> list[OpenPoint]:
        """Every unknown some undetermined conclusion depends on, with the conclusions it decides."""
        points: dict[tuple[str, str], tuple[dict[str, str], set[str], list[str]]] = {}
        for c in conclusions:
            if c.status == Status.UNDETERMINED:
                for dep in c.depends_on:
                    entry = points.setdefault((dep.fact, dep.attribute), (dep.question, set(), []))
                    entry[1].add(c.type)
                    entry[2].append(c.id)
        return [OpenPoint(f, a, q, tuple(sorted(types)), tuple(sorted(set(ids))), *self.place(f, a))
                for (f, a), (q, types, ids) in sorted(points.items())]

    def place(self, fid: str, attr: str) -> tuple[int, bool]:
        """(the attribute's position in the vocabulary, whether it has a question to ask)."""
        order: dict[tuple[str, str], int] | None = self.catalog.__dict__.get("_vocab_order")
        if order is None:
            order = {}
            for t in self.kb.types.values():
                for a in t.attributes:
                    order[(t.name, a)] = len(order)
            object.__setattr__(self.catalog, "_vocab_order", order)
        fact = self.facts.get(fid)
        tname = fact.type if fact else ""
        t = self.kb.types.get(tname)
        a = t.attributes.get(attr) if t else None
        return order.get((tname, attr), 10**6), bool(a is not None and (a.question or tname == CASE_TYPE))

    def does_not_hold(self, present: set[str]) -> list[ReportableType]:
        """The reportable types not present: the few present ones are cut out of the shared,
        sorted list by slicing, so a large rule base costs a list copy, not a loop."""
        pos = self.catalog.reportable_pos
        # one (frozen) entry per type for every result of the program, made on first use
        entries: list[ReportableType] | None = self.catalog.__dict__.get("_not_holding")
        if entries is None:
            entries = [ReportableType(e.type, e.kind, e.title, e.rules, e.citations) for e in self.catalog.reportable]
            object.__setattr__(self.catalog, "_not_holding", entries)
        cuts = sorted(pos[t] for t in present if t in pos)
        out: list[ReportableType] = []
        start = 0
        for i in cuts:
            out += entries[start:i]
            start = i + 1
        out += entries[start:]
        return out

    def versions(self, case_fact: TraceFact | None, used: set[str]) -> list[VersionUse]:
        out = []
        for rs in self.catalog.dated:
            for r in rs:
                day = case_fact.get(r.date_attr) if case_fact is not None and r.date_attr else None
                in_force = isinstance(day, str) and r.in_force(_dt.date.fromisoformat(day))
                if r.uid in used or in_force:
                    out.append(VersionUse(r.id, r.version, r.valid_from.isoformat() if r.valid_from else None,
                                          r.valid_to.isoformat() if r.valid_to else None, r.amended_by or None,
                                          r.uid in used))
        return out

    def conflicts(self, conclusions: list[Conclusion]) -> list[Conflict]:
        out: dict[tuple[str, ...], Conflict] = {}
        live = [c for c in conclusions if c.status in (Status.HOLDS, Status.UNDETERMINED)]
        for c in live:
            for other, on in self.kb.types[c.type].contradicts:
                for d in live:
                    if d.type == other and all(c.attributes.get(a) == d.attributes.get(a) for a in on):
                        status = Status.HOLDS if c.status == d.status == Status.HOLDS else Status.UNDETERMINED
                        key = tuple(sorted((c.id, d.id)))
                        out[key] = Conflict(status, (c.id, d.id), (c.type, d.type), tuple(sorted(set(c.rules + d.rules))),
                                            tuple(sorted(set(c.citations + d.citations))))
        return [out[k] for k in sorted(out)]


def build_result(trace: Trace, catalog: Catalog, *, case_id: str, case_title: str, engine: str,
                 fingerprint: str) -> Result:
    """The result of one case from its trace (the case's dates and perspective are read from
    the trace's ``case`` fact)."""
    case_fact = trace.facts.get("case:case")
    if case_fact is None or case_fact.type != CASE_TYPE:
        case_fact = next((f for f in trace.facts.values() if f.type == CASE_TYPE and f.role == Role.INPUT), None)
    case_t = catalog.kb.types.get(CASE_TYPE)
    dates = {k: v for k, v in (case_fact.attributes.items() if case_fact else ())
             if case_t is not None and k in case_t.attributes and case_t.attributes[k].type == "date"}
    case = {"id": case_id, "title": case_title, "dates": dict(sorted(dates.items())), "case_fact": case_fact,
            "perspective": case_fact.get("perspective") if case_fact else None}
    return _Builder(trace, catalog).build(case, engine, fingerprint)



def rebuild_with_cases(result: Result, outcomes: dict[str, tuple[Any, ...]], search: CaseSearch,
                       catalog: Catalog) -> Result:
    """``result`` with the outcome of deciding by cases (:mod:`.cases`): per conclusion id,
    (status, unknowns split, status per case, complete, unknowns that still matter, the
    attributes' values over the cases where it holds). The trace records the search."""
    import dataclasses

    trace = dataclasses.replace(result.trace, cases=search)
    b = _Builder(trace, catalog)
    conclusions = []
    for c in result.conclusions:
        out = outcomes.get(c.id)
        if out is None:
            conclusions.append(dataclasses.replace(c))  # a copy: relevance is marked anew
            continue
        status, over, rules, given, leaves, complete, decisive, merged = out
        c = dataclasses.replace(c, by_cases=ByCases(over, tuple(CaseStatus(i, Status(st)) for i, st in leaves),
                                                    complete, rules, given))
        if status == Status.UNDETERMINED:
            keep = {(d.fact, d.attribute) for d in c.depends_on}
            still = [v for v in decisive if b.facts.get(v[0]) is not None and b.facts[v[0]].role == Role.INPUT]
            if still:
                c.depends_on = [Dependency(f, a, b.question(f, a)) for f, a in sorted(set(still) | (keep & set(still)))]
        else:
            c.status = status
            c.depends_on = []
            if status == Status.HOLDS and merged:
                attrs = dict(c.attributes)
                for k, v in merged.items():
                    if k not in attrs or isinstance(attrs[k], dict):
                        attrs[k] = v
                c.attributes = dict(sorted(attrs.items()))
                best = trace.derivation(trace.best[c.id]) if c.id in trace.best else None
                fact = trace.facts.get(c.id)
                if best is not None and fact is not None:
                    c.explanation = b.explanation(best, dataclasses.replace(fact, attributes=c.attributes))
        conclusions.append(c)
    b.sort(conclusions)
    b.relevance(conclusions)
    present = {c.type for c in conclusions if c.status in (Status.HOLDS, Status.UNDETERMINED)}
    return dataclasses.replace(result, conclusions=conclusions, trace=trace, does_not_hold=b.does_not_hold(present),
                               conflicts=b.conflicts(conclusions), undetermined=b.open_points(conclusions))
