"""The benchmark's correctness check as a test: both backends and CLIPS derive the same
conclusions on 200 generated cases of a generated rule base."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(importlib.util.find_spec("clips") is None, reason="clipspy not installed")


def _bench():
    spec = importlib.util.spec_from_file_location("kzbench", ROOT / "benchmarks" / "bench.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["kzbench"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("size", [50, 150])
def test_engines_agree_with_clips(size):
    row = _bench().bench_size(size, n_cases=5, reps=1)
    assert row["mismatches"] == 0
    assert row["python"] > 0 and row["clips"] > 0
