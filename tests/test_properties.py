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


# ---- deciding by cases (issue 13): never contradicts the plain three-valued answers -----------------

def _by_identity(result, kb):
    """(type, identifying attributes) -> the best status among the conclusions of that identity."""
    from kzcopyright.engine.reasoning.compare import identity_of

    order = ["holds", "undetermined", "defeated", "does_not_hold"]
    out: dict[tuple[str, str], str] = {}
    for c in result.conclusions:
        key = (c.type, json.dumps(identity_of(c, kb), sort_keys=True, default=str))
        s = str(c.status)
        if key not in out or order.index(s) < order.index(out[key]):
            out[key] = s
    return out


def _never_contradicts(rb, scenario):
    """The answers with the constraints and deciding by cases against the plain three-valued
    ones: what holds there holds; what is not even possible there is not possible; only what
    was undetermined may become decided (never the other way)."""
    plain = _by_identity(evaluate_case(rb, scenario, "python", cases=False, bounded=False), rb.kb)
    full = _by_identity(evaluate_case(rb, scenario, "python"), rb.kb)
    for key, s in plain.items():
        if s == "holds":
            assert full.get(key) == "holds", (scenario.id, key, full.get(key))
        if s in ("defeated", "does_not_hold"):
            assert full.get(key, "does_not_hold") in ("defeated", "does_not_hold"), (scenario.id, key, full.get(key))
    for key, s in full.items():
        if s in ("holds", "undetermined"):
            assert plain.get(key) in ("holds", "undetermined"), (scenario.id, key, s, plain.get(key))
        if s == "undetermined":
            assert plain.get(key) == "undetermined", (scenario.id, key, plain.get(key))


@SETTINGS
@given(rules=program(), c=case())
def test_cases_never_contradict_plain_generated(rules, c):
    rb = _load(rules)
    _never_contradicts(rb, load_case(rb, c))


def test_cases_never_contradict_plain_bundled(rb):
    """Every bundled example and test case, the docs' examples of deciding by cases too."""
    from kzcopyright.engine.rulebase import examples_dir, list_examples
    from kzcopyright.engine.workflows.casetest import load_case_files

    root = Path(__file__).resolve().parent.parent
    scenarios = [load_case(rb, examples_dir(KB) / f"{e}.yaml") for e in list_examples(KB)]
    scenarios += [load_case(rb, root / "docs" / "examples" / n) for n in ("office-program.yaml", "reprinted-novel.yaml")]
    scenarios += load_case_files(rb, sorted((root / "tests" / "cases").glob("*.yaml")))
    for sc in scenarios:
        _never_contradicts(rb, sc)


def _completions(rb, scenario, rnd, n):
    """``n`` cases of the world the scenario allows: each unknown yes/no or choice that no rule
    tests with ``present`` given a value, each range (stated or implied by the constraints)
    a value in it, numbers a small whole number."""
    import datetime as dt
    from dataclasses import replace

    from kzcopyright.engine.language.constraints import apply_constraints
    from kzcopyright.engine.language.intervals import Interval
    from kzcopyright.engine.language.scenario import Fact
    from kzcopyright.engine.reasoning.cases import splitter_of

    sp = splitter_of(rb.program)
    base = apply_constraints(rb.kb, scenario.facts).facts if rb.kb.constraints else scenario.facts
    out = []
    while len(out) < n:
        facts = []
        for f in base:
            t = rb.kb.types[f.type]
            attrs = dict(f.attrs)
            for name, a in t.attributes.items():
                v = attrs.get(name)
                if (f.type, name) in sp.present:
                    if isinstance(v, Interval) and not v.stated:
                        attrs.pop(name)  # an unknown the constraints bound, tested with 'present': stays unknown
                    continue
                if v is None and a.type == "bool":
                    attrs[name] = rnd.random() < 0.5
                elif v is None and a.type == "enum":
                    attrs[name] = rnd.choice(a.values)
                elif isinstance(v, Interval):
                    lo, hi = v.lo, v.hi
                    if isinstance(lo or hi, dt.date):
                        lo = lo or (hi - dt.timedelta(days=40000))
                        hi = hi or (lo + dt.timedelta(days=40000))
                        attrs[name] = lo + dt.timedelta(days=rnd.randint(0, (hi - lo).days))
                    else:
                        lo = 0 if lo is None else lo
                        hi = lo + 10 ** 7 if hi is None else hi
                        x = rnd.randint(int(lo) + (1 if v.lo_open else 0), int(hi) - (1 if v.hi_open else 0)) \
                            if int(hi) - int(lo) >= 2 else lo
                        attrs[name] = x
            facts.append(Fact(f.fid, f.type, tuple(sorted(attrs.items()))))
        world = replace(scenario, facts=facts)
        if rb.kb.constraints and apply_constraints(rb.kb, world.facts).violated:
            continue
        out.append(world)
    return out


def _agrees_with_completions(rb, scenario, rnd, n=3):
    """A conclusion decided by cases is what every case of the world the scenario allows says:
    one that holds is never excluded there, one that does not hold never holds there."""
    full = evaluate_case(rb, scenario, "python")
    decided = {}
    from kzcopyright.engine.reasoning.compare import identity_of

    for c in full.conclusions:
        if c.by_cases is not None and str(c.status) in ("holds", "does_not_hold"):
            decided[(c.type, json.dumps(identity_of(c, rb.kb), sort_keys=True, default=str))] = str(c.status)
    if not decided:
        return 0
    for world in _completions(rb, scenario, rnd, n):
        got = _by_identity(evaluate_case(rb, world, "python", cases=False), rb.kb)
        for key, s in decided.items():
            if s == "holds":
                assert got.get(key) in ("holds", "undetermined"), (scenario.id, key, got.get(key), world.facts)
            else:
                assert got.get(key, "does_not_hold") != "holds", (scenario.id, key, world.facts)
    return len(decided)


@SETTINGS
@given(rules=program(), c=case(), seed=st.integers(0, 2**16))
def test_cases_agree_with_completions_generated(rules, c, seed):
    rb = _load(rules)
    _agrees_with_completions(rb, load_case(rb, c), random.Random(seed), n=4)


def test_cases_agree_with_completions_bundled(rb):
    """The docs' examples and the deciding-by-cases test cases: every decided conclusion agrees
    with random cases of the world they allow."""
    from kzcopyright.engine.workflows.casetest import load_case_files

    root = Path(__file__).resolve().parent.parent
    scenarios = [load_case(rb, root / "docs" / "examples" / n) for n in ("office-program.yaml", "reprinted-novel.yaml")]
    scenarios += load_case_files(rb, [root / "tests" / "cases" / "deciding_by_cases.yaml"])
    rnd = random.Random(13)
    assert sum(_agrees_with_completions(rb, sc, rnd) for sc in scenarios) > 0


@needs_durable
def test_engines_identical_with_ranges(rb):
    """Partial dates, ranges and the bounds the constraints imply: both engines give byte-identical JSON."""
    from kzcopyright.engine.workflows.casetest import load_case_files

    root = Path(__file__).resolve().parent.parent
    scenarios = [load_case(rb, root / "docs" / "examples" / n) for n in ("office-program.yaml", "reprinted-novel.yaml")]
    scenarios += load_case_files(rb, [root / "tests" / "cases" / "deciding_by_cases.yaml"])
    for sc in scenarios:
        assert _json(rb, sc, "durable") == _json(rb, sc, "python"), sc.id
