"""Scenarios (cases): the facts of one case, checked against the vocabulary.

A scenario file (YAML or JSON) holds one case, or several under ``cases:``::

    id: marketplace-photos
    title: Photographs copied onto a marketplace without permission
    dates: {act_date: 2021-06-15, learned_date: 2021-07-01}   # attributes of the 'case' fact
    facts:
      - person: {key: photographer}
      - work: {key: photos, kind: photograph, author: photographer}
    expect: {...}            # only in test cases; see docs/maintainers.md

A fact the case does not state is *unknown*, not false; ``null`` says so explicitly. A date
may be given as a year (``2013``) or a month (``2016-07``), and a date or a number as a range
(``{from: 2018-09-01, to: 2018-11-30}``, either end may be ``null``): the value is then known
only to lie in it (an :class:`~.intervals.Interval`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostics, Location, suggest
from .intervals import Interval, parse_partial_date
from .kb import CASE_TYPE, KB
from .schema import Checker
from .values import NUMERIC_UNITS, canonical_value, parse_date, value_matches_type
from .yamlio import LDict, LList, load_file, load_text

__all__ = ["Fact", "Scenario", "load_scenarios", "scenario_from_data", "SCENARIO_KEYS"]

SCENARIO_KEYS = ["id", "title", "description", "perspective", "dates", "facts", "expect", "tags", "source"]


@dataclass(frozen=True)
class Fact:
    """An input or derived fact. ``attrs`` holds known attributes only (unknown = absent)."""

    fid: str
    type: str
    attrs: tuple[tuple[str, Any], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_d", dict(self.attrs))

    def get(self, name: str, default: Any = None) -> Any:
        """The value of attribute ``name``, or ``default`` where the case does not give it."""
        return self._d.get(name, default)  # type: ignore[attr-defined]

    def has(self, name: str) -> bool:
        """Whether the case gives attribute ``name`` (an unknown attribute is absent, never false)."""
        return name in self._d  # type: ignore[attr-defined]

    @property
    def as_dict(self) -> dict[str, Any]:
        """The attributes as a new dict."""
        return dict(self.attrs)


@dataclass
class Scenario:
    """One loaded case: its id and title, the facts (the case fact with its dates and perspective first), where it was read, its description and, in a test file, its expectations."""

    id: str
    title: str
    facts: list[Fact]
    path: str = ""
    loc: Location = field(default_factory=lambda: Location("-"))
    description: str = ""
    expect: Any = None
    raw: Any = None

    def fact(self, fid: str) -> Fact | None:
        """The fact with id ``fid`` (``type:key``), or None."""
        for f in self.facts:
            if f.fid == fid:
                return f
        return None


def partial_value(vtype: str, value: Any) -> tuple[Any, str]:
    """A date (``YYYY-MM-DD``, a year, a month) or a range ``{from, to}`` of dates or numbers
    → (the value or Interval, "" or what was expected)."""
    from .intervals import PARTIAL_DATE

    expected = ("a date YYYY-MM-DD, a year (2013), a month (2016-07) or a range {from: …, to: …}"
                if vtype == "date" else "a number or a range {from: …, to: …}")
    if isinstance(value, dict):
        if set(value) - {"from", "to"} or not value:
            return value, expected
        ends: list[Any] = []
        for k in ("from", "to"):
            v = value.get(k)
            if v is None:
                ends.append(None)
                continue
            if vtype == "date":
                d = parse_partial_date(v)
                if d is None:
                    d = parse_date(v) if isinstance(v, str) else v
                    if value_matches_type("date", d):
                        return value, expected
                    ends.append(d)
                else:
                    ends.append(d.lo if k == "from" else d.hi)
            else:
                if value_matches_type(vtype, v):
                    return value, expected
                ends.append(canonical_value(vtype, v))
        lo, hi = ends
        if lo is None and hi is None:
            return value, expected + " with at least one end"
        if lo is not None and hi is not None and lo > hi:
            return value, expected + " whose 'from' is not after its 'to'"
        iv = Interval(lo, hi)
        return (iv.lo if iv.is_point else iv), ""
    if vtype != "date":
        return value, expected
    if isinstance(value, (int, str)) and not isinstance(value, bool) and PARTIAL_DATE.match(str(value).strip()):
        d = parse_partial_date(value)
        return (d, "") if d is not None else (value, expected)
    value = parse_date(value)
    problem = value_matches_type("date", value)
    return value, (expected if problem else "")


def _as_plain(value: Any) -> Any:
    if isinstance(value, LList):
        return [_as_plain(v) for v in value]
    if isinstance(value, LDict):
        return {k: _as_plain(v) for k, v in value.items()}
    return value


def scenario_from_data(data: Any, kb: KB, diags: Diagnostics, path: str, default_id: str) -> Scenario | None:
    """Check and load one case from parsed YAML/JSON ``data`` against the vocabulary of ``kb``; problems go to ``diags`` with their location, and None is returned where the case cannot be used."""
    ck = Checker(diags, path)
    data = ck.mapping(data, "a case", default_id)
    if data is None:
        return None
    sid = data.get("id", default_id)
    if not isinstance(sid, (str, int)) or isinstance(sid, bool):
        diags.error(data.val_loc("id"), "bad-type", "case id must be text", default_id)
        sid = default_id
    sid = str(sid)
    ck.keys(data, SCENARIO_KEYS, sid, what="case")
    facts: list[Fact] = []
    case_attrs: dict[str, Any] = {"key": "case"}
    case_t = kb.types.get(CASE_TYPE)
    if "dates" in data:
        dates = ck.mapping(data["dates"], "dates", sid, data.val_loc("dates")) or LDict()
        for name, value in dates.items():
            a = case_t.attributes.get(str(name)) if case_t else None
            if a is None or a.type != "date":
                known = [x.name for x in case_t.attributes.values() if x.type == "date"] if case_t else []
                diags.error(dates.key_loc(name), "unknown-date", f"'{name}' is not a date of the case", sid,
                            suggest(str(name), known) or "dates: " + ", ".join(known))
                continue
            if value is None:
                continue
            value, problem = partial_value("date", _as_plain(value))
            if problem:
                diags.error(dates.val_loc(name), "bad-date", f"{name} must be {problem}, got {_as_plain(value)!r}", sid)
                continue
            case_attrs[str(name)] = value
    if "perspective" in data and case_t is not None:
        a = case_t.attributes.get("perspective")
        v = data["perspective"]
        if a is None:
            diags.error(data.key_loc("perspective"), "unknown-attribute", "the vocabulary has no case perspective", sid)
        elif v is not None and str(v) not in a.values:
            diags.error(data.val_loc("perspective"), "unknown-value", f"'{v}' is not a perspective", sid,
                        suggest(str(v), a.values) or "values: " + ", ".join(a.values))
        elif v is not None:
            case_attrs["perspective"] = str(v)
    keys: dict[str, dict[str, Location]] = {}
    raw_facts: list[tuple[str, LDict, Location]] = []
    seq = ck.sequence(data["facts"], "facts", sid, data.val_loc("facts")) if "facts" in data else LList()
    if seq is not None and not hasattr(seq, "item_locs"):
        seq.item_locs = []
        seq.loc = data.loc
    for i, item in enumerate(seq or []):
        iloc = seq.item_loc(i) if seq is not None else data.loc
        if not isinstance(item, LDict) or len(item) != 1:
            diags.error(iloc, "bad-fact", "a fact is a mapping {type: {key: ..., attribute: value}}", sid)
            continue
        (tname, body), = item.items()
        tname = str(tname)
        t = kb.types.get(tname)
        if t is None or t.kind != "entity" or tname == CASE_TYPE:
            entities = [x.name for x in kb.types.values() if x.kind == "entity" and x.name != CASE_TYPE]
            why = "is a conclusion, derived by the rules" if t is not None and t.kind != "entity" else "is not a fact type"
            if tname == CASE_TYPE:
                why = "is given by the case's 'dates'"
            diags.error(item.key_loc(tname), "unknown-type", f"'{tname}' {why}", sid, suggest(tname, entities))
            continue
        if not isinstance(body, LDict):
            diags.error(item.val_loc(tname), "bad-fact", f"the attributes of '{tname}' must be a mapping", sid)
            continue
        key = body.get("key")
        if not isinstance(key, (str, int)) or isinstance(key, bool) or str(key) == "":
            diags.error(body.loc, "missing-key", f"'{tname}' needs a 'key' naming it", sid)
            continue
        key = str(key)
        if key in keys.setdefault(tname, {}):
            diags.error(body.val_loc("key"), "duplicate-fact", f"{tname} '{key}' is stated twice", sid,
                        related=[keys[tname][key]])
            continue
        keys[tname][key] = body.val_loc("key")
        raw_facts.append((tname, body, iloc))
    for tname, body, _iloc in raw_facts:
        t = kb.types[tname]
        attrs: dict[str, Any] = {}
        reported: set[str] = set()
        for aname, value in body.items():
            aname = str(aname)
            if aname == "key":
                attrs["key"] = str(value)
                continue
            a = t.attributes.get(aname)
            if a is None:
                diags.error(body.key_loc(aname), "unknown-attribute", f"'{tname}' has no attribute '{aname}'", sid,
                            suggest(aname, t.attributes))
                continue
            if value is None:
                continue  # explicitly unknown
            reported.add(aname)  # from here on, a problem with it is reported below
            vloc = body.val_loc(aname)
            if a.type == "date" or (a.type in NUMERIC_UNITS and isinstance(value, LDict)):
                value, problem = partial_value(a.type, _as_plain(value))
                if problem:
                    diags.error(vloc, "type-mismatch", f"'{tname}.{aname}' must be {problem}, got {_as_plain(value)!r}", sid)
                    continue
                attrs[aname] = value
                continue
            problem = value_matches_type(a.type, _as_plain(value))
            if problem:
                diags.error(vloc, "type-mismatch", f"'{tname}.{aname}' must be {problem}, got {_as_plain(value)!r}", sid)
                continue
            if a.type == "enum" and str(value) not in a.values:
                diags.error(vloc, "unknown-value", f"'{value}' is not a value of '{tname}.{aname}'", sid,
                            suggest(str(value), a.values) or "values: " + ", ".join(a.values))
                continue
            if a.type == "list":
                bad = [v for v in value if not isinstance(v, str) or v not in a.values]
                if bad:
                    diags.error(vloc, "unknown-value", f"'{bad[0]}' is not a value of '{tname}.{aname}'", sid,
                                suggest(str(bad[0]), a.values) or "values: " + ", ".join(a.values))
                    continue
                value = tuple(sorted(set(value)))
            elif a.type == "ref":
                if a.to and str(value) not in keys.get(a.to, {}):
                    diags.error(vloc, "unknown-reference", f"no {a.to} with key '{value}' in this case", sid,
                                suggest(str(value), keys.get(a.to, {})))
                    continue
                value = str(value)
            else:
                value = canonical_value(a.type, value)
            attrs[aname] = value
        missing = [a.name for a in t.attributes.values()
                   if a.required and a.name not in attrs and a.name not in reported]
        for m in missing:
            diags.error(body.loc, "missing-attribute", f"'{tname}' '{attrs.get('key')}' needs '{m}' "
                        f"({t.attributes[m].type} to {t.attributes[m].to})", sid)
        facts.append(Fact(f"{tname}:{attrs['key']}", tname, tuple(sorted(attrs.items()))))
    facts.append(Fact("case:case", CASE_TYPE, tuple(sorted(case_attrs.items()))))
    facts.sort(key=lambda f: f.fid)
    if kb.constraints and not diags.errors:
        from .constraints import apply_constraints

        for cid, what in apply_constraints(kb, facts).violated:
            c = next(x for x in kb.constraints if x.id == cid)
            diags.error(data.loc, "constraint-violated", f"the case contradicts kb/constraints.yaml ({cid}): "
                        f"{c.text()} ({what})", sid, "check the dates; a year or a range may be all you know")
    title = data.get("title", sid)
    return Scenario(
        id=sid,
        title=str(title),
        facts=facts,
        path=path,
        loc=data.loc,
        description=str(data.get("description", "")),
        expect=data.get("expect"),
        raw=data,
    )


def load_scenarios(path: Path, kb: KB, diags: Diagnostics, shown: str | None = None,
                   text: str | None = None) -> list[Scenario]:
    """Load one file holding a case or ``cases: [...]``."""
    name = shown or str(path)
    data = load_text(text, name, diags) if text is not None else load_file(path, diags, name)
    if data is None:
        if not diags.errors:
            diags.error(Location(name, 1, 1), "empty-file", "the file is empty")
        return []
    if isinstance(data, LDict) and "cases" in data:
        Checker(diags, name).keys(data, ["cases", "article", "topic", "description"], "-", what="case file")
        seq = data["cases"]
        if not isinstance(seq, LList):
            diags.error(data.val_loc("cases"), "bad-shape", "cases must be a list", "-")
            return []
        out = []
        for i, item in enumerate(seq):
            s = scenario_from_data(item, kb, diags, name, f"{Path(name).stem}#{i + 1}")
            if s is not None:
                out.append(s)
        ids: dict[str, Location] = {}
        for s in out:
            if s.id in ids:
                diags.error(s.loc, "duplicate-case", f"case id '{s.id}' is used twice in this file", s.id,
                            related=[ids[s.id]])
            ids[s.id] = s.loc
        return out
    s = scenario_from_data(data, kb, diags, name, Path(name).stem)
    return [s] if s is not None else []

