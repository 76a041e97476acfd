"""The memo: what it says (and does not), its PDF through WeasyPrint, and how it shows and
prints in Debian's headless Chromium (Playwright driving /usr/bin/chromium; no browser is
downloaded)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kzcopyright.cli.main import cli
from kzcopyright.engine.rulebase import evaluate_case, load_case
from kzcopyright.engine.views import memo as M

from .conftest import KB, RULES

BASE = ["--rules", str(RULES), "--kb", str(KB)]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def page(rb) -> str:
    sc = load_case(rb, None, example="marketplace-photos")
    r = evaluate_case(rb, sc, "python")
    return M.memo_html(r, rb.kb, "en", description=sc.description, graph_file="memo.graph.svg")


def test_memo_says_the_answer_first_and_cites_each_article_once(page):
    summary_at = page.index(">Summary<")
    assert summary_at < page.index(">Facts of the case<") < page.index(">Conclusions<")
    assert "compensation of 291,700 to 43,755,000 tenge" in page
    assert "A photographer finds her photographs" in page  # the case description
    # the appendix: every article once, with its full stored text (not cut at 1,500 characters)
    anchors = re.findall(r'<div class="art" id="(art-[^"]+)"', page)
    assert anchors and len(anchors) == len(set(anchors))
    assert "art-copyright_law-49" in anchors
    assert page.count("Защита авторских и смежных прав осуществляется судом путем:") == 1
    # no maintainers' notes, mirror names or commit hashes; links are absolute official addresses
    for bad in ("quyse", "kz-laws", "github", "CL18", "snapshot", ".md @"):
        assert bad not in page, bad
    assert not re.search(r"\b[0-9a-f]{40}\b", page)
    links = re.findall(r'href="([^"#][^"]*)"', page)
    assert links and all(u.startswith("https://adilet.zan.kz/") for u in links), links
    assert "Not legal advice; law as encoded up to" in page
    assert "memo.graph.svg" in page


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_memo_cli_writes_the_full_graph_beside_it(tmp_path):
    out = tmp_path / "memo.html"
    res = CliRunner().invoke(cli, BASE + ["analyze", "--example", "marketplace-photos", "--format", "html",
                                          "--engine", "python", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "memo.graph.svg").read_text().lstrip().startswith(("<?xml", "<svg", "<!--"))
    assert "memo.graph.svg" in out.read_text()


def _weasyprint() -> bool:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


@pytest.mark.skipif(not _weasyprint(), reason="WeasyPrint not installed (pip install 'kzcopyright[pdf]')")
@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_memo_as_pdf(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    out = tmp_path / "memo.pdf"
    res = CliRunner().invoke(cli, BASE + ["analyze", "--example", "marketplace-photos", "--format", "pdf",
                                          "--engine", "python", "-o", str(out)])
    assert res.exit_code == 0, res.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(str(out))
    assert len(reader.pages) > 10
    first = reader.pages[0].extract_text()
    assert "Photographs copied onto a marketplace" in first and "Summary" in first
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "291,700" in text and "Not legal advice" in text
    assert "quyse" not in text
    w, h = (float(x) for x in reader.pages[0].mediabox[2:])
    assert abs(w - 595.3) < 1 and abs(h - 841.9) < 1  # A4


def test_pdf_without_weasyprint_is_one_line(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_weasy(name, *a, **k):
        if name.startswith("weasyprint"):
            raise ImportError("No module named 'weasyprint'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_weasy)
    res = CliRunner().invoke(cli, BASE + ["analyze", "--example", "marketplace-photos", "--format", "pdf",
                                          "--engine", "python", "-o", str(tmp_path / "m.pdf")])
    assert res.exit_code == 1
    assert "kzcopyright[pdf]" in res.output and "apt-get install" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "m.pdf").exists()


def _playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


# the text of the drawings as shown: each SVG text's font size scaled by the drawing's width on
# the page over its own width; and whether anything overflows the page's width
_MEASURE = """() => {
  const out = {minText: 1e9, texts: 0, graphs: 0, tables: [], overflow: []};
  const body = document.body.getBoundingClientRect();
  for (const svg of document.querySelectorAll('.graph svg')) {
    out.graphs += 1;
    const shown = svg.getBoundingClientRect().width;
    const own = svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      const size = parseFloat(t.getAttribute('font-size') || '14') * shown / own;
      out.texts += 1;
      out.minText = Math.min(out.minText, size);
    }
  }
  for (const t of document.querySelectorAll('table')) {
    const r = t.getBoundingClientRect();
    const rows = [...t.querySelectorAll('tr')].map(tr => getComputedStyle(tr).breakInside);
    out.tables.push({width: r.width, right: r.right, rowsAvoid: rows.every(x => x === 'avoid'),
                     head: t.tHead ? getComputedStyle(t.tHead).display : 'none'});
  }
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.right > body.right + 1 && !e.closest('svg')) out.overflow.push(e.tagName + ' ' + (e.className || ''));
  }
  return out;
}"""


@pytest.mark.skipif(not _playwright(), reason="Playwright or /usr/bin/chromium not installed")
def test_memo_in_headless_chromium_reads_and_prints_on_a4(page, tmp_path):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "memo.html"
    path.write_text(page, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            # A4 is 210 mm wide; inside the memo's print margins (14 mm a side) 182 mm = 688 px
            tab = browser.new_page(viewport={"width": 688, "height": 1000})
            errors: list[str] = []
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(path.as_uri())
            assert not errors, errors
            assert "Exclusive rights were infringed" in tab.inner_text("body")
            tab.emulate_media(media="print")
            seen = tab.evaluate(_MEASURE)
            assert seen["graphs"] >= 3 and seen["texts"] > 50
            assert seen["minText"] >= 9, seen["minText"]
            assert seen["tables"]
            for t in seen["tables"]:
                assert t["right"] <= 688 + 1, t  # no table is cut at the page's edge
                assert t["rowsAvoid"], t  # rows are not split across pages
            assert not seen["overflow"], seen["overflow"][:5]
            pdf = tab.pdf(format="A4", print_background=True)
            assert pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page") > 10
            assert not errors, errors
        finally:
            browser.close()
