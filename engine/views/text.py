"""Plain-text report of a :class:`~.result.Result`, readable in an 80-column terminal.

Returns lines; printing is the CLI's job.
"""

from __future__ import annotations

import textwrap

from ..language.kb import KB
from ..reasoning.result import Conclusion, Result, format_value

__all__ = ["report_lines", "value_labels", "cite_label"]

WIDTH = 80
_STATUS = {"holds": "HOLDS", "undetermined": "UNDETERMINED", "defeated": "DEFEATED", "does_not_hold": "DOES NOT HOLD"}
_HEADINGS = {
    "conclusion": "Conclusions",
    "remedy": "Civil remedies",
    "liability": "Liability",
    "action": "Recommended actions",
}


def _wrap(text: str, indent: str = "  ", first: str | None = None) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first if first is not None else indent,
                         subsequent_indent=indent, break_on_hyphens=False) or [first or indent]


def _t(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def cite_label(kb: KB, citation: str, lang: str = "en") -> str:
    bits = citation.split("/")
    act = kb.acts.get(bits[0])
    short = ""
    if act is not None:
        short = _t(act.short, lang) if act.short else _t(act.title, lang)
    label = f"Art. {bits[1]}" if len(bits) > 1 else ""
    for b in bits[2:]:
        label += f"({b})"
    return f"{short} {label}".strip()


def value_labels(c: Conclusion, kb: KB, lang: str) -> list[str]:
    """The titles of a conclusion's enum values, in the vocabulary's order (e.g. 'part 2')."""
    t = kb.types.get(c.type)
    out = []
    for name, a in (t.attributes.items() if t else []):
        v = c.attributes.get(name)
        if a.type == "enum" and v is not None and str(v) in a.value_titles:
            out.append(_t(a.value_titles[str(v)], lang))
    return out


def cases_line(result: Result, c: Conclusion) -> str:
    """How deciding by cases settled ``c``, in words ("" if it was not split): "holds in every
    case of work:program.author_alive (yes; no)"."""
    bc = c.by_cases
    if bc is None:
        return ""
    over = [f"{u.fact}.{u.attribute}" for u in bc.over] + [f"whether {r.split('@')[0]} applies" for r in bc.rules]
    if bc.given and not over:
        names = []
        for gid in bc.given:
            g = result.conclusion(gid)
            names.append(f"{g.type}({', '.join(f'{k}={format_value(v)}' for k, v in sorted(g.attributes.items()))})"
                         if g else gid)
        head = {"holds": "holds", "does_not_hold": "does not hold"}.get(str(c.status), "is open")
        return f"Decided by cases: {head} given what holds in every case: {'; '.join(names)}"
    leaves = {leaf.id: leaf for leaf in (result.trace.cases.cases if result.trace.cases else ())}
    shown = []
    for cs in bc.cases[:6]:
        leaf = leaves.get(cs.leaf)
        vals = ", ".join(f"{a.split(' (')[0]} {'applies' if v is True else 'does not apply'}" if not f else
                         f"{a}={format_value(v)}" for f, a, v in (leaf.values if leaf else ()))
        shown.append(f"{vals or 'as stated'}: {cs.status.label}")
    more = f"; … {len(bc.cases) - 6} more" if len(bc.cases) > 6 else ""
    head = {"holds": "holds in every case", "does_not_hold": "holds in no case"}.get(
        str(c.status), "depends on the case")
    cut = "" if bc.complete else " (the search was cut short by its bound)"
    return f"Decided by cases: {head} of {', '.join(over)} — {'; '.join(shown)}{more}{cut}"


def report_lines(result: Result, kb: KB, lang: str = "en", verbose: bool = False, everything: bool = False
                 ) -> list[str]:
    """The report. Undetermined points no open outcome hangs on (``Conclusion.relevant``) are
    counted in one line unless ``everything``; the open points are grouped by the question
    that decides them, the most decisive first (``Result.undetermined_groups``)."""
    out: list[str] = []
    out.extend(_wrap(f"Case: {result.case_title} [{result.case_id}]", "  ", ""))
    if result.dates:
        out.extend(_wrap("Dates: " + ", ".join(f"{k} {format_value(v)}" for k, v in sorted(result.dates.items())),
                         "  ", ""))
    out.append("")
    for kind, items in result.by_kind():
        items = [c for c in items if everything or c.relevant]
        if not items:
            continue
        out.append(_HEADINGS[kind])
        out.append("-" * len(_HEADINGS[kind]))
        for c in items:
            head = f"[{_STATUS[c.status]}] {_t(c.title, lang)}"
            labels = value_labels(c, kb, lang)
            if labels:
                head += ": " + "; ".join(labels)
            attrs = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(c.attributes.items()))
            out.extend(_wrap(head, "    ", "  "))
            if attrs:
                out.extend(_wrap(attrs, "      ", "      "))
            expl = _t(c.explanation, lang) if c.status != "does_not_hold" else ""  # (it says why it would hold)
            if expl:
                out.extend(_wrap(expl, "      "))
            if c.citations:
                out.extend(_wrap("Law: " + "; ".join(cite_label(kb, x, lang) for x in c.citations), "      "))
            if c.status == "undetermined" and c.depends_on:
                qs = [_t(d.question, lang) or f"{d.fact}.{d.attribute}" for d in c.depends_on]
                out.extend(_wrap("Depends on: " + " / ".join(qs), "      "))
            if c.by_cases is not None and c.status != "undetermined":
                out.extend(_wrap(cases_line(result, c), "      "))
            if c.defeated_by:
                out.extend(_wrap("Defeated by: " + "; ".join(
                    f"{d.rule} ({', '.join(cite_label(kb, x, lang) for x in d.citations)})" for d in c.defeated_by),
                    "      "))
        out.append("")
    if result.does_not_hold:
        out.append("Does not hold")
        out.append("-------------")
        for d in result.does_not_hold:
            out.extend(_wrap(f"{_t(d.title, lang)} ({'; '.join(cite_label(kb, x, lang) for x in d.citations)})",
                             "    ", "  "))
        out.append("")
    if result.conflicts:
        out.append("Conflicts")
        out.append("---------")
        for cf in result.conflicts:
            out.extend(_wrap(f"[{cf.status}] {' vs '.join(cf.types)}: rules {', '.join(cf.rules)}", "    ", "  "))
        out.append("")
    groups = result.undetermined_groups(everything)
    hidden = [] if everything else result.hidden_points()
    if groups or hidden:
        out.append("Still undetermined — what would decide it")
        out.append("-----------------------------------------")
        for q, items in groups:
            if q is None:
                out.extend(_wrap("No question of the case decides: " + ", ".join(sorted({c.type for c in items})),
                                 "    ", "  - "))
                continue
            u = q.point
            text = _t(u.question, lang) or f"{u.fact}.{u.attribute}"
            also = sorted({f"{d.fact}.{d.attribute}" for c in items for d in c.depends_on}
                          - {f"{u.fact}.{u.attribute}"})
            out.extend(_wrap(f"{text} ({u.fact}.{u.attribute}; decides {q.settles}: "
                             f"{', '.join(sorted({c.type for c in items}))}"
                             + (f"; with {', '.join(also)}" if also else "") + ")", "    ", "  - "))
        if hidden:
            out.extend(_wrap(f"{len(hidden)} further point{'s' if len(hidden) != 1 else ''} depend"
                             f"{'' if len(hidden) != 1 else 's'} on facts the case does not give: --all shows them",
                             "    ", "  "))
        out.append("")
    if result.assumptions:
        out.append("Assumptions made where the law is unsettled")
        out.append("-------------------------------------------")
        for asm in result.assumptions:
            out.extend(_wrap(_t(asm.text, lang), "    ", "  - "))
        out.append("")
    if result.parameters:
        out.append("Parameters used")
        out.append("---------------")
        for p in result.parameters:
            out.extend(_wrap(f"{_t(p.title, lang)} on {p.date}: {format_value(p.value)} — {p.source}",
                             "    ", "  - "))
        out.append("")
    if result.versions and verbose:
        out.append("Rule versions")
        out.append("-------------")
        for v in result.versions:
            out.extend(_wrap(f"{v.rule} v{v.version} ({v.valid_from} .. {v.valid_to or 'now'})", "    ", "  - "))
        out.append("")
    out.append(f"Engine: {result.engine}; rule base {result.rulebase.fingerprint}.")
    out.extend(_wrap(result.disclaimer, "", ""))
    return out

