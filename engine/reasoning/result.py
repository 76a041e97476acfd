"""The result of analysing one case: conclusions with status, provenance, JSON form.

The JSON form (``schema_version`` 1) is documented in docs/json-schema.md. It is
deterministic: every list is sorted, ids are content hashes, nothing depends on the order
in which facts or rule files were read, nor on the engine (except the ``engine`` field).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .evaluate import L, U, EvalContext, Firing
from ..language.kb import CASE_TYPE, KB
from ..language.program import Program
from ..language.scenario import Fact
from ..language.values import json_value

__all__ = ["Result", "Conclusion", "build_result", "SCHEMA_VERSION", "REPORTED_KINDS", "format_value"]

SCHEMA_VERSION = 1
REPORTED_KINDS = ("conclusion", "liability", "remedy", "action")
STATUSES = ("holds", "undetermined", "defeated", "does_not_hold")


def format_value(v: Any) -> str:
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
    return str(v)


@dataclass
class Conclusion:
    fid: str
    type: str
    kind: str
    status: str
    title: dict[str, str]
    attributes: dict[str, Any]
    explanation: dict[str, str]
    citations: list[str]
    rules: list[str]
    depends_on: list[dict[str, Any]] = field(default_factory=list)
    defeated_by: list[dict[str, Any]] = field(default_factory=list)
    derivations: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.fid,
            "type": self.type,
            "kind": self.kind,
            "status": self.status,
            "title": self.title,
            "attributes": {k: json_value(v) for k, v in sorted(self.attributes.items())},
            "explanation": self.explanation,
            "citations": self.citations,
            "rules": self.rules,
            "depends_on": self.depends_on,
            "defeated_by": self.defeated_by,
            "derivations": self.derivations,
        }


@dataclass
class Result:
    case_id: str
    case_title: str
    engine: str
    rulebase: dict[str, Any]
    facts: list[dict[str, Any]]
    conclusions: list[Conclusion]
    does_not_hold: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    undetermined: list[dict[str, Any]]
    derivations: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    parameters: list[dict[str, Any]]
    assumptions: list[dict[str, Any]]
    disclaimer: str
    dates: dict[str, Any]
    perspective: str | None = None
    context: EvalContext | None = field(default=None, repr=False, compare=False)

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
        return [c for c in self.conclusions if c.status == status]

    def find(self, tname: str, **attrs: Any) -> list[Conclusion]:
        """Conclusions of ``tname`` whose attributes include ``attrs`` (values compared as text)."""
        ctx = self.context
        if ctx is not None:
            t = ctx.program.kb.types.get(tname)
            if t is None:
                raise KeyError(f"unknown conclusion type '{tname}'")
            for k in attrs:
                if k not in t.attributes:
                    raise KeyError(f"'{tname}' has no attribute '{k}'")

        def same(a: Any, b: Any) -> bool:
            a, b = json_value(a), json_value(b)
            return a == b or (a is not None and str(a) == str(b))

        return [c for c in self.conclusions if c.type == tname
                and all(same(c.attributes.get(k), v) for k, v in attrs.items())]

    def status_of(self, tname: str, **attrs: Any) -> str:
        """The best status of any conclusion of ``tname`` matching ``attrs``."""
        found = self.find(tname, **attrs)
        for s in STATUSES:
            if any(c.status == s for c in found):
                return s
        return "does_not_hold"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "case": {"id": self.case_id, "title": self.case_title, "dates": self.dates,
                     "perspective": self.perspective},
            "engine": self.engine,
            "rulebase": self.rulebase,
            "disclaimer": self.disclaimer,
            "facts": self.facts,
            "conclusions": [c.to_json() for c in self.conclusions],
            "does_not_hold": self.does_not_hold,
            "conflicts": self.conflicts,
            "undetermined": self.undetermined,
            "assumptions": self.assumptions,
            "versions": self.versions,
            "parameters": self.parameters,
            "derivations": self.derivations,
        }

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _render(template: str, values: dict[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in values and values[name] is not None:
            return format_value(values[name])
        return "(unknown)"

    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, template)


def _question(kb: KB, fact: Fact | None, attr: str) -> dict[str, str]:
    if fact is None:
        return {}
    t = kb.types.get(fact.type)
    if t is None:
        return {}
    a = t.attributes.get(attr)
    return dict(a.question) if a and a.question else ({"en": f"{t.title.get('en', t.name)}: {attr}?"} if a else {})


class _Builder:
    def __init__(self, ctx: EvalContext, engine: str, fingerprint: str):
        self.ctx = ctx
        self.program: Program = ctx.program
        self.kb = ctx.program.kb
        self.store = ctx.store
        self.engine = engine
        self.fingerprint = fingerprint
        self.firings = sorted(self.store.firings.values(), key=lambda f: (f.branch, f.mode, f.premises))
        self.produced_by: dict[str, list[Firing]] = {}
        for fr in self.firings:
            if not fr.defeated:
                for fid in fr.produced + fr.records:
                    self.produced_by.setdefault(fid, []).append(fr)
        self._deps: dict[str, set[tuple[str, str]]] = {}

    def firing_id(self, fr: Firing) -> str:
        return f"{fr.branch}|{fr.mode}|{','.join(fr.premises)}"

    def depends(self, fid: str, stack: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
        """The unknown input attributes a possible-but-not-certain fact depends on."""
        if fid in self._deps:
            return self._deps[fid]
        if fid in self.store.certain or fid in stack:
            return set()
        out: set[tuple[str, str]] = set()
        stack = stack | {fid}
        for fr in self.produced_by.get(fid, []):
            if fr.mode != U:
                continue
            out |= self.firing_deps(fr, stack)
        self._deps[fid] = out
        return out

    def firing_deps(self, fr: Firing, stack: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for f_id, attr in fr.assumptions:
            if f_id in self.store.facts and self.store.facts[f_id].type in self.kb.types and \
                    self.kb.types[self.store.facts[f_id].type].kind == "entity":
                out.add((f_id, attr))
            else:
                out |= self.depends(f_id, stack)
        for p in fr.premises:
            if p not in self.store.certain:
                out |= self.depends(p, stack)
        for b in fr.blockers:
            out |= self.depends(b, stack)
            if b in self.store.certain:
                pass
        return out

    def dep_json(self, deps: set[tuple[str, str]]) -> list[dict[str, Any]]:
        out = []
        for fid, attr in sorted(deps):
            fact = self.store.facts.get(fid)
            out.append({"fact": fid, "attribute": attr, "question": _question(self.kb, fact, attr)})
        return out

    def explanation(self, fr: Firing, fact: Fact) -> dict[str, str]:
        rule = self.program.branch(fr.branch).rule
        values = dict(fr.bindings)
        values.update(dict(fact.attrs))
        return {lang: _render(t, values) for lang, t in sorted(rule.because.items())}

    def conclusion(self, fact: Fact, status: str, firings: list[Firing]) -> Conclusion:
        t = self.kb.types[fact.type]
        rules = sorted({fr.rule for fr in firings})
        cites: list[str] = []
        for r_uid in rules:
            rule = self.program.branch(next(fr.branch for fr in firings if fr.rule == r_uid)).rule
            for c in rule.cite:
                if c not in cites:
                    cites.append(c)
        best = sorted(firings, key=lambda fr: (fr.mode != L, len(fr.assumptions), fr.branch, fr.premises))
        expl = self.explanation(best[0], fact) if best else {}
        deps: list[dict[str, Any]] = []
        if status == "undetermined":
            deps = self.dep_json(self.depends(fact.fid))
        return Conclusion(
            fid=fact.fid,
            type=fact.type,
            kind=t.kind,
            status=status,
            title=dict(t.title),
            attributes={k: v for k, v in fact.attrs},
            explanation=expl,
            citations=sorted(cites),
            rules=rules,
            depends_on=deps,
            derivations=sorted(self.firing_id(fr) for fr in firings),
        )

    def build(self) -> Result:
        kb = self.kb
        conclusions: list[Conclusion] = []
        for fid in sorted(self.store.possible):
            fact = self.store.facts[fid]
            t = kb.types.get(fact.type)
            if t is None or t.kind == "entity":
                continue
            status = "holds" if fid in self.store.certain else "undetermined"
            firings = [fr for fr in self.produced_by.get(fid, []) if status == "undetermined" or fr.mode == L]
            conclusions.append(self.conclusion(fact, status, firings))
        # defeated: would have been produced, but is not even possible
        defeated_firings: dict[str, list[Firing]] = {}
        for fr in self.firings:
            if fr.defeated:
                for fid in fr.produced:
                    if fid not in self.store.possible:
                        defeated_firings.setdefault(fid, []).append(fr)
        for fid, frs in sorted(defeated_firings.items()):
            fact = self.store.would_produce[fid]
            if fact.type not in kb.types:
                continue
            c = self.conclusion(fact, "defeated", frs)
            by: dict[str, dict[str, Any]] = {}
            for fr in frs:
                for b_uid in fr.defeated_by:
                    b = self.program.branch(b_uid)
                    by[b.rule.uid] = {"rule": b.rule.uid, "citations": list(b.rule.cite),
                                      "title": dict(b.rule.title)}
            c.defeated_by = [by[k] for k in sorted(by)]
            conclusions.append(c)
        order = {s: i for i, s in enumerate(STATUSES)}
        kind_order = {k: i for i, k in enumerate(REPORTED_KINDS + ("intermediate",))}
        def attr_key(c: Conclusion) -> tuple[tuple[int, str], ...]:
            # attributes in the vocabulary's declared order: parts 1, 2, 3; steps by their order
            out = []
            for name in kb.types[c.type].attributes:
                v = json_value(c.attributes.get(name))
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out.append((1, f"{v:030.6f}"))
                else:
                    out.append((0, "") if v is None else (1, json.dumps(v, ensure_ascii=False)))
            return tuple(out)

        conclusions.sort(key=lambda c: (kind_order.get(c.kind, 9), order[c.status], c.type, attr_key(c), c.fid))
        present_types = {c.type for c in conclusions if c.status in ("holds", "undetermined")}
        # shared, read-only entries (computed once per program)
        dnh = _does_not_hold(self.program, present_types)
        conflicts = self.conflicts(conclusions)
        undetermined_points: dict[tuple[str, str], dict[str, Any]] = {}
        for c in conclusions:
            if c.status != "undetermined":
                continue
            for d in c.depends_on:
                key = (d["fact"], d["attribute"])
                entry = undetermined_points.setdefault(key, {**d, "affects": []})
                if c.type not in entry["affects"]:
                    entry["affects"].append(c.type)
        for e in undetermined_points.values():
            e["affects"].sort()
        derivations = []
        for fr in self.firings:
            branch = self.program.branch(fr.branch)
            derivations.append({
                "id": self.firing_id(fr),
                "rule": fr.rule,
                "branch": fr.branch,
                "mode": "certain" if fr.mode == L else "possible",
                "citations": list(branch.rule.cite),
                "premises": list(fr.premises),
                "parameters": [{"name": n, "date": d, "value": v, "source": s} for n, d, v, s in fr.params],
                "assumptions": [{"fact": f, "attribute": a} for f, a in fr.assumptions],
                "blockers": list(fr.blockers),
                "conclusions": list(fr.produced),
                "defeated_by": list(fr.defeated_by),
            })
        used_rules = {fr.rule for fr in self.firings}
        versions = []
        for rs in _dated_rules(self.program):
            for r in rs:
                if r.uid in used_rules or self._in_force(r):
                    versions.append({"rule": r.id, "version": r.version,
                                     "valid_from": r.valid_from.isoformat() if r.valid_from else None,
                                     "valid_to": r.valid_to.isoformat() if r.valid_to else None,
                                     "amended_by": r.amended_by or None, "applied": r.uid in used_rules})
        params: dict[tuple[str, str], dict[str, Any]] = {}
        for fr in self.firings:
            for n, day, v, src in fr.params:
                params[(n, day)] = {"name": n, "date": day, "value": v, "source": src,
                                  "title": dict(kb.parameters[n].title)}
        assumptions = []
        by_uid = _rules_by_uid(self.program)
        for r_uid in sorted(used_rules):
            rule = by_uid.get(r_uid)
            if rule is not None and rule.assumption:
                assumptions.append({"rule": r_uid, "text": dict(rule.assumption), "citations": list(rule.cite)})
        facts = []
        for f in self.ctx.scenario.facts:
            facts.append({"id": f.fid, "type": f.type,
                          "attributes": {k: json_value(v) for k, v in f.attrs}})
        case_fact = next((f for f in self.ctx.scenario.facts if f.type == CASE_TYPE), None)
        dates = {k: json_value(v) for k, v in (case_fact.attrs if case_fact else ()) if isinstance(v, _dt.date)}
        up_to = kb.encoded_up_to.isoformat() if kb.encoded_up_to else "unknown"
        return Result(
            case_id=self.ctx.scenario.id,
            case_title=self.ctx.scenario.title,
            engine=self.engine,
            rulebase={"fingerprint": self.fingerprint, "encoded_up_to": up_to, "name": kb.name},
            facts=facts,
            conclusions=conclusions,
            does_not_hold=dnh,
            conflicts=conflicts,
            undetermined=[undetermined_points[k] for k in sorted(undetermined_points)],
            derivations=derivations,
            versions=versions,
            parameters=[params[k] for k in sorted(params)],
            assumptions=assumptions,
            disclaimer=f"Not legal advice; law as encoded up to {up_to}.",
            dates=dates,
            perspective=case_fact.get("perspective") if case_fact else None,
            context=self.ctx,
        )

    def _in_force(self, rule: Any) -> bool:
        case_fact = next((f for f in self.ctx.scenario.facts if f.type == CASE_TYPE), None)
        day = case_fact.get(rule.date_attr) if case_fact and rule.date_attr else None
        return bool(day and rule.in_force(day))

    def conflicts(self, conclusions: list[Conclusion]) -> list[dict[str, Any]]:
        out = []
        live = [c for c in conclusions if c.status in ("holds", "undetermined")]
        for c in live:
            t = self.kb.types[c.type]
            for other, on in t.contradicts:
                for d in live:
                    if d.type != other:
                        continue
                    if all(json_value(c.attributes.get(a)) == json_value(d.attributes.get(a)) for a in on):
                        status = "holds" if c.status == d.status == "holds" else "undetermined"
                        out.append({"status": status, "conclusions": [c.fid, d.fid],
                                    "types": [c.type, d.type], "rules": sorted(set(c.rules + d.rules)),
                                    "citations": sorted(set(c.citations + d.citations))})
        unique = {tuple(sorted(x["conclusions"])): x for x in out}
        return [unique[k] for k in sorted(unique)]


def _reportable(program: Program) -> list[dict[str, Any]]:
    """Per program, once: every reportable conclusion type with the rules and articles that
    could produce it (the "does not hold" list is drawn from it)."""
    cached: list[dict[str, Any]] | None = getattr(program, "_reportable", None)
    if cached is None:
        cached = []
        for t in sorted(program.kb.types.values(), key=lambda t: t.name):
            if t.kind not in REPORTED_KINDS:
                continue
            producing = sorted({program.branch(u).rule.uid for u in program.producers.get(t.name, [])})
            if not producing:
                continue
            cites = sorted({c for u in producing for r in program.rule_versions.get(u.split("@")[0], [])
                            for c in r.cite})
            cached.append({"type": t.name, "kind": t.kind, "title": dict(t.title), "rules": producing,
                           "citations": cites})
        program._reportable = cached  # type: ignore[attr-defined]
    return cached


def _does_not_hold(program: Program, present: set[str]) -> list[dict[str, Any]]:
    """The reportable entries whose type is not present: the few present types are cut out of
    the shared list by slicing, so a large rule base costs a list copy, not a loop."""
    entries = _reportable(program)
    position: dict[str, int] | None = getattr(program, "_reportable_pos", None)
    if position is None:
        position = {e["type"]: i for i, e in enumerate(entries)}
        program._reportable_pos = position  # type: ignore[attr-defined]
    cuts = sorted(position[t] for t in present if t in position)
    out: list[dict[str, Any]] = []
    start = 0
    for i in cuts:
        out += entries[start:i]
        start = i + 1
    out += entries[start:]
    return out


def _dated_rules(program: Program) -> list[list[Any]]:
    cached: list[list[Any]] | None = getattr(program, "_dated_rules", None)
    if cached is None:
        cached = [rs for _, rs in sorted(program.rule_versions.items()) if any(r.dated for r in rs)]
        program._dated_rules = cached  # type: ignore[attr-defined]
    return cached


def _rules_by_uid(program: Program) -> dict[str, Any]:
    cached: dict[str, Any] | None = getattr(program, "_rules_by_uid", None)
    if cached is None:
        cached = {r.uid: r for rs in program.rule_versions.values() for r in rs}
        program._rules_by_uid = cached  # type: ignore[attr-defined]
    return cached


def build_result(ctx: EvalContext, engine: str, fingerprint: str) -> Result:
    return _Builder(ctx, engine, fingerprint).build()

