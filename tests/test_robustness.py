"""Issue 19: nothing lost, nothing overwritten, nothing hangs.

One regression test (or a few) per failure a deliberate attack on the command line found:
output targets (devices, FIFOs, symbolic links), special input files, unbounded walks, inputs
that printed a traceback, wrong answers (runaway limits, engine disagreements, decimal
commas) and a hostile kb. The batch items are in tests/test_batch_robustness.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kzcopyright.cli.main import cli
from kzcopyright.engine.errors import EvaluationError, InputError, KzError
from kzcopyright.engine.rulebase import evaluate_case, load_case, load_rulebase

from .conftest import ENGINES, KB, RULES, needs_durable
from .synth import SYNTH_KB

BASE = ["--rules", str(RULES), "--kb", str(KB)]
EXE = str(Path(sys.executable).parent / "kzcopyright")
EXAMPLE_TEXT = (KB / "examples" / "marketplace-photos.yaml").read_text()
EXAMPLE = yaml.safe_load(EXAMPLE_TEXT)
ROOT = os.geteuid() == 0


def _run(args: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess[str]:
    """The installed command in a process of its own (a hang fails the test by its timeout)."""
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout, **kw)


def _cli(args: list[str], **kw):
    return CliRunner().invoke(cli, BASE + args, **kw)


def _no_traceback(res) -> None:
    text = getattr(res, "output", "") + getattr(res, "stderr", "") + getattr(res, "stdout", "")
    assert "Traceback" not in text and "Error:" not in text.replace("error:", ""), text[-2000:]
    if getattr(res, "exception", None) is not None:
        assert isinstance(res.exception, SystemExit), repr(res.exception)


# ---- output targets: nothing replaced but a regular file ---------------------------------------------

def test_output_through_a_symlink_to_a_device_keeps_both(tmp_path):
    link = tmp_path / "out"
    link.symlink_to("/dev/null")
    res = _cli(["analyze", "--example", "marketplace-photos", "-o", str(link)])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_output_through_a_symlink_to_a_file_updates_the_target(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(target.name)
    res = _cli(["analyze", "--example", "marketplace-photos", "-o", str(link)])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and target.read_text().startswith("Case:")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the mode of the file replaced is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real.txt"]


@pytest.mark.skipif(not ROOT, reason="mknod needs root")
def test_output_onto_a_full_device_fails_and_keeps_the_node(tmp_path):
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    res = _cli(["analyze", "--example", "marketplace-photos", "-o", str(full)])
    assert res.exit_code == 1 and "No space left on device" in res.output
    assert stat.S_ISCHR(full.lstat().st_mode)  # still the device, not a regular file
    _no_traceback(res)


def test_output_into_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    res = _cli(["analyze", "--example", "marketplace-photos", "--format", "json", "-o", str(fifo)])
    reader.join(30)
    assert res.exit_code == 0, res.output
    assert b'"marketplace-photos"' in got[0]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_output_onto_a_directory_or_an_empty_name_is_refused(tmp_path):
    res = _cli(["analyze", "--example", "marketplace-photos", "-o", ""])
    assert res.exit_code == 2 and "needs a file name" in res.output
    sock_dir = tmp_path / "d"
    sock_dir.mkdir()
    from kzcopyright.engine.errors import OutputError
    from kzcopyright.engine.fileio import write_atomic

    with pytest.raises(OutputError, match="is a directory"):
        write_atomic(sock_dir, "x")
    assert sock_dir.is_dir()


def test_write_errors_are_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    for target in (tmp_path / "missing" / "g.dot", tmp_path / "file" / "g.dot"):
        res = _cli(["rules", "graph", "-o", str(target)])
        assert res.exit_code == 1 and res.output.startswith("error: cannot write"), res.output
        _no_traceback(res)
    res = _cli(["graph", "--example", "marketplace-photos", "-o", str(tmp_path / "missing" / "g.dot")])
    assert res.exit_code == 1 and "no such folder" in res.output
    if not ROOT:  # root writes into a read-only folder
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        res = _cli(["rules", "graph", "-o", str(locked / "g.dot")])
        assert res.exit_code == 1 and "Permission denied" in res.output, res.output
        _no_traceback(res)


def test_broken_pipe_and_full_stdout(tmp_path):
    # a reader that closes the pipe early: quiet (as `| head` does)
    link = tmp_path / "stdout"
    link.symlink_to("/dev/stdout")
    for args in (["analyze", "--example", "marketplace-photos", "--format", "json"],
                 ["analyze", "--example", "marketplace-photos", "--format", "json", "-o", str(link)]):
        p = subprocess.Popen([EXE, *BASE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout is not None and p.stderr is not None
        p.stdout.read(10)
        p.stdout.close()
        err = p.stderr.read().decode()
        p.wait(60)
        assert err == "", err
    assert link.is_symlink()
    # standard output on a full disk: one line, exit 1
    with open("/dev/full", "w") as full:
        res = subprocess.run([EXE, *BASE, "rules", "graph"], stdout=full, stderr=subprocess.PIPE, text=True,
                             timeout=60)
    assert res.returncode == 1 and res.stderr.strip() == "error: cannot write the output: No space left on device"


# ---- special input files: refused or read within the limit, never a hang -----------------------

def test_fifo_and_zero_inputs_do_not_hang(tmp_path):
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    res = _run([*BASE, "analyze", str(fifo)], timeout=30)
    assert res.returncode == 1 and "empty" in res.stderr
    res = _run([*BASE, "analyze", "/dev/zero"], timeout=30)
    assert res.returncode == 1 and "larger than" in res.stderr
    res = _run([*BASE, "consult", "--answers", "/dev/zero"], timeout=30)
    assert res.returncode == 1 and "larger than" in res.stderr
    # a pipe is still a way in
    res = subprocess.run([EXE, *BASE, "analyze", "/dev/stdin"], input=EXAMPLE_TEXT, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and "marketplace" in res.stdout


def test_special_files_in_a_kb_or_rules_folder_are_reported(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(SYNTH_KB, kb)
    os.mkfifo(kb / "vocabulary" / "fifo.yaml")
    (kb / "articles" / "zero.yaml").symlink_to("/dev/zero")
    (kb / "parameters" / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yaml").write_text("rules: []\n")
    os.mkfifo(rules / "r.yaml")
    res = _run(["--rules", str(rules), "--kb", str(kb), "rules", "lint"], timeout=60)
    assert res.returncode == 1, res.stderr
    for name, why in (("fifo.yaml", "FIFO"), ("zero.yaml", "character device"), ("gone.yaml", "broken symbolic"),
                      ("r.yaml", "FIFO")):
        assert re.search(rf"{name}:0:0: -: skipped: .*{why}", res.stderr), (name, res.stderr)


def test_a_folder_that_is_not_a_rule_base_is_refused_fast(tmp_path):
    start = time.monotonic()
    res = _run(["--rules", "/", "--kb", str(KB), "rules", "lint"], timeout=60)
    # refused at its top (no rule file there or one level down), or else by the bounded walk
    assert res.returncode == 1 and ("it is not a rules folder" in res.stderr or "is this the rules folder" in res.stderr)
    res = _run(["--rules", str(RULES), "--kb", "/", "rules", "lint"], timeout=60)
    assert res.returncode == 1 and "it is not a knowledge base" in res.stderr
    assert res.stderr.count("\n") <= 3  # one problem, not one per rule against an empty kb
    assert time.monotonic() - start < 30
    # the walk is bounded in depth
    deep = tmp_path / "rules"
    (deep / "a").mkdir(parents=True)
    (deep / "a" / "x.yaml").write_text("rules: []\n")
    (deep / "a" / "/".join(["d"] * 20)).mkdir(parents=True)
    with pytest.raises(InputError, match="nested more than 16 levels"):
        load_rulebase(deep, SYNTH_KB)


# ---- tracebacks instead of a located error ----------------------------------------------------------

@pytest.mark.parametrize("content,message", [
    (b"use:use.damage_tenge: caf\xe9\n", "not UTF-8 text"),
    (b"a: !!python/name:os.system\n", "is not allowed"),
    (b"a: 1\n---\nb: 2\n", "another document"),
    (b"[1, 2]\n", "must map fact.attribute to a value"),
    (b"use:use.acts: [1, {a: 1}]\n", "must be a value or a list of values"),
    (b"use:use.damage_tenge: " + b"9" * 5000 + b"\n", "number longer than"),
])
def test_bad_answers_files_give_located_errors(tmp_path, content, message):
    p = tmp_path / "answers.yaml"
    p.write_bytes(content)
    res = _cli(["consult", "--answers", str(p)])
    assert res.exit_code == 1 and message in res.output, res.output
    assert re.search(r"answers\.yaml:\d+:\d+: ", res.output)
    _no_traceback(res)


def test_odd_answer_values_are_reported_and_the_interview_goes_on(tmp_path):
    p = tmp_path / "answers.yaml"
    p.write_text("use:use.damage_tenge: .inf\nwork:work.kind: [1, 2]\nuse:use.acts: [reproduction, 7]\n")
    res = _cli(["consult", "--answers", str(p)])
    assert res.exit_code == 0, res.output
    assert "'inf' is not a number" in res.output and "Consultation complete" in res.output
    for typed in ("inf", "²", "1,5"):  # (more values in the fuzz test of test_hardening.py)
        res = _cli(["consult", "--example", "marketplace-photos"], input=f"{typed}\n" + "unknown\n" * 40)
        assert res.exit_code == 0, res.output
        assert "Consultation complete" in res.output
        _no_traceback(res)


@pytest.mark.parametrize("value,message", [
    ("use:listing.damage_tenge=inf", "'inf' is not a number"),
    ("use:listing.damage_tenge=1e400", "out of range"),
    ("use:listing.damage_tenge=1,5", "a comma in a number is ambiguous"),
    ("work:photos.kind=²", "'²' is not one of the choices"),
    ("use:listing.damage_tenge=²", "'²' is not a number"),
])
def test_what_if_values_give_one_located_error(value, message):
    res = _cli(["what-if", "--example", "marketplace-photos", "--set", value])
    assert res.exit_code == 1 and message in res.output, res.output
    _no_traceback(res)


def test_decimal_comma_is_refused_and_grouping_spaces_are_read():
    from kzcopyright.engine.language.values import parse_number_text, parse_text_value

    for text in ("1,5", "1,500", "15,000,000", "0,5"):
        with pytest.raises(ValueError, match="ambiguous"):
            parse_text_value("tenge", text)
    assert parse_number_text("15 000 000") == 15_000_000
    assert parse_number_text("1\u00a0500.25") == 1500.25
    assert parse_number_text("0.00005") == 0.00005
    res = _cli(["what-if", "--example", "marketplace-photos", "--set", "use:listing.damage_tenge=1 500"])
    assert res.exit_code == 0 and "damage_tenge = 1,500" in res.output


@pytest.mark.parametrize("value,message", [('!!bool "maybe"', "for the tag bool"),
                                           ('!!timestamp "x"', "for the tag timestamp"),
                                           ('!!int "' + "1" * 200 + '"', "number longer than")])
def test_explicit_tags_give_located_errors(tmp_path, value, message):
    case = tmp_path / "c.yaml"
    case.write_text(f"id: t\ndates: {{act_date: 2021-06-15}}\nfacts:\n  - work: {{key: w, creative: {value}}}\n")
    res = _cli(["analyze", str(case)])
    assert res.exit_code == 1 and message in res.output and "c.yaml:4:" in res.output, res.output
    _no_traceback(res)


def test_rules_diff_over_the_whole_calendar():
    res = _cli(["rules", "diff", "--from", "0001-01-01", "--to", "9999-12-31",
                str(Path(__file__).parent / "cases" / "amendments.yaml")])
    # every case is named as not evaluable, and the incomplete report exits 1 (issue 15)
    assert res.exit_code == 1, res.output
    assert "leave the calendar" in res.output and "3 could not be evaluated" in " ".join(res.output.split())
    _no_traceback(res)


def _synth_rules(tmp_path: Path, rules: list[dict]) -> Path:
    d = tmp_path / "rules"
    d.mkdir(exist_ok=True)
    (d / "x.yaml").write_text(yaml.safe_dump({"rules": rules}))
    return d


def _rule(rid: str, when: list, then: list) -> dict:
    return {"id": rid, "cite": "synth/1", "excerpt": "x", "because": "{A}", "when": when, "then": then}


def test_a_derived_number_that_overflows_is_the_same_error_on_both_engines(tmp_path):
    big = " * ".join(["$x"] * 22) + " / 3"
    rb = load_rulebase(_synth_rules(tmp_path, [_rule("synth.big", [{"a": {"as": "$A", "x": "$x"}}],
                                                     [{"c1": {"e": "$A", "v": f"= {big}"}}])]), SYNTH_KB)
    sc = load_case(rb, {"id": "t", "facts": [{"b": {"key": "b"}}, {"a": {"key": "a", "b": "b", "x": 10**15}}]})
    messages = set()
    for e in ENGINES:
        with pytest.raises(EvaluationError) as info:
            evaluate_case(rb, sc, e)
        messages.add(str(info.value))
    assert len(messages) == 1 and "synth.big" in messages.pop()


# ---- graphs and the memo ----------------------------------------------------------------------------

HOSTILE_ACT = 'x {URL="javascript:alert(1)"; label=pwned} subgraph y'


def _hostile_tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    kb = tmp_path / "kb"
    shutil.copytree(SYNTH_KB, kb)
    acts = yaml.safe_load((kb / "acts.yaml").read_text())
    acts["acts"] = {HOSTILE_ACT: {"title": {"en": 'Act "quoted" \\ back'}, "source": "javascript:alert(2)"}}
    (kb / "acts.yaml").write_text(yaml.safe_dump(acts))
    arts = yaml.safe_load((kb / "articles" / "synth.yaml").read_text())
    arts["act"] = HOSTILE_ACT
    arts["articles"]["1"]["source"] = "javascript:alert(3)"
    (kb / "articles" / "synth.yaml").write_text(yaml.safe_dump(arts))
    rule = _rule("synth.one", [{"a": {"as": "$A", "x": {">": 0}}}], [{"c1": {"e": "$A", "v": 1}}])
    rule["cite"] = f"{HOSTILE_ACT}/1"
    rules = _synth_rules(tmp_path, [rule])
    case = tmp_path / "case.yaml"
    case.write_text(yaml.safe_dump({"id": "hostile", "facts": [{"b": {"key": "b" * 81_000}},
                                                              {"a": {"key": "a" * 81_000, "b": "b" * 81_000,
                                                                     "x": 1}}]}))
    return rules, kb, case


def test_hostile_kb_cannot_put_a_link_or_script_into_the_memo(tmp_path):
    rules, kb, case = _hostile_tree(tmp_path)
    out = tmp_path / "memo.html"
    res = CliRunner().invoke(cli, ["--rules", str(rules), "--kb", str(kb), "analyze", str(case), "--format", "html",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'' in page
    assert "script-src 'none'" in page
    assert "<script" not in page.lower()
    assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", page, re.I), re.findall(r".{40}javascript:.{20}", page)
    if shutil.which("dot"):
        assert "<svg" in page  # the hostile names are drawn as text


def test_graph_quotes_every_identifier():
    from kzcopyright.engine.views.graph import _q

    for text in ['a"b', "a\\", 'a\\"; URL="javascript:x"', "x\ny", "\x00\x07z"]:
        q = _q(text)
        inner = q[1:-1]
        assert q.startswith('"') and q.endswith('"')
        # no unescaped quote inside and no backslash except the escapes written here
        assert not re.search(r'(?<!\\)"', inner), q
        assert re.fullmatch(r'(?:[^\\]|\\"|\\n)*', inner), q
    assert len(_q("k" * 81_000)) <= 1002


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_graph_of_hostile_names_and_long_keys_renders(tmp_path):
    rules, kb, case = _hostile_tree(tmp_path)
    res = CliRunner().invoke(cli, ["--rules", str(rules), "--kb", str(kb), "graph", str(case), "-o",
                                   str(tmp_path / "g.svg")])
    assert res.exit_code == 0, res.output
    svg = (tmp_path / "g.svg").read_text()
    assert "<a " not in svg and "href" not in svg  # no link at all: the hostile id is only text


def test_a_renderer_failure_falls_back_to_the_dot_text(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\necho 'Error: syntax error in line 1 near x' >&2\nexit 1\n")
    (fake / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    res = _cli(["graph", "--example", "marketplace-photos", "-o", str(tmp_path / "g.svg")])
    assert res.exit_code == 0, res.output
    assert "Graphviz could not draw the graph (Error: syntax error in line 1 near x)" in res.output
    assert (tmp_path / "g.dot").read_text().startswith("digraph reasoning")
    res = _cli(["analyze", "--example", "marketplace-photos", "--format", "html"])
    assert res.exit_code == 0 and "The graph could not be drawn here: Graphviz could not draw" in res.output


# ---- wrong answers ------------------------------------------------------------------------------

def _many_listings(n: int) -> dict:
    doc = json.loads(json.dumps(EXAMPLE, default=str))
    work = next(f["work"] for f in doc["facts"] if "work" in f)
    use = next(f["use"] for f in doc["facts"] if "use" in f)
    for i in range(1, n):
        doc["facts"].append({"work": dict(work, key=f"photos{i}")})
        doc["facts"].append({"use": dict(use, key=f"listing{i}", work=f"photos{i}")})
    return doc


def test_a_large_realistic_case_is_not_a_runaway(rb):
    sc = load_case(rb, _many_listings(143))
    r = evaluate_case(rb, sc, "python")
    assert len([c for c in r.conclusions if c.type == "infringement" and c.status == "holds"]) == 143


def test_many_rules_that_each_fire_once_are_not_a_runaway(tmp_path, monkeypatch, engine):
    from kzcopyright.engine.reasoning import evaluate as ev

    monkeypatch.setattr(ev, "MAX_FIRINGS", 50)  # as if the rule base were 100 times larger
    rules = [_rule(f"synth.r{i}", [{"a": {"as": "$A", "x": {">=": 0}}}], [{"c1": {"e": "$A", "v": i}}])
             for i in range(120)]
    rb = load_rulebase(_synth_rules(tmp_path, rules), SYNTH_KB)
    sc = load_case(rb, {"id": "t", "facts": [{"b": {"key": "b"}}, {"a": {"key": "a", "b": "b", "x": 1}}]})
    r = evaluate_case(rb, sc, engine)
    assert len([c for c in r.conclusions if c.status == "holds"]) == 120


def test_a_real_runaway_names_the_rules_that_feed_themselves(tmp_path, engine):
    rules = [_rule("synth.seed", [{"a": {"as": "$A"}}], [{"c1": {"e": "$A", "v": 0}}]),
             _rule("synth.grow", [{"c1": {"e": "$A", "v": "$v"}}], [{"c1": {"e": "$A", "v": "= $v + 1"}}])]
    rb = load_rulebase(_synth_rules(tmp_path, rules), SYNTH_KB)
    sc = load_case(rb, {"id": "r", "facts": [{"b": {"key": "b"}}, {"a": {"key": "a", "b": "b"}}]})
    start = time.monotonic()
    with pytest.raises(EvaluationError, match=r"runaway derivation.*synth\.grow(@\d+)? \(\d+x\)") as info:
        evaluate_case(rb, sc, engine)
    assert "synth.seed" not in str(info.value)
    if engine == "python":  # (durable's driver joins its actions' errors into one message)
        assert [r.split("@")[0] for r in info.value.rules] == ["synth.grow"]
    assert time.monotonic() - start < 5


@needs_durable
def test_engines_agree_on_numbers_between_0_and_0_0001(rb):
    doc = json.loads(json.dumps(EXAMPLE, default=str))
    for f in doc["facts"]:
        if "use" in f:
            f["use"]["damage_tenge"] = 0.00005
    sc = load_case(rb, doc)
    outs = []
    for e in ("python", "durable"):
        d = evaluate_case(rb, sc, e).to_json()
        d.pop("engine", None)
        outs.append(json.dumps(d, sort_keys=True))
    assert outs[0] == outs[1]


def test_a_type_with_too_many_attributes_is_refused_for_both_engines(tmp_path):
    from kzcopyright.engine.language.kb import MAX_ATTRIBUTES

    kb = tmp_path / "kb"
    shutil.copytree(SYNTH_KB, kb)
    p = kb / "vocabulary" / "types.yaml"
    doc = yaml.safe_load(p.read_text())
    attrs = doc["types"]["a"]["attributes"]
    i = 0
    while len(attrs) < MAX_ATTRIBUTES:
        attrs[f"w{i}"] = {"type": "number"}
        i += 1
    p.write_text(yaml.safe_dump(doc))
    rules = _synth_rules(tmp_path, [_rule("synth.one", [{"a": {"as": "$A", "w0": {">": 0}}}],
                                          [{"c1": {"e": "$A", "v": 1}}])])
    rb = load_rulebase(rules, kb)
    facts = {"key": "a", "b": "b", "x": 1, "y": "p", "flag": True, "d": "2020-01-01", "tags": ["t1"],
             **{f"w{k}": 1 for k in range(i)}}
    sc = load_case(rb, {"id": "t", "facts": [{"b": {"key": "b"}}, {"a": facts}]})
    for e in ENGINES:  # the largest allowed fact goes through both
        assert [c.status for c in evaluate_case(rb, sc, e).conclusions] == ["holds"]
    attrs["one_too_many"] = {"type": "number"}
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(InputError, match=f"declares {MAX_ATTRIBUTES + 1} attributes; at most {MAX_ATTRIBUTES}"):
        load_rulebase(rules, kb)


def test_why_not_is_bounded_in_time_and_says_so(rb):
    from kzcopyright.engine.reasoning.whynot import minimal_changes
    from kzcopyright.engine.views.explain import why_not_lines

    sc = load_case(rb, _many_listings(8))
    r = evaluate_case(rb, sc, "python")
    search = minimal_changes(rb, sc, "criminal_liability", {"part": "3"}, max_size=2, max_evals=5000,
                             max_seconds=0.5)
    assert search.stopped == "time" and search.bound_hit and search.evaluations < 5000
    text = "\n".join(why_not_lines(r, rb.kb, "criminal_liability", {"part": "3"}, [], "en", search))
    assert "search stopped at its time bound of 0.5 s" in text
    res = _cli(["why-not", "--example", "marketplace-photos", "criminal_liability(part=3)", "--max-seconds", "0.1",
                "--max-evals", "5000"])
    assert res.exit_code == 0 and "time bound of 0.1 s" in res.output, res.output


def test_library_errors_are_caught_in_one_place():
    """Every command leaves KzError to the group (issue 15): no command catches it itself."""
    src = (Path(__file__).resolve().parent.parent / "cli" / "main.py").read_text()
    assert src.count("except KzError") == 1 and "_fail(" not in src
    assert isinstance(KzError("x"), Exception)
