"""Loading rule files: YAML → checked :class:`~.model.Rule` objects.

A rule file::

    article: copyright_law/9            # the article the file encodes (kb citation)
    rules:
      - id: copyright_law.9.1.arises_on_creation
        cite: copyright_law/9/1          # defaults to the file's article
        excerpt: {ru: "...", en: "..."}  # the words of the law this rule encodes
        when:  [conditions...]
        then:  [derived facts...]
        because: {en: "...", ru: "..."}  # explanation template, {var} placeholders

See docs/rule-language.md for every construct.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import Diagnostics, Location, suggest
from .expr import ExprError, parse_expr, static_type_of, describe
from .kb import CASE_TYPE, KB, FactType
from .model import AnyOf, Condition, Defeat, Head, HeadValue, Not, Op, Operand, OperandKind, Pattern, Rule, Test, ValueKind
from .schema import Checker
from .values import NUMERIC_UNITS, value_matches_type
from .yamlio import LDict, LList, load_file

__all__ = ["load_rules", "RULE_KEYS", "OPS"]

RULE_KEYS = [
    "id", "version", "cite", "excerpt", "title", "because", "assumption", "valid", "amended_by",
    "date", "when", "then", "defeats", "note",
]
OPS = {
    "=": Op.EQ, "==": Op.EQ, "eq": Op.EQ, "!=": Op.NE, "ne": Op.NE, "<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE,
    "in": Op.IN, "not_in": Op.NOT_IN, "contains": Op.CONTAINS, "present": Op.PRESENT,
}
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_VAR_RE = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_]*$")
_ORDER_OPS = {"<", "<=", ">", ">="}


def _ops_for(vtype: str) -> set[str]:
    if vtype in NUMERIC_UNITS or vtype == "date":
        return {"=", "!=", "<", "<=", ">", ">=", "in", "not_in", "present"}
    if vtype == "list":
        return {"contains", "present"}
    if vtype == "bool":
        return {"=", "!=", "present"}
    return {"=", "!=", "in", "not_in", "present"}


class _RuleParser:
    def __init__(self, kb: KB, diags: Diagnostics, path: str):
        self.kb = kb
        self.diags = diags
        self.ck = Checker(diags, path)
        self.path = path
        self.rule_id = "-"

    def err(self, loc: Location, code: str, msg: str, hint: str = "") -> None:
        self.diags.error(loc, code, msg, self.rule_id, hint)

    # ---- conditions -----------------------------------------------------------------
    def conditions(self, data: Any, loc: Location, what: str = "when") -> tuple[Condition, ...]:
        if isinstance(data, LDict):
            items: list[Any] = [data]
            locs = [data.loc]
        elif isinstance(data, LList):
            items = list(data)
            locs = list(data.item_locs)
        else:
            self.err(loc, "bad-shape", f"'{what}' must be a list of conditions")
            return ()
        out: list[Condition] = []
        for item, iloc in zip(items, locs):
            c = self.condition(item, iloc)
            if c is not None:
                if isinstance(c, list):
                    out.extend(c)
                else:
                    out.append(c)
        return tuple(out)

    def condition(self, item: Any, loc: Location) -> Condition | list[Condition] | None:
        if not isinstance(item, LDict) or len(item) != 1:
            self.err(loc, "bad-condition", "a condition is a mapping with one key: a fact type, 'not', 'any' or 'all'")
            return None
        (key, body), = item.items()
        kloc = item.key_loc(key)
        if key == "not":
            inner = self.conditions(body, item.val_loc(key), "not")
            if not inner:
                self.err(kloc, "bad-condition", "'not' needs at least one condition")
                return None
            return Not(inner, kloc)
        if key == "all":
            return list(self.conditions(body, item.val_loc(key), "all"))
        if key == "any":
            if not isinstance(body, LList) or len(body) < 1:
                self.err(kloc, "bad-condition", "'any' needs a list of branches")
                return None
            branches = []
            for i, br in enumerate(body):
                bloc = body.item_loc(i)
                branches.append(self.conditions(br, bloc, "any branch"))
            return AnyOf(tuple(b for b in branches if b), kloc)
        return self.pattern(str(key), body, kloc, item.val_loc(key))

    def pattern(self, tname: str, body: Any, kloc: Location, vloc: Location) -> Pattern | None:
        ftype = self.kb.types.get(tname)
        if ftype is None:
            self.err(kloc, "unknown-type", f"unknown fact type '{tname}'",
                     suggest(tname, list(self.kb.types) + ["not", "any", "all"]))
            return None
        if body is None:
            return Pattern(tname, (), (), kloc)
        if not isinstance(body, LDict):
            self.err(vloc, "bad-shape", f"the conditions on '{tname}' must be a mapping of attributes")
            return None
        tests: list[Test] = []
        for attr, spec in body.items():
            aloc = body.key_loc(attr)
            attr = str(attr)
            if attr == "as":
                if ftype.kind != "entity":
                    self.err(aloc, "bad-as", f"'as' binds an entity's key; '{tname}' is a derived fact")
                    continue
                name = str(spec)
                if not name.startswith("$"):
                    name = "$" + name
                if not _VAR_RE.match(name):
                    self.err(body.val_loc("as"), "bad-variable", f"'{spec}' is not a variable name")
                    continue
                tests.append(Test("key", Op.EQ, Operand(OperandKind.VAR, name[1:], body.val_loc("as")), aloc))
                continue
            if attr == "key":
                if ftype.kind != "entity":
                    self.err(aloc, "unknown-attribute", f"derived fact '{tname}' has no key")
                    continue
                vtype = "ref"
            else:
                a = ftype.attributes.get(attr)
                if a is None:
                    self.err(aloc, "unknown-attribute", f"'{tname}' has no attribute '{attr}'",
                             suggest(attr, list(ftype.attributes) + (["key", "as"] if ftype.kind == "entity" else [])))
                    continue
                vtype = a.type
            vl = body.val_loc(attr)
            if isinstance(spec, LDict):
                for op_key, operand in spec.items():
                    op = OPS.get(str(op_key))
                    oloc = spec.key_loc(op_key)
                    if op is None:
                        self.err(oloc, "unknown-operator", f"unknown operator '{op_key}'", suggest(str(op_key), OPS))
                        continue
                    t = self.test(ftype, attr, vtype, op, operand, spec.val_loc(op_key), oloc)
                    if t:
                        tests.append(t)
            elif isinstance(spec, LList):
                self.err(vl, "bad-shape", f"a list is not a value of '{attr}': write {{in: [...]}} or {{contains: x}}")
            else:
                t = self.test(ftype, attr, vtype, Op.EQ, spec, vl, vl)
                if t:
                    tests.append(t)
        return Pattern(tname, tuple(tests), (), kloc)

    def test(self, ftype: FactType, attr: str, vtype: str, op: Op, raw: Any, vloc: Location,
             oloc: Location) -> Test | None:
        allowed = _ops_for(vtype)
        if op not in allowed:
            self.err(oloc, "bad-operator", f"operator '{op}' does not apply to {vtype} attribute '{attr}'",
                     "allowed: " + ", ".join(sorted(allowed)))
            return None
        if op == "present":
            if not isinstance(raw, bool):
                self.err(vloc, "type-mismatch", "present: takes true or false")
                return None
            return Test(attr, op, Operand(OperandKind.LIT, raw, vloc), oloc)
        if op in ("in", "not_in"):
            if not isinstance(raw, LList) or not raw:
                self.err(vloc, "bad-shape", f"'{op}' needs a non-empty list of values")
                return None
            vals = []
            for i, v in enumerate(raw):
                if self.literal_ok(ftype, attr, vtype, v, raw.item_loc(i)):
                    vals.append(v)
            return Test(attr, op, Operand(OperandKind.LIT, tuple(vals), vloc), oloc)
        if isinstance(raw, str) and raw.startswith("$"):
            if not _VAR_RE.match(raw):
                self.err(vloc, "bad-variable", f"'{raw}' is not a variable name")
                return None
            return Test(attr, op, Operand(OperandKind.VAR, raw[1:], vloc), oloc)
        if isinstance(raw, LDict) and "param" in raw:
            pname = str(raw["param"])
            param = self.kb.parameters.get(pname)
            if param is None:
                self.err(raw.val_loc("param"), "unknown-parameter", f"unknown parameter '{pname}'",
                         suggest(pname, self.kb.parameters))
                return None
            ptype = param.type
            if static_type_of(ptype) != static_type_of(vtype if vtype != "list" else "string"):
                self.err(raw.val_loc("param"), "type-mismatch",
                         f"parameter '{pname}' is {describe(static_type_of(ptype))}, "
                         f"but '{attr}' is {describe(static_type_of(vtype))}")
                return None
            return Test(attr, op, Operand(OperandKind.PARAM, pname, vloc), oloc)
        check_type = vtype
        if op == "contains":
            check_type = "enum"
        if not self.literal_ok(ftype, attr, check_type, raw, vloc):
            return None
        return Test(attr, op, Operand(OperandKind.LIT, raw, vloc), oloc)

    def literal_ok(self, ftype: FactType, attr: str, vtype: str, value: Any, loc: Location) -> bool:
        problem = value_matches_type(vtype, value)
        if problem:
            self.err(loc, "type-mismatch", f"'{ftype.name}.{attr}' is {vtype}: expected {problem}, got {value!r}")
            return False
        a = ftype.attributes.get(attr)
        if a is not None and a.values and vtype in ("enum", "list") and str(value) not in a.values:
            self.err(loc, "unknown-value", f"'{value}' is not a value of '{ftype.name}.{attr}'",
                     suggest(str(value), a.values) or "values: " + ", ".join(a.values))
            return False
        return True

    def text_col(self, vloc: Location, raw: str) -> int:
        """Column of the first character after '=' in an expression scalar (quoted or not)."""
        lines = self.diags.sources.get(vloc.path) or []
        line = lines[vloc.line - 1] if 0 < vloc.line <= len(lines) else ""
        quoted = 1 if line[vloc.col - 1:vloc.col] in ('"', "'") else 0
        lead = len(raw) - len(raw.lstrip())
        return vloc.col + quoted + lead + 1

    # ---- heads ---------------------------------------------------------------------------
    def heads(self, data: Any, loc: Location) -> tuple[Head, ...]:
        if isinstance(data, LDict):
            items, locs = [data], [data.loc]
        elif isinstance(data, LList):
            items, locs = list(data), list(data.item_locs)
        else:
            self.err(loc, "bad-shape", "'then' must be a list of derived facts")
            return ()
        out = []
        for item, iloc in zip(items, locs):
            if not isinstance(item, LDict) or len(item) != 1:
                self.err(iloc, "bad-shape", "a derived fact is a mapping {type: {attribute: value}}")
                continue
            (tname, body), = item.items()
            kloc = item.key_loc(tname)
            ftype = self.kb.types.get(str(tname))
            if ftype is None:
                self.err(kloc, "unknown-type", f"unknown fact type '{tname}'", suggest(str(tname), self.kb.types))
                continue
            if ftype.kind == "entity":
                self.err(kloc, "bad-head", f"'{tname}' is an input entity; rules derive conclusions, not entities")
                continue
            attrs: list[tuple[str, HeadValue]] = []
            if body is None:
                body = LDict()
                body.loc, body.key_locs, body.val_locs = kloc, {}, {}
            if not isinstance(body, LDict):
                self.err(item.val_loc(tname), "bad-shape", "the attributes of a derived fact must be a mapping")
                continue
            for attr, raw in body.items():
                a = ftype.attributes.get(str(attr))
                aloc = body.key_loc(attr)
                vloc = body.val_loc(attr)
                if a is None:
                    self.err(aloc, "unknown-attribute", f"'{tname}' has no attribute '{attr}'",
                             suggest(str(attr), ftype.attributes))
                    continue
                if isinstance(raw, str) and raw.startswith("$") and _VAR_RE.match(raw):
                    attrs.append((str(attr), HeadValue(ValueKind.VAR, raw[1:], vloc, raw)))
                elif isinstance(raw, str) and raw.lstrip().startswith("="):
                    text = raw.lstrip()[1:]
                    col0 = self.text_col(vloc, raw)
                    try:
                        e = parse_expr(text)
                    except ExprError as exc:
                        self.err(Location(vloc.path, vloc.line, col0 + exc.col - 1), "bad-expression",
                                 f"expression: {exc}", exc.hint)
                        continue
                    attrs.append((str(attr), HeadValue(ValueKind.EXPR, e, vloc, text.strip(), col0)))
                else:
                    if isinstance(raw, (LDict, LList)) and a.type != "list":
                        self.err(vloc, "bad-shape", f"value of '{attr}' must be a literal, $variable or '= expression'")
                        continue
                    if a.type == "list":
                        if not isinstance(raw, LList):
                            self.err(vloc, "type-mismatch", f"'{tname}.{attr}' is a list")
                            continue
                        ok = all(self.literal_ok(ftype, str(attr), "enum", v, raw.item_loc(i)) for i, v in enumerate(raw))
                        if ok:
                            attrs.append((str(attr), HeadValue(ValueKind.LIT, tuple(sorted(set(raw))), vloc)))
                        continue
                    if self.literal_ok(ftype, str(attr), a.type, raw, vloc):
                        attrs.append((str(attr), HeadValue(ValueKind.LIT, raw, vloc)))
            names = {n for n, _ in attrs}
            for a in ftype.attributes.values():
                if a.required and a.name not in names:
                    self.err(kloc, "missing-attribute", f"derived '{tname}' needs attribute '{a.name}'")
            out.append(Head(str(tname), tuple(sorted(attrs, key=lambda x: x[0])), kloc))
        return tuple(out)

    # ---- rule ------------------------------------------------------------------------------
    def rule(self, data: LDict, file_article: str | None) -> Rule | None:
        before = len(self.diags.errors)
        rule = self._rule(data, file_article)
        if rule is not None and len(self.diags.errors) > before:
            from dataclasses import replace

            rule = replace(rule, broken=True)
        return rule

    def _rule(self, data: LDict, file_article: str | None) -> Rule | None:
        rid = data.get("id")
        self.rule_id = str(rid) if isinstance(rid, str) else "-"
        self.ck.keys(data, RULE_KEYS, self.rule_id, required=["id", "when", "then"], what="rule")
        if not isinstance(rid, str):
            if "id" in data:
                self.err(data.val_loc("id"), "bad-id", "rule id must be text")
            return None
        if not _ID_RE.match(rid):
            self.err(data.val_loc("id"), "bad-id",
                     "rule id must be dotted lower-case words, e.g. copyright_law.9.1.arises_on_creation")
        cites: list[str] = []
        raw_cite = data.get("cite", file_article)
        if isinstance(raw_cite, str):
            cites = [raw_cite]
        elif isinstance(raw_cite, LList):
            cites = [str(c) for c in raw_cite]
        elif raw_cite is None:
            self.err(data.loc, "missing-citation", "rule cites no article: give 'cite' or the file's 'article'")
        cite_loc = data.val_loc("cite") if "cite" in data else data.loc
        for c in cites:
            problem = self.kb.check_citation(c)
            if problem:
                self.err(cite_loc, "unknown-citation", problem)
        excerpt = self.ck.text(data, "excerpt", self.rule_id)
        if not excerpt:
            self.err(data.loc, "missing-excerpt", "rule has no 'excerpt' of the law it encodes")
        valid_from = valid_to = None
        if "valid" in data:
            v = self.ck.mapping(data["valid"], "valid", self.rule_id, data.val_loc("valid"))
            if v is not None:
                self.ck.keys(v, ["from", "to"], self.rule_id, what="valid")
                valid_from = self.ck.date(v, "from", self.rule_id)
                valid_to = self.ck.date(v, "to", self.rule_id)
                if valid_from and valid_to and valid_to < valid_from:
                    self.err(v.loc, "bad-interval", f"valid.to {valid_to} is before valid.from {valid_from}")
        date_attr = self.ck.string(data, "date", self.rule_id)
        case_t = self.kb.types.get(CASE_TYPE)
        if date_attr is not None:
            if case_t is None or date_attr not in case_t.attributes or case_t.attributes[date_attr].type != "date":
                dates = [a.name for a in case_t.attributes.values() if a.type == "date"] if case_t else []
                self.err(data.val_loc("date"), "unknown-date", f"'{date_attr}' is not a date of the case",
                         suggest(date_attr, dates))
                date_attr = None
        elif case_t is not None and "act_date" in case_t.attributes:
            date_attr = "act_date"
        when = self.conditions(data.get("when"), data.val_loc("when") if "when" in data else data.loc)
        then = self.heads(data.get("then"), data.val_loc("then") if "then" in data else data.loc)
        defeats: list[Defeat] = []
        if "defeats" in data:
            raw = data["defeats"]
            seq = raw if isinstance(raw, LList) else None
            if seq is None:
                self.err(data.val_loc("defeats"), "bad-shape", "defeats: a list of {rule: id, match: {attr: $var}}")
            for i, d in enumerate(seq or []):
                dloc = seq.item_loc(i) if seq is not None else data.loc
                if isinstance(d, str):
                    defeats.append(Defeat(d, (), dloc))
                    continue
                if not isinstance(d, LDict):
                    self.err(dloc, "bad-shape", "defeats item: {rule: id, match: {attr: $var}}")
                    continue
                self.ck.keys(d, ["rule", "match"], self.rule_id, required=["rule"], what="defeats")
                match: list[tuple[str, str]] = []
                m = d.get("match")
                if isinstance(m, LDict):
                    for a, var in m.items():
                        if not (isinstance(var, str) and _VAR_RE.match(var)):
                            self.err(m.val_loc(a), "bad-variable", "match values are $variables")
                            continue
                        match.append((str(a), var[1:]))
                elif m is not None:
                    self.err(d.val_loc("match"), "bad-shape", "match: {attribute: $variable}")
                defeats.append(Defeat(str(d.get("rule")), tuple(sorted(match)), d.val_loc("rule")))
        because = self.ck.text(data, "because", self.rule_id)
        because_locs: dict[str, Location] = {}
        if isinstance(data.get("because"), LDict):
            because_locs = {str(k): data["because"].val_loc(k) for k in data["because"]}
        elif "because" in data:
            because_locs = {"en": data.val_loc("because")}
        if not because:
            self.err(data.loc, "missing-because", "rule has no 'because' explanation template")
        version = self.ck.string(data, "version", self.rule_id) or "1"
        return Rule(
            id=rid,
            version=version,
            cite=tuple(cites),
            excerpt=excerpt,
            title=self.ck.text(data, "title", self.rule_id),
            because=because,
            assumption=self.ck.text(data, "assumption", self.rule_id),
            valid_from=valid_from,
            valid_to=valid_to,
            amended_by=self.ck.string(data, "amended_by", self.rule_id) or "",
            date_attr=date_attr,
            when=when,
            then=then,
            defeats=tuple(defeats),
            file=self.path,
            loc=data.key_loc("id"),
            because_locs=because_locs,
        )


def load_rules(paths: list[Path], kb: KB, diags: Diagnostics, display_root: Path | None = None) -> list[Rule]:
    """Parse and check rule files (vocabulary, types, citations); variables are checked on compile."""
    rules: list[Rule] = []
    for path in sorted(paths):
        shown = str(path)
        if display_root is not None:
            try:
                shown = str(path.relative_to(display_root))
            except ValueError:
                pass
        data = load_file(path, diags, shown)
        if data is None:
            continue
        ck = Checker(diags, shown)
        if ck.mapping(data, "a rule file", "-") is None:
            continue
        ck.keys(data, ["article", "rules", "note"], "-", required=["rules"], what="rule file")
        file_article = data.get("article")
        if file_article is not None:
            if not isinstance(file_article, str):
                diags.error(data.val_loc("article"), "bad-type", "article must be a citation act/article", "-")
                file_article = None
            else:
                problem = kb.check_citation(file_article)
                if problem:
                    diags.error(data.val_loc("article"), "unknown-citation", problem, "-")
        seq = ck.sequence(data["rules"], "rules", "-", data.val_loc("rules")) if "rules" in data else None
        parser = _RuleParser(kb, diags, shown)
        for i, item in enumerate(seq or []):
            if not isinstance(item, LDict):
                diags.error(seq.item_loc(i) if seq is not None else data.loc, "bad-shape", "a rule must be a mapping", "-")
                continue
            r = parser.rule(item, file_article)
            if r is not None:
                rules.append(r)
    return rules


def find_rule_files(root: Path, diags: Diagnostics | None = None) -> list[Path]:
    """The rule files (*.yaml) under ``root``, found by a bounded walk.

    A folder with no rule file at its top or in its direct subfolders is refused (``--rules /``
    would otherwise walk the whole file system), and so is one with more than 20,000 entries
    or 16 levels; special files (FIFOs, devices, broken links) named *.yaml are reported.
    Problems go to ``diags``, or are raised as :class:`InputError` without it."""
    from ..errors import InputError
    from ..fileio import WalkTooLarge, find_files

    own = diags if diags is not None else Diagnostics()
    found: list[Path] = []
    if _is_empty(root):
        return found  # an empty rule base
    if not _has_rule_file_near_top(root):
        own.error(Location(str(root)), "no-rules", "no rule files (*.yaml) at the top of this folder or in its "
                  "subfolders: it is not a rules folder")
    else:
        try:
            found, skipped = find_files(root, (".yaml",))
        except WalkTooLarge as exc:
            own.error(Location(str(root)), "too-many-files", f"{exc}: is this the rules folder?")
            skipped = []
        for path, why in skipped:
            own.error(Location(str(path)), "not-a-file", f"skipped: {why}")
    if diags is None and own.errors:
        raise InputError(own.errors)
    return found


def _is_empty(root: Path) -> bool:
    import os

    try:
        with os.scandir(root) as it:
            return next(it, None) is None
    except OSError:
        return False


def _has_rule_file_near_top(root: Path) -> bool:
    import os

    try:
        with os.scandir(root) as it:
            entries = list(it)
    except OSError:
        return False
    for e in entries:
        if e.name.lower().endswith(".yaml"):
            return True
    for e in entries:
        try:
            if not e.is_dir():
                continue
            with os.scandir(e.path) as sub:
                if any(x.name.lower().endswith(".yaml") for x in sub):
                    return True
        except OSError:
            continue
    return False

