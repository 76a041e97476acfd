"""The explainer: why, why-not (with the smallest change), what-if, the graph, the HTML memo."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml
from click.testing import CliRunner

from kzcopyright.cli.main import cli
from kzcopyright.engine.views import graph as G
from kzcopyright.engine.reasoning.whynot import apply_changes, minimal_changes, parse_assignment, what_if, why_not
from kzcopyright.engine.views.explain import parse_spec, select, why_lines
from kzcopyright.engine.views.memo import memo_html
from kzcopyright.engine.rulebase import evaluate_case, load_case

from .conftest import KB, RULES

BASE = ["--rules", str(RULES), "--kb", str(KB)]


@pytest.fixture(scope="module")
def example(rb):
    sc = load_case(rb, None, example="marketplace-photos")
    return sc, evaluate_case(rb, sc, "python")


def _variant(rb, **use_attrs):
    data = yaml.safe_load((KB / "examples" / "marketplace-photos.yaml").read_text())
    data["facts"][3]["use"].update(use_attrs)
    sc = load_case(rb, data)
    return sc, evaluate_case(rb, sc, "python")


# ---- graph model -------------------------------------------------------------------------------

def test_graph_model_marketplace(rb, example):
    _, r = example
    g = G.reasoning_graph(r, rb.kb)
    kinds = {d["kind"] for _, d in g.nodes(data=True)}
    assert kinds == {"input", "unknown", "parameter", "rule", "conclusion"}
    # the unknown damage feeds the Art. 198 part 2 rule, through the damage in MCI
    assert g.has_node("unknown:use:listing.damage_tenge")
    infr = [n for n, d in g.nodes(data=True) if d.get("type") == "infringement"][0]
    assert g.nodes[infr]["status"] == "holds"
    rules_into = [g.nodes[u]["rule_id"] for u in g.predecessors(infr)]
    assert rules_into == ["copyright_law.16.2.use_without_consent"] * len(rules_into)
    assert "fact:use:listing" in __import__("networkx").ancestors(g, infr)
    param = [n for n, d in g.nodes(data=True) if d["kind"] == "parameter" and d["name"] == "mci"]
    assert param and g.nodes[param[0]]["value"] == 2917


def test_graph_marks_defeated_rules(rb):
    _, r = _variant(rb, damage_tenge=700_000)
    g = G.reasoning_graph(r, rb.kb)
    defeated = [d["rule_id"] for _, d in g.nodes(data=True) if d["kind"] == "rule" and d.get("defeated")]
    assert defeated == ["criminal_code.198.1.unlawful_use"]
    defeats = [(g.nodes[u]["rule_id"], g.nodes[v]["rule_id"]) for u, v, d in g.edges(data=True)
               if d["kind"] == "defeats"]
    assert ("criminal_code.198.2.significant_damage", "criminal_code.198.1.unlawful_use") in defeats
    statuses = {d["status"] for _, d in g.nodes(data=True) if d.get("type") == "art198_part"}
    assert statuses == {"holds", "defeated"}


def test_focus_keeps_only_ancestors(rb, example):
    _, r = example
    g = G.reasoning_graph(r, rb.kb)
    target = f"fact:{select(r, 'compensation', {})[0].fid}"
    f = G.focus(g, [target])
    assert target in f and f.number_of_nodes() < g.number_of_nodes()
    assert not any(d.get("type") == "criminal_liability" for _, d in f.nodes(data=True))
    dot = G.to_dot(f, rb.kb)
    assert "cluster_copyright_law" in dot and "Legend" in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_svg_renders_with_citations(rb, example, tmp_path):
    res = CliRunner().invoke(cli, BASE + ["graph", "--example", "marketplace-photos", "-o", str(tmp_path / "g.svg")])
    assert res.exit_code == 0, res.output
    root = ET.parse(tmp_path / "g.svg").getroot()
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for article in ("Copyright Law Art. 16(2)", "Copyright Law Art. 49(1)(6)", "Criminal Code Art. 198(2)"):
        assert article in text


def test_graph_without_dot_writes_dot_file(rb, tmp_path, monkeypatch):
    def missing(dot, fmt):
        raise G.GraphvizMissing(G.INSTALL_HINT)

    monkeypatch.setattr(G, "render", missing)
    res = CliRunner().invoke(cli, BASE + ["graph", "--example", "marketplace-photos", "-o", str(tmp_path / "g.svg")])
    assert res.exit_code == 0
    assert (tmp_path / "g.dot").read_text().startswith("digraph reasoning")
    assert "apt-get install graphviz" in res.output


# ---- why / why-not / what-if ----------------------------------------------------------------------

def test_why_reaches_articles_and_facts(rb, example):
    _, r = example
    c = select(r, "compensation", {})[0]
    lines = why_lines(r, rb.kb, c)
    text = "\n".join(lines)
    assert "copyright_law.49.1.compensation" in text and "Art. 49(1)(6)" in text
    assert "Monthly calculation index (MCI) on 2021-06-15 = 2,917" in text
    assert "stated fact use:listing" in text
    assert "exception copyright_law.19.1.quotation" in text and "does not apply" in text


def test_why_not_minimal_change_consent_removes_infringement(rb, example):
    sc, r = example
    # lawful_use does not hold; the smallest change that makes the seller's use lawful
    search = minimal_changes(rb, sc, "lawful_use", {"use": "listing"}, max_size=2, max_evals=600)
    assert search.solutions, search
    assert all(len(s) <= 2 for s in search.solutions)
    # and giving consent (within the licence) removes the infringement
    changed = apply_changes(sc, [("use:listing", "consent", True), ("use:listing", "within_licence", True)])
    r2 = evaluate_case(rb, changed, "python")
    assert r2.status_of("infringement", use="listing") == "does_not_hold"


def test_why_not_damage_above_200_mci_moves_to_part_2(rb, example):
    sc, r = example
    search = minimal_changes(rb, sc, "art198_part", {"part": "2"}, max_size=1)
    first = search.solutions[0]
    assert first == [("use:listing", "damage_tenge", 583_400)]  # exactly 200 MCI at 2,917 tenge
    analyses = why_not(rb, sc, "art198_part", {"part": "2"})
    sig = [a for a in analyses if a.rule.startswith("criminal_code.198.2.significant_damage")][0]
    assert sig.status == "unknown"
    assert [c.status for c in sig.conditions] == ["met", "unknown"]


def test_what_if_consent(rb, example):
    sc, _ = example
    change = parse_assignment(rb, sc, "listing.damage_tenge=3000000")
    before, after, diffs = what_if(rb, sc, [change], "python")
    changed = {(ch.type, ch.before.status if ch.before else None, ch.after.status if ch.after else None)
               for ch in diffs}
    assert ("art198_part", "undetermined", "holds") in changed
    assert after.status_of("art198_part", part="3") == "holds"
    # the seller is a legal entity: still no criminal liability of its own
    assert after.find("criminal_liability") == []


def test_cli_why_whynot_whatif():
    runner = CliRunner()
    res = runner.invoke(cli, BASE + ["why", "--example", "marketplace-photos", "infringement"])
    assert res.exit_code == 0, res.output
    assert "copyright_law.16.2.use_without_consent" in res.stdout and "rule:" in res.stdout
    res = runner.invoke(cli, BASE + ["why-not", "--example", "marketplace-photos", "art198_part(part=2)",
                                     "--max-changes", "1"])
    assert res.exit_code == 0, res.output
    assert "set use:listing.damage_tenge = 583,400" in res.stdout
    res = runner.invoke(cli, BASE + ["what-if", "--example", "marketplace-photos", "--set", "listing.consent=true",
                                     "--set", "listing.within_licence=true"])
    assert res.exit_code == 0, res.output
    assert "Exclusive rights were infringed" in res.stdout and "does not hold" in res.stdout
    res = runner.invoke(cli, BASE + ["what-if", "--example", "marketplace-photos", "--set", "listing.consnt=true"])
    assert res.exit_code == 1 and "did you mean 'consent'" in res.output
    res = runner.invoke(cli, BASE + ["why", "--example", "marketplace-photos", "infringment"])
    assert res.exit_code == 1 and "did you mean 'infringement'" in res.output


def test_spec_parsing(rb):
    assert parse_spec(rb.kb, "criminal_liability(part=2, use=listing)") == (
        "criminal_liability", {"part": "2", "use": "listing"})


# ---- HTML memo --------------------------------------------------------------------------------------

def test_memo_is_self_contained(rb, example):
    _, r = example
    page = memo_html(r, rb.kb)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page
    # the one http-equiv is the Content-Security-Policy (no refresh, no redirect)
    assert page.count("http-equiv") == 1 and '<meta http-equiv="Content-Security-Policy"' in page
    for needle in ("291,700", "43,755,000", "Not legal advice", "Recommended steps", "Copyright Law Art. 49(1)(6)",
                   "secure the evidence", r.rulebase.fingerprint):
        assert needle in page
    if shutil.which("dot"):
        assert "<svg" in page


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium not installed (.ci/run installs it)")
def test_memo_in_headless_chromium(rb, example, tmp_path):
    _, r = example
    page = tmp_path / "memo.html"
    page.write_text(memo_html(r, rb.kb), encoding="utf-8")
    shot = tmp_path / "memo.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    log = subprocess.run([_chromium(), *flags, "--enable-logging=stderr", "--v=0", "--window-size=1200,1600",
                          f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.exists(), log.stderr[-2000:]
    console_errors = [line for line in log.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    assert not console_errors, console_errors
    # the screenshot is not blank: many distinct colours (text, badges, tables)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert "Exclusive rights were infringed" in dom.stdout
    assert len(data) > 20_000
