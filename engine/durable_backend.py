"""The durable_rules backend: the compiled program as a durable ruleset, behind a defensive driver.

This module is the only place that imports ``durable``. It guards every trap listed in
../shared/notes/durable-rules.md:

* facts carry the compiler's own ``t`` (type), ``m`` (mode) and ``f`` (fact id); ``id`` and
  ``sid`` are never attributes (the checker rejects them), values have one JSON type each;
* ``in`` compiles to ``$or`` of equalities, never ``$in``; a join never reads an attribute
  that may be absent (error 311): such a test is left to the Python side of the action;
* every action catches its own exceptions (durable swallows them) and so does each assert;
  facts that no rule consumes are not asserted; the session state is checked afterwards;
* negation is stratified: a rule of stratum k waits for the gate fact ``$phase n=k`` (tested
  exactly, placed after the first pattern, every ``$not`` last), asserted once stratum k-1
  has reached its fixpoint; exceptions are resolved against the complete lower strata;
* one Host per process, one ruleset per rule-base version, registered once; a fresh session
  per case, begun by a ``$begin`` fact whose no-op rule makes ``delete_state`` safe; no threads:
  the Host's background dispatcher threads are never started.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from typing import Any
from collections.abc import Callable

from .errors import EvaluationError
from .evaluate import L, U, EvalContext
from .program import Branch, CPattern, CTest, Program
from .scenario import Fact, Scenario

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


def durable_available() -> bool:
    return _engine is not None


def durable_import_error() -> str:
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
        entity = _is_entity_attr(program, p.type, t.attr) and b.var_types[t.value][2]
        if mode == U and not entity:
            continue  # may read an absent attribute: the action checks it
        if mode == L:
            parts.append({"$ex": {t.attr: 1}})
        parts.append(_join_test(t, src[0], src[1]))
    if mode == L and not negated:
        for _var, attr in p.binds:
            parts.append({"$ex": {attr: 1}})
    return parts[0] if len(parts) == 1 else {"$and": parts}


def compile_ruleset(program: Program, const: Callable[[Branch, CTest], Any]) -> dict[str, Any]:
    """The program as a durable ruleset dict (actions named by strings)."""
    rules: dict[str, Any] = {"$begin": {"all": [{"b": {"t": "$begin"}}], "run": "$begin"}}
    for b in program.branches:
        for mode in (L, U):
            pats: list[dict[str, Any]] = []
            if b.rule.dated:
                act = [{"t": "$active"}, {"r": b.rule.uid}]
                if mode == L:
                    act.append({"m": L})
                pats.append({"va": {"$and": act}})
            for i, p in enumerate(b.positives):
                if p.same_as is not None:
                    continue  # the same fact as an earlier pattern: its tests run in the action
                pats.append({p.alias: _pattern(program, b, p, mode, False, const)})
                if i == 0 and b.stratum > 0:
                    pats.append({"gate": {"$and": [{"t": "$phase"}, {"n": b.stratum}]}})
            for j, n in enumerate(b.negations):
                # L firing: no *possible* blocker (lenient tests, any mode);
                # U firing: no *certain* blocker (strict tests, m = L)
                sem = U if mode == L else L
                pats.append({f"x{j}$not": _pattern(program, b, n, sem, True, const)})
            rules[f"{b.uid}|{mode}"] = {"all": pats, "run": f"{b.uid}|{mode}"}
    return rules


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
        self.consumed = {p.type for b in program.branches for p in b.positives + b.negations}
        self.dated = {r.uid for b in program.branches for r in [b.rule] if r.dated}
        self.sid_counter = itertools.count(1)
        self._const_cache: dict[tuple[str, str], Any] = {}
        cls = type(self)
        if cls._host is None:
            cls._host = _make_host()
        self.host = cls._host
        self.ruleset = f"kz{program.fingerprint or 'x'}_{next(cls._counter)}"
        actions: dict[str, Callable[[Any], None]] = {"$begin": lambda c: None}
        for b in program.branches:
            for mode in (L, U):
                actions[f"{b.uid}|{mode}"] = self._make_action(b, mode)
        self.host.actions.update({f"{self.ruleset}/{k}": v for k, v in actions.items()})
        self.host.current_ruleset = self.ruleset
        self.host.register_rulesets({self.ruleset: compile_ruleset(program, self._const)})

    def _const(self, b: Branch, t: CTest) -> Any:
        key = (b.rule.uid, t.value)
        if key not in self._const_cache:
            r = b.rule
            self._const_cache[key] = self.program.kb.parameters[t.value].values_between(r.valid_from, r.valid_to)[0].value
        return self._const_cache[key]

    @classmethod
    def for_program(cls, program: Program) -> DurableBackend:
        key = program.fingerprint or str(id(program))
        inst = cls._registered.get(key)
        if inst is None or inst.program is not program:
            inst = cls(program)
            cls._registered[key] = inst
        return inst

    def _make_action(self, b: Branch, mode: str) -> Callable[[Any], None]:
        aliases = [p.same_as or p.alias for p in b.positives]

        def action(c: Any) -> None:
            ctx = self.ctx
            if ctx is None:
                return
            try:
                m = c._m
                premises = [ctx.store.facts[m[a]["f"]] for a in aliases]
                for fact, fmode in ctx.fire(b, mode, premises):
                    self._assert(c, fact, fmode)
            except EvaluationError as exc:
                ctx.errors.append(str(exc))
            except Exception as exc:  # durable would swallow it: record it instead
                ctx.errors.append(f"rule {b.rule.uid} ({mode}): {type(exc).__name__}: {exc}")

        return action

    def _durable_fact(self, fact: Fact, mode: str) -> dict[str, Any]:
        d: dict[str, Any] = {"t": fact.type, "m": mode, "f": fact.fid}
        for k, v in fact.attrs:
            if k.startswith("$"):
                continue
            d[k] = _enc(v)
        return d

    def _assert(self, c: Any, fact: Fact, mode: str) -> None:
        if fact.type not in self.consumed:
            return
        try:
            c.assert_fact(self._durable_fact(fact, mode))
        except Exception as exc:  # MessageObserved/NotHandled: check it is harmless
            self._on_assert_error(exc, fact, mode, c.s.sid)

    def _on_assert_error(self, exc: Exception, fact: Fact, mode: str, sid: str) -> None:
        name = type(exc).__name__
        if name == "MessageNotHandledException":
            return  # no rule can use this fact any more
        if name == "MessageObservedException":
            # durable saw an identical fact: a 32-bit hash collision (notes §4.1); re-assert
            # with a salt so that the fact is not lost
            d = self._durable_fact(fact, mode)
            d["_salt"] = 1
            try:
                self.host.assert_fact(self.ruleset, dict(d, sid=sid))
            except Exception as exc2:  # pragma: no cover - would need two collisions
                assert self.ctx is not None
                self.ctx.errors.append(f"durable lost fact {fact.fid}: {exc2}")
            return
        assert self.ctx is not None
        self.ctx.errors.append(f"durable rejected fact {fact.fid}: {name}: {exc}")

    def _top_assert(self, sid: str, d: dict[str, Any]) -> None:
        d = dict(d, sid=sid)
        try:
            self.host.assert_fact(self.ruleset, d)
        except Exception as exc:
            name = type(exc).__name__
            if name == "MessageNotHandledException":
                return
            raise EvaluationError(f"durable_rules rejected a fact of type {d.get('t')}: {name}: {exc}") from exc

    def evaluate(self, scenario: Scenario) -> EvalContext:
        ctx = EvalContext(self.program, scenario)
        self.ctx = ctx
        self.host.current_ruleset = self.ruleset
        sid = f"s{next(self.sid_counter)}"
        try:
            self._top_assert(sid, {"t": "$begin"})
            for b_uid in sorted(self.dated):
                branch = next(b for b in self.program.branches if b.rule.uid == b_uid)
                act = ctx.rule_activity(branch)
                if act is not None:
                    self._top_assert(sid, {"t": "$active", "r": b_uid, "m": act})
            for f in scenario.facts:
                if f.type in self.consumed:
                    self._top_assert(sid, self._durable_fact(f, L))
            for k in range(1, self.program.strata + 1):
                self._top_assert(sid, {"t": "$phase", "n": k})
            state = self.host.get_state(self.ruleset, sid)
            if isinstance(state, dict) and state.get("exception"):
                ctx.errors.append(f"durable_rules reported: {str(state['exception'])[:500]}")
        finally:
            try:
                self.host.delete_state(self.ruleset, sid)
            except Exception as exc:  # pragma: no cover - defensive
                ctx.errors.append(f"durable_rules could not delete session {sid}: {exc}")
            self.ctx = None
        if ctx.errors:
            raise EvaluationError("; ".join(sorted(set(ctx.errors)))[:2000])
        return ctx


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

