"""Issue 13: ranges, the world's constraints, deciding by cases, relevance and the ranking of
questions (the property tests are in test_properties.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kzcopyright.cli.main import cli
from kzcopyright.engine.errors import InputError
from kzcopyright.engine.language.expr import evaluate, parse_expr
from kzcopyright.engine.language.intervals import Interval, compare, format_interval, hull, parse_partial_date
from kzcopyright.engine.reasoning.result import Result
from kzcopyright.engine.rulebase import evaluate_case, load_case, load_rulebase

from .conftest import KB, RULES

ROOT = Path(__file__).resolve().parent.parent
OFFICE = ROOT / "docs" / "examples" / "office-program.yaml"
NOVEL = ROOT / "docs" / "examples" / "reprinted-novel.yaml"
BASE = ["--rules", str(RULES), "--kb", str(KB)]
D = dt.date


# ---- ranges ---------------------------------------------------------------------------------------

def test_partial_dates_are_the_days_of_their_year_or_month():
    assert parse_partial_date(2013) == Interval(D(2013, 1, 1), D(2013, 12, 31))
    assert parse_partial_date("2016-02") == Interval(D(2016, 2, 1), D(2016, 2, 29))
    assert parse_partial_date("2016-13") is None and parse_partial_date(True) is None
    assert format_interval(Interval(D(2013, 1, 1), D(2013, 12, 31)).to_json()) == "in 2013"
    assert format_interval(Interval(D(2016, 7, 1), D(2016, 7, 31)).to_json()) == "in July 2016"
    assert format_interval(Interval(D(2092, 12, 31), None).to_json()) == "2092-12-31 or later"
    assert format_interval(Interval(None, 200, hi_open=True).to_json()) == "less than 200"


def test_comparisons_with_a_range_are_three_valued():
    autumn = Interval(D(2018, 9, 1), D(2018, 11, 30))
    assert compare(autumn, "<=", D(2018, 12, 31)) is True
    assert compare(autumn, ">", D(2018, 12, 31)) is False
    assert compare(autumn, "<", D(2018, 10, 1)) is None
    assert compare(Interval(0, 200, hi_open=True), "<", 200) is True
    assert compare(Interval(0, 200), "<", 200) is None
    assert compare(Interval(5, 5), "=", 5) is True and compare(Interval(1, 4), "=", 5) is False
    with pytest.raises(TypeError):
        compare(Interval(1, 2), "<", D(2020, 1, 1))


def test_expressions_propagate_ranges():
    term = parse_expr("date(year($dd) + 70, 12, 31)")
    assert evaluate(term, {"dd": Interval(D(2022, 1, 1), None)}, lambda n, d: None) == Interval(D(2092, 12, 31), None)
    assert evaluate(term, {"dd": Interval(D(1948, 1, 1), D(1948, 12, 31))}, lambda n, d: None) == D(2018, 12, 31)
    mci = evaluate(parse_expr("$d / 2917"), {"d": Interval(1000000, 2000000)}, lambda n, d: None)
    assert compare(mci, ">=", 200) is True and compare(mci, "<", 1000) is True
    assert evaluate(parse_expr("$a - $b"), {"a": Interval(1, 2), "b": Interval(0, 5)}, lambda n, d: None) \
        == Interval(-4, 2)
    assert hull([D(2020, 1, 1), Interval(D(2019, 1, 1), D(2019, 6, 1))]) == Interval(D(2019, 1, 1), D(2020, 1, 1))


def test_a_case_gives_ranges_and_a_conclusion_carries_them(rb):
    r = evaluate_case(rb, load_case(rb, NOVEL), "python")
    assert r.dates["act_date"] == {"from": "2018-09-01", "to": "2018-11-30"}
    (lim,) = [c for c in r.conclusions if c.type == "criminal_limitation" and c.attributes.get("part") == "1"]
    assert lim.attributes["ends"] == {"from": "2019-09-01", "to": "2019-11-30"}
    assert Result.from_json(r.to_json_text()).to_json_text() == r.to_json_text()


def test_bad_ranges_are_located_errors(rb):
    for dates, word in [("{act_date: {from: 2021-06-30, to: 2021-06-01}}", "not after"),
                        ("{act_date: {from: 2021-06-30, until: 2021-07-01}}", "a range"),
                        ("{act_date: 2021-13}", "a month")]:
        with pytest.raises(InputError) as info:
            load_case(rb, f"id: t\ndates: {dates}\nfacts: []\n")
        assert word in info.value.render(), info.value.render()


# ---- constraints ----------------------------------------------------------------------------------

def test_constraints_bound_unknown_dates_and_refuse_contradictions(rb):
    r = evaluate_case(rb, load_case(rb, OFFICE), "python")
    bounds = {(b.fact, b.attribute): b for b in r.trace.bounds}
    assert bounds[("work:program", "author_death_date")].value == {"from": "2022-01-01", "to": None}
    assert bounds[("work:program", "author_death_date")].constraints == ("death_not_before_creation",)
    # the input facts stay as stated
    assert "author_death_date" not in next(f for f in r.facts if f.id == "work:program").attributes
    with pytest.raises(InputError) as info:
        load_case(rb, OFFICE.read_text().replace("act_date: 2024-03-12", "act_date: 2020-03-12"))
    assert [d.code for d in info.value.diagnostics] == ["constraint-violated"]
    assert "act_not_before_creation" in info.value.render()


def test_a_constraints_file_is_checked_with_located_errors(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(KB, kb)
    (kb / "constraints.yaml").write_text(
        "constraints:\n"
        "  a: {title: {en: x}, for: wrok, left: act_date, op: '>=', right: created_on}\n"
        "  b: {title: {en: x}, for: use, left: case.act_date, op: '=', right: work.created_on}\n"
        "  c: {title: {en: x}, for: use, left: case.act_date, op: '>=', right: work.kind}\n"
        "  d: {title: {en: x}, for: work, when: {author_alive: maybe}, left: published_on, op: '<', right: created_on}\n")
    with pytest.raises(InputError) as info:
        load_rulebase(RULES, kb)
    codes = {d.code for d in info.value.diagnostics}
    assert {"unknown-type", "bad-operator", "bad-path", "unknown-value"} <= codes
    assert all("constraints.yaml" in d.location.path for d in info.value.diagnostics
               if d.code in ("unknown-type", "bad-operator", "bad-path", "unknown-value"))


def test_a_relation_decides_where_neither_date_is_known(rb):
    case = NOVEL.read_text().replace("act_date: {from: 2018-09-01, to: 2018-11-30}", "act_date: 2019") \
        .replace("author_death_date: 1948-05-14", "author_death_date: 1948-05-14\n      published_in_lifetime: true")
    r = evaluate_case(rb, load_case(rb, case), "python", cases=False)
    assert r.status_of("public_domain") == "holds"
    assert r.status_of("infringement") == "defeated"


# ---- deciding by cases ----------------------------------------------------------------------------

def test_the_office_program_is_infringed_whether_or_not_its_author_lives(rb):
    sc = load_case(rb, OFFICE)
    plain = evaluate_case(rb, sc, "python", cases=False, bounded=False)
    assert plain.status_of("infringement") == "undetermined"
    r = evaluate_case(rb, sc, "python")
    assert r.status_of("infringement") == "holds"
    (term,) = r.find("in_term")
    assert term.status == "holds" and term.by_cases is not None
    assert [f"{u.fact}.{u.attribute}" for u in term.by_cases.over] == ["work:program.author_alive"]
    assert term.by_cases.rules == ("copyright_law.28.6.posthumous@1",) and term.by_cases.complete
    assert {str(s.status) for s in term.by_cases.cases} == {"holds"}
    assert r.trace.cases is not None and r.trace.cases.evaluations <= r.trace.cases.max_evaluations


def test_the_reprinted_novel_is_protected_whatever_its_first_publication(rb):
    r = evaluate_case(rb, load_case(rb, NOVEL), "python")
    assert r.status_of("in_term") == "holds"
    assert r.status_of("infringement") == "holds"
    (pd,) = r.find("public_domain")
    assert pd.status == "does_not_hold" and pd.by_cases is not None
    assert [u.attribute for u in pd.by_cases.over] == ["published_on"]
    assert "public_domain" in {d.type for d in r.does_not_hold}


def test_a_bound_leaves_it_undetermined_and_says_so(rb):
    from kzcopyright.engine.reasoning.cases import decide_by_cases
    from kzcopyright.engine.reasoning.tracing import catalog_of

    sc = load_case(rb, OFFICE)
    ctx = rb.backend("python").evaluate(sc)
    plain = evaluate_case(rb, sc, "python", cases=False)
    cut = decide_by_cases(rb.program, rb.backend("python"), sc, ctx, plain, catalog_of(rb.program), max_evaluations=1)
    assert cut.trace.cases.stopped == "evaluations" and cut.trace.cases.evaluations == 1
    assert cut.status_of("in_term") == "undetermined"  # never decided by a default
    assert plain.status_of("in_term") == "undetermined"


def test_both_engines_and_saved_results_agree_on_cases(rb):
    from kzcopyright.engine.reasoning.durable_backend import durable_available

    sc = load_case(rb, OFFICE)
    r = evaluate_case(rb, sc, "python")
    text = r.to_json_text()
    assert Result.from_json(text).to_json_text() == text
    if durable_available():
        d = evaluate_case(rb, sc, "durable").to_json()
        p = r.to_json()
        d["engine"] = p["engine"] = "-"
        assert d == p


# ---- relevance and the ranking of questions -------------------------------------------------------

def test_the_bundled_example_hangs_on_at_most_five_questions_the_case_lacks(rb):
    sc = load_case(rb, None, example="marketplace-photos")
    r = evaluate_case(rb, sc, "python")
    questions = r.open_questions()
    assert 0 < len(questions) <= 5
    stated = {(f.fid, k) for f in sc.facts for k, _ in f.attrs}
    for q in questions:
        assert (q.point.fact, q.point.attribute) not in stated  # each a fact the case really lacks
    assert [q.point.attribute for q in questions] == ["damage_tenge", "intent", "acted_by"]
    assert [q.settles for q in questions] == sorted((q.settles for q in questions), reverse=True)
    groups = r.undetermined_groups()
    assert {id(c) for _, cs in groups for c in cs} == {id(c) for c in r.conclusions
                                                       if c.status == "undetermined" and c.relevant
                                                       and c.kind != "intermediate"}


def test_points_no_outcome_hangs_on_are_counted_and_shown_with_all(rb):
    r = evaluate_case(rb, load_case(rb, OFFICE), "python")
    hidden = r.hidden_points()
    assert hidden and all(not c.relevant for c in hidden)
    assert {"no_formalities_required", "protection_term"} <= {c.type for c in hidden}
    res = CliRunner().invoke(cli, BASE + ["analyze", str(OFFICE), "--engine", "python"])
    assert res.exit_code == 0, res.output
    assert f"{len(hidden)} further points depend on facts the case does not give: --all shows them" in res.output
    assert "Decided by cases: holds in every case of work:program.author_alive" in res.output
    full = CliRunner().invoke(cli, BASE + ["analyze", str(OFFICE), "--engine", "python", "--all"])
    assert full.exit_code == 0 and "further points" not in full.output
    assert len(full.output) > len(res.output)


def test_why_says_how_a_conclusion_was_decided_by_cases():
    res = CliRunner().invoke(cli, BASE + ["why", str(NOVEL), "infringement", "--engine", "python"])
    assert res.exit_code == 0, res.output
    assert "Decided by cases: holds in every case of work:novel.published_on" in res.output


def test_consult_never_asks_what_deciding_by_cases_settled(rb):
    from kzcopyright.engine.workflows.consult import Consultation

    session = Consultation(rb, load_case(rb, OFFICE), "python")
    qs = {q.id: q for q in session.candidates()}
    # whether the author lives decides who may bring the claim, no longer the infringement
    alive = qs["work:program.author_alive"]
    assert alive.settles == 1 and all("Who may bring the claim" in w for w in alive.why)
    # the death date and the publication only decide points the report counts: asked last
    order = list(qs)
    shown = {f"{q.point.fact}.{q.point.attribute}" for q in session.result().open_questions()}
    assert order.index("work:program.author_death_date") > max(order.index(i) for i in shown if i in qs)
    first = session.next_question()
    ranked = [f"{q.point.fact}.{q.point.attribute}" for q in session.result().open_questions() if q.point.askable]
    assert first is not None and first.id == ranked[0]


def test_a_case_that_cannot_be_evaluated_leaves_it_undetermined(rb):
    """A sub-case whose evaluation fails (here: every one) is no answer: nothing is decided by it."""
    from kzcopyright.engine.errors import EvaluationError
    from kzcopyright.engine.reasoning.cases import decide_by_cases
    from kzcopyright.engine.reasoning.tracing import catalog_of

    class Failing:
        def evaluate(self, scenario, **kw):
            raise EvaluationError("no value in force")

    sc = load_case(rb, OFFICE)
    ctx = rb.backend("python").evaluate(sc)
    plain = evaluate_case(rb, sc, "python", cases=False)
    res = decide_by_cases(rb.program, Failing(), sc, ctx, plain, catalog_of(rb.program))
    assert res.trace.cases.failed > 0 and res.trace.cases.decided == 0
    assert res.status_of("in_term") == "undetermined"
    assert all(c.by_cases is None or not c.by_cases.complete for c in res.conclusions if c.status == "undetermined")
