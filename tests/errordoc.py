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
    "too-long": f"Shorten the text: at most {LIMITS.max_string} characters per value.",
    "overlapping-values": "Give the parameter's values non-overlapping from/to dates.",
    "unknown-act": "Use an act declared in kb/acts.yaml.",
    "bad-date": "Write a real date as YYYY-MM-DD.",
    "bad-shape": "Give the value the shape the message names (a mapping or a list).",
    "no-positive-condition": "Add at least one positive condition on a fact.",
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
           " characters.", ""]
    by_code: dict[str, list[tuple[str, str, str]]] = {}
    for fx in _fixtures():
        first = ""
        for f in sorted(fx.rglob("*.yaml")):
            if f.name == "expect.yaml":
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
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate())
