"""The checker on broken rule bases: one small fixture per kind of error.

Each directory under ``fixtures/lint/`` holds ``rules/`` (and, for errors in kb files, its
own small ``kb/``; otherwise the repository's kb is used) and ``expect.yaml``, the list of
diagnostics the checker must report::

    - {code: unknown-attribute, file: x.yaml, line: 9, col: 11,
       message_contains: "has no attribute 'knd'", hint_contains: "did you mean 'kind'"}

``file`` must end the reported path; ``message_contains`` is one substring or a list of them.
Every expected diagnostic must be reported, and every reported *error* must be expected (no
cascades); warnings are not checked. Fixtures whose correct behaviour the engine does not
show yet are marked xfail (strict) in ``XFAIL`` below, with the bug.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kzcopyright.cli.main import cli
from kzcopyright.engine.errors import Diagnostic, EvaluationError, InputError
from kzcopyright.engine.rulebase import load_rulebase

# the fixtures' own frozen copy of the kb, so that editing the real kb cannot break them
KB = Path(__file__).resolve().parent / "fixtures" / "lint_kb"

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lint"

XFAIL: dict[str, str] = {}  # fixtures that show a known checker bug (none open)

# every kind of error the brief asks to cover must have a fixture
REQUIRED_CODES = {
    "yaml-syntax", "duplicate-key", "unknown-key", "unknown-type", "unknown-attribute", "unknown-value",
    "type-mismatch", "bad-expression", "undefined-variable", "unused-variable", "unknown-citation",
    "duplicate-rule-id", "overlapping-versions", "dangling-exception", "cyclic-exception", "negation-cycle",
    "reserved-name", "unsafe-tag", "unknown-operator", "bad-negation", "param-not-constant",
    "missing-excerpt", "missing-because", "bad-template", "unknown-date", "missing-attribute",
    "too-many-aliases", "overlapping-values", "unknown-act", "too-large",
}
_EXPECT_KEYS = {"code", "file", "line", "col", "message_contains", "hint_contains"}


def _fixture_dirs() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def _params() -> list:
    out = []
    for d in _fixture_dirs():
        marks = [pytest.mark.xfail(reason=XFAIL[d.name], strict=True)] if d.name in XFAIL else []
        out.append(pytest.param(d, id=d.name, marks=marks))
    return out


def _expected(fixture: Path) -> list[dict]:
    data = yaml.safe_load((fixture / "expect.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, list) and data, f"{fixture.name}/expect.yaml must be a non-empty list"
    for e in data:
        assert set(e) <= _EXPECT_KEYS and {"code", "file", "line", "col", "message_contains"} <= set(e), e
    return data


def _kb_for(fixture: Path) -> Path:
    return fixture / "kb" if (fixture / "kb").is_dir() else KB


def _substrings(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _path_matches(path: str, file: str) -> bool:
    path = path.replace(os.sep, "/")
    return path == file or path.endswith("/" + file)


def _matches(d: Diagnostic, e: dict) -> bool:
    return (
        d.code == e["code"]
        and _path_matches(d.location.path, e["file"])
        and d.location.line == e["line"]
        and d.location.col == e["col"]
        and all(s in d.message for s in _substrings(e["message_contains"]))
        and all(s in d.hint for s in _substrings(e.get("hint_contains")))
    )


def _show(diags: list[Diagnostic]) -> str:
    return "\n".join(f"  {d.code} {d.location}: {d.message} (hint: {d.hint!r})" for d in diags) or "  (none)"


WARNING_FIXTURES: set[str] = set()  # fixtures whose diagnostics are warnings


def check_against_expect(fixture: Path, diagnostics: list[Diagnostic]) -> None:
    kind = "warning" if fixture.name in WARNING_FIXTURES else "error"
    errors = [d for d in diagnostics if d.severity == kind]
    unmatched = list(errors)
    for e in _expected(fixture):
        hit = next((d for d in unmatched if _matches(d, e)), None)
        assert hit is not None, f"{fixture.name}: expected {e}\nreported errors:\n{_show(errors)}"
        unmatched.remove(hit)
    assert not unmatched, f"{fixture.name}: unexpected errors:\n{_show(unmatched)}"


@pytest.mark.parametrize("fixture", _params())
def test_fixture_reports_expected_diagnostics(fixture: Path) -> None:
    if fixture.name in WARNING_FIXTURES:
        rb = load_rulebase(fixture / "rules", _kb_for(fixture))
        check_against_expect(fixture, rb.warnings)
        with pytest.raises(EvaluationError, match="durable engine cannot take this rule base"):
            rb.backend("durable")
        return
    with pytest.raises(InputError) as info:
        load_rulebase(fixture / "rules", _kb_for(fixture))
    check_against_expect(fixture, info.value.diagnostics)


def test_every_required_code_has_a_fixture() -> None:
    covered = {e["code"] for d in _fixture_dirs() for e in _expected(d)}
    assert REQUIRED_CODES <= covered, sorted(REQUIRED_CODES - covered)


def test_every_fixture_file_says_what_is_broken() -> None:
    files = [p for d in _fixture_dirs() for p in sorted(d.glob("**/*.yaml")) if p.name != "expect.yaml"]
    assert files
    for p in files:
        first = p.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), f"{p.relative_to(FIXTURES)}: the first line must be a comment"
    for d in _fixture_dirs():
        broken = [p for p in d.glob("**/*.yaml") if p.read_text(encoding="utf-8").startswith("# BROKEN")]
        assert broken, f"{d.name}: no file says '# BROKEN' on its first line"


def test_unsafe_tag_is_never_executed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    fixture = FIXTURES / "unsafe_tag"
    with pytest.raises(InputError):
        load_rulebase(fixture / "rules", KB)
    assert calls == []


def test_two_independent_errors_in_two_files_are_both_reported() -> None:
    fixture = FIXTURES / "two_errors"
    with pytest.raises(InputError) as info:
        load_rulebase(fixture / "rules", KB)
    diags = info.value.diagnostics
    by_file = {Path(d.location.path).name: d.code for d in diags if d.severity == "error"}
    assert by_file == {"a.yaml": "unknown-attribute", "b.yaml": "yaml-syntax"}, _show(diags)
    # the CLI reports both too, in one run
    res = CliRunner().invoke(cli, ["--rules", str(fixture / "rules"), "--kb", str(KB), "rules", "lint"])
    assert res.exit_code == 1, res.output
    assert "2 problems found." in res.output
    assert re.search(r"a\.yaml:7:23: copyright_law\.9\.1\.a: 'work' has no attribute 'creatve'", res.output)
    assert re.search(r"b\.yaml:5:29: -: YAML syntax error", res.output)


_HEADLINE = re.compile(r"(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<rule>[^\s:]+): (?P<message>.+)")


def test_cli_lint_reports_path_line_col_rule_message() -> None:
    fixture = FIXTURES / "unknown_attribute"
    res = CliRunner().invoke(cli, ["--rules", str(fixture / "rules"), "--kb", str(KB), "rules", "lint"])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    lines = res.output.splitlines()
    m = _HEADLINE.fullmatch(lines[0])
    assert m, lines[0]
    assert _path_matches(m["path"], "rules/x.yaml")
    assert (m["line"], m["col"]) == ("9", "11")
    assert m["rule"] == "copyright_law.7.1.fixture"
    assert m["message"] == "'work' has no attribute 'knd' (did you mean 'kind'?)"
    # the source line and a caret under column 11
    assert lines[1].strip() == "knd: photograph"
    assert lines[2] == "    " + " " * 10 + "^"
    assert lines[-1] == "1 problem found."
