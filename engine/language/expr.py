"""The expression language of computed attributes (``"= $damage / param(mci, $date)"``).

A tiny, safe language parsed by hand (no ``eval``): numbers, 'strings', ``$variables``,
``+ - * /``, parentheses and a fixed set of functions. Expressions are type-checked with
units at load time (tenge ÷ tenge-per-MCI = MCI; adding tenge to MCI is an error) and
evaluated exactly with fractions. An unknown input makes the result unknown (``None``).

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
    return _Parser(text).parse()


def variables(e: Expr) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    if e.kind == "var":
        out.append((e.value, e.col))
    for a in e.args:
        out.extend(variables(a))
    return out


def params_used(e: Expr) -> list[str]:
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
    if isinstance(value, (Fraction, int)) and not isinstance(value, bool) and abs(Fraction(value)) > MAX_MAGNITUDE:
        digits = len(str(abs(int(value))))
        raise ExprError(f"the result has {digits} digits: more than a fact may hold (15)", e.col)
    return value


def _evaluate(e: Expr, env: Mapping[str, Any], read_param: ParamReader) -> Any:
    k = e.kind
    if k == "num":
        return e.value
    if k == "str":
        return e.value
    if k == "var":
        v = env.get(e.value)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return Fraction(v)
        return v
    if k == "neg":
        v = _evaluate(e.args[0], env, read_param)
        return None if v is None else -v
    if k == "bin":
        a = _evaluate(e.args[0], env, read_param)
        b = _evaluate(e.args[1], env, read_param)
        if a is None or b is None:
            return None
        if e.value == "+":
            return a + b
        if e.value == "-":
            return a - b
        if e.value == "*":
            return a * b
        if b == 0:
            raise ExprError("division by zero", e.col)
        return Fraction(a) / Fraction(b)
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
        return Fraction(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
    vals = [_evaluate(a, env, read_param) for a in e.args]
    if any(v is None for v in vals):
        return None
    if fn == "min":
        return min(vals)
    if fn == "max":
        return max(vals)
    if fn == "round":  # half away from zero, as amounts are rounded in practice
        x = Fraction(vals[0])
        return Fraction(math.floor(abs(x) + Fraction(1, 2))) * (1 if x >= 0 else -1)
    if fn == "floor":
        return Fraction(math.floor(vals[0]))
    if fn == "ceil":
        return Fraction(math.ceil(vals[0]))
    try:
        if fn == "add_years":
            return _add_months(vals[0], int(vals[1]) * 12)
        if fn == "add_months":
            return _add_months(vals[0], int(vals[1]))
        if fn == "add_days":
            return vals[0] + _dt.timedelta(days=int(vals[1]))
        if fn == "jan1_after":
            return _dt.date(vals[0].year + 1, 1, 1)
        if fn == "year":
            return Fraction(vals[0].year)
        if fn == "date":
            return _dt.date(int(vals[0]), int(vals[1]), int(vals[2]))
        if fn == "days_between":
            return Fraction((vals[1] - vals[0]).days)
    except (ValueError, OverflowError) as exc:
        raise ExprError(f"{fn}(): {exc}", e.col) from exc
    raise ExprError(f"unknown function {fn}", e.col)


def render(e: Expr) -> str:
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
    return [render(a) for a in args]
