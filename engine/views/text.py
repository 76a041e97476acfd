"""Plain-text report of a :class:`~.result.Result`, readable in an 80-column terminal.

The summary comes first (:mod:`.summary`), then the details grouped by kind. Every entry is
numbered and named (``[3] … infringement(use=listing, work=photos)``, :mod:`.handles`), so
that ``why 3`` or ``why 'infringement(use=listing)'`` explains it. Returns lines; printing is
the CLI's job.
"""

from __future__ import annotations

import datetime as _dt
import textwrap
from typing import Any

from ..i18n import Section, msg, pick
from ..i18n import format_value as local_value
from ..language.kb import KB
from ..reasoning.result import Conclusion, Result, format_value
from .handles import Handle, handles
from .summary import open_questions, refs_text, summarize, summary_lines

__all__ = ["report_lines", "value_labels", "cite_label", "cases_line", "conclusion_type_lines", "MSG",
           "disclaimer_text"]

WIDTH = 80

# the interface strings of this module (message id -> language -> text)
MSG = Section("text")  # kb/messages/{en,ru,kk}.yaml, section text


def _m(key: str, lang: str, **kw: Any) -> str:
    return msg(MSG.name, key, lang, **kw)


def _wrap(text: str, indent: str = "  ", first: str | None = None) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first if first is not None else indent,
                         subsequent_indent=indent, break_on_hyphens=False) or [first or indent]


def _t(texts: dict[str, str], lang: str) -> str:
    return pick(texts, lang)


def cite_label(kb: KB, citation: str, lang: str = "en") -> str:
    """A citation ``act/article/part/...`` as the reader sees it: the act's short name, then
    the article in the language's form (``Art. 28(1)``, ``ст. 28(1)``, ``28-бап (1)``)."""
    bits = citation.split("/")
    act = kb.acts.get(bits[0])
    short = ""
    if act is not None:
        short = _t(act.short, lang) if act.short else _t(act.title, lang)
    label = _m("article", lang, n=bits[1], parts="".join(f"({b})" for b in bits[2:])) if len(bits) > 1 else ""
    return f"{short} {label}".strip()


def disclaimer_text(result: Result, lang: str) -> str:
    """The result's disclaimer (not legal advice, law as encoded up to a date) in ``lang``."""
    up_to = result.rulebase.encoded_up_to
    try:
        shown = local_value(_dt.date.fromisoformat(up_to), lang)
    except (TypeError, ValueError):
        shown = up_to
    return _m("disclaimer", lang, up_to=shown)


def _date(text: str, lang: str) -> str:
    """An ISO date string written in ``lang`` (left as it is when it is not a date)."""
    try:
        return local_value(_dt.date.fromisoformat(text), lang)
    except (TypeError, ValueError):
        return text


def value_labels(c: Conclusion, kb: KB, lang: str) -> list[str]:
    """The titles of a conclusion's enum values, in the vocabulary's order (e.g. 'part 2')."""
    t = kb.types.get(c.type)
    out = []
    for name, a in (t.attributes.items() if t else []):
        v = c.attributes.get(name)
        if a.type == "enum" and v is not None and str(v) in a.value_titles:
            out.append(_t(a.value_titles[str(v)], lang))
    return out


def _heading(text: str) -> list[str]:
    return [text, "-" * len(text)]


def _ranges(numbers: list[int]) -> str:
    return refs_text(numbers)


def entry_lines(h: Handle, c: Conclusion, kb: KB, lang: str, labels_of: dict[str, str],
                result: Result | None = None) -> list[str]:
    """One numbered entry of the details: status and title, its name, the attributes its
    name does not give, the explanation, the law and what it depends on."""
    out: list[str] = []
    head = f"{h.label} [{_m(str(c.status), lang)}] {_t(c.title, lang)}"
    labels = value_labels(c, kb, lang)
    if labels:
        head += ": " + "; ".join(labels)
    out.extend(_wrap(head, "    ", "  "))
    out.extend(_wrap(h.name, "      ", "      "))
    named = set()
    if "(" in h.name:
        named = {part.split("=", 1)[0].strip() for part in h.name[h.name.index("(") + 1:-1].split(",")}
    rest = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(c.attributes.items()) if k not in named)
    if rest:
        out.extend(_wrap(rest, "      ", "      "))
    expl = _t(c.explanation, lang)
    if expl:
        out.extend(_wrap(expl, "      "))
    if c.citations:
        out.extend(_wrap(_m("law", lang, list="; ".join(cite_label(kb, x, lang) for x in c.citations)), "      "))
    if c.status == "undetermined" and c.depends_on:
        qs = [f"{labels_of.get(f'{d.fact}.{d.attribute}', d.attribute)} ({d.fact}.{d.attribute})" for d in c.depends_on]
        out.extend(_wrap(_m("depends", lang, list="; ".join(qs)), "      "))
    if result is not None and c.by_cases is not None and c.status != "undetermined":
        out.extend(_wrap(cases_line(result, c, lang), "      "))
    if c.defeated_by:
        out.extend(_wrap(_m("defeated-by", lang, list="; ".join(
            f"{d.rule} ({', '.join(cite_label(kb, x, lang) for x in d.citations)})" for d in c.defeated_by)), "      "))
    return out


def cases_line(result: Result, c: Conclusion, lang: str = "en") -> str:
    """How deciding by cases settled ``c``, in words ("" if it was not split): "holds in every
    case of work:program.author_alive (yes; no)"."""
    bc = c.by_cases
    if bc is None:
        return ""
    over = [f"{u.fact}.{u.attribute}" for u in bc.over] + [_m("whether-applies", lang, rule=r.split("@")[0])
                                                            for r in bc.rules]
    if bc.given and not over:
        names = []
        for gid in bc.given:
            g = result.conclusion(gid)
            names.append(f"{g.type}({', '.join(f'{k}={format_value(v)}' for k, v in sorted(g.attributes.items()))})"
                         if g else gid)
        head = _m({"holds": "given-holds", "does_not_hold": "given-not"}.get(str(c.status), "given-open"), lang)
        return _m("by-cases-given", lang, head=head, list="; ".join(names))
    leaves = {leaf.id: leaf for leaf in (result.trace.cases.cases if result.trace.cases else ())}
    shown = []
    for cs in bc.cases[:6]:
        leaf = leaves.get(cs.leaf)
        vals = ", ".join(f"{a.split(' (')[0]} {_m('applies' if v is True else 'not-applies', lang)}" if not f else
                         f"{a}={local_value(v, lang)}" for f, a, v in (leaf.values if leaf else ()))
        shown.append(f"{vals or _m('as-stated', lang)}: {_m(str(cs.status), lang).lower()}")
    more = _m("cases-more", lang, n=len(bc.cases) - 6) if len(bc.cases) > 6 else ""
    head = _m({"holds": "every-case", "does_not_hold": "no-case"}.get(str(c.status), "some-case"), lang)
    cut = _m("cases-cut", lang) if not bc.complete else ""
    return _m("by-cases", lang, head=head, over=", ".join(over), list="; ".join(shown), more=more, cut=cut)


def report_lines(result: Result, kb: KB, lang: str = "en", verbose: bool = False, everything: bool = False
                 ) -> list[str]:
    """The report: the summary, then every numbered entry by kind. Undetermined points no open
    outcome hangs on (``Conclusion.relevant``) are counted in one line unless ``everything``;
    the open questions come in the result's ranking (the most decisive first)."""
    out: list[str] = []
    out.extend(_wrap(_m("case", lang, title=result.case_title, id=result.case_id), "  ", ""))
    if result.dates:
        out.extend(_wrap(_m("dates", lang, dates=", ".join(f"{k} {local_value(v, lang)}" for k, v in sorted(result.dates.items()))),
                         "  ", ""))
    out.append("")
    out.extend(summary_lines(summarize(result, kb, lang), result, kb))
    out.append("")
    out.extend(_wrap(_m("how-to-ask", lang), "", ""))
    out.append("")
    hs = handles(result, kb)
    by_id = {h.id: h for h in hs}
    questions = open_questions(result, kb, lang, everything)
    labels_of = {f"{q.fact}.{q.attribute}": q.label for q in open_questions(result, kb, lang, True)}
    for kind, items in result.by_kind():
        shown = [c for c in items if c.id in by_id and (everything or c.relevant)]
        if not shown:
            continue
        out.extend(_heading(_m(kind, lang)))
        for c in shown:
            out.extend(entry_lines(by_id[c.id], c, kb, lang, labels_of, result))
        out.append("")
    missing = [h for h in hs if h.conclusion is None]
    if missing:
        titles = {d.type: d for d in result.does_not_hold}
        out.extend(_heading(_m("does-not-hold", lang)))
        excluded: dict[str, list[Conclusion]] = {}
        for c in result.conclusions:  # excluded by deciding by cases: say how
            if c.status == "does_not_hold" and c.by_cases is not None:
                excluded.setdefault(c.type, []).append(c)
        for h in missing:
            d = titles[h.type]
            out.extend(_wrap(f"{h.label} {_t(d.title, lang)} — {h.name} "
                             f"({'; '.join(cite_label(kb, x, lang) for x in d.citations)})", "    ", "  "))
            for c in excluded.get(h.type, []):
                out.extend(_wrap(cases_line(result, c, lang), "      "))
        out.extend(_wrap(_m("does-not-hold-hint", lang), "  ", "  "))
        out.append("")
    if result.conflicts:
        out.extend(_heading(_m("conflicts", lang)))
        for cf in result.conflicts:
            refs = _ranges([by_id[i].number for i in cf.conclusions if i in by_id])
            out.extend(_wrap(f"[{cf.status}] {' vs '.join(cf.types)} {refs}: rules {', '.join(cf.rules)}", "    ", "  "))
        out.append("")
    hidden = [] if everything else result.hidden_points()
    if questions or hidden:
        out.extend(_heading(_m("open-heading", lang)))
        for q in questions:
            refs = _ranges(list(q.refs))
            out.extend(_wrap(f"{q.question or q.label} ({q.fact}.{q.attribute}; {_m('affects', lang, list=refs)})",
                             "    ", "  - "))
        if hidden:
            out.extend(_wrap(_m("hidden-1" if len(hidden) == 1 else "hidden", lang, n=len(hidden)), "    ", "  "))
        out.append("")
    if result.assumptions:
        out.extend(_heading(_m("assumptions", lang)))
        seen: set[str] = set()
        for asm in result.assumptions:
            text = _t(asm.text, lang)
            if text in seen:  # two rules may state the same assumption
                continue
            seen.add(text)
            out.extend(_wrap(text, "    ", "  - "))
        out.append("")
    if result.parameters:
        out.extend(_heading(_m("parameters", lang)))
        for p in result.parameters:
            out.extend(_wrap(_m("param", lang, title=_t(p.title, lang), date=_date(p.date, lang), value=local_value(p.value, lang),
                                source=p.source), "    ", "  - "))
        out.append("")
    if result.versions and verbose:
        out.extend(_heading(_m("versions", lang)))
        for v in result.versions:
            out.extend(_wrap(f"{v.rule} v{v.version} ({v.valid_from} .. {v.valid_to or 'now'})", "    ", "  - "))
        out.append("")
    out.append(_m("engine", lang, engine=result.engine, fp=result.rulebase.fingerprint))
    out.extend(_wrap(disclaimer_text(result, lang), "", ""))
    return out


def conclusion_type_lines(kb: KB, lang: str = "en", with_intermediate: bool = False) -> list[str]:
    """``kzcopyright conclusions``: every conclusion type by kind, with its title and attributes."""
    kinds = ["conclusion", "liability", "remedy", "action"] + (["intermediate"] if with_intermediate else [])
    out: list[str] = []
    for kind in kinds:
        types = sorted((t for t in kb.types.values() if t.kind == kind), key=lambda t: t.name)
        if not types:
            continue
        out.extend(_heading(_m(kind, lang)))
        for t in types:
            out.extend(_wrap(f"{t.name} — {_t(t.title, lang)}", "      ", "  "))
            attrs = []
            for name, a in t.attributes.items():
                if a.type == "enum" and a.values:
                    attrs.append(f"{name}: {' | '.join(a.values)}")
                else:
                    attrs.append(f"{name} ({a.type})")
            if attrs:
                out.extend(_wrap("; ".join(attrs), "      ", "      "))
        out.append("")
    out.extend(_wrap(_m("types-hint", lang), "", ""))
    return out
