"""The pages of `kzcopyright serve` without a browser (the test client): the interview to the
seed's answer, upload with errors at their line, the answer page, why, why-not, what-if, the
graph, the downloads, languages, and broken links."""

from __future__ import annotations

import html
import importlib.util
import json
import re

import pytest
import yaml

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")

from fastapi.testclient import TestClient  # noqa: E402

from kzcopyright.engine.web.app import create_app  # noqa: E402
from kzcopyright.engine.web.config import Limits, WebConfig  # noqa: E402

from .conftest import KB, RULES  # noqa: E402

EXAMPLE_TEXT = (KB / "examples" / "marketplace-photos.yaml").read_text(encoding="utf-8")
EXAMPLE = yaml.safe_load(EXAMPLE_TEXT)


@pytest.fixture(scope="module")
def client():
    config = WebConfig(rules=str(RULES), kb=str(KB), eval_workers=1, limits=Limits(time_limit=20.0))
    with TestClient(create_app(config)) as c:
        yield c


def _hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden field {name}"
    return html.unescape(m.group(1))


def _answers() -> dict[str, object]:
    out: dict[str, object] = {}
    for item in EXAMPLE["facts"]:
        (t, attrs), = item.items()
        for k, v in attrs.items():
            if k != "key":
                out[f"{t}:{attrs['key']}.{k}"] = v
    return out


def start_interview(client, **extra):
    form = {"title": EXAMPLE["title"], "case_id": EXAMPLE["id"], "perspective": EXAMPLE["perspective"],
            "author": "photographer", "work": "photos", "user": "seller", "use": "listing"}
    form.update({k: str(v) for k, v in EXAMPLE["dates"].items()})
    form.update(extra)
    r = client.post("/interview", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def walk(client, location, answers, limit=60):
    """Answer every question from ``answers`` ("unknown" when absent); the final answer URL."""
    asked = []
    for _ in range(limit):
        r = client.get(location, follow_redirects=False)
        if r.status_code == 303:
            return r.headers["location"], asked
        assert r.status_code == 200, r.text
        s, q = _hidden(r.text, "s"), _hidden(r.text, "q")
        asked.append(q)
        v = answers.get(q)
        if v is None:
            data = {"s": s, "q": q, "action": "unknown"}
        elif isinstance(v, bool):
            data = {"s": s, "q": q, "action": "answer", "value": "yes" if v else "no"}
        elif isinstance(v, list):
            data = {"s": s, "q": q, "action": "answer", "value": v}
        else:
            data = {"s": s, "q": q, "action": "answer", "value": str(v)}
        post = client.post("/interview/answer", data=data, follow_redirects=False)
        assert post.status_code == 303, post.text
        location = post.headers["location"]
    raise AssertionError("the interview did not end")


def test_the_interview_reaches_the_clis_answer(client):
    answer_url, asked = walk(client, start_interview(client), _answers())
    # who is who first (the user's kind), then what decides the most (kb/interview.yaml)
    assert asked[0] == "party:seller.kind" and "use:listing.damage_tenge" in asked
    assert len(asked) == len(set(asked))
    s = re.search(r"s=([^&]+)", answer_url).group(1)
    got = client.get(f"/result.json?s={s}").json()
    want = client.post("/v1/analyze", json={"example": "marketplace-photos"}).json()
    def answer_of(doc):  # what the reader gets: which conclusions, their status, values and law
        return [(c["id"], c["status"], c["attributes"], c["explanation"], c["citations"], c["depends_on"])
                for c in doc["conclusions"]]

    assert answer_of(got) == answer_of(want)
    assert got["undetermined"] == want["undetermined"]
    page = client.get(answer_url)
    assert page.status_code == 200
    shown = html.unescape(page.text)
    for c in want["conclusions"]:
        if c["kind"] != "intermediate":
            assert c["title"]["en"] in shown
    # the answer first: the summary the text report and the memo open with, linked to its entries
    assert 'data-summary="ready"' in page.text
    cli_summary = client.post("/v1/analyze", json={"example": "marketplace-photos"}).json()["summary"]
    for sec in cli_summary["sections"]:
        assert sec["title"] in shown
        for item in sec["items"]:
            assert item["line"] in shown, item["line"]
    assert page.text.count('class="why-link"') >= 30
    # the case built by the answers downloads as YAML and uploads again to the same answer
    case_yaml = client.get(f"/case.yaml?s={s}")
    assert "attachment" in case_yaml.headers["content-disposition"]
    again = client.post("/upload", files={"case": ("mine.yaml", case_yaml.content, "application/yaml")},
                        follow_redirects=False)
    assert again.status_code == 303
    s2 = re.search(r"s=([^&]+)", again.headers["location"]).group(1)
    assert answer_of(client.get(f"/result.json?s={s2}").json()) == answer_of(want)


def test_interview_unknown_back_finish_and_bad_answers(client):
    loc = start_interview(client)
    page = client.get(loc).text
    s, q = _hidden(page, "s"), _hidden(page, "q")
    assert q == "party:seller.kind" and "Why is this asked?" in page and "Art." in page
    bad = client.post("/interview/answer", data={"s": s, "q": q, "action": "answer", "value": "legal_entiy"})
    assert bad.status_code == 422 and "did you mean" in bad.text and 'role="alert"' in bad.text
    empty = client.post("/interview/answer", data={"s": s, "q": q, "action": "answer"})
    assert empty.status_code == 422
    r = client.post("/interview/answer", data={"s": s, "q": q, "action": "unknown"}, follow_redirects=False)
    page2 = client.get(r.headers["location"]).text
    assert _hidden(page2, "q") != q and 'value="back"' in page2
    back = client.post("/interview/answer", data={"s": _hidden(page2, "s"), "q": _hidden(page2, "q"),
                                                  "action": "back"}, follow_redirects=False)
    assert _hidden(client.get(back.headers["location"]).text, "q") == q
    stale = client.post("/interview/answer", data={"s": s, "q": "work:photos.nothing", "action": "answer",
                                                   "value": "x"}, follow_redirects=False)
    assert stale.status_code == 303
    fin = client.post("/interview/answer", data={"s": s, "q": q, "action": "finish"}, follow_redirects=False)
    assert fin.headers["location"].startswith("/answer?")
    assert client.get(fin.headers["location"]).status_code == 200


def test_interview_start_checks_its_fields(client):
    r = client.post("/interview", data={"title": "x", "author": "no spaces allowed", "act_date": "15.06.2021"})
    assert r.status_code == 422 and r.text.count('aria-invalid="true"') == 2
    assert client.get("/interview").status_code == 200
    ru = client.get("/interview?lang=ru")
    assert 'lang="ru"' in ru.text and "Начать" in ru.text


def test_upload_shows_errors_at_their_line(client):
    bad = EXAMPLE_TEXT.replace("kind: photograph", "kind: photo")
    line = bad.splitlines().index("      kind: photo") + 1
    r = client.post("/upload", files={"case": ("broken.yaml", bad.encode(), "application/yaml")})
    assert r.status_code == 422
    assert f'id="L{line}" class="bad"' in r.text
    assert f"line {line}: &#39;photo&#39; is not a value of &#39;work.kind&#39;" in r.text
    assert "broken.yaml:" in r.text
    syntax = client.post("/upload", data={"text": "id: x\nfacts: [\n"})
    assert syntax.status_code == 422 and "YAML syntax error" in syntax.text and 'class="bad"' in syntax.text
    none = client.post("/upload", data={"text": ""})
    assert none.status_code == 422
    assert client.get("/upload").status_code == 200


def test_answer_page_why_what_if_why_not_graph_memo(client):
    r = client.get("/example/marketplace-photos", follow_redirects=False)
    assert r.status_code == 303
    answer = client.get(r.headers["location"])
    s = re.search(r"s=([^&]+)", r.headers["location"]).group(1)
    assert "Civil remedies" in answer.text and "Recommended steps" in answer.text
    assert "291,700" in answer.text  # the compensation range in tenge
    assert "<details class=\"excerpt\">" in answer.text
    why_url = html.unescape(re.search(r'class="why-link" hx-get="([^"]+)"', answer.text).group(1))
    full = client.get(why_url)
    fragment = client.get(why_url, headers={"HX-Request": "true"})
    assert full.status_code == fragment.status_code == 200
    assert "<html" in full.text and "<html" not in fragment.text and 'class="tree"' in fragment.text
    what_if = client.get(f"/what-if?s={s}&target=use:listing.damage_tenge&value=1000000",
                         headers={"HX-Request": "true"})
    assert what_if.status_code == 200
    rows = re.findall(r'<tr class="difference" data-type="art198_part">(.*?)</tr>', what_if.text, re.S)
    assert any("part=2" in row and "badge holds" in row for row in rows), rows
    apply_href = html.unescape(re.search(r'href="(/answer\?s=[^"]+)"', what_if.text).group(1))
    assert client.get(apply_href).status_code == 200
    why_not = client.get(f"/why-not?s={s}&spec=art198_part(part%3D2)")
    assert why_not.status_code == 200 and "damage_tenge" in why_not.text and "Try it" in why_not.text
    assert client.get(f"/why-not?s={s}").status_code == 200
    graph = client.get(f"/graph?s={s}")
    assert graph.status_code == 200
    if "<svg" in graph.text:
        links = set(re.findall(r'xlink:href="#(node-\d+)"', graph.text))
        anchors = set(re.findall(r'<section id="(node-\d+)"', graph.text))
        assert links and links <= anchors
    focused = client.get(f"/graph?s={s}&focus=" + json.loads(client.get(f"/result.json?s={s}").text)
                         ["conclusions"][0]["id"].replace("#", "%23"))
    assert focused.status_code == 200
    memo = client.get(f"/memo?s={s}")
    assert memo.status_code == 200 and "attachment" in memo.headers["content-disposition"]
    assert EXAMPLE["title"] in memo.text
    pdf = client.get(f"/memo.pdf?s={s}")
    if importlib.util.find_spec("weasyprint") is None:
        assert pdf.status_code == 501 and "pdf" in pdf.text.lower()
    else:
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert pdf.headers["content-type"] == "application/pdf" and "attachment" in pdf.headers["content-disposition"]
    ru = client.get(f"/answer?s={s}&lang=ru")
    assert 'lang="ru"' in ru.text and "Гражданско-правовые средства защиты" in ru.text


def test_law_pages_docs_and_broken_links(client):
    art = client.get("/articles/copyright_law/49?part=1")
    assert art.status_code == 200 and 'lang="ru"' in art.text
    assert client.get("/articles/copyright_law/49", headers={"HX-Request": "true"}).text.startswith("<div")
    assert client.get("/articles/nope/1").status_code == 404
    assert client.get("/rule/copyright_law.49.1.compensation").status_code == 200
    assert client.get("/rule/nope").status_code == 404
    assert client.get("/").status_code == 200
    broken = client.get("/answer?s=1.AAAA")
    assert broken.status_code == 422 and 'data-code="bad-link"' in broken.text and "the link is damaged" in broken.text
    assert client.get("/answer").status_code == 422
    assert client.get("/answer?s=" + "1." + "A" * 61_000).status_code == 422
    assert client.get("/example/nope").status_code == 404
