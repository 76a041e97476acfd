"""Deciding by cases: a conclusion holds when it holds whatever the unknowns turn out to be.

The plain evaluation is three-valued one test at a time: "the work is in the public domain
unless the author is alive" leaves the infringement open when the case does not say whether
the author lives, although the work is protected either way. This step takes the conclusions
the plain evaluation leaves undetermined and splits the case on the unknowns they depend on —
a yes/no or a choice by its values, a date or a number at the points where a comparison on it
stayed open — and evaluates each case on its own (python backend: the answer never depends
on the engine). A conclusion then

* **holds** if it holds in every case,
* **does not hold** if it is possible in none,
* stays **undetermined** otherwise — and depends only on the unknowns that still matter.

It is exact: every case is a region of the possible values (ranges never overlap, yes and no
are both tried, a choice's values are all tried, or grouped only when no rule can tell them
apart), and nothing is decided by a default. It is bounded: at most ``max_evaluations`` cases
(and ``max_seconds``, a safety net); whatever a bound leaves unexplored stays undetermined,
and the trace says which bound stopped the search (:class:`~.provenance.CaseSearch`).

Not split: a reference (who committed the act: the person may not be in the case), a list,
a text, an attribute some rule tests with ``present`` (its absence has a meaning of its own:
"if the case does not say …"), and a date or number no comparison on it left open.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..language.intervals import Interval, compare
from ..language.program import Program
from ..language.scenario import Fact, Scenario
from ..language.values import NUMERIC_UNITS, json_value
from ..errors import EvaluationError
from .evaluate import L, EvalContext
from .provenance import REPORTED_KINDS, CaseLeaf, CaseSearch, Status, Unknown

__all__ = ["decide_by_cases", "Splitter", "MAX_EVALUATIONS", "MAX_SECONDS", "MAX_DEPTH"]

MAX_EVALUATIONS = 24  # cases evaluated per analysis, besides the plain evaluation
MAX_SECONDS = 10.0  # a safety net: the evaluation count is the bound that normally applies
MAX_DEPTH = 8  # unknowns fixed along one branch of the search
MAX_CHILDREN = 8  # a choice of more values (that rules tell apart), or more cut points, is not split
MAX_PER_TARGET = 8  # new cases evaluated for one conclusion (those already evaluated are free)
_IDENTIFYING = ("ref", "enum", "bool")

Var = tuple[str, str]  # (fact id, attribute)


@dataclass
class _Target:
    """An undetermined conclusion of the plain evaluation, followed through the cases."""

    index: int
    cid: str
    type: str
    identity: dict[str, Any]
    seen: set[str] = field(default_factory=set)  # "C" certain, "I" impossible, "U" open at a leaf
    decisive: set[Var] = field(default_factory=set)  # unknowns that still matter for it
    over: list[Var] = field(default_factory=list)  # unknowns split while it was open
    leaves: list[tuple[int, str]] = field(default_factory=list)  # (leaf id, status there)
    cut_short: bool = False  # a bound left part of its cases unexplored
    attrs: dict[str, list[Any]] = field(default_factory=dict)  # values where it holds, per attribute
    holds_in: int = 0  # cases in which it was found to hold (each gives one fact's values)
    given: set[str] = field(default_factory=set)  # conclusions it was decided with, taken as given


class Splitter:
    """What a program allows to split: which attributes, and a choice's values grouped by
    what the rules can tell apart. Built once per program."""

    def __init__(self, program: Program):
        self.program = program
        self.present: set[tuple[str, str]] = set()
        self.bound_vars: set[tuple[str, str]] = set()
        tests: dict[tuple[str, str], list[tuple[str, Any]]] = {}
        for b in program.branches:
            for p in list(b.positives) + list(b.negations):
                for t in p.tests:
                    key = (p.type, t.attr)
                    if t.op == "present":
                        self.present.add(key)
                    elif t.kind == "lit":
                        tests.setdefault(key, []).append((t.op, t.value))
                    else:
                        self.bound_vars.add(key)
                for _var, attr in p.binds:
                    self.bound_vars.add((p.type, attr))
        self.tests = tests
        self._groups: dict[tuple[str, str], list[list[str]]] = {}

    def choices(self, tname: str, attr: str) -> list[Any] | None:
        """The values to try for an unknown yes/no or choice attribute, or None when it is
        not split."""
        a = self.program.attr_type(tname, attr)
        if a is None or (tname, attr) in self.present:
            return None
        if a.type == "bool":
            return [True, False]
        if a.type != "enum" or not a.values:
            return None
        groups = self.enum_groups(tname, attr, list(a.values))
        if len(groups) > MAX_CHILDREN:
            return None
        # values no rule tells apart behave alike: one of them stands for its group, unless a
        # rule copies the value (then every value is its own case)
        return [g[0] for g in groups]

    def enum_groups(self, tname: str, attr: str, values: list[str]) -> list[list[str]]:
        """The values of enumeration ``tname.attr`` grouped so that no rule's test tells two values of a group apart (each value alone where a rule binds it to a variable): a split needs one case per group, not per value."""
        key = (tname, attr)
        if key in self._groups:
            return self._groups[key]
        if key in self.bound_vars:
            groups = [[v] for v in values]
        else:
            sig: dict[tuple[bool, ...], list[str]] = {}
            for v in values:
                s = tuple(_lit(op, v, x) for op, x in self.tests.get(key, []))
                sig.setdefault(s, []).append(v)
            groups = list(sig.values())
        self._groups[key] = groups
        return groups


def _lit(op: str, v: str, x: Any) -> bool:
    if op == "=":
        return bool(v == x)
    if op == "!=":
        return bool(v != x)
    if op == "in":
        return v in x
    if op == "not_in":
        return v not in x
    return False


def splitter_of(program: Program) -> Splitter:
    """The :class:`Splitter` of ``program``, built once and kept on it."""
    sp: Splitter | None = getattr(program, "_splitter", None)
    if sp is None:
        sp = Splitter(program)
        program._splitter = sp  # type: ignore[attr-defined]
    return sp


# ---- the state of one case: status of a target, what it depends on -----------------------------


class _Node:
    """One evaluated case: the status of each target in it and what its open targets depend on."""

    def __init__(self, ctx: EvalContext):
        self.ctx = ctx
        self.given: tuple[str, ...] = ()  # conclusions taken as given (shown to hold in every case)
        store = ctx.store
        self.live: dict[str, list[Any]] = {}
        self.points: dict[Var, list[tuple[str, Any]]] = {}
        for fr in store.firings.values():
            if not fr.defeated:
                for fid in fr.produced + fr.records:
                    self.live.setdefault(fid, []).append(fr)
            for fid, attr, op, point in fr.undecided:
                self.points.setdefault((fid, attr), []).append((op, point))
        self.inputs = {f.fid: f for f in ctx.inputs}
        self._deps: dict[str, set[Var]] = {}
        self._support: dict[str, set[str]] = {}
        self._dom: dict[tuple[Var, bool], list[Any] | None] = {}
        self._memo: dict[tuple[str, str, bool], Any] = {}
        self._by_type: dict[str, list[str]] = {}
        for fid, f in store.facts.items():
            self._by_type.setdefault(f.type, []).append(fid)

    def status(self, t: _Target) -> tuple[str, list[str]]:
        """("C" | "P" | "I", the matching facts)."""
        store = self.ctx.store
        found = [fid for fid in self._by_type.get(t.type, ()) if _agrees(store.facts[fid], t.identity)]
        if any(fid in store.certain for fid in found):
            return "C", [fid for fid in found if fid in store.certain]
        poss = [fid for fid in found if fid in store.possible]
        return ("P", poss) if poss else ("I", [])

    def depends(self, fid: str, stack: frozenset[str] = frozenset()) -> set[Var]:
        if fid in self._deps:
            return self._deps[fid]
        store = self.ctx.store
        if fid in store.certain or fid in stack:
            return set()
        out: set[Var] = set()
        stack = stack | {fid}
        for fr in self.live.get(fid, []):
            if fr.mode != L:
                out |= self.firing_deps(fr, stack)
        self._deps[fid] = out
        return out

    def firing_deps(self, fr: Any, stack: frozenset[str] = frozenset()) -> set[Var]:
        """The unknowns one possible derivation rests on."""
        store = self.ctx.store
        out: set[Var] = set()
        for f, a in fr.assumptions:
            if f in self.inputs:
                out.add((f, a))
            else:
                out |= self.depends(f, stack)
                out |= self.range_deps(f, a, stack)
        for p in fr.premises:
            if p not in store.certain:
                out |= self.depends(p, stack)
        for b in fr.blockers:
            out |= self.depends(b, stack)
        return out

    def ways(self, fids: list[str]) -> list[set[Var]]:
        """For each possible derivation of ``fids``, the unknowns it rests on."""
        out = []
        for fid in fids:
            for fr in self.live.get(fid, []):
                if fr.mode != L and fid in fr.produced:
                    out.append(self.firing_deps(fr, frozenset({fid})))
        return out

    def support(self, fid: str, stack: frozenset[str] = frozenset()) -> set[str]:
        """``fid`` and the possible facts its possible derivations rest on."""
        if fid in self._support:
            return self._support[fid]
        out = {fid}
        store = self.ctx.store
        if fid in store.certain or fid in stack:
            return out
        for fr in self.live.get(fid, []):
            if fr.mode == L:
                continue
            for p in list(fr.premises) + list(fr.blockers):
                if p not in store.certain:
                    out |= self.support(p, stack | {fid})
        self._support[fid] = out
        return out

    def atoms(self, fids: list[str]) -> list[Var]:
        """Applications of rules below ``fids`` that could go either way on their own tests
        alone (certain premises, nothing blocking them, the rule certainly in force): splitting
        on whether one applies settles what a range cannot, such as an exception that applies
        in some cases and not in others ("the work was published after the author's death").
        Exceptions first, then the nearest."""
        store = self.ctx.store
        certain_keys = {(fr.branch, fr.premises) for fr in store.firings.values() if fr.mode == L}
        seen: set[str] = set()
        out: list[tuple[int, int, Var]] = []
        frontier = [(fid, 0) for fid in sorted(fids)]
        while frontier:
            fid, depth = frontier.pop(0)
            if fid in seen or depth > 12:
                continue
            seen.add(fid)
            for fr in self.live.get(fid, []):
                if fr.mode == L or (fr.branch, fr.premises) in certain_keys:
                    continue
                if not fr.blockers and all(p in store.certain for p in fr.premises) and self._ranged(fr) and \
                        all(v is not None for _k, v in fr.bindings) and self._complete(fr) and \
                        self.ctx.rule_activity(self.ctx.program.branch(fr.branch)) == L:
                    out.append((0 if fr.records else 1, depth, ("", f"{fr.branch}|{','.join(fr.premises)}")))
                for p in fr.premises:
                    if p not in store.certain:
                        frontier.append((p, depth + 1))
                for b in fr.blockers:
                    frontier.append((b, depth + 1))
        return [v for _, _, v in sorted(set(out))]

    def _ranged(self, fr: Any) -> bool:
        """Whether a test the application left open compares ranges (a yes/no or a choice is
        split as such, not through a rule)."""
        facts = self.ctx.store.facts
        return any(f in facts and isinstance(facts[f].get(a), Interval) for f, a in fr.assumptions)

    def _complete(self, fr: Any) -> bool:
        """Whether every value the application derives is known (a range counts): only then
        can it apply certainly in a case where its open tests pass."""
        b = self.ctx.program.branch(fr.branch)
        facts = self.ctx.store.facts
        for h, fid in zip(b.heads, fr.produced):
            f = facts.get(fid) or self.ctx.store.would_produce.get(fid)
            if f is None or any(not f.has(name) for name, _hv in h.attrs):
                return False
        return True

    def simply_open(self, fid: str, sp: Splitter) -> bool:
        """Whether no split can decide ``fid``: its possible derivations, their uncertain
        premises and what might block them form a formula over open tests in which each
        unknown that can be split appears as one test, always of the same sense, and none is a
        range derived from others. Such a formula takes both values (some values make it hold,
        others exclude it), and an unknown that cannot be split stays open in every case: then
        ``fid`` keeps its plain status and questions without any case being evaluated."""
        leaves = self._leaves(fid, frozenset(), sp, True)
        if leaves is None:
            return False
        senses: dict[Var, set[tuple[Any, bool]]] = {}
        for var, test, positive, can in leaves:
            if can:
                senses.setdefault(var, set()).add((test, positive))
        return all(len(v) == 1 for v in senses.values())

    def can_hold(self, fid: str, sp: Splitter, stack: frozenset[str] = frozenset()) -> bool:
        """Whether some case could make ``fid`` certain: one of its possible derivations rests
        only on unknowns a split can reach (no person to name, no amount nothing bounds) and
        on premises that could hold. If none does, no case makes it hold; it could at most be
        excluded everywhere, which such a conclusion rarely is, so it is not worked on."""
        if fid in self.ctx.store.certain:
            return True
        if fid in stack:
            return False
        key = ("hold", fid, True)
        if key not in self._memo:
            self._memo[key] = self._can_hold(fid, sp, stack)
        return bool(self._memo[key])

    def _can_hold(self, fid: str, sp: Splitter, stack: frozenset[str]) -> bool:
        for fr in self.live.get(fid, []):
            if fr.mode == L or fid not in fr.produced + fr.records:
                continue
            ok = True
            for f, a in fr.assumptions:
                if f in self.inputs:
                    v = self.inputs[f].get(a)
                    if not isinstance(v, Interval) and not _reach(self, sp, (f, a)):
                        ok = False
                        break
                elif not isinstance(self.ctx.store.facts[f].get(a) if f in self.ctx.store.facts else None, Interval) \
                        and not any(g in self.inputs and _reach(self, sp, (g, b))
                                    for pr in self.live.get(f, []) for g, b in pr.assumptions):
                    ok = False
                    break
            if ok and all(self.can_hold(p, sp, stack | {fid}) for p in fr.premises) and \
                    all(self.can_fail(b, sp, stack | {fid}) for b in fr.blockers):
                return True
        return False

    def can_fail(self, fid: str, sp: Splitter, stack: frozenset[str] = frozenset()) -> bool:
        """Whether some case could exclude ``fid`` (a fact that might block another): each of
        its possible derivations rests on something a split can reach (an unknown that can be
        split, a range) or on a premise that could fail."""
        store = self.ctx.store
        if fid in store.certain:
            return False
        if fid in stack:
            return True
        key = ("fail", fid, True)
        if key not in self._memo:
            self._memo[key] = self._can_fail(fid, sp, stack)
        return bool(self._memo[key])

    def _can_fail(self, fid: str, sp: Splitter, stack: frozenset[str]) -> bool:
        store = self.ctx.store
        for fr in self.live.get(fid, []):
            if fr.mode == L or fid not in fr.produced + fr.records:
                continue
            reachable = False
            for f, a in fr.assumptions:
                if f in self.inputs:
                    if isinstance(self.inputs[f].get(a), Interval) or _reach(self, sp, (f, a)):
                        reachable = True
                elif isinstance(store.facts[f].get(a) if f in store.facts else None, Interval) or \
                        any(g in self.inputs and _reach(self, sp, (g, b))
                            for pr in self.live.get(f, []) for g, b in pr.assumptions):
                    reachable = True
            if not reachable and not any(self.can_fail(p, sp, stack | {fid}) for p in fr.premises if p not in store.certain) \
                    and not any(self.can_hold(b, sp, stack | {fid}) for b in fr.blockers):
                return False  # this derivation stands in every case
        return True

    def _leaves(self, fid: str, stack: frozenset[str], sp: Splitter, positive: bool
                ) -> list[tuple[Var, Any, bool, bool]] | None:
        """The open tests ``fid`` rests on, as (unknown, the test, its sense, whether the
        unknown can be split); None where a range derived from others (or a cycle) may let a
        split settle it."""
        if fid in stack:
            return None
        key = ("leaves", fid, positive)
        if key not in self._memo:
            self._memo[key] = self._leaves_of(fid, stack, sp, positive)
        return self._memo[key]  # type: ignore[no-any-return]

    def _leaves_of(self, fid: str, stack: frozenset[str], sp: Splitter, positive: bool
                   ) -> list[tuple[Var, Any, bool, bool]] | None:
        store = self.ctx.store
        out: list[tuple[Var, Any, bool, bool]] = []
        for fr in self.live.get(fid, []):
            if fr.mode == L:
                continue
            for f, a in fr.assumptions:
                test = tuple(sorted((op, _key(p)) for g, b, op, p in fr.undecided if (g, b) == (f, a))) or (fr.branch,)
                if f in self.inputs:
                    out.append(((f, a), test, positive, _reach(self, sp, (f, a))))
                elif isinstance(store.facts[f].get(a) if f in store.facts else None, Interval):
                    return None
                elif any(g in self.inputs and _reach(self, sp, (g, b))
                         for pr in self.live.get(f, []) for g, b in pr.assumptions):
                    return None  # a value derived from an unknown that can be split
                else:
                    out.append(((f, a), test, positive, False))  # derived from unknowns no split reaches
            for p, sense in [(p, positive) for p in fr.premises] + [(b, not positive) for b in fr.blockers]:
                if p in store.certain:
                    continue
                sub = self._leaves(p, stack | {fid}, sp, sense)
                if sub is None:
                    return None
                out.extend(sub)
        return out

    def range_deps(self, fid: str, attr: str, stack: frozenset[str]) -> set[Var]:
        out: set[Var] = set()
        for fr in self.live.get(fid, []):
            for c, a, src in fr.sources:
                if c == fid and a == attr:
                    for f, x in src:
                        if f in self.inputs:
                            out.add((f, x))
                        elif f"{f}.{x}" not in stack:
                            out |= self.range_deps(f, x, stack | {f"{f}.{x}"})
                            out |= self.depends(f, stack | {f"{f}.{x}"})
        return out


def _agrees(fact: Fact, identity: dict[str, Any]) -> bool:
    return all(fact.has(k) and json_value(fact.get(k)) == v for k, v in identity.items())


# ---- splitting one unknown --------------------------------------------------------------------------


def _reach(node: _Node, sp: Splitter, var: Var) -> bool:
    """Whether some split reaches ``var`` (by value, at a point, or at a range's bounds)."""
    return _domain(node, sp, var) is not None or _domain(node, sp, var, True) is not None


def _domain(node: _Node, sp: Splitter, var: Var, relational: bool = False) -> list[Any] | None:
    """The values (or ranges) to give ``var`` in the sub-cases, or None if it is not split.
    A date or number is cut where a comparison with a value stayed open; with ``relational``,
    also at the bounds of a range it was compared with (tried only when nothing else is left:
    such a cut rarely settles a comparison of two ranges, a split on the rule does)."""
    key = (var, relational)
    if key in node._dom:
        return node._dom[key]
    out = node._dom[key] = _domain_of(node, sp, var, relational)
    return out


def _domain_of(node: _Node, sp: Splitter, var: Var, relational: bool) -> list[Any] | None:
    fid, attr = var
    fact = node.inputs.get(fid)
    if fact is None:
        return None
    a = sp.program.attr_type(fact.type, attr)
    if a is None:
        return None
    current = fact.get(attr)
    if a.type in ("bool", "enum"):
        return None if fact.has(attr) else sp.choices(fact.type, attr)
    if a.type != "date" and a.type not in NUMERIC_UNITS:
        return None
    if current is not None and not isinstance(current, Interval):
        return None
    dom = current if isinstance(current, Interval) else Interval(stated=False)
    cuts: list[tuple[Any, bool]] = []  # (point, whether the point itself goes to the upper part)
    for op, point in node.points.get(var, []):
        if isinstance(point, Interval) and not relational:
            continue  # compared with another range: no cut settles it (split the rule instead)
        for p in ((point.lo, point.hi) if isinstance(point, Interval) else (point,)):
            if p is None or isinstance(p, bool):
                continue
            if isinstance(p, _dt.date) != (a.type == "date"):
                continue
            if op in ("<", ">="):
                cuts.append((p, True))   # x < p | x >= p
            elif op in ("<=", ">"):
                cuts.append((p, False))  # x <= p | x > p
            else:
                cuts.append((p, True))
                cuts.append((p, False))  # x < p | x = p | x > p
    cuts = sorted(set(c for c in cuts if _inside(dom, c)), key=lambda c: (c[0], not c[1]))
    if not cuts or len(cuts) > MAX_CHILDREN:
        return None
    parts: list[Interval] = []
    lo, lo_open = dom.lo, dom.lo_open
    for p, upper_closed in cuts:
        # the part below the cut: up to p, p excluded when p starts the next part
        part = Interval(lo, p, lo_open, upper_closed, dom.stated)
        if not part.empty:
            parts.append(part)
        lo, lo_open = p, not upper_closed
    last = Interval(lo, dom.hi, lo_open, dom.hi_open, dom.stated)
    if not last.empty:
        parts.append(last)
    return parts if len(parts) > 1 else None


def _inside(dom: Interval, cut: tuple[Any, bool]) -> bool:
    """Whether a cut at ``p`` leaves values of ``dom`` on both sides."""
    p, upper_closed = cut
    try:
        below = Interval(dom.lo, p, dom.lo_open, upper_closed)
        above = Interval(p, dom.hi, not upper_closed, dom.hi_open)
        if dom.lo is not None and compare(dom.lo, ">", p) is True:
            return False
        return not below.empty and not above.empty and not _disjoint(dom, below) and not _disjoint(dom, above)
    except TypeError:
        return False


def _disjoint(a: Interval, b: Interval) -> bool:
    lo = a.lo if b.lo is None else (b.lo if a.lo is None else max(a.lo, b.lo))
    hi = a.hi if b.hi is None else (b.hi if a.hi is None else min(a.hi, b.hi))
    return lo is not None and hi is not None and lo > hi


def _forced(assignment: tuple[tuple[Var, Any], ...]) -> dict[tuple[str, tuple[str, ...]], bool]:
    out = {}
    for (fid, attr), value in assignment:
        if fid == "":
            branch, _, prem = attr.partition("|")
            out[(branch, tuple(prem.split(",")) if prem else ())] = bool(value)
    return out


def _assign(scenario: Scenario, var: Var, value: Any) -> Scenario:
    fid, attr = var
    if fid == "":
        return scenario  # a rule's application: given to the evaluation, not to the facts
    facts = []
    for f in scenario.facts:
        if f.fid == fid:
            attrs = dict(f.attrs)
            attrs[attr] = value.lo if isinstance(value, Interval) and value.is_point and value.stated else value
            f = Fact(f.fid, f.type, tuple(sorted(attrs.items())))
        facts.append(f)
    return replace(scenario, facts=facts)


# ---- the search -------------------------------------------------------------------------------------

_BUDGET = object()  # a case the bounds do not allow to evaluate


class _Search:
    """Decides the targets one by one (the most promising first), each by a depth-first split
    on the unknowns it depends on. The cases evaluated are shared between targets (a case is
    the set of values given, whatever the order): a later target reuses what an earlier one
    evaluated, and only new evaluations count against the bound."""

    def __init__(self, program: Program, backend: Any, scenario: Scenario, root: EvalContext,
                 targets: list[_Target], max_evaluations: int, max_seconds: float):
        self.program = program
        self.backend = backend
        self.scenario = scenario
        self.sp = splitter_of(program)
        self.targets = targets
        self.max_evaluations = max_evaluations
        self.deadline = time.monotonic() + max_seconds
        self.evaluations = 0
        self.spent = 0  # new cases evaluated for the current target
        self.infeasible = 0
        self.failed = 0  # cases that could not be evaluated
        self.stopped = ""
        self.root = _Node(root)
        self.cache: dict[frozenset[tuple[str, str, str]], Any] = {frozenset(): self.root}
        self.ids: dict[frozenset[tuple[str, str, str]], int] = {frozenset(): 0}
        self.cases: list[CaseLeaf] = []
        self.lemmas: list[Fact] = []

    def node(self, assignment: tuple[tuple[Var, Any], ...]) -> Any:
        """The case with these values given: a _Node, None if no world is like it (it
        contradicts a constraint), or _BUDGET when the bounds do not allow evaluating it."""
        key = _case_key(assignment)
        if key in self.cache:
            return self.cache[key]
        if self.evaluations >= self.max_evaluations:
            self.stopped = self.stopped or "evaluations"
            return _BUDGET
        if self.spent >= MAX_PER_TARGET:
            return _BUDGET  # this conclusion has had its share: it stays undetermined
        if time.monotonic() > self.deadline:
            self.stopped = self.stopped or "time"
            return _BUDGET
        scenario = self.scenario
        for var, value in assignment:
            scenario = _assign(scenario, var, value)
        from ..language.constraints import apply_constraints

        if self.program.kb.constraints and apply_constraints(self.program.kb, scenario.facts).violated:
            self.infeasible += 1
            self.cache[key] = None
            return None
        self.evaluations += 1
        self.spent += 1
        try:
            ctx = self.backend.evaluate(scenario, forced=_forced(assignment), lemmas=tuple(self.lemmas))
        except EvaluationError:
            # a case that cannot be evaluated (a parameter with no value in force on a date of
            # the split, …): what depends on it stays undetermined
            self.failed += 1
            self.cache[key] = _BUDGET
            return _BUDGET
        node = _Node(ctx)
        node.given = tuple(f.fid for f in self.lemmas)
        self.cache[key] = node
        self.ids[key] = len(self.cases) + 1
        values = tuple(sorted((_shown(self.program, f, a, v) for (f, a), v in dict(assignment).items()),
                              key=lambda x: (x[0], x[1])))
        self.cases.append(CaseLeaf(self.ids[key], values))
        return node

    def case_id(self, assignment: tuple[tuple[Var, Any], ...]) -> int:
        return self.ids.get(_case_key(assignment), 0)

    def deps(self, node: _Node, t: _Target) -> tuple[str, set[Var], list[str]]:
        st, found = node.status(t)
        deps: set[Var] = set()
        if st == "P":
            for fid in found:
                deps |= node.depends(fid)
        return st, deps, found

    def run(self) -> None:
        # the most promising first: those whose unknowns can all be split, then the fewest
        # unknowns; the cases they evaluate serve the others
        order = []
        found_of = {}
        for t in self.targets:
            found_of[t.index] = self.root.status(t)[1]
        supports: dict[str, int] = {}
        for t in self.targets:
            for fid in set().union(*(self.root.support(f) for f in found_of[t.index])) if found_of[t.index] else ():
                supports[fid] = supports.get(fid, 0) + 1
        for t in self.targets:
            st, deps, found = self.deps(self.root, t)
            splittable = [v for v in deps if _domain(self.root, self.sp, v) is not None]
            gated = bool(found) and (all(self.root.simply_open(fid, self.sp) for fid in found)
                                     or not any(self.root.can_hold(fid, self.sp) for fid in found))
            # first what most other open conclusions rest on (deciding it decides them too),
            # then those whose every unknown can be split, the fewest first
            leads = max((supports.get(fid, 0) for fid in found), default=0)
            order.append((gated, -leads, len(splittable) < len(deps), len(splittable), t.index, t))
        stale = False
        for gated, *_k, t in sorted(order, key=lambda x: x[:5]):
            if stale and self.evaluations < self.max_evaluations:
                # what has been shown to hold in every case, taken as given: the plain case
                # again, once, decides at a stroke what rested only on it
                self.evaluations += 1
                stale = False
                try:
                    root_ctx = self.backend.evaluate(self.scenario, lemmas=tuple(self.lemmas))
                except EvaluationError:  # pragma: no cover - the plain case evaluated before
                    self.failed += 1
                else:
                    self.root = _Node(root_ctx)
                    self.root.given = tuple(f.fid for f in self.lemmas)
                    self.cache[frozenset()] = self.root
            if gated:
                # it hangs on its own open tests alone: the values that pass them make it hold,
                # those that fail them exclude it, so no split can decide it; it keeps its
                # plain status and questions
                continue
            self.spent = 0
            summary = self.explore(t, (), self.root, 0)
            t.seen.add(summary)
            if summary == "C" and len(found_of[t.index]) == 1:
                # it holds in every case: the cases evaluated from now on take it as given
                fact = self.root.ctx.store.facts.get(found_of[t.index][0])
                if fact is not None and fact not in self.lemmas:
                    self.lemmas.append(fact)
                    stale = True

    def explore(self, t: _Target, assignment: tuple[tuple[Var, Any], ...], node: _Node, depth: int) -> str:
        """``t``'s status over the cases below ``node``: "C", "I" or "U" (open, or mixed)."""
        st, deps, found = self.deps(node, t)
        cid = self.case_id(assignment)
        if st != "P":
            t.given |= set(node.given)
        if st == "C":
            t.holds_in += 1
            for k, v in node.ctx.store.facts[sorted(found)[0]].attrs:
                t.attrs.setdefault(k, []).append(v)
            t.leaves.append((cid, "holds"))
            return "C"
        if st == "I":
            t.leaves.append((cid, "does_not_hold"))
            return "I"
        if depth and (all(node.simply_open(fid, self.sp) for fid in found)
                      or not any(node.can_hold(fid, self.sp) for fid in found)):
            t.decisive |= deps  # here no split can decide it any more
            t.leaves.append((cid, "undetermined"))
            return "U"
        doms = self.splits(node, assignment, found, deps, depth)
        if not doms or depth >= MAX_DEPTH:
            t.decisive |= deps
            t.leaves.append((cid, "undetermined"))
            return "U"
        var = self.choose(t, node, assignment, doms, found) if all(v[0] for v in doms) else next(iter(doms))
        if var not in t.over:
            t.over.append(var)
        got: set[str] = set()
        for value in doms[var]:
            child_assignment = assignment + ((var, value),)
            child = self.node(child_assignment)
            if child is _BUDGET:
                t.cut_short = True
                t.decisive |= deps
                return "U"
            if child is None:
                continue  # no case of the world lies here
            got.add(self.explore(t, child_assignment, child, depth + 1))
            if "U" in got or {"C", "I"} <= got:
                break  # it depends: no need to look further
        if got == {"C"} or got == {"I"}:
            return got.pop()
        if len(got) > 1 and var[0]:
            t.decisive.add(var)  # it holds in some of these cases and not in others
        if not got or (len(got) > 1 and not var[0]):
            t.decisive |= deps  # (a rule's application is no question: what it rests on is)
        return "U"

    def splits(self, node: _Node, assignment: tuple[tuple[Var, Any], ...], found: list[str], deps: set[Var],
               depth: int) -> dict[Var, list[Any]]:
        """The splits to choose from for a target open here: on the unknowns of its derivation
        that rests on the fewest (if that one holds in every case, so does the target), by
        value or at a point; failing that, on whether a rule applies (an application whose
        tests compare ranges) or at the bounds of the ranges compared; failing that, on any of
        its unknowns."""
        if depth >= MAX_DEPTH:
            return {}
        done = {v for v, _ in assignment}
        ways = sorted((w for w in node.ways(found) if w), key=lambda w: (len(w), sorted(w)))
        pools = ([ways[0]] if ways else []) + [deps]
        for pool in pools:
            doms = {v: d for v in sorted(pool) if (d := _domain(node, self.sp, v)) is not None}
            if doms:
                return doms
            doms = {v: [True, False] for v in node.atoms(found)[:MAX_CHILDREN] if v not in done}
            if doms:
                return doms
            doms = {v: d for v in sorted(pool) if (d := _domain(node, self.sp, v, True)) is not None}
            if doms:
                return doms
        return {}

    def choose(self, t: _Target, node: _Node, assignment: tuple[tuple[Var, Any], ...], doms: dict[Var, list[Any]],
               found: list[str]) -> Var:
        """Among ``t``'s unknowns: those of its derivation that rests on the fewest (if that one
        holds in every case, so does ``t``); then the unknown whose cases are already evaluated;
        then the one most other open targets depend on here (their cases are then shared); then
        the fewest cases; then a stable order."""
        ways = sorted((sorted(w & set(doms)) for w in node.ways(found) if w & set(doms)), key=lambda w: (len(w), w))
        pool: set[Var] = set(ways[0]) if ways else set(doms)
        counts = {v: 0 for v in pool}
        for other in self.targets:
            if other.seen:
                continue
            _st, deps, _ = self.deps(node, other)
            for v in deps:
                if v in counts:
                    counts[v] += 1

        def uncached(v: Var) -> int:
            return sum(1 for value in doms[v] if _case_key(assignment + ((v, value),)) not in self.cache)

        return min(pool, key=lambda v: (uncached(v), -counts[v], len(doms[v]), v))


def _shown(program: Program, fid: str, attr: str, value: Any) -> tuple[str, str, Any]:
    """A value given in a case, for the trace: (fact, attribute, value); a rule's application
    as ("", "<rule id> (<the case's facts it applies to>)", applies)."""
    if fid:
        return fid, attr, json_value(value.with_stated(True) if isinstance(value, Interval) else value)
    branch, _, prem = attr.partition("|")
    facts = sorted({p for p in prem.split(",") if ":" in p and "#" not in p})
    return "", f"{program.branch(branch).rule.id} ({', '.join(facts)})" if facts else program.branch(branch).rule.id, \
        bool(value)


def _case_key(assignment: tuple[tuple[Var, Any], ...]) -> frozenset[tuple[str, str, str]]:
    """A case is the values finally given (a range split again keeps its last part), whatever
    the order they were given in."""
    return frozenset((f, a, _key(v)) for (f, a), v in dict(assignment).items())


def _key(v: Any) -> str:
    return json.dumps(json_value(v), sort_keys=True) if not isinstance(v, Interval) else \
        json.dumps(v.to_json(), sort_keys=True)


def decide_by_cases(program: Program, backend: Any, scenario: Scenario, ctx: EvalContext, result: Any,
                    catalog: Any, *, max_evaluations: int = MAX_EVALUATIONS, max_seconds: float = MAX_SECONDS) -> Any:
    """The result with its undetermined conclusions decided by cases where every case agrees
    (a new :class:`~.result.Result`; ``result`` is not changed). ``backend`` evaluates the
    sub-cases (the python backend), ``ctx`` is the plain evaluation ``result`` comes from."""
    from .result import rebuild_with_cases

    kb = program.kb
    targets: list[_Target] = []
    for i, c in enumerate(result.conclusions):
        if c.status != Status.UNDETERMINED or c.kind not in REPORTED_KINDS:
            continue
        attrs = kb.types[c.type].attributes
        ident = {k: v for k, v in c.attributes.items() if k in attrs and attrs[k].type in _IDENTIFYING}
        targets.append(_Target(i, c.id, c.type, ident))
    if not targets:
        return result
    search = _Search(program, backend, scenario, ctx, targets, max_evaluations, max_seconds)
    search.run()
    decided = sum(1 for t in targets if t.seen in ({"C"}, {"I"}))
    if not search.evaluations and not search.infeasible:
        return result  # nothing could be split: the plain result stands
    info = CaseSearch(search.evaluations, len(targets), decided, max_evaluations, search.stopped,
                      tuple(search.cases), search.infeasible, search.failed)
    outcomes = {}
    for t in targets:
        if not t.over and not (t.given and t.seen in ({"C"}, {"I"})):
            continue  # never split: its plain status and dependencies stand
        if t.seen == {"C"}:
            status = Status.HOLDS
        elif t.seen == {"I"}:
            status = Status.DOES_NOT_HOLD
        else:
            status = Status.UNDETERMINED
        merged = {}
        if status == Status.HOLDS:
            from ..language.intervals import hull

            for k, vs in t.attrs.items():
                if len(vs) == t.holds_in:  # stated in every case: the range of its values
                    h = hull(vs)
                    if h is not None:
                        merged[k] = json_value(h)
        rules = tuple(sorted({program.branch(a.partition("|")[0]).rule.uid for f, a in t.over if not f}))
        given = tuple(sorted(t.given - {t.cid}))
        outcomes[t.cid] = (status, tuple(Unknown(f, a) for f, a in t.over if f), rules, given, tuple(t.leaves),
                           not t.cut_short, sorted(t.decisive), merged)
    return rebuild_with_cases(result, outcomes, info, catalog)
