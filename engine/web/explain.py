"""Explanations as data for the JSON API and the pages: the why tree of a conclusion, built
from the result's trace (the same walk as ``views.explain.why_lines``), and the plain forms
of conclusions, why-not analyses, what-if changes and interview questions.
"""

from __future__ import annotations

from typing import Any

from ..language.kb import KB
from ..reasoning.compare import Change
from ..reasoning.provenance import BranchAnalysis, ChangeSearch, Mode, Role, Status, to_plain
from ..reasoning.result import Conclusion, Result, format_value
from ..views.text import cite_label, value_labels
from ..i18n import pick
from ..language.values import json_value

__all__ = ["why_tree", "conclusion_plain", "why_not_plain", "change_plain", "question_plain", "t", "fact_text",
           "citation_plain"]


def t(texts: dict[str, str], lang: str) -> str:
    """The text in ``lang``, else in its fallback (kk → ru → en), else any."""
    return pick(texts, lang)


def fact_text(attributes: dict[str, Any], ftype: str) -> str:
    """A fact as the why tree shows it: ``type:key (attr=value, ...)``."""
    attrs = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(attributes.items()) if k != "key")
    key = attributes.get("key")
    if key is not None:
        return f"{ftype}:{key}" + (f" ({attrs})" if attrs else "")
    return f"{ftype}({attrs})"


def citation_plain(kb: KB, ref: str, lang: str) -> dict[str, str]:
    """A citation with its label and article title in ``lang``."""
    art = kb.article_for(ref)
    return {"ref": ref, "label": cite_label(kb, ref, lang), "article": "/".join(ref.split("/")[:2]),
            "title": t(art.title, lang) if art else ""}


def why_tree(result: Result, kb: KB, conclusion: Conclusion, lang: str = "en", max_depth: int = 12) -> dict[str, Any]:
    """The reasoning tree of one conclusion, down to the case's facts and parameter values.

    Each node: ``fact``, ``role`` (input or derived), ``type``, ``title``, ``status``, ``text``
    (the fact with its attributes), and for a derived fact the ``rule`` applied (id, version,
    citations, the statute ``excerpt``, an ``assumption``), ``because``, ``parameters`` read,
    ``unknowns`` assumed possible, ``defeated_by``, the ``exceptions`` checked, and
    ``premises`` (child nodes). A fact met a second time is marked ``repeated`` and not
    expanded again."""
    seen: set[str] = set()
    trace = result.trace

    def walk(fid: str, depth: int) -> dict[str, Any] | None:
        """The node of ``fid`` and, below it, its premises."""
        fact = result.fact(fid)
        if fact is None or fact.role in (Role.AUX, Role.RECORD):
            return None
        ft = kb.types.get(fact.type)
        if fact.role == Role.INPUT:
            return {"fact": fid, "role": "input", "type": fact.type, "title": t(ft.title, lang) if ft else fact.type,
                    "status": "stated", "text": fact_text(fact.attributes, fact.type), "premises": []}
        c = result.conclusion(fid)
        status = c.status if c else (Status.HOLDS if fact.mode == Mode.CERTAIN else Status.UNDETERMINED)
        node: dict[str, Any] = {"fact": fid, "role": "derived", "type": fact.type,
                                "title": t(ft.title, lang) if ft else fact.type, "status": str(status),
                                "text": fact_text(fact.attributes, fact.type), "premises": []}
        if fid in seen:
            node["repeated"] = True
            return node
        seen.add(fid)
        d = result.best_derivation(fid)
        if d is None or depth > max_depth:
            return node
        rule = trace.rules[d.rule]
        node["because"] = t(c.explanation, lang) if c and c.explanation else ""
        node["rule"] = {"uid": rule.uid, "id": rule.id, "version": rule.version, "title": t(rule.title, lang),
                        "citations": [citation_plain(kb, x, lang) for x in rule.citations],
                        "excerpt": dict(rule.excerpt), "assumption": t(rule.assumption, lang)}
        node["parameters"] = [{"name": p.name, "title": t(kb.parameters[p.name].title, lang) if p.name in kb.parameters
                               else p.name, "date": p.date, "value": p.value, "text": format_value(p.value),
                               "source": p.source} for p in d.parameters]
        node["unknowns"] = [{"fact": u.fact, "attribute": u.attribute} for u in d.assumptions] \
            if d.mode == Mode.POSSIBLE else []
        node["defeated_by"] = [{"rule": ref.rule, "citations": [citation_plain(kb, x, lang) for x in ref.citations]}
                               for ref in c.defeated_by] if c is not None and status == Status.DEFEATED else []
        node["exceptions"] = [{"rule": e.rule, "citations": [citation_plain(kb, x, lang) for x in e.citations],
                               "status": e.status, "reasons": list(e.reasons)} for e in d.exceptions]
        for p_id in d.premises:
            child = walk(p_id, depth + 1)
            if child is not None:
                node["premises"].append(child)
        return node

    root = walk(conclusion.id, 0)
    assert root is not None
    return root


def conclusion_plain(c: Conclusion, kb: KB, lang: str) -> dict[str, Any]:
    """A conclusion as the API lists it: its JSON form plus titles and article labels in ``lang``."""
    out: dict[str, Any] = to_plain(c)
    out["label"] = t(c.title, lang) + (": " + "; ".join(value_labels(c, kb, lang)) if value_labels(c, kb, lang) else "")
    out["citation_labels"] = [cite_label(kb, x, lang) for x in c.citations]
    return out


def why_not_plain(analyses: list[BranchAnalysis], search: ChangeSearch | None) -> dict[str, Any]:
    """A why-not analysis and its change search as plain data."""
    out: dict[str, Any] = {"rules": [to_plain(a) for a in analyses]}
    if search is not None:
        out["changes"] = {
            "solutions": [[{"fact": f, "attribute": a, "value": json_value(v)} for f, a, v in sol]
                          for sol in search.solutions],
            "evaluations": search.evaluations, "bound_hit": search.bound_hit, "max_changes": search.max_size,
            "max_evals": search.max_evals,
        }
    else:
        out["changes"] = None
    return out


def change_plain(ch: Change, kb: KB, lang: str) -> dict[str, Any]:
    """One what-if difference as plain data, with its label and reason in ``lang``."""
    ft = kb.types.get(ch.type)
    ref = ch.after or ch.before
    reason = t(ref.explanation, lang) if ref is not None else ""
    if ch.after is None and ch.before is not None:
        reason = "no rule produces it any more (" + ", ".join(ch.before.rules) + ")"
    elif ch.after is not None and ch.after.status == Status.DEFEATED:
        reason = "defeated by " + ", ".join(d.rule for d in ch.after.defeated_by)
    out: dict[str, Any] = {
        "type": ch.type, "title": t(ft.title, lang) if ft else ch.type, "identity": {k: json_value(v) for k, v in
                                                                                      ch.identity.items()},
        "before": ch.status("before"), "after": ch.status("after"),
        "before_id": ch.before.id if ch.before else None, "after_id": ch.after.id if ch.after else None,
        "attributes": {}, "why": reason, "rules": ch.rules, "citations": ch.citations,
    }
    if ch.before is not None and ch.after is not None and ch.before.attributes != ch.after.attributes:
        a, b = ch.before.attributes, ch.after.attributes
        out["attributes"] = {k: {"before": a.get(k), "after": b.get(k), "text": f"{format_value(a.get(k))} → "
                                 f"{format_value(b.get(k))}"} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
    labels = value_labels(ref, kb, lang) if ref is not None else []
    out["label"] = out["title"] + (": " + "; ".join(labels) if labels else "")
    return out


def question_plain(q: Any, result: Result, lang: str) -> dict[str, Any]:
    """An interview question with the conclusions its answer decides."""
    decides = [{"id": c.id, "type": c.type, "title": t(c.title, lang), "citations": list(c.citations)}
               for c in result.conclusions
               if c.status == Status.UNDETERMINED and any(d.fact == q.fact and d.attribute == q.attribute
                                                          for d in c.depends_on)]
    return {"id": q.id, "fact": q.fact, "attribute": q.attribute, "type": q.type, "text": dict(q.text),
            "prompt": q.prompt(lang), "help": dict(q.help),
            "choices": [{"value": v, "title": dict(titles)} for v, titles in q.choices],
            "settles": q.settles, "why": list(q.why), "decides": decides}
