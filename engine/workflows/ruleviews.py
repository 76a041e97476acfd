"""Maintainers' views of the rule base: one rule with its law, versions and neighbours; one
article with the rules encoding it; the dependency map of fact types and rules.
"""

from __future__ import annotations

import datetime as _dt

import networkx as nx

from ..i18n import pick
from ..language.model import Rule
from ..rulebase import RuleBase
from .coverage import Coverage, article_of

__all__ = ["rule_lines", "article_lines", "rule_map", "rule_map_dot"]


def _t(texts: dict[str, str], lang: str = "en") -> str:
    return pick(texts, lang)


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
    """One rule as text: every version with its validity, the law it cites, what it reads and derives, its exceptions and the cases that exercise it."""
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
            more = f" … (the whole text: kzcopyright kb article {'/'.join(bits[:2])})"
            for tl in ("ru", "en"):
                if text.get(tl):
                    body = text[tl]
                    out.append(f"    {tl}: {body[:400]}" + (more if len(body) > 400 else ""))
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
        out.append(f"  cases: {len(cases)}" + (": " + ", ".join(cases[:12])
                                               + (f" … and {len(cases) - 12} more (rules coverage --format json lists "
                                                  "them all)" if len(cases) > 12 else "")
                                               if cases else " — never exercised"))
    return out


def article_lines(rb: RuleBase, ref: str, cov: Coverage | None = None, lang: str = "en") -> list[str]:
    """One article as text: title, source, check date, its texts, the rules encoding it and the cases covering it."""
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
        art = article_of(r.cite[0]) if r.cite else "-"
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
    """The rule map as DOT text: fact types and rules grouped by article."""
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


