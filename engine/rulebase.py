"""A rule base: kb + rules loaded, checked and compiled, with its fingerprint; and analysis.

This is the library's entry point; the CLI and ``kzcopyright.analyze`` are thin layers on it.
"""

from __future__ import annotations

import datetime as _dt
import gc
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterator, Mapping

from .errors import Diagnostic, Diagnostics, EvaluationError, InputError, Location
from .reasoning.evaluate import EvalContext
from .language.kb import CASE_TYPE, KB, load_kb
from .language.model import Rule
from .language.program import Program, compile_program, fingerprint
from .reasoning.result import Result, build_result
from .language.rules import find_rule_files, load_rules
from .language.scenario import Fact, Scenario, load_scenarios, scenario_from_data
from .language.yamlio import load_text

__all__ = [
    "RuleBase",
    "load_rulebase",
    "default_rules_dir",
    "default_kb_dir",
    "examples_dir",
    "list_examples",
    "load_case",
    "evaluate_case",
    "choose_engine",
    "assessed_as_of",
    "keep_resident",
    "ENGINES",
]

ENGINES = ("durable", "python")
_PKG_ROOT = Path(__file__).resolve().parent.parent


def default_rules_dir() -> Path:
    """The bundled rules, inside the installed package."""
    return _PKG_ROOT / "rules"


def default_kb_dir() -> Path:
    """The bundled knowledge base, inside the installed package."""
    return _PKG_ROOT / "kb"


def examples_dir(kb_dir: Path | None = None) -> Path:
    """The folder of the bundled example cases (``kb/examples``)."""
    return (kb_dir or default_kb_dir()) / "examples"


def list_examples(kb_dir: Path | None = None) -> list[str]:
    """The names of the bundled example cases."""
    d = examples_dir(kb_dir)
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


@dataclass
class RuleBase:
    """A loaded, checked and compiled rule base (kb, rules, program, fingerprint), with its backends built on first use."""

    kb: KB
    rules: list[Rule]
    program: Program
    fingerprint: str
    rules_dir: Path
    kb_dir: Path
    warnings: list[Diagnostic] = field(default_factory=list)
    _backends: dict[str, Any] = field(default_factory=dict, repr=False)

    def backend(self, engine: str) -> Any:
        """The evaluator ``engine`` ("python" or "durable") for this rule base, built once."""
        if engine not in self._backends:
            if engine == "durable":
                from .reasoning.durable_backend import DurableBackend

                with without_gc():
                    self._backends[engine] = DurableBackend.for_program(self.program)
            else:
                from .reasoning.pybackend import PythonBackend

                self._backends[engine] = PythonBackend(self.program)
        return self._backends[engine]


_CACHE: dict[tuple[str, str, str], RuleBase] = {}
_DISK_KEYS: dict[str, RuleBase] = {}  # rbcache key -> the rule base loaded or read under it


def _display_root(path: Path) -> Path:
    cwd = Path.cwd()
    try:
        path.resolve().relative_to(cwd)
        return cwd
    except ValueError:
        return path.resolve().parent


@contextmanager
def without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large, long-lived structure is built: each
    collection would walk everything built so far (half the time of loading 5,000 rules). The
    objects stay tracked and are collected as usual afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_rulebase(rules_dir: Path | str | None = None, kb_dir: Path | str | None = None,
                  *, strict: bool = True, rule_files: list[Path] | None = None) -> RuleBase:
    """Load, check and compile; raises :class:`InputError` listing every problem.

    With ``strict=False`` the rule base is returned with its diagnostics in ``warnings``
    only when it has no errors; errors always raise.
    """
    with without_gc():
        return _load_rulebase(rules_dir, kb_dir, rule_files)


def keep_resident(rb: RuleBase, *engines: str) -> RuleBase:
    """For a process that keeps ``rb`` for its whole life (the CLI, a batch worker, the
    server): build the backends of ``engines`` now and move everything built so far out of the
    cyclic collector's sight (``gc.freeze``), so that it does not walk the rule base again on
    every collection during evaluation (3x the cases/s at 5,000 rules). Frozen objects are
    still freed by reference counting. A process-wide setting: the library never calls it on
    its own; entry points do."""
    for engine in engines:
        rb.backend(engine)
    gc.freeze()
    return rb


def _load_rulebase(rules_dir: Path | str | None, kb_dir: Path | str | None,
                   rule_files: list[Path] | None) -> RuleBase:
    rdir = Path(rules_dir) if rules_dir else default_rules_dir()
    kdir = Path(kb_dir) if kb_dir else default_kb_dir()
    disk_key = None
    if rule_files is None:
        from . import rbcache

        disk_key = rbcache.cache_key(rdir, kdir, _display_root(rdir), _display_root(kdir))
        if disk_key is not None:
            if disk_key in _DISK_KEYS:
                return _DISK_KEYS[disk_key]
            parts = rbcache.load_entry(disk_key)
            if parts is not None:
                rb = RuleBase(parts["kb"], parts["rules"], parts["program"], parts["fingerprint"], rdir, kdir,
                              parts["warnings"])
                _DISK_KEYS[disk_key] = rb
                return rb
    diags = Diagnostics()
    kb = load_kb(kdir.resolve(), diags, display_root=_display_root(kdir))
    if any(d.code in ("no-such-dir", "not-a-kb") for d in diags.errors):
        raise InputError(diags.errors)  # every rule would also be reported against an empty kb
    if not rdir.is_dir():
        diags.error(Location(str(rdir)), "no-such-dir", "rules directory not found")
        raise InputError(diags.errors)
    files = rule_files if rule_files is not None else find_rule_files(rdir, diags)
    blobs: list[tuple[str, bytes]] = []
    for p in kb.files + list(files):
        try:
            blobs.append((p.resolve().relative_to(p.resolve().parents[1]).as_posix(), p.read_bytes()))
        except OSError:
            pass
    fp = fingerprint(blobs)
    key = (str(rdir.resolve()), str(kdir.resolve()), fp)
    if key in _CACHE and rule_files is None:
        return _CACHE[key]
    rules = load_rules(list(files), kb, diags, display_root=_display_root(rdir))
    program = compile_program(rules, kb, diags)
    program.fingerprint = fp
    if diags.errors:
        raise InputError(diags.items)
    rb = RuleBase(kb, rules, program, fp, rdir, kdir, diags.warnings)
    if rule_files is None:
        _CACHE[key] = rb
    if disk_key is not None:
        from . import rbcache

        rbcache.store_entry(disk_key, {"kb": kb, "rules": rules, "program": program, "fingerprint": fp,
                                       "warnings": list(diags.warnings)})
        _DISK_KEYS[disk_key] = rb
    return rb


def load_case(rb: RuleBase, case: Any, *, example: str | None = None) -> Scenario:
    """A case from a path, a mapping, YAML/JSON text, a Scenario, or a bundled example."""
    diags = Diagnostics()
    if isinstance(case, Scenario):
        return case
    if example is not None:
        path = examples_dir(rb.kb_dir) / f"{example}.yaml"
        if not path.is_file():
            from .errors import suggest

            names = list_examples(rb.kb_dir)
            hint = suggest(example, names) or ("examples: " + ", ".join(names))
            raise InputError([Diagnostic(Location(example), "unknown-example", f"no bundled example '{example}'",
                                         "-", hint)])
        case = path
    if isinstance(case, (str, Path)) and not (isinstance(case, str) and "\n" in case):
        path = Path(case)
        scenarios = load_scenarios(path, rb.kb, diags, shown=str(case) if example is None else f"examples/{path.name}")
    elif isinstance(case, str):
        data = load_text(case, "<case>", diags)
        s = scenario_from_data(data, rb.kb, diags, "<case>", "case") if data is not None else None
        scenarios = [s] if s else []
    elif isinstance(case, Mapping):
        data = _to_located(case)
        s = scenario_from_data(data, rb.kb, diags, "<case>", str(case.get("id", "case")))
        scenarios = [s] if s else []
    else:
        raise InputError([Diagnostic(Location("<case>"), "bad-case", f"cannot read a case from {type(case).__name__}")])
    if diags.errors:
        raise InputError(diags.items)
    if len(scenarios) != 1:
        raise InputError([Diagnostic(Location(str(case)), "many-cases",
                                     f"the file holds {len(scenarios)} cases; analyze takes one (use batch)")])
    return scenarios[0]


def _to_located(value: Any) -> Any:
    from .language.yamlio import LDict, LList

    if isinstance(value, Mapping):
        d = LDict()
        d.loc = Location("<case>")
        d.key_locs, d.val_locs = {}, {}
        for k, v in value.items():
            d[k] = _to_located(v)
        return d
    if isinstance(value, (list, tuple)):
        seq = LList(_to_located(v) for v in value)
        seq.loc = Location("<case>")
        seq.item_locs = [seq.loc] * len(seq)
        return seq
    return value


def assessed_as_of(scenario: Scenario, day: _dt.date) -> Scenario:
    """The case with ``day`` as its date of assessment when it gives none (the CLI passes
    today, or ``--as-of``): the date an analysis speaks for — which limitation periods have run,
    which version of a rule of procedure applies. The case fact then also carries
    ``assessment_date_assumed``, and the result states the assumption. A case that gives its
    own date of assessment is returned unchanged."""
    from dataclasses import replace

    case = next((f for f in scenario.facts if f.type == CASE_TYPE), None)
    if case is not None and case.has("assessment_date"):
        return scenario
    attrs: dict[str, Any] = dict(case.attrs) if case is not None else {"key": "case"}
    attrs["assessment_date"] = day
    attrs["assessment_date_assumed"] = True
    new_case = Fact(case.fid if case is not None else "case:case", CASE_TYPE, tuple(sorted(attrs.items())))
    facts = [f for f in scenario.facts if f.type != CASE_TYPE] + [new_case]
    return replace(scenario, facts=sorted(facts, key=lambda f: f.fid))


def choose_engine(engine: str | None) -> tuple[str, str]:
    """(engine to use, notice). The default is durable where it imports, else python."""
    from .reasoning.durable_backend import durable_available, durable_import_error

    if engine not in (None, "durable", "python"):
        raise EvaluationError(f"unknown engine '{engine}': use 'durable' or 'python'")
    if engine == "python":
        return "python", ""
    if durable_available():
        return "durable", ""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    notice = f"notice: durable_rules does not import on Python {version}; using the python engine"
    if engine == "durable":
        raise EvaluationError(f"the durable engine is not available on Python {version} "
                              f"({durable_import_error()}); use --engine python")
    return "python", notice


def evaluate_case(rb: RuleBase, scenario: Scenario, engine: str, *, cases: bool = True,
                  bounded: bool = True) -> Result:
    """Evaluate one case on ``engine`` and build its result from the trace.

    ``bounded``: apply the kb's constraints (kb/constraints.yaml) to the case's facts;
    ``cases``: then decide by cases what the plain evaluation leaves undetermined
    (reasoning/cases.py; the sub-cases run on the python backend, so the result does not
    depend on the engine). Both off give the plain three-valued evaluation."""
    from .reasoning.tracing import catalog_of, trace_of

    ctx: EvalContext = rb.backend(engine).evaluate(scenario, bounded=bounded)
    catalog = catalog_of(rb.program)
    result = build_result(trace_of(ctx), catalog, case_id=scenario.id, case_title=scenario.title,
                          engine=engine, fingerprint=rb.fingerprint)
    if cases:
        from .reasoning.cases import decide_by_cases

        result = decide_by_cases(rb.program, rb.backend("python"), scenario, ctx, result, catalog)
    return result
