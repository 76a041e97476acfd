"""kzcopyright — the copyright law of the Republic of Kazakhstan as declarative rules.

The Python API mirrors the CLI::

    import kzcopyright
    result = kzcopyright.analyze(example="marketplace-photos")
    result.status_of("infringement")          # 'holds'
    result.to_json()                          # the same JSON as `analyze --format json`

Not legal advice; see the disclaimer in every result.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kzcopyright.engine.errors import BatchInterrupted, EvaluationError, InputError, KzError, OutputError

if TYPE_CHECKING:
    from kzcopyright.engine.reasoning.result import Result

# the rest is imported when first used, so that `import kzcopyright.cli` starts fast
_LAZY = {
    "RuleBase": "kzcopyright.engine.rulebase",
    "load_rulebase": "kzcopyright.engine.rulebase",
    "list_examples": "kzcopyright.engine.rulebase",
    "Result": "kzcopyright.engine.reasoning.result",
    "Conclusion": "kzcopyright.engine.reasoning.result",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kzcopyright' has no attribute '{name}'")

__all__ = [
    "analyze",
    "lint",
    "consult",
    "batch",
    "load_rulebase",
    "list_examples",
    "Result",
    "Conclusion",
    "RuleBase",
    "KzError",
    "InputError",
    "EvaluationError",
    "OutputError",
    "BatchInterrupted",
]


def analyze(
    case: Any = None,
    *,
    example: str | None = None,
    rules: str | Path | None = None,
    kb: str | Path | None = None,
    engine: str | None = None,
) -> Result:
    """Analyse one case: a path to a YAML/JSON file, a mapping, or a bundled ``example``.

    ``engine`` is "durable" or "python"; by default durable where it imports, else python.
    Raises :class:`InputError` (with every problem located) or :class:`EvaluationError`.
    """
    from kzcopyright.engine.rulebase import choose_engine, evaluate_case, load_case, load_rulebase

    rb = load_rulebase(rules, kb)
    scenario = load_case(rb, case, example=example)
    name, _notice = choose_engine(engine)
    return evaluate_case(rb, scenario, name)


def lint(rules: str | Path | None = None, kb: str | Path | None = None, *, today: Any = None) -> Any:
    """Check a rule base (default: the bundled one) as ``kzcopyright rules lint`` does: a
    ``LintReport`` with ``errors``, ``warnings`` (located diagnostics) and ``summary()``.
    Pure: it does not change the loaded rule base, so repeated calls give the same report."""
    from kzcopyright.engine.workflows.lint import lint as _lint

    return _lint(rules, kb, today=today)


def consult(case: Any = None, *, rules: str | Path | None = None, kb: str | Path | None = None,
            engine: str | None = None, lang: str = "en", perspective: str | None = None) -> Any:
    """Start a consultation session (``next_question()``, ``answer(value)``, ``back()``, ``result()``).

    ``case`` is a partial case (path, mapping) or None for an empty one.
    """
    from kzcopyright.engine.workflows.consult import Consultation
    from kzcopyright.engine.rulebase import choose_engine, load_case, load_rulebase

    rb = load_rulebase(rules, kb)
    name, _notice = choose_engine(engine)
    if case is None:
        return Consultation.start(rb, engine=name, lang=lang, perspective=perspective)
    session = Consultation(rb, load_case(rb, case), name, lang)
    if perspective:
        from kzcopyright.engine.reasoning.whynot import apply_changes

        session.scenario = apply_changes(session.scenario, [("case:case", "perspective", perspective)])
    return session


def batch(input_path: str | Path, output: str | Path, *, rules: str | Path | None = None,
          kb: str | Path | None = None, engine: str | None = None, workers: int | None = None,
          resume: bool = False, timeout: float = 30.0, record: str = "full", summary_only: bool = False) -> Any:
    """Evaluate a JSON Lines file or a directory of cases into JSON Lines; returns a summary.

    ``record`` is "full" (each case's lossless result JSON) or "compact" (each reportable
    conclusion's type, attributes and status, amounts, deadlines, the rule base);
    ``summary_only`` writes no records."""
    from kzcopyright.engine.workflows.batch import run_batch
    from kzcopyright.engine.rulebase import choose_engine, load_rulebase

    load_rulebase(rules, kb)  # fail early, with every problem, before starting workers
    name, _notice = choose_engine(engine)
    return run_batch(Path(input_path), Path(output), rules=str(rules) if rules else None,
                     kb=str(kb) if kb else None, engine=name, workers=workers, resume=resume, timeout=timeout,
                     record=record, summary_only=summary_only)
