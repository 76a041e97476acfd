"""``rules lint`` as a library call: every check of the rule base at once, as diagnostics.

:func:`lint` never changes the loaded (and cached) rule base: it copies its warnings and adds
the checks that need a date (articles not compared with the official text for a year) or the
whole set of versions (gaps between the versions of a rule). Calling it twice gives the same
answer twice.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Diagnostic, InputError
from ..rulebase import RuleBase, load_rulebase
from .coverage import stale_articles, version_gaps

__all__ = ["LintReport", "lint"]


@dataclass(frozen=True)
class LintReport:
    """What ``rules lint`` reports: errors (nothing runs with them), warnings, and counts."""

    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No errors (warnings do not count)."""
        return not self.errors

    def summary(self) -> str:
        """The one-line summary ``rules lint`` prints: counts of rules, articles, types, parameters and warnings."""
        c = self.counts
        if not c:
            return f"{len(self.errors)} problem{'s' if len(self.errors) != 1 else ''} found"
        n = len(self.warnings)
        return (f"ok: {c['rules']} rules ({c['versions']} versions, {c['branches']} compiled branches), "
                f"{c['articles']} articles, {c['types']} fact types, {c['parameters']} parameters; "
                f"{n} warning{'s' if n != 1 else ''}")


def lint(rules: str | Path | None = None, kb: str | Path | None = None, *, today: _dt.date | None = None,
         rulebase: RuleBase | None = None) -> LintReport:
    """Check kb and rules (or an already loaded ``rulebase``); every problem, none raised."""
    try:
        rb = rulebase if rulebase is not None else load_rulebase(rules, kb)
    except InputError as exc:
        return LintReport(tuple(d for d in exc.diagnostics if d.severity == "error"),
                          tuple(d for d in exc.diagnostics if d.severity != "error"))
    errors = tuple(Diagnostic(b.loc, "version-gap",
                              f"no version of '{b.id}' is in force between {a.valid_to} and {b.valid_from}: "
                              f"the versions must follow each other without a gap", b.id, related=(a.loc,))
                   for a, b in version_gaps(rb))
    day = today or _dt.date.today()
    stale = tuple(Diagnostic(art.loc, "not-checked", f"article {art.ref} was last compared with the official text "
                             f"on {art.last_checked or 'no date'}, more than 12 months before {day}", art.ref,
                             severity="warning")
                  for art in sorted(stale_articles(rb, day), key=lambda a: a.ref))
    # the summary catalogue (kb/summary.yaml): every reportable type given a topic and words
    from ..views.catalogue import check_catalogue

    found = check_catalogue(rb.kb)
    errors += tuple(d for d in found if d.severity == "error")
    stale += tuple(d for d in found if d.severity != "error")
    counts = {"rules": len({r.id for r in rb.rules}), "versions": len(rb.rules), "branches": len(rb.program.branches),
              "articles": len(rb.kb.articles), "types": len(rb.kb.types), "parameters": len(rb.kb.parameters)}
    return LintReport(errors, tuple(rb.warnings) + stale, counts)
