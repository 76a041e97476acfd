"""Hostile and broken input: fuzzed YAML/JSON, limits, no code from data, determinism, files."""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kzcopyright.cli.main import cli
from kzcopyright.engine.errors import Diagnostics, EvaluationError, InputError, KzError
from kzcopyright.engine.rulebase import evaluate_case, load_case, load_rulebase
from kzcopyright.engine.language.scenario import load_scenarios
from kzcopyright.engine.language.yamlio import LIMITS, load_text

from .conftest import ENGINES, KB, RULES
from .synth import SYNTH_KB

ROOT = RULES.parent
EXAMPLE_TEXT = (KB / "examples" / "marketplace-photos.yaml").read_text()
EXAMPLE = yaml.safe_load(EXAMPLE_TEXT)
LOCATED = re.compile(r"^[^\n]+:\d+:\d+: [^\n]+: ", re.M)
# a bounded number of examples in CI; KZ_FUZZ_EXAMPLES=20000 for a long session (docs/testing.md)
FUZZ = int(os.environ.get("KZ_FUZZ_EXAMPLES", "0")) or None

odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["2024-02-29", "2023-02-29", "0000-01-01", "0001-01-01", "9999-12-31", "2021-13-01", "yes",
                     "NaN", "$x", "= 1 / 0", "!!python/object", "∞", "\x00", "ключ"]),
    st.dates(min_value=_dt.date(1, 1, 1), max_value=_dt.date(9999, 12, 31)),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(doc, prefix=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _mutate(doc, path, action, value):
    doc = json.loads(json.dumps(doc, default=str))
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "rename" and isinstance(parent, dict):
        parent[str(key) + "x"] = parent.pop(key)
    else:
        parent[key] = value
    return doc


def _expect_clean(fn):
    """Run fn: it may succeed or raise a project error; nothing else, and errors are located."""
    try:
        return fn()
    except InputError as exc:
        text = exc.render()
        assert all(LOCATED.match(d.headline()) for d in exc.diagnostics), text
        return None
    except KzError:
        return None


@settings(max_examples=FUZZ or 150, deadline=None, suppress_health_check=list(HealthCheck), print_blob=False)
@given(data=st.data())
def test_fuzzed_scenarios_give_a_result_or_a_located_error(rb, data):
    paths = list(_paths(EXAMPLE))
    path = data.draw(st.sampled_from(paths))
    action = data.draw(st.sampled_from(["delete", "set", "set", "rename"]))
    doc = _mutate(EXAMPLE, path, action, data.draw(odd_values))
    text = data.draw(st.sampled_from(["yaml", "json"]))
    payload = yaml.safe_dump(doc, allow_unicode=True) if text == "yaml" else json.dumps(doc, default=str)
    diags = Diagnostics()
    found = load_scenarios(Path(f"case.{text}"), rb.kb, diags, text=payload)
    if diags.errors:
        assert all(LOCATED.match(d.headline()) for d in diags.errors)
        return
    for sc in found:
        for e in ENGINES:
            _expect_clean(lambda sc=sc, e=e: evaluate_case(rb, sc, e))


@settings(max_examples=FUZZ or 150, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.integers(0, len(EXAMPLE_TEXT)).map(lambda n: EXAMPLE_TEXT[:n]),
    st.tuples(st.integers(0, len(EXAMPLE_TEXT)), st.text(max_size=20)).map(
        lambda t: EXAMPLE_TEXT[:t[0]] + t[1] + EXAMPLE_TEXT[t[0]:]),
))
def test_garbage_case_text_never_crashes(rb, text):
    diags = Diagnostics()
    try:
        load_scenarios(Path("garbage.yaml"), rb.kb, diags, text=text)
    except Exception as exc:  # pragma: no cover - this is the failure being tested for
        raise AssertionError(f"crash on {text!r}: {exc!r}") from exc
    for d in diags.errors:
        assert LOCATED.match(d.headline()), d.headline()


RULE_TEXT = (RULES / "criminal_code" / "art_198.yaml").read_text()
RULE_DOC = yaml.safe_load(RULE_TEXT)


@settings(max_examples=FUZZ or 60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_rule_files_give_located_errors(tmp_path_factory, data):
    doc = RULE_DOC
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        doc = _mutate(doc, path, data.draw(st.sampled_from(["delete", "set", "rename"])), data.draw(odd_values))
    d = tmp_path_factory.mktemp("fz")
    (d / "x.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
    _expect_clean(lambda: load_rulebase(d, KB))


VOCAB_TEXT = (SYNTH_KB / "vocabulary" / "types.yaml").read_text()


@settings(max_examples=FUZZ or 40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_kb_files_give_located_errors(tmp_path_factory, data):
    import shutil

    doc = yaml.safe_load(VOCAB_TEXT)
    path = data.draw(st.sampled_from(list(_paths(doc))))
    doc = _mutate(doc, path, data.draw(st.sampled_from(["delete", "set", "rename"])), data.draw(odd_values))
    root = tmp_path_factory.mktemp("kb")
    kb = root / "kb"
    shutil.copytree(SYNTH_KB, kb)
    (kb / "vocabulary" / "types.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
    rules = root / "rules"
    rules.mkdir()
    _expect_clean(lambda: load_rulebase(rules, kb))


# ---- limits ------------------------------------------------------------------------------------

def test_billion_laughs_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    diags = Diagnostics()
    assert load_text("\n".join(lines), "bomb.yaml", diags) is None
    assert diags.errors[0].code in ("too-many-aliases", "too-large")


def test_deep_nesting_long_strings_and_big_files_are_refused():
    for text, code in [("[" * (LIMITS.max_depth + 5) + "]" * (LIMITS.max_depth + 5), "too-deep"),
                       ("a: " + "x" * (LIMITS.max_string + 1), "too-long"),
                       ("a: 1\n" * (LIMITS.max_bytes // 5 + 10), "too-large")]:
        diags = Diagnostics()
        assert load_text(text, "big.yaml", diags) is None
        assert diags.errors and diags.errors[0].code == code, (code, diags.items[:1])


def test_runaway_derivation_stops_with_the_rule_named(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yaml").write_text(yaml.safe_dump({"rules": [
        {"id": "synth.seed", "cite": "synth/1", "excerpt": "x", "because": "{A}",
         "when": [{"a": {"as": "$A"}}], "then": [{"c1": {"e": "$A", "v": 0}}]},
        {"id": "synth.grow", "cite": "synth/1", "excerpt": "x", "because": "{A}",
         "when": [{"c1": {"e": "$A", "v": "$v"}}], "then": [{"c1": {"e": "$A", "v": "= $v + 1"}}]},
    ]}))
    rb = load_rulebase(rules, SYNTH_KB)
    sc = load_case(rb, {"id": "r", "facts": [{"b": {"key": "b"}}, {"a": {"key": "a", "b": "b"}}]})
    for e in ENGINES:
        with pytest.raises(EvaluationError, match="runaway derivation.*synth.grow"):
            evaluate_case(rb, sc, e)


# ---- no code from data -------------------------------------------------------------------------

def test_python_tags_are_refused(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("id: x\nfacts: !!python/object/apply:os.system ['touch /tmp/kz-pwned']\n")
    res = CliRunner().invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "analyze", str(p)])
    assert res.exit_code == 1 and "not allowed" in res.output and "Traceback" not in res.output
    assert not Path("/tmp/kz-pwned").exists()


def test_no_eval_exec_pickle_or_unsafe_yaml_in_the_source():
    bad = re.compile(r"\beval\(|\bexec\(|\bpickle\b|yaml\.load\(|yaml\.unsafe_load|\bmarshal\.loads|shell=True")
    offenders = []
    for folder in ("engine", "cli"):
        for f in sorted((ROOT / folder).rglob("*.py")):
            for n, line in enumerate(f.read_text().splitlines(), 1):
                if bad.search(line):
                    offenders.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, offenders


# ---- determinism -------------------------------------------------------------------------------

def test_json_identical_across_hash_seeds_and_engines(tmp_path):
    exe = Path(sys.executable).parent / "kzcopyright"
    outputs = set()
    for seed in range(20):
        engine = ENGINES[seed % len(ENGINES)]
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        res = subprocess.run([str(exe), "--rules", str(RULES), "--kb", str(KB), "analyze", "--example",
                              "marketplace-photos", "--format", "json", "--engine", engine],
                             capture_output=True, text=True, env=env, timeout=120)
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        assert doc["engine"] == engine
        doc["engine"] = "-"
        outputs.add(json.dumps(doc, sort_keys=True))
    assert len(outputs) == 1


# ---- files ---------------------------------------------------------------------------------------

def test_unreadable_inputs_give_one_line_errors(tmp_path):
    runner = CliRunner()
    base = ["--rules", str(RULES), "--kb", str(KB), "analyze"]
    res = runner.invoke(cli, base + [str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1 and "no such file" in res.output and "Traceback" not in res.output
    d = tmp_path / "dir.yaml"
    d.mkdir()
    res = runner.invoke(cli, base + [str(d)])
    assert res.exit_code == 2  # click refuses a directory where a file is expected
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    res = runner.invoke(cli, base + [str(empty)])
    assert res.exit_code == 1 and "empty" in res.output
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    res = runner.invoke(cli, base + [str(binary)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked.yaml"
        locked.write_text(EXAMPLE_TEXT)
        locked.chmod(0)
        res = runner.invoke(cli, base + [str(locked)])
        assert res.exit_code == 1 and "permission denied" in res.output


def test_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    out = tmp_path / "memo.html"
    out.write_text("previous")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    import kzcopyright.engine.fileio as fio

    monkeypatch.setattr(fio.os, "replace", boom)
    res = CliRunner().invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "analyze", "--example",
                                   "marketplace-photos", "--format", "html", "-o", str(out)])
    assert res.exit_code == 1 and "cannot write" in res.output
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["memo.html"]  # no temporary left behind


# ---- fuzzed answers, what-if values and batch lines (issue 19) ------------------------------------

answer_values = st.one_of(
    odd_values, st.floats(), st.integers(min_value=-(10**400), max_value=10**400),
    st.text(alphabet=st.sampled_from("0123456789.,-+eE _²³¹٣\u00a0infnaINFyesnoуда"), max_size=12),
    st.lists(st.one_of(st.text(max_size=8), st.integers(), st.floats()), max_size=4),
)


@settings(max_examples=FUZZ or 150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_consult_answers_give_a_value_or_a_located_error(rb, data):
    from kzcopyright.engine.workflows.consult import Consultation

    session = Consultation(rb, load_case(rb, EXAMPLE_TEXT), "python")
    questions = session.candidates()
    q = data.draw(st.sampled_from(questions))
    value = data.draw(answer_values)
    try:
        session.answer(value, q)
    except InputError as exc:
        assert exc.diagnostics and exc.diagnostics[0].code == "bad-answer", exc.render()


@settings(max_examples=FUZZ or 100, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(st.binary(max_size=120), st.text(max_size=120).map(str.encode),
                      st.dictionaries(st.text(max_size=20), answer_values, max_size=3).map(
                          lambda d: yaml.safe_dump(d, allow_unicode=True).encode())))
def test_fuzzed_answers_files_give_answers_or_a_located_error(tmp_path_factory, text):
    from kzcopyright.engine.workflows.consult import load_answers

    p = tmp_path_factory.mktemp("ans") / "answers.yaml"
    p.write_bytes(text)
    try:
        answers = load_answers(p)
    except InputError as exc:
        assert all(LOCATED.match(d.headline()) for d in exc.diagnostics), exc.render()
        return
    assert isinstance(answers, dict)


SET_TARGETS = ["use:listing.damage_tenge", "use:listing.consent", "work:photos.kind", "use:listing.acts",
               "case.act_date", "listing.purpose", "work:photos.nope", "nobody.consent", "use:listing"]


@settings(max_examples=FUZZ or 150, deadline=None, suppress_health_check=list(HealthCheck))
@given(target=st.sampled_from(SET_TARGETS), value=st.one_of(
    st.text(max_size=20), st.sampled_from(["inf", "-inf", "nan", "1e400", "1,5", "²", "1 000", "0x10", "unknown",
                                           "2021-02-30", "reproduction,bogus", "", "=", "1e-400"])))
def test_fuzzed_what_if_values_give_a_change_or_a_located_error(rb, target, value):
    from kzcopyright.engine.reasoning.whynot import parse_assignment, what_if

    scenario = load_case(rb, EXAMPLE_TEXT)
    try:
        change = parse_assignment(rb, scenario, f"{target}={value}")
    except InputError as exc:
        assert all(LOCATED.match(d.headline()) for d in exc.diagnostics), exc.render()
        return
    _expect_clean(lambda: what_if(rb, scenario, [change], "python"))


EXAMPLE_LINE = json.dumps(EXAMPLE, default=str)


def _mutated_line(data) -> bytes:
    kind = data.draw(st.sampled_from(["insert", "delete", "bytes", "deep", "value"]))
    if kind == "insert":
        k = data.draw(st.integers(0, len(EXAMPLE_LINE)))
        return (EXAMPLE_LINE[:k] + data.draw(st.text(max_size=10)) + EXAMPLE_LINE[k:]).encode("utf-8", "surrogatepass")
    if kind == "delete":
        k = data.draw(st.integers(0, len(EXAMPLE_LINE)))
        return (EXAMPLE_LINE[:k] + EXAMPLE_LINE[k + data.draw(st.integers(1, 30)):]).encode()
    if kind == "bytes":
        return data.draw(st.binary(max_size=200))
    if kind == "deep":
        n = data.draw(st.integers(1, 5000))
        return (data.draw(st.sampled_from(["[", '{"a":'])) * n).encode()
    doc = _mutate(EXAMPLE, data.draw(st.sampled_from(list(_paths(EXAMPLE)))), "set", data.draw(st.one_of(
        odd_values, st.sampled_from(["\ud800", "9" * 4400]))))
    return json.dumps(doc, default=str).replace('"' + "9" * 4400 + '"', "9" * 4400).encode("utf-8", "surrogatepass")


@settings(max_examples=FUZZ or 100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_batch_lines_give_a_result_or_a_located_error_record(rb, data, tmp_path_factory):
    from kzcopyright.engine.workflows import batch as B

    raw = _mutated_line(data)
    item = B.Item(0, "in.jsonl:3", 3, "", raw, "line", B._digest(raw))
    saved = dict(B._W)
    B._W.update(rb=rb, engine="python", fault="", timeout=0)
    try:
        text, keys, _ident = B._record(item)
    finally:
        B._W.clear()
        B._W.update(saved)
    rec = json.loads(text)
    assert rec["line"] == 3 and rec["input_sha256"] == item.digest
    if keys is None:
        msg = rec["error"]["message"]
        assert msg.startswith("in.jsonl:3:") or "internal error" not in msg, msg
        assert "internal error" not in msg and "Traceback" not in msg, msg
