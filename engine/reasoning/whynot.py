"""The analysis that needs the engine: why a conclusion does not hold, condition by
condition; the smallest change of facts that would make it hold; and what changes if facts
change. Each function evaluates the case it is given (with the python backend where an
evaluation is re-run) and returns plain typed data; the views render it.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from collections.abc import Iterable, Iterator

from ..errors import Diagnostic, InputError, Location, suggest
from ..language.kb import CASE_TYPE
from ..language.program import AUX_PREFIX, Branch, CPattern, CTest
from ..language.scenario import Fact, Scenario
from ..language.values import NUMERIC_UNITS, canonical_value, json_value, parse_date, parse_text_value
from .evaluate import L, U, EvalContext, test_holds
from .compare import Change, compare_results
from .provenance import BranchAnalysis, ChangeSearch, ConditionStatus
from .result import Result, format_value

if TYPE_CHECKING:
    from ..rulebase import RuleBase

__all__ = [
    "ConditionStatus",
    "BranchAnalysis",
    "analyze_branch",
    "seed_from_match",
    "why_not",
    "ChangeSearch",
    "minimal_changes",
    "apply_changes",
    "parse_assignment",
    "what_if",
]


def _err(message: str, hint: str = "", where: str = "<command line>") -> InputError:
    return InputError([Diagnostic(Location(where), "bad-argument", message, "-", hint)])


def seed_from_match(defeater: Branch, target_rule: str, fact: Fact) -> dict[str, Any]:
    """The variable bindings of ``defeater`` that correspond to ``fact``'s attributes through its ``defeats: match``: where to start the analysis of an exception."""
    seed: dict[str, Any] = {}
    for d in defeater.defeats:
        if d.target == target_rule:
            for attr, var in d.match:
                seed[var] = fact.get(attr)
    return seed


# ---- why not: condition-by-condition analysis ---------------------------------------------------


def _describe_test(t: CTest, env: dict[str, Any], const: Any) -> str:
    if t.op == "present":
        return f"{t.attr} is {'stated' if t.value else 'not stated'}"
    if t.kind == "var":
        rhs = f"${t.value}" + (f" ({format_value(env.get(t.value))})" if env.get(t.value) is not None else "")
    elif t.kind == "param":
        rhs = f"{t.value} ({format_value(const)})"
    else:
        rhs = format_value(list(t.value) if isinstance(t.value, tuple) else t.value)
    op = {"=": "=", "!=": "≠", "in": "in", "not_in": "not in", "contains": "contains"}.get(t.op, t.op)
    return f"{t.attr} {op} {rhs}"


def _pattern_text(p: CPattern, program: Any = None) -> str:
    if program is not None and p.type.startswith(AUX_PREFIX):
        uids = program.producers.get(p.type, [])
        if uids:
            return "(" + " and ".join(_pattern_text(q, program) for q in program.branch(uids[0]).positives) + ")"
    def val(t: CTest) -> str:
        if t.kind == "var":
            return "$" + str(t.value)
        return ", ".join(map(str, t.value)) if isinstance(t.value, tuple) else str(t.value)
    return p.type + ("(" + ", ".join(f"{t.attr} {t.op} {val(t)}" for t in p.tests) + ")" if p.tests else "")


def analyze_branch(ctx: EvalContext, b: Branch, seed: dict[str, Any], mode: str = L) -> BranchAnalysis:
    """Mark each condition of ``b`` met / failed / unknown, greedily following the best match."""
    store = ctx.store
    res = BranchAnalysis(b.uid, b.rule.uid, list(b.rule.cite), "met")
    activity = ctx.rule_activity(b)
    if activity is None:
        day = ctx.governing_date(b)
        res.conditions.append(ConditionStatus("rule in force", "failed",
                                              f"version {b.rule.version} is not in force on {day}"))
        res.status = "failed"
        return res
    if activity == U:
        res.conditions.append(ConditionStatus("rule in force", "unknown",
                                              f"the case's {b.rule.date_attr} is unknown"))
        res.status = "unknown"
    env: dict[str, Any] = dict(seed)
    chosen: list[Fact] = []
    for p in b.positives:
        const = None
        if p.same_as is not None:
            cands = [chosen[int(p.same_as[1:])].fid] if len(chosen) > int(p.same_as[1:]) else []
        else:
            cands = [x for x in ctx._candidates(p, env) if x in store.possible]
        best: tuple[int, Fact, list[str], list[str]] | None = None
        met_env = None
        for fid in sorted(cands):
            f = store.facts[fid]
            if f.type != p.type:
                continue
            new_env = ctx.match(b, p, f, env, L, None)
            if new_env is not None and fid in store.certain:
                met_env = (f, new_env)
                break
            failing: list[str] = []
            unknown: list[str] = []
            for t in p.tests:
                const = ctx.const_of(b, t) if t.kind == "param" else None
                r = test_holds(t, f, env, const)
                if r is False:
                    failing.append(f"{f.fid}: {_describe_test(t, env, const)} does not hold "
                                   f"(it is {format_value(f.get(t.attr))})")
                elif r is None:
                    unknown.append(f"{f.fid}.{t.attr} is unknown ({_describe_test(t, env, const)} needed)")
            score = len(failing) * 100 + len(unknown)
            if fid not in store.certain and not failing:
                unknown.append(f"{f.fid} itself is undetermined")
                score += 1
            if best is None or score < best[0]:
                best = (score, f, failing, unknown)
        if met_env is not None:
            f, env = met_env
            chosen.append(f)
            res.conditions.append(ConditionStatus(_pattern_text(p, ctx.program), "met", f"{f.fid} matches", f.fid))
            continue
        if best is None:
            joined = ", ".join(f"{t.attr} = {format_value(env.get(t.value))}" for t in p.tests
                               if t.kind == "var" and env.get(t.value) is not None)
            res.conditions.append(ConditionStatus(_pattern_text(p), "failed",
                                                  f"there is no {p.type}" + (f" with {joined}" if joined else "")))
            res.status = "failed"
            break
        _, f, failing, unknown = best
        chosen.append(f)
        forced = dict(env)
        for var, attr in p.binds:
            forced[var] = f.get(attr)
        env = forced
        if failing:
            res.conditions.append(ConditionStatus(_pattern_text(p), "failed", "; ".join(failing), f.fid))
            res.status = "failed"
        else:
            res.conditions.append(ConditionStatus(_pattern_text(p), "unknown", "; ".join(unknown), f.fid))
            if res.status == "met":
                res.status = "unknown"
    else:
        for n in b.negations:
            blocked_l, _, _ = ctx.negation(b, n, env, L)
            blocked_u, maybe, _ = ctx.negation(b, n, env, U)
            text = f"not {_pattern_text(n, ctx.program)}"
            if blocked_u:
                res.conditions.append(ConditionStatus(text, "failed", f"{text[4:]} holds, which excludes it"))
                res.status = "failed"
            elif blocked_l:
                res.conditions.append(ConditionStatus(text, "unknown", f"{text[4:]} might hold"))
                if res.status == "met":
                    res.status = "unknown"
            else:
                res.conditions.append(ConditionStatus(text, "met", f"{text[4:]} does not hold"))
    return res


def why_not(rb: RuleBase, scenario: Scenario, tname: str, attrs: dict[str, str]) -> list[BranchAnalysis]:
    """Each rule branch that could conclude ``tname(attrs)``, condition by condition: met,
    failed, or unknown (the case is evaluated with the python backend)."""
    ctx = rb.backend("python").evaluate(scenario)
    out = []
    for uid in sorted(ctx.program.producers.get(tname, [])):
        b = ctx.program.branch(uid)
        if b.aux:
            continue
        heads = [h for h in b.heads if h.type == tname]
        if heads and all(any(name in attrs and hv.kind == "lit" and str(json_value(hv.value)).lower() != attrs[name].lower()
                                 for name, hv in h.attrs) for h in heads):
            continue  # this rule concludes another value of the asked attribute
        seed: dict[str, Any] = {}
        for h in b.heads:
            if h.type != tname:
                continue
            for name, hv in h.attrs:
                if name in attrs and hv.kind == "var":
                    a = rb.kb.types[tname].attributes.get(name)
                    seed[hv.value] = _coerce(a.type if a else "string", attrs[name])
        out.append(analyze_branch(ctx, b, seed, L))
    return out


def _coerce(vtype: str, text: str) -> Any:
    if vtype == "bool":
        return text.lower() in ("true", "yes", "1")
    if vtype in NUMERIC_UNITS:
        try:
            return canonical_value(vtype, float(text) if "." in text else int(text))
        except ValueError:
            return text
    if vtype == "date":
        return parse_date(text)
    return text


def apply_changes(scenario: Scenario, changes: Iterable[tuple[str, str, Any]]) -> Scenario:
    """The case with each (fact id, attribute, value) change applied; a value of None unsets the attribute."""
    facts = {f.fid: dict(f.attrs) for f in scenario.facts}
    types = {f.fid: f.type for f in scenario.facts}
    for fid, attr, value in changes:
        if value is None:
            facts[fid].pop(attr, None)
        else:
            facts[fid][attr] = value
    new = [Fact(fid, types[fid], tuple(sorted(a.items()))) for fid, a in facts.items()]
    return replace(scenario, facts=sorted(new, key=lambda f: f.fid))


def _cone(rb: RuleBase, tname: str) -> tuple[set[str], list[Branch]]:
    """Types and branches the conclusion type (transitively) depends on."""
    prog = rb.program
    seen_types = {tname}
    stack = [tname]
    branches: list[Branch] = []
    seen_b: set[str] = set()

    def take(uid: str) -> None:
        if uid in seen_b:
            return
        seen_b.add(uid)
        b = prog.branch(uid)
        branches.append(b)
        for p in list(b.positives) + list(b.negations):
            if p.type not in seen_types:
                seen_types.add(p.type)
                stack.append(p.type)

    while stack:
        t = stack.pop()
        for uid in prog.producers.get(t, []):
            take(uid)
        for target, uids in prog.defeaters.items():
            # exceptions to rules in the cone are in the cone too
            if any(prog.branch(u).rule.id == target for u in seen_b):
                for u in uids:
                    take(u)
    return seen_types, branches


def _repairs(rb: RuleBase, b: Branch, fact: Fact, attr: str, value: Any) -> bool:
    """Whether setting ``fact.attr`` to ``value`` meets a literal condition of ``b`` that the
    fact does not meet now (or stops it matching a negated condition it matches now)."""
    changed = Fact(fact.fid, fact.type, tuple(sorted({**dict(fact.attrs), attr: value}.items())))
    def ok(t: CTest, f: Fact) -> bool:
        const = rb.program.condition_param(b.rule, t.value).value if t.kind == "param" else None
        return test_holds(t, f, {}, const) is True

    for p in b.positives:
        if p.type == fact.type and any(t.attr == attr and t.kind in ("lit", "param") and ok(t, changed)
                                       and not ok(t, fact) for t in p.tests):
            return True
    for n in b.negations:
        lits = [t for t in n.tests if t.kind in ("lit", "param")]
        if n.type == fact.type and any(t.attr == attr for t in lits) \
                and all(ok(t, fact) for t in lits) and not all(ok(t, changed) for t in lits):
            return True
    return False


def _candidate_values(rb: RuleBase, scenario: Scenario, branches: list[Branch], tname: str, attr: str,
                      vtype: str, values: tuple[str, ...]) -> list[Any]:
    if vtype == "bool":
        return [True, False]
    if vtype == "enum":
        return list(values)
    if vtype in NUMERIC_UNITS:
        consts: set[Any] = set()
        mci_consts: set[Any] = set()
        for b in branches:
            for p in b.positives:
                for t in p.tests:
                    if t.kind == "var" or t.op not in ("<", "<=", ">", ">=", "=", "!="):
                        continue
                    const = rb.program.condition_param(b.rule, t.value).value if t.kind == "param" else t.value
                    a = rb.program.attr_type(p.type, t.attr)
                    if p.type == tname and t.attr == attr:
                        consts.add(const)
                    elif a is not None and a.type == "mci":
                        mci_consts.add(const)
        if vtype == "tenge" and mci_consts:
            case = next((f for f in scenario.facts if f.type == CASE_TYPE), None)
            mci = rb.kb.parameters.get("mci")
            for attr_d in ("act_date", "assessment_date"):
                day = case.get(attr_d) if case else None
                pv = mci.at(day) if day is not None and mci is not None else None
                if pv is not None:
                    rate = pv.value
                    consts |= {c * rate for c in mci_consts}
                    break
        out: list[Any] = []
        for c in sorted(consts):
            for v in (c, c + 1, c - 1):
                if v >= 0 and v not in out:
                    out.append(canonical_value(vtype, v))
        return out
    return []


def _evaluate(rb: RuleBase, scenario: Scenario, engine: str) -> Result:
    from ..rulebase import evaluate_case

    return evaluate_case(rb, scenario, engine)


def minimal_changes(rb: RuleBase, scenario: Scenario, tname: str, attrs: dict[str, str], *,
                    max_size: int = 2, max_evals: int = 400, max_seconds: float = 20.0) -> ChangeSearch:
    """The smallest sets of changes to stated or unknown facts that make the conclusion hold.

    The search is bounded: candidate attributes are the askable attributes (with a question)
    that the rules leading to the conclusion test; candidate values come from the vocabulary
    (booleans, enum values) and from the thresholds the rules compare with. It stops at
    ``max_evals`` evaluations or after ``max_seconds`` (each evaluation of a large case takes
    long), and says which bound stopped it.
    """
    deadline = time.monotonic() + max_seconds
    stopped = ""
    types, branches = _cone(rb, tname)
    tested: dict[str, set[str]] = {}
    for b in branches:
        for p in list(b.positives) + list(b.negations):
            for t in p.tests:
                tested.setdefault(p.type, set()).add(t.attr)
            for _var, attr in p.binds:
                tested.setdefault(p.type, set()).add(attr)
    singles: list[tuple[str, str, Any]] = []
    for f in scenario.facts:
        ftype = rb.kb.types.get(f.type)
        if ftype is None:
            continue
        for attr in sorted(tested.get(f.type, ())):
            a = ftype.attributes.get(attr)
            if a is None or (not a.question and f.type != CASE_TYPE) or a.type in ("ref", "list", "date"):
                continue
            for v in _candidate_values(rb, scenario, branches, f.type, attr, a.type, a.values):
                if f.get(attr) != v:
                    singles.append((f.fid, attr, v))
    evaluations = 0
    bound_hit = False
    solutions: list[list[tuple[str, str, Any]]] = []

    def holds(changes: list[tuple[str, str, Any]]) -> bool:
        nonlocal evaluations
        evaluations += 1
        r = _evaluate(rb, apply_changes(scenario, changes), "python")
        return any(c.status == "holds" for c in r.select(tname, attrs))

    # changes that one rule concluding the target tests together are tried first: a rule with
    # two unmet conditions is the likeliest pair (a pair is otherwise one of thousands)
    fact_of = {f.fid: f for f in scenario.facts}
    groups = [[s for s in singles if _repairs(rb, b, fact_of[s[0]], s[1], s[2])]
              for b in branches if any(h.type == tname for h in b.heads)]

    def combos(size: int) -> Iterator[tuple[tuple[str, str, Any], ...]]:
        seen: set[tuple[tuple[str, str, Any], ...]] = set()
        for inside in groups if size > 1 else []:
            for combo in itertools.combinations(inside, size):
                if combo not in seen:
                    seen.add(combo)
                    yield combo
        for combo in itertools.combinations(singles, size):
            if combo not in seen:
                yield combo

    for size in range(1, max_size + 1):
        for combo in combos(size):
            if len({(fid, attr) for fid, attr, _ in combo}) < size:
                continue
            if any(set(s).issubset(combo) for s in solutions):
                continue
            if evaluations >= max_evals:
                bound_hit, stopped = True, "evaluations"
                break
            if evaluations and time.monotonic() > deadline:
                bound_hit, stopped = True, "time"
                break
            try:
                ok = holds(list(combo))
            except Exception:  # an alternative that cannot be evaluated is not an answer
                ok = False
            if ok:
                solutions.append(list(combo))
        if solutions or bound_hit:
            break
    return ChangeSearch(solutions[:8], evaluations, bound_hit, max_size, max_evals, max_seconds, stopped)


# ---- what if ------------------------------------------------------------------------------------


def parse_assignment(rb: RuleBase, scenario: Scenario, text: str) -> tuple[str, str, Any]:
    """``ENTITY.ATTR=VALUE`` (ENTITY: type:key, key, or case) → (fact id, attribute, value)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise _err(f"'{text}' must read ENTITY.ATTRIBUTE=VALUE", "e.g. use:listing.consent=true")
    lhs, raw = text.split("=", 1)
    ent, attr = lhs.rsplit(".", 1)
    ent, attr, raw = ent.strip(), attr.strip(), raw.strip()
    fids = [f.fid for f in scenario.facts]
    if ent == "case":
        ent = "case:case"
    if ent not in fids:
        by_key = [f.fid for f in scenario.facts if f.get("key") == ent]
        if len(by_key) == 1:
            ent = by_key[0]
        else:
            raise _err(f"no fact '{ent}' in the case", suggest(ent, fids + [f.split(':', 1)[1] for f in fids]))
    fact = next(f for f in scenario.facts if f.fid == ent)
    t = rb.kb.types[fact.type]
    a = t.attributes.get(attr)
    if a is None:
        raise _err(f"'{fact.type}' has no attribute '{attr}'", suggest(attr, t.attributes))
    if raw.lower() in ("unknown", "null", "?"):
        return ent, attr, None
    try:
        value = parse_text_value(a.type, raw, a.values)
    except ValueError as exc:
        msg, hint = exc.args
        raise _err(f"{fact.type}.{attr}: {msg}", hint) from None
    return ent, attr, value


def what_if(rb: RuleBase, scenario: Scenario, changes: list[tuple[str, str, Any]], engine: str
            ) -> tuple[Result, Result, list[Change]]:
    """The case before and after ``changes`` (fact id, attribute, value or None to unset),
    and the conclusions that differ."""
    before = _evaluate(rb, scenario, engine)
    after = _evaluate(rb, apply_changes(scenario, changes), engine)
    return before, after, compare_results(before, after, rb.kb)
