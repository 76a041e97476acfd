"""Consultation: an interview that asks only the questions whose answers can still change a
conclusion, most decisive first, and ends with the full analysis.

A session starts from a partial case (or from a skeleton: an author, a work, a user and a
use) and works on its result: every unknown that an undetermined conclusion the report shows
depends on is a candidate question, ranked by the result itself (``Result.open_questions``:
the one that decides the most shown conclusions first, ties in vocabulary order), so the
interview asks in the order the report groups its open points. Answers may be "unknown".
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import Diagnostic, Diagnostics, InputError, Location
from ..language.yamlio import LDict, LList, load_file, loc_of
from ..reasoning.whynot import apply_changes
from ..language.kb import CASE_TYPE
from ..rulebase import RuleBase, evaluate_case, load_case
from ..reasoning.result import Result
from ..language.scenario import Fact, Scenario
from ..language.values import json_value, parse_text_value

__all__ = ["Question", "Consultation", "SKELETON", "load_answers"]

SKELETON: dict[str, Any] = {
    "id": "consultation",
    "title": "Consultation",
    "facts": [
        {"person": {"key": "author"}},
        {"work": {"key": "work", "author": "author"}},
        {"party": {"key": "user"}},
        {"use": {"key": "use", "work": "work", "user": "user"}},
    ],
}


@dataclass(frozen=True)
class Question:
    fact: str
    attribute: str
    type: str
    text: dict[str, str]
    help: dict[str, str]
    choices: tuple[tuple[str, dict[str, str]], ...]
    why: tuple[str, ...]  # the conclusions it can settle, with their articles
    settles: int

    @property
    def id(self) -> str:
        return f"{self.fact}.{self.attribute}"

    def prompt(self, lang: str = "en") -> str:
        return self.text.get(lang) or self.text.get("en") or f"{self.fact}: {self.attribute}?"


@dataclass
class Consultation:
    """An interview over one case; drive it with next_question() / answer() / back()."""

    rb: RuleBase
    scenario: Scenario
    engine: str = "python"
    lang: str = "en"
    history: list[tuple[str, str, Any, bool, Any]] = field(default_factory=list)  # fid, attr, value, had, old
    skipped: set[tuple[str, str]] = field(default_factory=set)  # answered "unknown"
    _result: Result | None = None

    @classmethod
    def start(cls, rb: RuleBase, case: Any = None, *, engine: str = "python", lang: str = "en",
              perspective: str | None = None) -> Consultation:
        data = case if case is not None else dict(SKELETON)
        if perspective and isinstance(data, dict):
            data = dict(data, perspective=perspective)
        scenario = load_case(rb, data)
        return cls(rb, scenario, engine, lang)

    # ---- state -------------------------------------------------------------------------------
    def result(self) -> Result:
        if self._result is None:
            self._result = evaluate_case(self.rb, self.scenario, self.engine)
        return self._result

    def candidates(self) -> list[Question]:
        """The questions still worth asking, the most decisive first: the result's own ranking
        (:meth:`~kzcopyright.engine.reasoning.result.Result.open_questions`, the one the report
        groups its open points by), then the questions of the points the report only counts;
        less those answered "unknown" and those the vocabulary gives no question for."""
        r = self.result()
        out: list[Question] = []
        # the points the report shows first, then those it only counts ("--all")
        ranked = r.open_questions()
        listed = {(q.point.fact, q.point.attribute) for q in ranked}
        ranked += [q for q in r.open_questions(everything=True) if (q.point.fact, q.point.attribute) not in listed]
        for oq in ranked:
            p = oq.point
            if (p.fact, p.attribute) in self.skipped or not p.askable:
                continue
            fact = self.scenario.fact(p.fact)
            if fact is None:
                continue
            t = self.rb.kb.types[fact.type]
            a = t.attributes.get(p.attribute)
            if a is None:
                continue
            concl = [c for c in (r.conclusion(i) for i in oq.conclusions) if c is not None]
            why = tuple(sorted({f"{c.title.get(self.lang) or c.title.get('en')} ({', '.join(c.citations[:2])})"
                                for c in concl}))
            choices = tuple((v, a.value_titles.get(v, {"en": v})) for v in a.values) if a.values else ()
            if a.type == "bool":
                choices = (("yes", {"en": "yes", "ru": "да"}), ("no", {"en": "no", "ru": "нет"}))
            out.append(Question(p.fact, p.attribute, a.type, a.question or {"en": f"{t.title.get('en')}: {p.attribute}?"},
                                a.help, choices, why, oq.settles))
        return out

    def next_question(self) -> Question | None:
        qs = self.candidates()
        return qs[0] if qs else None

    @property
    def done(self) -> bool:
        return self.next_question() is None

    # ---- answers -------------------------------------------------------------------------------
    def parse(self, q: Question, text: Any) -> Any:
        """The typed value of an answer (None for "unknown"); raises InputError if invalid."""
        if text is None:
            return None
        if isinstance(text, (list, tuple)):  # a list answer from an answers file
            text = ", ".join(str(json_value(v)) for v in text)
        elif not isinstance(text, str):
            text = str(json_value(text)) if not isinstance(text, bool) else ("yes" if text else "no")
        raw = text.strip()
        if raw.lower() in ("unknown", "?", "don't know", "не знаю", ""):
            return None

        try:
            return parse_text_value(q.type, raw, [v for v, _ in q.choices])
        except ValueError as exc:
            msg, hint = exc.args
            raise InputError([Diagnostic(Location(q.id), "bad-answer", msg, q.id, hint)]) from None

    def answer(self, value: Any, question: Question | None = None) -> None:
        q = question or self.next_question()
        if q is None:
            raise InputError([Diagnostic(Location("-"), "no-question", "no question is open", "-")])
        typed = self.parse(q, value)
        fact = self.scenario.fact(q.fact)
        assert fact is not None
        had = fact.has(q.attribute)
        self.history.append((q.fact, q.attribute, typed, had, fact.get(q.attribute)))
        if typed is None:
            self.skipped.add((q.fact, q.attribute))
        else:
            self.scenario = apply_changes(self.scenario, [(q.fact, q.attribute, typed)])
        self._result = None

    def back(self) -> bool:
        """Revise the last answer: undo it; its question is asked again."""
        if not self.history:
            return False
        fid, attr, value, had, old = self.history.pop()
        self.skipped.discard((fid, attr))
        self.scenario = apply_changes(self.scenario, [(fid, attr, old if had else None)])
        self._result = None
        return True

    # ---- output ------------------------------------------------------------------------------------
    def case_data(self) -> dict[str, Any]:
        facts: list[dict[str, Any]] = []
        dates: dict[str, Any] = {}
        perspective = None
        from ..language.intervals import Interval

        for f in self.scenario.facts:
            attrs = {k: (list(v) if isinstance(v, tuple) else v.to_json() if isinstance(v, Interval) else v)
                     for k, v in f.attrs}
            if f.type == CASE_TYPE:
                perspective = attrs.pop("perspective", None)
                attrs.pop("key", None)
                dates = attrs
                continue
            key = attrs.pop("key")
            facts.append({f.type: dict({"key": key}, **dict(sorted(attrs.items())))})
        order = {"person": 0, "work": 1, "party": 2, "use": 3}
        facts.sort(key=lambda d: (order.get(next(iter(d)), 9), next(iter(d.values()))["key"]))
        out: dict[str, Any] = {"id": self.scenario.id, "title": self.scenario.title}
        if perspective:
            out["perspective"] = perspective
        if dates:
            out["dates"] = dates
        out["facts"] = facts
        return out

    def to_yaml(self) -> str:
        return "# Saved by `kzcopyright consult`.\n" + yaml.safe_dump(self.case_data(), sort_keys=False,
                                                                      allow_unicode=True, width=100)


def load_answers(path: Path, shown: str | None = None) -> dict[str, Any]:
    """An answers file: a YAML (or JSON) mapping ``fact.attribute: value``, read under the same
    limits and safety as case files. A value is text, a number, true/false, a date, null
    (unknown) or a list of those; anything else is a located ``bad-answers`` error."""
    diags = Diagnostics()
    shown = shown or str(path)
    data = load_file(path, diags, shown)
    if data is None and not diags.errors:
        return {}  # an empty file: every question is answered 'unknown'
    if not diags.errors and not isinstance(data, LDict):
        diags.error(loc_of(data, Location(shown, 1, 1)), "bad-answers",
                    "the answers file must map fact.attribute to a value")
    if diags.errors:
        raise InputError(diags.errors)
    out: dict[str, Any] = {}
    for key, value in data.items():
        plain = (str, int, float, bool, _dt.date, type(None))
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            diags.error(data.key_loc(key), "bad-answers", "a question is named fact.attribute (text)")
        elif isinstance(value, LList) and all(isinstance(v, plain) and not isinstance(v, LList) for v in value):
            out[str(key)] = list(value)
        elif isinstance(value, plain):
            out[str(key)] = value
        else:
            shown_key = str(key).encode("unicode_escape").decode("ascii")  # one line, whatever the key holds
            diags.error(data.val_loc(key), "bad-answers", f"the answer to '{shown_key}' must be a value or a list "
                        "of values", shown_key)
    diags.raise_if_errors()
    return out


_ = (replace, Fact)
