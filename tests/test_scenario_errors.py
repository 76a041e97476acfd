"""Broken case files (``fixtures/cases_bad/``): each problem located, with its code and message.

Through the library (``load_case`` raises :class:`InputError` carrying exactly the expected
errors, no cascades) and through the CLI (``analyze FILE`` exits 1 with
``path:line:col: case-id: message`` and no traceback). Cases whose correct behaviour the
engine does not show yet are marked xfail (strict), with the bug.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from kzcopyright.cli.main import cli
from kzcopyright.engine.errors import InputError
from kzcopyright.engine.rulebase import load_case

from .conftest import KB, RULES

CASES_BAD = Path(__file__).resolve().parent / "fixtures" / "cases_bad"


class Expect(NamedTuple):
    code: str
    line: int
    col: int
    message: str
    hint: str = ""


# file -> (subject: the case id, or "-" for a YAML-level problem; the errors load_case must report:
#          all of them and nothing else)
EXPECTED: dict[str, tuple[str, list[Expect]]] = {
    "unknown_fact_type.yaml": ("unknown-fact-type", [
        Expect("unknown-type", 6, 5, "'wrok' is not a fact type", "did you mean 'work'"),
    ]),
    "unknown_attribute.yaml": ("unknown-attribute", [
        Expect("unknown-attribute", 9, 7, "'work' has no attribute 'creatve'", "did you mean 'creative'"),
    ]),
    "bad_enum.yaml": ("bad-enum", [
        Expect("unknown-value", 6, 53, "'photo' is not a value of 'work.kind'", "did you mean 'photograph'"),
    ]),
    "unknown_reference.yaml": ("unknown-reference", [
        Expect("unknown-reference", 6, 51, "no person with key 'photografer' in this case",
               "did you mean 'photographer'"),
    ]),
    "bad_date.yaml": ("bad-date", [
        Expect("bad-date", 4, 13, "act_date must be a date YYYY-MM-DD, a year (2013), a month (2016-07) or a range "
               "{from: …, to: …}, got '15.06.2021'"),
    ]),
    "constraint_violated.yaml": ("constraint-violated", [
        Expect("constraint-violated", 2, 1, "the case contradicts kb/constraints.yaml (act_not_before_creation)",
               "check the dates"),
    ]),
    "impossible_date.yaml": ("impossible-date", [
        Expect("bad-date", 4, 13, "2021-02-30"),
    ]),
    "duplicate_key.yaml": ("-", [  # found while parsing: no case id yet
        Expect("duplicate-key", 10, 7, "duplicate key 'kind' (first at line 9)"),
    ]),
    "facts_not_a_list.yaml": ("facts-not-a-list", [
        Expect("bad-shape", 5, 3, "facts must be a list"),
    ]),
    "bad_value.json": ("json-case", [
        Expect("type-mismatch", 6, 76, "'work.objective_form' must be true or false, got 'yes'"),
    ]),
}

XFAIL: dict[str, str] = {}  # fixtures that show a known checker bug (none open)


def _params() -> list:
    out = []
    for name in sorted(EXPECTED):
        marks = [pytest.mark.xfail(reason=XFAIL[name], strict=True)] if name in XFAIL else []
        out.append(pytest.param(name, id=name, marks=marks))
    return out


def test_every_bad_case_file_has_expectations() -> None:
    assert sorted(p.name for p in CASES_BAD.iterdir() if p.is_file()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", _params())
def test_load_case_reports_located_errors(rb, name: str) -> None:
    path = CASES_BAD / name
    with pytest.raises(InputError) as info:
        load_case(rb, path)
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    shown = "\n".join(f"  {d.code} {d.location}: {d.message} (hint: {d.hint!r})" for d in errors)
    subject, expected = EXPECTED[name]
    unmatched = list(errors)
    for e in expected:
        hit = next((d for d in unmatched if d.code == e.code and (d.location.line, d.location.col) == (e.line, e.col)
                    and e.message in d.message and e.hint in d.hint
                    and Path(d.location.path).name == name), None)
        assert hit is not None, f"{name}: expected {e}\nreported:\n{shown}"
        assert hit.subject == subject
        unmatched.remove(hit)
    assert not unmatched, f"{name}: unexpected errors:\n{shown}"


_HEADLINE = re.compile(r"(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<subject>[^\s:]+): (?P<message>.+)")


@pytest.mark.parametrize("name", _params())
def test_cli_analyze_bad_case_exits_1_without_traceback(name: str) -> None:
    res = CliRunner().invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "analyze", str(CASES_BAD / name)])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    subject, expected = EXPECTED[name]
    first = _HEADLINE.fullmatch(res.output.splitlines()[0])
    assert first, res.output
    assert first["path"].endswith("/" + name)
    e = expected[0]
    assert (first["line"], first["col"], first["subject"]) == (str(e.line), str(e.col), subject)
    assert e.message in first["message"]
    n = len(expected)
    assert res.output.rstrip().endswith(f"{n} problem{'s' if n != 1 else ''} found.")
