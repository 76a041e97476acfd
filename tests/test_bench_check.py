"""The benchmark's correctness check as a test: CLIPS used well (one eval per case, conclusions
collected in a defglobal), CLIPS as the benchmark drove it before (assert_string, env.facts()),
the python backend and the durable backend derive the same conclusions on generated rule bases
and cases. Only the check runs here, never the timings (benchmarks/bench.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from kzcopyright.engine.reasoning.durable_backend import durable_available

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(importlib.util.find_spec("clips") is None, reason="clipspy not installed")


def _bench():
    if "kzbench" not in sys.modules:
        spec = importlib.util.spec_from_file_location("kzbench", ROOT / "benchmarks" / "bench.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules["kzbench"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["kzbench"]


@pytest.mark.parametrize(("size", "seed"), [(50, 1), (150, 7)])
def test_engines_agree_with_clips_used_well(size, seed):
    check = _bench().check_size(size, n_cases=150, seed=seed)
    engines = {"clips_old", "python"} | ({"durable"} if durable_available() else set())
    assert set(check["mismatches"]) == engines
    assert check["mismatches"] == dict.fromkeys(engines, 0)
    # the agreement is not vacuous: every step of a chain was derived, and an exception
    # defeated a chain at least once
    assert all(check["kinds"].get(k, 0) > 0 for k in ("l1", "l2", "x", "l3", "act")), check["kinds"]
    assert check["defeats"] > 0


def test_clips_used_well_collects_what_it_asserted():
    """The conclusions returned through ?*out* are exactly the derived facts in working memory."""
    bench = _bench()
    env = bench.clips_env(50, collect=True)
    for case in bench.make_cases(30, 3):
        out = bench.clips_fast_derived(bench.clips_fast_run(env, bench.clips_command(case)))
        facts = {(f.template.name, str(f["s"])) for f in env.facts()
                 if f.template.name.split("_")[0] in ("l1", "l2", "l3", "x", "act")}
        assert out == facts
    # (reset) empties the collector
    assert env.eval("(progn (reset) ?*out*)") == ""


def test_error_router_is_off_only_for_clips_used_well():
    bench = _bench()
    fast, old = bench.clips_env(50, collect=True), bench.clips_env(50, collect=False)
    import clips

    # deactivated, not deleted: an error still raises, without CLIPS's text (which goes to
    # the process's stderr instead)
    with pytest.raises(clips.CLIPSError) as exc:
        fast.eval("(no-such-function)")
    assert "no-such-function" not in str(exc.value)
    with pytest.raises(clips.CLIPSError, match="no-such-function"):
        old.eval("(no-such-function)")
