"""Property tests: the durable engine agrees with the python one on generated programs;
results do not depend on the order of facts or of rule files."""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kzcopyright.engine.errors import InputError
from kzcopyright.engine.rulebase import evaluate_case, load_case, load_rulebase

from .conftest import ENGINES, KB, RULES, needs_durable
from .synth import SYNTH_KB, case, program, write_program

SETTINGS = settings(max_examples=int(__import__("os").environ.get("KZ_PROP_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _json(rb, scenario, engine):
    doc = evaluate_case(rb, scenario, engine).to_json()
    doc["engine"] = "-"
    return json.dumps(doc, sort_keys=True)


def _load(rules):
    tmp = Path(tempfile.mkdtemp(prefix="kzgen"))
    rdir = write_program(rules, tmp)
    try:
        return load_rulebase(rdir, SYNTH_KB)
    except InputError as exc:  # the generator must only produce valid programs
        raise AssertionError("generated program rejected:\n" + exc.render()) from exc


@needs_durable
@SETTINGS
@given(rules=program(), cases=st.lists(case(), min_size=1, max_size=3))
def test_durable_agrees_with_python(rules, cases):
    rb = _load(rules)
    for c in cases:
        sc = load_case(rb, c)
        assert _json(rb, sc, "durable") == _json(rb, sc, "python")


@needs_durable
@SETTINGS
@given(rules=program(), cases=st.lists(case(), min_size=2, max_size=4), cap=st.integers(2, 8))
def test_durable_sharded_agrees_with_python(rules, cases, cap):
    # rulesets of a few rules each: facts cross rulesets, gates open per ruleset, and a ruleset
    # opened late gets the gates already open
    from kzcopyright.engine.reasoning import durable_backend

    saved = durable_backend.SHARD_MAX_RULES
    durable_backend.SHARD_MAX_RULES = cap
    try:
        rb = _load(rules)
        for c in cases:
            sc = load_case(rb, c)
            assert _json(rb, sc, "durable") == _json(rb, sc, "python")
    finally:
        durable_backend.SHARD_MAX_RULES = saved


@SETTINGS
@given(rules=program(), c=case(), seed=st.integers(0, 2**16))
def test_order_independence(rules, c, seed):
    rb = _load(rules)
    base = {e: _json(rb, load_case(rb, c), e) for e in ENGINES}
    rnd = random.Random(seed)
    shuffled = dict(c)
    shuffled["facts"] = list(c["facts"])
    rnd.shuffle(shuffled["facts"])
    rules2 = list(rules)
    rnd.shuffle(rules2)
    tmp = Path(tempfile.mkdtemp(prefix="kzgen"))
    rb2 = load_rulebase(write_program(rules2, tmp, split=rnd.random() < 0.5), SYNTH_KB)
    for e in ENGINES:
        got = _json(rb2, load_case(rb2, shuffled), e)
        # the rule-base fingerprint names the files; everything else must be identical
        a = json.loads(base[e])
        b = json.loads(got)
        a["rulebase"]["fingerprint"] = b["rulebase"]["fingerprint"] = "-"
        assert a == b


def test_example_order_independence(rb):
    """The bundled example: facts shuffled give byte-identical JSON on every engine."""
    import yaml

    from kzcopyright.engine.rulebase import examples_dir

    data = yaml.safe_load((examples_dir(KB) / "marketplace-photos.yaml").read_text())
    outs = set()
    for seed in range(5):
        d = dict(data)
        d["facts"] = list(data["facts"])
        random.Random(seed).shuffle(d["facts"])
        for e in ENGINES:
            outs.add(_json(rb, load_case(rb, d), e))
    assert len(outs) == 1


def test_rule_file_order_does_not_matter(tmp_path):
    files = sorted(RULES.glob("**/*.yaml"))
    rb1 = load_rulebase(RULES, KB, rule_files=files)
    rb2 = load_rulebase(RULES, KB, rule_files=list(reversed(files)))
    assert rb1.fingerprint == rb2.fingerprint
    sc1 = load_case(rb1, None, example="marketplace-photos")
    sc2 = load_case(rb2, None, example="marketplace-photos")
    for e in ENGINES:
        assert _json(rb1, sc1, e) == _json(rb2, sc2, e)
