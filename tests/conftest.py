"""Shared fixtures: the repository's rule base, both engines."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from kzcopyright.engine.reasoning.durable_backend import durable_available
from kzcopyright.engine.rulebase import load_rulebase

# the suite's cache of compiled rule bases (engine/rbcache.py) is its own, also for the CLI
# processes it starts, and it goes away with the session
if "KZCOPYRIGHT_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="kzcopyright-cache-")
    os.environ["KZCOPYRIGHT_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, True)

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
