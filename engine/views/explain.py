"""Explanations: *why* a conclusion holds, *why not* another, *what if* facts change.

Every function here reads a :class:`~..reasoning.result.Result` (which may come from a saved
JSON file) or the plain data that :mod:`..reasoning.whynot` returns, plus the kb for titles
and article names. ``why`` is first built as data (:func:`why_answer`: each fact explained
once, however many of the asked conclusions rest on it), then rendered as text lines
(:func:`why_answer_lines`) or JSON (:func:`why_answer_json`); why-not and what-if likewise
have a text and a JSON form. The CLI prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..i18n import Section, msg, pick
from ..i18n import format_value as local_value
from ..language.kb import KB
from ..reasoning.compare import Change
from ..reasoning.provenance import BranchAnalysis, ChangeSearch, Mode, Role, Status, TraceFact, to_plain
from ..reasoning.result import Conclusion, Result, format_value
from .handles import handle_of, parse_spec
from .text import cases_line, cite_label

__all__ = ["parse_spec", "select", "why_lines", "why_not_lines", "what_if_lines", "WhyStep", "WhyAnswer",
           "why_answer", "why_answer_lines", "why_answer_json", "why_not_json", "what_if_json", "MSG",
           "condition_detail"]

# the interface strings of this module (message id -> language -> text)
MSG = Section("explain")  # kb/messages/{en,ru,kk}.yaml, section explain


def _m(key: str, lang: str, **kw: Any) -> str:
    return msg(MSG.name, key, lang, **kw)


def select(result: Result, tname: str, attrs: dict[str, str]) -> list[Conclusion]:
    """The conclusions of ``result`` of type ``tname`` whose attributes match ``attrs``."""
    return result.select(tname, attrs)


def _t(texts: dict[str, str], lang: str) -> str:
    return pick(texts, lang)


def _fact_text(fact: TraceFact) -> str:
    attrs = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(fact.attributes.items()) if k != "key")
    key = fact.get("key")
    return f"{fact.type}:{key}" + (f" ({attrs})" if attrs else "") if key is not None else f"{fact.type}({attrs})"


# ---- why, as data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhyStep:
    """One fact of a why-explanation: a stated fact, or a derived one with the rule
    application that explains it best, the law, parameters read, unknowns assumed, the
    exceptions checked, and the facts it rests on (``premises``, fact ids)."""

    fact: str
    type: str
    role: str  # input | derived
    title: str
    status: str
    text: str
    handle: str = ""  # the report's name for it ("" for a fact the report does not number)
    number: int = 0
    because: str = ""
    rule: str = ""
    rule_id: str = ""
    version: str = ""
    law: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    excerpt: str = ""
    assumption: str = ""
    parameters: tuple[dict[str, Any], ...] = ()
    unknowns: tuple[str, ...] = ()
    defeated_by: tuple[dict[str, Any], ...] = ()
    premises: tuple[str, ...] = ()
    exceptions: tuple[dict[str, Any], ...] = ()
    truncated: bool = False  # below the depth bound: not followed further
    cases: str = ""  # how deciding by cases settled it ("" if it was not split)
    reads: dict[str, list[str]] = field(default_factory=dict)  # premise -> the attributes the rule read of it


@dataclass
class WhyAnswer:
    """The explanation of one or more conclusions: ``roots`` are the asked ones, ``shared``
    the facts that several of them rest on (explained once, first), ``steps`` every fact."""

    roots: list[str]
    shared: list[str]
    steps: dict[str, WhyStep] = field(default_factory=dict)
    spec: str = ""
    disclaimer: str = ""


def _step(result: Result, kb: KB, fid: str, lang: str, depth: int, max_depth: int) -> WhyStep | None:
    fact = result.fact(fid)
    if fact is None or fact.role in (Role.AUX, Role.RECORD):
        return None
    if fact.role == Role.INPUT:
        return WhyStep(fid, fact.type, "input", fact.type, "stated", _fact_text(fact))
    t = kb.types.get(fact.type)
    c = result.conclusion(fid)
    status = c.status if c else (Status.HOLDS if fact.mode == Mode.CERTAIN else Status.UNDETERMINED)
    h = handle_of(result, kb, fid) if c is not None else None
    base = dict(fact=fid, type=fact.type, role="derived", title=_t(t.title, lang) if t else fact.type,
                status=str(status), text=_fact_text(fact), handle=h.name if h else "", number=h.number if h else 0,
                cases=cases_line(result, c, lang) if c is not None else "")
    d = result.best_derivation(fid)
    if d is None:
        return WhyStep(**base)  # type: ignore[arg-type]
    if depth > max_depth:
        return WhyStep(**base, truncated=True)  # type: ignore[arg-type]
    rule = result.trace.rules[d.rule]
    params = tuple({"name": p.name, "title": _t(kb.parameters[p.name].title, lang) if p.name in kb.parameters
                    else p.name, "date": p.date, "value": p.value, "source": p.source} for p in d.parameters)
    unknowns = tuple(f"{u.fact}.{u.attribute}" for u in d.assumptions) if d.mode == Mode.POSSIBLE else ()
    defeats = tuple({"rule": ref.rule, "citations": list(ref.citations),
                     "law": [cite_label(kb, x, lang) for x in ref.citations]}
                    for ref in (c.defeated_by if c is not None and status == Status.DEFEATED else ()))
    exceptions = tuple({"rule": e.rule.split("@")[0], "citations": list(e.citations),
                        "law": [cite_label(kb, x, lang) for x in e.citations], "status": e.status,
                        "reasons": list(e.reasons)} for e in d.exceptions)
    premises = tuple(p for p in d.premises
                     if (f := result.fact(p)) is not None and f.role not in (Role.AUX, Role.RECORD))
    branch = result.trace.branches.get(d.branch)
    reads: dict[str, list[str]] = {}
    if branch is not None:
        for attrs, p in zip(branch.reads, d.premises):
            if p in premises:
                reads.setdefault(p, [])
                reads[p] += [a for a in attrs if a not in reads[p] and a != "key"]
    excerpt = _t(rule.excerpt, "ru") if lang == "ru" else _t(rule.excerpt, "en")
    return WhyStep(**base, because=_t(c.explanation, lang) if c else "", rule=rule.uid,  # type: ignore[arg-type]
                   rule_id=rule.id, version=rule.version, law=tuple(cite_label(kb, x, lang) for x in rule.citations),
                   citations=tuple(rule.citations), excerpt=excerpt,
                   assumption=_t(rule.assumption, lang) if rule.assumption else "", parameters=params,
                   unknowns=unknowns, defeated_by=defeats, premises=premises, exceptions=exceptions,
                   reads=reads)


def why_answer(result: Result, kb: KB, conclusions: list[Conclusion], lang: str = "en", max_depth: int = 8,
               spec: str = "") -> WhyAnswer:
    """The reasoning behind ``conclusions``, down to the case's facts and parameter values:
    every fact once. Where several conclusions are asked, the derived facts that more than
    one of them rests on are ``shared`` (the topmost such facts) and explained first."""
    steps: dict[str, WhyStep] = {}
    reach: dict[str, set[str]] = {}

    def walk(fid: str, depth: int, acc: set[str]) -> None:
        if fid in acc:
            return
        s = steps.get(fid)
        if s is None:
            s = _step(result, kb, fid, lang, depth, max_depth)
            if s is None:
                return
            steps[fid] = s
        acc.add(fid)
        for p in s.premises:
            walk(p, depth + 1, acc)

    numbers = {c.id: (h.number if (h := handle_of(result, kb, c.id)) else 10**6) for c in conclusions}
    roots = sorted((c.id for c in conclusions), key=lambda i: (numbers[i], i))
    for r in roots:
        reach[r] = set()
        walk(r, 0, reach[r])
    shared: list[str] = []
    if len(roots) > 1:
        count: dict[str, int] = {}
        for r in roots:
            for f in reach[r] - {r}:
                count[f] = count.get(f, 0) + 1
        common = {f for f, n in count.items() if n > 1 and steps[f].role == "derived" and f not in roots}
        below: set[str] = set()
        for f in common:
            sub: set[str] = set()
            walk(f, 0, sub)
            below |= sub - {f}
        shared = sorted(common - below, key=lambda f: (steps[f].number or 10**6, f))
    return WhyAnswer(roots, shared, steps, spec, result.disclaimer)


# ---- why, as text -----------------------------------------------------------------------------


def _input_text(text: str, used: list[str] | None) -> str:
    """A stated fact with only the attributes the rule read of it (all where unknown)."""
    if not used or " (" not in text:
        return text
    head, _, rest = text.partition(" (")
    parts = []
    for item in rest[:-1].split(", "):
        if "=" in item:
            parts.append(item)
        elif parts:  # a list value: "acts=making_available, reproduction"
            parts[-1] += ", " + item
    kept = [p for p in parts if p.split("=", 1)[0] in used]
    return f"{head} ({', '.join(kept)})" if kept else head


def why_answer_lines(answer: WhyAnswer, lang: str = "en") -> list[str]:
    """The ``why`` answer as text lines in ``lang``: each step with its rule, law, parameters and premises, indented."""
    out: list[str] = []
    seen: set[str] = set()

    def node(fid: str, indent: str, used: list[str] | None = None) -> None:
        s = answer.steps.get(fid)
        if s is None:
            return
        if s.role == "input":
            fact_attrs = _input_text(s.text, used)
            out.append(f"{indent}- {_m('stated', lang)} {fact_attrs}")
            return
        label = (f"[{s.number}] " if s.number else "") + f"{s.title} [{_m('st-' + s.status, lang)}] "
        out.append(f"{indent}- {label}{s.handle or s.text}")
        if s.handle and s.text.replace(" ", "") != s.handle.replace(" ", ""):
            out.append(f"{indent}    {s.text}")
        if s.cases and fid not in seen:
            out.append(f"{indent}    {s.cases}")
        if fid in seen:
            out.append(f"{indent}    {_m('explained-above', lang)}")
            return
        seen.add(fid)
        if s.truncated:
            out.append(f"{indent}    {_m('deeper', lang, handle=s.handle or s.fact)}")
            return
        if not s.rule:
            return
        if s.because:
            out.append(f"{indent}    {_m('because', lang)}: {s.because}")
        out.append(f"{indent}    {_m('rule', lang)}: {s.rule_id} ({_m('version', lang)} {s.version}) — " + "; ".join(s.law))
        if s.excerpt:
            out.append(f"{indent}    {_m('law', lang)}: «{s.excerpt}»")
        if s.assumption:
            out.append(f"{indent}    {_m('assumption', lang)}: {s.assumption}")
        for p in s.parameters:
            out.append(f"{indent}    {_m('parameter', lang)}: {p['title']} {_m('on', lang)} {p['date']} = "
                       f"{local_value(p['value'], lang)} — {p['source']}")
        for u in s.unknowns:
            out.append(f"{indent}    {_m('unknown', lang)}: {u} {_m('assumed-possible', lang)}")
        for ref in s.defeated_by:
            out.append(f"{indent}    {_m('defeated-by', lang)}: {ref['rule']} — " + "; ".join(ref["law"]))
        for prem in s.premises:
            node(prem, indent + "    ", s.reads.get(prem))
        for e in s.exceptions:
            verdict = _m("does-not-apply" if e["status"] == "does_not_apply" else "might-apply", lang)
            out.append(f"{indent}    {_m('exception', lang)} {e['rule']} ({'; '.join(e['law'])}) {verdict}: "
                       + "; ".join(condition_detail(r, lang) for r in e["reasons"]))

    if len(answer.roots) > 1:
        names = [f"[{answer.steps[r].number}]" if answer.steps[r].number else answer.steps[r].fact
                 for r in answer.roots if r in answer.steps]
        out.append(_m("matches", lang, n=len(answer.roots), spec=answer.spec or "", list=" ".join(names)))
        if answer.shared:
            out.append("")
            out.append(_m("shared", lang))
            for f in answer.shared:
                node(f, "  ")
            out.append("")
            out.append(_m("each", lang))
    for i, r in enumerate(answer.roots):
        if i and len(answer.roots) > 1:
            out.append("")
        node(r, "" if len(answer.roots) == 1 else "  ")
    return out


def why_lines(result: Result, kb: KB, conclusion: Conclusion, lang: str = "en", max_depth: int = 8) -> list[str]:
    """The reasoning tree of one conclusion, down to the case's facts and parameter values."""
    return why_answer_lines(why_answer(result, kb, [conclusion], lang, max_depth), lang)


def why_answer_json(answer: WhyAnswer) -> dict[str, Any]:
    """``why --format json``: the asked conclusions, the shared facts, and every step once."""
    return {"conclusion": answer.spec, "roots": answer.roots, "shared": answer.shared,
            "steps": {k: to_plain(v) for k, v in sorted(answer.steps.items())}, "disclaimer": answer.disclaimer}



# the condition details of a why-not analysis come from the engine in English; they are read
# back here by their fixed forms and said in the reader's language (English: unchanged)
_CONDITION_FORMS = [
    (re.compile(r"(?P<fid>\S+): (?P<test>.+) does not hold \(it is (?P<value>.*)\)"), "cond-fails"),
    (re.compile(r"(?P<fid>\S+) itself is undetermined"), "cond-itself-open"),
    (re.compile(r"(?P<fa>\S+) is unknown \((?P<test>.+) needed\)"), "cond-unknown"),
    (re.compile(r"(?P<what>.+) holds, which excludes it"), "cond-excludes"),
    (re.compile(r"(?P<what>.+) might hold"), "cond-might"),
    (re.compile(r"(?P<what>.+) does not hold"), "cond-not"),
    (re.compile(r"(?P<fid>\S+) matches"), "cond-matches"),
    (re.compile(r"there is no (?P<type>\S+) with (?P<attrs>.+)"), "cond-none-with"),
    (re.compile(r"there is no (?P<type>\S+)"), "cond-none"),
    (re.compile(r"version (?P<v>\S+) is not in force on (?P<day>\S+)"), "cond-not-in-force"),
    (re.compile(r"the case's (?P<attr>\S+) is unknown"), "cond-date-unknown"),
]
_TEST_WORDS = [(re.compile(r" is not stated\b"), "op-not-stated"), (re.compile(r" is stated\b"), "op-stated"),
               (re.compile(r" present False\b"), "op-not-stated"), (re.compile(r" present True\b"), "op-stated"),
               (re.compile(r" not_in "), "op-not-in"),
               (re.compile(r" not in "), "op-not-in"), (re.compile(r" contains "), "op-contains"),
               (re.compile(r" in "), "op-in")]


_WORD_VALUES: dict[str, Any] = {"unknown": None, "yes": True, "no": False}


def _test_text(test: str, lang: str) -> str:
    for pattern, key in _TEST_WORDS:
        word = _m(key, lang)
        repl = f" {word} " if key.endswith(("in", "contains")) else f" {word}"
        test = pattern.sub(repl.replace("\\", "\\\\"), test)
    return test


def condition_detail(detail: str, lang: str) -> str:
    """A condition's detail of a why-not analysis (``"; "``-joined English forms of the
    engine) in ``lang``; a form not known is left as it is."""
    if lang == "en" or not detail:
        return detail
    out = []
    for part in detail.split("; "):
        for pattern, key in _CONDITION_FORMS:
            m = pattern.fullmatch(part)
            if m:
                kw = {k: (_test_text(v, lang) if k in ("test", "what", "attrs") else
                          local_value(_WORD_VALUES.get(v, v), lang) if k in ("value", "day") else v)
                      for k, v in m.groupdict().items()}
                part = _m(key, lang, **kw)
                break
        out.append(part)
    return "; ".join(out)

# ---- why not -----------------------------------------------------------------------------------


def why_not_lines(result: Result, kb: KB, tname: str, attrs: dict[str, str], analyses: list[BranchAnalysis],
                  lang: str = "en", changes: ChangeSearch | None = None) -> list[str]:
    """The ``why-not`` answer as text lines in ``lang``: each rule that could conclude it, condition by condition, then the smallest changes found."""
    out: list[str] = []
    current = result.select(tname, attrs)
    title = _t(kb.types[tname].title, lang)
    spec = tname + ("(" + ", ".join(f"{k}={v}" for k, v in attrs.items()) + ")" if attrs else "")
    if any(c.status == Status.HOLDS for c in current):
        out.append(_m("holds-see-why", lang, title=title, spec=spec))
    else:
        states = sorted({_m(f"st-{Status(c.status)}", lang) for c in current}) or [_m("st-does_not_hold", lang)]
        out.append(f"{title} — {spec}: {', '.join(states)}")
    for c in current:
        if c.status == Status.DEFEATED:
            for d in c.defeated_by:
                out.append(_m("defeated-rule", lang, rule=d.rule, law="; ".join(cite_label(kb, x, lang)
                                                                                for x in d.citations)))
    for a in analyses:
        out.append("")
        out.append(_m("branch", lang, rule=a.rule, law="; ".join(cite_label(kb, x, lang) for x in a.citations),
                      status=_m(f"branch-{a.status}", lang)))
        marks = {k: _m(f"mark-{k}", lang) for k in ("met", "failed", "unknown")}
        width = max(len(v) for v in marks.values())
        for cs in a.conditions:
            out.append(f"  [{marks[cs.status].ljust(width)}] {cs.condition if lang == 'en' else _test_text(cs.condition, lang)}")
            if cs.status != "met":
                out.append(f"            {condition_detail(cs.detail, lang)}")
    if changes is not None:
        out.append("")
        if changes.solutions:
            out.append(_m("smallest", lang, s="s" if len(changes.solutions) > 1 else ""))
            for sol in changes.solutions:
                out.append("  - " + "; ".join(_m("set", lang, fa=f"{fid}.{attr}", value=local_value(v, lang))
                                               if v is not None else _m("unset", lang, fa=f"{fid}.{attr}")
                                               for fid, attr, v in sol))
        elif not changes.bound_hit:
            out.append(_m("no-change", lang, n=changes.max_size, s="s" if changes.max_size > 1 else ""))
        if changes.bound_hit and changes.stopped == "time":
            out.append(_m("stopped-time", lang, sec=changes.max_seconds, n=changes.evaluations))
        elif changes.bound_hit:
            out.append(_m("stopped-evals", lang, n=changes.max_evals))
        out.append(_m("evaluated", lang, n=changes.evaluations))
    return out


def why_not_json(result: Result, kb: KB, spec: str, tname: str, attrs: dict[str, str],
                 analyses: list[BranchAnalysis], changes: ChangeSearch | None = None) -> dict[str, Any]:
    """``why-not --format json``: the conclusion asked, its present statuses, each rule that
    could conclude it condition by condition, and the change search (None: not run)."""
    current = []
    for c in result.select(tname, attrs):
        h = handle_of(result, kb, c.id)
        current.append({"id": c.id, "status": str(c.status), "handle": h.name if h else "",
                        "number": h.number if h else 0,
                        "defeated_by": [d.rule for d in c.defeated_by]})
    search = None
    if changes is not None:
        search = to_plain(changes)
        search["solutions"] = [[{"fact": f, "attribute": a, "value": v} for f, a, v in sol]
                               for sol in changes.solutions]
    return {"conclusion": spec, "type": tname, "attributes": attrs, "current": current,
            "rules": to_plain(analyses), "changes": search, "disclaimer": result.disclaimer}


# ---- what if -----------------------------------------------------------------------------------


def _ident(kb: KB, ch: Change) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in ch.identity.items()
                     if kb.types[ch.type].attributes[k].type in ("ref", "enum"))


def _reason(ch: Change, lang: str) -> str:
    a, b = ch.before, ch.after
    ref = b or a
    reason = _t(ref.explanation, lang) if ref is not None else ""
    if b is None and a is not None:
        reason = _m("no-rule", lang, rules=", ".join(a.rules))
    elif b is not None and b.status == Status.DEFEATED:
        reason = _m("defeated-by", lang) + " " + ", ".join(d.rule for d in b.defeated_by)
    return reason


def _status_word(status: str, lang: str) -> str:
    """A status as what-if prints it: ``does not hold`` (en), ``не следует`` (ru), …"""
    key = f"st-{status}"
    return _m(key, lang) if key in MSG else status.replace("_", " ")


def what_if_lines(kb: KB, diffs: list[Change], changes: list[tuple[str, str, Any]], lang: str = "en",
                  unchanged: list[Conclusion] | None = None) -> list[str]:
    """The conclusions that differ after ``changes``; ``unchanged`` (with ``--focus``): the
    focused conclusions that stay as they were, said so."""
    out = [_m("what-if", lang, list="; ".join(f"{fid}.{attr} = {local_value(v, lang)}" for fid, attr, v in changes))]
    for c in unchanged or []:
        ident = ", ".join(f"{k}={format_value(v)}" for k, v in c.attributes.items()
                          if k in kb.types[c.type].attributes and kb.types[c.type].attributes[k].type in ("ref", "enum"))
        out.append("")
        out.append(_m("focus-same", lang, title=_t(kb.types[c.type].title, lang), ident=ident,
                      status=_m(f"st-{Status(c.status)}", lang)))
    if not diffs:
        if not unchanged:
            out.append(_m("no-diff", lang))
        return out
    width = 12
    for ch in diffs:
        a, b = ch.before, ch.after
        title = _t(kb.types[ch.type].title, lang)
        out.append("")
        out.append(f"  {title} ({_ident(kb, ch)})")
        before, after, why = (_m(k, lang) + ":" for k in ("wi-before", "wi-after", "wi-why"))
        width = max(width, len(before) + 1, len(after) + 1, len(why) + 1)
        out.append(f"    {before:<{width}}{_status_word(ch.status('before'), lang)}")
        out.append(f"    {after:<{width}}{_status_word(ch.status('after'), lang)}")
        if a and b and a.attributes != b.attributes:
            for k in sorted(set(a.attributes) | set(b.attributes)):
                if a.attributes.get(k) != b.attributes.get(k):
                    out.append(f"    {k}: {local_value(a.attributes.get(k), lang)} -> "
                               f"{local_value(b.attributes.get(k), lang)}")
        reason = _reason(ch, lang)
        if reason:
            out.append(f"    {why:<{width}}{reason}")
    return out


def what_if_json(kb: KB, diffs: list[Change], changes: list[tuple[str, str, Any]], disclaimer: str,
                 lang: str = "en", unchanged: list[Conclusion] | None = None) -> dict[str, Any]:
    """``what-if --format json``: the changed facts and, for each conclusion that differs,
    its status and attributes before and after and why."""
    out = []
    for ch in diffs:
        a, b = ch.before, ch.after
        changed = {}
        if a and b and a.attributes != b.attributes:
            changed = {k: {"before": a.attributes.get(k), "after": b.attributes.get(k)}
                       for k in sorted(set(a.attributes) | set(b.attributes))
                       if a.attributes.get(k) != b.attributes.get(k)}
        out.append({"type": ch.type, "identity": ch.identity, "title": _t(kb.types[ch.type].title, lang),
                    "before": ch.status("before"), "after": ch.status("after"),
                    "before_id": a.id if a else None, "after_id": b.id if b else None,
                    "attributes": changed, "why": _reason(ch, lang)})
    return {"changes": [{"fact": f, "attribute": a, "value": v} for f, a, v in changes], "differences": out,
            "unchanged": [{"id": c.id, "type": c.type, "status": str(c.status)} for c in unchanged or []],
            "disclaimer": disclaimer}
