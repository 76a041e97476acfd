"""From an evaluated case to its typed trace: the one place that reads the engine's state.

:func:`trace_of` turns the fact store and firing table of an :class:`~.evaluate.EvalContext`
into a :class:`~.provenance.Trace`; :func:`catalog_of` gives, once per compiled program, the
static data a result needs besides (which conclusion types exist and which rules can produce
them, which rules are dated). Everything above — the result, its JSON, every view — works
on these two plain structures.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..language.kb import CASE_TYPE, KB
from ..language.program import AUX_PREFIX, DEFEAT_PREFIX, Branch, Program
from ..language.values import json_value
from .evaluate import L, EvalContext, Firing
from .provenance import (REPORTED_KINDS, Bound, BranchInfo, Catalog, DatedRule, Derivation, ExceptionCheck, Mode,
                         ParamRead, RangeSource, Reportable, Role, RuleInfo, Trace, TraceFact, Unknown)

__all__ = ["trace_of", "catalog_of", "firing_id"]

def catalog_of(program: Program) -> Catalog:
    """The per-program part of every result (the reportable types, the dated rule versions, the rules' assumptions), built once per program."""
    cached: Catalog | None = getattr(program, "_catalog", None)
    if cached is not None:
        return cached
    reportable = []
    for t in sorted(program.kb.types.values(), key=lambda t: t.name):
        if t.kind not in REPORTED_KINDS:
            continue
        producing = sorted({program.branch(u).rule.uid for u in program.producers.get(t.name, [])})
        if not producing:
            continue
        cites = sorted({c for u in producing for r in program.rule_versions.get(u.split("@")[0], []) for c in r.cite})
        reportable.append(Reportable(t.name, t.kind, dict(t.title), tuple(producing), tuple(cites)))
    dated = tuple(tuple(_dated(r) for r in rs) for _, rs in sorted(program.rule_versions.items())
                  if any(r.dated for r in rs))
    assumptions = {r.uid: (dict(r.assumption), tuple(r.cite)) for rs in program.rule_versions.values() for r in rs
                   if r.assumption}
    cat = Catalog(program.kb, tuple(reportable), {e.type: i for i, e in enumerate(reportable)}, dated, assumptions)
    program._catalog = cat  # type: ignore[attr-defined]
    return cat


def _dated(r: Any) -> DatedRule:
    return DatedRule(r.uid, r.id, r.version, r.valid_from, r.valid_to, r.amended_by, r.date_attr, dict(r.assumption),
                     tuple(r.cite))


def _rule_info(program: Program, b: Branch) -> RuleInfo:
    infos: dict[str, RuleInfo] = program.__dict__.setdefault("_rule_infos", {})
    r = b.rule
    info = infos.get(r.uid)
    if info is None:
        info = infos[r.uid] = RuleInfo(r.uid, r.id, r.version, dict(r.title), tuple(r.cite), dict(r.excerpt),
                                       dict(r.assumption), dict(r.because))
    return info


def _branch_info(program: Program, b: Branch) -> BranchInfo:
    infos: dict[str, BranchInfo] = program.__dict__.setdefault("_branch_infos", {})
    info = infos.get(b.uid)
    if info is None:
        reads = tuple(tuple(dict.fromkeys([t.attr for t in p.tests] + [a for _, a in p.binds])) for p in b.positives)
        info = infos[b.uid] = BranchInfo(b.uid, b.rule.uid, b.aux, reads)
    return info


def firing_id(fr: Firing) -> str:
    """The id of a derivation: branch, mode and premises."""
    return f"{fr.branch}|{fr.mode}|{','.join(fr.premises)}"


def _role(tname: str, kb: KB, is_input: bool) -> Role:
    if is_input:
        return Role.INPUT
    if tname.startswith(AUX_PREFIX):
        return Role.AUX
    if tname.startswith(DEFEAT_PREFIX):
        return Role.RECORD
    return Role.DERIVED


def _rank(d: Derivation) -> tuple[bool, int, str, tuple[str, ...]]:
    return (d.mode != Mode.CERTAIN, len(d.assumptions), d.branch, d.premises)


def trace_of(ctx: EvalContext, *, check_exceptions: bool = True) -> Trace:
    """The typed trace of an evaluated case. With ``check_exceptions``, the exceptions to the
    rule of each conclusion's best derivation are analysed (why they did not apply)."""
    program, store = ctx.program, ctx.store
    kb = program.kb
    stated = {f.fid: f for f in ctx.scenario.facts}
    inputs = set(stated)
    facts: dict[str, TraceFact] = {}
    for fid in sorted(store.facts):
        f = stated.get(fid) or store.facts[fid]  # an input fact as the case states it
        mode = Mode.CERTAIN if fid in store.certain else (Mode.POSSIBLE if fid in store.possible else None)
        facts[fid] = TraceFact(fid, f.type, _role(f.type, kb, fid in inputs), mode,
                               {k: json_value(v) for k, v in f.attrs})
    for fid in sorted(store.would_produce):
        if fid not in facts:
            f = store.would_produce[fid]
            facts[fid] = TraceFact(fid, f.type, _role(f.type, kb, False), None, {k: json_value(v) for k, v in f.attrs})
    firings = sorted(store.firings.values(), key=lambda f: (f.branch, f.mode, f.premises))
    rules: dict[str, RuleInfo] = {}
    branches: dict[str, BranchInfo] = {}
    derivations: list[Derivation] = []
    for fr in firings:
        b = program.branch(fr.branch)
        rules.setdefault(b.rule.uid, _rule_info(program, b))
        branches.setdefault(b.uid, _branch_info(program, b))
        derivations.append(Derivation(
            id=firing_id(fr), rule=fr.rule, branch=fr.branch, mode=Mode.CERTAIN if fr.mode == L else Mode.POSSIBLE,
            citations=tuple(b.rule.cite), premises=fr.premises,
            parameters=tuple(ParamRead(n, d, json_value(v), s) for n, d, v, s in fr.params),
            assumptions=tuple(Unknown(f, a) for f, a in fr.assumptions), blockers=fr.blockers,
            conclusions=fr.produced, defeated_by=tuple(sorted({program.branch(u).rule.uid for u in fr.defeated_by})),
            records=fr.records, bindings={k: json_value(v) for k, v in fr.bindings},
            sources=tuple(RangeSource(c, a, tuple(Unknown(f, x) for f, x in src)) for c, a, src in fr.sources)))
    best = _best(facts, derivations, branches)
    if check_exceptions:
        derivations = _with_exception_checks(ctx, facts, derivations, best)
    bounds = tuple(Bound(b.fact, b.attribute, json_value(b.value), b.constraints) for b in ctx.bounds)
    return Trace(facts, tuple(derivations), dict(sorted(rules.items())), dict(sorted(branches.items())), best, bounds)


def _best(facts: dict[str, TraceFact], derivations: list[Derivation], branches: dict[str, BranchInfo]
          ) -> dict[str, str]:
    """Per derived fact, the derivation that explains it best: certain before possible, fewer
    assumptions first; for a fact only defeated derivations would produce, the best of those."""
    live: dict[str, list[Derivation]] = {}
    dead: dict[str, list[Derivation]] = {}
    for d in derivations:
        if branches[d.branch].aux:
            continue
        for c in d.conclusions:
            (dead if d.defeated else live).setdefault(c, []).append(d)
    out: dict[str, str] = {}
    for fid, f in facts.items():
        if f.role != Role.DERIVED:
            continue
        cands = live.get(fid, [])
        if f.mode == Mode.CERTAIN:
            cands = [d for d in cands if d.mode == Mode.CERTAIN] or cands
        if f.mode is None or not cands:
            cands = dead.get(fid, [])
        if cands:
            out[fid] = min(cands, key=_rank).id
    return out


def _with_exception_checks(ctx: EvalContext, facts: dict[str, TraceFact], derivations: list[Derivation],
                           best: dict[str, str]) -> list[Derivation]:
    from .whynot import analyze_branch, seed_from_match

    program = ctx.program
    wanted = {did for fid, did in best.items() if facts[fid].mode is not None and facts[fid].type in program.kb.types}
    out = []
    for d in derivations:
        b = program.branch(d.branch)
        defeaters = program.defeaters.get(b.rule.id) if d.id in wanted and not d.defeated else None
        if not defeaters:
            out.append(d)
            continue
        fact = ctx.store.facts.get(d.conclusions[0]) if d.conclusions else None
        checks = []
        for uid in sorted(defeaters):
            db = program.branch(uid)
            analysis = analyze_branch(ctx, db, seed_from_match(db, b.rule.id, fact) if fact else {}, L)
            if analysis.status == "met":
                continue
            reasons = tuple(cs.detail for cs in analysis.conditions if cs.status != "met")
            checks.append(ExceptionCheck(db.rule.uid, tuple(db.rule.cite[:1]),
                                         "does_not_apply" if analysis.status == "failed" else "might_apply", reasons))
        out.append(Derivation(**{**d.__dict__, "exceptions": tuple(checks)}) if checks else d)
    return out


def case_dates(ctx: EvalContext) -> dict[str, Any]:
    """The case's dates (attribute -> ISO text) from its case fact."""
    case_fact = next((f for f in ctx.scenario.facts if f.type == CASE_TYPE), None)
    return {k: json_value(v) for k, v in (case_fact.attrs if case_fact else ()) if isinstance(v, _dt.date)}
