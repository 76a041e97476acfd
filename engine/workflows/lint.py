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
from ..i18n import LANGS
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
        text = (f"ok: {c['rules']} rules ({c['versions']} versions, {c['branches']} compiled branches), "
                f"{c['articles']} articles, {c['types']} fact types, {c['parameters']} parameters; "
                f"{n} warning{'s' if n != 1 else ''}")
        missing = [f"{lang}: {c[f'missing_messages_{lang}']} interface strings, {c[f'missing_texts_{lang}']} kb/rules "
                   f"texts" for lang in LANGS if f"missing_messages_{lang}" in c]
        return text + (f"; translations missing ({'; '.join(missing)}; `rules lint --lang LANG` lists them)"
                       if missing else "")


def lint(rules: str | Path | None = None, kb: str | Path | None = None, *, today: _dt.date | None = None,
         rulebase: RuleBase | None = None, lang: str | None = None) -> LintReport:
    """Check kb and rules (or an already loaded ``rulebase``); every problem, none raised.

    Translations: every interface string missing in a language is a warning with its place
    (:func:`engine.i18n.check_messages`); the texts of the kb and rules files lacking a
    language are counted per language in the summary, and listed one by one as warnings
    (file:line) with ``lang`` (e.g. ``"kk"``), which also limits the check to that language."""
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
    found, counts_lang = _translations(rb, lang)
    errors += tuple(d for d in found if d.severity == "error")
    stale += tuple(d for d in found if d.severity != "error")
    counts.update(counts_lang)
    return LintReport(errors, tuple(rb.warnings) + stale, counts)


def _translations(rb: RuleBase, lang: str | None) -> tuple[list[Diagnostic], dict[str, int]]:
    """The missing translations: interface strings (each with its catalogue file and id) and
    kb/rules texts (each with its file:line under ``lang``, else only counted)."""
    from ..fileio import WalkTooLarge, find_files
    from ..i18n import check_messages, check_yaml_texts

    langs = [lang] if lang else [x for x in LANGS if x != "en"]
    found = check_messages(langs)
    counts: dict[str, int] = {}
    paths: list[Path] = []
    for root in (rb.kb_dir, rb.rules_dir):
        try:
            paths += find_files(Path(root), (".yaml",))[0]
        except (WalkTooLarge, OSError):
            continue
    base = Path(rb.kb_dir).resolve().parent

    def shown(p: Path) -> str:
        try:
            return str(p.resolve().relative_to(base))
        except ValueError:
            return str(p)

    for code in langs:
        counts[f"missing_messages_{code}"] = sum(1 for d in found if d.code == "missing-translation"
                                                 and d.location.path.endswith(f"{code}.yaml"))
        texts = check_yaml_texts(paths, code, shown)
        counts[f"missing_texts_{code}"] = len(texts)
        if lang:
            found += texts
    return found, counts
