"""The maintainers' commands: rules test, coverage, show, graph, diff; kb article; lint checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from kzcopyright.cli.main import cli

from .conftest import KB, RULES

ROOT = RULES.parent
BASE = ["--rules", str(RULES), "--kb", str(KB)]
SEED = str(ROOT / "tests" / "cases" / "marketplace.yaml")


def run(*args: str):
    return CliRunner().invoke(cli, BASE + list(args))


def test_rules_test_passes_and_filters():
    res = run("rules", "test", SEED, "--engine", "python")
    assert res.exit_code == 0, res.output
    assert res.output.strip().endswith("1 passed, 0 failed")
    res = run("rules", "test", SEED, "--article", "criminal_code/198", "--engine", "python")
    assert "1 passed" in res.output
    res = run("rules", "test", SEED, "--article", "copyright_law/24", "--engine", "python")
    assert "0 passed, 0 failed" in res.output
    res = run("rules", "test", SEED, "-k", "nothing-like-this")
    assert "0 passed, 0 failed" in res.output


def test_rules_test_reports_a_diff(tmp_path):
    data = yaml.safe_load(Path(SEED).read_text())
    data["cases"][0]["expect"]["holds"].append({"compensation": {"use": "listing", "min_tenge": 291_701}})
    data["cases"][0]["expect"]["fired"] = ["copyright_law.19.1.quotation"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    res = run("rules", "test", str(bad), "--engine", "python")
    assert res.exit_code == 1
    assert f"FAIL {bad}: seed-photos-copied [python]" in res.output
    assert "expected holds: compensation(min_tenge=291701, use=listing); got holds: compensation(" in res.output
    assert "min_tenge=291700" in res.output
    assert "expected rule copyright_law.19.1.quotation to apply" in res.output


def test_coverage_exit_codes(tmp_path):
    res = run("rules", "coverage", SEED)
    assert res.exit_code == 1  # one case does not exercise every rule
    assert "never exercised:" in res.output
    assert "copyright_law.24.program_owner" in res.output


def test_rules_show_and_kb_article():
    res = run("rules", "show", "criminal_code.198.2.significant_damage", "--cases", SEED)
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "in force 2015-01-01" in out and "cites: criminal_code/198/2" in out
    assert ("exception to: criminal_code.198.1.coercion, criminal_code.198.1.counterfeit_for_sale, "
            "criminal_code.198.1.misappropriation, criminal_code.198.1.unlawful_use") in out
    assert "criminal_code.198.3.large_damage" in out  # an exception to it
    assert "depends on rules: criminal_code.198.1.act" in out
    res = run("rules", "show", "criminal_code.198.2.significant_damag")
    assert res.exit_code == 1 and "did you mean 'criminal_code.198.2.significant_damage'" in res.output
    res = run("kb", "article", "copyright_law/49")
    assert res.exit_code == 0, res.output
    assert "rules encoding it:" in res.output and "copyright_law.49.1.compensation" in res.output
    assert "компенсации" in res.output


def test_rules_graph(tmp_path):
    res = run("rules", "graph", "-o", str(tmp_path / "r.dot"))
    assert res.exit_code == 0, res.output
    dot = (tmp_path / "r.dot").read_text()
    assert dot.startswith("digraph rules") and 'label="defeats"' in dot and "Criminal Code Art. 198" in dot
    if shutil.which("dot"):
        res = run("rules", "graph", "-o", str(tmp_path / "r.svg"))
        assert res.exit_code == 0 and (tmp_path / "r.svg").read_text().lstrip().startswith("<?xml")


def test_diff_between_dates_shows_mci_change():
    res = run("rules", "diff", "--from", "2019-06-01", "--to", "2024-06-01", SEED, "--format", "json")
    assert res.exit_code == 0, res.output
    import json

    report = json.loads(res.output)
    assert report["compared"] == 1 and report["cases"]
    comp = [c for c in report["cases"][0]["changes"] if c["type"] == "compensation"][0]
    assert comp["before"]["attributes"]["min_tenge"] == 252_500 and comp["after"]["attributes"]["min_tenge"] == 369_200
    assert "seed-photos-copied" in report["by_article"]["copyright_law/49"]


def test_diff_against_an_amended_rule_tree(tmp_path):
    amended = tmp_path / "rules"
    shutil.copytree(RULES, amended)
    f = amended / "copyright_law" / "art_049.yaml"
    f.write_text(f.read_text().replace('min_mci: "= param(compensation_min_mci, $d)"', "min_mci: 200")
                 .replace('min_tenge: "= param(compensation_min_mci, $d) * param(mci, $d)"',
                          'min_tenge: "= 2 * param(compensation_min_mci, $d) * param(mci, $d)"'))
    res = run("rules", "diff", "--against", str(amended), SEED)
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "1 of 1 cases change" in flat
    assert "min_tenge: 291,700 -> 583,400" in res.output
    assert "copyright_law/49: seed-photos-copied" in res.output


def test_coverage_fails_on_a_version_no_case_exercises(tmp_path):
    # split a rule at 2099-01-01: no case is dated that late, so version 2 is never applied
    amended = tmp_path / "rules"
    shutil.copytree(RULES, amended)
    f = amended / "copyright_law" / "art_016.yaml"
    text = f.read_text()
    start = text.index("  - id: copyright_law.16.2.reproduction")
    end = text.index("  - id: ", start + 10)
    rule = text[start:end]
    v1 = rule.replace("    cite:", '    version: "1"\n    valid: {from: 2015-01-01, to: 2098-12-31}\n    cite:', 1)
    v2 = rule.replace("    cite:", '    version: "2"\n    valid: {from: 2099-01-01}\n    cite:', 1)
    f.write_text(text[:start] + v1 + v2 + text[end:])
    res = CliRunner().invoke(cli, ["--rules", str(amended), "--kb", str(KB), "rules", "coverage", SEED])
    assert res.exit_code == 1, res.output
    assert "versions never exercised: copyright_law.16.2.reproduction@2" in res.output
    assert "copyright_law.16.2.reproduction@1" in res.output


def test_lint_rejects_a_gap_between_versions(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    base = {"cite": "copyright_law/9/1", "excerpt": "x", "because": "{w}",
            "when": [{"work": {"as": "$w"}}], "then": [{"protected_work": {"work": "$w"}}]}
    doc = {"rules": [dict(base, id="copyright_law.9.1.v", version="1", valid={"from": "2015-01-01", "to": "2017-12-31"}),
                     dict(base, id="copyright_law.9.1.v", version="2", valid={"from": "2018-07-01"})]}
    text = yaml.safe_dump(doc).replace("'2015-01-01'", "2015-01-01").replace("'2017-12-31'", "2017-12-31") \
        .replace("'2018-07-01'", "2018-07-01")
    (rules / "x.yaml").write_text(text)
    res = CliRunner().invoke(cli, ["--rules", str(rules), "--kb", str(KB), "rules", "lint"])
    assert res.exit_code == 1
    assert "version-gap" not in res.output  # the code is internal; the message says it
    assert "no version of 'copyright_law.9.1.v' is in force between 2017-12-31 and 2018-07-01" in res.output


def test_lint_warns_on_stale_articles():
    res = run("rules", "lint", "--today", "2028-01-01")
    assert res.exit_code == 0
    assert "was last compared with the official text on 2026-11-28" in res.output
    res = run("rules", "lint", "--today", "2028-01-01", "--strict")
    assert res.exit_code == 1


def test_diff_across_the_161_vi_amendment_by_assessment_date():
    cases = str(ROOT / "tests" / "cases" / "amendments.yaml")
    res = run("rules", "diff", "--from", "2018-07-01", "--to", "2018-07-04", "--date-field", "assessment_date",
              cases, "--format", "json")
    assert res.exit_code == 0, res.output
    import json

    report = json.loads(res.output)
    assert len(report["cases"]) == 3
    steps = {(c["identity"]["step"], c["before"] and c["before"]["status"], c["after"] and c["after"]["status"])
             for c in report["cases"][0]["changes"]}
    assert ("mandatory_claim", "holds", None) in steps and ("claim_letter", None, "holds") in steps
    res = run("rules", "diff", "--from", "2018-07-01", "--to", "2018-07-04", "--date-field", "assesment_date", cases)
    assert res.exit_code == 2 and "did you mean 'assessment_date'" in res.output


def test_lint_is_pure_and_in_the_python_api():
    """Three calls in one process give the same report, and the cached rule base keeps its own
    warnings (the CLI used to append to them: 74, then 148, then 222 warnings)."""
    import datetime as _dt

    import kzcopyright
    from kzcopyright.engine.rulebase import load_rulebase

    rb = load_rulebase(RULES, KB)
    before = list(rb.warnings)
    reports = [kzcopyright.lint(RULES, KB, today=_dt.date(2030, 1, 1)) for _ in range(3)]
    assert len({len(r.warnings) for r in reports}) == 1 and reports[0].warnings
    assert all(r.ok for r in reports) and reports[0].summary().startswith("ok: ")
    assert rb.warnings == before
    runner = CliRunner()
    outs = [runner.invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "rules", "lint", "--today", "2030-01-01"])
            for _ in range(2)]
    assert outs[0].output == outs[1].output and outs[0].exit_code == 0


def test_diff_names_cases_it_cannot_evaluate_and_exits_1(tmp_path):
    broken = tmp_path / "rules"
    shutil.copytree(RULES, broken)
    f = broken / "copyright_law" / "art_049.yaml"
    f.write_text(f.read_text().replace("param(mci, $d)", "param(mci, add_years($d, 30))", 1))
    res = run("rules", "diff", "--against", str(broken), SEED)
    assert res.exit_code == 1, res.output
    flat = " ".join(res.output.split())
    assert "1 could not be evaluated" in flat and "could not evaluate case seed-photos-copied" in flat
    assert "has no value in force" in flat


def test_diff_against_combines_with_dates(tmp_path):
    """The law on one date against an amended tree on another: both differences show."""
    amended = tmp_path / "rules"
    shutil.copytree(RULES, amended)
    res = run("rules", "diff", "--against", str(amended), "--from", "2021-06-15", "--to", "2024-06-15", SEED)
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "2021-06-15 ->" in flat and "2024-06-15: 1 of 1 cases change" in flat
    assert "mci_rate: 2,917 -> 3,692" in flat
