"""The checked model of rules: frozen dataclasses produced by the rule loader."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Union

from ..errors import Location
from .expr import Expr

__all__ = [
    "Operand",
    "Test",
    "Pattern",
    "Not",
    "AnyOf",
    "Condition",
    "HeadValue",
    "Head",
    "Defeat",
    "Rule",
    "VarInfo",
]


@dataclass(frozen=True)
class Operand:
    """The right-hand side of a test: a literal, a bound ``$variable`` or a dated ``param``."""

    kind: str  # lit | var | param
    value: Any
    loc: Location


@dataclass(frozen=True)
class Test:
    """One attribute test of a pattern: ``attr op operand``.

    ops: = != < <= > >= in not_in contains present
    """

    attr: str
    op: str
    operand: Operand
    loc: Location


@dataclass(frozen=True)
class Pattern:
    """A positive condition on one fact of ``type``; ``binds`` maps variables to attributes."""

    type: str
    tests: tuple[Test, ...]
    binds: tuple[tuple[str, str], ...]
    loc: Location


@dataclass(frozen=True)
class Not:
    """No fact (combination) matches ``body``: negation as failure, stratified."""

    body: tuple[Condition, ...]
    loc: Location


@dataclass(frozen=True)
class AnyOf:
    """At least one branch holds; each branch is a conjunction of conditions."""

    branches: tuple[tuple[Condition, ...], ...]
    loc: Location


Condition = Union[Pattern, Not, AnyOf]  # noqa: UP007 - a runtime alias


@dataclass(frozen=True)
class HeadValue:
    kind: str  # lit | var | expr
    value: Any
    loc: Location
    text: str = ""
    col0: int = 0  # column of the expression text's first character (for error positions)


@dataclass(frozen=True)
class Head:
    type: str
    attrs: tuple[tuple[str, HeadValue], ...]
    loc: Location


@dataclass(frozen=True)
class Defeat:
    """This rule, when it applies, defeats ``target``'s conclusions whose attributes match."""

    target: str
    match: tuple[tuple[str, str], ...]  # (attribute of target's conclusion, variable)
    loc: Location


@dataclass(frozen=True)
class VarInfo:
    """What the compiler knows of a rule variable: its value type, the entity type a reference
    points to, whether it is always known (bound to a key or a required reference), and where
    it is bound."""

    vtype: str
    to: str | None
    entity: bool  # bound to a key or a ref: always known
    loc: Location


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    cite: tuple[str, ...]
    excerpt: dict[str, str]
    title: dict[str, str]
    because: dict[str, str]
    assumption: dict[str, str]
    valid_from: _dt.date | None
    valid_to: _dt.date | None
    amended_by: str
    date_attr: str | None
    when: tuple[Condition, ...]
    then: tuple[Head, ...]
    defeats: tuple[Defeat, ...]
    file: str
    loc: Location
    params_in_conditions: tuple[str, ...] = ()
    broken: bool = False
    because_locs: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)  # had load errors: not compiled (avoids cascades of errors)
    expr_cache: dict[str, Expr] = field(default_factory=dict, compare=False, hash=False)

    @property
    def uid(self) -> str:
        """Rule id with version: unique across the rule base."""
        return f"{self.id}@{self.version}"

    @property
    def dated(self) -> bool:
        return self.valid_from is not None or self.valid_to is not None

    def in_force(self, day: _dt.date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_to is not None and day > self.valid_to:
            return False
        return True
