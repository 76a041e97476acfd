"""Constraints the world imposes on a case's dates and numbers (``kb/constraints.yaml``).

A constraint says that one attribute is not before (not less than) another: the act is not
before the work's creation, the rightholder learns of an act no earlier than the act. It never
gives a value: it narrows what an unknown or partly known value can be, so that a date the case
does not give ranges over what the world allows (an :class:`~.intervals.Interval` that is not
*stated*), and a comparison the bounds settle is decided. A case that contradicts a constraint
is refused when it is loaded.

File format::

    constraints:
      act_not_before_creation:
        title: {en: "A work is used only once it exists."}
        for: use                     # one instance per fact of this type in the case
        left: case.act_date          # case.<attr>: the case's dates; <attr>: the 'for' fact's;
        op: ">="                     #   <ref>.<attr>: the fact a ref attribute of it names
        right: work.created_on
        when: {author_alive: false}  # optional: only where the 'for' fact states these values

``op`` is one of ``<``, ``<=``, ``>``, ``>=``; both sides are dates, or numbers of one unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import suggest
from .intervals import Interval, compare, narrow
from .yamlio import LDict

if TYPE_CHECKING:
    from .kb import KB
    from .scenario import Fact
    from .schema import Checker

__all__ = ["Constraint", "Narrowed", "AppliedBound", "load_constraints", "apply_constraints", "relations_of",
           "CONSTRAINT_OPS"]

CONSTRAINT_OPS = ("<", "<=", ">", ">=")
_SWAP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Constraint:
    """One relation the world imposes on a case's dates or numbers (kb/constraints.yaml): for facts of ``for_type`` (where ``when`` holds), ``left`` ``op`` ``right``; it narrows unknown values to ranges and refuses a case that contradicts it."""

    id: str
    title: dict[str, str]
    for_type: str
    left: tuple[str, ...]  # ("case", attr) | (attr,) | (ref, attr)
    op: str
    right: tuple[str, ...]
    when: tuple[tuple[str, Any], ...] = ()

    def text(self, lang: str = "en") -> str:
        """The constraint's title in ``lang`` (the fallback kk -> ru -> en, then its id)."""
        from ..i18n import pick

        return pick(self.title, lang) or self.id


@dataclass(frozen=True)
class AppliedBound:
    """What the constraints imply for one attribute of the case: the range it is narrowed to."""

    fact: str
    attribute: str
    value: Interval
    constraints: tuple[str, ...]


@dataclass
class Narrowed:
    """The case's facts with the constraints applied, what they narrowed, and the constraints
    the case contradicts (then the narrowing is not applied)."""

    facts: list[Fact]
    applied: tuple[AppliedBound, ...] = ()
    violated: tuple[tuple[str, str], ...] = ()  # (constraint id, description)
    instances: list[tuple[Constraint, tuple[str, str], tuple[str, str]]] = field(default_factory=list)


# ---- loading and checking -----------------------------------------------------------------------


def load_constraints(kb: KB, data: Any, ck: Checker) -> list[Constraint]:
    """The constraints of a ``constraints.yaml`` document, each checked against the vocabulary
    (located errors in ``ck.diags``)."""
    ck.keys(data, ["constraints", "description"], "constraints", required=["constraints"])
    items = ck.mapping(data.get("constraints"), "constraints", "constraints", data.loc)
    out: list[Constraint] = []
    if items is None:
        return out
    for cid, spec in items.items():
        subject = f"constraint {cid}"
        spec = ck.mapping(spec, subject, str(cid), items.val_loc(cid))
        if spec is None:
            continue
        ck.keys(spec, ["title", "for", "left", "op", "right", "when", "why"], str(cid),
                required=["title", "for", "left", "op", "right"])
        title = ck.text(spec, "title", str(cid), required=True)
        ftype = ck.string(spec, "for", str(cid)) or ""
        t = kb.types.get(ftype)
        if t is None or t.kind != "entity":
            ck.diags.error(spec.val_loc("for"), "unknown-type", f"'{ftype}' is not an entity type", str(cid),
                           suggest(ftype, [x.name for x in kb.types.values() if x.kind == "entity"]))
            continue
        op = ck.string(spec, "op", str(cid)) or ""
        if op not in CONSTRAINT_OPS:
            ck.diags.error(spec.val_loc("op"), "bad-operator", f"op must be one of {', '.join(CONSTRAINT_OPS)}",
                           str(cid), suggest(op, CONSTRAINT_OPS))
            continue
        sides = []
        for key in ("left", "right"):
            path = ck.string(spec, key, str(cid)) or ""
            vtype, problem = _resolve_type(kb, ftype, path)
            if problem:
                ck.diags.error(spec.val_loc(key), "bad-path", problem, str(cid))
                break
            sides.append((tuple(path.split(".")), vtype))
        if len(sides) != 2:
            continue
        if sides[0][1] != sides[1][1]:
            ck.diags.error(spec.loc, "type-mismatch", f"{spec.get('left')} ({sides[0][1]}) and {spec.get('right')} "
                           f"({sides[1][1]}) cannot be compared", str(cid))
            continue
        when: list[tuple[str, Any]] = []
        if "when" in spec:
            w = ck.mapping(spec["when"], "when", str(cid), spec.val_loc("when"))
            for attr, value in (w or LDict()).items():
                a = t.attributes.get(str(attr))
                if a is None or a.type not in ("bool", "enum"):
                    ck.diags.error(w.key_loc(attr) if w is not None else spec.loc, "bad-path",
                                   f"'{ftype}.{attr}' is not a yes/no or choice attribute", str(cid),
                                   suggest(str(attr), t.attributes))
                    continue
                if (a.type == "bool" and not isinstance(value, bool)) or (a.type == "enum" and str(value) not in a.values):
                    ck.diags.error(w.val_loc(attr) if w is not None else spec.loc, "unknown-value",
                                   f"'{value}' is not a value of '{ftype}.{attr}'", str(cid))
                    continue
                when.append((str(attr), value if a.type == "bool" else str(value)))
        out.append(Constraint(str(cid), title, ftype, sides[0][0], op, sides[1][0], tuple(when)))
    return out


def _resolve_type(kb: KB, ftype: str, path: str) -> tuple[str, str]:
    """(value type of the attribute a path names, problem)."""
    from .values import NUMERIC_UNITS

    bits = path.split(".")
    if not path or len(bits) > 2 or not all(bits):
        return "", f"'{path}' must read <attribute>, <ref>.<attribute> or case.<attribute>"
    if len(bits) == 1:
        tname, attr = ftype, bits[0]
    elif bits[0] == "case":
        tname, attr = "case", bits[1]
    else:
        ref = kb.types[ftype].attributes.get(bits[0])
        if ref is None or ref.type != "ref" or not ref.to:
            return "", f"'{ftype}' has no reference attribute '{bits[0]}'" + _hint(bits[0], kb.types[ftype].attributes)
        tname, attr = ref.to, bits[1]
    t = kb.types.get(tname)
    a = t.attributes.get(attr) if t is not None else None
    if a is None:
        return "", f"'{tname}' has no attribute '{attr}'" + (_hint(attr, t.attributes) if t is not None else "")
    if a.type != "date" and a.type not in NUMERIC_UNITS:
        return "", f"'{tname}.{attr}' is a {a.type}: a constraint compares dates or numbers"
    return ("number" if a.type == "integer" else a.type), ""


def _hint(word: str, choices: Any) -> str:
    h = suggest(word, choices)
    return f" ({h})" if h else ""


# ---- applying them to a case ---------------------------------------------------------------------------


def _instances(kb: KB, facts: list[Fact]) -> list[tuple[Constraint, tuple[str, str], tuple[str, str]]]:
    """Each constraint once per fact of its 'for' type whose references resolve and whose
    'when' values are stated: (constraint, (fact id, attribute) left, right)."""
    ids = {f.fid for f in facts}
    case_fid = next((f.fid for f in facts if f.type == "case"), None)
    out = []
    for c in kb.constraints:
        t = kb.types[c.for_type]
        for f in facts:
            if f.type != c.for_type:
                continue
            if any(not (f.has(a) and f.get(a) == v) for a, v in c.when):
                continue
            keys: list[tuple[str, str]] = []
            for path in (c.left, c.right):
                if len(path) == 1:
                    keys.append((f.fid, path[0]))
                elif path[0] == "case":
                    if case_fid is not None:
                        keys.append((case_fid, path[1]))
                else:
                    target = f"{t.attributes[path[0]].to}:{f.get(path[0])}"
                    if f.has(path[0]) and target in ids:
                        keys.append((target, path[1]))
            if len(keys) == 2:
                out.append((c, keys[0], keys[1]))
    return out


def apply_constraints(kb: KB, facts: list[Fact]) -> Narrowed:
    """The case's facts narrowed by the kb's constraints (to a fixpoint): an unknown date or
    number that a constraint bounds becomes a range that is not *stated*; a stated range may
    shrink. A constraint the stated values contradict is reported in ``violated``, and then
    nothing is narrowed."""
    from .scenario import Fact as _Fact

    inst = _instances(kb, facts)
    if not inst:
        return Narrowed(list(facts), instances=inst)
    by_id = {f.fid: f for f in facts}
    values: dict[tuple[str, str], Any] = {}
    for _c, lk, rk in inst:
        for k in (lk, rk):
            values.setdefault(k, by_id[k[0]].get(k[1]))
    used: dict[tuple[str, str], set[str]] = {}
    violated: list[tuple[str, str]] = []
    for _round in range(2 * len(inst) + 2):
        changed = False
        for c, lk, rk in inst:
            left, right = values[lk], values[rk]
            if left is not None and right is not None:
                try:
                    ok = compare(left, c.op, right)
                except TypeError:
                    ok = None
                if ok is False:
                    violated.append((c.id, f"{lk[0]}.{lk[1]} {c.op} {rk[0]}.{rk[1]}"))
                    continue
            new_left, new_right = _narrow_pair(left, c.op, right)
            for k, old, new in ((lk, left, new_left), (rk, right, new_right)):
                if new != old and not (isinstance(new, Interval) and new.unbounded):
                    if isinstance(new, Interval) and new.empty:
                        violated.append((c.id, f"{lk[0]}.{lk[1]} {c.op} {rk[0]}.{rk[1]}"))
                        continue
                    values[k] = new
                    used.setdefault(k, set()).add(c.id)
                    changed = True
        if violated or not changed:
            break
    if violated:
        return Narrowed(list(facts), violated=tuple(sorted(set(violated))), instances=inst)
    out = []
    applied = []
    for f in facts:
        attrs = dict(f.attrs)
        touched = False
        for (fid, attr), v in values.items():
            if fid == f.fid and (fid, attr) in used and v != f.get(attr):
                if isinstance(v, Interval) and v.is_point:
                    v = v.lo
                attrs[attr] = v
                touched = True
                if isinstance(v, Interval):
                    applied.append(AppliedBound(fid, attr, v, tuple(sorted(used[(fid, attr)]))))
        out.append(_Fact(f.fid, f.type, tuple(sorted(attrs.items()))) if touched else f)
    return Narrowed(out, tuple(sorted(applied, key=lambda b: (b.fact, b.attribute))), (), inst)


def _narrow_pair(left: Any, op: str, right: Any) -> tuple[Any, Any]:
    """Bounds implied by ``left op right`` on each side."""
    if op in ("<", "<="):
        r, lft = _narrow_pair(right, _SWAP[op], left)
        return lft, r
    strict = op == ">"
    new_left, new_right = left, right
    rlo, rlo_open = (right.lo, right.lo_open) if isinstance(right, Interval) else (right, False)
    lhi, lhi_open = (left.hi, left.hi_open) if isinstance(left, Interval) else (left, False)
    if rlo is not None and (left is None or isinstance(left, Interval)):
        new_left = narrow(left, lo=rlo, lo_open=strict or rlo_open)
    if lhi is not None and (right is None or isinstance(right, Interval)):
        new_right = narrow(right, hi=lhi, hi_open=strict or lhi_open)
    return new_left, new_right


def relations_of(narrowed: Narrowed) -> dict[tuple[tuple[str, str], tuple[str, str]], str]:
    """For each pair of attributes a constraint relates in this case, the relation it states
    (``(a, b) -> op`` meaning ``a op b``), in both directions."""
    out: dict[tuple[tuple[str, str], tuple[str, str]], str] = {}
    for c, lk, rk in narrowed.instances:
        out[(lk, rk)] = c.op
        out[(rk, lk)] = _SWAP[c.op]
    return out
