"""A self-contained HTML memo of one analysis: facts, conclusions, amounts, deadlines, steps,
the cited law, the reasoning graph as inline SVG, assumptions, and the disclaimer.

No network: styles are inline, the graph is embedded; it prints on A4.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .graph import RenderError, reasoning_graph, render, safe_link, to_dot
from ..language.kb import KB
from .text import cite_label, value_labels
from ..reasoning.result import SCHEMA_VERSION, Result, format_value

__all__ = ["memo_html"]

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:60rem;margin:2rem auto;padding:0 1.2rem;color:#212121;
line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #bdbdbd;margin-top:2rem}
.sub{color:#616161;margin-top:0}.badge{display:inline-block;font:600 .75rem/1.4 Helvetica,Arial,sans-serif;
padding:.05rem .45rem;border-radius:.6rem;margin-right:.4rem;vertical-align:middle}
.holds{background:#e8f5e9;color:#1b5e20;border:1px solid #2e7d32}.undetermined{background:#fff3e0;color:#e65100;
border:1px solid #ef6c00}.defeated{background:#ffebee;color:#b71c1c;border:1px solid #c62828}
.does_not_hold{background:#f5f5f5;color:#424242;border:1px solid #9e9e9e}
.c{margin:.7rem 0;padding-left:.6rem;border-left:3px solid #e0e0e0}.c .law{color:#455a64;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border:1px solid #e0e0e0;padding:.3rem .45rem;
text-align:left;vertical-align:top}th{background:#fafafa}.num{text-align:right;white-space:nowrap}
.art{margin:.6rem 0}.art .ru{font-style:italic;color:#37474f}.graph svg{max-width:100%;height:auto}
.disclaimer{margin-top:2rem;padding:.6rem;border:1px solid #ef6c00;background:#fff8e1;font-size:.9rem}
footer{color:#757575;font-size:.8rem;margin-top:1rem}
@media print{body{margin:0;max-width:none;font-size:10.5pt}h2{page-break-after:avoid}.c,.art,tr{page-break-inside:avoid}
.graph{page-break-before:always}a{color:inherit;text-decoration:none}}
@page{size:A4;margin:16mm}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _t(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{_e(status.replace("_", " "))}</span>'


# the page runs no script and loads nothing: only its own inline styles and inline images
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; object-src 'none'; "
       "base-uri 'none'; form-action 'none'")


def _inline_svg(svg: bytes) -> str:
    """Graphviz's SVG, ready to be placed in the page: without its XML prologue, and with
    anything active taken out should a label ever carry it (scripts, event handlers, links
    other than http(s), foreign objects) — the DOT text quotes every label, so this is a
    second line of defence."""
    text = svg.decode("utf-8", "replace")
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text)
    text = re.sub(r"(?is)<(script|foreignObject|iframe|embed|object)\b.*?</\1\s*>", "", text)
    text = re.sub(r"(?is)<(script|foreignObject|iframe|embed|object)\b[^>]*>", "", text)
    text = re.sub(r"(?i)\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", "", text)

    def link(m: re.Match[str]) -> str:
        return m.group(0) if safe_link(html.unescape(m.group(3))) else ""

    text = re.sub(r"(?i)\s+((?:xlink:)?href)\s*=\s*(\"|')(.*?)\2", link, text)
    return text.strip()


def _source_link(url: str) -> str:
    """A link to an article's source, only for an http(s) address (else the text alone)."""
    return f'<a href="{_e(url)}">{_e(url)}</a>' if safe_link(url) else _e(url)


def memo_html(result: Result, kb: KB, lang: str = "en") -> str:
    parts: list[str] = []
    add = parts.append
    add("<!DOCTYPE html>")
    add(f'<html lang="{_e(lang)}"><head><meta charset="utf-8">')
    add(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">')
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    add(f"<title>{_e(result.case_title)} — kzcopyright memo</title><style>{_CSS}</style></head><body>")
    add(f"<h1>{_e(result.case_title)}</h1>")
    dates = ", ".join(f"{_e(k.replace('_', ' '))}: {_e(v)}" for k, v in sorted(result.dates.items()))
    add(f'<p class="sub">Memo on case <code>{_e(result.case_id)}</code>. {dates}</p>')
    add(f'<div class="disclaimer"><strong>{_e(result.disclaimer)}</strong> Conclusions follow the rules as encoded; '
        "undetermined points depend on facts not yet established.</div>")

    add("<h2>Facts of the case</h2><table><tr><th>Fact</th><th>Stated attributes</th></tr>")
    for f in result.facts:
        attrs = "; ".join(f"{_e(k)} = {_e(format_value(v))}" for k, v in sorted(f.attributes.items()) if k != "key")
        add(f"<tr><td><code>{_e(f.id)}</code></td><td>{attrs}</td></tr>")
    add("</table>")

    headings = {"conclusion": "Conclusions", "liability": "Liability", "remedy": "Civil remedies",
                "action": "Recommended steps, in order"}
    for kind, items in result.by_kind():
        add(f"<h2>{headings[kind]}</h2>")
        if kind == "action":
            add("<ol>")
        for c in items:
            labels = value_labels(c, kb, lang)
            head = _e(_t(c.title, lang)) + (": " + _e("; ".join(labels)) if labels else "")
            law = "; ".join(_e(cite_label(kb, x)) for x in c.citations)
            body = f'{_badge(c.status)}<strong>{head}</strong><br>{_e(_t(c.explanation, lang))}'
            if c.depends_on:
                body += "<br><em>Depends on:</em> " + _e(" / ".join(_t(d.question, lang) or d.attribute
                                                                    for d in c.depends_on))
            if c.defeated_by:
                body += "<br><em>Defeated by:</em> " + _e(", ".join(d.rule for d in c.defeated_by))
            body += f'<div class="law">{law}</div>'
            add(f'<li class="c">{body}</li>' if kind == "action" else f'<div class="c">{body}</div>')
        if kind == "action":
            add("</ol>")

    amounts: list[tuple[str, str, Any]] = []
    deadlines: list[tuple[str, str, Any]] = []
    for c in result.conclusions:
        if c.status not in ("holds", "undetermined"):
            continue
        t = kb.types[c.type]
        for name, a in sorted(t.attributes.items()):
            v = c.attributes.get(name)
            if v is None:
                continue
            label = f"{_t(c.title, lang)} ({', '.join(f'{k}={format_value(x)}' for k, x in sorted(c.attributes.items()) if t.attributes[k].type in ('ref', 'enum'))})"
            if a.type == "tenge":
                amounts.append((label + f" [{c.status}]", name, v))
            elif a.type == "date":
                deadlines.append((label + f" [{c.status}]", name, v))
    for heading, column, cls, rows in (("Amounts", "Tenge", " class=num", amounts),
                                       ("Dates and deadlines", "Date", "", deadlines)):
        if rows:
            add(f"<h2>{heading}</h2><table><tr><th>Conclusion</th><th>Item</th><th{cls}>{column}</th></tr>")
            for label, name, v in rows:
                add(f"<tr><td>{_e(label)}</td><td>{_e(name.replace('_', ' '))}</td><td{cls}>{_e(format_value(v))}</td></tr>")
            add("</table>")
    if result.undetermined:
        add("<h2>Still undetermined — what would decide it</h2><ul>")
        for u in result.undetermined:
            add(f"<li>{_e(_t(u.question, lang) or u.attribute)} <code>{_e(u.fact)}.{_e(u.attribute)}</code>"
                f" — affects {_e(', '.join(u.affects))}</li>")
        add("</ul>")
    if result.assumptions:
        add("<h2>Assumptions where the law is unsettled</h2><ul>")
        for asm in result.assumptions:
            add(f"<li>{_e(_t(asm.text, lang))} <span class=law>({_e(asm.rule)})</span></li>")
        add("</ul>")

    if result.derivations:
        g = reasoning_graph(result, kb)
        dot = to_dot(g, kb)
        add('<h2>Reasoning graph</h2><div class="graph">')
        try:
            add(_inline_svg(render(dot, "svg")))
        except RenderError as exc:
            add(f"<p>The graph could not be drawn here: {_e(exc)}. Its DOT text:</p><pre>{_e(dot)}</pre>")
        add("</div>")

    cited: list[str] = []
    for c in result.conclusions:
        if c.status in ("holds", "undetermined", "defeated"):
            for x in c.citations:
                if x not in cited:
                    cited.append(x)
    if cited:
        add("<h2>The law cited</h2>")
        for x in sorted(cited, key=lambda s: [int(p) if p.isdigit() else p for p in re.split(r"[/-]", s)]):
            art = kb.article_for(x)
            if art is None:
                continue
            bits = x.split("/")
            part = art.parts.get(bits[2]) if len(bits) > 2 else None
            texts = part.text if part else art.text
            add(f'<div class="art"><strong>{_e(cite_label(kb, x))}</strong> — {_e(_t(art.title, lang))}'
                f' <span class=law>({_source_link(art.source)}'
                + (f"; checked {art.last_checked}" if art.last_checked else "") + ")</span>")
            if texts.get("ru"):
                add(f'<div class="ru">{_e(texts["ru"][:1500])}</div>')
            if texts.get("en"):
                add(f"<div>{_e(texts['en'][:1500])}</div>")
            add("</div>")
    if result.parameters:
        add("<h2>Parameters used</h2><table><tr><th>Parameter</th><th>Date</th><th class=num>Value</th><th>Source</th></tr>")
        for p in result.parameters:
            add(f"<tr><td>{_e(_t(p.title, lang))}</td><td>{_e(p.date)}</td><td class=num>{_e(format_value(p.value))}"
                f"</td><td>{_e(p.source)}</td></tr>")
        add("</table>")
    add(f"<footer>kzcopyright · rule base {_e(result.rulebase.fingerprint)} · law as encoded up to "
        f"{_e(result.rulebase.encoded_up_to)} · engine {_e(result.engine)} · schema {SCHEMA_VERSION}</footer>")
    add("</body></html>")
    return "\n".join(parts) + "\n"
