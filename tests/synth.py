"""Generators of synthetic rule programs and cases, used by the property tests."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

SYNTH_KB = Path(__file__).resolve().parent / "fixtures" / "synth_kb"
HEADS = ["c1", "c2", "c3", "c4"]
DATES = [_dt.date(2018, 5, 1), _dt.date(2020, 6, 1), _dt.date(2022, 1, 15)]


@st.composite
def literal_test(draw: Any) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["x", "y", "flag", "d", "tags", "present"]))
    if kind == "x":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return "x", {op: draw(st.integers(0, 4))}
    if kind == "y":
        op = draw(st.sampled_from(["in", "not_in", "="]))
        if op == "=":
            return "y", draw(st.sampled_from(["p", "q", "r"]))
        return "y", {op: draw(st.lists(st.sampled_from(["p", "q", "r"]), min_size=1, max_size=2, unique=True))}
    if kind == "flag":
        return "flag", draw(st.booleans())
    if kind == "d":
        return "d", {draw(st.sampled_from(["<", ">="])): draw(st.sampled_from(DATES))}
    if kind == "tags":
        return "tags", {"contains": draw(st.sampled_from(["t1", "t2", "t3"]))}
    return draw(st.sampled_from(["x", "flag"])), {"present": draw(st.booleans())}


@st.composite
def rule(draw: Any, index: int, k: int, n_rules: int, heads: list[int]) -> dict[str, Any]:
    """A rule concluding c<k>; may use c<j> (j<k) and defeat rules with a later head."""
    a_pat: dict[str, Any] = {"as": "$A"}
    for attr, test in draw(st.lists(literal_test(), max_size=2, unique_by=lambda t: t[0])):
        a_pat[attr] = test
    when: list[Any] = [{"a": a_pat}]
    head_v: Any = draw(st.integers(0, 3))
    style = draw(st.sampled_from(["lit", "x", "xz", "param", "kparam"]))
    if style in ("x", "xz"):
        a_pat["x"] = "$x"
        head_v = "= $x * 2 + 1"
    if style == "xz" or draw(st.booleans()):
        a_pat["b"] = "$B"
        bpat: dict[str, Any] = {"as": "$B"}
        if style == "xz":
            bpat["z"] = "$z"
            head_v = "= $x + $z"
        elif draw(st.booleans()):
            bpat["z"] = {draw(st.sampled_from([">", "<="])): draw(st.integers(0, 4))}
        when.append({"b": bpat})
    if style == "param":
        when.append({"case": {"act_date": "$d"}})
        head_v = "= param(p1, $d)"
    if style == "kparam":
        a_pat.setdefault("x", {})
        if isinstance(a_pat["x"], dict):
            a_pat["x"]["<"] = {"param": "k1"}
    lower = [f"c{j}" for j in range(1, k)]
    if lower and draw(st.booleans()):
        cpat: dict[str, Any] = {"e": "$A"}
        if draw(st.booleans()):
            cpat["v"] = {draw(st.sampled_from([">=", "<"])): draw(st.integers(0, 6))}
        when.append({draw(st.sampled_from(lower)): cpat})
    if lower and draw(st.integers(0, 2)) == 0:
        when.append({"not": [{draw(st.sampled_from(lower)): {"e": "$A"}}]})
    if draw(st.integers(0, 3)) == 0:
        # a negated conjunction: an auxiliary predicate
        when.append({"not": [{"b": {"as": "$B2", "z": {">": draw(st.integers(0, 4))}}},
                             {"a": {"as": "$A", "b": "$B2"}}]})
    if draw(st.integers(0, 3)) == 0:
        alt1 = {"a": {"as": "$A", "flag": True}}
        # either a choice, or the complement (flag true or false: decided by cases, whatever flag is)
        alt2 = draw(st.sampled_from([{"a": {"as": "$A", "y": draw(st.sampled_from(["p", "q"]))}},
                                     {"a": {"as": "$A", "flag": False}}]))
        when.append({"any": [[alt1], [alt2]]})
    r: dict[str, Any] = {
        "id": f"synth.r{index}.c{k}",
        "cite": "synth/1",
        "excerpt": "synthetic",
        "because": "{A}",
        "when": when,
        "then": [{f"c{k}": {"e": "$A", "v": head_v}}],
    }
    later = [i for i, h in enumerate(heads) if h > k]
    if later and draw(st.integers(0, 2)) == 0:
        target = draw(st.sampled_from(later))
        r["defeats"] = [{"rule": f"synth.r{target}.c{heads[target]}", "match": {"e": "$A"}}]
    if draw(st.integers(0, 4)) == 0:
        r["valid"] = {"from": _dt.date(2020, 1, 1)}
    return r


@st.composite
def program(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 6))
    heads = sorted(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)))
    return [draw(rule(i, heads[i], n, heads)) for i in range(n)]


@st.composite
def number(draw: Any, ranges: bool) -> Any:
    """A number 0..4, or (with ``ranges``, now and then) a range of them, one end maybe open."""
    if ranges and draw(st.integers(0, 4)) == 0:
        lo = draw(st.integers(0, 4))
        return {"from": lo if draw(st.integers(0, 3)) else None, "to": lo + draw(st.integers(0, 3))}
    return draw(st.integers(0, 4))


@st.composite
def date(draw: Any, ranges: bool) -> Any:
    """One of DATES, or (with ``ranges``, now and then) its year or a range around it."""
    d = draw(st.sampled_from(DATES))
    if ranges and draw(st.integers(0, 4)) == 0:
        kind = draw(st.sampled_from(["year", "month", "range"]))
        if kind == "year":
            return d.year
        if kind == "month":
            return f"{d.year:04d}-{d.month:02d}"
        return {"from": d - _dt.timedelta(days=draw(st.integers(0, 400))),
                "to": d + _dt.timedelta(days=draw(st.integers(0, 400)))}
    return d


@st.composite
def case(draw: Any, ranges: bool = True) -> dict[str, Any]:
    n_b = draw(st.integers(1, 3))
    facts: list[Any] = []
    for i in range(n_b):
        b: dict[str, Any] = {"key": f"b{i}"}
        if draw(st.booleans()):
            b["z"] = draw(number(ranges))
        facts.append({"b": b})
    for i in range(draw(st.integers(1, 4))):
        a: dict[str, Any] = {"key": f"a{i}", "b": f"b{draw(st.integers(0, n_b - 1))}"}
        if draw(st.integers(0, 3)):
            a["x"] = draw(number(ranges))
        if draw(st.integers(0, 3)):
            a["y"] = draw(st.sampled_from(["p", "q", "r"]))
        if draw(st.integers(0, 3)):
            a["flag"] = draw(st.booleans())
        if draw(st.integers(0, 3)):
            a["d"] = draw(date(ranges))
        if draw(st.integers(0, 3)):
            a["tags"] = draw(st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=3, unique=True))
        facts.append({"a": a})
    out: dict[str, Any] = {"id": "gen", "title": "generated", "facts": facts}
    if draw(st.integers(0, 3)):
        out["dates"] = {"act_date": draw(date(ranges))}
    return out


def write_program(rules: list[dict[str, Any]], root: Path, split: bool = True) -> Path:
    rdir = root / "rules"
    rdir.mkdir(parents=True, exist_ok=True)
    if split:
        for i, r in enumerate(rules):
            (rdir / f"r{i}.yaml").write_text(yaml.safe_dump({"rules": [r]}, sort_keys=False, allow_unicode=True))
    else:
        (rdir / "all.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False, allow_unicode=True))
    return rdir
