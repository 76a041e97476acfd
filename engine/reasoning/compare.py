"""One comparison of two results, shared by what-if and the impact report (``rules diff``).

Conclusions are matched by their type and identifying attributes (those whose vocabulary
type is a reference, an enum value or a boolean: the use, the part, the right); a change is
a conclusion whose status or attributes differ, or that exists on one side only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..language.kb import KB
from .result import Conclusion, Result

__all__ = ["Change", "compare_results", "identity_of"]

_IDENTIFYING = ("ref", "enum", "bool")


@dataclass(frozen=True)
class Change:
    """A conclusion that differs between two results (``before`` / ``after`` None: absent)."""

    type: str
    identity: dict[str, Any]
    before: Conclusion | None
    after: Conclusion | None

    @property
    def rules(self) -> list[str]:
        """The rules behind the conclusion on either side."""
        return sorted(set(self.before.rules if self.before else []) | set(self.after.rules if self.after else []))

    @property
    def citations(self) -> list[str]:
        """The articles cited on either side."""
        return sorted(set(self.before.citations if self.before else [])
                      | set(self.after.citations if self.after else []))

    def status(self, side: str) -> str:
        """The status on ``side`` ("before" or "after"); "does_not_hold" where the conclusion is absent."""
        c = self.before if side == "before" else self.after
        return c.status.value if c is not None else "does_not_hold"


def identity_of(c: Conclusion, kb: KB) -> dict[str, Any]:
    """The identifying attributes of a conclusion: those whose vocabulary type is a reference, an enum value or a boolean."""
    attrs = kb.types[c.type].attributes if c.type in kb.types else {}
    return {k: v for k, v in sorted(c.attributes.items()) if k in attrs and attrs[k].type in _IDENTIFYING}


def compare_results(a: Result, b: Result, kb: KB) -> list[Change]:
    """The conclusions that differ from ``a`` to ``b``, in type and identity order."""
    def index(r: Result) -> dict[tuple[str, str], tuple[dict[str, Any], Conclusion]]:
        out: dict[tuple[str, str], tuple[dict[str, Any], Conclusion]] = {}
        for c in r.conclusions:
            if c.status == "does_not_hold":
                continue  # excluded by deciding by cases: the same as not derived at all
            ident = identity_of(c, kb)
            out.setdefault((c.type, repr(sorted(ident.items()))), (ident, c))
        return out

    old, new = index(a), index(b)
    changes = []
    for key in sorted(set(old) | set(new)):
        x, y = old.get(key), new.get(key)
        cx, cy = (x[1] if x else None), (y[1] if y else None)
        if cx is not None and cy is not None and cx.status == cy.status and cx.attributes == cy.attributes:
            continue
        either = y if y is not None else x
        changes.append(Change(key[0], either[0] if either is not None else {}, cx, cy))
    return changes
