"""The typed trace of one evaluation: what was derived, by which rule, from what.

These records are plain, frozen data. Evaluation (either backend) ends in a :class:`Trace`
(built by :mod:`.tracing`); the :class:`~.result.Result` is assembled from it alone, and
every view — text report, memo, graph, why — reads the result and never the engine. A trace
goes to JSON and back without loss (:func:`to_plain` / :func:`from_plain`), so a saved
analysis or batch record can be explained and drawn again without re-running the case.

The model, after openfisca-core's tracers (``openfisca_core/tracers/``)::

    Trace
    ├── facts: TraceFact*             stated and derived facts, each certain or possible
    ├── derivations: Derivation*      one application of a rule branch
    │     ├── parameters: ParamRead*  dated values read (e.g. the MCI on the act date)
    │     ├── assumptions: Unknown*   attributes the case does not state, assumed possible
    │     └── exceptions: ExceptionCheck*   exceptions to the rule that were checked
    ├── rules: RuleInfo*              the rules (and versions) that fired, with their law
    ├── branches: BranchInfo*         which attributes each condition of a branch reads
    ├── bounds: Bound*                what the world's constraints imply for the case's dates
    └── cases: CaseSearch?            deciding by cases: the cases evaluated, the bounds hit
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import types
import typing
from dataclasses import dataclass
from typing import Any

from ..language.model import TextEnum as _TextEnum

__all__ = [
    "Mode",
    "Status",
    "Role",
    "ParamRead",
    "Unknown",
    "TraceFact",
    "ExceptionCheck",
    "RangeSource",
    "Bound",
    "CaseLeaf",
    "CaseSearch",
    "Derivation",
    "RuleInfo",
    "BranchInfo",
    "Trace",
    "to_plain",
    "from_plain",
    "ConditionStatus",
    "BranchAnalysis",
    "ChangeSearch",
    "REPORTED_KINDS",
    "Reportable",
    "DatedRule",
    "Catalog",
]


class Mode(_TextEnum):
    """How a derivation holds: in every completion of the unknown facts, or in some."""

    CERTAIN = "certain"
    POSSIBLE = "possible"


class Status(_TextEnum):
    """The status of a conclusion, best first (the order is used to rank them)."""

    HOLDS = "holds"
    UNDETERMINED = "undetermined"
    DEFEATED = "defeated"
    DOES_NOT_HOLD = "does_not_hold"

    @property
    def label(self) -> str:
        """The status as words ("does not hold")."""
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class ParamRead:
    """One dated parameter value read by a rule: the value in force on ``date``."""

    name: str
    date: str
    value: Any
    source: str


@dataclass(frozen=True)
class Unknown:
    """An attribute of a fact that the case does not state (``fact`` is a fact id)."""

    fact: str
    attribute: str


class Role(_TextEnum):
    """What a fact of the trace is: stated by the case, derived by a rule, an auxiliary
    predicate of a negated conjunction, or the record that an exception applied."""

    INPUT = "input"
    DERIVED = "derived"
    AUX = "aux"
    RECORD = "record"


@dataclass(frozen=True)
class TraceFact:
    """A fact of the evaluation. ``mode`` is ``certain``, ``possible``, or None for a fact that
    only a defeated derivation would have produced. Attribute values are in JSON form."""

    id: str
    type: str
    role: Role
    mode: Mode | None
    attributes: dict[str, Any]

    def get(self, name: str) -> Any:
        """The value of attribute ``name``, or None."""
        return self.attributes.get(name)


@dataclass(frozen=True)
class ExceptionCheck:
    """An exception to the rule of a derivation, and why it did not withdraw the conclusion.

    ``status`` is ``does_not_apply`` (a condition of the exception fails) or ``might_apply``
    (it depends on something unknown); ``reasons`` name the conditions concerned.
    """

    rule: str
    citations: tuple[str, ...]
    status: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RangeSource:
    """A derived attribute whose value is a range, and the attributes (of the premises) it was
    computed from: deciding those would narrow it."""

    conclusion: str
    attribute: str
    inputs: tuple[Unknown, ...]


@dataclass(frozen=True)
class Bound:
    """What the world's constraints (kb/constraints.yaml) imply for one attribute of the case:
    the range it lies in (``value``, a JSON range) and the constraints that imply it."""

    fact: str
    attribute: str
    value: Any
    constraints: tuple[str, ...]


@dataclass(frozen=True)
class CaseLeaf:
    """One case of a case split: the values given to the case's unknowns (``values``: fact,
    attribute and a JSON value or range), evaluated on its own. Case 0 is the plain evaluation."""

    id: int
    values: tuple[tuple[str, str, Any], ...]


@dataclass(frozen=True)
class CaseSearch:
    """Deciding by cases: the bounded search over the unknowns of the undetermined conclusions.

    ``evaluations`` counts the cases evaluated (the plain evaluation not included; each is one
    of ``cases``), ``targets`` the undetermined conclusions it worked on and ``decided`` those
    it decided; ``infeasible`` the cases skipped because they contradict a constraint;
    ``failed`` those that could not be evaluated (what hangs on them stays undetermined);
    ``stopped`` is ``""`` (complete), ``"evaluations"`` or ``"time"`` (a bound was hit: what was
    still open stays undetermined)."""

    evaluations: int
    targets: int
    decided: int
    max_evaluations: int
    stopped: str
    cases: tuple[CaseLeaf, ...] = ()
    infeasible: int = 0
    failed: int = 0  # cases that could not be evaluated (what depends on them stays undetermined)


@dataclass(frozen=True)
class Derivation:
    """One application of a rule branch to premise facts: the provenance of what it derived.

    ``id`` is ``<branch>|<L or U>|<premise ids>``; ``mode`` tells whether the application
    is certain or merely possible (it rests on ``assumptions``, or a negation or exception
    it needs is only possibly absent: ``blockers``). A derivation withdrawn by an exception
    lists the defeating rules in ``defeated_by`` and derives nothing.
    """

    id: str
    rule: str
    branch: str
    mode: Mode
    citations: tuple[str, ...]
    premises: tuple[str, ...]
    parameters: tuple[ParamRead, ...]
    assumptions: tuple[Unknown, ...]
    blockers: tuple[str, ...]
    conclusions: tuple[str, ...]
    defeated_by: tuple[str, ...] = ()
    records: tuple[str, ...] = ()
    bindings: dict[str, Any] = dataclasses.field(default_factory=dict)
    exceptions: tuple[ExceptionCheck, ...] = ()
    sources: tuple[RangeSource, ...] = ()

    @property
    def defeated(self) -> bool:
        """Whether an exception defeated this derivation."""
        return bool(self.defeated_by)


@dataclass(frozen=True)
class RuleInfo:
    """A rule version as the trace needs it: its identity and the law it encodes."""

    uid: str
    id: str
    version: str
    title: dict[str, str]
    citations: tuple[str, ...]
    excerpt: dict[str, str]
    assumption: dict[str, str]
    because: dict[str, str]


@dataclass(frozen=True)
class BranchInfo:
    """One way a rule can hold: its rule, whether it is a synthetic auxiliary branch (a
    negated conjunction), and which attributes each positive condition reads."""

    uid: str
    rule: str
    aux: bool
    reads: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Trace:
    """Every fact and derivation of one evaluation, with the rules and branches they refer to;
    ``best`` names, for each derived fact, the derivation that explains it best."""

    facts: dict[str, TraceFact]
    derivations: tuple[Derivation, ...]
    rules: dict[str, RuleInfo]
    branches: dict[str, BranchInfo]
    best: dict[str, str]
    bounds: tuple[Bound, ...] = ()
    cases: CaseSearch | None = None

    def derivation(self, did: str) -> Derivation | None:
        """The derivation with id ``did``, or None."""
        return self._by_id().get(did)

    def _by_id(self) -> dict[str, Derivation]:
        cached: dict[str, Derivation] | None = self.__dict__.get("_index")
        if cached is None:
            cached = {d.id: d for d in self.derivations}
            object.__setattr__(self, "_index", cached)
        return cached

    def producing(self, fid: str) -> list[Derivation]:
        """The derivations (defeated ones included) whose conclusions include ``fid``."""
        index: dict[str, list[Derivation]] | None = self.__dict__.get("_producing")
        if index is None:
            index = {}
            for d in self.derivations:
                for c in d.conclusions:
                    index.setdefault(c, []).append(d)
            object.__setattr__(self, "_producing", index)
        return list(index.get(fid, ()))

    def is_aux(self, d: Derivation) -> bool:
        """Whether ``d`` is an application of an auxiliary branch (a negated conjunction's helper)."""
        b = self.branches.get(d.branch)
        return bool(b and b.aux)


# ---- JSON form -------------------------------------------------------------------------------
# One converter for every record of the trace and the result: a dataclass becomes an object
# of its fields (dict fields keep their keys, tuples become lists, enums their text), and
# back, driven by the fields' declared types. Values of facts' attributes are already JSON.


def to_plain(obj: Any) -> Any:
    """A record (or a structure of records) as plain JSON data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, _dt.date):
        return obj.isoformat()
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    h = _HINTS.get(cls)
    if h is None:
        import sys

        module = sys.modules[cls.__module__]
        h = _HINTS[cls] = typing.get_type_hints(cls, vars(module))
    return h


def from_plain(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` (a record class, or a typing form over them) from
    :func:`to_plain` data. Raises ``ValueError`` on data of the wrong shape."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return data
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        return from_plain(options[0], data)
    if origin in (tuple, list):
        args = typing.get_args(tp)
        if not isinstance(data, list):
            raise ValueError(f"expected a list, got {type(data).__name__}")
        inner = args[0] if args else Any
        items = [from_plain(inner, x) for x in data]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        args = typing.get_args(tp)
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, got {type(data).__name__}")
        inner = args[1] if len(args) == 2 else Any
        return {k: from_plain(inner, v) for k, v in data.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"expected an object for {tp.__name__}, got {type(data).__name__}")
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            if f.name in data:
                kwargs[f.name] = from_plain(hints[f.name], data[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{tp.__name__}: missing '{f.name}'")
        return tp(**kwargs)
    return data


# ---- analyses of an evaluation (why not, the change search) -----------------------------------


@dataclass
class ConditionStatus:
    """One condition of a rule branch in a why-not analysis: met, failed or unknown."""

    condition: str
    status: str  # met | failed | unknown
    detail: str
    fact: str = ""


@dataclass
class BranchAnalysis:
    """A rule branch that could conclude the asked conclusion, condition by condition."""

    branch: str
    rule: str
    citations: list[str]
    status: str  # met | failed | unknown
    conditions: list[ConditionStatus] = dataclasses.field(default_factory=list)


@dataclass
class ChangeSearch:
    """The smallest sets of fact changes found that make a conclusion hold, and the search's
    bounds: ``bound_hit`` says the search stopped before it was complete (``stopped``:
    ``evaluations`` or ``time``)."""

    solutions: list[list[tuple[str, str, Any]]]
    evaluations: int
    bound_hit: bool
    max_size: int
    max_evals: int
    max_seconds: float = 0.0
    stopped: str = ""  # "", "evaluations" or "time": which bound ended the search


# ---- what a result needs to know about the rule base (built once per program) ------------------

REPORTED_KINDS = ("conclusion", "liability", "remedy", "action")


@dataclass(frozen=True)
class Reportable:
    """A conclusion type the report lists, with the rules and articles that can produce it."""

    type: str
    kind: str
    title: dict[str, str]
    rules: tuple[str, ...]
    citations: tuple[str, ...]


@dataclass(frozen=True)
class DatedRule:
    """A version of a rule that has a validity interval."""

    uid: str
    id: str
    version: str
    valid_from: _dt.date | None
    valid_to: _dt.date | None
    amended_by: str
    date_attr: str | None
    assumption: dict[str, str]
    citations: tuple[str, ...]

    def in_force(self, day: _dt.date) -> bool:
        """Whether this version of the rule is in force on ``day``."""
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Catalog:
    """What a result needs to know about the rule base, computed once per program."""

    kb: Any  # the KB (language layer): types, titles, questions
    reportable: tuple[Reportable, ...]
    reportable_pos: dict[str, int]
    dated: tuple[tuple[DatedRule, ...], ...]  # per rule id with a dated version: all its versions
    assumptions: dict[str, tuple[dict[str, str], tuple[str, ...]]]  # rule uid -> (text, citations)
