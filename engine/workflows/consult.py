"""Consultation: an interview that asks only the questions whose answers can still change a
conclusion, most decisive first, and ends with the full analysis.

A session starts from a partial case (or from a skeleton: an author, a work, a user and a
use) and works on its result: every unknown that an undetermined conclusion the report shows
depends on is a candidate question, ranked by the result itself (``Result.open_questions``:
the one that decides the most shown conclusions first, ties in vocabulary order), so the
interview asks in the order the report groups its open points. Answers may be "unknown".

``kb/interview.yaml`` says which questions come first (the side, the dates, who is who) and
which answers settle others (``purpose: commercial`` makes the use commercial: not asked).
From a skeleton the interview first asks the names of the work, the user, the author and the
use, so that the report speaks of "the photos", not of "the work work"; unnamed ones get a
name from what is known of them (the work's kind, the user's kind).

:class:`Interview` is the interaction loop, independent of the terminal: it reads answers
through a function and says its lines through another, so the CLI, a test or another front
end drive it alike. It ends on "done" / "." (the answer so far), "q", end of input or an
interrupt (what was answered is kept, saved with ``save`` and the analysis so far shown).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..i18n import Section, msg, pick
from ..errors import Diagnostic, Diagnostics, InputError, Location
from ..language.yamlio import LDict, LList, load_file, loc_of
from ..reasoning.whynot import apply_changes
from ..language.kb import CASE_TYPE
from ..rulebase import RuleBase, evaluate_case, load_case
from ..reasoning.result import Result
from ..language.scenario import Fact, Scenario
from ..language.values import json_value, parse_text_value
from ..views.text import value_labels

__all__ = ["Question", "Consultation", "SKELETON", "load_answers", "Interview", "InterviewEnd", "MSG", "NAME"]

NAME = "name"  # the pseudo-attribute of the "who is who" questions (the entity's key)

# the interface strings of the interview (message id -> language -> text)
MSG = Section("consult")  # kb/messages/{en,ru,kk}.yaml, section consult


def _m(key: str, lang: str, **kw: Any) -> str:
    return msg(MSG.name, key, lang, **kw)

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
    """One question of the interview: the fact and attribute it fills, its value type, text and help per language, the choices of an enumeration, the conclusions it can settle (``why``, ``reasons``) and how many (``settles``)."""

    fact: str
    attribute: str
    type: str
    text: dict[str, str]
    help: dict[str, str]
    choices: tuple[tuple[str, dict[str, str]], ...]
    why: tuple[str, ...]  # the conclusions it can settle, with their articles
    settles: int
    reasons: tuple[str, ...] = ()  # the same, each with its value and every article (shown by "?")

    @property
    def id(self) -> str:
        """The question's id as printed and as an answers file keys it: ``fact.attribute``."""
        return f"{self.fact}.{self.attribute}"

    def prompt(self, lang: str = "en") -> str:
        """The question's text in ``lang`` (the fallback kk -> ru -> en)."""
        return pick(self.text, lang) or f"{self.fact}: {self.attribute}?"


@dataclass(frozen=True)
class _Plan:
    """What kb/interview.yaml says: the questions asked first, and the answers that imply others."""

    first: tuple[tuple[str, str], ...] = ()  # (entity type, attribute)
    implies: tuple[tuple[tuple[tuple[str, str, Any], ...], tuple[tuple[str, str, Any], ...]], ...] = ()


def _load_plan(rb: RuleBase) -> _Plan:
    """kb/interview.yaml, checked against the vocabulary (a problem in it is a located error)."""
    path = Path(rb.kb_dir) / "interview.yaml"
    if not path.is_file():
        return _Plan()
    diags = Diagnostics()
    shown = f"{Path(rb.kb_dir).name}/interview.yaml"
    data = load_file(path, diags, shown)
    diags.raise_if_errors()
    types = rb.kb.types

    def attr(ref: Any, loc: Location) -> tuple[str, str] | None:
        t, _, a = str(ref).partition(".")
        if t not in types or a not in types[t].attributes:
            diags.error(loc, "bad-interview", f"'{ref}' is not type.attribute of the vocabulary", "interview")
            return None
        return t, a

    first: list[tuple[str, str]] = []
    implies: list[Any] = []
    if not isinstance(data, LDict):
        diags.error(Location(shown, 1, 1), "bad-interview", "the interview plan must be a mapping", "interview")
        diags.raise_if_errors()
        return _Plan()
    for ref in data.get("first") or []:
        got = attr(ref, loc_of(ref, data.val_loc("first")))
        if got:
            first.append(got)
    for rule in data.get("implies") or []:
        if not isinstance(rule, LDict) or not isinstance(rule.get("when"), LDict) or not isinstance(rule.get("then"), LDict):
            diags.error(loc_of(rule, data.val_loc("implies")), "bad-interview", "an implication reads "
                        "{when: {type.attribute: value}, then: {type.attribute: value}}", "interview")
            continue
        sides = []
        for key in ("when", "then"):
            side = []
            for ref, value in rule[key].items():
                got = attr(ref, rule[key].key_loc(ref))
                if got:
                    side.append((got[0], got[1], value))
            sides.append(tuple(side))
        if {t for t, _, _ in sides[0] + sides[1]} and len({t for t, _, _ in sides[0] + sides[1]}) != 1:
            diags.error(rule.loc, "bad-interview", "an implication speaks of one entity type", "interview")
            continue
        implies.append((sides[0], sides[1]))
    diags.raise_if_errors()
    return _Plan(tuple(first), tuple(implies))


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
    naming: bool = False  # started from the skeleton: ask who is who (the names) first
    names: dict[str, str] = field(default_factory=dict)  # fact id -> the name given
    implied: list[int] = field(default_factory=list)  # positions in history set by an implication
    _plan: _Plan | None = None

    @classmethod
    def start(cls, rb: RuleBase, case: Any = None, *, engine: str = "python", lang: str = "en",
              perspective: str | None = None) -> Consultation:
        """A consultation from a partial case (a dict as in a case file) or, with none, from the skeleton of an author, a work, a user and a use; ``perspective`` records whose side the user is on."""
        data = case if case is not None else dict(SKELETON, title=_m("case-title", lang))
        if perspective and isinstance(data, dict):
            data = dict(data, perspective=perspective)
        scenario = load_case(rb, data)
        return cls(rb, scenario, engine, lang, naming=case is None)

    @property
    def plan(self) -> _Plan:
        """What kb/interview.yaml says (the first questions, the answers that imply others), loaded once."""
        if self._plan is None:
            self._plan = _load_plan(self.rb)
        return self._plan

    # ---- state -------------------------------------------------------------------------------
    def result(self) -> Result:
        """The evaluation of the case as answered so far (cached until the next answer)."""
        if self._result is None:
            self._result = evaluate_case(self.rb, self.scenario, self.engine)
        return self._result

    def candidates(self) -> list[Question]:
        """The questions still worth asking, in the order they are asked: who is who (the names,
        from a skeleton), then the plan's first questions while open (the side, the dates, the
        user's kind), then the result's own ranking
        (:meth:`~kzcopyright.engine.reasoning.result.Result.open_questions`, the one the report
        groups its open points by), then the questions of the points the report only counts;
        less those answered "unknown" and those the vocabulary gives no question for."""
        r = self.result()
        first = {key: i for i, key in enumerate(self.plan.first)}
        types = {f.fid: f.type for f in self.scenario.facts}
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
            why = tuple(sorted({f"{pick(c.title, self.lang)} ({', '.join(c.citations[:2])})"
                                for c in concl}))
            reasons = tuple(sorted({f"{pick(c.title, self.lang)}"
                                    + "".join(f": {v}" for v in value_labels(c, self.rb.kb, self.lang)[:1])
                                    + f" ({', '.join(c.citations)})" for c in concl}))
            choices = tuple((v, a.value_titles.get(v, {"en": v})) for v in a.values) if a.values else ()
            if a.type == "bool":
                choices = (("yes", {"en": "yes", "ru": "да"}), ("no", {"en": "no", "ru": "нет"}))
            out.append(Question(p.fact, p.attribute, a.type, a.question or {"en": f"{t.title.get('en')}: {p.attribute}?"},
                                a.help, choices, why, oq.settles, reasons))
        asked = {(q.fact, q.attribute) for q in out}
        # the case's dates and side (of the plan's first questions) are asked while open, even
        # where no conclusion waits on them yet: they decide which law applies
        for f in self.scenario.facts:
            if f.type != CASE_TYPE:
                continue
            ct = self.rb.kb.types[CASE_TYPE]
            for t_name, a_name in self.plan.first:
                a = ct.attributes.get(a_name)
                if (t_name != CASE_TYPE or f.has(a_name) or a is None or (f.fid, a_name) in self.skipped
                        or (f.fid, a_name) in asked):
                    continue
                choices = tuple((v, a.value_titles.get(v, {"en": v})) for v in a.values) if a.values else ()
                out.append(Question(f.fid, a_name, a.type, a.question or {"en": f"{ct.title.get('en')}: {a_name}?"},
                                    a.help, choices, (), 0))
        rank = {(q.fact, q.attribute): i for i, q in enumerate(out)}
        out.sort(key=lambda q: (first.get((types.get(q.fact, ""), q.attribute), len(first)), rank[(q.fact, q.attribute)]))
        return self._name_questions() + out

    def _name_questions(self) -> list[Question]:
        if not self.naming:
            return []
        out = []
        for f in sorted(self.scenario.facts, key=lambda f: ("work", "party", "person", "use").index(f.type)
                        if f.type in ("work", "party", "person", "use") else 9):
            if f.type == CASE_TYPE or f.fid in self.names or (f.fid, NAME) in self.skipped:
                continue
            prompt = MSG.get(f"name-prompt-{f.type}")
            if prompt is None:
                continue
            out.append(Question(f.fid, NAME, "name", dict(prompt), {}, (), (), 0))
        return out

    def next_question(self) -> Question | None:
        """The question to ask next, or None when nothing open can still change the answer."""
        qs = self.candidates()
        return qs[0] if qs else None

    @property
    def done(self) -> bool:
        """Whether no question is left worth asking."""
        return self.next_question() is None

    # ---- answers -------------------------------------------------------------------------------
    def parse(self, q: Question, text: Any) -> Any:
        """The typed value of an answer (None for "unknown"); raises InputError if invalid.
        Choices may be given by their numbers, for a list question too ("1, 11")."""
        if text is None:
            return None
        if isinstance(text, (list, tuple)):  # a list answer from an answers file
            text = ", ".join(str(json_value(v)) for v in text)
        elif not isinstance(text, str):
            text = str(json_value(text)) if not isinstance(text, bool) else ("yes" if text else "no")
        raw = text.strip()
        if raw.lower() in ("unknown", "don't know", "не знаю", ""):
            return None
        if q.type == "name":
            if len(raw) > 60 or any(ch in raw for ch in ":.,\n") or not raw.isprintable():
                raise InputError([Diagnostic(Location(q.id), "bad-answer", _m("name-bad", self.lang), q.id)])
            ftype = q.fact.split(":", 1)[0]
            taken = {v for k, v in self.names.items() if k != q.fact and k.startswith(ftype + ":")}
            taken |= {f.get("key") for f in self.scenario.facts if f.type == ftype and f.fid != q.fact
                      and f.fid not in self.names}
            if raw in taken:
                raise InputError([Diagnostic(Location(q.id), "bad-answer",
                                             _m("name-taken", self.lang, name=raw, type=ftype), q.id)])
            return raw
        values = [v for v, _ in q.choices]
        if q.type == "list":  # choice numbers, as for an enumeration
            parts = [x.strip() for x in raw.replace(";", ",").split(",") if x.strip()]
            raw = ", ".join(values[int(x) - 1] if x.isascii() and x.isdigit() and 1 <= int(x) <= len(values) else x
                            for x in parts)
        try:
            return parse_text_value(q.type, raw, values)
        except ValueError as exc:
            msg, hint = exc.args
            raise InputError([Diagnostic(Location(q.id), "bad-answer", msg, q.id, hint)]) from None

    def answer(self, value: Any, question: Question | None = None) -> list[tuple[str, str, Any]]:
        """Record an answer; returns what it implies (fact, attribute, value), set as well."""
        q = question or self.next_question()
        if q is None:
            raise InputError([Diagnostic(Location("-"), "no-question", "no question is open", "-")])
        typed = self.parse(q, value)
        if q.attribute == NAME and q.type == "name":
            self.history.append((q.fact, NAME, typed, q.fact in self.names, self.names.get(q.fact)))
            if typed is None:
                self.skipped.add((q.fact, NAME))
            else:
                self.names[q.fact] = typed
            return []
        fact = self.scenario.fact(q.fact)
        assert fact is not None
        had = fact.has(q.attribute)
        self.history.append((q.fact, q.attribute, typed, had, fact.get(q.attribute)))
        if typed is None:
            self.skipped.add((q.fact, q.attribute))
            self._result = None
            return []
        self.scenario = apply_changes(self.scenario, [(q.fact, q.attribute, typed)])
        implied = self._implications(q.fact)
        for fid, attr, v in implied:
            f = self.scenario.fact(fid)
            assert f is not None
            self.history.append((fid, attr, v, f.has(attr), f.get(attr)))
            self.implied.append(len(self.history) - 1)
            self.scenario = apply_changes(self.scenario, [(fid, attr, v)])
        self._result = None
        return implied

    def _implications(self, fid: str) -> list[tuple[str, str, Any]]:
        fact = self.scenario.fact(fid)
        if fact is None:
            return []
        out = []
        for when, then in self.plan.implies:
            if all(t == fact.type and fact.get(a) == v for t, a, v in when):
                for t, a, v in then:
                    if t == fact.type and not fact.has(a) and (fid, a) not in self.skipped:
                        out.append((fid, a, v))
        return out

    def back(self) -> bool:
        """Revise the last answer: undo it (and what it implied); its question is asked again."""
        if not self.history:
            return False
        while True:
            i = len(self.history) - 1
            fid, attr, value, had, old = self.history.pop()
            implied = i in self.implied
            if implied:
                self.implied.remove(i)
            if attr == NAME:
                self.skipped.discard((fid, NAME))
                if had:
                    self.names[fid] = old
                else:
                    self.names.pop(fid, None)
            else:
                self.skipped.discard((fid, attr))
                self.scenario = apply_changes(self.scenario, [(fid, attr, old if had else None)])
            if not implied or not self.history:
                break
        self._result = None
        return True

    # ---- names ---------------------------------------------------------------------------------
    def default_name(self, fact: Fact) -> str:
        """A readable name for an entity the interview did not name, in the interview's language:
        from its kind where known ("the photograph"; in ru/kk the kind's title)."""
        kind = fact.get("kind")
        if fact.type == "work" and isinstance(kind, str):
            if self.lang == "en":
                return "the " + kind.replace("_", " ")
            t = self.rb.kb.types.get("work")
            a = t.attributes.get("kind") if t else None
            title = pick(a.value_titles.get(kind, {}), self.lang) if a is not None else ""
            return title.lower() if title else _m("default-work", self.lang)
        if fact.type == "party":
            key = {"legal_entity": "default-company", "entrepreneur": "default-entrepreneur"}.get(str(kind),
                                                                                                 "default-user")
            return _m(key, self.lang)
        default = {"person": "default-author", "use": "default-use", "work": "default-work"}.get(fact.type)
        return _m(default, self.lang) if default else str(fact.get("key"))

    def named_scenario(self) -> Scenario:
        """The case with the names given (or readable defaults) as the entities' keys, every
        reference following; unchanged for a case that did not start from the skeleton."""
        if not self.naming:
            return self.scenario
        kb = self.rb.kb
        new_key: dict[str, str] = {}
        used: dict[str, set[str]] = {}
        for f in self.scenario.facts:
            if f.type == CASE_TYPE:
                continue
            name = self.names.get(f.fid) or self.default_name(f)
            taken = used.setdefault(f.type, set())
            base, k = name, 2
            while name in taken:
                name, k = f"{base} {k}", k + 1
            taken.add(name)
            new_key[f.fid] = name
        facts = []
        for f in self.scenario.facts:
            attrs = dict(f.attrs)
            if f.fid in new_key:
                attrs["key"] = new_key[f.fid]
            t = kb.types.get(f.type)
            for a_name, v in list(attrs.items()):
                a = t.attributes.get(a_name) if t else None
                if a is not None and a.type == "ref" and a.to and f"{a.to}:{v}" in new_key:
                    attrs[a_name] = new_key[f"{a.to}:{v}"]
            fid = f"{f.type}:{attrs['key']}"
            facts.append(Fact(fid, f.type, tuple(sorted(attrs.items()))))
        return replace(self.scenario, facts=sorted(facts, key=lambda f: f.fid))

    def final_result(self) -> Result:
        """The analysis of the case as named (what the report and the saved case show)."""
        if not self.naming:
            return self.result()
        return evaluate_case(self.rb, self.named_scenario(), self.engine)

    # ---- output ------------------------------------------------------------------------------------
    def case_data(self) -> dict[str, Any]:
        """The case as answered so far, in the form of a case file (dates, perspective, facts with their names), ranges in their JSON form."""
        facts: list[dict[str, Any]] = []
        dates: dict[str, Any] = {}
        perspective = None
        from ..language.intervals import Interval

        for f in self.named_scenario().facts:
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
        """The case as answered so far as case-file YAML (what ``--save`` writes)."""
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


# ---- the interaction loop --------------------------------------------------------------------------


@dataclass(frozen=True)
class InterviewEnd:
    """How an interview ended: ``complete`` (no question left), ``done`` (the reader ended
    it early), ``quit`` (q), ``eof`` (end of input) or ``interrupt`` (Ctrl-C); ``asked``
    questions were put."""

    reason: str
    asked: int

    @property
    def message_key(self) -> str:
        """The id of the closing message for how the interview ended (complete, done, or stopped)."""
        return {"complete": "complete", "done": "done"}.get(self.reason, "stopped")


DONE_WORDS = ("done", ".", "готово")
QUIT_WORDS = ("q", "quit", "exit", "выход")
WHY_WORDS = ("?", "why", "почему")
BACK_WORDS = ("back", "назад")


class Interview:
    """The loop of ``kzcopyright consult``: ask, check, record, show the effect; end on
    ``done``/``.``, ``q``, end of input (EOFError from ``read``) or an interrupt
    (KeyboardInterrupt). ``read(prompt)`` returns the typed line; ``say(line)`` shows a line;
    ``replay`` (an answers file) answers instead of ``read``, and a question it does not name
    is answered "unknown". The session keeps every answer given before the end, whatever it
    was; :meth:`finish` shows the analysis (through ``say``) and returns it."""

    def __init__(self, session: Consultation, read: Any, say: Any, lang: str = "en",
                 replay: dict[str, Any] | None = None, width: int = 80):
        self.session = session
        self.read = read
        self.say = say
        self.lang = lang
        self.replay = replay
        self.width = width
        self.asked = 0  # questions put
        self.answered = 0  # questions answered (an interrupted question does not count)

    def _wrap(self, text: str, indent: str = "  ", more: str = "      ") -> None:
        import textwrap

        for line in textwrap.wrap(text, self.width, initial_indent=indent, subsequent_indent=more,
                                  break_on_hyphens=False) or [indent]:
            self.say(line)

    def _show(self, q: Question) -> None:
        lang = self.lang
        self.say("")
        if q.type == "name":
            self.say(_m("name-question", lang, n=self.asked, id=q.id))
        else:
            self.say(_m("question", lang, n=self.asked, id=q.id, k=q.settles, s="s" if q.settles != 1 else ""))
        self._wrap(q.prompt(lang))
        if q.why:
            shown = "; ".join(q.why[:3])
            if len(q.why) > 3:
                shown += " " + _m("decides-more", lang, n=len(q.why) - 3)
            self._wrap(_m("decides", lang, list=shown))
        if q.choices and q.type != "bool":
            for i, (v, titles) in enumerate(q.choices, 1):
                self.say(f"    {i}. {v} — {pick(titles, lang) or v}")

    def _why(self, q: Question) -> None:
        self._wrap(_m("why-head", self.lang) + ":")
        for w in q.reasons or q.why:
            self._wrap(f"- {w}", "    ", "      ")
        help_text = pick(q.help, self.lang)
        if help_text:
            self._wrap(_m("help", self.lang, text=help_text))

    def _hint(self, q: Question) -> str:
        kind = {"bool": "kind-bool", "list": "kind-list", "enum": "kind-enum", "name": "kind-name"}.get(q.type)
        return _m("hint", self.lang, kind=_m(kind, self.lang) if kind else q.type)

    def run(self) -> InterviewEnd:
        """Ask until the interview ends; the answers stay in the session however it ends."""
        try:
            return self._loop()
        except EOFError:
            return InterviewEnd("eof", self.answered)
        except KeyboardInterrupt:
            return InterviewEnd("interrupt", self.answered)

    def _loop(self) -> InterviewEnd:
        s, lang = self.session, self.lang
        while True:
            q = s.next_question()
            if q is None:
                return InterviewEnd("complete", self.answered)
            self.asked += 1
            self._show(q)
            while True:
                if self.replay is not None:
                    raw: Any = self.replay.get(q.id, "unknown")
                    self.say(f"  > {', '.join(map(str, raw)) if isinstance(raw, list) else raw}")
                else:
                    raw = self.read(f"  {self._hint(q)}")
                word = str(raw).strip().lower() if isinstance(raw, str) else ""
                if word in DONE_WORDS:
                    return InterviewEnd("done", self.answered)
                if word in QUIT_WORDS:
                    return InterviewEnd("quit", self.answered)
                if word in WHY_WORDS:
                    self._why(q)
                    continue
                if word in BACK_WORDS:
                    if s.back():
                        self.asked = max(0, self.asked - 2)
                        self.answered = max(0, self.answered - 1)
                        self.say("  " + _m("withdrawn", lang))
                    else:
                        self.say("  " + _m("nothing-back", lang))
                    break
                try:
                    implied = s.answer(raw, q)
                except InputError as exc:
                    d = exc.diagnostics[0]
                    self.say("  " + d.message + (f" ({d.hint})" if d.hint else ""))
                    if self.replay is not None:
                        s.answer("unknown", q)
                        self.answered += 1
                        break
                    continue
                self.answered += 1
                for fid, attr, v in implied:
                    self.say("  " + _m("implied", lang, id=f"{fid}.{attr}", value=v))
                break
            if q.type != "name":
                r = s.result()
                self.say("  " + _m("now", lang, h=len(r.by_status("holds")), u=len(r.by_status("undetermined"))))

    def end_message(self, end: InterviewEnd) -> str:
        """The closing line for ``end`` in the interview's language: how many questions were answered and why it stopped."""
        n = end.asked
        why = {"eof": "why-eof", "interrupt": "why-interrupt", "quit": "why-quit"}.get(end.reason, "why-quit")
        return _m(end.message_key, self.lang, n=n, s="s" if n != 1 else "", why=_m(why, self.lang))


_ = Fact
