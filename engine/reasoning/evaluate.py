"""Evaluation shared by both backends: the fact store, three-valued matching and firing.

Each case is evaluated in two modes at once, stratum by stratum:

* **L** (certain): a condition on an unknown attribute fails; a negation holds only when
  no fact *possibly* matches; a rule defeated by a *possible* exception does not apply.
* **U** (possible): a condition on an unknown attribute passes (and is recorded as an
  assumption); a negation holds unless a fact *certainly* matches.

A conclusion in L *holds*; in U only, it is *undetermined* and depends on the unknowns
recorded along its derivations; in neither, it *does not hold* (or was *defeated*).
The backends differ only in how they find matches: :mod:`.pybackend` by nested-loop joins
over an index, :mod:`.durable_backend` through durable_rules' Rete network. Both call
:meth:`EvalContext.fire`, so a firing's result and provenance are computed by one function.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any
from collections.abc import Iterable, Sequence

from ..errors import EvaluationError
from ..language.expr import ExprError, evaluate as eval_expr
from ..language.intervals import Interval, compare, member
from ..language.kb import CASE_TYPE
from ..language.program import DEFEAT_PREFIX, Branch, CPattern, CTest, Program
from ..language.scenario import Fact, Scenario
from ..language.values import canonical_value, json_value

__all__ = ["Store", "Firing", "EvalContext", "test_holds", "stated", "L", "U", "MAX_FIRINGS"]

L = "L"
U = "U"
_ORDERED = ("<", "<=", ">", ">=", "=", "!=")
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
# (a relation a R b the constraints state, a test a op b) -> the test's value where R decides it
_IMPLIED = {("<", "<"): True, ("<", "<="): True, ("<", ">"): False, ("<", ">="): False, ("<", "="): False,
            ("<", "!="): True, ("<=", "<="): True, ("<=", ">"): False, (">", ">"): True, (">", ">="): True,
            (">", "<"): False, (">", "<="): False, (">", "="): False, (">", "!="): True, (">=", ">="): True,
            (">=", "<"): False}
# A runaway derivation (a rule that feeds itself new values for ever) is found by the depth of
# derivation: without one, a chain of rule applications cannot be longer than the rule base has
# branches plus the case has facts (each step of a chain through no recursion uses another
# branch; a recursion walks at most the case's facts), so a longer chain is a runaway and its
# rules are named. The count of applications is bounded too, as a safety net scaled with the
# case and the rule base (MAX_FIRINGS + FIRINGS_PER_FACT_AND_BRANCH x facts x branches).
MAX_FIRINGS = 10_000
FIRINGS_PER_FACT_AND_BRANCH = 4
DEPTH_MARGIN = 16


@dataclass(frozen=True)
class Firing:
    """One application of a rule branch: the provenance record of what it derived."""

    branch: str
    rule: str
    mode: str
    premises: tuple[str, ...]
    params: tuple[tuple[str, str, Any, str], ...]  # (name, date, value, source)
    assumptions: tuple[tuple[str, str], ...]  # (fact id, attribute) assumed in U mode
    blockers: tuple[str, ...]  # facts that possibly block a negation / defeat (U mode)
    produced: tuple[str, ...]
    defeated_by: tuple[str, ...] = ()  # branch uids of the exceptions that defeated it
    bindings: tuple[tuple[str, Any], ...] = ()
    records: tuple[str, ...] = ()  # defeat records this firing asserted (exceptions)
    # for a derived attribute whose value is a range: the premises' attributes it was computed
    # from, ((conclusion id, attribute, ((fact id, attribute), ...)), ...)
    sources: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()
    # comparisons an interval or an unknown left undecided: ((fact id, attribute, op, point), ...)
    undecided: tuple[tuple[str, str, str, Any], ...] = ()

    @property
    def defeated(self) -> bool:
        """Whether an exception defeated this application."""
        return bool(self.defeated_by)


class Store:
    """All facts of one evaluation and the sets of certain / possible ones."""

    def __init__(self) -> None:
        self.facts: dict[str, Fact] = {}
        self.certain: set[str] = set()
        self.possible: set[str] = set()
        self.by_type: dict[str, list[str]] = {}
        self.index: dict[tuple[str, str], dict[Any, list[str]]] = {}
        self.firings: dict[tuple[str, str, tuple[str, ...]], Firing] = {}
        self.would_produce: dict[str, Fact] = {}

    def add(self, fact: Fact, mode: str) -> bool:
        """Add ``fact`` in ``mode``; True when it is new in that mode."""
        fid = fact.fid
        if fid not in self.facts:
            self.facts[fid] = fact
            self.by_type.setdefault(fact.type, []).append(fid)
            for (t, attr), idx in self.index.items():
                if t == fact.type and fact.has(attr):
                    idx.setdefault(_hashable(fact.get(attr)), []).append(fid)
        if mode == L:
            if fid in self.certain:
                return False
            self.certain.add(fid)
            self.possible.add(fid)
            return True
        if fid in self.possible:
            return False
        self.possible.add(fid)
        return True

    def lookup(self, tname: str, attr: str, value: Any) -> list[str]:
        """The ids of the facts of type ``tname`` whose ``attr`` equals ``value`` (an index built on first use)."""
        key = (tname, attr)
        idx = self.index.get(key)
        if idx is None:
            idx = {}
            for fid in self.by_type.get(tname, ()):
                f = self.facts[fid]
                if f.has(attr):
                    idx.setdefault(_hashable(f.get(attr)), []).append(fid)
            self.index[key] = idx
        return idx.get(_hashable(value), [])

    def in_mode(self, fid: str, mode: str) -> bool:
        """Whether fact ``fid`` is in the store in ``mode`` (certain for L, possible for U)."""
        return fid in (self.certain if mode == L else self.possible)


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


_SIMPLE = (str, int, bool, type(None), _dt.date, Fraction)
_IDS: dict[tuple[Any, ...], str] = {}
_IDS_MAX = 50_000


def _id_key(tname: str, attrs: dict[str, Any]) -> tuple[Any, ...] | None:
    """A key for the memo of :func:`fact_id`: each value with its exact type, so that two keys
    are equal only where the canonical JSON is (1, 1.0 and True differ; a float by its repr);
    None for a value of another kind (an interval), which is not memoised."""
    key: list[Any] = [tname]
    for k, v in attrs.items():
        t = type(v)
        if t in _SIMPLE:
            key.append((k, t, v))
        elif t is float:
            key.append((k, t, repr(v)))
        elif t is list or t is tuple:
            if not all(type(e) in _SIMPLE for e in v):
                return None
            key.append((k, t, tuple((type(e), e) for e in v)))
        else:
            return None
    return tuple(key)


def fact_id(tname: str, attrs: dict[str, Any]) -> str:
    """The id of a derived fact: its type and a hash of its canonical attributes (memoised)."""
    key = _id_key(tname, attrs)
    if key is not None:
        fid = _IDS.get(key)
        if fid is None:
            if len(_IDS) >= _IDS_MAX:
                _IDS.clear()
            fid = _IDS[key] = _fact_id(tname, attrs)
        return fid
    return _fact_id(tname, attrs)


def _fact_id(tname: str, attrs: dict[str, Any]) -> str:
    canon = json.dumps([tname, sorted((k, json_value(v)) for k, v in attrs.items())], sort_keys=True,
                       ensure_ascii=False, separators=(",", ":"))
    return f"{tname}#{hashlib.sha256(canon.encode()).hexdigest()[:12]}"


def stated(fact: Fact, attr: str) -> bool:
    """Whether the case (or a rule) states ``attr``: an unknown bounded only by the world's
    constraints is not stated."""
    if not fact.has(attr):
        return False
    v = fact.get(attr)
    return not (isinstance(v, Interval) and not v.stated)


def test_holds(test: CTest, fact: Fact, env: dict[str, Any], const: Any) -> bool | None:
    """Three-valued test: True, False, or None when the attribute or operand is unknown, or
    known only within bounds that leave the test open."""
    if test.op == "present":
        return stated(fact, test.attr) == bool(test.value)
    if not fact.has(test.attr):
        return None
    val = fact.get(test.attr)
    if test.kind == "var":
        if test.value not in env:
            return None
        other = env[test.value]
        if other is None:
            return None
    elif test.kind == "param":
        other = const
    else:
        other = test.value
    op = test.op
    try:
        if isinstance(val, Interval) or isinstance(other, Interval):
            if op in ("=", "!=", "<", "<=", ">", ">="):
                return compare(val, op, other)
            if op == "in":
                return member(val, other)
            if op == "not_in":
                r = member(val, other)
                return None if r is None else not r
            return False
        if op == "=":
            return bool(val == other)
        if op == "!=":
            return bool(val != other)
        if op == "<":
            return bool(val < other)
        if op == "<=":
            return bool(val <= other)
        if op == ">":
            return bool(val > other)
        if op == ">=":
            return bool(val >= other)
        if op == "in":
            return val in other
        if op == "not_in":
            return val not in other
        if op == "contains":
            return other in (val or ())
    except TypeError:
        return False
    raise EvaluationError(f"unknown operator {op}")


def _in_force(rule: Any, day: Any) -> bool | None:
    """Whether ``rule``'s version is in force on ``day`` (a date or an interval of days)."""
    if not isinstance(day, Interval):
        return bool(rule.in_force(day))
    before = rule.valid_from is not None and (day.lo is None or day.lo < rule.valid_from)
    after = rule.valid_to is not None and (day.hi is None or day.hi > rule.valid_to)
    if not before and not after:
        return True
    if (rule.valid_from is not None and day.hi is not None and day.hi < rule.valid_from) or \
            (rule.valid_to is not None and day.lo is not None and day.lo > rule.valid_to):
        return False
    return None


@dataclass
class EvalContext:
    """The state of one evaluation: program, case, store, and the firing logic."""

    program: Program
    scenario: Scenario
    store: Store = field(default_factory=Store)
    errors: list[str] = field(default_factory=list)
    firing_count: int = 0

    bounded: bool = True  # apply the kb's constraints to the case's facts
    # deciding by cases (cases.py) may fix whether one application of a rule branch happens:
    # (branch uid, premise ids) -> True (its open tests pass: it applies, certainly) / False
    forced: dict[tuple[str, tuple[str, ...]], bool] = field(default_factory=dict)
    # conclusions deciding by cases has shown to hold in every case: certain from the start
    lemmas: tuple[Fact, ...] = ()

    def __post_init__(self) -> None:
        from ..language.constraints import apply_constraints, relations_of

        self.relations: dict[tuple[tuple[str, str], tuple[str, str]], str] = {}
        if self.bounded and self.program.kb.constraints:
            narrowed = apply_constraints(self.program.kb, self.scenario.facts)
            self.inputs: list[Fact] = narrowed.facts
            self.bounds = narrowed.applied
            if not narrowed.violated:
                self.relations = relations_of(narrowed)
        else:
            self.inputs = list(self.scenario.facts)
            self.bounds = ()
        self.case_fact = next((f for f in self.inputs if f.type == CASE_TYPE), None)
        for f in self.inputs:
            self.store.add(f, L)
        for f in self.lemmas:
            self.store.add(f, L)
        n_branches, n_facts = len(self.program.branches), len(self.scenario.facts)
        self.depth_limit = n_branches + n_facts + DEPTH_MARGIN
        self.firing_limit = MAX_FIRINGS + FIRINGS_PER_FACT_AND_BRANCH * n_facts * n_branches
        self.depth: dict[str, int] = {}  # derived fact id -> length of the chain that first derived it
        self.producer: dict[str, tuple[str, tuple[str, ...]]] = {}  # derived fact id -> (rule, premises)

    def _runaway(self, branch: Branch, premises: Sequence[Fact], why: str) -> EvaluationError:
        """The error for a runaway derivation, naming the rules of the longest chain (those
        that repeat along it first)."""
        chain = [branch.rule.uid]
        cur = max((f.fid for f in premises), key=lambda fid: self.depth.get(fid, 0), default=None)
        while cur is not None and cur in self.producer and len(chain) < 10 * self.depth_limit:
            rule, prem = self.producer[cur]
            chain.append(rule)
            cur = max(prem, key=lambda fid: self.depth.get(fid, 0), default=None)
        counts: dict[str, int] = {}
        for r in chain:
            counts[r] = counts.get(r, 0) + 1
        named = sorted(counts, key=lambda r: (-counts[r], r))
        repeated = [r for r in named if counts[r] > 1] or named
        listing = ", ".join(f"{r} ({counts[r]}x)" for r in repeated[:5]) + (" …" if len(repeated) > 5 else "")
        return EvaluationError(f"a runaway derivation: {why}; the rules that feed themselves: {listing}",
                               rules=repeated)

    # ---- versions and parameters ---------------------------------------------------------
    def governing_date(self, branch: Branch) -> _dt.date | Interval | None:
        """The case's date that governs ``branch``'s rule: a date, an interval of days (a
        year, a month, a range or a bounded unknown), or None when unknown."""
        attr = branch.rule.date_attr
        if attr is None or self.case_fact is None:
            return None
        day = self.case_fact.get(attr)
        return day if isinstance(day, (_dt.date, Interval)) else None

    def rule_activity(self, branch: Branch) -> str | None:
        """"L" if the rule version is certainly in force for this case, "U" if possibly, else None."""
        r = branch.rule
        if not r.dated:
            return L
        day = self.governing_date(branch)
        if day is None:
            return U
        active = _in_force(r, day)
        return L if active else (None if active is False else U)

    def const_of(self, branch: Branch, test: CTest) -> Any:
        """The value of the parameter a test of ``branch`` compares with."""
        return self.program.condition_param(branch.rule, test.value).value

    # ---- matching ---------------------------------------------------------------------------
    def match(self, branch: Branch, pat: CPattern, fact: Fact, env: dict[str, Any], mode: str,
              assumptions: list[tuple[str, str]] | None,
              undecided: list[tuple[str, str, str, Any]] | None = None) -> dict[str, Any] | None:
        """Match one positive pattern; returns the extended bindings or None. In mode U the
        unknowns a passing test assumed go to ``assumptions``, and the comparisons left open
        (attribute, operator, the value compared with) to ``undecided``: the points at which
        deciding by cases splits a range."""
        if fact.type != pat.type:
            return None
        for t in pat.tests:
            r = test_holds(t, fact, env, self.const_of(branch, t) if t.kind == "param" else None)
            if r is None and t.kind == "var" and self.relations:
                r = self._by_relation(branch, t, fact, env)
            if r is False:
                return None
            if r is None:
                if mode == L:
                    return None
                if assumptions is not None:
                    val = fact.get(t.attr)
                    if not fact.has(t.attr) or isinstance(val, Interval):
                        assumptions.append((fact.fid, t.attr))
                        if isinstance(val, Interval) and t.kind == "var" and isinstance(env.get(t.value), Interval):
                            src = self._var_origin(branch, t.value, env)
                            if src:
                                assumptions.append(src)
                    elif t.kind == "var":
                        src = self._var_origin(branch, t.value, env)
                        if src:
                            assumptions.append(src)
                if undecided is not None and t.op in _ORDERED:
                    self._note_undecided(branch, t, fact, env, undecided)
        new = dict(env)
        for var, attr in pat.binds:
            if fact.has(attr):
                new[var] = fact.get(attr)
            else:
                if mode == L:
                    return None
                new[var] = None
                if assumptions is not None:
                    assumptions.append((fact.fid, attr))
        if pat.binds:
            new.setdefault("$origin", {})
            origin = dict(new["$origin"])
            for var, attr in pat.binds:
                origin[var] = (fact.fid, attr)
            new["$origin"] = origin
        return new

    def match_lu(self, branch: Branch, pat: CPattern, fact: Fact, env: dict[str, Any]
                 ) -> tuple[dict[str, Any], bool] | None:
        """Match one positive pattern in mode U (as :meth:`match` does without recording), and
        say whether it matches in mode L too: the extended bindings and True when no test was
        left open and no bound attribute is unknown; None when it does not match at all. On a
        match in both modes the bindings are the same."""
        if fact.type != pat.type:
            return None
        sure = True
        for t in pat.tests:
            r = test_holds(t, fact, env, self.const_of(branch, t) if t.kind == "param" else None)
            if r is None and t.kind == "var" and self.relations:
                r = self._by_relation(branch, t, fact, env)
            if r is False:
                return None
            if r is None:
                sure = False
        new = dict(env)
        for var, attr in pat.binds:
            if fact.has(attr):
                new[var] = fact.get(attr)
            else:
                sure = False
                new[var] = None
        if pat.binds:
            origin = dict(new.get("$origin", {}))
            for var, attr in pat.binds:
                origin[var] = (fact.fid, attr)
            new["$origin"] = origin
        return new, sure

    @staticmethod
    def _var_origin(branch: Branch, var: str, env: dict[str, Any]) -> tuple[str, str] | None:
        origin: dict[str, tuple[str, str]] = env.get("$origin", {})
        return origin.get(var)

    def _by_relation(self, branch: Branch, t: CTest, fact: Fact, env: dict[str, Any]) -> bool | None:
        """A comparison of two of the case's attributes that a constraint relates (the
        publication during the author's lifetime is before the death): decided by the relation
        even where neither value is known."""
        src = self._var_origin(branch, t.value, env)
        if src is None:
            return None
        rel = self.relations.get(((fact.fid, t.attr), src))
        return None if rel is None else _IMPLIED.get((rel, t.op))

    def _note_undecided(self, branch: Branch, t: CTest, fact: Fact, env: dict[str, Any],
                        out: list[tuple[str, str, str, Any]]) -> None:
        """Record an open comparison ``fact.attr op other`` (and its mirror when ``other`` comes
        from another fact's attribute), so that a range can be split where the test turns."""
        val = fact.get(t.attr)
        if t.kind == "var":
            other = env.get(t.value)
        elif t.kind == "param":
            other = self.const_of(branch, t)
        else:
            other = t.value
        if other is not None:
            out.append((fact.fid, t.attr, t.op, other))
        if t.kind == "var" and val is not None:
            src = self._var_origin(branch, t.value, env)
            if src:
                out.append((src[0], src[1], _MIRROR[t.op], val))

    def negation(self, branch: Branch, pat: CPattern, env: dict[str, Any], mode: str
                 ) -> tuple[bool, list[str], list[tuple[str, str]]]:
        """(blocked, possible blockers, their assumptions) for one negated pattern."""
        candidates = self._candidates(pat, env)
        possible_blockers: list[str] = []
        assumed: list[tuple[str, str]] = []
        for fid in candidates:
            f = self.store.facts[fid]
            if f.type != pat.type:
                continue
            if mode == U:
                if fid in self.store.certain and self.match(branch, pat, f, env, L, None) is not None:
                    return True, [], []
                if fid in self.store.possible:
                    local: list[tuple[str, str]] = []
                    if self.match(branch, pat, f, env, U, local) is not None:
                        possible_blockers.append(fid)
                        assumed.extend(local)
            else:
                if fid in self.store.possible and self.match(branch, pat, f, env, U, None) is not None:
                    return True, [], []
        return False, possible_blockers, assumed

    def _candidates(self, pat: CPattern, env: dict[str, Any]) -> Iterable[str]:
        for t in pat.tests:
            if t.op == "=" and t.kind == "var" and env.get(t.value) is not None:
                a = self.program.attr_type(pat.type, t.attr)
                if a is not None and a.type == "ref":
                    return list(self.store.lookup(pat.type, t.attr, env[t.value]))
        return list(self.store.by_type.get(pat.type, ()))

    def defeat_status(self, branch: Branch, heads: list[Fact], mode: str
                      ) -> tuple[list[str], list[str]]:
        """(defeating branch uids, possible defeat record ids) for a firing of ``branch``."""
        tname = DEFEAT_PREFIX + branch.rule.id
        records = self.store.by_type.get(tname, ())
        if not records:
            return [], []
        first = heads[0] if heads else None
        defeating: list[str] = []
        possible: list[str] = []
        for fid in records:
            rec = self.store.facts[fid]
            match_attrs = [(k, v) for k, v in rec.attrs if k != "$by"]
            if first is not None and any(first.get(k) != v for k, v in match_attrs):
                continue
            if mode == U:
                if fid in self.store.certain:
                    defeating.append(rec.get("$by"))
                else:
                    possible.append(fid)
            elif fid in self.store.possible:
                defeating.append(rec.get("$by"))
        return sorted(set(defeating)), possible

    # ---- firing --------------------------------------------------------------------------
    def fire(self, branch: Branch, mode: str, premises: Sequence[Fact], *, env: dict[str, Any] | None = None,
             as_certain: bool = False) -> list[tuple[Fact, str]]:
        """Apply ``branch`` in ``mode`` to matched ``premises``; return new (fact, mode) pairs.

        ``env``: the bindings of premises that match in both modes with no test open (the
        python backend's enumeration has them), which spares matching them again.
        ``as_certain`` (with ``env``, in mode U, for a branch whose firings add no fact of a type
        its negations or its own exceptions read): when the firing in mode L of the same
        premises is recorded and no fact those negations and exceptions read is only possible,
        the firing in mode U is that record in mode U (:meth:`_as_certain`)."""
        force = self.forced.get((branch.uid, tuple(f.fid for f in premises))) if self.forced else None
        if force is False:
            return []  # this case is one where the application's open tests fail
        if force is True and mode == U and all(f.fid in self.store.certain for f in premises):
            # a case where its open tests pass: it applies certainly (then, as always, possibly)
            return self._fire(branch, L, premises, True, env) + self._fire(branch, U, premises, False, env)
        if as_certain and force is None and env is not None and mode == U:
            done = self._as_certain(branch, premises)
            if done is not None:
                return done
        return self._fire(branch, mode, premises, force is True and mode == L, env)

    def _as_certain(self, branch: Branch, premises: Sequence[Fact]) -> list[tuple[Fact, str]] | None:
        """The firing in mode U of premises that match in both modes with no test open, taken
        from the firing in mode L when that is what computing it would give; None otherwise.

        That firing in mode L happened (its record exists), so the rule was certainly in force,
        no negation was possibly blocked and every conclusion's value was known. With no fact
        of a negated type or a defeat record of the rule only possible, mode U then finds the
        same: no blocker, no assumption, no open comparison, the same defeats, the same
        conclusions (already certain, so none is new)."""
        prem = tuple(f.fid for f in premises)
        store = self.store
        if (branch.uid, U, prem) in store.firings:
            return []
        rec = store.firings.get((branch.uid, L, prem))
        if rec is None:
            return None
        certain = store.certain
        for t in [p.type for p in branch.negations] + [DEFEAT_PREFIX + branch.rule.id]:
            for fid in store.by_type.get(t, ()):
                if fid not in certain:
                    return None
        self.firing_count += 1
        if self.firing_count > self.firing_limit:  # the depth is that of the firing in mode L
            raise self._runaway(branch, premises, f"more than {self.firing_limit} rule applications")
        store.firings[(branch.uid, U, prem)] = dataclasses.replace(rec, mode=U)
        return []

    def _fire(self, branch: Branch, mode: str, premises: Sequence[Fact], lenient: bool,
              given: dict[str, Any] | None = None) -> list[tuple[Fact, str]]:
        key = (branch.uid, mode, tuple(f.fid for f in premises))
        if key in self.store.firings:
            return []
        activity = self.rule_activity(branch)
        if activity is None or (mode == L and activity != L):
            return []
        assumptions: list[tuple[str, str]] = []
        undecided: list[tuple[str, str, str, Any]] = []
        if activity == U and branch.rule.date_attr:
            assumptions.append(("case:case", branch.rule.date_attr))
            day = self.governing_date(branch)
            if isinstance(day, Interval):
                for bound in (branch.rule.valid_from, branch.rule.valid_to):
                    if bound is not None:
                        undecided.append(("case:case", branch.rule.date_attr,
                                          "<" if bound is branch.rule.valid_from else "<=", bound))
        env: dict[str, Any] | None = {}
        # bindings that hold in both modes with no test open are what matching again would give
        # (and it would record no assumption and no open comparison)
        for pat, fact in zip(branch.positives, premises) if given is None else ():
            if lenient:  # the tests left open pass in this case; the stated values still decide
                env = self.match(branch, pat, fact, env or {}, U, [], None)
            else:
                env = self.match(branch, pat, fact, env or {}, mode, assumptions, undecided if mode == U else None)
            if env is None:
                return []
        if given is not None:
            env = given
        assert env is not None
        blockers: list[str] = []
        for neg in branch.negations:
            blocked, maybe, assumed = self.negation(branch, neg, env, mode)
            if blocked:
                return []
            blockers.extend(maybe)
            assumptions.extend(assumed)
        self.firing_count += 1
        depth = 1 + max((self.depth.get(f.fid, 0) for f in premises), default=0)
        if depth > self.depth_limit:
            raise self._runaway(branch, premises, f"a chain of more than {self.depth_limit} rule applications, "
                                f"each using the conclusion of the one before")
        if self.firing_count > self.firing_limit:
            raise self._runaway(branch, premises, f"more than {self.firing_limit} rule applications")
        params: list[tuple[str, str, Any, str]] = []
        for pat in list(branch.positives) + list(branch.negations):
            for t in pat.tests:
                if t.kind == "param":
                    pv = self.program.condition_param(branch.rule, t.value)
                    # json_value: a date-typed parameter is recorded as its ISO text, like other dates
                    params.append((t.value, pv.start.isoformat(), json_value(pv.value), pv.source))
        heads: list[Fact] = []
        ranged: list[tuple[int, str, tuple[tuple[str, str], ...]]] = []
        for h in branch.heads:
            attrs: dict[str, Any] = {}
            for name, hv in h.attrs:
                if hv.kind == "lit":
                    value = hv.value
                elif hv.kind == "var":
                    value = env.get(hv.value)
                else:
                    value = self._eval_head(branch, hv, env, params, assumptions)
                if value is None:
                    if mode == L:
                        return []  # a certain conclusion cannot carry an unknown value
                    continue
                if isinstance(value, Interval):
                    # a range: the conclusion holds with a value somewhere in it
                    value = value.with_stated(True)
                    ranged.append((len(heads), name, self._range_sources(branch, hv, env)))
                a = self.program.attr_type(h.type, name)
                attrs[name] = canonical_value(a.type if a else "string", value)
            heads.append(Fact(fact_id(h.type, attrs), h.type, tuple(sorted(attrs.items()))))
        sources = tuple(sorted((heads[i].fid, name, src) for i, name, src in ranged))
        for hf in heads:
            if hf.fid not in self.depth:
                self.depth[hf.fid] = depth
                self.producer[hf.fid] = (branch.rule.uid, tuple(f.fid for f in premises))
        defeated_by, possible_defeats = self.defeat_status(branch, heads, mode) if not branch.aux else ([], [])
        blockers.extend(possible_defeats)
        params = list(dict.fromkeys(params))  # each value read once in the record
        prem = tuple(f.fid for f in premises)
        bindings = tuple(sorted((k, v) for k, v in env.items() if not k.startswith("$")))
        if defeated_by:
            for hf in heads:
                self.store.would_produce.setdefault(hf.fid, hf)
            self.store.firings[key] = Firing(branch.uid, branch.rule.uid, mode, prem, tuple(params),
                                             tuple(sorted(set(assumptions))), tuple(sorted(set(blockers))),
                                             tuple(h.fid for h in heads), tuple(defeated_by), bindings, (),
                                             sources, _undecided(undecided))
            return []
        new: list[tuple[Fact, str]] = []
        for hf in heads:
            if self.store.add(hf, mode):
                new.append((hf, mode))
        records: list[str] = []
        for d in branch.defeats:
            rec_attrs: dict[str, Any] = {"$by": branch.uid}
            for attr, var in d.match:
                rec_attrs[attr] = env.get(var)
            rec = Fact(fact_id(DEFEAT_PREFIX + d.target, rec_attrs), DEFEAT_PREFIX + d.target,
                       tuple(sorted(rec_attrs.items())))
            self.store.add(rec, mode)
            records.append(rec.fid)
        self.store.firings[key] = Firing(branch.uid, branch.rule.uid, mode, prem, tuple(params),
                                         tuple(sorted(set(assumptions))), tuple(sorted(set(blockers))),
                                         tuple(h.fid for h in heads), (), bindings, tuple(records),
                                         sources, _undecided(undecided))
        return new

    def _range_sources(self, branch: Branch, hv: Any, env: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        """The premises' attributes a derived range was computed from (those that are ranges
        or unknown themselves), and the governing date when it is a range."""
        from ..language.expr import variables

        names = [hv.value] if hv.kind == "var" else [v for v, _ in variables(hv.value)]
        origin: dict[str, tuple[str, str]] = env.get("$origin", {})
        out = {origin[v] for v in names if v in origin and (env.get(v) is None or isinstance(env.get(v), Interval))}
        if hv.kind == "expr" and isinstance(self.governing_date(branch), Interval) and branch.rule.date_attr:
            out.add(("case:case", branch.rule.date_attr))
        return tuple(sorted(out))

    def _read_range(self, branch: Branch, p: Any, when: Interval, params: list[tuple[str, str, Any, str]],
                    unknown: Any) -> Any:
        """A parameter over a range of days: the value if one is in force throughout, the range
        of its values if it changes (numbers), unknown if part of the range has no value in
        force or the values are not numbers that differ."""
        if when.lo is None:
            unknown()
            return None
        vals = p.values_between(when.lo, when.hi)
        covered = bool(vals) and vals[0].start <= when.lo
        for i, pv in enumerate(vals):
            last = p.effective_end(p.values.index(pv))
            nxt = vals[i + 1].start if i + 1 < len(vals) else None
            if nxt is not None and (last is None or last + _dt.timedelta(days=1) < nxt):
                covered = False
            if nxt is None and last is not None and (when.hi is None or last < when.hi):
                covered = False
        if not covered:
            unknown()
            return None
        for pv in vals:
            start = max(pv.start, when.lo)
            params.append((p.name, start.isoformat(), json_value(pv.value), pv.source))
        values = [pv.value for pv in vals]
        if all(v == values[0] for v in values):
            return values[0]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return Interval(min(values), max(values))
        unknown()
        return None

    def _eval_head(self, branch: Branch, hv: Any, env: dict[str, Any], params: list[tuple[str, str, Any, str]],
                   assumptions: list[tuple[str, str]]) -> Any:
        gov = self.governing_date(branch)
        unknown_gov = False

        def _set_unknown() -> None:
            nonlocal unknown_gov
            unknown_gov = True

        def read(name: str, day: Any) -> Any:
            nonlocal unknown_gov
            when = day if day is not None else gov
            if when is None:
                unknown_gov = True
                return None
            p = self.program.kb.parameters[name]
            if isinstance(when, Interval):
                return self._read_range(branch, p, when, params, lambda: _set_unknown())
            pv = p.at(when)
            if pv is None:
                raise EvaluationError(
                    f"rule {branch.rule.uid}: parameter '{name}' has no value in force on {when.isoformat()} "
                    f"(values from {p.values[0].start.isoformat() if p.values else 'nowhere'}); "
                    f"the case's date is outside the encoded period", rules=[branch.rule.uid])
            params.append((name, when.isoformat(), json_value(pv.value), pv.source))
            return pv.value

        try:
            value = eval_expr(hv.value, env, read)
        except ExprError as exc:
            raise EvaluationError(f"rule {branch.rule.uid}: {exc} in '{hv.text}'", rules=[branch.rule.uid]) from exc
        if value is None:
            for var, _ in _expr_vars(hv.value):
                if env.get(var) is None:
                    origin = env.get("$origin", {}).get(var)
                    if origin:
                        assumptions.append(origin)
            if unknown_gov and branch.rule.date_attr:
                assumptions.append(("case:case", branch.rule.date_attr))
        return value


def _undecided(items: list[tuple[str, str, str, Any]]) -> tuple[tuple[str, str, str, Any], ...]:
    out = []
    seen = set()
    for fid, attr, op, point in items:
        k = (fid, attr, op, json.dumps(json_value(point), sort_keys=True))
        if k not in seen:
            seen.add(k)
            out.append((k, (fid, attr, op, point)))
    return tuple(x for _, x in sorted(out, key=lambda kv: kv[0]))


def _expr_vars(e: Any) -> list[tuple[str, int]]:
    from ..language.expr import variables

    return variables(e)
