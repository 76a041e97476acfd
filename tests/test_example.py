"""The bundled marketplace-photos example, end to end, on every engine."""

from __future__ import annotations

import json

from click.testing import CliRunner

import kzcopyright
from kzcopyright.cli.main import cli
from kzcopyright.engine.rulebase import evaluate_case, load_case

from .conftest import ENGINES, KB, RULES


def test_marketplace_conclusions(rb, engine):
    sc = load_case(rb, None, example="marketplace-photos")
    r = evaluate_case(rb, sc, engine)
    assert r.engine == engine
    assert r.status_of("protected_work", work="photos") == "holds"
    assert r.status_of("no_formalities_required", work="photos") == "holds"
    assert r.status_of("infringement", use="listing") == "holds"
    comp = r.find("compensation", use="listing")[0]
    assert comp.status == "holds"
    # the seed's range, with its upper figure corrected: 100 and 15,000 MCI at MCI 2021 = 2,917
    assert comp.attributes["min_tenge"] == 291_700
    assert comp.attributes["max_tenge"] == 43_755_000
    assert "copyright_law/49/1/6" in comp.citations
    # the damage is not stated: which part of Art. 198 describes the act is undetermined
    for part in ("1", "2"):
        c = r.find("art198_part", use="listing", part=part)[0]
        assert c.status == "undetermined"
        assert [d.attribute for d in c.depends_on] == ["damage_tenge"]
    # the seller is a legal entity: never criminally liable itself, no penalty is attributed to it;
    # the liability of the officer or employee who committed the act waits for that person to be named
    assert r.find("criminal_liability") == []
    assert r.status_of("not_criminally_liable", party="seller", reason="legal_entity") == "holds"
    for part in ("1", "2", "3"):
        c = r.find("officer_liability", use="listing", part=part)[0]
        assert c.status == "undetermined"
        assert "person" not in c.attributes
        assert {d.attribute for d in c.depends_on} >= {"acted_by", "intent"}
    assert r.undetermined[0].fact == "use:listing"
    assert "Not legal advice" in r.disclaimer
    assert any("MCI" in a.text["en"] for a in r.assumptions)


def test_engines_give_identical_json(rb):
    sc = load_case(rb, None, example="marketplace-photos")
    texts = set()
    for e in ENGINES:
        doc = evaluate_case(rb, sc, e).to_json()
        doc["engine"] = "-"
        texts.add(json.dumps(doc, sort_keys=True))
    assert len(texts) == 1


def test_python_api():
    r = kzcopyright.analyze(example="marketplace-photos", rules=RULES, kb=KB, engine="python")
    assert r.status_of("infringement") == "holds"
    assert r.to_json()["schema_version"] == 2


def test_cli_text_and_json(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "analyze", "--example", "marketplace-photos"])
    assert res.exit_code == 0, res.output
    assert "[HOLDS] Exclusive rights were infringed" in res.output
    assert "291,700" in res.output and "43,755,000" in res.output
    assert "Not legal advice; law as encoded up to" in res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    out = tmp_path / "r.json"
    res = runner.invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "analyze", "--example", "marketplace-photos",
                              "--format", "json", "-o", str(out), "--engine", "python"])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["engine"] == "python" and doc["case"]["id"] == "marketplace-photos"


def test_cli_usage_errors():
    runner = CliRunner()
    res = runner.invoke(cli, ["analyze"])
    assert res.exit_code == 2
    res = runner.invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "analyze", "--example", "marketplace-photo"])
    assert res.exit_code == 1
    assert "did you mean 'marketplace-photos'" in res.output


def test_cli_missing_case_file(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "analyze", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 1
    assert "no such file" in res.output
    assert "Traceback" not in res.output


def test_lint_clean():
    res = CliRunner().invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "rules", "lint"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("ok:")


import pytest  # noqa: E402


@pytest.mark.parametrize("damage,holds,defeated", [
    (583_399, "1", []),              # just below 200 MCI at the 2021 MCI of 2,917
    (583_400, "2", ["1"]),           # exactly 200 MCI: meets the threshold (stated assumption)
    (583_401, "2", ["1"]),
    (2_916_999, "2", ["1"]),         # just below 1,000 MCI
    (2_917_000, "3", ["1", "2"]),    # exactly 1,000 MCI
])
def test_art198_parts_by_damage(rb, engine, damage, holds, defeated):
    import yaml

    from .conftest import KB

    data = yaml.safe_load((KB / "examples" / "marketplace-photos.yaml").read_text())
    data["facts"][3]["use"]["damage_tenge"] = damage
    # the example's seller is a legal entity; here an adult natural person who acted with intent
    data["facts"][2]["party"].update(kind="natural_person", age_at_act=30)
    data["facts"][3]["use"]["intent"] = "direct"
    r = evaluate_case(rb, load_case(rb, data), engine)
    statuses = {c.attributes["part"]: c.status for c in r.find("art198_part")}
    assert statuses[holds] == "holds"
    for part in defeated:
        assert statuses[part] == "defeated"
    assert sorted(p for p, s in statuses.items() if s == "holds") == [holds]
    liable = {c.attributes["part"]: c.status for c in r.find("criminal_liability")}
    assert liable == {holds: "holds"}
    if holds == "3":
        c = r.find("criminal_liability", part="3")[0]
        assert c.attributes["max_fine_tenge"] == 5000 * 2917
        assert c.attributes["max_restriction_years"] == 5 and c.attributes["max_disqualification_years"] == 3
        lim = r.find("criminal_limitation", part="3")[0]
        assert lim.attributes["ends"] == "2026-06-15"


def test_a_case_without_a_date_of_assessment_is_assessed_as_of_today_or_as_of(tmp_path):
    """issue 12: the assessment never precedes the act; analyze assesses as of today by default,
    says so, and takes --as-of."""
    import datetime as _dt
    import json

    from click.testing import CliRunner

    from kzcopyright.cli.main import cli

    text = (KB / "examples" / "marketplace-photos.yaml").read_text()
    case = tmp_path / "c.yaml"
    case.write_text("\n".join(line for line in text.splitlines() if "assessment_date" not in line) + "\n")
    base = ["--rules", str(RULES), "--kb", str(KB)]
    runner = CliRunner()
    res = runner.invoke(cli, base + ["analyze", str(case), "--format", "json", "--engine", "python"])
    doc = json.loads(res.stdout)
    assert doc["case"]["dates"]["assessment_date"] == _dt.date.today().isoformat()
    assert doc["assumptions"][0]["text"]["en"].startswith("The case gives no date of assessment")
    res = runner.invoke(cli, base + ["analyze", str(case), "--as-of", "2021-08-01", "--format", "json",
                                     "--engine", "python"])
    dated = json.loads(res.stdout)
    assert dated["case"]["dates"]["assessment_date"] == "2021-08-01"
    # as of the example's own date the answer is the example's, but for the stated assumption
    given = runner.invoke(cli, base + ["analyze", "--example", "marketplace-photos", "--format", "json",
                                       "--engine", "python"])
    ref = json.loads(given.stdout)
    assert [c["id"] for c in dated["conclusions"]] == [c["id"] for c in ref["conclusions"]]
    # the library itself adds no date: a case without one stays without one
    import kzcopyright
    r = kzcopyright.analyze(str(case), rules=RULES, kb=KB, engine="python")
    assert "assessment_date" not in r.dates
