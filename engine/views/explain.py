"""Explanations as text: *why* a conclusion holds, *why not* another, *what if* facts change.

Every function here reads a :class:`~..reasoning.result.Result` (which may come from a saved
JSON file) or the plain data that :mod:`..reasoning.whynot` returns, plus the kb for titles
and article names. Text is returned as lines; the CLI prints them.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import Diagnostic, InputError, Location, suggest
from ..language.kb import KB
from ..reasoning.compare import Change
from ..reasoning.provenance import BranchAnalysis, ChangeSearch, Mode, Role, Status, TraceFact
from ..reasoning.result import Conclusion, Result, format_value
from .text import cases_line, cite_label

__all__ = ["parse_spec", "select", "why_lines", "why_not_lines", "what_if_lines"]

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def _err(message: str, hint: str = "", where: str = "<command line>") -> InputError:
    return InputError([Diagnostic(Location(where), "bad-argument", message, "-", hint)])


def parse_spec(kb: KB, spec: str) -> tuple[str, dict[str, str]]:
    """``TYPE`` or ``TYPE(attr=value, ...)`` → (type, attributes as text)."""
    m = _SPEC.match(spec)
    if not m:
        raise _err(f"cannot read the conclusion '{spec}'", "write TYPE or TYPE(attribute=value, ...)")
    tname = m.group(1)
    t = kb.types.get(tname)
    if t is None or t.kind == "entity":
        names = [x.name for x in kb.types.values() if x.kind != "entity"]
        raise _err(f"unknown conclusion type '{tname}'", suggest(tname, names))
    attrs: dict[str, str] = {}
    if m.group(2):
        for part in m.group(2).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise _err(f"'{part.strip()}' must read attribute=value")
            k, v = (x.strip() for x in part.split("=", 1))
            if k not in t.attributes:
                raise _err(f"'{tname}' has no attribute '{k}'", suggest(k, t.attributes))
            attrs[k] = v.strip("'\"")
    return tname, attrs


def select(result: Result, tname: str, attrs: dict[str, str]) -> list[Conclusion]:
    return result.select(tname, attrs)


def _t(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def _fact_text(fact: TraceFact) -> str:
    attrs = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(fact.attributes.items()) if k != "key")
    key = fact.get("key")
    return f"{fact.type}:{key}" + (f" ({attrs})" if attrs else "") if key is not None else f"{fact.type}({attrs})"


# ---- why -------------------------------------------------------------------------------------


def why_lines(result: Result, kb: KB, conclusion: Conclusion, lang: str = "en", max_depth: int = 8) -> list[str]:
    """The reasoning tree of one conclusion, down to the case's facts and parameter values."""
    out: list[str] = []
    seen: set[str] = set()
    trace = result.trace

    def walk(fid: str, indent: str, depth: int) -> None:
        fact = result.fact(fid)
        if fact is None or fact.role in (Role.AUX, Role.RECORD):
            return
        if fact.role == Role.INPUT:
            out.append(f"{indent}- stated fact {_fact_text(fact)}")
            return
        t = kb.types.get(fact.type)
        c = result.conclusion(fid)
        status = c.status if c else (Status.HOLDS if fact.mode == Mode.CERTAIN else Status.UNDETERMINED)
        title = _t(t.title, lang) if t else fact.type
        out.append(f"{indent}- {title} [{Status(status).label}] {_fact_text(fact)}")
        if c is not None and c.by_cases is not None and fid not in seen:
            out.append(f"{indent}    {cases_line(result, c)}")
        if fid in seen:
            out.append(f"{indent}    (explained above)")
            return
        seen.add(fid)
        d = result.best_derivation(fid)
        if d is None or depth > max_depth:
            return
        rule = trace.rules[d.rule]
        expl = c.explanation if c else {}
        if expl:
            out.append(f"{indent}    because: {_t(expl, lang)}")
        out.append(f"{indent}    rule: {rule.id} (version {rule.version}) — "
                   + "; ".join(cite_label(kb, x, lang) for x in rule.citations))
        ex = _t(rule.excerpt, "ru") if lang == "ru" else _t(rule.excerpt, "en")
        if ex:
            out.append(f"{indent}    law: «{ex}»")
        if rule.assumption:
            out.append(f"{indent}    assumption: {_t(rule.assumption, lang)}")
        for p in d.parameters:
            title_p = _t(kb.parameters[p.name].title, lang) if p.name in kb.parameters else p.name
            out.append(f"{indent}    parameter: {title_p} on {p.date} = {format_value(p.value)} — {p.source}")
        if d.mode == Mode.POSSIBLE:
            for u in d.assumptions:
                out.append(f"{indent}    unknown: {u.fact}.{u.attribute} (assumed possible)")
        if status == Status.DEFEATED and c is not None:
            for ref in c.defeated_by:
                out.append(f"{indent}    defeated by: {ref.rule} — " + "; ".join(cite_label(kb, x, lang)
                                                                                 for x in ref.citations))
        for p_id in d.premises:
            walk(p_id, indent + "    ", depth + 1)
        for ex_check in d.exceptions:
            label = "; ".join(cite_label(kb, x, lang) for x in ex_check.citations)
            verdict = "does not apply" if ex_check.status == "does_not_apply" else "might apply (undetermined)"
            reasons = "; ".join(ex_check.reasons)
            out.append(f"{indent}    exception {ex_check.rule.split('@')[0]} ({label}) {verdict}: {reasons}")

    walk(conclusion.id, "", 0)
    return out


# ---- why not -----------------------------------------------------------------------------------


def why_not_lines(result: Result, kb: KB, tname: str, attrs: dict[str, str], analyses: list[BranchAnalysis],
                  lang: str = "en", changes: ChangeSearch | None = None) -> list[str]:
    out: list[str] = []
    current = result.select(tname, attrs)
    title = _t(kb.types[tname].title, lang)
    spec = tname + ("(" + ", ".join(f"{k}={v}" for k, v in attrs.items()) + ")" if attrs else "")
    if any(c.status == Status.HOLDS for c in current):
        out.append(f"{title} — {spec} holds; see `why`.")
    else:
        states = sorted({Status(c.status).label for c in current}) or ["does not hold"]
        out.append(f"{title} — {spec}: {', '.join(states)}")
    for c in current:
        if c.status == Status.DEFEATED:
            for d in c.defeated_by:
                out.append(f"  defeated by {d.rule} ({'; '.join(cite_label(kb, x, lang) for x in d.citations)})")
    for a in analyses:
        out.append("")
        out.append(f"Rule {a.rule} ({'; '.join(cite_label(kb, x, lang) for x in a.citations)}): {a.status}")
        for cs in a.conditions:
            mark = {"met": "met    ", "failed": "FAILED ", "unknown": "unknown"}[cs.status]
            out.append(f"  [{mark}] {cs.condition}")
            if cs.status != "met":
                out.append(f"            {cs.detail}")
    if changes is not None:
        out.append("")
        if changes.solutions:
            out.append(f"Smallest change{'s' if len(changes.solutions) > 1 else ''} of facts that would make it hold:")
            for sol in changes.solutions:
                out.append("  - " + "; ".join(f"set {fid}.{attr} = {format_value(v)}" if v is not None
                                               else f"unset {fid}.{attr}" for fid, attr, v in sol))
        elif not changes.bound_hit:
            out.append("No change of up to "
                       f"{changes.max_size} fact{'s' if changes.max_size > 1 else ''} makes it hold.")
        if changes.bound_hit and changes.stopped == "time":
            out.append(f"  (search stopped at its time bound of {changes.max_seconds:g} s after {changes.evaluations} "
                       "evaluations; a smaller or another change may exist: raise --max-seconds)")
        elif changes.bound_hit:
            out.append(f"  (search stopped at its bound of {changes.max_evals} evaluations; a larger change may exist)")
        out.append(f"  ({changes.evaluations} alternative cases evaluated)")
    return out


# ---- what if -----------------------------------------------------------------------------------


def what_if_lines(kb: KB, diffs: list[Change], changes: list[tuple[str, str, Any]], lang: str = "en") -> list[str]:
    out = ["What if: " + "; ".join(f"{fid}.{attr} = {format_value(v) if v is not None else 'unknown'}"
                                   for fid, attr, v in changes)]
    if not diffs:
        out.append("  No conclusion changes.")
        return out
    width = 12
    for ch in diffs:
        a, b = ch.before, ch.after
        title = _t(kb.types[ch.type].title, lang)
        ref = b or a
        assert ref is not None
        ident = ", ".join(f"{k}={format_value(v)}" for k, v in ch.identity.items()
                          if kb.types[ch.type].attributes[k].type in ("ref", "enum"))
        out.append("")
        out.append(f"  {title} ({ident})")
        out.append(f"    {'before:':<{width}}{ch.status('before').replace('_', ' ')}")
        out.append(f"    {'after:':<{width}}{ch.status('after').replace('_', ' ')}")
        if a and b and a.attributes != b.attributes:
            for k in sorted(set(a.attributes) | set(b.attributes)):
                if a.attributes.get(k) != b.attributes.get(k):
                    out.append(f"    {k}: {format_value(a.attributes.get(k))} -> {format_value(b.attributes.get(k))}")
        reason = _t(ref.explanation, lang)
        if b is None and a is not None:
            reason = "no rule produces it any more (" + ", ".join(a.rules) + ")"
        elif b is not None and b.status == Status.DEFEATED:
            reason = "defeated by " + ", ".join(d.rule for d in b.defeated_by)
        if reason:
            out.append(f"    {'why:':<{width}}{reason}")
    return out
