"""YAML test cases: a case's facts plus what must (and must not) be concluded.

A case file holds ``cases:``; each case is a scenario with an ``expect`` block::

    expect:
      holds:          [{compensation: {use: listing, min_tenge: 291700}}]
      undetermined:   [{criminal_liability: {part: "2"}}]
      defeated:       [{criminal_liability: {part: "1"}}]
      does_not_hold:  [{infringement: {use: listing}}]    # neither holds nor undetermined
      cites:          [copyright_law/49/1/6]              # cited by some conclusion
      fired:          [criminal_code.198.2.significant_damage]   # the right answer for the right reason

An expectation matches a conclusion of that type whose attributes include the given ones.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostics, InputError
from ..language.kb import KB
from ..rulebase import RuleBase, evaluate_case
from ..reasoning.result import Result
from ..language.scenario import Scenario, load_scenarios
from ..language.values import json_value, parse_date

__all__ = ["CaseOutcome", "run_case", "load_case_files", "EXPECT_KEYS"]

EXPECT_KEYS = ("holds", "undetermined", "defeated", "does_not_hold", "cites", "fired")


@dataclass
class CaseOutcome:
    """The outcome of one YAML test case on one engine: its failures (empty when it passed) and its result."""

    path: str
    case_id: str
    engine: str
    failures: list[str] = field(default_factory=list)
    result: Result | None = None

    @property
    def ok(self) -> bool:
        """Whether every expectation of the case was met."""
        return not self.failures


def _norm(v: Any) -> Any:
    v = parse_date(v) if isinstance(v, str) else v
    if isinstance(v, list):
        return sorted(json_value(x) for x in v)
    return json_value(v)


def _matches(c: Any, tname: str, attrs: dict[str, Any]) -> bool:
    if c.type != tname:
        return False
    for k, v in attrs.items():
        have = c.attributes.get(k)
        if have is None:
            return False
        if isinstance(have, (int, float)) and isinstance(v, (int, float)) and not isinstance(v, bool):
            if abs(float(have) - float(v)) > 1e-6:
                return False
            continue
        if _norm(have) != _norm(v):
            return False
    return True


def _describe(tname: str, attrs: dict[str, Any]) -> str:
    inner = ", ".join(f"{k}={json_value(v)}" for k, v in attrs.items())
    return f"{tname}({inner})"


def _items(spec: Any) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for item in spec or []:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and len(item) == 1:
            (t, attrs), = item.items()
            out.append((str(t), dict(attrs or {})))
    return out


def check_expectations(result: Result, expect: Any, kb: KB | None = None) -> list[str]:
    """The failed expectations of ``expect`` against ``result``, one sentence each (an empty list when all hold); names are checked against the kb's vocabulary when ``kb`` is given."""
    failures: list[str] = []
    if not isinstance(expect, dict):
        return ["case has no 'expect' block"]
    for key in expect:
        if key not in EXPECT_KEYS:
            from ..errors import suggest

            failures.append(f"unknown expectation '{key}' ({suggest(str(key), EXPECT_KEYS) or 'use ' + ', '.join(EXPECT_KEYS)})")
    kb_types = kb.types if kb is not None else {}
    for status in ("holds", "undetermined", "defeated", "does_not_hold"):
        for tname, attrs in _items(expect.get(status)):
            t = kb_types.get(tname)
            if kb_types and (t is None or t.kind == "entity"):
                failures.append(f"{status}: unknown conclusion type '{tname}'")
            elif t is not None:
                for k in attrs:
                    if k not in t.attributes:
                        failures.append(f"{status}: '{tname}' has no attribute '{k}'")
    for status in ("holds", "undetermined", "defeated"):
        for tname, attrs in _items(expect.get(status)):
            found = [c for c in result.conclusions if _matches(c, tname, attrs)]
            if not any(c.status == status for c in found):
                got = ", ".join(f"{c.status}: {_describe(c.type, {k: c.attributes[k] for k in sorted(c.attributes)})}"
                                for c in result.conclusions if c.type == tname) or "no such conclusion"
                failures.append(f"expected {status}: {_describe(tname, attrs)}; got {got}")
    for tname, attrs in _items(expect.get("does_not_hold")):
        found = [c for c in result.conclusions if _matches(c, tname, attrs) and c.status in ("holds", "undetermined")]
        if found:
            failures.append(f"expected not to hold: {_describe(tname, attrs)}; got "
                            + ", ".join(f"{c.status} ({', '.join(c.rules)})" for c in found))
    cited = {x for c in result.conclusions if c.status in ("holds", "undetermined") for x in c.citations}
    for cite in expect.get("cites") or []:
        if not any(x == cite or x.startswith(str(cite) + "/") for x in cited):
            failures.append(f"expected a conclusion citing {cite}; cited: {', '.join(sorted(cited)) or 'nothing'}")
    fired = {result.trace.rules[d.rule].id for d in result.derivations}
    for rid in expect.get("fired") or []:
        if rid not in fired:
            failures.append(f"expected rule {rid} to apply; applied: {', '.join(sorted(fired))}")
    return failures


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def load_case_files(rb: RuleBase, paths: list[Path]) -> list[Scenario]:
    """Every case of the given YAML case files, checked; raises :class:`InputError` with every problem."""
    diags = Diagnostics()
    out: list[Scenario] = []
    for p in sorted(paths):
        out.extend(load_scenarios(p, rb.kb, diags))
    if diags.errors:
        raise InputError(diags.errors)
    return out


def run_case(rb: RuleBase, scenario: Scenario, engine: str) -> CaseOutcome:
    """Evaluate one test case on ``engine`` and check its expectations; an evaluation failure is a failure of the case, never a traceback."""
    outcome = CaseOutcome(scenario.path, scenario.id, engine)
    try:
        result = evaluate_case(rb, scenario, engine)
    except Exception as exc:  # reported as the case's failure, never a traceback
        outcome.failures.append(f"evaluation failed: {exc}")
        return outcome
    outcome.result = result
    outcome.failures = check_expectations(result, _plain(scenario.expect), rb.kb)
    return outcome


_ = _dt


@dataclass
class CaseRun:
    """The outcomes of a run of YAML test cases."""

    outcomes: list[CaseOutcome]

    @property
    def failed(self) -> list[CaseOutcome]:
        """The outcomes that did not pass."""
        return [o for o in self.outcomes if not o.ok]


def _cites_article(result: Result, article: str) -> bool:
    prefix = article.rstrip("/")
    for d in result.derivations:
        if result.trace.is_aux(d):
            continue  # an internal helper of a negation, not an application of the article
        for c in d.citations:
            if c == prefix or c.startswith(prefix + "/"):
                return True
    return False


def run_cases(rb: RuleBase, paths: list[Path], engines: list[str], keyword: str | None = None,
              article: str | None = None) -> CaseRun:
    """Run the cases of ``paths`` on each engine, optionally only those whose file, id or title contains ``keyword`` or whose reasoning cites ``article``."""
    scenarios = load_case_files(rb, paths)
    out: list[CaseOutcome] = []
    for s in scenarios:
        if keyword and keyword.lower() not in f"{s.path} {s.id} {s.title}".lower():
            continue
        for e in engines:
            o = run_case(rb, s, e)
            if article and (o.result is None or not _cites_article(o.result, article)):
                continue
            out.append(o)
    return CaseRun(out)
