"""The expression language of computed attributes (``"= $damage / param(mci, $date)"``).

A tiny, safe language parsed by hand (no ``eval``): numbers, 'strings', ``$variables``,
``+ - * /``, parentheses and a fixed set of functions. Expressions are type-checked with
units at load time (tenge ÷ tenge-per-MCI = MCI; adding tenge to MCI is an error) and
evaluated exactly with fractions. An unknown input makes the result unknown (``None``). A
value known only within bounds (an :class:`~.intervals.Interval`: a year for a date, a range)
gives the interval of the results: every function below is monotone in each argument (``-``
and ``/`` reverse it), so the result's bounds are computed from the arguments' bounds.

Functions::

    param(name)            value of a dated parameter on the rule's governing date
    param(name, date)      ... on the given date
    min(a, b, ...)  max(a, b, ...)  round(x)  floor(x)  ceil(x)
    add_years(d, n)  add_months(d, n)  add_days(d, n)  -> date
    jan1_after(d)          1 January of the year after d (Copyright Law Art. 28(8))
    year(d)                the year of d, a whole number
    date(y, m, d)          a date
    days_between(a, b)     b - a in days
"""

from __future__ import annotations

import calendar
import datetime as _dt
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from collections.abc import Callable, Mapping, Sequence

from .intervals import Interval
from .values import NUMERIC_UNITS, type_for_unit, unit_of

__all__ = ["Expr", "ExprError", "parse_expr", "typecheck", "evaluate", "variables", "params_used", "Unit"]

Unit = tuple[tuple[str, int], ...]


class ExprError(Exception):
    """Raised for a syntax or type error in an expression; ``col`` is 1-based in the text.

    ``kind`` is "syntax" or "type" (a unit or type error), so that the checker can report
    the right error code.
    """

    def __init__(self, message: str, col: int = 0, kind: str = "syntax", hint: str = ""):
        super().__init__(message)
        self.col = col
        self.kind = kind
        self.hint = hint


@dataclass(frozen=True)
class Expr:
    """A parsed expression of the rule language (a number, text, ``$variable``, function call, binary operation or negation), with the column it starts at for error messages."""

    kind: str  # num | str | var | call | bin | neg
    value: Any = None
    args: tuple[Expr, ...] = ()
    col: int = 0


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<var>\$[A-Za-z_][A-Za-z0-9_]*)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>[-+*/(),]))"
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    pos = 0
    out = []
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"unexpected character '{text[pos:].strip()[:1]}'", pos + 1)
        kind = m.lastgroup or ""
        val = m.group(kind)
        out.append((kind, val, m.start(kind) + 1))
        pos = m.end()
    out.append(("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, val: str) -> None:
        kind, v, col = self.take()
        if v != val:
            raise ExprError(f"expected '{val}', found '{v or 'end of expression'}'", col)

    def parse(self) -> Expr:
        e = self.additive()
        kind, v, col = self.peek()
        if kind != "end":
            raise ExprError(f"unexpected '{v}'", col)
        return e

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            _, op, col = self.take()
            left = Expr("bin", op, (left, self.multiplicative()), col)
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            _, op, col = self.take()
            left = Expr("bin", op, (left, self.unary()), col)
        return left

    def unary(self) -> Expr:
        if self.peek()[1] == "-" and self.peek()[0] == "op":
            _, _, col = self.take()
            return Expr("neg", None, (self.unary(),), col)
        return self.atom()

    def atom(self) -> Expr:
        kind, v, col = self.take()
        if kind == "num":
            return Expr("num", Fraction(v), (), col)
        if kind == "var":
            return Expr("var", v[1:], (), col)
        if kind == "str":
            return Expr("str", v[1:-1], (), col)
        if kind == "name":
            if self.peek()[1] == "(":
                self.take()
                args: list[Expr] = []
                if self.peek()[1] != ")":
                    while True:
                        args.append(self.additive())
                        if self.peek()[1] == ",":
                            self.take()
                            continue
                        break
                self.expect(")")
                return Expr("call", v, tuple(args), col)
            return Expr("str", v, (), col)
        if v == "(":
            e = self.additive()
            self.expect(")")
            return e
        raise ExprError(f"unexpected '{v or 'end of expression'}'", col)


def parse_expr(text: str) -> Expr:
    """Parse ``text`` into an :class:`Expr`; raises ExprError with the column of the first problem."""
    return _Parser(text).parse()


def variables(e: Expr) -> list[tuple[str, int]]:
    """Every ``$variable`` of ``e`` with its column, in reading order (for the checker's unbound-variable errors)."""
    out: list[tuple[str, int]] = []
    if e.kind == "var":
        out.append((e.value, e.col))
    for a in e.args:
        out.extend(variables(a))
    return out


def params_used(e: Expr) -> list[str]:
    """The names of the parameters ``e`` reads with ``param("NAME", …)``, in reading order."""
    out = []
    if e.kind == "call" and e.value == "param" and e.args and e.args[0].kind == "str":
        out.append(e.args[0].value)
    for a in e.args:
        out.extend(params_used(a))
    return out


# ---- types ------------------------------------------------------------------------------
# a static type is ("num", unit) | ("date",) | ("str",) | ("bool",) | ("other", name)

SType = tuple[Any, ...]

_FUNCS = {"param", "min", "max", "round", "floor", "ceil", "add_years", "add_months", "add_days",
          "jan1_after", "year", "date", "days_between"}


def static_type_of(vtype: str) -> SType:
    """The checker's static type of a vocabulary value type: a number with its unit, a date, a boolean, text, or another type by name."""
    if vtype in NUMERIC_UNITS:
        return ("num", unit_of(vtype))
    if vtype == "date":
        return ("date",)
    if vtype == "bool":
        return ("bool",)
    if vtype in ("string", "enum", "ref"):
        return ("str",)
    return ("other", vtype)


def describe(t: SType) -> str:
    """A static type in words for error messages ("tenge", "date", "bool" …)."""
    if t[0] == "num":
        return type_for_unit(t[1])
    return str(t[0] if t[0] != "other" else t[1])


def typecheck(e: Expr, var_types: Mapping[str, str], param_types: Mapping[str, str]) -> SType:
    """Return the static type of ``e`` or raise :class:`ExprError`."""
    if e.kind == "num":
        return ("num", ())
    if e.kind == "str":
        return ("str",)
    if e.kind == "var":
        if e.value not in var_types:
            raise ExprError(f"variable ${e.value} is not bound by the rule's conditions", e.col, "unbound")
        return static_type_of(var_types[e.value])
    if e.kind == "neg":
        t = typecheck(e.args[0], var_types, param_types)
        if t[0] != "num":
            raise ExprError(f"cannot negate a {describe(t)}", e.col, "type")
        return t
    if e.kind == "bin":
        lt = typecheck(e.args[0], var_types, param_types)
        rt = typecheck(e.args[1], var_types, param_types)
        if lt[0] != "num" or rt[0] != "num":
            raise ExprError(f"'{e.value}' needs numbers, got {describe(lt)} and {describe(rt)}", e.col, "type")
        lu, ru = dict(lt[1]), dict(rt[1])
        if e.value in "+-":
            if lu != ru:
                raise ExprError(f"cannot {'add' if e.value == '+' else 'subtract'} {describe(rt)} "
                                f"{'to' if e.value == '+' else 'from'} {describe(lt)}", e.col, "type")
            return lt
        sign = 1 if e.value == "*" else -1
        out = dict(lu)
        for k, v in ru.items():
            out[k] = out.get(k, 0) + sign * v
        return ("num", tuple(sorted((k, v) for k, v in out.items() if v)))
    if e.kind == "call":
        fn = e.value
        if fn not in _FUNCS:
            from ..errors import suggest

            raise ExprError(f"unknown function '{fn}'", e.col, "syntax", suggest(fn, _FUNCS))
        args = [typecheck(a, var_types, param_types) for a in e.args]

        def need(n: int | tuple[int, int]) -> None:
            lo, hi = (n, n) if isinstance(n, int) else n
            if not lo <= len(args) <= hi:
                raise ExprError(f"{fn}() takes {lo if lo == hi else f'{lo} to {hi}'} arguments", e.col, "type")

        if fn == "param":
            need((1, 2))
            if e.args[0].kind != "str":
                raise ExprError("param() needs a parameter name first", e.col, "type")
            name = e.args[0].value
            if name not in param_types:
                from ..errors import suggest

                raise ExprError(f"unknown parameter '{name}'", e.args[0].col, "param", suggest(name, param_types))
            if len(args) == 2 and args[1][0] != "date":
                raise ExprError(f"param()'s second argument must be a date, got {describe(args[1])}", e.col, "type")
            return static_type_of(param_types[name])
        if fn in ("min", "max"):
            if not args:
                raise ExprError(f"{fn}() needs arguments", e.col, "type")
            for a in args[1:]:
                if a != args[0]:
                    raise ExprError(f"{fn}() arguments must share one type", e.col, "type")
            return args[0]
        if fn in ("round", "floor", "ceil"):
            need(1)
            if args[0][0] != "num":
                raise ExprError(f"{fn}() needs a number", e.col, "type")
            return args[0]
        if fn in ("add_years", "add_months", "add_days"):
            need(2)
            if args[0][0] != "date" or args[1][0] != "num":
                raise ExprError(f"{fn}(date, number) got {describe(args[0])}, {describe(args[1])}", e.col, "type")
            return ("date",)
        if fn == "jan1_after":
            need(1)
            if args[0][0] != "date":
                raise ExprError("jan1_after() needs a date", e.col, "type")
            return ("date",)
        if fn == "year":
            need(1)
            if args[0][0] != "date":
                raise ExprError("year() needs a date", e.col, "type")
            return ("num", ())
        if fn == "date":
            need(3)
            if any(a[0] != "num" for a in args):
                raise ExprError("date(y, m, d) needs numbers", e.col, "type")
            return ("date",)
        if fn == "days_between":
            need(2)
            if args[0][0] != "date" or args[1][0] != "date":
                raise ExprError("days_between() needs two dates", e.col, "type")
            return ("num", (("day", 1),))
    raise ExprError("bad expression", e.col, "type")


# ---- evaluation ---------------------------------------------------------------------------

ParamReader = Callable[[str, "_dt.date | None"], Any]


def _add_months(d: _dt.date, n: int) -> _dt.date:
    month0 = d.month - 1 + n
    year = d.year + month0 // 12
    month = month0 % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return _dt.date(year, month, day)


def evaluate(e: Expr, env: Mapping[str, Any], read_param: ParamReader) -> Any:
    """Evaluate; numbers come back as Fractions, unknown inputs give ``None``.

    A number whose magnitude exceeds what a fact may hold (15 digits, values.MAX_MAGNITUDE) is
    an error, so that neither engine stores a number that the other could not (Python's floats
    overflow beyond 1e308, durable_rules' integers beyond 2^63)."""
    from .values import MAX_MAGNITUDE

    value = _evaluate(e, env, read_param)
    for end in ((value.lo, value.hi) if isinstance(value, Interval) else (value,)):
        if isinstance(end, (Fraction, int)) and not isinstance(end, bool) and abs(Fraction(end)) > MAX_MAGNITUDE:
            digits = len(str(abs(int(end))))
            raise ExprError(f"the result has {digits} digits: more than a fact may hold (15)", e.col)
    return value


def _num(v: Any) -> Any:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return Fraction(v)
    return v


def _load(v: Any) -> Any:
    """A variable's value for arithmetic: numbers as Fractions, intervals with Fraction ends;
    an interval unbounded on both sides is unknown."""
    if isinstance(v, Interval):
        if v.unbounded:
            return None
        if v.is_point:
            return _num(v.lo)
        return Interval(_num(v.lo), _num(v.hi), v.lo_open, v.hi_open)
    return _num(v)


def _norm(v: Any) -> Any:
    if isinstance(v, Interval):
        if v.empty:
            raise ExprError("an empty range of values")
        if v.is_point:
            return v.lo
        if v.unbounded:
            return None
    return v


def _ends(v: Any) -> tuple[Any, bool, Any, bool]:
    if isinstance(v, Interval):
        return v.lo, v.lo_open, v.hi, v.hi_open
    return v, False, v, False


def _monotone(fn: Callable[..., Any], args: list[Any]) -> Any:
    """``fn`` non-decreasing in every argument, over intervals: applied to the lower and to the
    upper ends (an unbounded end stays unbounded; an excluded end is included: a superset)."""
    if not any(isinstance(a, Interval) for a in args):
        return fn(*args)
    los = [_ends(a)[0] for a in args]
    his = [_ends(a)[2] for a in args]
    lo = None if any(x is None for x in los) else fn(*los)
    hi = None if any(x is None for x in his) else fn(*his)
    return _norm(Interval(lo, hi))


def _iv_add(a: Any, b: Any) -> Any:
    if not isinstance(a, Interval) and not isinstance(b, Interval):
        return a + b
    alo, alo_o, ahi, ahi_o = _ends(a)
    blo, blo_o, bhi, bhi_o = _ends(b)
    lo = None if alo is None or blo is None else alo + blo
    hi = None if ahi is None or bhi is None else ahi + bhi
    return _norm(Interval(lo, hi, alo_o or blo_o, ahi_o or bhi_o))


def _iv_neg(a: Any) -> Any:
    if not isinstance(a, Interval):
        return -a
    return _norm(Interval(None if a.hi is None else -a.hi, None if a.lo is None else -a.lo, a.hi_open, a.lo_open))


def _iv_mul(a: Any, b: Any) -> Any:
    if not isinstance(a, Interval) and not isinstance(b, Interval):
        return a * b
    if not isinstance(a, Interval):
        a, b = b, a
    if not isinstance(b, Interval):  # an interval times a number
        c = b
        if c == 0:
            return Fraction(0)
        lo = None if a.lo is None else a.lo * c
        hi = None if a.hi is None else a.hi * c
        if c > 0:
            return _norm(Interval(lo, hi, a.lo_open, a.hi_open))
        return _norm(Interval(hi, lo, a.hi_open, a.lo_open))
    ends = [a.lo, a.hi, b.lo, b.hi]
    if all(x is not None for x in ends):
        prods = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return _norm(Interval(min(prods), max(prods)))
    if a.lo is not None and b.lo is not None and a.lo >= 0 and b.lo >= 0:
        return _norm(Interval(a.lo * b.lo, None))
    return None  # unbounded on a side of mixed sign: unknown


def _iv_div(a: Any, b: Any, col: int) -> Any:
    if not isinstance(b, Interval):
        if b == 0:
            raise ExprError("division by zero", col)
        return _iv_mul(a, Fraction(1) / Fraction(b)) if isinstance(a, Interval) else Fraction(a) / Fraction(b)
    if b.lo is None or b.hi is None or b.contains(0) or b.lo == 0 or b.hi == 0:
        return None  # a divisor that may be zero, or unbounded: unknown
    return _iv_mul(a, Interval(Fraction(1) / b.hi, Fraction(1) / b.lo))


def _iv_minmax(fn: Callable[..., Any], vals: list[Any]) -> Any:
    if not any(isinstance(v, Interval) for v in vals):
        return fn(vals)
    los = [_ends(v)[0] for v in vals]
    his = [_ends(v)[2] for v in vals]
    if fn is min:
        lo = None if any(x is None for x in los) else min(los)
        finite = [x for x in his if x is not None]
        hi = min(finite) if finite else None
    else:
        finite = [x for x in los if x is not None]
        lo = max(finite) if finite else None
        hi = None if any(x is None for x in his) else max(his)
    return _norm(Interval(lo, hi))


def _evaluate(e: Expr, env: Mapping[str, Any], read_param: ParamReader) -> Any:
    k = e.kind
    if k == "num":
        return e.value
    if k == "str":
        return e.value
    if k == "var":
        return _load(env.get(e.value))
    if k == "neg":
        v = _evaluate(e.args[0], env, read_param)
        return None if v is None else _iv_neg(v)
    if k == "bin":
        a = _evaluate(e.args[0], env, read_param)
        b = _evaluate(e.args[1], env, read_param)
        if a is None or b is None:
            return None
        if e.value == "+":
            return _iv_add(a, b)
        if e.value == "-":
            return _iv_add(a, _iv_neg(b))
        if e.value == "*":
            return _iv_mul(a, b)
        return _iv_div(a, b, e.col)
    assert k == "call"
    fn = e.value
    if fn == "param":
        day = None
        if len(e.args) == 2:
            day = _evaluate(e.args[1], env, read_param)
            if day is None:
                return None
        v = read_param(e.args[0].value, day)
        if v is None:
            return None
        return _load(v)
    vals = [_evaluate(a, env, read_param) for a in e.args]
    if any(v is None for v in vals):
        return None
    if fn == "min":
        return _iv_minmax(min, vals)
    if fn == "max":
        return _iv_minmax(max, vals)
    try:
        if fn == "round":  # half away from zero, as amounts are rounded in practice
            return _monotone(_round, vals)
        if fn == "floor":
            return _monotone(lambda x: Fraction(math.floor(x)), vals)
        if fn == "ceil":
            return _monotone(lambda x: Fraction(math.ceil(x)), vals)
        if fn == "add_years":
            return _monotone(lambda d, n: _add_months(d, int(n) * 12), vals)
        if fn == "add_months":
            return _monotone(lambda d, n: _add_months(d, int(n)), vals)
        if fn == "add_days":
            return _monotone(lambda d, n: d + _dt.timedelta(days=int(n)), vals)
        if fn == "jan1_after":
            return _monotone(lambda d: _dt.date(d.year + 1, 1, 1), vals)
        if fn == "year":
            return _monotone(lambda d: Fraction(d.year), vals)
        if fn == "date":  # ordered as (year, month, day): the least date from the least of each
            return _monotone(lambda y, m, d: _dt.date(int(y), int(m), int(d)), vals)
        if fn == "days_between":
            return _iv_add(_monotone(lambda b: Fraction(b.toordinal()), [vals[1]]),
                           _iv_neg(_monotone(lambda a: Fraction(a.toordinal()), [vals[0]])))
    except (ValueError, OverflowError) as exc:
        raise ExprError(f"{fn}(): {exc}", e.col) from exc
    raise ExprError(f"unknown function {fn}", e.col)


def _round(x: Any) -> Fraction:
    x = Fraction(x)
    return Fraction(math.floor(abs(x) + Fraction(1, 2))) * (1 if x >= 0 else -1)


def render(e: Expr) -> str:
    """``e`` as text, fully parenthesised (for messages and the rule views)."""
    if e.kind == "num":
        return str(e.value)
    if e.kind == "str":
        return str(e.value)
    if e.kind == "var":
        return "$" + str(e.value)
    if e.kind == "neg":
        return "-" + render(e.args[0])
    if e.kind == "bin":
        return f"({render(e.args[0])} {e.value} {render(e.args[1])})"
    return f"{e.value}({', '.join(render(a) for a in e.args)})"


def arg_names(args: Sequence[Expr]) -> list[str]:
    """Each argument rendered as text (for messages naming a call's arguments)."""
    return [render(a) for a in args]
