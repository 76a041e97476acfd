"""The impact report of an amendment: the case corpus re-evaluated under two dates or two
rule trees, and the conclusions that change, by case and by article (``rules diff``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from typing import Any
from collections.abc import Iterable

from ..language.kb import CASE_TYPE
from ..language.scenario import Fact, Scenario
from ..reasoning.compare import Change, compare_results
from ..reasoning.result import format_value
from ..rulebase import RuleBase, evaluate_case
from .coverage import article_of

__all__ = ["shift_case", "diff_corpus", "diff_lines"]


def shift_case(scenario: Scenario, day: _dt.date, field_name: str | None = None) -> Scenario:
    """The case as if its act happened on ``day``: every case date moves by the same amount.

    With ``field_name``, only that date of the case is set to ``day`` (e.g. the date of
    assessment, which selects the version of a rule of procedure).
    """
    case = next((f for f in scenario.facts if f.type == CASE_TYPE), None)
    if field_name is not None:
        attrs: dict[str, Any] = dict(case.attrs) if case else {"key": "case"}
        attrs[field_name] = day
        new_case = Fact("case:case", CASE_TYPE, tuple(sorted(attrs.items())))
    elif case is None or case.get("act_date") is None:
        attrs = dict(case.attrs) if case else {"key": "case"}
        attrs["act_date"] = day
        new_case = Fact("case:case", CASE_TYPE, tuple(sorted(attrs.items())))
    else:
        delta = day - case.get("act_date")
        attrs = {k: (v + delta if isinstance(v, _dt.date) else v) for k, v in case.attrs}
        new_case = Fact(case.fid, case.type, tuple(sorted(attrs.items())))
    facts = [new_case if f.type == CASE_TYPE else f for f in scenario.facts]
    return replace(scenario, facts=sorted(facts, key=lambda f: f.fid))


def _change_json(ch: Change) -> dict[str, Any]:
    def side(c: Any) -> dict[str, Any] | None:
        return None if c is None else {"status": c.status.value, "attributes": dict(c.attributes)}

    ref = ch.after or ch.before
    return {"type": ch.type, "identity": ch.identity, "before": side(ch.before), "after": side(ch.after),
            "rules": ch.rules, "citations": ch.citations,
            "reason": ref.explanation.get("en", "") if ref is not None else ""}


def diff_corpus(scenarios: Iterable[Scenario], rb_a: RuleBase, rb_b: RuleBase, engine: str,
                day_a: _dt.date | None = None, day_b: _dt.date | None = None,
                field_name: str | None = None) -> dict[str, Any]:
    """Evaluate every case under ``rb_a`` (on ``day_a``) and under ``rb_b`` (on ``day_b``) and report, per case and per article, the conclusions that change; a case that cannot be evaluated on either side is listed under ``errors``."""
    report: dict[str, Any] = {"cases": [], "by_article": {}, "compared": 0}
    for s in scenarios:
        report["compared"] += 1
        try:
            # moving a case's dates can leave the calendar (--from 0001-01-01): that case is an error
            sa = shift_case(s, day_a, field_name) if day_a else s
            sb = shift_case(s, day_b, field_name) if day_b else s
            ra = evaluate_case(rb_a, sa, engine)
            rb_res = evaluate_case(rb_b, sb, engine)
            changes = [_change_json(ch) for ch in compare_results(ra, rb_res, rb_b.kb)]
            if day_a and day_b:
                changes = [c for c in changes if not _only_dates_moved(c, day_b - day_a)]
        except OverflowError:
            report.setdefault("errors", []).append({"case": s.id, "file": s.path, "error": (
                "its dates cannot be moved that far: they would leave the calendar (years 1 to 9999)")})
            continue
        except Exception as exc:  # one case that cannot be evaluated does not stop the report
            report.setdefault("errors", []).append({"case": s.id, "file": s.path, "error": str(exc)})
            continue
        if not changes:
            continue
        entry = {"case": s.id, "file": s.path, "changes": changes}
        report["cases"].append(entry)
        for ch in changes:
            for cite in ch["citations"] or ["-"]:
                art = article_of(cite)
                report["by_article"].setdefault(art, [])
                if s.id not in report["by_article"][art]:
                    report["by_article"][art].append(s.id)
    return report


def _only_dates_moved(change: dict[str, Any], delta: _dt.timedelta) -> bool:
    """Only dates differ: deadlines that moved with the shifted case are not a change of law.

    (A changed *length* of a period shows in its numeric attribute, e.g. ``years``.)
    """
    a, b = change["before"], change["after"]
    if not a or not b or a["status"] != b["status"]:
        return False
    for k in set(a["attributes"]) | set(b["attributes"]):
        x, y = a["attributes"].get(k), b["attributes"].get(k)
        if x == y:
            continue
        try:
            _dt.date.fromisoformat(x)
            _dt.date.fromisoformat(y)
        except (TypeError, ValueError):
            return False
    return True


def diff_lines(report: dict[str, Any], label_a: str, label_b: str) -> list[str]:
    """The impact report as text lines, headed by how many cases change and how many could not be evaluated."""
    errors = report.get("errors", [])
    out = [f"Impact: {label_a} -> {label_b}: {len(report['cases'])} of {report['compared']} cases change"
           + (f"; {len(errors)} could not be evaluated (listed below; the report is incomplete)." if errors else ".")]
    for err in errors:
        out.append(f"  could not evaluate case {err['case']} ({err['file']}): {err['error']}")
    if report["by_article"]:
        out.append("")
        out.append("Cases changed, by article:")
    for art in sorted(report["by_article"]):
        out.append(f"  {art}: {', '.join(report['by_article'][art])}")
    for entry in report["cases"]:
        out.append("")
        out.append(f"case {entry['case']} ({entry['file']})")
        for ch in entry["changes"]:
            ident = ", ".join(f"{k}={v}" for k, v in ch["identity"].items())
            b, a = ch["before"], ch["after"]
            out.append(f"  {ch['type']}({ident})")
            out.append(f"    {label_a}: {b['status'] if b else 'does not hold'}")
            out.append(f"    {label_b}: {a['status'] if a else 'does not hold'}")
            if a and b:
                for k in sorted(set(a["attributes"]) | set(b["attributes"])):
                    if a["attributes"].get(k) != b["attributes"].get(k):
                        out.append(f"    {k}: {format_value(b['attributes'].get(k))} -> {format_value(a['attributes'].get(k))}")
            out.append(f"    rules: {', '.join(ch['rules'])}")
            if ch["reason"]:
                out.append(f"    why: {ch['reason']}")
    return out
