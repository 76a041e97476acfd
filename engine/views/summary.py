"""The answer first: a summary of at most about fifteen lines, at the head of every report.

:func:`summarize` is a function of (result, kb, language) returning plain data — a
:class:`Summary` of sections (protected or not, what was infringed, what can be claimed with
the amounts in tenge, criminal exposure, deadlines, the next steps) and the questions that
would settle what is open. The text report, the JSON document (its ``summary`` key), the
HTML memo and the web pages render that one record. What each conclusion type says, and
under which topic, is data: ``kb/summary.yaml`` (:mod:`.catalogue`); nothing here names a
conclusion type.
"""

from __future__ import annotations

import datetime as _dt
import textwrap
from dataclasses import dataclass
from typing import Any

from ..i18n import Section, msg, pick
from ..i18n import format_value as local_value
from ..language.kb import KB
from ..reasoning.provenance import Status, to_plain
from ..reasoning.result import Conclusion, Result
from .catalogue import PLACEHOLDER, Catalogue, Topic, TypeSummary, load_catalogue
from .handles import handles

__all__ = ["Summary", "SummarySection", "SummaryItem", "OpenQuestion", "summarize", "summary_lines",
           "open_questions", "summary_json", "refs_text", "item_text", "question_text", "MSG"]

# the interface strings of this module (message id -> language -> text)
MSG = Section("summary")  # kb/messages/{en,ru,kk}.yaml, section summary

WIDTH = 80
LABEL_WIDTH = 12


def _m(key: str, lang: str, **kw: Any) -> str:
    return msg(MSG.name, key, lang, **kw)


def _t(texts: dict[str, str], lang: str) -> str:
    return pick(texts, lang)


@dataclass(frozen=True)
class SummaryItem:
    """One statement of a section: its text, the status it has (holds or undetermined), the
    report entries it stands for (numbers and conclusion ids) and, when undetermined, the
    case attributes (``fact.attribute``) it depends on."""

    text: str
    status: str
    refs: tuple[int, ...]
    ids: tuple[str, ...]
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class SummarySection:
    """A topic of the summary: its title, its statements and a closing note (what was left
    out and where it is, or what is said when the topic has nothing)."""

    topic: str
    title: str
    items: tuple[SummaryItem, ...]
    note: str = ""
    numbered: bool = False


@dataclass(frozen=True)
class OpenQuestion:
    """A question the case leaves open, with the number of undetermined conclusions that
    depend on it (``affects``) and the report entries concerned."""

    fact: str
    attribute: str
    label: str
    question: str
    affects: int
    refs: tuple[int, ...]


@dataclass(frozen=True)
class Summary:
    """The summary of a result in one language: its sections (topics) and the open questions."""
    lang: str
    sections: tuple[SummarySection, ...]
    questions: tuple[OpenQuestion, ...]
    more_questions: int = 0


# ---- the open questions ---------------------------------------------------------------------


def open_questions(result: Result, kb: KB, lang: str = "en", everything: bool = False) -> list[OpenQuestion]:
    """The questions that would settle what is open, most decisive first, in the result's one
    ranking (:meth:`~kzcopyright.engine.reasoning.result.Result.open_questions`: for each
    unknown, the undetermined conclusions the report shows that it decides — after deciding by
    cases, so only what really depends on it — ties in vocabulary order); with ``everything``
    the points the report only counts as well. ``affects`` is how many it decides, ``refs``
    the report entries concerned."""
    cat, _ = load_catalogue(kb)
    labels = cat.labels if cat is not None else {}
    numbers = {h.id: h.number for h in handles(result, kb)}
    out = []
    for oq in result.open_questions(everything):
        u = oq.point
        ftype = u.fact.split(":", 1)[0]
        label = _t(labels.get(f"{ftype}.{u.attribute}", {}), lang) or _t(u.question, lang) or u.attribute
        out.append(OpenQuestion(u.fact, u.attribute, label, _t(u.question, lang), oq.settles,
                                tuple(sorted(numbers[i] for i in oq.conclusions if i in numbers))))
    return out


# ---- rendering one conclusion ----------------------------------------------------------------


def _value(kb: KB, ts: TypeSummary | None, c: Conclusion, name: str, lang: str) -> str:
    v = c.attributes.get(name)
    t = kb.types.get(c.type)
    a = t.attributes.get(name) if t else None
    if v is None:
        return "?"
    if a is not None and a.type == "enum":
        if ts is not None and str(v) in ts.values.get(name, {}):
            return _t(ts.values[name][str(v)], lang)
        if str(v) in a.value_titles:
            return _t(a.value_titles[str(v)], lang)
    return local_value(v, lang)


def _running(result: Result, day: Any, lang: str) -> str:
    today = result.dates.get("assessment_date")
    if not isinstance(day, str) or not isinstance(today, str):
        return ""
    try:
        ends, now = _dt.date.fromisoformat(day), _dt.date.fromisoformat(today)
    except ValueError:
        return ""
    return _m("running", lang, day=local_value(today, lang)) if ends > now else \
        _m("ran-out", lang, day=local_value(today, lang))


def _render(result: Result, kb: KB, ts: TypeSummary, c: Conclusion, lang: str,
            override: dict[str, str] | None = None) -> str:
    template = _t(ts.text, lang)

    def sub(m: Any) -> str:
        name, filt = m.group(1), m.group(2)
        if filt == "running":
            return _running(result, c.attributes.get(name), lang)
        if override and name in override:
            return override[name]
        return _value(kb, ts, c, name, lang)

    return PLACEHOLDER.sub(sub, template)


def _join(parts: list[str], status: str, lang: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    last = _m("or" if status == Status.UNDETERMINED else "and", lang)
    return ", ".join(parts[:-1]) + last + parts[-1]


def _merge(result: Result, kb: KB, ts: TypeSummary, group: list[Conclusion], lang: str,
           numbers: dict[str, int]) -> list[tuple[str, list[Conclusion]]]:
    """The statements for conclusions of one type and status: those whose texts differ in one
    placeholder only are said once, with that placeholder's values joined ("part 1, part 2 or
    part 3"); the placeholder that merges most is chosen."""
    if len(group) == 1:
        return [(_render(result, kb, ts, group[0], lang), group)]
    names = sorted({m.group(1) for m in PLACEHOLDER.finditer(_t(ts.text, lang)) if not m.group(2)})
    best: list[tuple[str, list[Conclusion]]] | None = None
    for name in names:
        clusters: dict[str, list[Conclusion]] = {}
        for c in group:
            key = _render(result, kb, ts, c, lang, {name: "\x00"})
            clusters.setdefault(key, []).append(c)
        merged = []
        for key, cs in clusters.items():
            vals: list[str] = []
            for c in cs:
                v = _value(kb, ts, c, name, lang)
                if v not in vals:
                    vals.append(v)
            merged.append((key.replace("\x00", _join(vals, cs[0].status, lang)), cs))
        if best is None or len(merged) < len(best):
            best = merged
    if best is None:  # a template without placeholders: the same words for all
        text = _render(result, kb, ts, group[0], lang)
        best = [(text, group)]
    return best


def _item(result: Result, kb: KB, ts: TypeSummary, group: list[Conclusion], lang: str,
          numbers: dict[str, int]) -> SummaryItem:
    if len(group) > 2 and ts.many:
        text = _t(ts.many, lang).replace("{n}", str(len(group)))
    else:
        text = "; ".join(t for t, _ in _merge(result, kb, ts, group, lang, numbers))
    deps: list[str] = []
    if group[0].status == Status.UNDETERMINED:
        for c in group:
            for d in c.depends_on:
                if f"{d.fact}.{d.attribute}" not in deps:
                    deps.append(f"{d.fact}.{d.attribute}")
    return SummaryItem(text, str(group[0].status), tuple(sorted(numbers[c.id] for c in group)),
                       tuple(c.id for c in group), tuple(deps))


# ---- the summary ------------------------------------------------------------------------------


def _default_catalogue(kb: KB) -> Catalogue:
    """For a kb without a summary catalogue: one topic per kind, each type by its title."""
    kinds = (("conclusion", "Conclusions"), ("liability", "Liability"), ("remedy", "Remedies"), ("action", "Steps"))
    topics = tuple(Topic(k, {"en": title}, {}, 4, k == "action") for k, title in kinds)
    types = {}
    for n, t in kb.types.items():
        if t.kind in dict(kinds):
            enums = [a for a, x in t.attributes.items() if x.type == "enum"][:1]
            types[n] = TypeSummary(n, t.kind, {lang: text.replace("{", "(").replace("}", ")")
                                               + "".join(f": {{{a}}}" for a in enums)
                                               for lang, text in t.title.items()})
    return Catalogue(topics, types, {})


def summarize(result: Result, kb: KB, lang: str = "en", max_questions: int = 3) -> Summary:
    """The summary of ``result``: plain data for every renderer (text, JSON, HTML)."""
    cat, _problems = load_catalogue(kb)
    if cat is None:
        cat = _default_catalogue(kb)
    numbers = {h.id: h.number for h in handles(result, kb)}
    live = [c for c in result.conclusions if c.status in (Status.HOLDS, Status.UNDETERMINED) and c.id in numbers]
    sections: list[SummarySection] = []
    for topic in cat.topics:
        mine = [c for c in live if (ts := cat.types.get(c.type)) is not None and ts.topic == topic.name
                and str(c.status) in ts.show]
        # a restatement of what another conclusion already says (the same range at another date)
        kept = []
        for c in mine:
            ts = cat.types[c.type]
            if ts.hide_if_same is not None:
                other, attrs = ts.hide_if_same
                if any(o.type == other and o.status == c.status and all(o.attributes.get(a) == c.attributes.get(a)
                                                                           for a in attrs) for o in live):
                    continue
            kept.append(c)
        type_order = {n: i for i, n in enumerate(cat.types)}
        items: list[SummaryItem] = []
        if topic.numbered:  # steps, one by one, in their order
            kept.sort(key=lambda c: (c.status != Status.HOLDS, c.attributes.get("order", 0), numbers[c.id]))
            for c in kept:
                items.append(_item(result, kb, cat.types[c.type], [c], lang, numbers))
        else:  # one statement per type and status, holds first, in the catalogue's order
            keys: list[tuple[str, str]] = []
            for c in kept:
                if (c.type, str(c.status)) not in keys:
                    keys.append((c.type, str(c.status)))
            keys.sort(key=lambda k: (k[1] != Status.HOLDS, type_order.get(k[0], 0)))
            for tname, status in keys:
                same = [c for c in kept if c.type == tname and str(c.status) == status]
                items.append(_item(result, kb, cat.types[tname], same, lang, numbers))
        note = ""
        if len(items) > topic.limit:
            rest = items[topic.limit:]
            items = items[:topic.limit]
            refs = sorted(n for it in rest for n in it.refs)
            note = _m("more", lang, n=len(refs), refs=refs_text(refs))
        if not items and not topic.none:
            continue
        if not items:
            note = _t(topic.none, lang)
        sections.append(SummarySection(topic.name, _t(topic.title, lang), tuple(items), note, topic.numbered))
    qs = open_questions(result, kb, lang)
    return Summary(lang, tuple(sections), tuple(qs[:max_questions]), max(0, len(qs) - max_questions))


def refs_text(numbers: list[int] | tuple[int, ...]) -> str:
    """[3] [4] [5] [9] → "[3]-[5] [9]"."""
    out: list[str] = []
    nums = sorted(set(numbers))
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(f"[{nums[i]}]" if j == i else (f"[{nums[i]}] [{nums[j]}]" if j == i + 1 else f"[{nums[i]}]-[{nums[j]}]"))
        i = j + 1
    return " ".join(out)


def _dep_labels(result: Result, kb: KB, deps: tuple[str, ...], lang: str) -> str:
    cat, _ = load_catalogue(kb)
    labels = cat.labels if cat is not None else {}
    qs = {f"{u.fact}.{u.attribute}": _t(u.question, lang) for u in result.undetermined}
    out = []
    for d in deps:
        fact, _, attr = d.rpartition(".")
        ftype = fact.split(":", 1)[0]
        out.append(_t(labels.get(f"{ftype}.{attr}", {}), lang) or qs.get(d) or d)
    return ", ".join(out)


def item_text(summary: Summary, item: SummaryItem, result: Result, kb: KB, with_refs: bool = True) -> str:
    """A statement as the text report and the memo say it: "possibly" and what it depends on
    for an undetermined one, and its report entries."""
    lang = summary.lang
    text = item.text
    if item.status == Status.UNDETERMINED:
        text = f"{_m('possibly', lang)}: {text}"
        if item.depends_on:
            text += " — " + _m("depends", lang, what=_dep_labels(result, kb, item.depends_on, lang))
    if with_refs and item.refs:
        text += " " + refs_text(item.refs)
    return text


def question_text(summary: Summary, q: OpenQuestion) -> str:
    """An open question as the summary names it: label, fact.attribute and how many points it settles."""
    return _m("question-ref", summary.lang, label=q.label, fact=q.fact, attribute=q.attribute, n=q.affects,
              s="s" if q.affects != 1 else "")


def summary_lines(summary: Summary, result: Result, kb: KB) -> list[str]:
    """The summary as text lines (80 columns): a title per topic in the left column."""
    lang = summary.lang
    head = _m("heading", lang)
    out = [head, "=" * len(head)]
    indent = " " * LABEL_WIDTH

    def emit(label: str, text: str) -> None:
        first = f"{label:<{LABEL_WIDTH - 1}} "
        out.extend(textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=indent,
                                 break_on_hyphens=False) or [first.rstrip()])

    for s in summary.sections:
        if s.numbered:
            parts = [f"{i}. {item_text(summary, it, result, kb)}" for i, it in enumerate(s.items, 1)]
            emit(s.title, "; ".join(parts + ([s.note] if s.note else [])))
            continue
        parts = [item_text(summary, it, result, kb) for it in s.items]
        text = "; ".join(parts)
        if s.note:
            text = f"{text}; {s.note}" if text else s.note
        emit(s.title, text)
    title = _m("open-title", lang)
    if summary.questions:
        text = "; ".join(question_text(summary, q) for q in summary.questions)
        if summary.more_questions:
            text += "; " + _m("more-questions", lang, n=summary.more_questions)
        emit(title, text)
    else:
        emit(title, _m("nothing-open", lang))
    return out


def summary_json(summary: Summary, result: Result, kb: KB) -> dict[str, Any]:
    """The summary as the JSON document's ``summary`` key: the record, and each statement's
    text as the text report says it (``line``)."""
    data: dict[str, Any] = to_plain(summary)
    for s_data, s in zip(data["sections"], summary.sections):
        for i_data, it in zip(s_data["items"], s.items):
            i_data["line"] = item_text(summary, it, result, kb, with_refs=False)
    for q_data, q in zip(data["questions"], summary.questions):
        q_data["line"] = question_text(summary, q)
    data["lines"] = summary_lines(summary, result, kb)
    return data
