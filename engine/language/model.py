"""The checked model of rules: frozen dataclasses produced by the rule loader."""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from typing import Any, Union

from ..errors import Location
from .expr import Expr

__all__ = [
    "TextEnum",
    "Op",
    "OperandKind",
    "ValueKind",
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


class TextEnum(str, enum.Enum):
    """An enum whose members are their text: they compare, hash, format and serialise as the
    strings they stand for, so ``Op.EQ == "="`` and a member is a valid dict key for its text."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Op(TextEnum):
    """The operators of a condition (rule-language.md §4.2)."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    PRESENT = "present"


class OperandKind(TextEnum):
    """What the right-hand side of a test is: a literal, a bound variable, a dated parameter."""

    LIT = "lit"
    VAR = "var"
    PARAM = "param"


class ValueKind(TextEnum):
    """What an attribute of a derived fact is given by: a literal, a variable, an expression."""

    LIT = "lit"
    VAR = "var"
    EXPR = "expr"


@dataclass(frozen=True)
class Operand:
    """The right-hand side of a test: a literal, a bound ``$variable`` or a dated ``param``."""

    kind: OperandKind
    value: Any
    loc: Location


@dataclass(frozen=True)
class Test:
    """One attribute test of a pattern: ``attr op operand``."""

    attr: str
    op: Op
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
    """The value given to one attribute of a derived fact (``then``)."""

    kind: ValueKind
    value: Any
    loc: Location
    text: str = ""
    col0: int = 0  # column of the expression text's first character (for error positions)


@dataclass(frozen=True)
class Head:
    """A fact a rule derives (``then``): its type and the value of each attribute."""

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
    """One version of a checked rule: identity, citations, the law's words, validity, conditions and conclusions."""

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
        """Whether this version has a validity interval (``valid``)."""
        return self.valid_from is not None or self.valid_to is not None

    def in_force(self, day: _dt.date) -> bool:
        """Whether this version is in force on ``day`` (its interval includes it)."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_to is not None and day > self.valid_to:
            return False
        return True
