"""Value types of the vocabulary, their units, and canonical forms of values.

Numbers are computed exactly (``fractions.Fraction``) and stored canonically: an ``int``
when integral, else a float rounded to 6 decimals. Dates are ``datetime.date`` in the model
and ISO strings in JSON. Units make "tenge compared with MCI" a load error.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from fractions import Fraction
from typing import Any
from collections.abc import Mapping

from .intervals import Interval

__all__ = [
    "SCALAR_TYPES",
    "NUMERIC_UNITS",
    "unit_of",
    "type_for_unit",
    "canonical_number",
    "canonical_value",
    "json_value",
    "parse_date",
    "parse_text_value",
    "parse_number_text",
    "MAX_MAGNITUDE",
    "is_numeric_type",
    "value_matches_type",
    "UNIT_NAMES",
]

# numeric value types and their dimension (unit exponents)
NUMERIC_UNITS: dict[str, dict[str, int]] = {
    "number": {},
    "integer": {},
    "tenge": {"tenge": 1},
    "mci": {"mci": 1},
    "tenge_per_mci": {"tenge": 1, "mci": -1},
    "years": {"year": 1},
    "months": {"month": 1},
    "days": {"day": 1},
    "hours": {"hour": 1},
    "percent": {"percent": 1},
}

UNIT_NAMES = {
    "tenge": "tenge",
    "mci": "MCI",
    "tenge_per_mci": "tenge per MCI",
    "years": "years",
    "months": "months",
    "days": "days",
    "hours": "hours",
    "percent": "%",
}

SCALAR_TYPES = set(NUMERIC_UNITS) | {"bool", "enum", "date", "string", "ref", "list"}


def is_numeric_type(t: str) -> bool:
    """Whether ``t`` is a numeric value type (a number with a unit: tenge, MCI, days, years, integer …)."""
    return t in NUMERIC_UNITS


def unit_of(t: str) -> tuple[tuple[str, int], ...]:
    """The unit of numeric type ``t`` as sorted (base unit, exponent) pairs, for the checker's unit arithmetic."""
    return tuple(sorted(NUMERIC_UNITS[t].items()))


def type_for_unit(unit: tuple[tuple[str, int], ...]) -> str:
    """The numeric type name that has ``unit`` (or a written-out unit where none has it)."""
    for name, u in NUMERIC_UNITS.items():
        if name == "integer":
            continue
        if tuple(sorted(u.items())) == unit:
            return name
    return "number" if not unit else "(" + "·".join(f"{k}^{v}" for k, v in unit) + ")"


def canonical_number(x: Any) -> int | float:
    """Exact number → the canonical stored form (int when integral, else 6-decimal float)."""
    if isinstance(x, bool):
        raise TypeError("bool is not a number")
    if isinstance(x, int):
        return x
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"{x} is not a finite number")
    fr = Fraction(x) if not isinstance(x, Fraction) else x
    if fr.denominator == 1:
        return int(fr.numerator)
    return round(float(fr), 6)


def canonical_value(vtype: str, value: Any) -> Any:
    """``value`` in the one form the engine compares and prints: exact numbers, sorted unique lists, a one-point range as its value."""
    if isinstance(value, Interval):
        if value.is_point:
            return canonical_value(vtype, value.lo)
        if vtype in NUMERIC_UNITS:
            return Interval(None if value.lo is None else canonical_number(value.lo),
                            None if value.hi is None else canonical_number(value.hi),
                            value.lo_open, value.hi_open, value.stated)
        return value
    if vtype in NUMERIC_UNITS:
        return canonical_number(value)
    if vtype == "list":
        return sorted(set(value))
    return value


def json_value(value: Any) -> Any:
    """``value`` as plain JSON: ISO dates, ranges as ``{from, to}``, exact numbers as int or float, lists element by element."""
    if isinstance(value, Interval):
        return value.to_json()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, Fraction):
        return canonical_number(value)
    return value


def parse_date(value: Any) -> Any:
    """An ISO date string (as JSON carries dates) → date; anything else unchanged."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


MAX_MAGNITUDE = 10**15  # the largest number a fact may state (15 digits)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]{1,3}))?")
_GROUPING = str.maketrans("", "", " _\u00a0\u202f\u2009")  # spaces and underscores group digits


def parse_number_text(raw: str, vtype: str = "number") -> int | float:
    """A number typed at a prompt or on the command line → its canonical form.

    Digits may be grouped with spaces or underscores (``15 000 000``); the decimal point is
    ``.``. A comma is refused as ambiguous (``1,5`` is 1.5 in Russian, ``1,500`` is 1500 in
    English), and so are ``inf``, ``nan``, non-ASCII digits and numbers of more than 15
    digits. Raises ``ValueError(message, hint)``."""
    text = raw.strip().translate(_GROUPING)
    if "," in text:
        raise ValueError(f"'{raw}': a comma in a number is ambiguous (a decimal comma or a thousands separator?)",
                         "write 1.5 for one and a half, and 1500 or 1 500 for fifteen hundred")
    m = _NUMBER.fullmatch(text) if len(text) <= 100 else None
    if m is None:
        raise ValueError(f"'{raw}' is not a number", "digits with an optional '.', e.g. 15000 or 0.5")
    if m.group(1) is not None and abs(int(m.group(1))) > 30:
        raise ValueError(f"'{raw}' is out of range", "a number of at most 15 digits")
    exact = Fraction(text)
    if abs(exact) > MAX_MAGNITUDE:
        raise ValueError(f"'{raw}' is too large", "a number of at most 15 digits")
    if vtype == "integer" and exact.denominator != 1:
        raise ValueError(f"'{raw}' is not a whole number", "")
    return canonical_number(exact)


def parse_text_value(vtype: str, raw: str, values: tuple[str, ...] | list[str] = ()) -> Any:
    """A value typed at a prompt or on the command line → the typed value.

    Raises ``ValueError(message, hint)`` when the text does not fit the type.
    """
    raw = raw.strip()
    if vtype == "bool":
        low = raw.lower()
        if low in ("yes", "y", "true", "да", "1"):
            return True
        if low in ("no", "n", "false", "нет", "0"):
            return False
        raise ValueError(f"'{raw}' is not yes or no", "")
    if vtype in NUMERIC_UNITS:
        return parse_number_text(raw, vtype)
    if vtype == "date":
        from .intervals import parse_partial_date

        d = parse_date(raw)
        if not isinstance(d, _dt.date):
            partial = parse_partial_date(raw)
            if partial is not None:
                return partial  # a year or a month: the date lies in it
            raise ValueError(f"'{raw}' is not a date YYYY-MM-DD (or a year, 2013, or a month, 2016-07)", "")
        return d
    from ..errors import suggest

    if vtype == "list":
        items = tuple(sorted({x.strip() for x in raw.replace(";", ",").split(",") if x.strip()}))
        for x in items:
            if x not in values:
                raise ValueError(f"'{x}' is not one of the choices", suggest(x, values))
        return items
    if vtype == "enum":
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= len(values):
            return values[int(raw) - 1]
        if raw not in values:
            raise ValueError(f"'{raw}' is not one of the choices", suggest(raw, values) or "choices: " + ", ".join(values))
        return raw
    return raw


def value_matches_type(vtype: str, value: Any, spec: Mapping[str, Any] | None = None) -> str:
    """Return "" if ``value`` fits ``vtype``, else a short description of what was expected."""
    if vtype == "bool":
        return "" if isinstance(value, bool) else "true or false"
    if vtype in NUMERIC_UNITS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"a number ({UNIT_NAMES.get(vtype, vtype)})"
        if vtype == "integer" and not (isinstance(value, int) or float(value).is_integer()):
            return "a whole number"
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return "a finite number"
        if abs(value) > MAX_MAGNITUDE:
            return "a number of at most 15 digits"
        return ""
    if vtype == "date":
        if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
            return "a date YYYY-MM-DD"
        return ""
    if vtype in ("string", "enum", "ref"):
        return "" if isinstance(value, str) else "text"
    if vtype == "list":
        return "" if isinstance(value, list) else "a list"
    return f"a value of type {vtype}"
