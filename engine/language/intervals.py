"""Values known only within bounds: a date given as a year or a month, a number or date given
as a range, an unknown bounded by what the world implies (kb/constraints.yaml).

An :class:`Interval` stands for *one* value, not known exactly, that lies between ``lo`` and
``hi`` (``None``: unbounded on that side). Tests on it are three-valued (:func:`compare`): true
when they hold for every value of the interval, false when for none, else unknown. Expressions
propagate intervals through monotone operations (:mod:`.expr`). An interval is never a default:
it is exactly what the case (or the world) says, no more.

Dates are whole days, so their bounds are always inclusive; numbers may exclude a bound
(``lo_open`` / ``hi_open``), as a split at a threshold does (``damage < 200 MCI``).
``stated`` is False for an attribute the case does not give and the constraints bound: for
``present`` it is still not stated.

JSON form: ``{"from": lo, "to": hi}`` with ``null`` for an unbounded side, and
``"from_excluded": true`` / ``"to_excluded": true`` for an excluded bound.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["Interval", "compare", "hull", "parse_partial_date", "interval_from_json", "is_interval_json",
           "format_interval", "lower", "upper", "narrow", "PARTIAL_DATE"]

_DAY = _dt.timedelta(days=1)
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class Interval:
    """One value between ``lo`` and ``hi`` (inclusive unless ``lo_open`` / ``hi_open``)."""

    lo: Any = None
    hi: Any = None
    lo_open: bool = False
    hi_open: bool = False
    stated: bool = True

    def __post_init__(self) -> None:
        # dates are whole days: an excluded bound is the next (previous) day, included
        if isinstance(self.lo, _dt.date) and self.lo_open:
            object.__setattr__(self, "lo", self.lo + _DAY)
            object.__setattr__(self, "lo_open", False)
        if isinstance(self.hi, _dt.date) and self.hi_open:
            object.__setattr__(self, "hi", self.hi - _DAY)
            object.__setattr__(self, "hi_open", False)
        if self.lo is None:
            object.__setattr__(self, "lo_open", False)
        if self.hi is None:
            object.__setattr__(self, "hi_open", False)

    @property
    def is_date(self) -> bool:
        """Whether this is a range of dates (either bound a date)."""
        return isinstance(self.lo, _dt.date) or isinstance(self.hi, _dt.date)

    @property
    def empty(self) -> bool:
        """Whether no value lies in the range (its bounds crossed, or met with an open side)."""
        if self.lo is None or self.hi is None:
            return False
        return bool(self.lo > self.hi or (self.lo == self.hi and (self.lo_open or self.hi_open)))

    @property
    def is_point(self) -> bool:
        """Whether the range holds exactly one value (then it is that value, not a range)."""
        return self.lo is not None and self.lo == self.hi and not (self.lo_open or self.hi_open)

    @property
    def unbounded(self) -> bool:
        """Whether neither side is bounded (nothing is known of the value)."""
        return self.lo is None and self.hi is None

    def contains(self, v: Any) -> bool:
        """Whether ``v`` lies in the range, honouring open sides."""
        if self.lo is not None and (v < self.lo or (v == self.lo and self.lo_open)):
            return False
        if self.hi is not None and (v > self.hi or (v == self.hi and self.hi_open)):
            return False
        return True

    def with_stated(self, stated: bool) -> Interval:
        """The same range marked as stated by the case (``stated``) or derived from constraints."""
        return self if self.stated == stated else Interval(self.lo, self.hi, self.lo_open, self.hi_open, stated)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: ``{"from": lo, "to": hi}`` (``null`` for an unbounded side), with ``from_excluded``/``to_excluded`` for open sides."""
        from .values import json_value

        out: dict[str, Any] = {"from": json_value(self.lo), "to": json_value(self.hi)}
        if self.lo_open:
            out["from_excluded"] = True
        if self.hi_open:
            out["to_excluded"] = True
        return out

    def __repr__(self) -> str:
        return f"Interval({format_interval(self.to_json())})"


def lower(v: Any) -> tuple[Any, bool]:
    """(the least value, whether it is excluded); None: unbounded."""
    if isinstance(v, Interval):
        return v.lo, v.lo_open
    return v, False


def upper(v: Any) -> tuple[Any, bool]:
    """The upper bound of a value and whether it is excluded: a range's ``hi``, or a plain value itself."""
    if isinstance(v, Interval):
        return v.hi, v.hi_open
    return v, False


def _lt_certain(a: Any, b: Any, strict: bool) -> bool:
    """Every value of ``a`` is below (strict) or at most (not strict) every value of ``b``."""
    (ahi, ahi_open), (blo, blo_open) = upper(a), lower(b)
    if ahi is None or blo is None:
        return False
    if ahi < blo:
        return True
    if ahi == blo:
        return (not strict) or ahi_open or blo_open
    return False


def compare(a: Any, op: str, b: Any) -> bool | None:
    """``a op b`` for values or intervals: True / False when decided for every value, else None.
    Raises TypeError for values that do not compare (as Python does)."""
    if not isinstance(a, Interval) and not isinstance(b, Interval):
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        if op == ">=":
            return bool(a >= b)
        if op == "=":
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        raise ValueError(op)
    if isinstance(a, Interval) and a.is_point and not isinstance(b, Interval):
        return compare(a.lo, op, b)
    if isinstance(b, Interval) and b.is_point and not isinstance(a, Interval):
        return compare(a, op, b.lo)
    _check_comparable(a, b)
    if op == "<":
        return True if _lt_certain(a, b, True) else (False if _lt_certain(b, a, False) else None)
    if op == "<=":
        return True if _lt_certain(a, b, False) else (False if _lt_certain(b, a, True) else None)
    if op == ">":
        return compare(b, "<", a)
    if op == ">=":
        return compare(b, "<=", a)
    if op == "=":
        if _lt_certain(a, b, True) or _lt_certain(b, a, True):
            return False
        pa = a.lo if isinstance(a, Interval) and a.is_point else (None if isinstance(a, Interval) else a)
        pb = b.lo if isinstance(b, Interval) and b.is_point else (None if isinstance(b, Interval) else b)
        if pa is not None and pb is not None:
            return bool(pa == pb)
        return None
    if op == "!=":
        r = compare(a, "=", b)
        return None if r is None else not r
    raise ValueError(op)


def _check_comparable(a: Any, b: Any) -> None:
    for x in (a, b):
        for end in ((x.lo, x.hi) if isinstance(x, Interval) else (x,)):
            if end is None:
                continue
            if isinstance(end, bool) or not isinstance(end, (int, float, Fraction, _dt.date)):
                raise TypeError("not comparable")
    kinds = set()
    for x in (a, b):
        for end in ((x.lo, x.hi) if isinstance(x, Interval) else (x,)):
            if end is not None:
                kinds.add(isinstance(end, _dt.date))
    if len(kinds) > 1:
        raise TypeError("a date and a number do not compare")


def member(a: Any, values: Any) -> bool | None:
    """``a in values`` for an interval ``a``: decided when it is one of them, or when none lies in it."""
    if not isinstance(a, Interval):
        return a in values
    if a.is_point:
        return a.lo in values
    try:
        inside = [v for v in values if a.contains(v)]
    except TypeError:
        return False
    return False if not inside else None


def hull(values: list[Any]) -> Any:
    """The smallest interval holding every value (and interval) given; a single value if all
    are equal. None in the list (an unknown value) makes the hull unknown."""
    if not values:
        return None
    if any(v is None for v in values):
        return None
    if all(not isinstance(v, Interval) for v in values) and all(v == values[0] for v in values):
        return values[0]
    los = [lower(v) for v in values]
    his = [upper(v) for v in values]
    if any(x is None for x, _ in los):
        lo, lo_open = None, False
    else:
        lo = min(x for x, _ in los)
        lo_open = all(o for x, o in los if x == lo)
    if any(x is None for x, _ in his):
        hi, hi_open = None, False
    else:
        hi = max(x for x, _ in his)
        hi_open = all(o for x, o in his if x == hi)
    iv = Interval(lo, hi, lo_open, hi_open)
    return iv.lo if iv.is_point else iv


def narrow(v: Any, lo: Any = None, hi: Any = None, lo_open: bool = False, hi_open: bool = False) -> Any:
    """``v`` (a value, an interval, or None for unknown) intersected with the bounds given;
    a value outside them gives an empty interval."""
    if v is not None and not isinstance(v, Interval):
        return v if Interval(lo, hi, lo_open, hi_open).contains(v) else Interval(v, v, True, True)
    cur = v if isinstance(v, Interval) else Interval(stated=False)
    nlo, nlo_open = cur.lo, cur.lo_open
    if lo is not None and (nlo is None or lo > nlo or (lo == nlo and lo_open)):
        nlo, nlo_open = lo, lo_open
    nhi, nhi_open = cur.hi, cur.hi_open
    if hi is not None and (nhi is None or hi < nhi or (hi == nhi and hi_open)):
        nhi, nhi_open = hi, hi_open
    return Interval(nlo, nhi, nlo_open, nhi_open, cur.stated)


# ---- partial dates in case files and answers ---------------------------------------------------------


def parse_partial_date(value: Any) -> Interval | None:
    """A year (``2013``, ``"2013"``) or a month (``"2016-07"``) as the interval of its days;
    None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    m = PARTIAL_DATE.match(value.strip())
    if not m:
        return None
    year = int(m.group(1))
    if not 1 <= year <= 9999:
        return None
    if m.group(2) is None:
        return Interval(_dt.date(year, 1, 1), _dt.date(year, 12, 31))
    month = int(m.group(2))
    if not 1 <= month <= 12:
        return None
    return Interval(_dt.date(year, month, 1), _dt.date(year, month, calendar.monthrange(year, month)[1]))


def is_interval_json(v: Any) -> bool:
    """Whether ``v`` is the JSON form of a range (``from`` and ``to``, optionally the exclusion flags, nothing else)."""
    return isinstance(v, dict) and "from" in v and "to" in v and set(v) <= {"from", "to", "from_excluded", "to_excluded"}


def interval_from_json(v: dict[str, Any]) -> Interval:
    """The range of a JSON ``{from, to}`` form (dates or numbers, either side null for unbounded, with the exclusion flags)."""
    from .values import parse_date

    lo, hi = parse_date(v.get("from")), parse_date(v.get("to"))
    return Interval(lo, hi, bool(v.get("from_excluded")), bool(v.get("to_excluded")))


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def format_interval(v: dict[str, Any]) -> str:
    """An interval's JSON form as the reports print it: "in 2013", "in July 2016", "between …
    and …", "2092-12-31 or later", "583,400 or less"."""
    from .values import parse_date

    lo, hi = parse_date(v.get("from")), parse_date(v.get("to"))

    def fmt(x: Any) -> str:
        if isinstance(x, _dt.date):
            return x.isoformat()
        if isinstance(x, int) and not isinstance(x, bool):
            return f"{x:,}"
        if isinstance(x, float):
            return f"{x:,.2f}".rstrip("0").rstrip(".")
        return str(x)

    if isinstance(lo, _dt.date) and isinstance(hi, _dt.date):
        if lo == _dt.date(lo.year, 1, 1) and hi == _dt.date(lo.year, 12, 31):
            return f"in {lo.year}"
        if lo.day == 1 and hi.year == lo.year and hi.month == lo.month \
                and hi.day == calendar.monthrange(lo.year, lo.month)[1]:
            return f"in {_MONTHS[lo.month - 1]} {lo.year}"
    if lo is not None and hi is not None:
        left = "more than " if v.get("from_excluded") else ""
        right = ", excluded" if v.get("to_excluded") else ""
        return f"between {left}{fmt(lo)} and {fmt(hi)}{right}"
    dated = isinstance(lo, _dt.date) or isinstance(hi, _dt.date)
    if lo is not None:
        if v.get("from_excluded"):
            return ("after " if dated else "more than ") + fmt(lo)
        return fmt(lo) + (" or later" if dated else " or more")
    if hi is not None:
        if v.get("to_excluded"):
            return ("before " if dated else "less than ") + fmt(hi)
        return fmt(hi) + (" or earlier" if dated else " or less")
    return "unknown"
