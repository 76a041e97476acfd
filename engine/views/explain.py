"""Explanations: *why* a conclusion holds, *why not* another, and *what if* a fact changes.

All three work on the evaluated case (its provenance) and on the python evaluator, which
can re-run a changed case quickly. Text is returned as lines; the CLI prints them.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Any
from collections.abc import Iterable, Iterator

from ..errors import Diagnostic, InputError, Location, suggest
from ..reasoning.evaluate import L, U, EvalContext, test_holds
from ..language.kb import CASE_TYPE
from ..language.program import AUX_PREFIX, Branch, CPattern, CTest
from ..rulebase import RuleBase, evaluate_case
from ..reasoning.result import Conclusion, Result, format_value
from ..language.scenario import Fact, Scenario
from ..language.values import NUMERIC_UNITS, canonical_value, json_value, parse_date, parse_text_value

__all__ = [
    "parse_spec",
    "select",
    "why_lines",
    "why_not",
    "why_not_lines",
    "minimal_changes",
    "apply_changes",
    "parse_assignment",
    "what_if",
    "what_if_lines",
    "ConditionStatus",
    "BranchAnalysis",
]

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def _err(message: str, hint: str = "", where: str = "<command line>") -> InputError:
    return InputError([Diagnostic(Location(where), "bad-argument", message, "-", hint)])


def parse_spec(rb: RuleBase, spec: str) -> tuple[str, dict[str, str]]:
    """``TYPE`` or ``TYPE(attr=value, ...)`` → (type, attributes as text)."""
    m = _SPEC.match(spec)
    if not m:
        raise _err(f"cannot read the conclusion '{spec}'", "write TYPE or TYPE(attribute=value, ...)")
    tname = m.group(1)
    t = rb.kb.types.get(tname)
    if t is None or t.kind == "entity":
        names = [x.name for x in rb.kb.types.values() if x.kind != "entity"]
        raise _err(f"unknown conclusion type '{tname}'", suggest(tname, names))
    attrs: dict[str, str] = {}
    if m.group(2):
        for part in m.group(2).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise _err(f"'{part.strip()}' must read attribute=value")
            k, v = (x.strip() for x in part.split("=", 1))
            if k not in t.attributes:
                raise _err(f"'{tname}' has no attribute '{k}'", suggest(k, t.attributes))
            attrs[k] = v.strip("'\"")
    return tname, attrs


def _matches(c: Conclusion | Fact, tname: str, attrs: dict[str, str]) -> bool:
    if c.type != tname:
        return False
    values = c.attributes if isinstance(c, Conclusion) else dict(c.attrs)
    for k, v in attrs.items():
        have = values.get(k)
        if have is None or str(json_value(have)).lower() != v.lower():
            return False
    return True


def select(result: Result, tname: str, attrs: dict[str, str]) -> list[Conclusion]:
    return [c for c in result.conclusions if _matches(c, tname, attrs)]


# ---- why -------------------------------------------------------------------------------------


def _t(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def _cite(rb: RuleBase, citation: str) -> str:
    from .graph import cite_label

    return cite_label(rb.kb, citation)


def _fact_text(fact: Fact) -> str:
    attrs = ", ".join(f"{k}={format_value(v)}" for k, v in fact.attrs if k != "key")
    key = fact.get("key")
    return f"{fact.type}:{key}" + (f" ({attrs})" if attrs else "") if key is not None else f"{fact.type}({attrs})"


def why_lines(rb: RuleBase, result: Result, conclusion: Conclusion, lang: str = "en", max_depth: int = 8) -> list[str]:
    """The reasoning tree of one conclusion, down to the case's facts and parameter values."""
    ctx = result.context
    assert ctx is not None
    by_fid = {c.fid: c for c in result.conclusions}
    out: list[str] = []
    seen: set[str] = set()

    def firing_for(fid: str, status: str) -> Any:
        frs = [f for f in ctx.store.firings.values() if fid in f.produced and not f.defeated
               and not ctx.program.branch(f.branch).aux]
        frs.sort(key=lambda f: (f.mode != L, len(f.assumptions), f.branch, f.premises))
        if status == "holds":
            frs = [f for f in frs if f.mode == L] or frs
        if status == "defeated":
            frs = [f for f in ctx.store.firings.values() if fid in f.produced and f.defeated]
        return frs[0] if frs else None

    def walk(fid: str, indent: str, depth: int) -> None:
        fact = ctx.store.facts.get(fid) or ctx.store.would_produce.get(fid)
        if fact is None:
            return
        t = rb.kb.types.get(fact.type)
        if t is not None and t.kind == "entity":
            out.append(f"{indent}- stated fact {_fact_text(fact)}")
            return
        c = by_fid.get(fid)
        status = c.status if c else ("holds" if fid in ctx.store.certain else "undetermined")
        title = _t(t.title, lang) if t else fact.type
        out.append(f"{indent}- {title} [{status.replace('_', ' ')}] {_fact_text(fact)}")
        if fid in seen:
            out.append(f"{indent}    (explained above)")
            return
        seen.add(fid)
        fr = firing_for(fid, status)
        if fr is None or depth > max_depth:
            return
        branch = ctx.program.branch(fr.branch)
        rule = branch.rule
        expl = c.explanation if c else {}
        if expl:
            out.append(f"{indent}    because: {_t(expl, lang)}")
        out.append(f"{indent}    rule: {rule.id} (version {rule.version}) — "
                   + "; ".join(_cite(rb, x) for x in rule.cite))
        ex = _t(rule.excerpt, "ru") if lang == "ru" else _t(rule.excerpt, "en")
        if ex:
            out.append(f"{indent}    law: «{ex}»")
        if rule.assumption:
            out.append(f"{indent}    assumption: {_t(rule.assumption, lang)}")
        for name, day, value, source in fr.params:
            title_p = _t(rb.kb.parameters[name].title, lang) if name in rb.kb.parameters else name
            out.append(f"{indent}    parameter: {title_p} on {day} = {format_value(value)} — {source}")
        if fr.mode == U:
            for f_id, attr in fr.assumptions:
                out.append(f"{indent}    unknown: {f_id}.{attr} (assumed possible)")
        if status == "defeated" and c is not None:
            for d in c.defeated_by:
                out.append(f"{indent}    defeated by: {d['rule']} — " + "; ".join(_cite(rb, x) for x in d["citations"]))
        for p in fr.premises:
            walk(p, indent + "    ", depth + 1)
        # exceptions that were checked and did not apply
        if status in ("holds", "undetermined") and not branch.aux:
            for d_uid in sorted(ctx.program.defeaters.get(rule.id, [])):
                db = ctx.program.branch(d_uid)
                seed = _seed_from_match(db, rule.id, fact)
                analysis = analyze_branch(ctx, db, seed, L)
                if analysis.status == "met":
                    continue
                reasons = "; ".join(cs.detail for cs in analysis.conditions if cs.status != "met")[:300]
                label = "; ".join(_cite(rb, x) for x in db.rule.cite[:1])
                verdict = "does not apply" if analysis.status == "failed" else "might apply (undetermined)"
                out.append(f"{indent}    exception {db.rule.id} ({label}) {verdict}: {reasons}")

    walk(conclusion.fid, "", 0)
    return out


def _seed_from_match(defeater: Branch, target_rule: str, fact: Fact) -> dict[str, Any]:
    seed: dict[str, Any] = {}
    for d in defeater.defeats:
        if d.target == target_rule:
            for attr, var in d.match:
                seed[var] = fact.get(attr)
    return seed


# ---- why not: condition-by-condition analysis ---------------------------------------------------


@dataclass
class ConditionStatus:
    condition: str
    status: str  # met | failed | unknown
    detail: str
    fact: str = ""


@dataclass
class BranchAnalysis:
    branch: str
    rule: str
    citations: list[str]
    status: str  # met | failed | unknown
    conditions: list[ConditionStatus] = field(default_factory=list)


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


def why_not(rb: RuleBase, result: Result, tname: str, attrs: dict[str, str]) -> list[BranchAnalysis]:
    ctx = result.context
    assert ctx is not None
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


def why_not_lines(rb: RuleBase, result: Result, tname: str, attrs: dict[str, str], lang: str = "en",
                  changes: ChangeSearch | None = None) -> list[str]:
    out: list[str] = []
    current = [c for c in select(result, tname, attrs)]
    title = _t(rb.kb.types[tname].title, lang)
    spec = tname + ("(" + ", ".join(f"{k}={v}" for k, v in attrs.items()) + ")" if attrs else "")
    if any(c.status == "holds" for c in current):
        out.append(f"{title} — {spec} holds; see `why`.")
    else:
        states = sorted({c.status for c in current}) or ["does not hold"]
        out.append(f"{title} — {spec}: {', '.join(s.replace('_', ' ') for s in states)}")
    for c in current:
        if c.status == "defeated":
            for d in c.defeated_by:
                out.append(f"  defeated by {d['rule']} ({'; '.join(_cite(rb, x) for x in d['citations'])})")
    for a in why_not(rb, result, tname, attrs):
        out.append("")
        out.append(f"Rule {a.rule} ({'; '.join(_cite(rb, x) for x in a.citations)}): {a.status}")
        for cs in a.conditions:
            mark = {"met": "met    ", "failed": "FAILED ", "unknown": "unknown"}[cs.status]
            out.append(f"  [{mark}] {cs.condition}")
            if cs.status != "met":
                out.append(f"            {cs.detail}")
    if changes is not None:
        out.append("")
        if changes.solutions:
            out.append(f"Smallest change{'s' if len(changes.solutions) > 1 else ''} of facts that would make it hold:")
            for sol in changes.solutions:
                out.append("  - " + "; ".join(f"set {fid}.{attr} = {format_value(v)}" if v is not None
                                               else f"unset {fid}.{attr}" for fid, attr, v in sol))
        elif not changes.bound_hit:
            out.append("No change of up to "
                       f"{changes.max_size} fact{'s' if changes.max_size > 1 else ''} makes it hold.")
        if changes.bound_hit and changes.stopped == "time":
            out.append(f"  (search stopped at its time bound of {changes.max_seconds:g} s after {changes.evaluations} "
                       "evaluations; a smaller or another change may exist: raise --max-seconds)")
        elif changes.bound_hit:
            out.append(f"  (search stopped at its bound of {changes.max_evals} evaluations; a larger change may exist)")
        out.append(f"  ({changes.evaluations} alternative cases evaluated)")
    return out


# ---- minimal changes -------------------------------------------------------------------------


@dataclass
class ChangeSearch:
    solutions: list[list[tuple[str, str, Any]]]
    evaluations: int
    bound_hit: bool
    max_size: int
    max_evals: int
    max_seconds: float = 0.0
    stopped: str = ""  # "", "evaluations" or "time": which bound ended the search


def apply_changes(scenario: Scenario, changes: Iterable[tuple[str, str, Any]]) -> Scenario:
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


def minimal_changes(rb: RuleBase, scenario: Scenario, tname: str, attrs: dict[str, str], *,
                    max_size: int = 2, max_evals: int = 400, max_seconds: float = 20.0) -> ChangeSearch:
    """The smallest sets of changes to stated or unknown facts that make the conclusion hold.

    The search is bounded: candidate attributes are the askable attributes (with a question)
    that the rules leading to the conclusion test; candidate values come from the vocabulary
    (booleans, enum values) and from the thresholds the rules compare with. It stops at
    ``max_evals`` evaluations or after ``max_seconds`` (each evaluation of a large case takes
    long), and says which bound stopped it.
    """
    import time

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
        r = evaluate_case(rb, apply_changes(scenario, changes), "python")
        return any(c.status == "holds" for c in select(r, tname, attrs))

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


def _identity(c: Conclusion, rb: RuleBase) -> tuple[Any, ...]:
    t = rb.kb.types[c.type]
    keep = sorted((k, json_value(v)) for k, v in c.attributes.items()
                  if k in t.attributes and t.attributes[k].type in ("ref", "enum"))
    return (c.type, tuple(keep))


def what_if(rb: RuleBase, scenario: Scenario, changes: list[tuple[str, str, Any]], engine: str
            ) -> tuple[Result, Result, list[tuple[str, Conclusion | None, Conclusion | None]]]:
    before = evaluate_case(rb, scenario, engine)
    after = evaluate_case(rb, apply_changes(scenario, changes), engine)
    old: dict[tuple[Any, ...], Conclusion] = {}
    for c in before.conclusions:
        old.setdefault(_identity(c, rb), c)
    new: dict[tuple[Any, ...], Conclusion] = {}
    for c in after.conclusions:
        new.setdefault(_identity(c, rb), c)
    diffs: list[tuple[str, Conclusion | None, Conclusion | None]] = []
    for key in sorted(set(old) | set(new), key=lambda k: (k[0], str(k[1]))):
        a, b = old.get(key), new.get(key)
        if a is None or b is None or a.status != b.status or a.attributes != b.attributes:
            diffs.append((key[0], a, b))
    return before, after, diffs


def what_if_lines(rb: RuleBase, diffs: list[tuple[str, Conclusion | None, Conclusion | None]],
                  changes: list[tuple[str, str, Any]], lang: str = "en") -> list[str]:
    out = ["What if: " + "; ".join(f"{fid}.{attr} = {format_value(v) if v is not None else 'unknown'}"
                                   for fid, attr, v in changes)]
    if not diffs:
        out.append("  No conclusion changes.")
        return out
    width = 12
    for tname, a, b in diffs:
        title = _t(rb.kb.types[tname].title, lang)
        s_a = a.status.replace("_", " ") if a else "does not hold"
        s_b = b.status.replace("_", " ") if b else "does not hold"
        ref = b or a
        assert ref is not None
        ident = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(ref.attributes.items())
                          if rb.kb.types[tname].attributes.get(k) and rb.kb.types[tname].attributes[k].type in ("ref", "enum"))
        out.append("")
        out.append(f"  {title} ({ident})")
        out.append(f"    {'before:':<{width}}{s_a}")
        out.append(f"    {'after:':<{width}}{s_b}")
        if a and b and a.attributes != b.attributes:
            for k in sorted(set(a.attributes) | set(b.attributes)):
                if a.attributes.get(k) != b.attributes.get(k):
                    out.append(f"    {k}: {format_value(a.attributes.get(k))} -> {format_value(b.attributes.get(k))}")
        reason = _t(ref.explanation, lang)
        if b is None and a is not None:
            reason = "no rule produces it any more (" + ", ".join(a.rules) + ")"
        elif b is not None and b.status == "defeated":
            reason = "defeated by " + ", ".join(d["rule"] for d in b.defeated_by)
        if reason:
            out.append(f"    {'why:':<{width}}{reason}")
    return out
