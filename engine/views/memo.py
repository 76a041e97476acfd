"""A memo of one analysis, fit to hand to a client: self-contained HTML (and, with the
optional extra ``pdf``, the same memo as a PDF through WeasyPrint).

In order: the case and its description, the summary (:mod:`.summary`), the disclaimer, the
facts, the conclusions with their articles (numbered as in the text report), amounts and
deadlines tables, what is still open, the assumptions, the reasoning graphs — one per topic
of the summary, drawn top-down at a size that stays readable on A4 (the full graph is a
separate file) — and an appendix of the law cited: each article once, as stored in the kb,
with the official address of its act. No maintainers' notes, mirror names or commit hashes.

No network: styles are inline, the graphs are embedded; it prints on A4.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..i18n import Section, msg, pick
from ..i18n import format_value as local_value
from ..errors import KzError
from ..language.kb import KB
from ..reasoning.provenance import Status
from ..reasoning.result import SCHEMA_VERSION, Conclusion, Result
from .graph import RenderError, focus, reasoning_graph, render, safe_link, to_dot
from .handles import Handle, handles
from .summary import Summary, item_text, open_questions, question_text, refs_text, summarize
from .text import cite_label, disclaimer_text, value_labels

__all__ = ["memo_html", "memo_pdf", "graph_file_name", "official_address", "public_source", "PdfUnavailable",
           "MSG", "CSP", "GRAPH_FONT_PT", "MIN_TEXT_PX", "client_text"]

# the interface strings of this module (message id -> language -> text)
MSG = Section("memo")  # kb/messages/{en,ru,kk}.yaml, section memo


def _m(key: str, lang: str, **kw: Any) -> str:
    return msg(MSG.name, key, lang, **kw)


_CSS = """
body{font-family:'DejaVu Serif',Georgia,'Times New Roman',serif;max-width:60rem;margin:2rem auto;padding:0 1.2rem;
color:#212121;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #bdbdbd;margin-top:2rem}
h3{font-size:1rem;margin:1.2rem 0 .3rem}
.sub{color:#616161;margin-top:0}.badge{display:inline-block;font:600 .75rem/1.4 'DejaVu Sans',Helvetica,Arial,sans-serif;
padding:.05rem .45rem;border-radius:.6rem;margin-right:.4rem;vertical-align:middle}
.holds{background:#e8f5e9;color:#1b5e20;border:1px solid #2e7d32}.undetermined{background:#fff3e0;color:#e65100;
border:1px solid #ef6c00}.defeated{background:#ffebee;color:#b71c1c;border:1px solid #c62828}
.does_not_hold{background:#f5f5f5;color:#424242;border:1px solid #9e9e9e}
.num-ref{color:#455a64;font-weight:600;margin-right:.3rem}.handle{font-family:'DejaVu Sans Mono',monospace;
font-size:.8rem;color:#546e7a}
.c{margin:.7rem 0;padding-left:.6rem;border-left:3px solid #e0e0e0}.c .law{color:#455a64;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;table-layout:fixed}td,th{border:1px solid #e0e0e0;
padding:.3rem .45rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#fafafa}
.num{text-align:right;white-space:nowrap}
.summary th{width:8.5rem;background:#f3f6f9}.summary td{overflow-wrap:normal}
.summary ol{margin:0;padding-left:1.2rem}.summary ul{margin:0;padding-left:1.1rem}
.art{margin:.8rem 0}.art .ru{color:#263238}.art .en{color:#37474f;font-style:italic}.art p{margin:.25rem 0}
.graph{margin:1rem 0}.graph svg{max-width:100%;height:auto;display:block}
.graph figcaption{font-weight:600;margin-bottom:.3rem}.note{color:#616161;font-size:.85rem}
.disclaimer{margin-top:1rem;padding:.6rem;border:1px solid #ef6c00;background:#fff8e1;font-size:.9rem}
footer{color:#757575;font-size:.8rem;margin-top:1rem}
@media print{body{margin:0;max-width:none;font-size:10.5pt}h2,h3{break-after:avoid}
.c,.art p,tr,figure,.disclaimer{break-inside:avoid}thead{display:table-header-group}
a{color:inherit;text-decoration:none}.graph{break-inside:avoid}}
@page{size:A4;margin:16mm 14mm}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _t(texts: dict[str, str], lang: str) -> str:
    return pick(texts, lang)


def _badge(status: str, lang: str = "en") -> str:
    return f'<span class="badge {status}">{_e(msg("explain", "st-" + status, lang))}</span>'


def _item(name: str, lang: str) -> str:
    """An attribute's name in the amounts and deadlines tables: words in English, the
    identifier itself in other languages (it is not translated)."""
    return name.replace("_", " ") if lang == "en" else name


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
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"(?is)<(script|foreignObject|iframe|embed|object)\b.*?</\1\s*>", "", text)
    text = re.sub(r"(?is)<(script|foreignObject|iframe|embed|object)\b[^>]*>", "", text)
    text = re.sub(r"(?i)\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", "", text)

    def link(m: re.Match[str]) -> str:
        return m.group(0) if safe_link(html.unescape(m.group(3))) else ""

    text = re.sub(r"(?i)\s+((?:xlink:)?href)\s*=\s*(\"|')(.*?)\2", link, text)
    return text.strip()


# ---- sources fit for a client ----------------------------------------------------------------

_INTERNAL = re.compile(r"quyse/|kz-laws|github\.com|\bkb/|\.md\b|@\s*[0-9a-f]{7,}|\b[0-9a-f]{40}\b|\bCL\d\d\b|snapshot",
                       re.I)


def client_text(text: str) -> str:
    """A kb text as a client reads it: a parenthesis that speaks of the maintainers' sources
    (the mirror, a file, a commit, a snapshot) is left out, and so is a sentence that still does."""
    if not _INTERNAL.search(text):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth, j = 0, i
            while j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            inner = text[i:j + 1]
            if _INTERNAL.search(inner):
                while out and out[-1] == " ":
                    out.pop()
                i = j + 1
                continue
        out.append(ch)
        i += 1
    cleaned = "".join(out)
    sentences = re.split(r"(?<=[.;])\s+", cleaned)
    return " ".join(x for x in sentences if not _INTERNAL.search(x)).strip()


def public_source(text: str) -> str:
    """A parameter's source without the maintainers' part: the mirror's name, file paths and
    commit hashes are dropped, the legal reference (act, article, quoted words) is kept."""
    parts = [p.strip() for p in str(text).split(";")]
    return "; ".join(p for p in parts if p and not _INTERNAL.search(p))


_OFFICIAL = ("https://adilet.zan.kz/", "http://adilet.zan.kz/")


def official_address(kb: KB, act_id: str) -> str:
    """The official address of an act's text (the Adilet database of legal acts), or "" where
    the kb records only a mirror."""
    act = kb.acts.get(act_id)
    src = act.source if act is not None else ""
    return src if src.startswith(_OFFICIAL) and safe_link(src) else ""


def graph_file_name(output: Path | str) -> str:
    """The name of the memo's full reasoning graph, next to ``output``: memo.html → memo.graph.svg."""
    p = Path(output)
    return f"{p.stem}.graph.svg"


# ---- the reasoning graphs ------------------------------------------------------------------------

GRAPH_FONT_PT = 14.0  # the drawings' text size, in Graphviz points
_SIZE = re.compile(r'<svg[^>]*\bwidth="([\d.]+)pt"[^>]*\bheight="([\d.]+)pt"', re.S)


@dataclass
class _Drawing:
    title: str
    svg: str
    note: str = ""
    width: float = 0.0


def _draw(g: Any, kb: KB, lang: str = "en") -> tuple[str, float, float]:
    dot = to_dot(g, kb, layout="memo", lang=lang)
    svg = _inline_svg(render(dot, "svg"))
    m = _SIZE.search(svg)
    w, h = (float(m.group(1)), float(m.group(2))) if m else (0.0, 0.0)
    svg = svg.replace("<svg", f'<svg data-dot="{_e(_dot_id(dot))}"', 1)
    _DOTS[_dot_id(dot)] = dot
    return svg, w, h


_DOTS: dict[str, str] = {}


def _dot_id(dot: str) -> str:
    import hashlib

    return hashlib.sha256(dot.encode("utf-8")).hexdigest()[:16]


def _as_png(svg: str, w: float) -> str:
    """The drawing as an inline PNG image of its own size (WeasyPrint draws a large inline SVG
    slowly; a picture at 120 dpi prints sharp enough)."""
    import base64

    m = re.search(r'data-dot="([0-9a-f]+)"', svg)
    dot = _DOTS.get(m.group(1), "") if m else ""
    if not dot:
        return svg
    png = render(dot.replace("digraph reasoning {", "digraph reasoning {\n  graph [dpi=120];", 1), "png")
    return (f'<img alt="" style="width:{w * 4 / 3:.0f}px;max-width:100%;height:auto" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')


A4_CONTENT_PX = 688.0  # the width of an A4 page inside the memo's print margins (182 mm at 96 px/inch)
A4_CONTENT_HEIGHT_PX = 950.0  # a little less than the page's height inside its margins
MIN_TEXT_PX = 9.5  # the smallest text a drawing may show on A4 (the browser test asks for 9)


def _fits(w: float, h: float) -> bool:
    """Whether a drawing of w × h points, scaled down to the width of A4, keeps its text at
    least MIN_TEXT_PX high and fits a page."""
    if w <= 0:
        return True
    scale = min(1.0, A4_CONTENT_PX / (w * 4 / 3))
    return GRAPH_FONT_PT * 4 / 3 * scale >= MIN_TEXT_PX and h * 4 / 3 * scale <= A4_CONTENT_HEIGHT_PX


def _depth_limited(g: Any, targets: list[str], depth: int) -> Any:
    keep: set[str] = set()
    frontier = {t for t in targets if t in g}
    keep |= frontier
    for _ in range(depth):
        frontier = {p for n in frontier for p in g.predecessors(n)} - keep
        keep |= frontier
    return g.subgraph(keep).copy()


def _drawings(result: Result, kb: KB, summary: Summary, lang: str) -> list[_Drawing]:
    """One drawing per topic of the summary (of the conclusions it names), split per
    conclusion where a topic's drawing would be too large to read on A4, and drawn fewer steps
    deep where even one conclusion's is."""
    full = reasoning_graph(result, kb, lang)
    out: list[_Drawing] = []
    for section in summary.sections:
        # a statement that stands for several conclusions of one type ("8 other remedies") is
        # drawn for its first: the others differ only in their last rule
        ids = [it.ids[0] for it in section.items if it.ids]
        targets = [f"fact:{i}" for i in ids if f"fact:{i}" in full]
        if not targets:
            continue
        g = focus(full, targets)
        svg, w, h = _draw(g, kb, lang)
        if _fits(w, h):
            out.append(_Drawing(section.title, svg, "", w))
            continue
        parts: list[_Drawing] = []
        for t in targets:
            one = focus(full, [t])
            svg, w, h = _draw(one, kb, lang)
            note = ""
            depth = 4
            while not _fits(w, h) and depth >= 0:
                svg, w, h = _draw(_depth_limited(full, [t], max(1, depth * 2)), kb, lang)
                note = _m("graph-trimmed", lang, depth=depth)
                depth -= 1
            parts.append(_Drawing("", svg, note, w))
        for i, d in enumerate(parts, 1):
            d.title = _m("graph-part", lang, title=section.title, i=i, n=len(parts)) if len(parts) > 1 else section.title
        out.extend(parts)
    return out


# ---- the memo -------------------------------------------------------------------------------------


def _entry(h: Handle, c: Conclusion, kb: KB, lang: str, labels: dict[str, str]) -> str:
    title = _e(_t(c.title, lang))
    vl = value_labels(c, kb, lang)
    if vl:
        title += ": " + _e("; ".join(vl))
    law = "; ".join(f'<a href="#art-{_e(_art_key(x))}">{_e(cite_label(kb, x, lang))}</a>' for x in c.citations)
    body = (f'<span class="num-ref">[{h.number}]</span>{_badge(str(c.status), lang)}<strong>{title}</strong> '
            f'<span class="handle">{_e(h.name)}</span><br>{_e(client_text(_t(c.explanation, lang)))}')
    if c.depends_on and c.status == Status.UNDETERMINED:
        body += (f"<br><em>{_e(_m('depends', lang))}:</em> "
                 + _e("; ".join(labels.get(f"{d.fact}.{d.attribute}", d.attribute) for d in c.depends_on)))
    if c.defeated_by:
        body += (f"<br><em>{_e(_m('defeated-by', lang))}:</em> "
                 + _e("; ".join(", ".join(cite_label(kb, x, lang) for x in d.citations) or d.rule
                                for d in c.defeated_by)))
    if law:
        body += f'<div class="law">{_e(_m("law", lang))}: {law}</div>'
    return body


def _art_key(citation: str) -> str:
    return "-".join(citation.split("/")[:2])


def _cite_sort(s: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[/-]", s)]


def _summary_html(summary: Summary, result: Result, kb: KB, lang: str) -> str:
    rows = []
    for s in summary.sections:
        items = [_linked(item_text(summary, it, result, kb, with_refs=False), it.refs) for it in s.items]
        if s.numbered:
            cell = "<ol>" + "".join(f"<li>{x}</li>" for x in items) + "</ol>"
        elif len(items) > 1:
            cell = "<ul>" + "".join(f"<li>{x}</li>" for x in items) + "</ul>"
        else:
            cell = "".join(items)
        if s.note:
            cell += f'<div class="note">{_e(s.note)}</div>'
        rows.append(f"<tr><th>{_e(s.title)}</th><td>{cell}</td></tr>")
    if summary.questions:
        qs = "".join(f"<li>{_e(question_text(summary, q))}</li>" for q in summary.questions)
        cell = f"<ul>{qs}</ul>"
        if summary.more_questions:
            cell += f'<div class="note">+{summary.more_questions}</div>'
    else:
        cell = _e(_m("nothing-open", lang))
    rows.append(f"<tr><th>{_e(_m('to-settle', lang))}</th><td>{cell}</td></tr>")
    return '<table class="summary"><tbody>' + "".join(rows) + "</tbody></table>"


def _linked(text: str, refs: tuple[int, ...]) -> str:
    links = " ".join(f'<a href="#c{n}">[{n}]</a>' for n in sorted(refs))
    return _e(text) + (f" {links}" if links else "")


def memo_html(result: Result, kb: KB, lang: str = "en", *, description: str = "",
              graph_file: str | None = None, images: str = "svg") -> str:
    """The memo as one self-contained HTML page. ``description`` is the case's own text (a
    saved result does not carry it); ``graph_file`` names the full graph written beside it;
    ``images="png"`` embeds the drawings as pictures (for the PDF)."""
    parts: list[str] = []
    add = parts.append
    summary = summarize(result, kb, lang)
    hs = handles(result, kb)
    by_id = {h.id: h for h in hs}
    questions = open_questions(result, kb, lang)
    labels = {f"{q.fact}.{q.attribute}": q.label for q in questions}
    add("<!DOCTYPE html>")
    add(f'<html lang="{_e(lang)}"><head><meta charset="utf-8">')
    add(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">')
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    add(f"<title>{_e(result.case_title)} — {_e(_m('memo', lang))}</title><style>{_CSS}</style></head><body>")
    add(f"<h1>{_e(result.case_title)}</h1>")
    dates = ", ".join(f"{_e(_date_title(kb, k, lang))}: {_e(local_value(v, lang))}" for k, v in sorted(result.dates.items()))
    add(f'<p class="sub">{_m("sub", lang, id="<code>" + _e(result.case_id) + "</code>", dates=dates)}')
    if result.perspective:
        add(" " + _e(_m("perspective", lang, side=_perspective(kb, result.perspective, lang))))
    add("</p>")
    if description.strip():
        add(f"<h2>{_e(_m('description', lang))}</h2><p>{_e(description.strip())}</p>")
    add(f"<h2>{_e(_m('summary', lang))}</h2>")
    add(_summary_html(summary, result, kb, lang))
    add(f'<div class="disclaimer"><strong>{_e(disclaimer_text(result, lang))}</strong> {_e(_m("disclaimer-more", lang))}</div>')

    add(f"<h2>{_e(_m('facts', lang))}</h2><table><thead><tr><th style=\"width:30%\">{_e(_m('fact', lang))}</th>"
        f"<th>{_e(_m('stated', lang))}</th></tr></thead><tbody>")
    for f in result.facts:
        t = kb.types.get(f.type)
        name = f"{_t(t.title, lang) if t else f.type}: {f.get('key')}"
        attrs = "; ".join(f"{_e(k)} = {_e(local_value(v, lang))}" for k, v in sorted(f.attributes.items()) if k != "key")
        add(f"<tr><td>{_e(name)}</td><td>{attrs}</td></tr>")
    add("</tbody></table>")

    for kind, items in result.by_kind():
        shown = [c for c in items if c.id in by_id]
        if not shown:
            continue
        add(f"<h2>{_e(_m(kind, lang))}</h2>")
        for c in shown:
            add(f'<div class="c" id="c{by_id[c.id].number}">{_entry(by_id[c.id], c, kb, lang, labels)}</div>')

    amounts: list[tuple[int, str, str, Any, str]] = []
    deadlines: list[tuple[int, str, str, Any, str]] = []
    for h in hs:
        hc = h.conclusion
        if hc is None or hc.status not in (Status.HOLDS, Status.UNDETERMINED):
            continue
        c = hc
        t = kb.types[c.type]
        for name, a in t.attributes.items():
            v = c.attributes.get(name)
            if v is None:
                continue
            label = _t(c.title, lang) + ("" if not value_labels(c, kb, lang) else ": " + "; ".join(value_labels(c, kb, lang)))
            if a.type == "tenge":
                amounts.append((h.number, label, name, v, str(c.status)))
            elif a.type == "date":
                deadlines.append((h.number, label, name, v, str(c.status)))
    today = result.dates.get("assessment_date")
    if amounts:
        add(f"<h2>{_e(_m('amounts', lang))}</h2><table><thead><tr><th style=\"width:55%\">{_e(_m('entry', lang))}</th>"
            f"<th>{_e(_m('item', lang))}</th><th class=num>{_e(_m('tenge', lang))}</th></tr></thead><tbody>")
        for n, label, name, v, st in amounts:
            add(f'<tr><td><a href="#c{n}">[{n}]</a> {_e(label)} {_badge(st, lang)}</td><td>{_e(_item(name, lang))}</td>'
                f"<td class=num>{_e(local_value(v, lang))}</td></tr>")
        add("</tbody></table>")
    if deadlines:
        add(f"<h2>{_e(_m('deadlines', lang))}</h2><table><thead><tr><th style=\"width:50%\">{_e(_m('entry', lang))}</th>"
            f"<th>{_e(_m('item', lang))}</th><th>{_e(_m('date', lang))}</th>"
            f"<th>{_e(_m('on-assessment', lang, day=local_value(today, lang) if today else '?'))}</th></tr></thead><tbody>")
        for n, label, name, v, st in deadlines:
            state = ""
            if isinstance(today, str) and isinstance(v, str):
                state = _m("passed", lang) if v <= today else _m("ahead", lang)
            add(f'<tr><td><a href="#c{n}">[{n}]</a> {_e(label)} {_badge(st, lang)}</td><td>{_e(_item(name, lang))}</td>'
                f"<td>{_e(local_value(v, lang))}</td><td>{_e(state)}</td></tr>")
        add("</tbody></table>")
    if questions:
        add(f"<h2>{_e(_m('open', lang))}</h2><ul>")
        for q in questions:
            refs = " ".join(f'<a href="#c{n}">[{n}]</a>' for n in q.refs)
            add(f"<li>{_e(q.question or q.label)} <code>{_e(q.fact)}.{_e(q.attribute)}</code> — "
                f"{_m('affects', lang, refs=refs)}</li>")
        add("</ul>")
    if result.assumptions:
        add(f"<h2>{_e(_m('assumptions', lang))}</h2><ul>")
        seen: set[str] = set()
        for asm in result.assumptions:
            text = client_text(_t(asm.text, lang))
            if text in seen:
                continue
            seen.add(text)
            law = "; ".join(cite_label(kb, x, lang) for x in asm.citations)
            add(f"<li>{_e(text)}" + (f' <span class="law">({_e(law)})</span>' if law else "") + "</li>")
        add("</ul>")

    if result.derivations:
        add(f"<h2>{_e(_m('graphs', lang))}</h2><p class=note>{_e(_m('graphs-intro', lang))} "
            + _e(_m("graph-file", lang, file=graph_file) if graph_file else _m("graph-cmd", lang))
            + f" {_e(_m('legend', lang))}</p>")
        try:
            for d in _drawings(result, kb, summary, lang):
                note = f'<div class="note">{_e(d.note)}</div>' if d.note else ""
                pic = d.svg if images == "svg" else _as_png(d.svg, d.width)
                add(f'<figure class="graph"><figcaption>{_e(d.title)}</figcaption>{pic}{note}</figure>')
        except RenderError as exc:
            dot = to_dot(reasoning_graph(result, kb, lang), kb, lang=lang)
            add(f"<p>{_e(_m('no-graph', lang, why=exc))}</p><pre>{_e(dot)}</pre>")

    cited: dict[str, list[int]] = {}
    for h in hs:
        if h.conclusion is not None:
            for x in h.conclusion.citations:
                cited.setdefault(_art_key(x).replace("-", "/", 1), []).append(h.number)
    for asm in result.assumptions:
        for x in asm.citations:
            cited.setdefault("/".join(x.split("/")[:2]), [])
    if cited:
        add(f"<h2>{_e(_m('appendix', lang))}</h2><p class=note>{_e(_m('appendix-intro', lang))}</p>")
        for key in sorted(cited, key=_cite_sort):
            art = kb.article_for(key)
            if art is None:
                continue
            act = kb.acts.get(art.act)
            act_title = _t(act.title, lang) if act else art.act
            addr = official_address(kb, art.act)
            src = (f'<a href="{_e(addr)}">{_e(_m("official", lang))}: {_e(addr)}</a>' if addr
                   else _e(_m("no-official", lang)))
            refs = refs_text(sorted(set(cited[key])))
            add(f'<div class="art" id="art-{_e(key.replace("/", "-"))}"><h3>{_e(cite_label(kb, key, lang))} — '
                f'{_e(client_text(_t(art.title, lang)))}</h3><p class="note">{_e(act_title)}. {src}'
                + (f". {_e(_m('cited-in', lang, refs=refs))}" if refs else "") + "</p>")
            texts: list[dict[str, str]] = []
            if art.text:
                texts.append(art.text)
            for pnum in sorted(art.parts, key=lambda p: _cite_sort(p)):
                texts.append(art.parts[pnum].text)
            # the statute's own text: Kazakh in a Kazakh memo (Russian, equally authentic, where the
            # kb has no Kazakh text yet), Russian in a Russian one, Russian and the English summary in English
            langs: tuple[str, ...] = {"kk": (("kk",) if any(tx.get("kk") for tx in texts) else ("ru",)),
                                      "ru": ("ru",)}.get(lang, ("ru", "en"))
            for tx in texts:
                for tl in langs:
                    body = client_text(tx.get(tl, "")) if tl == "en" or tx.get(tl) else ""
                    if body:
                        add(f'<p class="{tl}" lang="{tl}">' + "<br>".join(_e(line) for line in body.split("\n")) + "</p>")
            add("</div>")
    params = [(p, public_source(p.source)) for p in result.parameters]
    params = [(p, s) for p, s in params if s]
    if params:
        add(f"<h2>{_e(_m('parameters', lang))}</h2><table><thead><tr><th style=\"width:30%\">{_e(_m('parameter', lang))}"
            f"</th><th style=\"width:14%\">{_e(_m('date', lang))}</th><th class=num style=\"width:14%\">"
            f"{_e(_m('value', lang))}</th><th>{_e(_m('source', lang))}</th></tr></thead><tbody>")
        for p, s in params:
            add(f"<tr><td>{_e(_t(p.title, lang))}</td><td>{_e(p.date)}</td><td class=num>{_e(local_value(p.value, lang))}"
                f"</td><td>{_e(s)}</td></tr>")
        add("</tbody></table>")
    add(f'<div class="disclaimer"><strong>{_e(disclaimer_text(result, lang))}</strong></div>')
    add("<footer>" + _e(_m("footer", lang, fp=result.rulebase.fingerprint, day=result.rulebase.encoded_up_to,
                            engine=result.engine, schema=SCHEMA_VERSION)) + "</footer>")
    add("</body></html>")
    return "\n".join(parts) + "\n"


def _date_title(kb: KB, name: str, lang: str) -> str:
    t = kb.types.get("case")
    a = t.attributes.get(name) if t else None
    return _t(a.title, lang) if a is not None and a.title else name.replace("_", " ")


def _perspective(kb: KB, value: str, lang: str) -> str:
    t = kb.types.get("case")
    a = t.attributes.get("perspective") if t else None
    return _t(a.value_titles.get(value, {"en": value}), lang) if a is not None else value


# ---- PDF --------------------------------------------------------------------------------------------


class PdfUnavailable(KzError):
    """Raised by :func:`memo_pdf` when WeasyPrint (the optional extra ``pdf``) or the system
    libraries it needs are not installed; the message says how to install them."""


PDF_HINT = ("install the optional extra: pip install 'kzcopyright[pdf]', and WeasyPrint's system libraries "
            "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)")


def memo_pdf(page: str) -> bytes:
    """The memo page as a PDF (A4, the page's print styles), through WeasyPrint. Nothing is
    fetched: the page is self-contained and WeasyPrint is given no base address."""
    try:
        import weasyprint  # type: ignore[import-not-found, unused-ignore]
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(f"cannot write a PDF: {exc.__class__.__name__}: {exc}; {PDF_HINT}") from None

    fetcher: Any
    try:  # WeasyPrint 68 and later: a fetcher object; only the page's own data: images are read
        from weasyprint.urls import URLFetcher  # type: ignore[import-not-found, unused-ignore]

        fetcher = URLFetcher(allowed_protocols=["data"], allow_redirects=False)
    except ImportError:  # pragma: no cover - older WeasyPrint: a function
        from weasyprint import default_url_fetcher  # type: ignore[import-not-found, unused-ignore]

        def fetcher(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(f"the memo loads nothing ({url[:80]})")
            return default_url_fetcher(url, *args, **kwargs)

    try:
        doc = weasyprint.HTML(string=page, url_fetcher=fetcher)
        data: bytes = doc.write_pdf()
    except (OSError, ValueError) as exc:  # pragma: no cover - a broken installation
        raise PdfUnavailable(f"WeasyPrint could not write the PDF: {exc}; {PDF_HINT}") from None
    return data
