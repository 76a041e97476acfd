"""The durable_rules backend: the compiled program as a durable ruleset, behind a defensive driver.

This module is the only place that imports ``durable``. It guards every trap listed in
../shared/notes/durable-rules.md:

* facts carry the compiler's own ``t`` (type), ``m`` (mode) and ``f`` (fact id); ``id`` and
  ``sid`` are never attributes (the checker rejects them), values have one JSON type each;
* ``in`` compiles to ``$or`` of equalities, never ``$in``; a join never reads an attribute
  that may be absent (error 311): such a test is left to the Python side of the action;
* every action catches its own exceptions (durable swallows them) and so does each assert;
  the session state is checked afterwards;
* the rule base is split into rulesets within durable's structural limits (:func:`plan_shards`,
  rules grouped by dependency); a fact is asserted only into the rulesets whose rules test its
  type, and a derived fact is routed by the driver after its action returns (no nested asserts);
* negation is stratified: a rule of stratum k waits for the gate fact ``$phase n=k`` (tested
  exactly, placed after the first pattern, every ``$not`` last), asserted once stratum k-1
  has reached its fixpoint in every ruleset; exceptions are resolved against the complete
  lower strata;
* one Host per process, its rulesets registered once per rule-base version; fresh sessions per
  case, only in the rulesets the case's facts reach, each begun by a ``$begin`` fact whose
  no-op rule makes ``delete_state`` safe; no threads: the Host's background dispatcher threads
  are never started.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from ..errors import EvaluationError
from .evaluate import L, U, EvalContext
from ..language.intervals import Interval
from ..language.program import DEFEAT_PREFIX, Branch, CPattern, CTest, Program
from ..language.values import NUMERIC_UNITS
from ..language.scenario import Fact, Scenario

__all__ = ["DurableBackend", "durable_available", "durable_import_error", "compile_ruleset"]

try:  # durable-rules 2.0.28 does not import on Python >= 3.13
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from durable import engine as _engine  # type: ignore[import-untyped]
    _IMPORT_ERROR = ""
except Exception as exc:  # pragma: no cover - depends on the interpreter
    _engine = None
    _IMPORT_ERROR = f"{type(exc).__name__}: {exc}"


def _fixed(x: float) -> str:
    """A float as JSON in fixed-point notation: durable_rules' JSON parser refuses exponents
    (error 204 on 5e-05, which Python writes for every number between 0 and 0.0001)."""
    r = repr(x)
    if "e" not in r:
        return r
    from decimal import Decimal

    t = format(Decimal(r), "f")
    return t if "." in t else t + ".0"


def _has_exponent(o: Any) -> bool:
    if isinstance(o, float):
        return "e" in repr(o)
    if isinstance(o, dict):
        return any(_has_exponent(v) for v in o.values())
    if isinstance(o, (list, tuple)):
        return any(_has_exponent(v) for v in o)
    return False


def _json_fixed(o: Any) -> str:
    if isinstance(o, float):
        return _fixed(o)
    if isinstance(o, dict):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" + _json_fixed(v) for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(_json_fixed(v) for v in o) + "]"
    return json.dumps(o, ensure_ascii=False)


def _dumps(o: Any, **kwargs: Any) -> str:
    """json.dumps for durable_rules: the same text, except that floats are never written with
    an exponent, so both engines take every number the checker accepts."""
    if _has_exponent(o):
        return _json_fixed(o)
    return json.dumps(o, **kwargs)


if _engine is not None:  # durable's engine module serialises every fact and ruleset through its `json`
    import types

    _engine.json = types.SimpleNamespace(dumps=_dumps, loads=json.loads)


def durable_available() -> bool:
    """Whether durable_rules imported (it does not on Python ≥ 3.13)."""
    return _engine is not None


def durable_import_error() -> str:
    """The text of the error that kept durable_rules from importing ("" when it imported)."""
    return _IMPORT_ERROR


def _enc(value: Any) -> Any:
    """Python value → durable JSON value (dates as day numbers, tuples as lists)."""
    if isinstance(value, _dt.date):
        return value.toordinal()
    if isinstance(value, tuple):
        return [_enc(v) for v in value]
    return value


_CMP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def _lit_test(t: CTest, value: Any) -> dict[str, Any]:
    a = t.attr
    if t.op == "present":
        return {"$ex": {a: 1}} if value else {"$nex": {a: 1}}
    if t.op == "=":
        return {a: _enc(value)}
    if t.op in _CMP:
        return {_CMP[t.op]: {a: _enc(value)}}
    if t.op == "in":
        alts = [{a: _enc(v)} for v in value]
        return alts[0] if len(alts) == 1 else {"$or": alts}
    if t.op == "not_in":
        return {"$and": [{"$neq": {a: _enc(v)}} for v in value]}
    if t.op == "contains":
        return {"$iany": {a: {"$i": _enc(value)}}}
    raise ValueError(t.op)


def _join_test(t: CTest, alias: str, attr: str) -> dict[str, Any]:
    ref = {alias: attr}
    if t.op == "=":
        return {t.attr: ref}
    return {_CMP[t.op]: {t.attr: ref}}


def _may_be_range(program: Program, tname: str, attr: str) -> bool:
    """Whether the attribute can hold a range (dates and numbers can): durable never sees one."""
    a = program.attr_type(tname, attr)
    return a is None or a.type == "date" or a.type in NUMERIC_UNITS


def _is_entity_attr(program: Program, tname: str, attr: str) -> bool:
    a = program.attr_type(tname, attr)
    return a is not None and a.type == "ref" and a.required


def _pattern(program: Program, b: Branch, p: CPattern, mode: str, negated: bool,
             const: Callable[[Branch, CTest], Any]) -> dict[str, Any]:
    """One durable pattern. ``mode`` is the semantics its tests use (L strict, U lenient)."""
    parts: list[dict[str, Any]] = [{"t": p.type}]
    if (not negated and mode == L) or (negated and mode == L):
        parts.append({"m": L})
    for t in p.tests:
        if t.kind in ("lit", "param"):
            value = const(b, t) if t.kind == "param" else t.value
            test = _lit_test(t, value)
            if t.op == "present":
                if _may_be_range(program, p.type, t.attr):
                    # a range is not sent to durable, so durable cannot see whether it is stated:
                    # a positive pattern lets the fact through (the action checks it); a negated
                    # one is dropped by the caller (a negation durable does not check is checked
                    # by the action)
                    continue
                parts.append(test)
            elif mode == L:
                parts.append({"$ex": {t.attr: 1}})
                parts.append(test)
            else:
                parts.append({"$or": [{"$nex": {t.attr: 1}}, test]})
            continue
        # a join on a variable
        if t.op == "contains":
            continue  # left to the action
        src = b.var_source.get(t.value)
        if src is None:
            continue
        entity = _is_entity_attr(program, p.type, t.attr) and b.var_types[t.value].entity
        if mode == U and not entity:
            continue  # may read an absent attribute: the action checks it
        if mode == L:
            parts.append({"$ex": {t.attr: 1}})
        parts.append(_join_test(t, src[0], src[1]))
    if mode == L and not negated:
        for _var, attr in p.binds:
            parts.append({"$ex": {attr: 1}})
    return parts[0] if len(parts) == 1 else {"$and": parts}


def compile_ruleset(program: Program, const: Callable[[Branch, CTest], Any],
                    branches: list[Branch] | None = None) -> dict[str, Any]:
    """The program's ``branches`` (default: all) as a durable ruleset dict (actions named by strings).

    Each branch becomes one durable rule with the lenient (possible, U) semantics: every
    certain match is also a possible match, so its action decides both modes (a certain
    firing needs certain premises, which the action checks, and no possible blocker, which
    ``EvalContext.fire`` checks against the complete lower strata). One rule a branch, not two,
    halves durable's memory (~16 KB a rule), registration and session set-up."""
    rules: dict[str, Any] = {"$begin": {"all": [{"b": {"t": "$begin"}}], "run": "$begin"}}
    for b in program.branches if branches is None else branches:
        pats: list[dict[str, Any]] = []
        if b.rule.dated:
            pats.append({"va": {"$and": [{"t": "$active"}, {"r": b.rule.uid}]}})
        for i, p in enumerate(b.positives):
            if p.same_as is not None:
                continue  # the same fact as an earlier pattern: its tests run in the action
            pats.append({p.alias: _pattern(program, b, p, U, False, const)})
            if i == 0 and b.stratum > 0:
                pats.append({"gate": {"$and": [{"t": "$phase"}, {"n": b.stratum}]}})
        for j, n in enumerate(b.negations):
            # a possible firing is blocked only by a *certain* blocker (strict tests, m = L);
            # whether a possible blocker stops the certain firing is decided in the action
            if any(t.op == "present" and _may_be_range(program, n.type, t.attr) for t in n.tests):
                continue  # durable cannot tell a stated range from an unknown: the action decides
            pats.append({f"x{j}$not": _pattern(program, b, n, L, True, const)})
        rules[b.uid] = {"all": pats, "run": b.uid}
    return rules



# Per-shard limits, below durable_rules' own (../shared/notes/durable-rules.md §4.5): every rule
# of a stratum > 0 shares the gate pattern, and durable refuses more than 256 rules behind one
# identical pattern (error 108); a fact is refused when asserted (error 303) if it starts more
# than 64 rules through one identical first pattern (measured: 65 fail, 64 pass) or matches
# more than 64 distinct patterns of its type in any position (found in review: 71 distinct
# patterns on one type fail); more than 512 tests under one alpha node hang registration;
# 4,096 rules is the hard cap, and a session costs ~11 KB a rule to set up.
SHARD_MAX_RULES = 200
SHARD_MAX_SHARED = 60  # rules behind one gate or starting on one fact type; distinct patterns a type
SHARD_MAX_TYPES = 400


@dataclass
class Shard:
    """One durable ruleset: a group of whole rules and the fact types they test."""

    branches: list[Branch] = field(default_factory=list)
    types: set[str] = field(default_factory=set)
    shared: Counter[Any] = field(default_factory=Counter)
    patterns: dict[str, set[Any]] = field(default_factory=dict)  # fact type -> distinct patterns

    def fits(self, unit: Shard) -> bool:
        """Whether ``unit`` can join this ruleset within durable_rules' limits (rules, types, shared patterns)."""
        return (len(self.branches) + len(unit.branches) <= SHARD_MAX_RULES
                and len(self.types | unit.types) <= SHARD_MAX_TYPES
                and all(self.shared[k] + n <= SHARD_MAX_SHARED for k, n in unit.shared.items())
                and all(len(self.patterns.get(t, set()) | ps) <= SHARD_MAX_SHARED
                        for t, ps in unit.patterns.items()))

    def add(self, unit: Shard) -> None:
        """Merge ``unit`` into this ruleset."""
        self.branches.extend(unit.branches)
        self.types |= unit.types
        self.shared.update(unit.shared)
        for t, ps in unit.patterns.items():
            self.patterns.setdefault(t, set()).update(ps)


def _unit(branches: list[Branch]) -> Shard:
    u = Shard()
    for b in branches:
        u.branches.append(b)
        u.types |= {p.type for p in b.positives + b.negations}
        if b.stratum > 0:
            u.shared[("gate", b.stratum)] += 1
        if b.positives:
            p = b.positives[0]
            u.shared[("first", p.type)] += 1
        # one fact may match at most 64 distinct patterns of its type, in any position (a
        # lenient test matches a fact without the attribute): error 303 beyond
        for negated, pats in ((False, b.positives), (True, b.negations)):
            for p in pats:
                sig = (negated, tuple((t.attr, t.op, t.kind, str(t.value)) for t in p.tests))
                u.patterns.setdefault(p.type, set()).add(sig)
    return u


def _natural(rule_id: str) -> tuple[Any, ...]:
    return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.split(r"(\d+)", rule_id))


def plan_shards(program: Program) -> list[Shard]:
    """Split the program into rulesets within durable's limits. Rules are grouped by dependency
    (a rule that derives a fact type another tests is kept with it where the limits allow), so
    that few derived facts cross rulesets; whole groups are packed first-fit in the order of
    their first rule id. A group too large for one ruleset is split rule by rule."""
    by_rule: dict[str, list[Branch]] = {}
    for b in program.branches:
        by_rule.setdefault(b.rule.id, []).append(b)
    parent = {r: r for r in by_rule}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    producers: dict[str, list[str]] = {}
    for rid, bs in by_rule.items():
        for b in bs:
            for h in b.heads:
                producers.setdefault(h.type, []).append(rid)
        for b in bs:
            for d in b.defeats:
                producers.setdefault(DEFEAT_PREFIX + d.target, []).append(rid)
    def union(x: str, y: str) -> None:
        a, c = find(x), find(y)
        if a != c:
            parent[max(a, c, key=_natural)] = min(a, c, key=_natural)

    for rid, bs in sorted(by_rule.items()):
        for b in bs:
            for pat in b.positives + b.negations:
                for other in producers.get(pat.type, ()):
                    union(rid, other)
            for d in b.defeats:  # an exception and the rule it defeats
                if d.target in by_rule:
                    union(rid, d.target)
    groups: dict[str, list[str]] = {}
    for rid in sorted(by_rule, key=_natural):
        groups.setdefault(find(rid), []).append(rid)
    units: list[Shard] = []
    # in the order of the rule ids (numbers compared as numbers): rules written together, such
    # as the rules of one article, tend to be used by the same cases and share a ruleset
    for _root, rids in sorted(groups.items(), key=lambda kv: _natural(kv[0])):
        whole = _unit([b for r in rids for b in by_rule[r]])
        if Shard().fits(whole):
            units.append(whole)
        else:
            units.extend(_unit(by_rule[r]) for r in rids)
    shards: list[Shard] = []
    for u in units:
        target = next((sh for sh in shards if sh.fits(u)), None)
        if target is None:
            target = Shard()
            shards.append(target)
        target.add(u)
    return shards or [Shard()]

class DurableBackend:
    """Evaluates cases through durable_rules; one instance per rule-base version per process."""

    name = "durable"
    _host: Any = None
    _counter = itertools.count(1)
    _registered: dict[str, DurableBackend] = {}

    def __init__(self, program: Program):
        if _engine is None:
            raise EvaluationError(f"durable_rules cannot be imported here ({_IMPORT_ERROR})")
        self.program = program
        self.ctx: EvalContext | None = None
        self.outbox: list[tuple[Fact, str]] = []
        self.level = 0
        self.gated: set[tuple[int, int]] = set()
        self.sid = "s0"
        self.sid_counter = itertools.count(1)
        cls = type(self)
        if cls._host is None:
            cls._host = _make_host()
        self.host = cls._host
        self.shards = plan_shards(program)
        base = f"kz{program.fingerprint or 'x'}_{next(cls._counter)}"
        self.rulesets = [f"{base}_{i}" for i in range(len(self.shards))]
        # routing: a fact type goes only to the rulesets whose rules test it; an $active fact
        # only to the ruleset of its rule; a stratum's gate only to the rulesets that wait for it
        self.routes: dict[str, list[int]] = {}
        self.active_route: dict[str, int] = {}
        self.gates: dict[int, list[int]] = {}
        for i, sh in enumerate(self.shards):
            for t in sorted(sh.types):
                self.routes.setdefault(t, []).append(i)
            for b in sh.branches:
                if b.rule.dated:
                    self.active_route[b.rule.uid] = i
                if b.stratum > 0 and i not in self.gates.setdefault(b.stratum, []):
                    self.gates[b.stratum].append(i)
        self.dated = sorted(self.active_route)
        self.branch_of_rule = {b.rule.uid: b for b in program.branches}
        for name, sh in zip(self.rulesets, self.shards):
            actions: dict[str, Callable[[Any], None]] = {"$begin": lambda c: None}
            for b in sh.branches:
                actions[b.uid] = self._make_action(b)
            self.host.actions.update({f"{name}/{k}": v for k, v in actions.items()})
            self.host.current_ruleset = name
            self.host.register_rulesets({name: compile_ruleset(program, self._const, sh.branches)})

    def _const(self, b: Branch, t: CTest) -> Any:
        return self.program.condition_param(b.rule, t.value).value

    @classmethod
    def for_program(cls, program: Program) -> DurableBackend:
        """The backend for ``program``, registered with durable_rules once per rule base (by fingerprint)."""
        key = program.fingerprint or str(id(program))
        inst = cls._registered.get(key)
        if inst is None or inst.program is not program:
            inst = cls(program)
            cls._registered[key] = inst
        return inst

    def _make_action(self, b: Branch) -> Callable[[Any], None]:
        aliases = [p.same_as or p.alias for p in b.positives]

        def action(c: Any) -> None:
            ctx = self.ctx
            if ctx is None:
                return
            mode = U
            try:
                m = c._m
                premises = [ctx.store.facts[m[a]["f"]] for a in aliases]
                # new facts are routed by the driver, after this action returns: a fact may be
                # tested in other rulesets, and durable's nested asserts are not relied on
                if all(f.fid in ctx.store.certain for f in premises):
                    mode = L
                    self.outbox.extend(ctx.fire(b, L, premises))
                mode = U
                self.outbox.extend(ctx.fire(b, U, premises))
            except EvaluationError as exc:
                ctx.errors.append(str(exc))
            except Exception as exc:  # durable would swallow it: record it instead
                ctx.errors.append(f"rule {b.rule.uid} ({mode}): {type(exc).__name__}: {exc}")

        return action

    def _durable_fact(self, fact: Fact, mode: str) -> dict[str, Any]:
        d: dict[str, Any] = {"t": fact.type, "m": mode, "f": fact.fid}
        for k, v in fact.attrs:
            if k.startswith("$") or isinstance(v, Interval):
                # a range is left out: every lenient test lets the fact through, every strict
                # one (a negation) fails, and the action decides in Python
                continue
            d[k] = _enc(v)
        return d

    def _send(self, sid: str, shard: int, d: dict[str, Any], opened: set[int]) -> None:
        """Assert ``d`` into one ruleset's session. On first use the session is begun and given
        the gates already opened in this evaluation (the lower strata are complete)."""
        name = self.rulesets[shard]
        if shard not in opened:
            opened.add(shard)
            self._top_assert(name, sid, {"t": "$begin"})
            for k in range(1, self.level + 1):
                self._gate(sid, shard, k)
        self._top_assert(name, sid, d)

    def _gate(self, sid: str, shard: int, k: int) -> None:
        if shard in self.gates.get(k, ()) and (shard, k) not in self.gated:
            self.gated.add((shard, k))
            self._top_assert(self.rulesets[shard], sid, {"t": "$phase", "n": k})

    def _route(self, sid: str, fact: Fact, mode: str, opened: set[int]) -> None:
        targets = self.routes.get(fact.type)
        if targets:
            d = self._durable_fact(fact, mode)
            for i in targets:
                self._send(sid, i, d, opened)

    def _drain(self, sid: str, opened: set[int]) -> None:
        while self.outbox:
            batch, self.outbox = self.outbox, []
            for fact, mode in batch:
                self._route(sid, fact, mode, opened)

    def _top_assert(self, ruleset: str, sid: str, d: dict[str, Any]) -> None:
        d = dict(d, sid=sid)
        try:
            self.host.assert_fact(ruleset, d)
        except Exception as exc:
            name = type(exc).__name__
            if name == "MessageNotHandledException":
                return  # no rule of this ruleset can use it
            if name == "MessageObservedException":
                # durable saw an identical fact: a 32-bit hash collision (notes §4.1); re-assert
                # with a salt so that the fact is not lost
                try:
                    self.host.assert_fact(ruleset, dict(d, _salt=1))
                    return
                except Exception as exc2:  # pragma: no cover - would need two collisions
                    exc = exc2
                    name = type(exc2).__name__
            raise EvaluationError(f"durable_rules rejected a fact of type {d.get('t')}: {name}: {exc}") from exc

    def evaluate(self, scenario: Scenario, *, bounded: bool = True) -> EvalContext:
        """Evaluate ``scenario`` through durable_rules; returns the evaluation's context (store, firings)."""
        ctx = EvalContext(self.program, scenario, bounded=bounded)
        self.ctx = ctx
        self.outbox = []
        self.level = 0  # the highest gate opened so far
        self.gated = set()  # (ruleset, stratum) gates asserted
        sid = self.sid
        opened: set[int] = set()  # rulesets that got a fact of this case
        try:
            for uid in self.dated:
                act = ctx.rule_activity(self.branch_of_rule[uid])
                if act is not None:
                    self._send(sid, self.active_route[uid], {"t": "$active", "r": uid, "m": act}, opened)
            for f in ctx.inputs:  # the case's facts, narrowed by the kb's constraints
                self._route(sid, f, L, opened)
                self._drain(sid, opened)
            for k in range(1, self.program.strata + 1):
                # every lower stratum is complete in every ruleset before a gate opens; a
                # ruleset that has no fact of this case cannot fire (it gets the open gates
                # with its first fact)
                self.level = k
                for i in self.gates.get(k, ()):
                    if i in opened:  # a ruleset opened meanwhile got the gate in _send
                        self._gate(sid, i, k)
                        self._drain(sid, opened)
            for i in sorted(opened):
                state = self.host.get_state(self.rulesets[i], sid)
                if isinstance(state, dict) and state.get("exception"):
                    ctx.errors.append(f"durable_rules reported: {str(state['exception'])[:500]}")
        finally:
            self.ctx = None  # from here on, actions do nothing
            self.outbox = []
            self._reset(sid, opened)
        if ctx.errors:
            raise EvaluationError("; ".join(sorted(set(ctx.errors)))[:2000])
        return ctx

    def _reset(self, sid: str, opened: set[int]) -> None:
        """Delete this case's sessions. (Emptying and reusing them would save durable's session
        set-up, ~11 KB of zeroed memory a rule, but retracting facts crashed durable_rules 2.0.28
        with a segmentation fault in a long property-test run, so every case gets fresh ones;
        a ruleset that no fact of the case reaches never gets a session.)"""
        for i in sorted(opened):
            try:
                self.host.delete_state(self.rulesets[i], sid)
            except Exception:  # pragma: no cover - defensive
                pass
        self.sid = f"s{next(self.sid_counter)}"


def _make_host() -> Any:
    assert _engine is not None

    class _Host(_engine.Host):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.actions: dict[str, Callable[[Any], None]] = {}
            self.current_ruleset = ""
            super().__init__()

        def get_action(self, action_name: str) -> Callable[[Any], None]:
            return self.actions[f"{self.current_ruleset}/{action_name}"]

        def _run(self) -> None:
            """No background dispatcher: durable's Host starts two timer threads that call
            ``ruleset.dispatch()`` while the main thread asserts facts, a race that corrupts
            results (seen as error 307, ERR_NODE_DELETED). Actions run synchronously inside
            ``assert_fact(s)``; events and timers, which need the dispatcher, are not used."""

    return _Host()

