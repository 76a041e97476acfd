"""The reader's path (issue 14): the summary heads every format, every conclusion has a
number and a name that why / why-not / what-if accept, JSON forms of the explanations, the
list of conclusion types, and the lint of the summary catalogue."""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import pytest
from click.testing import CliRunner

from kzcopyright.cli.main import cli
from kzcopyright.engine.reasoning.result import Result
from kzcopyright.engine.rulebase import evaluate_case, load_case
from kzcopyright.engine.views.document import analysis_json_text
from kzcopyright.engine.views.handles import handles, resolve
from kzcopyright.engine.views.summary import summarize, summary_lines
from kzcopyright.engine.workflows.lint import lint

from .conftest import KB, RULES

BASE = ["--rules", str(RULES), "--kb", str(KB)]
EX = ["--example", "marketplace-photos", "--engine", "python"]


@pytest.fixture(scope="module")
def example(rb):
    sc = load_case(rb, None, example="marketplace-photos")
    return sc, evaluate_case(rb, sc, "python")


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, BASE + list(args))


# ---- the summary ------------------------------------------------------------------------------

def test_the_summary_says_the_answer_in_a_few_lines(rb, example):
    _, r = example
    s = summarize(r, rb.kb)
    lines = summary_lines(s, r, rb.kb)
    assert len(lines) <= 26  # the heading and about twenty lines of 80 columns
    text = re.sub(r"\s+", " ", " ".join(lines))
    assert "photos is protected by copyright" in text
    assert "the exclusive rights in photos by listing [3]" in text
    assert "compensation of 291,700 to 43,755,000 tenge" in text
    # criminal exposure, said plainly: a legal entity never; its officer undetermined until named
    assert "seller is not criminally liable: a legal entity never is" in text
    assert "its officer or employee who committed the act may be liable under Art. 198 part 1, part 2 or part 3" in text
    assert "a civil claim by 2024-07-01 (running)" in text
    assert "1. secure the evidence" in text and "3. send a claim letter" in text
    assert "use:listing.damage_tenge" in text  # the questions that would settle what is open
    assert [q.attribute for q in s.questions] == ["damage_tenge", "intent", "acted_by"]


def test_the_summary_heads_every_format(example, rb, tmp_path):
    text = _run("analyze", *EX).stdout
    assert text.index("Summary\n=======") < text.index("Conclusions\n-----------")
    doc = json.loads(_run("analyze", *EX, "--format", "json").stdout)
    assert doc["summary"]["lines"][0] == "Summary"
    assert [s["topic"] for s in doc["summary"]["sections"]][:4] == ["protection", "infringement", "claims", "criminal"]
    assert doc["handles"][2] == {"number": 3, "handle": "infringement(use=listing, work=photos)",
                                 "id": doc["handles"][2]["id"], "type": "infringement", "status": "holds"}
    page = _run("analyze", *EX, "--format", "html").stdout
    assert page.index(">Summary<") < page.index(">Conclusions<")
    # the summary and the handles are derived: from_json ignores them and they come back the same
    _, r = example
    saved = analysis_json_text(r, rb.kb)
    back = Result.from_json(saved)
    assert back == r and analysis_json_text(back, rb.kb) == saved
    ru = _run("analyze", *EX, "--lang", "ru").stdout
    assert "Кратко" in ru and "охраняется авторским правом" in ru


def test_summary_only_flag_and_summary_of_a_case_without_a_catalogue(rb, tmp_path):
    res = _run("analyze", *EX, "--summary")
    assert res.exit_code == 0 and len(res.stdout.splitlines()) < 32 and "Not legal advice" in res.stdout
    kb = tmp_path / "kb"
    shutil.copytree(KB, kb)
    (kb / "summary.yaml").unlink()
    res = CliRunner().invoke(cli, ["--rules", str(RULES), "--kb", str(kb), "analyze", *EX, "--summary"])
    assert res.exit_code == 0 and "Summary" in res.stdout and "[8]" in res.stdout
    assert "Recommended step: secure the evidence" in res.stdout


# ---- handles -----------------------------------------------------------------------------------

def test_every_handle_printed_by_analyze_works_in_why(rb, example):
    _, r = example
    text = _run("analyze", *EX).stdout
    printed: list[tuple[str, str]] = []
    number = None
    for line in text.splitlines():
        m = re.match(r"^  \[(\d+)\] \[", line)
        if m:
            number = m.group(1)
        elif number and line.startswith("      ") and not line.startswith("       "):
            printed.append((number, line.strip()))  # the first line under the title: the entry's name
            number = None
    assert len(printed) == len([h for h in handles(r, rb.kb) if h.conclusion is not None])
    for number, name in printed:
        by_number = resolve(r, rb.kb, f"[{number}]")
        by_name = resolve(r, rb.kb, name)
        assert [c.id for c in by_name.matches] == [c.id for c in by_number.matches], name
        assert len(by_name.matches) == 1, name
        by_id = resolve(r, rb.kb, by_name.matches[0].id)
        assert by_id.matches == by_name.matches
    # and through the command, a few of each form
    for spec in ("3", "[3]", printed[10][1], r.find("compensation")[0].id):
        res = _run("why", *EX, spec)
        assert res.exit_code == 0, (spec, res.output)
        assert res.stdout.startswith("- [") and "rule:" in res.stdout, spec
    # a number of the "Does not hold" part: why says so and points to why-not
    last = len(handles(r, rb.kb))
    res = _run("why", *EX, str(last))
    assert res.exit_code == 0 and "does not hold in this case; try: kzcopyright why-not" in res.stdout


def test_wrong_names_get_a_did_you_mean():
    res = _run("why", *EX, "infringment")
    assert res.exit_code == 1 and "did you mean 'infringement'" in res.output
    res = _run("why", *EX, "infringement(uze=listing)")
    assert res.exit_code == 1 and "did you mean 'use'" in res.output
    res = _run("why", *EX, "999")
    assert res.exit_code == 1 and "numbered [1] to [" in res.output
    res = _run("why", *EX, "infringement#000000000000")
    assert res.exit_code == 1 and "no conclusion with the id" in res.output
    res = _run("graph", *EX, "--focus", "art198_part(part=7)")
    assert res.exit_code == 1 and "did you mean 'art198_part(use=listing, part=" in res.output


def test_why_of_many_explains_the_shared_part_once():
    res = _run("why", *EX, "recommended_action")
    assert res.exit_code == 0
    out = res.stdout
    assert out.startswith("10 conclusions match recommended_action: [40]")
    assert "What they have in common (explained once):" in out and "Each of them:" in out
    # the infringement is explained once, and referred to after that
    assert out.count("because: listing exercised an exclusive right") == 1
    assert "(explained above)" in out


def test_why_whynot_whatif_in_json():
    doc = json.loads(_run("why", *EX, "3", "--format", "json").stdout)
    root = doc["roots"][0]
    assert doc["steps"][root]["rule_id"] == "copyright_law.16.2.use_without_consent"
    assert doc["steps"][root]["handle"] == "infringement(use=listing, work=photos)"
    assert all(p in doc["steps"] for p in doc["steps"][root]["premises"])
    doc = json.loads(_run("why-not", *EX, "art198_part(part=2)", "--max-changes", "1", "--format", "json").stdout)
    assert doc["type"] == "art198_part" and doc["current"][0]["status"] == "undetermined"
    assert doc["changes"]["solutions"][0] == [{"fact": "use:listing", "attribute": "damage_tenge", "value": 583400}]
    assert doc["rules"] and "conditions" in doc["rules"][0]
    doc = json.loads(_run("what-if", *EX, "--set", "listing.damage_tenge=3000000", "--format", "json").stdout)
    assert doc["changes"] == [{"fact": "use:listing", "attribute": "damage_tenge", "value": 3000000}]
    assert any(d["type"] == "art198_part" and d["before"] == "undetermined" and d["after"] == "holds"
               for d in doc["differences"])


def test_what_if_focus_on_a_handle():
    res = _run("what-if", *EX, "--set", "listing.damage_tenge=3000000", "--focus", "art198_part(part=3)")
    assert res.exit_code == 0, res.output
    assert "The act falls under Criminal Code Art. 198" in res.stdout and "after:      holds" in res.stdout
    assert "Exclusive rights" not in res.stdout
    res = _run("what-if", *EX, "--set", "listing.damage_tenge=3000000", "--focus", "3")
    assert res.exit_code == 0 and "unchanged — holds" in res.stdout


def test_why_not_takes_a_number_of_the_does_not_hold_part(rb, example):
    _, r = example
    n = next(h.number for h in handles(r, rb.kb) if h.type == "lawful_use")
    res = _run("why-not", *EX, str(n), "--max-changes", "0")
    assert res.exit_code == 0 and "lawful_use" in res.stdout and "Rule copyright_law." in res.stdout


def test_conclusions_lists_the_types():
    res = _run("conclusions")
    assert res.exit_code == 0
    assert "infringement — Exclusive rights were infringed" in res.stdout
    assert "part: 1 | 2 | 3 | 4" in res.stdout
    assert "damage_in_mci" not in res.stdout
    assert "damage_in_mci" in _run("conclusions", "--all").stdout


def test_long_output_goes_through_a_pager_only_on_a_terminal(monkeypatch):
    import click

    from kzcopyright.cli import main as M

    paged: list[str] = []
    monkeypatch.setattr(click, "echo_via_pager", lambda text: paged.append(text))
    monkeypatch.setattr(M.sys.stdout, "isatty", lambda: True, raising=False)
    project = M.Project(None, None, pager=True)
    M._emit(project, "line\n" * 500)
    assert paged and paged[0].count("line") == 500
    M._emit(M.Project(None, None, pager=False), "x\n" * 500)
    assert len(paged) == 1


# ---- the catalogue is checked by rules lint ------------------------------------------------------

def test_lint_checks_the_summary_catalogue(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(KB, kb)
    text = (kb / "summary.yaml").read_text()
    text = text.replace("  exhaustion:\n", "  exhaustio:\n")  # a misspelt type, and exhaustion left out
    text = text.replace("{work} is protected by copyright", "{wrok} is protected by copyright")
    text = text.replace("topic: deadlines\n    text: {en: \"a civil claim", "topic: deadline\n    text: {en: \"a civil claim")
    (kb / "summary.yaml").write_text(text)
    report = lint(RULES, kb)
    codes = {(d.code, d.subject) for d in report.errors}
    assert ("summary-missing", "exhaustion") in codes
    assert ("summary-unknown-type", "exhaustio") in codes
    assert ("summary-placeholder", "protected_work") in codes
    assert ("summary-unknown-topic", "civil_claim_deadline") in codes
    msgs = " ".join(d.render() for d in report.errors)
    assert "did you mean 'work'" in msgs and "did you mean 'deadlines'" in msgs
    assert "summary.yaml:" in msgs
    assert lint(RULES, KB).ok
