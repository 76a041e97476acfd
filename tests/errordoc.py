"""Generate docs/errors.md from the broken fixtures: every error code with a real message,
the broken input that produces it, and the fix.

    python -m tests.errordoc > docs/errors.md      (from the repository root)

tests/test_errors_doc.py fails when docs/errors.md is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from kzcopyright.engine.errors import InputError
from kzcopyright.engine.rulebase import load_rulebase
from kzcopyright.engine.language.yamlio import LIMITS

ROOT = Path(__file__).resolve().parent.parent
LINT = ROOT / "tests" / "fixtures" / "lint"
LINT_KB = ROOT / "tests" / "fixtures" / "lint_kb"

FIXES = {
    "yaml-syntax": "Fix the YAML at the position shown (a missing colon, bracket or quote; quote text containing ': ' or '#').",
    "duplicate-key": "Keep one of the two keys; YAML would silently keep only the last.",
    "unknown-key": "Use one of the allowed keys (the hint lists them or names the closest).",
    "missing-key": "Add the required key.",
    "unknown-type": "Use a fact type declared in kb/vocabulary (the hint names the closest), or declare it.",
    "unknown-attribute": "Use an attribute the type declares in kb/vocabulary, or declare it.",
    "unknown-value": "Use one of the enum values the attribute declares.",
    "type-mismatch": "Compare like with like: dates with dates, tenge with tenge, MCI with MCI (convert with param(mci, date)).",
    "bad-expression": "Correct the expression after '='; see the functions and operators in docs/rule-language.md.",
    "undefined-variable": "Bind the variable in an earlier condition (attribute: $name) before using it.",
    "unused-variable": "Use the variable, or name it $_name to say it is deliberately unused.",
    "unknown-citation": "Cite act/article[/part[/item]] as declared in kb/articles (the hint names the closest).",
    "duplicate-rule-id": "Rename one rule, or make them versions with distinct 'version' and 'valid' intervals.",
    "overlapping-versions": "Make the 'valid' intervals of the versions follow each other without overlap.",
    "dangling-exception": "Name an existing rule id in 'defeats' (the hint names the closest).",
    "cyclic-exception": "Break the cycle: an exception cannot, directly or through others, defeat its own exception.",
    "negation-cycle": "A conclusion cannot depend on its own absence; restructure the rules so that negation points to earlier conclusions.",
    "reserved-name": "Rename: id, sid, t, m, f, fid, n, r, key, as, not, any, all and $-names are reserved.",
    "unsafe-tag": "Remove the tag: rules and cases are plain data; no Python objects.",
    "unknown-operator": "Use one of = != < <= > >= in not_in contains present.",
    "bad-negation": "Join a negated condition to the rest of the rule only through entity keys or required references.",
    "param-not-constant": "Split the rule into versions whose 'valid' intervals each fall within one value of the parameter, or read the parameter with param() in 'then'.",
    "missing-excerpt": "Quote the sentence of the law the rule encodes in 'excerpt' (ru verbatim, en paraphrase).",
    "missing-because": "Add a 'because' explanation template.",
    "bad-template": "Use {name} placeholders that are variables of the rule or attributes of its conclusion.",
    "unknown-date": "Use a date attribute of the 'case' type (act_date, learned_date, assessment_date).",
    "missing-attribute": "Give the derived fact its required reference attributes.",
    "too-many-aliases": f"Write the data out: at most {LIMITS.max_aliases} YAML aliases per file.",
    "too-large": f"Split the file: at most {LIMITS.max_bytes} bytes and {LIMITS.max_nodes} YAML nodes per file.",
    "too-deep": f"Flatten the data: at most {LIMITS.max_depth} levels of nesting.",
    "too-long": f"Shorten the text: at most {LIMITS.max_string} characters per value, {LIMITS.max_digits} per number.",
    "overlapping-values": "Give the parameter's values non-overlapping from/to dates.",
    "unknown-act": "Use an act declared in kb/acts.yaml.",
    "bad-date": "Write a real date as YYYY-MM-DD, or a year (2013), a month (2016-07) or a range {from: …, to: …} whose 'from' is not after its 'to'.",
    "constraint-violated": "Correct the dates: the world allows no such case (kb/constraints.yaml names the constraint). If a date is not known exactly, give the year, the month or a range.",
    "bad-shape": "Give the value the shape the message names (a mapping or a list).",
    "no-positive-condition": "Add at least one positive condition on a fact.",
    "too-many-attributes": "Split the type: at most 247 attributes per fact type (durable_rules takes no more; both engines are held to it).",
    "yaml-value": "Remove the explicit tag (!!bool, !!timestamp, ...) or give a value it accepts; plain values need no tag.",
    "no-rules": "Point --rules at the folder that holds the rule files, directly or one subfolder down (rules/<act>/*.yaml).",
    "not-a-kb": "Point --kb at the folder that holds meta.yaml and acts.yaml.",
    "not-a-file": "Replace the FIFO, device or broken link by a regular file, or remove it.",
    "too-many-files": "Point the option at the rules or kb folder itself: a walk stops after 20000 entries or 16 levels.",
    "encoding": "Save the file (or line) as UTF-8.",
    "bad-character": "Remove the character, or write a valid escape (a \\uD800-\\uDFFF escape must be one half of a pair).",
    "json-syntax": "Write one JSON object a line (keys in double quotes, no trailing commas).",
    "bad-answers": "Give the answers file as a mapping fact.attribute: value (a value or a list of values).",
    "bad-answer": "Answer with a value of the question's type; numbers take '.' as the decimal point and spaces between thousands.",
    "bad-argument": "Write ENTITY.ATTRIBUTE=VALUE with a value of the attribute's type (numbers: 1500 or 1 500, decimals with '.').",
    "empty-file": "Give a file with a case in it (a FIFO that nobody writes to reads as empty).",
}


def _fixtures() -> list[Path]:
    return sorted(p for p in LINT.iterdir() if p.is_dir() and (p / "expect.yaml").exists())


def generate() -> str:
    out = ["# Error catalogue", "",
           "Every problem kzcopyright reports in rule, kb and case files, generated from the broken fixtures in",
           "`tests/fixtures/lint/` (`python -m tests.errordoc > docs/errors.md`). Each entry shows what was broken,",
           "the message as printed (`path:line:col: rule-id: message`, the source line and a caret), and the fix.",
           "All problems in all files are reported at once; the exit code is 1.", "",
           f"Input limits: files up to {LIMITS.max_bytes} bytes, {LIMITS.max_nodes} YAML nodes, nesting depth {LIMITS.max_depth}, {LIMITS.max_aliases} aliases, strings of {LIMITS.max_string}"
           f" characters, numbers of {LIMITS.max_digits} characters; rules and kb folders of 20000 entries and 16 levels.",
           ""]
    by_code: dict[str, list[tuple[str, str, str]]] = {}
    for fx in _fixtures():
        first = ""
        for f in sorted(fx.rglob("*.yaml")):
            if f.name == "expect.yaml" or not f.is_file():
                continue
            line = f.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
            if line.startswith("# BROKEN"):
                first = line[len("# BROKEN:"):].strip()
                break
        kb = fx / "kb" if (fx / "kb").is_dir() else LINT_KB
        try:
            rb = load_rulebase(fx / "rules", kb)
            if not rb.warnings:
                continue
            rendered = "\n".join(w.render() for w in rb.warnings).replace(str(ROOT) + "/", "")
        except InputError as exc:
            rendered = exc.render().replace(str(ROOT) + "/", "")
        codes = [e["code"] for e in yaml.safe_load((fx / "expect.yaml").read_text()) or []]
        for code in dict.fromkeys(codes):
            by_code.setdefault(code, []).append((fx.name, first, rendered))
    for code in sorted(by_code):
        out.append(f"## `{code}`")
        out.append("")
        out.append(f"**Fix:** {FIXES.get(code, 'See the message.')}")
        for name, broken, rendered in by_code[code][:2]:
            out.append("")
            out.append(f"Example (`tests/fixtures/lint/{name}`): {broken}")
            out.append("")
            out.append("```")
            out.append(rendered)
            out.append("```")
        out.append("")
    out.extend(_inputs_section())
    return "\n".join(out).rstrip() + "\n"


def _inputs_section() -> list[str]:
    """The problems of case files, answers files, command-line values and batch lines: each
    from a small input run through the library (paths shown as fixed names)."""
    import os
    import tempfile

    from kzcopyright.engine.errors import Diagnostics
    from kzcopyright.engine.language.scenario import load_scenarios, scenario_from_data
    from kzcopyright.engine.language.yamlio import load_json_line, read_text
    from kzcopyright.engine.workflows.consult import Consultation, load_answers
    from kzcopyright.engine.reasoning.whynot import parse_assignment
    from kzcopyright.engine.rulebase import load_case

    rb = load_rulebase(ROOT / "rules", ROOT / "kb")
    example = (ROOT / "kb" / "examples" / "marketplace-photos.yaml").read_text(encoding="utf-8")
    line = '{"id": "c7", "facts": [{"work": {"key": "w", "kind": "photograph", "creatve": true}}]}'
    examples: list[tuple[str, str, object]] = []

    def case_text(text: str) -> str:
        diags = Diagnostics()
        load_scenarios(Path("case.yaml"), rb.kb, diags, shown="case.yaml", text=text)
        return "\n".join(d.render() for d in diags.errors)

    def json_line(data: bytes, check: bool = False) -> str:
        diags = Diagnostics()
        value = load_json_line(data, "cases.jsonl", 3, diags)
        if value is not None and check:
            scenario_from_data(value, rb.kb, diags, "cases.jsonl", "cases.jsonl:3")
        return "\n".join(d.render() for d in diags.errors)

    def raised(fn: object) -> str:
        try:
            fn()  # type: ignore[operator]
        except InputError as exc:
            return exc.render()
        return ""

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "latin1.yaml").write_bytes(b"id: caf\xe9\n")
        diags = Diagnostics()
        read_text(t / "latin1.yaml", diags, shown="case.yaml")
        examples.append(("encoding", "a case file saved as Latin-1, not UTF-8.", diags.errors[0].render()))
        os.mkfifo(t / "fifo.yaml")
        diags = Diagnostics()
        from kzcopyright.engine.language.kb import _kb_files

        _kb_files(t, diags, lambda p: "kb/vocabulary/" + p.name if p != t else "kb/vocabulary")
        examples.append(("not-a-file", "a FIFO named *.yaml in a kb folder (also: a device, a broken link).",
                         diags.errors[0].render()))
        (t / "answers.yaml").write_text("[use:use.consent, false]\n")
        examples.append(("bad-answers", "a consult --answers file holding a list, not a mapping.",
                         raised(lambda: load_answers(t / "answers.yaml", shown="answers.yaml"))))
    examples.append(("yaml-value", "an explicit !!bool tag on a value that is not true or false.",
                     case_text("id: t\nfacts:\n  - work: {key: w, creative: !!bool \"maybe\"}\n")))
    examples.append(("too-long", "a number of 5,000 digits in a case file.",
                     case_text("id: t\nfacts:\n  - use: {key: u, damage_tenge: " + "9" * 5000 + "}\n")))
    examples.append(("bad-date", "a range of dates whose 'from' is after its 'to'.",
                     case_text("id: t\ndates: {act_date: {from: 2021-06-30, to: 2021-06-01}}\nfacts: []\n")))
    examples.append(("constraint-violated", "a program used in 2020, though the case says it was written in 2022.",
                     case_text("id: t\ndates: {act_date: 2020-05-01}\nfacts:\n  - person: {key: dev}\n"
                               "  - work: {key: program, author: dev, created_on: 2022}\n  - party: {key: office}\n"
                               "  - use: {key: installs, work: program, user: office}\n")))
    examples.append(("json-syntax", "a line of a JSON Lines batch input cut short.", json_line(b'{"id": "c7", ')))
    examples.append(("too-deep", "a JSON line nested 100,000 levels deep.", json_line(b"[" * 100_000)))
    examples.append(("bad-character", "a JSON line with an unpaired surrogate escape.",
                     json_line(b'{"id": "c7", "title": "\\ud800"}')))
    examples.append(("encoding", "a JSON line with a Latin-1 byte.", json_line(b'{"id": "caf\xe9"}')))
    examples.append(("unknown-attribute", "a case in a JSON line with a misspelt attribute: located at its line "
                     "and column.", json_line(line.encode(), check=True)))
    session = Consultation(rb, load_case(rb, example), "python")
    q = next(q for q in session.candidates() if q.id == "use:listing.damage_tenge")
    examples.append(("bad-answer", "the answer '1,5' to a question asking for tenge (a decimal comma is ambiguous).",
                     raised(lambda: session.answer("1,5", q))))
    examples.append(("bad-argument", "what-if --set use:listing.damage_tenge=inf.",
                     raised(lambda: parse_assignment(rb, session.scenario, "use:listing.damage_tenge=inf"))))
    out = ["# Case files, answers, command-line values and batch lines", "",
           "The problems of the inputs of `analyze`, `consult`, `what-if` and `batch`, each produced by a small "
           "input (`tests/errordoc.py`). In `batch` each becomes the error record of its line, located "
           "`FILE:LINE:COL`, and the batch goes on.", "",
           "The limits are those of YAML files (above); a JSON line is at most the size of a file; a number stated "
           "as a fact has at most 15 digits. A rules or kb folder of more than 20000 entries or 16 levels is "
           "refused (`too-many-files`).", ""]
    by_code: dict[str, list[tuple[str, str]]] = {}
    for code, broken, rendered in examples:
        by_code.setdefault(code, []).append((broken, str(rendered).replace(str(ROOT) + "/", "")))
    for code in sorted(by_code):
        out.append(f"## `{code}`")
        out.append("")
        out.append(f"**Fix:** {FIXES.get(code, 'See the message.')}")
        for broken, rendered in by_code[code][:2]:
            out.extend(["", f"Example: {broken}", "", "```", rendered, "```"])
        out.append("")
    return out


if __name__ == "__main__":
    sys.stdout.write(generate())
