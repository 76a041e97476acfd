"""The state a page carries: the case (in case-file form) and the interview's answers so far,
packed into one URL-safe token, so that every page is a plain link and the server keeps no
session (it may run as several processes, and a link can be bookmarked or shared).

A token is ``1.`` followed by the base64url text of the zlib-compressed JSON::

    {"case": {id, title, perspective, dates, facts}, "skipped": [[fact, attribute], ...],
     "history": [[fact, attribute, had, old], ...]}

It is data the user could have uploaded as a case file anyway: it is read with the same
checks as an upload (and bounded in size before and after decompression), never trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import Diagnostic, InputError, Location
from ..language.values import json_value

__all__ = ["PageState", "encode_state", "decode_state", "case_data_of"]

_PREFIX = "1."
MAX_JSON = 4 * 1024 * 1024


@dataclass
class PageState:
    """The case and the interview around it (``history`` entries: fact id, attribute, whether
    it had a value, the old value: what ``back`` restores)."""

    case: dict[str, Any]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    history: list[tuple[str, str, bool, Any]] = field(default_factory=list)

    def to_plain(self) -> dict[str, Any]:
        """The state as JSON data."""
        out: dict[str, Any] = {"case": _plain(self.case)}
        if self.skipped:
            out["skipped"] = [list(s) for s in self.skipped]
        if self.history:
            out["history"] = [[f, a, h, _plain(o)] for f, a, h, o in self.history]
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return json_value(value)


def _bad(message: str) -> InputError:
    return InputError([Diagnostic(Location("<link>"), "bad-link", message, "-",
                                  "start again from the home page, or upload the case file")])


def encode_state(state: PageState) -> str:
    """The token of a state."""
    text = json.dumps(state.to_plain(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    packed = zlib.compress(text.encode("utf-8"), 9)
    return _PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_state(token: str, max_chars: int) -> PageState:
    """The state of a token; raises InputError ``bad-link`` for anything else."""
    if not token.startswith(_PREFIX):
        raise _bad("the link does not carry a case")
    if len(token) > max_chars:
        raise _bad(f"the link is longer than {max_chars} characters")
    body = token[len(_PREFIX):]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        z = zlib.decompressobj()
        raw = z.decompress(packed, MAX_JSON)
        if z.unconsumed_tail:
            raise _bad("the case in the link is too large")
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError):
        raise _bad("the link is damaged (it may have been cut)") from None
    if not isinstance(data, dict) or not isinstance(data.get("case"), dict):
        raise _bad("the link does not carry a case")
    try:
        skipped = [(str(f), str(a)) for f, a in data.get("skipped", [])]
        history = [(str(f), str(a), bool(h), o) for f, a, h, o in data.get("history", [])]
    except (TypeError, ValueError):
        raise _bad("the link's interview state is damaged") from None
    return PageState(data["case"], skipped, history)


def case_data_of(scenario: Any, kb: Any, description: str = "") -> dict[str, Any]:
    """A scenario in case-file form (as ``consult --save`` writes it), JSON values only."""
    from ..language.kb import CASE_TYPE

    facts: list[dict[str, Any]] = []
    dates: dict[str, Any] = {}
    perspective = None
    for f in scenario.facts:
        attrs = {k: json_value(v) for k, v in f.attrs}
        if f.type == CASE_TYPE:
            perspective = attrs.pop("perspective", None)
            attrs.pop("key", None)
            dates = attrs
            continue
        key = attrs.pop("key")
        facts.append({f.type: dict({"key": key}, **dict(sorted(attrs.items())))})
    order = {name: i for i, name in enumerate(kb.types)}
    facts.sort(key=lambda d: (order.get(next(iter(d)), 10**6), str(next(iter(d.values()))["key"])))
    out: dict[str, Any] = {"id": scenario.id, "title": scenario.title}
    if description or scenario.description:
        out["description"] = description or scenario.description
    if perspective:
        out["perspective"] = perspective
    if dates:
        out["dates"] = dict(sorted(dates.items()))
    out["facts"] = facts
    return out
