"""Shared fixtures: the repository's rule base, both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from kzcopyright.engine.reasoning.durable_backend import durable_available
from kzcopyright.engine.rulebase import load_rulebase

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
KB = ROOT / "kb"
ENGINES = ["python"] + (["durable"] if durable_available() else [])

needs_durable = pytest.mark.skipif(not durable_available(), reason="durable_rules does not import here")


@pytest.fixture(scope="session")
def rb():
    return load_rulebase(RULES, KB)


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param
