"""Coverage of the rule base by the YAML case corpus, and the checks that need the whole
rule base: articles not compared with the official text for a year, gaps between versions.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from ..language.kb import Article
from ..language.model import Rule
from ..language.scenario import Scenario
from ..rulebase import RuleBase, evaluate_case

__all__ = ["Coverage", "coverage", "stale_articles", "version_gaps", "article_of"]


@dataclass
class Coverage:
    """Which cases exercise each rule (and each version of a rule with several), and which rules and cases cover each article."""

    rules: dict[str, list[str]]  # rule id -> cases that exercise it
    articles: dict[str, tuple[list[str], list[str]]]  # act/art -> (rules encoding it, cases covering it)
    unexercised: list[str] = field(default_factory=list)
    encoded_without_rule: list[str] = field(default_factory=list)
    # rule uid (id@version) -> cases, for the rules that have several versions
    versions: dict[str, list[str]] = field(default_factory=dict)
    unexercised_versions: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No rule and no version is unexercised, and every article marked encoded has a rule."""
        return not self.unexercised and not self.encoded_without_rule and not self.unexercised_versions


def article_of(citation: str) -> str:
    """The article (``act/number``) of a citation such as ``copyright_law/49/1/6``."""
    bits = citation.split("/")
    return "/".join(bits[:2])


def coverage(rb: RuleBase, scenarios: list[Scenario]) -> Coverage:
    """Coverage of the rule base by the case corpus ``scenarios`` (each evaluated with the python engine)."""
    by_rule: dict[str, set[str]] = {r.id: set() for r in rb.rules}
    multi = {rid for rid, vs in rb.program.rule_versions.items() if len(vs) > 1}
    by_version: dict[str, set[str]] = {r.uid: set() for r in rb.rules if r.id in multi}
    for s in scenarios:
        try:
            result = evaluate_case(rb, s, "python")
        except Exception:
            continue
        for d in result.derivations:
            rid = result.trace.rules[d.rule].id
            case = f"{Path(s.path).name}:{s.id}"
            by_rule.setdefault(rid, set()).add(case)
            if rid in multi:
                by_version.setdefault(d.rule, set()).add(case)
    articles: dict[str, tuple[list[str], list[str]]] = {}
    for key, _art in sorted(rb.kb.articles.items()):
        rules = sorted({r.id for r in rb.rules if any(article_of(c) == key for c in r.cite)})
        cases = sorted({c for rid in rules for c in by_rule.get(rid, ())})
        articles[key] = (rules, cases)
    cov = Coverage({k: sorted(v) for k, v in sorted(by_rule.items())}, articles)
    cov.unexercised = sorted(k for k, v in by_rule.items() if not v)
    cov.versions = {k: sorted(v) for k, v in sorted(by_version.items())}
    cov.unexercised_versions = sorted(k for k, v in by_version.items() if not v)
    cov.encoded_without_rule = sorted(k for k, art in rb.kb.articles.items() if art.encoded and not articles[k][0])
    return cov


def stale_articles(rb: RuleBase, today: _dt.date, months: int = 12) -> list[Article]:
    """The articles of the kb last compared with their official text more than ``months`` before ``today`` (or never)."""
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    last_day = [31, 29 if (y % 4 == 0 and (y % 100 or y % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    limit = _dt.date(y, m + 1, min(today.day, last_day[m]))
    return [a for a in rb.kb.articles.values() if a.last_checked is None or a.last_checked < limit]


def version_gaps(rb: RuleBase) -> list[tuple[Rule, Rule]]:
    """Consecutive versions of one rule with days between them in which no version is in force."""
    out = []
    for _rid, versions in rb.program.rule_versions.items():
        dated = sorted((r for r in versions if r.dated), key=lambda r: r.valid_from or _dt.date.min)
        for a, b in zip(dated, dated[1:]):
            if a.valid_to is not None and b.valid_from is not None and (b.valid_from - a.valid_to).days > 1:
                out.append((a, b))
    return out


# ---- views ----------------------------------------------------------------------------------


