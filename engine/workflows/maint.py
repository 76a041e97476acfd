"""Maintainers' tools: YAML case runs, coverage, rule and article views, the rule map, and
the impact report of an amendment (re-evaluating the case corpus under two dates or two
rule trees).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from collections.abc import Iterable

import networkx as nx

from .casetest import CaseOutcome, load_case_files, run_case
from ..language.kb import CASE_TYPE, Article
from ..language.model import Rule
from ..rulebase import RuleBase, evaluate_case
from ..reasoning.result import Result, format_value
from ..language.scenario import Fact, Scenario
from ..language.values import json_value

__all__ = [
    "CaseRun",
    "run_cases",
    "coverage",
    "rule_lines",
    "article_lines",
    "rule_map",
    "shift_case",
    "diff_corpus",
    "diff_lines",
    "stale_articles",
    "version_gaps",
]


@dataclass
class CaseRun:
    outcomes: list[CaseOutcome]

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.ok]


def _cites_article(result: Result, article: str) -> bool:
    prefix = article.rstrip("/")
    for d in result.derivations:
        if "~aux" in d["branch"]:
            continue  # an internal helper of a negation, not an application of the article
        for c in d["citations"]:
            if c == prefix or c.startswith(prefix + "/"):
                return True
    return False


def run_cases(rb: RuleBase, paths: list[Path], engines: list[str], keyword: str | None = None,
              article: str | None = None) -> CaseRun:
    scenarios = load_case_files(rb, paths)
    out: list[CaseOutcome] = []
    for s in scenarios:
        if keyword and keyword.lower() not in f"{s.path} {s.id} {s.title}".lower():
            continue
        for e in engines:
            o = run_case(rb, s, e)
            if article and (o.result is None or not _cites_article(o.result, article)):
                continue
            out.append(o)
    return CaseRun(out)


@dataclass
class Coverage:
    rules: dict[str, list[str]]  # rule id -> cases that exercise it
    articles: dict[str, tuple[list[str], list[str]]]  # act/art -> (rules encoding it, cases covering it)
    unexercised: list[str] = field(default_factory=list)
    encoded_without_rule: list[str] = field(default_factory=list)
    # rule uid (id@version) -> cases, for the rules that have several versions
    versions: dict[str, list[str]] = field(default_factory=dict)
    unexercised_versions: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unexercised and not self.encoded_without_rule and not self.unexercised_versions


def _article_of(citation: str) -> str:
    bits = citation.split("/")
    return "/".join(bits[:2])


def coverage(rb: RuleBase, scenarios: list[Scenario]) -> Coverage:
    by_rule: dict[str, set[str]] = {r.id: set() for r in rb.rules}
    multi = {rid for rid, vs in rb.program.rule_versions.items() if len(vs) > 1}
    by_version: dict[str, set[str]] = {r.uid: set() for r in rb.rules if r.id in multi}
    for s in scenarios:
        try:
            result = evaluate_case(rb, s, "python")
        except Exception:
            continue
        for d in result.derivations:
            rid = d["rule"].split("@")[0]
            case = f"{Path(s.path).name}:{s.id}"
            by_rule.setdefault(rid, set()).add(case)
            if rid in multi:
                by_version.setdefault(d["rule"], set()).add(case)
    articles: dict[str, tuple[list[str], list[str]]] = {}
    for key, _art in sorted(rb.kb.articles.items()):
        rules = sorted({r.id for r in rb.rules if any(_article_of(c) == key for c in r.cite)})
        cases = sorted({c for rid in rules for c in by_rule.get(rid, ())})
        articles[key] = (rules, cases)
    cov = Coverage({k: sorted(v) for k, v in sorted(by_rule.items())}, articles)
    cov.unexercised = sorted(k for k, v in by_rule.items() if not v)
    cov.versions = {k: sorted(v) for k, v in sorted(by_version.items())}
    cov.unexercised_versions = sorted(k for k, v in by_version.items() if not v)
    cov.encoded_without_rule = sorted(k for k, art in rb.kb.articles.items() if art.encoded and not articles[k][0])
    return cov


def stale_articles(rb: RuleBase, today: _dt.date, months: int = 12) -> list[Article]:
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


def _t(texts: dict[str, str], lang: str = "en") -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def _rule_types(rule: Rule, rb: RuleBase) -> tuple[set[str], set[str]]:
    uses: set[str] = set()
    makes: set[str] = set()
    for b in rb.program.branches:
        if b.rule.uid != rule.uid:
            continue
        for p in list(b.positives) + list(b.negations):
            if not p.type.startswith("$"):
                uses.add(p.type)
        for h in b.heads:
            if not h.type.startswith("$"):
                makes.add(h.type)
    return uses, makes


def rule_lines(rb: RuleBase, rule_id: str, cov: Coverage | None = None, lang: str = "en") -> list[str]:
    versions = rb.program.rule_versions.get(rule_id)
    if not versions:
        return []
    out: list[str] = []
    for r in sorted(versions, key=lambda r: r.valid_from or _dt.date.min):
        out.append(f"{r.id} — version {r.version}"
                   + (f", in force {r.valid_from or '…'} .. {r.valid_to or 'now'}" if r.dated else ", no time limit")
                   + (f", amended by {r.amended_by}" if r.amended_by else ""))
        out.append(f"  file: {r.file}:{r.loc.line}")
        for c in r.cite:
            art = rb.kb.article_for(c)
            bits = c.split("/")
            part = art.parts.get(bits[2]) if art and len(bits) > 2 else None
            out.append(f"  cites: {c} — {_t(art.title, lang) if art else '?'}")
            text = (part.text if part else (art.text if art else {})) or {}
            if text.get("ru"):
                out.append(f"    ru: {text['ru'][:400]}")
            if text.get("en"):
                out.append(f"    en: {text['en'][:400]}")
        if r.excerpt:
            out.append(f"  encodes: «{_t(r.excerpt, lang)}»")
        if r.assumption:
            out.append(f"  assumption: {_t(r.assumption, lang)}")
        out.append(f"  because: {_t(r.because, lang)}")
    uses, makes = _rule_types(versions[0], rb)
    depends = sorted({x for t in uses for u in rb.program.producers.get(t, [])
                      for x in [rb.program.branch(u).rule.id] if not rb.program.branch(u).aux and x != rule_id})
    dependents = sorted({x for t in makes for u in rb.program.consumers.get(t, [])
                         for x in [rb.program.branch(u).rule.id] if x != rule_id})
    out.append(f"  concludes: {', '.join(sorted(makes))}")
    out.append(f"  reads: {', '.join(sorted(uses))}")
    out.append(f"  depends on rules: {', '.join(depends) or '-'}")
    out.append(f"  rules that depend on it: {', '.join(dependents) or '-'}")
    defeats = sorted({d.target for r in versions for d in r.defeats})
    defeated_by = sorted({rb.program.branch(u).rule.id for u in rb.program.defeaters.get(rule_id, [])})
    out.append(f"  exception to: {', '.join(defeats) or '-'}")
    out.append(f"  exceptions to it: {', '.join(defeated_by) or '-'}")
    if cov is not None:
        cases = cov.rules.get(rule_id, [])
        out.append(f"  cases: {len(cases)}" + (": " + ", ".join(cases[:12]) + (" …" if len(cases) > 12 else "")
                                               if cases else " — never exercised"))
    return out


def article_lines(rb: RuleBase, ref: str, cov: Coverage | None = None, lang: str = "en") -> list[str]:
    key = "/".join(ref.split("/")[:2])
    art = rb.kb.articles.get(key)
    if art is None:
        return []
    act = rb.kb.acts[art.act]
    out = [f"{_t(act.title, lang)} ({act.number}, {act.date}) — Art. {art.number}: {_t(art.title, lang)}",
           f"  source: {art.source}",
           f"  last checked: {art.last_checked or 'never'}; encoded: {'yes' if art.encoded else 'no'}"]
    if art.in_force_from or art.in_force_to:
        out.append(f"  in force: {art.in_force_from or '…'} .. {art.in_force_to or 'now'}")
    if art.amended_by:
        out.append("  amended by: " + "; ".join(art.amended_by))
    if art.note:
        out.append(f"  note: {_t(art.note, lang)}")
    for num, part in art.parts.items():
        out.append(f"  part {num}:")
        for lg in ("ru", "en"):
            if part.text.get(lg):
                out.append(f"    {lg}: {part.text[lg]}")
    rules = sorted({r.id for r in rb.rules if any("/".join(c.split('/')[:2]) == key for c in r.cite)})
    out.append(f"  rules encoding it: {', '.join(rules) or '-'}")
    if cov is not None:
        cases = cov.articles.get(key, ([], []))[1]
        out.append(f"  cases covering it: {len(cases)}" + (": " + ", ".join(cases[:12]) if cases else ""))
    return out


def rule_map(rb: RuleBase) -> nx.DiGraph:
    """The rule base as a dependency map: fact types → rules → fact types (exceptions too)."""
    g = nx.DiGraph()
    for r_id, versions in sorted(rb.program.rule_versions.items()):
        r = versions[0]
        uses, makes = _rule_types(r, rb)
        act = r.cite[0].split("/")[0] if r.cite else "-"
        art = _article_of(r.cite[0]) if r.cite else "-"
        node = f"rule:{r_id}"
        g.add_node(node, kind="rule", act=act, article=art, label=r_id.split(".", 1)[-1],
                   versions=len(versions))
        for t in sorted(uses):
            g.add_node(f"type:{t}", kind="type", label=t,
                       entity=rb.kb.types[t].kind == "entity" if t in rb.kb.types else False)
            g.add_edge(f"type:{t}", node, kind="reads")
        for t in sorted(makes):
            g.add_node(f"type:{t}", kind="type", label=t, entity=False)
            g.add_edge(node, f"type:{t}", kind="derives")
        for d in sorted({d.target for v in versions for d in v.defeats}):
            g.add_edge(node, f"rule:{d}", kind="defeats")
    return g


def rule_map_dot(g: nx.DiGraph, rb: RuleBase) -> str:
    from ..views.graph import _q

    lines = ["digraph rules {", '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.15, ranksep=0.6];',
             '  node [fontname="Helvetica", fontsize=9, shape=box, style="rounded,filled", fillcolor=white];',
             '  edge [arrowsize=0.6, color="#757575"];']
    ids = {n: f"n{i}" for i, n in enumerate(sorted(g.nodes))}
    clusters: dict[tuple[str, str], list[str]] = {}
    for n, d in sorted(g.nodes(data=True)):
        if d["kind"] == "rule":
            clusters.setdefault((d["act"], d["article"]), []).append(n)
        else:
            fill = "#e3f2fd" if d.get("entity") else "#e8f5e9"
            lines.append(f'  {ids[n]} [label={_q(d["label"])}, shape=ellipse, fillcolor="{fill}"];')
    for (act, art), nodes in sorted(clusters.items()):
        act_name = rb.kb.acts[act].short.get("en", act) if act in rb.kb.acts else act
        lines.append(f"  subgraph cluster_{len(lines)} {{")
        lines.append(f'    label={_q(act_name + " Art. " + art.split("/")[-1])}; style="rounded,dashed"; color="#bdbdbd";')
        for n in nodes:
            lines.append(f'    {ids[n]} [label={_q(g.nodes[n]["label"])}, fillcolor="#ede7f6", shape=component];')
        lines.append("  }")
    for u, v, d in sorted(g.edges(data=True)):
        style = ' [color="#c62828", style=bold, label="defeats", fontsize=8]' if d["kind"] == "defeats" else ""
        lines.append(f"  {ids[u]} -> {ids[v]}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- impact of an amendment -------------------------------------------------------------------


def shift_case(scenario: Scenario, day: _dt.date, field_name: str | None = None) -> Scenario:
    """The case as if its act happened on ``day``: every case date moves by the same amount.

    With ``field_name``, only that date of the case is set to ``day`` (e.g. the date of
    assessment, which selects the version of a rule of procedure).
    """
    case = next((f for f in scenario.facts if f.type == CASE_TYPE), None)
    if field_name is not None:
        attrs: dict[str, Any] = dict(case.attrs) if case else {"key": "case"}
        attrs[field_name] = day
        new_case = Fact("case:case", CASE_TYPE, tuple(sorted(attrs.items())))
    elif case is None or case.get("act_date") is None:
        attrs = dict(case.attrs) if case else {"key": "case"}
        attrs["act_date"] = day
        new_case = Fact("case:case", CASE_TYPE, tuple(sorted(attrs.items())))
    else:
        delta = day - case.get("act_date")
        attrs = {k: (v + delta if isinstance(v, _dt.date) else v) for k, v in case.attrs}
        new_case = Fact(case.fid, case.type, tuple(sorted(attrs.items())))
    facts = [new_case if f.type == CASE_TYPE else f for f in scenario.facts]
    return replace(scenario, facts=sorted(facts, key=lambda f: f.fid))


def _summary(result: Result, kb: Any) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for c in result.conclusions:
        attrs = kb.types[c.type].attributes
        ident = json.dumps({k: json_value(v) for k, v in sorted(c.attributes.items())
                            if k in attrs and attrs[k].type in ("ref", "enum", "bool")}, sort_keys=True)
        out[(c.type, ident)] = {"status": c.status, "attributes": {k: json_value(v) for k, v in c.attributes.items()},
                                "rules": c.rules, "citations": c.citations,
                                "explanation": c.explanation.get("en", "")}
    return out


def diff_results(a: Result, b: Result, kb: Any) -> list[dict[str, Any]]:
    sa, sb = _summary(a, kb), _summary(b, kb)
    changes = []
    for key in sorted(set(sa) | set(sb)):
        x, y = sa.get(key), sb.get(key)
        if x == y:
            continue
        if x and y and x["status"] == y["status"] and x["attributes"] == y["attributes"]:
            continue
        changes.append({"type": key[0], "identity": json.loads(key[1]),
                        "before": x and {"status": x["status"], "attributes": x["attributes"]},
                        "after": y and {"status": y["status"], "attributes": y["attributes"]},
                        "rules": sorted(set((x or {}).get("rules", [])) | set((y or {}).get("rules", []))),
                        "citations": sorted(set((x or {}).get("citations", [])) | set((y or {}).get("citations", []))),
                        "reason": (y or x or {}).get("explanation", "")})
    return changes


def diff_corpus(scenarios: Iterable[Scenario], rb_a: RuleBase, rb_b: RuleBase, engine: str,
                day_a: _dt.date | None = None, day_b: _dt.date | None = None,
                field_name: str | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {"cases": [], "by_article": {}, "compared": 0}
    for s in scenarios:
        report["compared"] += 1
        try:
            # moving a case's dates can leave the calendar (--from 0001-01-01): that case is an error
            sa = shift_case(s, day_a, field_name) if day_a else s
            sb = shift_case(s, day_b, field_name) if day_b else s
            ra = evaluate_case(rb_a, sa, engine)
            rb_res = evaluate_case(rb_b, sb, engine)
            changes = diff_results(ra, rb_res, rb_b.kb)
            if day_a and day_b:
                changes = [c for c in changes if not _only_dates_moved(c, day_b - day_a)]
        except OverflowError:
            report.setdefault("errors", []).append({"case": s.id, "file": s.path, "error": (
                "its dates cannot be moved that far: they would leave the calendar (years 1 to 9999)")})
            continue
        except Exception as exc:  # one case that cannot be evaluated does not stop the report
            report.setdefault("errors", []).append({"case": s.id, "file": s.path, "error": str(exc)})
            continue
        if not changes:
            continue
        entry = {"case": s.id, "file": s.path, "changes": changes}
        report["cases"].append(entry)
        for ch in changes:
            for cite in ch["citations"] or ["-"]:
                art = _article_of(cite)
                report["by_article"].setdefault(art, [])
                if s.id not in report["by_article"][art]:
                    report["by_article"][art].append(s.id)
    return report


def _only_dates_moved(change: dict[str, Any], delta: _dt.timedelta) -> bool:
    """Only dates differ: deadlines that moved with the shifted case are not a change of law.

    (A changed *length* of a period shows in its numeric attribute, e.g. ``years``.)
    """
    a, b = change["before"], change["after"]
    if not a or not b or a["status"] != b["status"]:
        return False
    for k in set(a["attributes"]) | set(b["attributes"]):
        x, y = a["attributes"].get(k), b["attributes"].get(k)
        if x == y:
            continue
        try:
            _dt.date.fromisoformat(x)
            _dt.date.fromisoformat(y)
        except (TypeError, ValueError):
            return False
    return True


def diff_lines(report: dict[str, Any], label_a: str, label_b: str) -> list[str]:
    out = [f"Impact: {label_a} -> {label_b}: {len(report['cases'])} of {report['compared']} cases change."]
    for err in report.get("errors", []):
        out.append(f"  could not evaluate case {err['case']} ({err['file']}): {err['error']}")
    if report["by_article"]:
        out.append("")
        out.append("Cases changed, by article:")
    for art in sorted(report["by_article"]):
        out.append(f"  {art}: {', '.join(report['by_article'][art])}")
    for entry in report["cases"]:
        out.append("")
        out.append(f"case {entry['case']} ({entry['file']})")
        for ch in entry["changes"]:
            ident = ", ".join(f"{k}={v}" for k, v in ch["identity"].items())
            b, a = ch["before"], ch["after"]
            out.append(f"  {ch['type']}({ident})")
            out.append(f"    {label_a}: {b['status'] if b else 'does not hold'}")
            out.append(f"    {label_b}: {a['status'] if a else 'does not hold'}")
            if a and b:
                for k in sorted(set(a["attributes"]) | set(b["attributes"])):
                    if a["attributes"].get(k) != b["attributes"].get(k):
                        out.append(f"    {k}: {format_value(b['attributes'].get(k))} -> {format_value(a['attributes'].get(k))}")
            out.append(f"    rules: {', '.join(ch['rules'])}")
            if ch["reason"]:
                out.append(f"    why: {ch['reason']}")
    return out
