"""Readable semantic tests on the synthetic kb: exceptions, three values, conflicts, time."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest
import yaml

from kzcopyright.engine.errors import EvaluationError
from kzcopyright.engine.reasoning.result import ParameterUse
from kzcopyright.engine.rulebase import evaluate_case, load_case, load_rulebase

from .conftest import KB, RULES, needs_durable
from .synth import SYNTH_KB

BASE = {"cite": "synth/1", "excerpt": "synthetic", "because": "{A}"}


def rulebase(tmp_path: Path, rules: list[dict]) -> object:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "r.yaml").write_text(yaml.safe_dump({"rules": [dict(BASE, **r) for r in rules]}, sort_keys=False))
    return load_rulebase(d, SYNTH_KB)


def case(a: dict, dates: dict | None = None) -> dict:
    out = {"id": "t", "facts": [{"b": {"key": "b0", "z": 1}}, {"a": dict({"key": "a0", "b": "b0"}, **a)}]}
    if dates:
        out["dates"] = dates
    return out


DEFAULT = {"id": "s.default", "when": [{"a": {"as": "$A"}}], "then": [{"c2": {"e": "$A"}}]}
EXCEPTION = {"id": "s.exception", "when": [{"a": {"as": "$A", "flag": True}}], "then": [{"c1": {"e": "$A"}}],
             "defeats": [{"rule": "s.default", "match": {"e": "$A"}}]}


@pytest.mark.parametrize("flag,status", [(True, "defeated"), (False, "holds"), (None, "undetermined")])
def test_exception_defeats_default(tmp_path, engine, flag, status):
    rb = rulebase(tmp_path, [DEFAULT, EXCEPTION])
    a = {} if flag is None else {"flag": flag}
    r = evaluate_case(rb, load_case(rb, case(a)), engine)
    c2 = r.find("c2", e="a0")
    assert c2 and c2[0].status == status
    if status == "defeated":
        assert [d.rule for d in c2[0].defeated_by] == ["s.exception@1"]
        assert r.status_of("c1", e="a0") == "holds"
    if status == "undetermined":
        # undetermined because the exception may apply: it depends on the flag
        assert [(d.fact, d.attribute) for d in c2[0].depends_on] == [("a:a0", "flag")]


def test_conflict_without_exception_is_reported(tmp_path, engine):
    other = {"id": "s.other", "when": [{"a": {"as": "$A", "flag": True}}], "then": [{"c1": {"e": "$A"}}]}
    rb = rulebase(tmp_path, [DEFAULT, other])
    r = evaluate_case(rb, load_case(rb, case({"flag": True})), engine)
    assert len(r.conflicts) == 1
    conflict = r.conflicts[0]
    assert conflict.status == "holds"
    assert conflict.types == ("c1", "c2")
    assert conflict.rules == ("s.default@1", "s.other@1")


def test_negation_three_valued(tmp_path, engine):
    rules = [
        {"id": "s.base", "when": [{"a": {"as": "$A", "x": {">": 2}}}], "then": [{"c1": {"e": "$A"}}]},
        {"id": "s.neg", "when": [{"a": {"as": "$A"}}, {"not": [{"c1": {"e": "$A"}}]}], "then": [{"c2": {"e": "$A"}}]},
    ]
    rb = rulebase(tmp_path, rules)
    expect = {3: ("holds", "does_not_hold"), 1: ("does_not_hold", "holds"), None: ("undetermined", "undetermined")}
    for x, (s1, s2) in expect.items():
        r = evaluate_case(rb, load_case(rb, case({} if x is None else {"x": x})), engine)
        assert (r.status_of("c1"), r.status_of("c2")) == (s1, s2), x
        if x is None:
            assert [d.attribute for d in r.find("c2")[0].depends_on] == ["x"]


def test_versions_and_dated_parameters(tmp_path, engine):
    rules = [{"id": "s.dated", "valid": {"from": _dt.date(2020, 1, 1)},
              "when": [{"a": {"as": "$A"}}, {"case": {"act_date": "$d"}}],
              "then": [{"c3": {"e": "$A", "v": "= param(p1, $d) * 2"}}]}]
    rb = rulebase(tmp_path, rules)
    r = evaluate_case(rb, load_case(rb, case({}, {"act_date": _dt.date(2018, 5, 1)})), engine)
    assert r.status_of("c3") == "does_not_hold"
    r = evaluate_case(rb, load_case(rb, case({}, {"act_date": _dt.date(2021, 5, 1)})), engine)
    c3 = r.find("c3")[0]
    assert c3.status == "holds" and c3.attributes["v"] == 10
    assert r.parameters == [ParameterUse("p1", "2021-05-01", 5, "synthetic", {"en": "A dated number"})]
    assert r.versions[0].rule == "s.dated" and r.versions[0].applied
    r = evaluate_case(rb, load_case(rb, case({})), engine)
    c3 = r.find("c3")[0]
    assert c3.status == "undetermined"
    assert [d.attribute for d in c3.depends_on] == ["act_date"]


def test_parameter_outside_its_period_is_an_error(tmp_path, engine):
    rules = [{"id": "s.early", "when": [{"a": {"as": "$A"}}, {"case": {"act_date": "$d"}}],
              "then": [{"c3": {"e": "$A", "v": "= param(p1, $d)"}}]}]
    rb = rulebase(tmp_path, rules)
    with pytest.raises(EvaluationError, match="no value in force on 2010-01-01"):
        evaluate_case(rb, load_case(rb, case({}, {"act_date": _dt.date(2010, 1, 1)})), engine)


def test_json_case_file(tmp_path, rb):
    import json

    from .conftest import KB

    data = yaml.safe_load((KB / "examples" / "marketplace-photos.yaml").read_text())
    p = tmp_path / "case.json"
    p.write_text(json.dumps(data, default=str))
    sc = load_case(rb, p)
    assert sc.id == "marketplace-photos"
    assert sc.fact("use:listing").get("acts") == ("making_available", "reproduction")


@needs_durable
def test_durable_shards_a_rule_base_beyond_its_limits(tmp_path):
    # 129 rules starting with the same condition: one durable ruleset refuses more than 128
    # (error 108), so the backend splits them over rulesets; and the real rule base, cut into
    # rulesets of a few rules, gives the same results as the python engine on the example
    from kzcopyright.engine.reasoning import durable_backend

    rules = tmp_path / "rules"
    rules.mkdir()
    body = "".join(
        f"  - id: copyright_law.9.1.r{n:03d}\n"
        "    excerpt: \"Copyright arises by the fact of creation.\"\n"
        "    when:\n      - work: {as: w, creative: true}\n"
        "    then:\n      - protected_work: {work: $w}\n"
        "    because: \"{w} is protected.\"\n" for n in range(1, 130))
    (rules / "x.yaml").write_text("article: copyright_law/9\nrules:\n" + body, encoding="utf-8")
    rb = load_rulebase(rules, KB)
    backend = rb.backend("durable")
    assert len(backend.shards) >= 2
    assert all(len(s.branches) <= durable_backend.SHARD_MAX_SHARED for s in backend.shards)
    case = {"id": "w", "facts": [{"work": {"key": "w1", "kind": "photograph", "creative": True}}]}
    sc = load_case(rb, case)
    got = evaluate_case(rb, sc, "durable")
    assert [c.status for c in got.conclusions if c.type == "protected_work"] == ["holds"]
    assert got.to_json()["conclusions"] == evaluate_case(rb, sc, "python").to_json()["conclusions"]

    saved = durable_backend.SHARD_MAX_RULES
    durable_backend.SHARD_MAX_RULES = 20
    try:
        real = load_rulebase(RULES, KB)
        real._backends.clear()
        sharded = durable_backend.DurableBackend(real.program)
        assert len(sharded.shards) > 5
        real._backends["durable"] = sharded
        ex = load_case(real, yaml.safe_load((KB / "examples" / "marketplace-photos.yaml").read_text(encoding="utf-8")))
        a = evaluate_case(real, ex, "durable").to_json()
        b = evaluate_case(real, ex, "python").to_json()
        a["engine"] = b["engine"] = "-"
        assert a == b
    finally:
        durable_backend.SHARD_MAX_RULES = saved


@needs_durable
def test_durable_shards_by_distinct_patterns_per_type(tmp_path):
    # 70 rules test the fact type b with 70 different conditions on z; a b fact without z
    # matches every one of these lenient patterns, and durable refuses a fact that matches more
    # than 64 distinct patterns of its type (error 303): the planner splits them
    rules = [{"id": "synth.r0.c1", "cite": "synth/1", "excerpt": "synthetic", "because": "{A}",
              "when": [{"a": {"as": "$A"}}], "then": [{"c3": {"e": "$A", "v": 1}}]}]
    for i in range(1, 36):
        rules.append({"id": f"synth.r{i}.c2", "cite": "synth/1", "excerpt": "synthetic", "because": "{A}",
                      "when": [{"a": {"as": "$A", "b": "$B"}}, {"b": {"as": "$B", "z": {">": i}}}],
                      "then": [{"c2": {"e": "$A", "v": 0}}]})
    for i in range(36, 71):
        rules.append({"id": f"synth.r{i}.c2", "cite": "synth/1", "excerpt": "synthetic", "because": "{A}",
                      "when": [{"c3": {"e": "$A"}}, {"a": {"as": "$A", "b": "$B"}}, {"b": {"as": "$B", "z": {"<=": i}}}],
                      "then": [{"c2": {"e": "$A", "v": 0}}]})
    d = tmp_path / "rules"
    d.mkdir()
    (d / "all.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    rb = load_rulebase(d, SYNTH_KB)
    assert len(rb.backend("durable").shards) >= 2
    sc = load_case(rb, {"id": "g", "facts": [{"b": {"key": "b0"}}, {"a": {"key": "a0", "b": "b0"}}]})
    a = evaluate_case(rb, sc, "durable").to_json()
    b = evaluate_case(rb, sc, "python").to_json()
    a["engine"] = b["engine"] = "-"
    assert a == b
    assert any(c["status"] == "undetermined" and c["type"] == "c2" for c in a["conclusions"])
