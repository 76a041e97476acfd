"""The typed trace: results stand on their own, go to JSON and back without loss, and every
view reads only them (never the engine)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kzcopyright.cli.main import cli
from kzcopyright.engine.reasoning.result import Result
from kzcopyright.engine.rulebase import evaluate_case, list_examples, load_case
from kzcopyright.engine.views import graph as G
from kzcopyright.engine.views.explain import why_lines
from kzcopyright.engine.views.memo import memo_html
from kzcopyright.engine.views.text import report_lines
from kzcopyright.engine.workflows.casetest import load_case_files

from .conftest import KB, RULES

ROOT = Path(__file__).resolve().parent.parent
BASE = ["--rules", str(RULES), "--kb", str(KB)]


def _corpus(rb):
    scenarios = [load_case(rb, None, example=name) for name in list_examples(KB)]
    scenarios += load_case_files(rb, sorted((ROOT / "tests" / "cases").glob("*.yaml")))
    return scenarios


def test_round_trip_is_byte_identical_for_every_case(rb):
    n = 0
    for s in _corpus(rb):
        r = evaluate_case(rb, s, "python")
        text = r.to_json_text()
        back = Result.from_json(text)
        assert back.to_json_text() == text, s.id
        assert back == r, s.id
        n += 1
    assert n > 100


def test_views_from_a_saved_result_equal_the_live_ones(rb):
    sc = load_case(rb, None, example="marketplace-photos")
    live = evaluate_case(rb, sc, "python")
    saved = Result.from_json(json.loads(live.to_json_text()))
    assert report_lines(saved, rb.kb) == report_lines(live, rb.kb)
    for c in live.conclusions:
        if c.status in ("holds", "undetermined", "defeated"):
            assert why_lines(saved, rb.kb, saved.conclusion(c.id)) == why_lines(live, rb.kb, c)
    assert G.to_dot(G.reasoning_graph(saved, rb.kb), rb.kb) == G.to_dot(G.reasoning_graph(live, rb.kb), rb.kb)
    assert memo_html(saved, rb.kb) == memo_html(live, rb.kb)


def test_from_json_refuses_what_is_not_a_result():
    with pytest.raises(ValueError, match="schema_version"):
        Result.from_json({"schema_version": 1})
    with pytest.raises(ValueError, match="not a kzcopyright result"):
        Result.from_json({"schema_version": 2, "case": {}})


def test_cli_why_and_graph_from_a_saved_result_and_a_batch_record(tmp_path):
    runner = CliRunner()
    saved = tmp_path / "saved.json"
    res = runner.invoke(cli, BASE + ["analyze", "--example", "marketplace-photos", "--format", "json", "--engine",
                                     "python", "-o", str(saved)])
    assert res.exit_code == 0, res.output
    live = runner.invoke(cli, BASE + ["why", "--example", "marketplace-photos", "--engine", "python", "compensation"])
    again = runner.invoke(cli, BASE + ["why", "--result", str(saved), "compensation"])
    assert again.exit_code == 0, again.output
    assert again.stdout == live.stdout and "copyright_law.49.1.compensation" in again.stdout
    res = runner.invoke(cli, BASE + ["graph", "--result", str(saved), "--focus", "compensation"])
    assert res.exit_code == 0 and res.stdout.startswith("digraph")
    # a batch output of several records: the record is chosen by its case id
    doc = json.loads(saved.read_text())
    other = json.loads(json.dumps(doc))
    other["case"]["id"] = "second"
    lines = tmp_path / "out.jsonl"
    lines.write_text(json.dumps(doc) + "\n" + json.dumps(other) + "\n")
    res = runner.invoke(cli, BASE + ["why", "--result", str(lines), "compensation"])
    assert res.exit_code == 1 and "--id" in res.output
    res = runner.invoke(cli, BASE + ["why", "--result", str(lines), "--id", "second", "compensation"])
    assert res.exit_code == 0 and "copyright_law.49.1.compensation" in res.stdout
    res = runner.invoke(cli, BASE + ["why", "--result", str(lines), "--id", "secnd", "compensation"])
    assert res.exit_code == 1 and "did you mean 'second'" in res.output


# ---- the layers --------------------------------------------------------------------------------

ENGINE = ROOT / "engine"
# what the layers above the result may not import: the evaluator, the backends, the compiled
# program, the step that reads the engine's state, and the rule base that owns them all
FORBIDDEN_FOR_VIEWS = {"reasoning.evaluate", "reasoning.pybackend", "reasoning.durable_backend", "reasoning.tracing",
                       "reasoning.whynot", "language.program", "rulebase"}
FORBIDDEN_FOR_RESULT = {"reasoning.evaluate", "reasoning.pybackend", "reasoning.durable_backend", "reasoning.tracing",
                        "reasoning.whynot", "language.program", "rulebase"}


def _imports(path: Path) -> set[str]:
    """The engine modules a file imports, as dotted names under engine/."""
    pkg = path.relative_to(ENGINE).with_suffix("").parts[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg[:len(pkg) - node.level + 1])
                mod = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("kzcopyright.engine."):
                mod = node.module[len("kzcopyright.engine."):]
            else:
                continue
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("path", sorted((ENGINE / "views").glob("*.py")) + [ENGINE / "reasoning" / "result.py",
                                                                           ENGINE / "reasoning" / "provenance.py",
                                                                           ENGINE / "reasoning" / "compare.py"],
                         ids=lambda p: str(p.relative_to(ENGINE)))
def test_nothing_above_the_result_imports_the_engine(path):
    bad = _imports(path) & (FORBIDDEN_FOR_VIEWS if "views" in path.parts else FORBIDDEN_FOR_RESULT)
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
