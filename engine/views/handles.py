"""Handles: the short names by which a reader points at a conclusion of a report.

Every conclusion a report shows gets a number (``[3]``) and a readable handle
(``infringement(use=listing)``, ``art198_part(part=2, use=listing)``); the types that do not hold
are numbered after them and named by their type. ``why``, ``why-not``, ``what-if --focus`` and
``graph --focus`` accept any of these, the JSON id (``infringement#b7e3a2cf86ff``) too, and a
name that matches nothing gets a "did you mean".

The numbering is a function of the result alone (the report's order), so a saved result
numbers its conclusions as the live one did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..i18n import Section, msg
from ..errors import Diagnostic, InputError, Location, suggest
from ..language.kb import KB
from ..reasoning.provenance import Status
from ..reasoning.result import Conclusion, Result

__all__ = ["Handle", "handles", "handle_of", "resolve", "Resolved", "parse_spec", "SHOWN_STATUSES", "MSG"]

SHOWN_STATUSES = (Status.HOLDS, Status.UNDETERMINED, Status.DEFEATED)

# the interface strings of this module (message id -> language -> text)
MSG = Section("handles")  # kb/messages/{en,ru,kk}.yaml, section handles


def _m(key: str, lang: str = "en", **kw: Any) -> str:
    return msg(MSG.name, key, lang, **kw)


def _err(message: str, hint: str = "") -> InputError:
    return InputError([Diagnostic(Location("<command line>"), "bad-argument", message, "-", hint)])


@dataclass(frozen=True)
class Handle:
    """A numbered entry of a report: a conclusion (``conclusion`` set) or a type that does not
    hold (``conclusion`` None)."""

    number: int
    type: str
    name: str  # TYPE(attr=value, ...) or TYPE
    conclusion: Conclusion | None

    @property
    def label(self) -> str:
        """The entry's number as the reports print it: ``[3]``."""
        return f"[{self.number}]"

    @property
    def id(self) -> str:
        """The conclusion's id (the type's name for a type that does not hold)."""
        return self.conclusion.id if self.conclusion is not None else self.type


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "+".join(str(x) for x in v)
    return str(v)


def _identity(kb: KB, c: Conclusion) -> list[str]:
    """The attributes that name a conclusion: references, then enumerations, in the
    vocabulary's order (what distinguishes part 2 from part 1, one use from another)."""
    t = kb.types.get(c.type)
    if t is None:
        return sorted(c.attributes)
    refs = [n for n, a in t.attributes.items() if a.type == "ref" and n in c.attributes]
    enums = [n for n, a in t.attributes.items() if a.type == "enum" and n in c.attributes]
    rest = [n for n in t.attributes if n in c.attributes and n not in refs and n not in enums]
    return refs + enums + rest


def _name(tname: str, c: Conclusion, names: list[str]) -> str:
    if not names:
        return tname
    return f"{tname}(" + ", ".join(f"{n}={_text(c.attributes[n])}" for n in names) + ")"


def shown(result: Result) -> list[Conclusion]:
    """The conclusions a report shows, in its order (by kind, then as the result sorts them)."""
    return [c for _, items in result.by_kind() for c in items if c.status in SHOWN_STATUSES]


def handles(result: Result, kb: KB) -> list[Handle]:
    """Every numbered entry of the report of ``result``, in report order."""
    cached: tuple[int, list[Handle]] | None = result.__dict__.get("_handles")
    if cached is not None and cached[0] == id(kb):
        return cached[1]
    items = shown(result)
    by_type: dict[str, list[Conclusion]] = {}
    for c in items:
        by_type.setdefault(c.type, []).append(c)
    names: dict[str, str] = {}
    for tname, group in by_type.items():
        for c in group:
            ident = _identity(kb, c)
            t = kb.types.get(tname)
            refs = [n for n in ident if t is not None and t.attributes[n].type == "ref"]
            enums = [n for n in ident if t is not None and t.attributes[n].type == "enum"]
            # the references always (they name the entity), then the fewest attributes, enumerations
            # first, that tell this one from the others of its type
            chosen = list(refs)
            for extra in enums + [n for n in ident if n not in refs and n not in enums]:
                same = [o for o in group if all(_text(o.attributes.get(n)) == _text(c.attributes.get(n)) for n in chosen)]
                if len(same) <= 1:
                    break
                if len({_text(o.attributes.get(extra)) for o in same}) > 1:
                    chosen.append(extra)
            chosen = [n for n in ident if n in chosen]
            name = _name(tname, c, chosen)
            clash = [o for o in group if o is not c and all(_text(o.attributes.get(n)) == _text(c.attributes.get(n))
                                                            for n in chosen)]
            names[c.id] = name if not clash else c.id
    out = [Handle(i, c.type, names[c.id], c) for i, c in enumerate(items, 1)]
    n = len(out)
    out += [Handle(n + i, d.type, d.type, None) for i, d in enumerate(result.does_not_hold, 1)]
    result.__dict__["_handles"] = (id(kb), out)
    return out


def handle_of(result: Result, kb: KB, conclusion_id: str) -> Handle | None:
    """The handle of the conclusion ``conclusion_id`` in ``result`` (None if it has none)."""
    for h in handles(result, kb):
        if h.id == conclusion_id:
            return h
    return None


_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")
_NUMBER = re.compile(r"^\s*\[?\s*(\d+)\s*\]?\s*$")
_ID = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*#[0-9a-f]{6,})\s*$")


def parse_spec(kb: KB, spec: str) -> tuple[str, dict[str, str]]:
    """``TYPE`` or ``TYPE(attr=value, ...)`` → (type, attributes as text); a wrong type or
    attribute name gets a "did you mean"."""
    m = _SPEC.match(spec)
    if not m:
        raise _err(_m("bad-spec", spec=spec), _m("bad-spec-hint"))
    tname = m.group(1)
    t = kb.types.get(tname)
    if t is None or t.kind == "entity":
        names = [x.name for x in kb.types.values() if x.kind != "entity"]
        raise _err(_m("unknown-type", name=tname), suggest(tname, names) or _m("list-types"))
    attrs: dict[str, str] = {}
    if m.group(2):
        for part in m.group(2).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise _err(_m("attr-value", part=part.strip()))
            k, v = (x.strip() for x in part.split("=", 1))
            if k not in t.attributes:
                raise _err(_m("no-attribute", type=tname, name=k), suggest(k, t.attributes))
            attrs[k] = v.strip("'\"")
    return tname, attrs


@dataclass(frozen=True)
class Resolved:
    """What a conclusion named on the command line designates: its type, the attributes it
    was given with (for why-not and the change search), and the matching conclusions."""

    spec: str
    type: str
    attributes: dict[str, str]
    matches: list[Conclusion]


def _matches(result: Result, tname: str, attrs: dict[str, str]) -> list[Conclusion]:
    def text(v: Any) -> str:
        return _text(v).lower() if not isinstance(v, (list, tuple)) else ",".join(str(x) for x in v).lower()

    out = []
    for c in result.conclusions:
        if c.type != tname:
            continue
        ok = True
        for k, v in attrs.items():
            have = c.attributes.get(k)
            want = v.lower().replace("+", ",")
            if have is None or text(have) not in (want, v.lower()):
                ok = False
                break
        if ok:
            out.append(c)
    return out


def _named(kb: KB, name: str, c: Conclusion) -> dict[str, str]:
    """The attributes a handle names (all identifying ones where the handle is an id)."""
    if "#" in name:
        return {k: _text(v) for k, v in c.attributes.items() if k in _identity(kb, c)[:4]}
    return parse_spec(kb, name)[1]


def resolve(result: Result, kb: KB, spec: str, *, must_exist: bool = False) -> Resolved:
    """The conclusion(s) ``spec`` names: ``[3]`` / ``3``, a handle or ``TYPE(attr=value)``, or a
    JSON id. A number or id that names nothing is an error with the valid range; with
    ``must_exist`` so is a type that has no matching conclusion here (with the ones it has)."""
    hs = handles(result, kb)
    m = _NUMBER.match(spec)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= len(hs):
            raise _err(_m("no-number", n=n, last=len(hs)))
        h = hs[n - 1]
        if h.conclusion is None:
            return Resolved(h.name, h.type, {}, [])
        c = h.conclusion
        return Resolved(h.name, c.type, _named(kb, h.name, c), [c])
    m = _ID.match(spec)
    if m:
        c0 = result.conclusion(m.group(1))
        if c0 is None:
            ids = [c.id for c in result.conclusions]
            raise _err(_m("no-id", id=m.group(1)), suggest(m.group(1), ids))
        h0 = handle_of(result, kb, c0.id)
        name = h0.name if h0 else c0.id
        return Resolved(name, c0.type, _named(kb, name, c0), [c0])
    tname, attrs = parse_spec(kb, spec)
    found = _matches(result, tname, attrs)
    if must_exist and not [c for c in found if c.status in SHOWN_STATUSES]:
        named = [h.name for h in hs if h.type == tname and h.conclusion is not None]
        hint = (_m("the-ones", list=", ".join(named[:8]) + (f" … and {len(named) - 8} more (the report lists them)"
                                                          if len(named) > 8 else "")) if named else "")
        raise _err(_m("no-match", spec=spec.strip()), suggest(spec.strip(), named) or hint)
    return Resolved(spec.strip(), tname, attrs, found)
