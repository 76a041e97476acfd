"""The knowledge base: acts, articles, vocabulary of fact types, dated parameters.

Layout of a kb directory (every file YAML)::

    meta.yaml            name, law encoded up to <date>
    acts.yaml            acts: {act-id: {title, number, date, in_force_from, source}}
    articles/*.yaml      act: <act-id>, articles: {<number>: {title, parts, source, ...}}
    vocabulary/*.yaml    types: {<type>: {kind, title, attributes: {...}}}
    parameters/*.yaml    parameters: {<name>: {type, title, values: [{from, value, source}]}}
    constraints.yaml     constraints: {<id>: {title, for, left, op, right}}  (optional; see constraints.py)
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostics, Location, suggest
from .schema import Checker
from .values import NUMERIC_UNITS, SCALAR_TYPES, value_matches_type
from .yamlio import LDict, LList, load_file

__all__ = [
    "KB",
    "Act",
    "Article",
    "Part",
    "Attribute",
    "FactType",
    "Parameter",
    "ParamValue",
    "load_kb",
    "RESERVED_NAMES",
    "FACT_KINDS",
    "CASE_TYPE",
    "MAX_ATTRIBUTES",
]

# names durable_rules reserves or the compiler owns (see docs/rule-language.md)
RESERVED_NAMES = {"id", "sid", "t", "m", "f", "fid", "n", "r"}
FACT_KINDS = ("entity", "conclusion", "liability", "remedy", "action", "intermediate")
CASE_TYPE = "case"


@dataclass(frozen=True)
class Act:
    """One legal act of kb/acts.yaml: its titles, number, date, time in force, official source and short names."""

    id: str
    title: dict[str, str]
    number: str
    date: _dt.date | None
    in_force_from: _dt.date | None
    in_force_to: _dt.date | None
    source: str
    loc: Location
    short: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    """One part (paragraph) of an article: its number, its verbatim text per language, and its items."""

    number: str
    text: dict[str, str]
    items: tuple[str, ...]


@dataclass(frozen=True)
class Article:
    """One stored article of an act (kb/articles): titles, verbatim text per language with its sources, parts, amendments, whether the rules encode it, and where it was read."""

    act: str
    number: str
    title: dict[str, str]
    source: str
    last_checked: _dt.date | None
    in_force_from: _dt.date | None
    in_force_to: _dt.date | None
    text: dict[str, str]
    parts: dict[str, Part]
    amended_by: tuple[str, ...]
    encoded: bool
    note: dict[str, str]
    loc: Location
    source_kk: str = ""  # where the Kazakh text (text["kk"]) was read, when it is given

    @property
    def ref(self) -> str:
        """The article's citation key, ``act/number`` (what rules cite)."""
        return f"{self.act}/{self.number}"


@dataclass(frozen=True)
class Attribute:
    """One attribute of a fact type in the vocabulary: its value type, titles, the question the interview asks for it, help, allowed values with their titles, the type a reference points to, and whether it is required."""

    name: str
    type: str
    title: dict[str, str]
    question: dict[str, str]
    help: dict[str, str]
    values: tuple[str, ...]
    value_titles: dict[str, dict[str, str]]
    to: str | None
    of: str | None
    required: bool
    loc: Location
    to_loc: Location | None = None

    @property
    def is_entity_ref(self) -> bool:
        """Whether the attribute refers to another fact (type ``ref``)."""
        return self.type == "ref"


@dataclass(frozen=True)
class FactType:
    """A fact type of the vocabulary: an entity the case states or a conclusion the rules derive (``kind``), with its attributes, the types it contradicts and the attributes that make up its key."""

    name: str
    kind: str
    title: dict[str, str]
    attributes: dict[str, Attribute]
    contradicts: tuple[tuple[str, tuple[str, ...]], ...]
    key_from: tuple[str, ...]
    loc: Location

    @property
    def derived(self) -> bool:
        """Whether facts of this type are derived by rules (every kind but ``entity``)."""
        return self.kind != "entity"


@dataclass(frozen=True)
class ParamValue:
    """One dated value of a parameter: in force from ``start`` (to ``end``, or until the next value), with its source."""

    start: _dt.date
    end: _dt.date | None
    value: Any
    source: str
    note: str
    loc: Location


@dataclass(frozen=True)
class Parameter:
    """A dated parameter of kb/parameters (the MCI, a threshold, a limitation period): its type, title and values over time."""

    name: str
    type: str
    title: dict[str, str]
    values: tuple[ParamValue, ...]
    loc: Location

    def at(self, day: _dt.date) -> ParamValue | None:
        """The value in force on ``day``: the latest start on or before it, within its end."""
        found = None
        for pv in self.values:
            if pv.start <= day and (pv.end is None or day <= pv.end):
                found = pv
        return found

    def effective_end(self, i: int) -> _dt.date | None:
        """The last day value ``i`` is in force: its ``to``, or the day before the next value."""
        pv = self.values[i]
        nxt = self.values[i + 1].start - _dt.timedelta(days=1) if i + 1 < len(self.values) else None
        if pv.end is None:
            return nxt
        return pv.end if nxt is None else min(pv.end, nxt)

    def values_between(self, start: _dt.date | None, end: _dt.date | None) -> list[ParamValue]:
        """The values in force at some day between ``start`` and ``end`` (either open), in date order."""
        out = []
        for i, pv in enumerate(self.values):
            last = self.effective_end(i)
            if end is not None and pv.start > end:
                continue
            if start is not None and last is not None and last < start:
                continue
            out.append(pv)
        return out

    def covers(self, pv: ParamValue, start: _dt.date | None, end: _dt.date | None) -> bool:
        """Whether ``pv`` is in force over the whole interval start..end (None: open)."""
        last = self.effective_end(self.values.index(pv))
        if pv.start > (start or _dt.date.min):
            return False
        if end is None:
            return last is None
        return last is None or last >= end


@dataclass
class KB:
    """The loaded knowledge base: acts, articles, the vocabulary of fact types, dated parameters, the world's constraints, the files read, and the date the law is encoded up to."""

    root: Path
    name: str = "kzcopyright"
    encoded_up_to: _dt.date | None = None
    acts: dict[str, Act] = field(default_factory=dict)
    articles: dict[str, Article] = field(default_factory=dict)
    types: dict[str, FactType] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    constraints: tuple[Any, ...] = ()  # constraints.Constraint: what the world imposes on dates and numbers

    def article_for(self, citation: str) -> Article | None:
        """The stored article a citation (``act/number/part…``) points to, or None."""
        parts = citation.split("/")
        if len(parts) < 2:
            return None
        return self.articles.get(f"{parts[0]}/{parts[1]}")

    def check_citation(self, citation: str) -> str:
        """Return "" when ``citation`` (act/article[/part[/item]]) exists, else the problem."""
        bits = citation.split("/")
        if len(bits) < 2 or len(bits) > 4 or not all(bits):
            return f"citation '{citation}' must read act/article[/part[/item]]"
        act, art = bits[0], bits[1]
        if act not in self.acts:
            return f"unknown act '{act}'" + _hint(act, self.acts)
        key = f"{act}/{art}"
        article = self.articles.get(key)
        if article is None:
            known = [k.split("/", 1)[1] for k in self.articles if k.startswith(act + "/")]
            return f"unknown article '{art}' of {act}" + _hint(art, known)
        if len(bits) >= 3 and article.parts:
            part = article.parts.get(bits[2])
            if part is None:
                return f"unknown part '{bits[2]}' of {key}" + _hint(bits[2], article.parts)
            if len(bits) == 4 and part.items and bits[3] not in part.items:
                return f"unknown item '{bits[3]}' of {key}/{bits[2]}" + _hint(bits[3], part.items)
        return ""


def _hint(word: str, choices: Any) -> str:
    h = suggest(word, choices)
    return f" ({h})" if h else ""


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def load_kb(root: Path, diags: Diagnostics, display_root: Path | None = None) -> KB:
    """Load every kb file under ``root``; problems go to ``diags``."""
    kb = KB(root=root)
    shown_root = display_root or root.parent

    def shown(p: Path) -> str:
        try:
            return str(p.relative_to(shown_root))
        except ValueError:
            return str(p)

    if not root.is_dir():
        diags.error(Location(str(root)), "no-such-dir", "knowledge base directory not found")
        return kb
    meta_path = root / "meta.yaml"
    acts_path = root / "acts.yaml"
    if not (os.path.lexists(meta_path) or os.path.lexists(acts_path)):
        diags.error(Location(str(root)), "not-a-kb", "no meta.yaml or acts.yaml at the top of this folder: "
                    "it is not a knowledge base")
        return kb
    data = load_file(meta_path, diags, shown(meta_path))
    _add_file(kb, meta_path)
    if isinstance(data, LDict):
        ck = Checker(diags, shown(meta_path))
        ck.keys(data, ["name", "encoded_up_to", "description"], "meta", required=["encoded_up_to"])
        kb.name = ck.string(data, "name", "meta") or kb.name
        kb.encoded_up_to = ck.date(data, "encoded_up_to", "meta")
    _add_file(kb, acts_path)
    data = load_file(acts_path, diags, shown(acts_path))
    if isinstance(data, LDict):
        _load_acts(kb, data, Checker(diags, shown(acts_path)))
    for sub, loader in (
        ("articles", _load_articles),
        ("vocabulary", _load_vocabulary),
        ("parameters", _load_parameters),
    ):
        folder = root / sub
        paths = _kb_files(folder, diags, shown) if folder.is_dir() else []
        for path in paths:
            kb.files.append(path)
            data = load_file(path, diags, shown(path))
            if data is None:
                continue
            ck = Checker(diags, shown(path))
            if ck.mapping(data, f"{sub} file", path.stem) is not None:
                loader(kb, data, ck)
    _check_vocabulary(kb, diags)
    cpath = root / "constraints.yaml"
    if os.path.lexists(cpath):
        from .constraints import load_constraints

        _add_file(kb, cpath)
        data = load_file(cpath, diags, shown(cpath))
        if data is not None:
            ck = Checker(diags, shown(cpath))
            if ck.mapping(data, "constraints file", "constraints") is not None:
                kb.constraints = tuple(load_constraints(kb, data, ck))
    return kb


def _add_file(kb: KB, path: Path) -> None:
    """Only regular files go into the rule base's fingerprint (a FIFO would block its read)."""
    if path.is_file():
        kb.files.append(path)


def _kb_files(folder: Path, diags: Diagnostics, shown: Any) -> list[Path]:
    """The *.yaml files under ``folder`` (a bounded walk); special files are reported."""
    from ..fileio import WalkTooLarge, find_files

    try:
        found, skipped = find_files(folder, (".yaml",))
    except WalkTooLarge as exc:
        diags.error(Location(shown(folder)), "too-many-files", f"{exc}: is this the kb folder?")
        return []
    for path, why in skipped:
        diags.error(Location(shown(path)), "not-a-file", f"skipped: {why}")
    return found


def _load_acts(kb: KB, data: LDict, ck: Checker) -> None:
    ck.keys(data, ["acts"], "acts", required=["acts"])
    acts = ck.mapping(data.get("acts"), "acts", "acts", data.loc)
    if acts is None:
        return
    for act_id, spec in acts.items():
        subject = str(act_id)
        spec = ck.mapping(spec, f"act {act_id}", subject, acts.val_loc(act_id))
        if spec is None:
            continue
        ck.keys(spec, ["title", "number", "date", "in_force_from", "in_force_to", "source", "short"],
                subject, required=["title", "source"])
        kb.acts[str(act_id)] = Act(
            id=str(act_id),
            title=ck.text(spec, "title", subject, required=True),
            number=ck.string(spec, "number", subject) or "",
            date=ck.date(spec, "date", subject),
            in_force_from=ck.date(spec, "in_force_from", subject),
            in_force_to=ck.date(spec, "in_force_to", subject),
            source=ck.string(spec, "source", subject) or "",
            loc=acts.key_loc(act_id),
            short=ck.text(spec, "short", subject),
        )


def _load_articles(kb: KB, data: LDict, ck: Checker) -> None:
    ck.keys(data, ["act", "articles"], "articles", required=["act", "articles"])
    act = ck.string(data, "act", "articles")
    if act is None:
        return
    if act not in kb.acts:
        ck.diags.error(data.val_loc("act"), "unknown-act", f"unknown act '{act}'", "articles", suggest(act, kb.acts))
        return
    arts = ck.mapping(data.get("articles"), "articles", act, data.loc)
    if arts is None:
        return
    for number, spec in arts.items():
        subject = f"{act}/{number}"
        spec = ck.mapping(spec, f"article {number}", subject, arts.val_loc(number))
        if spec is None:
            continue
        ck.keys(
            spec,
            ["title", "source", "source_kk", "last_checked", "in_force_from", "in_force_to", "text", "parts",
             "amended_by", "encoded", "note"],
            subject,
            required=["title", "source"],
        )
        parts: dict[str, Part] = {}
        if "parts" in spec:
            pspec = ck.mapping(spec["parts"], "parts", subject, spec.val_loc("parts"))
            for pnum, p in (pspec or {}).items():
                pd = ck.mapping(p, f"part {pnum}", subject, pspec.val_loc(pnum) if pspec else None)
                if pd is None:
                    continue
                ck.keys(pd, ["text", "items"], f"{subject}/{pnum}")
                items: tuple[str, ...] = ()
                if "items" in pd:
                    seq = ck.sequence(pd["items"], "items", subject, pd.val_loc("items"))
                    items = tuple(str(i) for i in (seq or []))
                parts[str(pnum)] = Part(str(pnum), ck.text(pd, "text", f"{subject}/{pnum}"), items)
        amended: tuple[str, ...] = ()
        if "amended_by" in spec:
            seq = ck.sequence(spec["amended_by"], "amended_by", subject, spec.val_loc("amended_by"))
            amended = tuple(str(s) for s in (seq or []))
        key = f"{act}/{number}"
        if key in kb.articles:
            ck.diags.error(arts.key_loc(number), "duplicate-article", f"article {key} is defined twice",
                           subject, related=[kb.articles[key].loc])
            continue
        kb.articles[key] = Article(
            act=act,
            number=str(number),
            title=ck.text(spec, "title", subject, required=True),
            source=ck.string(spec, "source", subject) or "",
            last_checked=ck.date(spec, "last_checked", subject),
            in_force_from=ck.date(spec, "in_force_from", subject),
            in_force_to=ck.date(spec, "in_force_to", subject),
            text=ck.text(spec, "text", subject),
            parts=parts,
            amended_by=amended,
            encoded=ck.boolean(spec, "encoded", subject, default=False),
            note=ck.text(spec, "note", subject),
            loc=arts.key_loc(number),
            source_kk=ck.string(spec, "source_kk", subject) or "",
        )


_ATTR_KEYS = ["type", "title", "question", "help", "values", "to", "of", "required"]


def _load_vocabulary(kb: KB, data: LDict, ck: Checker) -> None:
    ck.keys(data, ["types"], "vocabulary", required=["types"])
    types = ck.mapping(data.get("types"), "types", "vocabulary", data.loc)
    if types is None:
        return
    for tname, spec in types.items():
        subject = str(tname)
        spec = ck.mapping(spec, f"type {tname}", subject, types.val_loc(tname))
        if spec is None:
            continue
        ck.keys(spec, ["kind", "title", "attributes", "contradicts", "key_from", "description"], subject,
                required=["kind", "title"])
        kind = ck.string(spec, "kind", subject) or "entity"
        if kind not in FACT_KINDS:
            ck.diags.error(spec.val_loc("kind"), "bad-kind", f"kind '{kind}' is not one of {', '.join(FACT_KINDS)}",
                           subject, suggest(kind, FACT_KINDS))
        if str(tname) in RESERVED_NAMES or str(tname) in ("not", "any", "all") or str(tname).startswith("$"):
            ck.diags.error(types.key_loc(tname), "reserved-name", f"type name '{tname}' is reserved", subject)
        attrs: dict[str, Attribute] = {}
        aspec = spec.get("attributes", LDict())
        if not isinstance(aspec, LDict):
            ck.diags.error(spec.val_loc("attributes"), "bad-shape", "attributes must be a mapping", subject)
            aspec = LDict()
        for aname, a in aspec.items():
            asub = f"{tname}.{aname}"
            if str(aname) in RESERVED_NAMES or str(aname).startswith("$") or str(aname) in ("key", "as"):
                ck.diags.error(aspec.key_loc(aname), "reserved-name",
                               f"attribute name '{aname}' is reserved (durable_rules or the compiler use it)", asub)
                continue
            if isinstance(a, str):
                a_d = LDict({"type": a})
                a_d.loc = aspec.val_loc(aname)
                a_d.key_locs = {"type": a_d.loc}
                a_d.val_locs = {"type": a_d.loc}
                a = a_d
            ad = ck.mapping(a, f"attribute {aname}", asub, aspec.val_loc(aname))
            if ad is None:
                continue
            ck.keys(ad, _ATTR_KEYS, asub, required=["type"])
            atype = ck.string(ad, "type", asub) or "string"
            if atype not in SCALAR_TYPES:
                ck.diags.error(ad.val_loc("type"), "bad-type-name", f"unknown value type '{atype}'", asub,
                               suggest(atype, SCALAR_TYPES))
            values: list[str] = []
            titles: dict[str, dict[str, str]] = {}
            if "values" in ad:
                vs = ad["values"]
                if isinstance(vs, LList):
                    values = [str(v) for v in vs]
                elif isinstance(vs, LDict):
                    for v, t in vs.items():
                        values.append(str(v))
                        if isinstance(t, str):
                            titles[str(v)] = {"en": t}
                        elif isinstance(t, LDict):
                            ck.keys(t, ["en", "ru", "kk"], asub, what=f"the title of '{v}'")
                            titles[str(v)] = {str(k): str(x) for k, x in t.items()}
                else:
                    ck.diags.error(ad.val_loc("values"), "bad-shape", "values must be a list or mapping", asub)
            if atype == "enum" and not values:
                ck.diags.error(ad.loc, "missing-key", "an enum attribute needs 'values'", asub)
            if atype == "list" and not values:
                ck.diags.error(ad.loc, "missing-key", "a list attribute needs 'values' (its items are enums)", asub)
            to = ck.string(ad, "to", asub)
            if atype == "ref" and not to:
                ck.diags.error(ad.loc, "missing-key", "a ref attribute needs 'to' (the type it refers to)", asub)
            attrs[str(aname)] = Attribute(
                name=str(aname),
                type=atype,
                title=ck.text(ad, "title", asub),
                question=ck.text(ad, "question", asub),
                help=ck.text(ad, "help", asub),
                values=tuple(values),
                value_titles=titles,
                to=to,
                of=ck.string(ad, "of", asub),
                required=ck.boolean(ad, "required", asub, default=(atype == "ref")),
                loc=aspec.key_loc(aname),
                to_loc=ad.val_loc("to") if "to" in ad else None,
            )
        contradicts: list[tuple[str, tuple[str, ...]]] = []
        if "contradicts" in spec:
            cs = spec["contradicts"]
            if isinstance(cs, LDict):
                for other, on in cs.items():
                    if isinstance(on, LList):
                        contradicts.append((str(other), tuple(str(x) for x in on)))
                    else:
                        ck.diags.error(cs.val_loc(other), "bad-shape", "contradicts: {type: [attributes...]}", subject)
            else:
                ck.diags.error(spec.val_loc("contradicts"), "bad-shape", "contradicts: {type: [attributes...]}", subject)
        key_from: tuple[str, ...] = ()
        if "key_from" in spec and isinstance(spec["key_from"], LList):
            key_from = tuple(str(x) for x in spec["key_from"])
        if str(tname) in kb.types:
            ck.diags.error(types.key_loc(tname), "duplicate-type", f"type '{tname}' is declared twice", subject,
                           related=[kb.types[str(tname)].loc])
            continue
        kb.types[str(tname)] = FactType(
            name=str(tname),
            kind=kind,
            title=ck.text(spec, "title", subject, required=True),
            attributes=attrs,
            contradicts=tuple(contradicts),
            key_from=key_from,
            loc=types.key_loc(tname),
        )


def _load_parameters(kb: KB, data: LDict, ck: Checker) -> None:
    ck.keys(data, ["parameters"], "parameters", required=["parameters"])
    params = ck.mapping(data.get("parameters"), "parameters", "parameters", data.loc)
    if params is None:
        return
    for pname, spec in params.items():
        subject = str(pname)
        spec = ck.mapping(spec, f"parameter {pname}", subject, params.val_loc(pname))
        if spec is None:
            continue
        ck.keys(spec, ["type", "title", "values", "description"], subject, required=["type", "title", "values"])
        ptype = ck.string(spec, "type", subject) or "number"
        if ptype not in NUMERIC_UNITS and ptype not in ("bool", "date", "string"):
            ck.diags.error(spec.val_loc("type"), "bad-type-name", f"unknown parameter type '{ptype}'", subject,
                           suggest(ptype, list(NUMERIC_UNITS)))
        seq = ck.sequence(spec.get("values"), "values", subject, spec.loc)
        values: list[ParamValue] = []
        for i, v in enumerate(seq or []):
            vd = ck.mapping(v, "a parameter value", subject, seq.item_loc(i) if seq else None)
            if vd is None:
                continue
            ck.keys(vd, ["from", "to", "value", "source", "note"], subject, required=["from", "value", "source"])
            start = ck.date(vd, "from", subject)
            if start is None:
                continue
            val = vd.get("value")
            problem = value_matches_type(ptype, val)
            if problem:
                ck.diags.error(vd.val_loc("value"), "type-mismatch", f"value must be {problem}", subject)
                continue
            values.append(ParamValue(start, ck.date(vd, "to", subject), val, ck.string(vd, "source", subject) or "",
                                     ck.string(vd, "note", subject) or "", vd.loc))
        values.sort(key=lambda pv: pv.start)
        for a, b in zip(values, values[1:]):
            if a.start == b.start:
                ck.diags.error(b.loc, "overlapping-values", f"two values of '{pname}' start on {a.start}", subject,
                               related=[a.loc])
            elif a.end is not None and a.end >= b.start:
                ck.diags.error(b.loc, "overlapping-values",
                               f"value from {b.start} overlaps the one in force {a.start}..{a.end}", subject,
                               related=[a.loc])
        if str(pname) in kb.parameters:
            ck.diags.error(params.key_loc(pname), "duplicate-parameter", f"parameter '{pname}' is declared twice",
                           subject)
            continue
        kb.parameters[str(pname)] = Parameter(str(pname), ptype, ck.text(spec, "title", subject, required=True),
                                              tuple(values), params.key_loc(pname))


# durable_rules refuses a fact of more than 253 properties (its error 302); a fact carries, besides
# its declared attributes, its key and the compiler's t, m, f, sid and (rarely) _salt. The
# checker holds both engines to the same limit, so that they take the same vocabularies.
MAX_ATTRIBUTES = 247


def _check_vocabulary(kb: KB, diags: Diagnostics) -> None:
    for t in kb.types.values():
        if len(t.attributes) > MAX_ATTRIBUTES:
            diags.error(t.loc, "too-many-attributes", f"type '{t.name}' declares {len(t.attributes)} attributes; at "
                        f"most {MAX_ATTRIBUTES} (a limit of durable_rules, applied to both engines)", t.name)
        for a in t.attributes.values():
            if a.type == "ref" and a.to and a.to not in kb.types:
                diags.error(a.to_loc or a.loc, "unknown-type", f"ref attribute points to unknown type '{a.to}'",
                            f"{t.name}.{a.name}", suggest(a.to, kb.types))
        for other, on in t.contradicts:
            ot = kb.types.get(other)
            if ot is None:
                diags.error(t.loc, "unknown-type", f"contradicts unknown type '{other}'", t.name,
                            suggest(other, kb.types))
                continue
            for attr in on:
                if attr not in t.attributes or attr not in ot.attributes:
                    diags.error(t.loc, "unknown-attribute",
                                f"contradiction key '{attr}' must be an attribute of both {t.name} and {other}", t.name)
    if CASE_TYPE not in kb.types and kb.types:
        diags.error(Location(str(kb.root)), "missing-type", "the vocabulary must declare the 'case' type (the case's dates)")
