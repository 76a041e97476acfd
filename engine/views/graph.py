"""The reasoning graph: one networkx model of facts → rules → conclusions, and its drawings.

Every view (the ``graph`` command, the HTML memo) is drawn from :func:`reasoning_graph`.
Nodes carry a ``kind``: ``input`` (a stated fact), ``unknown`` (an attribute the case does
not state that a conclusion depends on), ``parameter`` (a dated value read, e.g. the MCI),
``rule`` (one application of a rule, labelled with its article; ``defeated`` when an
exception withdrew it) and ``conclusion`` (a derived fact with its ``status``).
Graphviz is imported lazily and only to render; without the ``dot`` binary the DOT text is
still produced.
"""

from __future__ import annotations

import html
from typing import Any
from collections.abc import Iterable

import networkx as nx

from ..i18n import Section, msg, pick
from ..i18n import format_value as local_value
from ..language.kb import KB
from ..reasoning.provenance import Derivation, Mode, Role, Status
from ..reasoning.result import Result, format_value
from .text import cite_label

MSG = Section("graph")  # kb/messages/{en,ru,kk}.yaml, section graph


def _m(key: str, lang: str) -> str:
    return msg("graph", key, lang)

__all__ = ["reasoning_graph", "focus", "to_dot", "render", "RenderError", "GraphvizMissing", "cite_label",
           "INSTALL_HINT", "RENDER_TIMEOUT"]

INSTALL_HINT = "install Graphviz to render it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"


class RenderError(Exception):
    """Raised by :func:`render` when Graphviz cannot draw the graph; the message says why."""


class GraphvizMissing(RenderError):
    """Raised by :func:`render` when the Graphviz ``dot`` program is not installed."""

    def __str__(self) -> str:
        return f"Graphviz's dot program is not installed ({INSTALL_HINT})"


def _fact_label(attributes: dict[str, Any], key: Any, tname: str, only: set[str] | None = None) -> str:
    attrs = [f"{k}={format_value(v)}" for k, v in sorted(attributes.items()) if k != "key" and (only is None or k in only)]
    if key is None:
        return ", ".join(attrs)
    return f"{tname}:{key}" + ("\n" + ", ".join(attrs) if attrs else "")


def reasoning_graph(result: Result, kb: KB, lang: str = "en") -> nx.DiGraph:
    """Build the graph of one analysis from its trace (a live or a saved result alike), its
    titles and questions in ``lang``."""
    trace = result.trace
    g = nx.DiGraph()
    status = {c.id: c.status for c in result.conclusions}
    derivations = trace.derivations
    certain_keys = {(d.branch, d.premises) for d in derivations if d.mode == Mode.CERTAIN and not d.defeated}

    def visible(d: Derivation) -> bool:
        if trace.is_aux(d):
            return False
        if d.mode == Mode.POSSIBLE and (d.branch, d.premises) in certain_keys:
            return False  # the same application, already shown as certain
        if d.mode == Mode.POSSIBLE and d.defeated:
            return False
        if d.mode == Mode.POSSIBLE and d.conclusions and all(
                (f := trace.facts.get(p)) is not None and f.mode == Mode.CERTAIN for p in d.conclusions):
            return False  # a merely possible route to a conclusion that holds anyway
        if d.mode == Mode.CERTAIN and d.defeated:
            return True
        return any(p in status for p in d.conclusions) or not d.conclusions

    def fact_node(fid: str) -> str | None:
        fact = trace.facts.get(fid)
        if fact is None or fact.role in (Role.AUX, Role.RECORD):
            return None
        node = f"fact:{fid}"
        if node not in g:
            t = kb.types.get(fact.type)
            if fact.role == Role.INPUT:
                g.add_node(node, kind="input", label=_fact_label(fact.attributes, fact.get("key"), fact.type,
                                                                 used_attrs.get(fid, set())),
                           type=fact.type, fid=fid)
            else:
                g.add_node(node, kind="conclusion", label=_fact_label(fact.attributes, fact.get("key"), fact.type),
                           type=fact.type, fid=fid, status=str(status.get(fid, Status.DOES_NOT_HOLD)),
                           ckind=t.kind if t else "intermediate",
                           title=(pick(t.title, lang, fact.type) if t else fact.type))
        return node

    shown_ds = [d for d in derivations if visible(d)]
    used_attrs: dict[str, set[str]] = {}
    for d in shown_ds:
        reads = trace.branches[d.branch].reads
        for attrs, fid in zip(reads, d.premises):
            used_attrs.setdefault(fid, set()).update(attrs)
    shown: dict[tuple[str, tuple[str, ...], str], str] = {}
    for d in shown_ds:
        rule = trace.rules[d.rule]
        rnode = f"rule:{d.id}"
        act = rule.citations[0].split("/")[0] if rule.citations else "-"
        g.add_node(rnode, kind="rule", rule=rule.uid, rule_id=rule.id, citations=list(rule.citations), act=act,
                   label=cite_label(kb, rule.citations[0], lang) + "\n" + rule.id.split(".", 1)[-1] if rule.citations
                   else rule.id,
                   defeated=d.defeated, mode=str(d.mode), excerpt=rule.excerpt.get("en", ""))
        shown[(d.branch, d.premises, str(d.mode))] = rnode
        for prem in d.premises:
            n = fact_node(prem)
            if n:
                g.add_edge(n, rnode, kind="premise")
        for p in d.parameters:
            pnode = f"param:{p.name}@{p.date}"
            title = pick(kb.parameters[p.name].title, lang, p.name) if p.name in kb.parameters else p.name
            g.add_node(pnode, kind="parameter", label=f"{title}\n= {local_value(p.value, lang)} ({p.date})", source=p.source,
                       name=p.name, value=p.value, date=p.date)
            g.add_edge(pnode, rnode, kind="parameter")
        if d.mode == Mode.POSSIBLE:
            for u in d.assumptions:
                fact = trace.facts.get(u.fact)
                t = kb.types.get(fact.type) if fact else None
                if t is None or fact is None or fact.role != Role.INPUT:
                    continue
                unode = f"unknown:{u.fact}.{u.attribute}"
                q = t.attributes.get(u.attribute)
                g.add_node(unode, kind="unknown", label=f"{u.fact}.{u.attribute} = ?", fid=u.fact,
                           attribute=u.attribute, question=(pick(q.question, lang) if q else ""))
                g.add_edge(unode, rnode, kind="unknown")
        for fid in d.conclusions:
            n = fact_node(fid)
            if n:
                g.add_edge(rnode, n, kind="defeated" if d.defeated else "derives")
    # exceptions: the defeating application points at the defeated one
    for d in shown_ds:
        if not d.defeated:
            continue
        target = shown[(d.branch, d.premises, str(d.mode))]
        for r_uid in d.defeated_by:
            for other in shown_ds:
                if other.rule == r_uid and other.records and not other.defeated:
                    g.add_edge(shown[(other.branch, other.premises, str(other.mode))], target, kind="defeats")
    return g


def focus(g: nx.DiGraph, targets: Iterable[str]) -> nx.DiGraph:
    """Keep only the given nodes and their ancestors (plus exceptions that defeated them)."""
    keep: set[str] = set()
    for t in targets:
        if t in g:
            keep.add(t)
            keep |= nx.ancestors(g, t)
    return g.subgraph(keep).copy()


_STATUS_COLOR = {"holds": "#2e7d32", "undetermined": "#ef6c00", "defeated": "#c62828", "does_not_hold": "#757575"}
_STATUS_FILL = {"holds": "#e8f5e9", "undetermined": "#fff3e0", "defeated": "#ffebee", "does_not_hold": "#f5f5f5"}


MAX_LABEL = 1000  # characters of one DOT label (a key of 81,000 characters made Graphviz fail)


def _q(text: str) -> str:
    """A DOT quoted string (identifiers and labels alike): quotes and line ends escaped,
    backslashes and control characters replaced, and cut to MAX_LABEL characters, so that no text
    from a case or the kb can end the string and add attributes (e.g. a link) of its own."""
    text = str(text)
    if len(text) > MAX_LABEL:
        more = "… (cut here; `kzcopyright why` shows it whole)"
        text = text[:MAX_LABEL - len(more)] + more
    # DOT has one escape in a quoted string, \": a doubled backslash does not protect a quote
    # after it, so a backslash from the data is shown as a look-alike (U+29F5) instead
    text = "".join(ch for ch in text if ch == "\n" or ch >= " ").replace("\\", "\u29f5")
    return '"' + text.replace('"', '\\"').replace("\n", "\\n") + '"'


def safe_link(url: str) -> str:
    """``url`` if it is an http(s) address, else "" (no javascript:, data: or file: links)."""
    u = str(url).strip()
    return u if u.lower().startswith(("http://", "https://")) and not any(c in u for c in "\"<> \n") else ""


def _wrap(text: str, width: int = 34) -> str:
    import textwrap

    return "\n".join("\n".join(textwrap.wrap(line, width)) or line for line in text.split("\n"))


def to_dot(g: nx.DiGraph, kb: KB, title: str = "", layout: str = "wide", lang: str = "en") -> str:
    """DOT text: rules grouped by act, facts on the left, a legend (its words in ``lang``).

    ``layout="memo"`` draws for a page instead: top-down, larger text, narrower labels, no
    legend box (the memo explains the styles), so that a topic's drawing stays readable on A4."""
    memo = layout == "memo"
    font = 14 if memo else 10
    width = 22 if memo else 34
    lines = ["digraph reasoning {", f'  graph [rankdir={"TB" if memo else "LR"}, fontname="Helvetica", '
             f'fontsize={font + 1}, nodesep={0.15 if memo else 0.25}, ranksep={0.3 if memo else 0.5}, labelloc=t'
             + (f", label={_q(title)}" if title else "") + "];",
             f'  node [fontname="Helvetica", fontsize={font}, style="rounded,filled", shape=box, fillcolor=white'
             + (", margin=\"0.08,0.04\"" if memo else "") + "];",
             '  edge [color="#555555", arrowsize=0.7];']
    ids = {n: f"n{i}" for i, n in enumerate(sorted(g.nodes))}
    by_group: dict[str, list[str]] = {}
    for n in sorted(g.nodes):
        d = g.nodes[n]
        kind = d["kind"]
        group = "facts" if kind in ("input", "unknown", "parameter") else (d.get("act", "-") if kind == "rule" else "")
        by_group.setdefault(group, []).append(n)

    def node_line(n: str) -> str:
        d = g.nodes[n]
        kind = d["kind"]
        label = _wrap(d.get("label", n), width)
        if kind == "input":
            attrs = 'fillcolor="#e3f2fd", color="#1565c0"'
        elif kind == "unknown":
            attrs = 'fillcolor="#fafafa", color="#9e9e9e", style="rounded,dashed,filled", fontcolor="#616161"'
            label = _wrap(d.get("label", n) + ("\n" + d["question"] if d.get("question") else ""), width)
        elif kind == "parameter":
            attrs = 'shape=note, fillcolor="#fffde7", color="#f9a825"'
        elif kind == "rule":
            if d.get("defeated"):
                attrs = 'shape=component, fillcolor="#ffebee", color="#c62828", style="dashed,filled"'
                label = label + "\n" + _m("defeated-mark", lang)
            elif d.get("mode") == "possible":
                attrs = 'shape=component, fillcolor="#fff3e0", color="#ef6c00"'
            else:
                attrs = 'shape=component, fillcolor="#ede7f6", color="#4527a0"'
        else:
            st = d.get("status", "holds")
            attrs = f'fillcolor="{_STATUS_FILL[st]}", color="{_STATUS_COLOR[st]}", penwidth=1.6'
            label = _wrap(f"{d.get('title', '')}\n[{_m('st-' + st, lang)}]\n{d.get('label', '')}", width)
        return f"    {ids[n]} [label={_q(label)}, {attrs}];"

    for group in sorted(by_group):
        members = by_group[group]
        if group == "" or memo:  # the memo's drawings are not boxed by act: boxes widen a top-down drawing
            lines.extend(node_line(n).replace("    ", "  ", 1) for n in members)
            continue
        name = _m("facts", lang) if group == "facts" else (
            (pick(kb.acts[group].short, lang) or pick(kb.acts[group].title, lang) or group) if group in kb.acts else group)
        lines.append(f"  subgraph {_q('cluster_' + group)} {{")
        lines.append(f'    label={_q(name)}; style="rounded,dashed"; color="#bdbdbd"; fontcolor="#424242";')
        lines.extend(node_line(n) for n in members)
        lines.append("  }")
    for u, v, d in sorted(g.edges(data=True), key=lambda e: (e[0], e[1])):
        kind = d.get("kind")
        style = ""
        if kind == "unknown":
            style = ' [style=dashed, color="#9e9e9e"]'
        elif kind == "defeats":
            style = f' [color="#c62828", style=bold, label={_q(_m("defeats", lang))}, fontcolor="#c62828", fontsize={font}]'
        elif kind == "defeated":
            style = ' [color="#c62828", style=dashed]'
        elif kind == "parameter":
            style = ' [color="#f9a825"]'
        lines.append(f"  {ids[u]} -> {ids[v]}{style};")
    if memo:
        return "\n".join(lines + ["}"]) + "\n"
    legend = [("lg1", "lg-stated", 'fillcolor="#e3f2fd", color="#1565c0"'),
              ("lg2", "lg-unknown", 'fillcolor="#fafafa", color="#9e9e9e", style="rounded,dashed,filled"'),
              ("lg3", "lg-parameter", 'shape=note, fillcolor="#fffde7", color="#f9a825"'),
              ("lg4", "lg-rule", 'shape=component, fillcolor="#ede7f6", color="#4527a0"'),
              ("lg4b", "lg-possible", 'shape=component, fillcolor="#fff3e0", color="#ef6c00"'),
              ("lg5", "lg-defeated-rule", 'shape=component, fillcolor="#ffebee", color="#c62828", style="dashed,filled"'),
              ("lg6", "lg-holds", 'fillcolor="#e8f5e9", color="#2e7d32"'),
              ("lg7", "lg-undetermined", 'fillcolor="#fff3e0", color="#ef6c00"'),
              ("lg8", "lg-defeated", 'fillcolor="#ffebee", color="#c62828"')]
    lines += ["  subgraph cluster_legend {",
              f'    label={_q(_m("legend", lang))}; style="rounded"; color="#bdbdbd"; fontsize=10;']
    lines += [f"    {node} [label={_q(_m(key, lang))}, {attrs}];" for node, key, attrs in legend]
    lines += ["    lg1 -> lg2 -> lg3 -> lg4 -> lg4b -> lg5 -> lg6 -> lg7 -> lg8 [style=invis];", "  }", "}"]
    return "\n".join(lines) + "\n"


RENDER_TIMEOUT = 60.0  # seconds Graphviz may take for one drawing


def render(dot_text: str, fmt: str) -> bytes:
    """Render DOT text with the Graphviz ``dot`` program (no shell, bounded in time).

    Raises :class:`GraphvizMissing` when ``dot`` is not installed and :class:`RenderError`
    with Graphviz's own reason when it fails or runs past RENDER_TIMEOUT."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(INSTALL_HINT)
    if fmt not in ("svg", "png"):
        raise RenderError(f"Graphviz cannot draw the format '{fmt}'")
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True,
                              timeout=RENDER_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz did not finish within {RENDER_TIMEOUT:g} s") from None
    except OSError as exc:
        raise RenderError(f"Graphviz could not be run: {exc.strerror or exc}") from None
    if done.returncode != 0 or not done.stdout:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = reason[0][:300] if reason else f"exit code {done.returncode}"
        raise RenderError(f"Graphviz could not draw the graph ({why})")
    return done.stdout


_ = html
