"""Compile checked rules into a :class:`Program`: flat branches, strata, and every check
that needs the whole rule base (variables, exceptions, cycles, versions, engine limits).

A rule's ``when`` is expanded into disjunctive normal form: one :class:`Branch` per way the
rule can hold. Each branch has ordered positive patterns and single-pattern negations; a
negated conjunction becomes an auxiliary predicate derived by a synthetic branch. Strata
order evaluation so that everything a negation or an exception looks at is complete first.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import Diagnostics, Location, suggest
from .expr import Expr, ExprError, describe, static_type_of, typecheck, variables
from .kb import KB, Attribute, ParamValue
from .model import (AnyOf, Condition, Defeat, Head, HeadValue, Not, Op, OperandKind, Pattern, Rule, Test, ValueKind,
                    VarInfo)
from .values import NUMERIC_UNITS

__all__ = ["Program", "Branch", "CPattern", "CTest", "compile_program", "AUX_PREFIX", "DEFEAT_PREFIX"]

AUX_PREFIX = "$aux:"
DEFEAT_PREFIX = "$defeat:"
MAX_BRANCHES_PER_RULE = 64


@dataclass(frozen=True)
class CTest:
    """A compiled test: ``attr op value``, the value a literal, a variable or a parameter."""

    attr: str
    op: Op
    kind: OperandKind
    value: Any
    loc: Location


@dataclass(frozen=True)
class CPattern:
    """A compiled positive or negated condition on one fact: its type, tests, the variables it binds, and, for a second pattern on the same entity, the alias of the first."""

    alias: str
    type: str
    tests: tuple[CTest, ...]
    binds: tuple[tuple[str, str], ...]  # (variable, attribute) bound here
    loc: Location
    same_as: str | None = None  # alias of an earlier pattern on the same entity (joined by key)


@dataclass
class Branch:
    """One way a rule can hold (a conjunction of its disjunctive normal form), ready to evaluate: ordered patterns, negations, heads, the exceptions it asserts, its variables and its stratum."""

    uid: str  # "<rule uid>#<n>" or "<rule uid>#<n>~aux<k>"
    rule: Rule
    index: int
    positives: tuple[CPattern, ...]
    negations: tuple[CPattern, ...]
    heads: tuple[Head, ...]
    defeats: tuple[Defeat, ...]
    var_types: dict[str, VarInfo]  # var -> its type, ref target, and whether it is always known
    var_source: dict[str, tuple[str, str]]  # var -> (alias, attr)
    aux: bool = False
    stratum: int = 0
    uses_default_date: bool = False

    @property
    def rule_id(self) -> str:
        """The id of the branch's rule (without version)."""
        return self.rule.id


@dataclass
class Program:
    """The compiled rule base: every branch with its stratum, the rule versions, which branches produce and consume each type, and which branches defeat each rule."""

    kb: KB
    rules: list[Rule]
    branches: list[Branch]
    derived_types: dict[str, dict[str, Attribute]]  # aux types only; kb types are in kb
    strata: int
    type_strata: dict[str, int]
    rule_versions: dict[str, list[Rule]]
    producers: dict[str, list[str]]  # type -> branch uids
    consumers: dict[str, list[str]]  # type -> branch uids (positive or negative)
    defeaters: dict[str, list[str]]  # target rule id -> defeating branch uids
    fingerprint: str = ""
    warnings: list[str] = field(default_factory=list)

    def attr_type(self, tname: str, attr: str) -> Attribute | None:
        """The declared attribute ``attr`` of type ``tname`` (also of an auxiliary type), or None."""
        if tname in self.derived_types:
            return self.derived_types[tname].get(attr)
        t = self.kb.types.get(tname)
        if t is None:
            return None
        if attr == "key":
            return _KEY_ATTR(tname)
        return t.attributes.get(attr)

    def branch(self, uid: str) -> Branch:
        """The branch with uid ``uid``."""
        return self._by_uid[uid]

    def condition_param(self, rule: Rule, name: str) -> ParamValue:
        """The value of parameter ``name`` compared in a condition of ``rule``: one value over
        the rule version's validity (the compiler checks it, ``param-not-constant``)."""
        key = (rule.uid, name)
        pv = self._condition_params.get(key)
        if pv is None:
            pv = self._condition_params[key] = self.kb.parameters[name].values_between(rule.valid_from, rule.valid_to)[0]
        return pv

    def finish(self) -> None:
        """Index the branches by uid once compilation is complete."""
        self._by_uid = {b.uid: b for b in self.branches}
        self._condition_params: dict[tuple[str, str], ParamValue] = {}


_KEY_ATTRS: dict[str, Attribute] = {}


def _KEY_ATTR(tname: str) -> Attribute:
    a = _KEY_ATTRS.get(tname)
    if a is None:
        a = _KEY_ATTRS[tname] = Attribute("key", "ref", {}, {}, {}, (), {}, tname, None, True, Location("-"))
    return a


# ---- DNF expansion -----------------------------------------------------------------------

Item = Any  # Pattern | ("not", list[list[Item]])


def _expand(conds: tuple[Condition, ...]) -> list[list[Item]]:
    """Expand any/not into a list of branches; each branch a list of Pattern | NegGroup."""
    branches: list[list[Item]] = [[]]
    for c in conds:
        if isinstance(c, Pattern):
            for b in branches:
                b.append(c)
        elif isinstance(c, AnyOf):
            alts: list[list[Item]] = []
            for br in c.branches:
                alts.extend(_expand(br))
            branches = [b + a for b in branches for a in alts]
        elif isinstance(c, Not):
            inner = _expand(c.body)
            # not (A or B) == not A and not B
            for b in branches:
                for alt in inner:
                    b.append(("not", alt, c.loc))
        if len(branches) > MAX_BRANCHES_PER_RULE:
            break
    return branches


# ---- compiling one branch ------------------------------------------------------------------


class _Compiler:
    def __init__(self, kb: KB, diags: Diagnostics):
        self.kb = kb
        self.diags = diags
        self.aux_types: dict[str, dict[str, Attribute]] = {}
        self.branches: list[Branch] = []

    def attr(self, tname: str, attr: str) -> Attribute | None:
        if tname in self.aux_types:
            return self.aux_types[tname].get(attr)
        if attr == "key":
            return _KEY_ATTR(tname)
        t = self.kb.types.get(tname)
        return t.attributes.get(attr) if t else None

    def err(self, rule: Rule, loc: Location, code: str, msg: str, hint: str = "") -> None:
        self.diags.error(loc, code, msg, rule.id, hint)

    def compile_rule(self, rule: Rule) -> None:
        alts = _expand(rule.when)
        if len(alts) > MAX_BRANCHES_PER_RULE:
            self.err(rule, rule.loc, "too-many-branches",
                     f"'any' expands into more than {MAX_BRANCHES_PER_RULE} alternatives; split the rule")
            return
        used_anywhere: set[str] = set()
        for text in rule.because.values():  # a variable shown in the explanation is used
            used_anywhere.update(m.group(1) for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
        bound_at: dict[str, Location] = {}
        for i, items in enumerate(alts):
            b = self.compile_branch(rule, i, items, f"{rule.uid}#{i}", rule.then, rule.defeats,
                                    used_anywhere, bound_at, outer={})
            if b is not None:
                self.branches.append(b)
        for var, loc in sorted(bound_at.items(), key=lambda kv: (kv[1].line, kv[1].col, kv[0])):
            if var not in used_anywhere and not var.startswith("_"):
                self.err(rule, loc, "unused-variable",
                         f"variable ${var} is bound but never used (name it ${'_' + var} to silence this)")

    def compile_branch(
        self,
        rule: Rule,
        index: int,
        items: list[Item],
        uid: str,
        heads: tuple[Head, ...],
        defeats: tuple[Defeat, ...],
        used_anywhere: set[str],
        bound_at: dict[str, Location],
        outer: dict[str, VarInfo],
        aux: bool = False,
    ) -> Branch | None:
        var_types: dict[str, VarInfo] = dict(outer)
        var_source: dict[str, tuple[str, str]] = {}
        positives: list[CPattern] = []
        negations: list[CPattern] = []
        ok = True
        pats = [x for x in items if isinstance(x, Pattern)]
        negs = [x for x in items if not isinstance(x, Pattern)]
        # the first pattern on an entity (type + key variable) matches it; later patterns on the
        # same entity test the same fact (durable_rules never binds one fact twice)
        key_alias: dict[tuple[str, str], str] = {}
        for n, p in enumerate(pats):
            alias = f"p{n}"
            tests: list[CTest] = []
            binds: list[tuple[str, str]] = []
            same_as: str | None = None
            for t in p.tests:
                if t.attr == "key" and t.op == "=" and t.operand.kind == "var":
                    prev = key_alias.get((t.operand.value, p.type))
                    if prev is not None:
                        same_as = prev
                    else:
                        key_alias[(t.operand.value, p.type)] = alias
            stated = {t.attr for t in p.tests if t.op == "present" and t.operand.value is True}
            for t in p.tests:
                a = self.attr(p.type, t.attr)
                if a is None:
                    continue
                if t.operand.kind == "var":
                    var = t.operand.value
                    if t.op == "=" and var not in var_types:
                        # a reference is always known if required, or if the pattern demands it
                        entity = a.type == "ref" and (a.required or t.attr in stated)
                        var_types[var] = VarInfo(a.type, a.to, entity, t.operand.loc)
                        var_source[var] = (alias, t.attr)
                        binds.append((var, t.attr))
                        bound_at.setdefault(var, t.operand.loc)
                        continue
                    if var not in var_types:
                        self.err(rule, t.operand.loc, "undefined-variable",
                                 f"variable ${var} is used before it is bound", suggest(var, var_types))
                        ok = False
                        continue
                    used_anywhere.add(var)
                    if not self.compatible(rule, t, a, var_types[var], p.type):
                        ok = False
                        continue
                tests.append(CTest(t.attr, t.op, t.operand.kind, t.operand.value, t.loc))
            positives.append(CPattern(alias, p.type, tuple(tests), tuple(binds), p.loc, same_as))
        if not positives and (negs or heads):
            self.err(rule, rule.loc, "no-positive-condition",
                     "a rule (or each of its alternatives) needs at least one positive condition")
            return None
        positive_types = {p.type for p in pats}
        for k, (_, body, nloc) in enumerate(negs):
            neg = self.compile_negation(rule, body, nloc, var_types, used_anywhere, f"{uid}~aux{k}",
                                        positive_types)
            if neg is None:
                ok = False
            else:
                negations.append(CPattern(f"n{k}", neg.type, neg.tests, (), neg.loc))
        cheads: list[Head] = []
        uses_default_date = False
        for h in heads:
            for name, hv in h.attrs:
                a = self.attr(h.type, name)
                if a is None:
                    continue
                if hv.kind == "var":
                    if hv.value not in var_types:
                        self.err(rule, hv.loc, "undefined-variable", f"variable ${hv.value} is not bound by the conditions",
                                 suggest(hv.value, var_types))
                        ok = False
                        continue
                    used_anywhere.add(hv.value)
                    vt = var_types[hv.value]
                    src = var_source.get(hv.value)
                    src_attr = self.attr(next(p.type for p in positives if p.alias == src[0]), src[1]) \
                        if src and any(p.alias == src[0] for p in positives) else None
                    possible = set(src_attr.values) if src_attr is not None else set()
                    if src:
                        # narrowed by the tests on the same fact: kind = x, kind in [...]
                        for cp in positives:
                            if cp.alias != src[0] and cp.same_as != src[0]:
                                continue
                            for ct in cp.tests:
                                if ct.attr == src[1] and ct.kind == "lit" and ct.op in ("=", "in"):
                                    possible &= set(ct.value) if ct.op == "in" else {ct.value}
                    if a.type == "enum" and src_attr is not None and src_attr.type == "enum" and \
                            not possible <= set(a.values):
                        extra = sorted(possible - set(a.values))
                        self.err(rule, hv.loc, "type-mismatch",
                                 f"${hv.value} can take values that '{h.type}.{name}' does not have: "
                                 + ", ".join(extra[:5]) + (" …" if len(extra) > 5 else ""))
                        ok = False
                    elif a.type == "ref" and a.required and not vt.entity:
                        self.err(rule, hv.loc, "unknown-reference",
                                 f"'{h.type}.{name}' is a required reference: fill it from an entity's key or a "
                                 f"required reference, not from ${hv.value} (which may be unknown)")
                        ok = False
                    elif (a.type == "ref") != (vt.vtype == "ref") or \
                            static_type_of(vt.vtype) != static_type_of(a.type) or (a.type == "ref" and a.to != vt.to):
                        self.err(rule, hv.loc, "type-mismatch",
                                 f"${hv.value} is {self.describe_var(vt)} but '{h.type}.{name}' is {self.describe_attr(a)}")
                        ok = False
                elif hv.kind == "expr":
                    e: Expr = hv.value
                    for var, _col in variables(e):
                        used_anywhere.add(var)
                    try:
                        st = typecheck(e, {v: info.vtype for v, info in var_types.items()},
                                       {n: p.type for n, p in self.kb.parameters.items()})
                    except ExprError as exc:
                        loc = Location(hv.loc.path, hv.loc.line, hv.col0 + max(exc.col, 1) - 1)
                        code = {"type": "type-mismatch", "unbound": "undefined-variable",
                                "param": "unknown-parameter"}.get(exc.kind, "bad-expression")
                        self.err(rule, loc, code, f"expression: {exc}", exc.hint)
                        ok = False
                        continue
                    want = static_type_of(a.type)
                    if st != want and not (st[0] == "num" and want[0] == "num" and a.type in ("number", "integer") and st[1] == ()):
                        self.err(rule, hv.loc, "type-mismatch",
                                 f"expression gives {describe(st)} but '{h.type}.{name}' is {self.describe_attr(a)}")
                        ok = False
                    if _uses_default_date(e):
                        uses_default_date = True
            cheads.append(h)
        cdefeats: list[Defeat] = []
        for d in defeats:
            for _attr, var in d.match:
                if var not in var_types:
                    self.err(rule, d.loc, "undefined-variable", f"defeats: variable ${var} is not bound")
                    ok = False
                    continue
                used_anywhere.add(var)
                if not var_types[var].entity:
                    self.err(rule, d.loc, "bad-match",
                             f"defeats: match through entity variables only (${var} is a {var_types[var].vtype} value)")
                    ok = False
            cdefeats.append(d)
        if not ok:
            return None
        return Branch(uid, rule, index, tuple(positives), tuple(negations), tuple(cheads), tuple(cdefeats),
                      var_types, var_source, aux=aux, uses_default_date=uses_default_date)

    def compile_negation(
        self,
        rule: Rule,
        body: list[Item],
        loc: Location,
        outer: dict[str, VarInfo],
        used_anywhere: set[str],
        aux_uid: str,
        positive_types: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> CPattern | None:
        pats = [x for x in body if isinstance(x, Pattern)]
        # durable's $not never sees a fact the rule already matched positively: a negation on
        # a type the rule also matches positively goes through an auxiliary predicate
        simple = len(body) == 1 and len(pats) == 1 and pats[0].type not in positive_types
        if simple:
            p = pats[0]
            tests = []
            ok = True
            for t in p.tests:
                a = self.attr(p.type, t.attr)
                if a is None:
                    continue
                if t.operand.kind == "var":
                    var = t.operand.value
                    if var not in outer:
                        simple = False
                        break
                    used_anywhere.add(var)
                    if not outer[var].entity or a.type != "ref" or not a.required:
                        self.err(rule, t.operand.loc, "bad-negation",
                                 f"a negated condition may join the rest of the rule only through entities "
                                 f"(${var} is a {outer[var].vtype} value)")
                        ok = False
                        continue
                    used_anywhere.add(var)
                    if not self.compatible(rule, t, a, outer[var], p.type):
                        ok = False
                        continue
                tests.append(CTest(t.attr, t.op, t.operand.kind, t.operand.value, t.loc))
            if simple:
                return CPattern("n", p.type, tuple(tests), (), p.loc) if ok else None
        # a negated conjunction (or a pattern binding its own variables): an auxiliary predicate
        used_inner: set[str] = set()
        inner_bound: dict[str, Location] = {}
        # shared variables: outer variables referenced inside
        shared = sorted(v for v in _vars_in(body) if v in outer)
        used_anywhere.update(shared)
        bad = [v for v in shared if not outer[v].entity]
        for v in bad:
            self.err(rule, _var_loc(body, v) or loc, "bad-negation",
                     f"a negated condition may join the rest of the rule only through entities "
                     f"(${v} is a {outer[v].vtype} value)")
        if bad:
            return None
        aux_type = AUX_PREFIX + aux_uid
        self.aux_types[aux_type] = {
            v: Attribute(v, "ref", {}, {}, {}, (), {}, outer[v].to, None, True, loc) for v in shared
        }
        # inner variables that are outer are joined, not re-bound: seed them as "outer" types
        head = Head(aux_type, tuple((v, HeadValue(ValueKind.VAR, v, loc, "$" + v)) for v in shared), loc)
        b = self.compile_branch(rule, 0, body, aux_uid, (head,), (), used_inner, inner_bound, outer={}, aux=True)
        if b is None:
            return None
        # re-link: the aux branch must bind each shared variable itself
        for v in shared:
            used_anywhere.add(v)
            if v not in b.var_source:
                self.err(rule, loc, "bad-negation", f"the negated block must itself mention ${v}")
                return None
        for var, vloc in inner_bound.items():
            if var not in used_inner and var not in shared and not var.startswith("_"):
                self.err(rule, vloc, "unused-variable", f"variable ${var} is bound but never used")
        self.branches.append(b)
        shared_tests = tuple(CTest(v, Op.EQ, OperandKind.VAR, v, loc) for v in shared)
        return CPattern("n", aux_type, shared_tests, (), loc)

    def compatible(self, rule: Rule, t: Test, a: Attribute, vt: VarInfo, tname: str) -> bool:
        op = t.op
        if op == "contains":
            ok = vt.vtype in ("enum", "string")
        elif a.type == "ref" or vt.vtype == "ref":
            ok = a.type == vt.vtype == "ref" and (a.to == vt.to or a.to is None or vt.to is None)
        else:
            ok = static_type_of(a.type) == static_type_of(vt.vtype)
        if not ok:
            self.err(rule, t.operand.loc, "type-mismatch",
                     f"'{tname}.{t.attr}' is {self.describe_attr(a)} but ${t.operand.value} is {self.describe_var(vt)}")
        return ok

    @staticmethod
    def describe_attr(a: Attribute) -> str:
        if a.type == "ref":
            return f"a reference to {a.to}"
        return describe(static_type_of(a.type)) if a.type in NUMERIC_UNITS else a.type

    @staticmethod
    def describe_var(vt: VarInfo) -> str:
        if vt.vtype == "ref":
            return f"a reference to {vt.to}"
        return describe(static_type_of(vt.vtype)) if vt.vtype in NUMERIC_UNITS else vt.vtype


def _uses_default_date(e: Expr) -> bool:
    if e.kind == "call" and e.value == "param" and len(e.args) == 1:
        return True
    return any(_uses_default_date(a) for a in e.args)


def _var_loc(items: list[Item], var: str) -> Location | None:
    for x in items:
        if isinstance(x, Pattern):
            for t in x.tests:
                if t.operand.kind == "var" and t.operand.value == var:
                    return t.operand.loc
        else:
            found = _var_loc(x[1], var)
            if found:
                return found
    return None


def _vars_in(items: list[Item]) -> set[str]:
    out: set[str] = set()
    for x in items:
        if isinstance(x, Pattern):
            for t in x.tests:
                if t.operand.kind == "var":
                    out.add(t.operand.value)
        else:
            out |= _vars_in(x[1])
    return out


# ---- whole-program checks --------------------------------------------------------------------


def _check_versions(rules: list[Rule], diags: Diagnostics) -> dict[str, list[Rule]]:
    by_id: dict[str, list[Rule]] = {}
    for r in rules:
        by_id.setdefault(r.id, []).append(r)
    for rid, versions in by_id.items():
        if len(versions) == 1:
            continue
        seen: dict[str, Rule] = {}
        if any(r.dated for r in versions) and not all(r.dated for r in versions):
            undated = next(r for r in versions if not r.dated)
            dated = next(r for r in versions if r.dated)
            diags.error(undated.loc, "undated-version",
                        f"'{rid}' has dated versions, so every version needs a 'valid' interval", rid,
                        related=[dated.loc])
            continue
        for r in versions:
            if r.version in seen:
                first = seen[r.version]
                if not (r.dated and first.dated):
                    diags.error(r.loc, "duplicate-rule-id",
                                f"rule id '{rid}' is already used at {first.loc} (give versions distinct 'version' "
                                f"and 'valid' intervals, or rename)", rid, related=[first.loc])
                else:
                    diags.error(r.loc, "duplicate-version", f"version '{r.version}' of '{rid}' is defined twice", rid,
                                related=[first.loc])
                continue
            seen[r.version] = r
        ordered = sorted(versions, key=lambda r: (r.valid_from or _dt.date.min))
        for a, b in zip(ordered, ordered[1:]):
            if not a.dated or not b.dated:
                continue
            a_end = a.valid_to or _dt.date.max
            if a_end >= (b.valid_from or _dt.date.min):
                diags.error(b.loc, "overlapping-versions",
                            f"version '{b.version}' of '{rid}' (from {b.valid_from}) overlaps version "
                            f"'{a.version}' (valid to {a.valid_to or 'open end'})", rid, related=[a.loc])
    return by_id


def _check_defeats(rules: list[Rule], branches: list[Branch], by_id: dict[str, list[Rule]], kb: KB,
                   diags: Diagnostics, in_cycle: set[str]) -> dict[str, list[str]]:
    import networkx as nx

    defeaters: dict[str, list[str]] = {}
    graph = nx.DiGraph()
    for b in branches:
        for d in b.defeats:
            if d.target not in by_id:
                diags.error(d.loc, "dangling-exception", f"defeats unknown rule '{d.target}'", b.rule_id,
                            suggest(d.target, by_id))
                continue
            if d.target == b.rule_id:
                diags.error(d.loc, "cyclic-exception", "a rule cannot defeat itself", b.rule_id)
                continue
            for target in by_id[d.target]:
                for h in target.then:
                    t = kb.types.get(h.type)
                    for attr, _ in d.match:
                        if t is not None and attr not in t.attributes:
                            diags.error(d.loc, "bad-match",
                                        f"defeats {d.target}: its conclusion '{h.type}' has no attribute '{attr}'",
                                        b.rule_id, suggest(attr, t.attributes))
            defeaters.setdefault(d.target, []).append(b.uid)
            graph.add_edge(b.rule_id, d.target, loc=d.loc)
    for cycle in nx.simple_cycles(graph):
        if len(cycle) < 2:
            continue
        locs = [graph.edges[cycle[i], cycle[(i + 1) % len(cycle)]]["loc"] for i in range(len(cycle))]
        first = min(range(len(cycle)), key=lambda i: cycle[i])
        ordered = cycle[first:] + cycle[:first]
        diags.error(min(locs), "cyclic-exception",
                    "exceptions form a cycle: " + " -> ".join(ordered + [ordered[0]]), ordered[0],
                    related=sorted(locs)[1:])
        in_cycle.update(cycle)
    return defeaters


def _stratify(branches: list[Branch], input_types: set[str], diags: Diagnostics,
              reported: set[str] = frozenset()) -> tuple[dict[str, int], int]:  # type: ignore[assignment]
    """Assign strata to predicates and branches; report cycles through negation or exceptions.

    A defeated rule reads the synthetic predicate ``$defeat:<rule id>`` negatively, so its
    defeaters are complete before it is evaluated.
    """
    import networkx as nx

    targets = {d.target for b in branches for d in b.defeats}
    graph = nx.DiGraph()
    for t in sorted(input_types):
        graph.add_node(t)

    def add(u: str, v: str, neg: bool, loc: Location, rule: str) -> None:
        d = graph.get_edge_data(u, v)
        if d is None or (neg and not d["neg"]):
            graph.add_edge(u, v, neg=neg, loc=loc, rule=rule)

    for b in branches:
        heads = [h.type for h in b.heads] + [DEFEAT_PREFIX + d.target for d in b.defeats]
        for h in heads:
            graph.add_node(h)
            for p in b.positives:
                add(p.type, h, False, p.loc, b.rule_id)
            for n in b.negations:
                add(n.type, h, True, n.loc, b.rule_id)
            if not b.aux and b.rule.id in targets:
                add(DEFEAT_PREFIX + b.rule.id, h, True, b.rule.loc, b.rule_id)
    strata: dict[str, int] = {t: 0 for t in graph.nodes}
    bad = False
    for comp in sorted(nx.strongly_connected_components(graph), key=lambda c: sorted(c)):
        sub = graph.subgraph(comp)
        neg_edges = [(u, v, d) for u, v, d in sub.edges(data=True) if d["neg"]]
        if neg_edges and all(d["rule"] in reported for _, _, d in neg_edges):
            bad = True  # a cycle of exceptions, already reported as such
            continue
        if neg_edges:
            u, v, d = min(neg_edges, key=lambda e: (e[2]["loc"], e[0], e[1]))
            names = sorted(x.replace(DEFEAT_PREFIX, "exception of ") for x in comp if not x.startswith(AUX_PREFIX))
            diags.error(d["loc"], "negation-cycle",
                        f"a cycle through negation or an exception: {', '.join(names)} depend on each other",
                        d["rule"])
            bad = True
    if bad:
        return strata, 0
    cond = nx.condensation(graph)
    members = cond.graph["mapping"]
    comp_stratum: dict[int, int] = {}
    for c in nx.topological_sort(cond):
        s = 0
        for pred in cond.predecessors(c):
            neg = any(graph.edges[u, v]["neg"] for u in cond.nodes[pred]["members"]
                      for v in graph.successors(u) if members[v] == c)
            s = max(s, comp_stratum[pred] + (1 if neg else 0))
        comp_stratum[c] = s
    for node, c in members.items():
        strata[node] = comp_stratum[c]
    for b in branches:
        s = 0
        for p in b.positives:
            s = max(s, strata.get(p.type, 0))
        for n in b.negations:
            s = max(s, strata.get(n.type, 0) + 1)
        if not b.aux and b.rule.id in targets:
            s = max(s, strata.get(DEFEAT_PREFIX + b.rule.id, 0) + 1)
        b.stratum = s
    return strata, max(strata.values(), default=0)


def _check_params_in_conditions(branches: list[Branch], kb: KB, diags: Diagnostics) -> None:
    for b in branches:
        r = b.rule
        for p in list(b.positives) + list(b.negations):
            for t in p.tests:
                if t.kind != "param":
                    continue
                param = kb.parameters[t.value]
                vals = param.values_between(r.valid_from, r.valid_to)
                if len(vals) != 1:
                    span = f"{r.valid_from or 'the beginning'} .. {r.valid_to or 'open end'}"
                    diags.error(t.loc, "param-not-constant",
                                f"parameter '{t.value}' has {len(vals)} values during the rule's validity ({span}); "
                                f"give the rule versions with 'valid' intervals, one per value", r.id)
                    continue
                pv = vals[0]
                if not param.covers(pv, r.valid_from, r.valid_to):
                    last = param.effective_end(param.values.index(pv))
                    diags.error(t.loc, "param-not-in-force",
                                f"parameter '{t.value}' has a value only from {pv.start} to {last or 'open end'}, but "
                                f"the rule is valid from {r.valid_from or 'the beginning'} to {r.valid_to or 'open end'}; "
                                f"set the rule's 'valid' interval", r.id)


def _check_templates(rules: list[Rule], branches: list[Branch], diags: Diagnostics) -> None:
    bvars: dict[str, set[str]] = {}
    for b in branches:
        if b.aux:
            continue
        bvars.setdefault(b.rule.uid, set()).update(b.var_types)
    for r in rules:
        names = bvars.get(r.uid)
        if names is None:
            continue
        head_attrs = {n for h in r.then for n, _ in h.attrs}
        for lang, text in r.because.items():
            for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}", text):
                if "." in m.group(1):
                    diags.error(r.because_locs.get(lang, r.loc), "bad-template",
                                f"because.{lang} uses {{{m.group(1)}}}: placeholders are plain variable or attribute "
                                f"names (bind the attribute to a variable in the conditions)", r.id)
                    continue
                name = m.group(1)
                if name not in names and name not in head_attrs:
                    diags.error(r.because_locs.get(lang, r.loc), "bad-template", f"because.{lang} uses {{{name}}}, which is neither a variable "
                                f"nor an attribute of the conclusion", r.id, suggest(name, names | head_attrs))


def _check_reachability(program: Program, diags: Diagnostics) -> None:
    produced = {t for t, ps in program.producers.items() if ps}
    for b in program.branches:
        if b.aux:
            continue
        for p in b.positives:
            t = program.kb.types.get(p.type)
            if t is not None and t.derived and p.type not in produced:
                diags.error(p.loc, "unreachable-rule",
                            f"no rule derives '{p.type}', so this rule can never apply", b.rule_id,
                            severity="warning")


def compile_program(rules: list[Rule], kb: KB, diags: Diagnostics) -> Program:
    """Compile checked rules into a :class:`Program`, recording in ``diags`` every problem that needs the whole rule base (versions, exceptions, cycles, strata, templates, reachability)."""
    comp = _Compiler(kb, diags)
    for r in sorted(rules, key=lambda r: (r.id, r.version)):
        if not r.broken:
            comp.compile_rule(r)
    branches = sorted(comp.branches, key=lambda b: b.uid)
    by_id = _check_versions(rules, diags)
    in_cycle: set[str] = set()
    defeaters = _check_defeats(rules, branches, by_id, kb, diags, in_cycle)
    input_types = {t.name for t in kb.types.values() if t.kind == "entity"}
    type_strata, top = _stratify(branches, input_types, diags, in_cycle)
    _check_params_in_conditions(branches, kb, diags)
    _check_templates(rules, branches, diags)
    producers: dict[str, list[str]] = {}
    consumers: dict[str, list[str]] = {}
    for b in branches:
        for h in b.heads:
            producers.setdefault(h.type, []).append(b.uid)
        for p in b.positives + b.negations:
            consumers.setdefault(p.type, []).append(b.uid)
    top = max([b.stratum for b in branches], default=0)
    program = Program(kb, rules, branches, comp.aux_types, top, type_strata, by_id, producers, consumers, defeaters)
    _check_reachability(program, diags)
    program.finish()
    return program


def fingerprint(files: list[tuple[str, bytes]]) -> str:
    """A short hash of the names and contents of every kb and rule file: it changes whenever one does."""
    h = hashlib.sha256()
    for name, data in sorted(files):
        h.update(name.encode())
        h.update(b"\0")
        h.update(data)
        h.update(b"\0")
    return h.hexdigest()[:16]

