"""The YAML case files under tests/cases, on every engine, and the rule coverage they give."""

from __future__ import annotations

from pathlib import Path

import pytest

from kzcopyright.engine.workflows.casetest import load_case_files, run_case
from kzcopyright.engine.rulebase import load_rulebase

from .conftest import ENGINES, KB, RULES

CASES = Path(__file__).resolve().parent / "cases"
_RB = load_rulebase(RULES, KB)
_SCENARIOS = load_case_files(_RB, sorted(CASES.glob("*.yaml")))


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("scenario", _SCENARIOS, ids=[f"{Path(s.path).stem}:{s.id}" for s in _SCENARIOS])
def test_case(scenario, engine_name):
    outcome = run_case(_RB, scenario, engine_name)
    assert outcome.ok, f"{scenario.path}: case {scenario.id} ({engine_name}):\n  " + "\n  ".join(outcome.failures)


def test_at_least_sixty_cases():
    assert len(_SCENARIOS) >= 60


def test_every_rule_is_exercised():
    """A rule that no case exercises is untested law: the suite fails on it."""
    applied: set[str] = set()
    for s in _SCENARIOS:
        outcome = run_case(_RB, s, "python")
        if outcome.result is not None:
            applied.update(outcome.result.trace.rules[d.rule].id for d in outcome.result.derivations)
    rules = {r.id for r in _RB.rules}
    missing = sorted(rules - applied)
    assert not missing, "rules never exercised by tests/cases: " + ", ".join(missing)
