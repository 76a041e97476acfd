"""`kzcopyright serve` in Debian's Chromium (Selenium with chromium-driver; no browser is
downloaded): the interview to the seed's answer, "why" one click away, the damage changed in
place moving Art. 198 to part 2, a broken upload shown at its line, no console errors, and
the basic flow without JavaScript. Skipped where Chromium or its driver is not installed."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
if not CHROMIUM.exists() or not DRIVER.exists():
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)
pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from kzcopyright.engine.web.app import create_app  # noqa: E402
from kzcopyright.engine.web.config import Limits, WebConfig, loopback_hosts  # noqa: E402
from kzcopyright.engine.web.server import bind  # noqa: E402

from .conftest import KB, RULES  # noqa: E402

EXAMPLE_PATH = KB / "examples" / "marketplace-photos.yaml"
EXAMPLE = yaml.safe_load(EXAMPLE_PATH.read_text(encoding="utf-8"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--window-size=1280,1000"]


@pytest.fixture(scope="module")
def server():
    """The app on 127.0.0.1 (a free port), served by uvicorn in a thread."""
    config = WebConfig(rules=str(RULES), kb=str(KB), eval_workers=2, limits=Limits(time_limit=30.0),
                       allowed_hosts=loopback_hosts("127.0.0.1"))
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=20)
    sock.close()


def _driver(javascript: bool = True):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    d = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    d.set_page_load_timeout(60)
    return d


@pytest.fixture(scope="module")
def browser():
    d = _driver()
    yield d
    d.quit()


def _no_console_errors(browser) -> None:
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe


def _wait(browser, condition, timeout: float = 30):
    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(condition)


def _answers() -> dict[str, object]:
    out: dict[str, object] = {}
    for item in EXAMPLE["facts"]:
        (t, attrs), = item.items()
        for k, v in attrs.items():
            if k != "key":
                out[f"{t}:{attrs['key']}.{k}"] = v
    for k, v in EXAMPLE["dates"].items():  # asked like any other fact (the date of assessment decides limitation)
        out[f"case:case.{k}"] = str(v)
    out["case:case.perspective"] = EXAMPLE["perspective"]
    return out


def _cli_answer() -> list[tuple[str, str]]:
    from click.testing import CliRunner

    from kzcopyright.cli.main import cli

    r = CliRunner().invoke(cli, ["--rules", str(RULES), "--kb", str(KB), "analyze", str(EXAMPLE_PATH),
                                 "--format", "json"])
    assert r.exit_code == 0
    return [(c["id"], c["status"]) for c in json.loads(r.stdout)["conclusions"] if c["kind"] != "intermediate"]


def _page_answer(browser) -> list[tuple[str, str]]:
    return [(a.get_attribute("data-id"), a.get_attribute("data-status"))
            for a in browser.find_elements(By.CSS_SELECTOR, "article.conclusion")]


def test_interview_to_the_seeds_answer_then_why_and_what_if(server, browser):
    browser.get(server + "/")
    browser.find_element(By.LINK_TEXT, "Answer questions about a case").click()
    _wait(browser, EC.presence_of_element_located((By.ID, "title")))
    browser.find_element(By.ID, "title").send_keys(EXAMPLE["title"])
    browser.find_element(By.ID, "case_id").send_keys(EXAMPLE["id"])
    browser.find_element(By.CSS_SELECTOR, f"input[name=perspective][value={EXAMPLE['perspective']}]").click()
    for name, day in EXAMPLE["dates"].items():  # a date input's typed form depends on the locale
        browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, name), str(day))
    for field, key in (("author", "photographer"), ("work", "photos"), ("user", "seller"), ("use", "listing")):
        el = browser.find_element(By.ID, f"key-{field}")
        el.clear()
        el.send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # the first question's page must be there before the loop reads it (the form page has no question form)
    _wait(browser, EC.presence_of_element_located((By.ID, "question-form")))
    answers = _answers()
    asked = []
    read = ("const f = document.getElementById('question-form');"
            "return f ? [f.elements['q'].value, !!f.querySelector('input[type=radio][name=value]')] : null;")
    for _ in range(60):
        state = browser.execute_script(read)  # one round trip: the question's id, and whether it has choices
        if state is None:
            break
        qid, radios = state
        asked.append(qid)
        value = answers.get(qid)
        if value is None:
            browser.find_element(By.CSS_SELECTOR, "#question-form button[value=unknown]").click()
        else:
            if isinstance(value, bool):
                value = "yes" if value else "no"
            if isinstance(value, list):
                for v in value:
                    browser.find_element(By.CSS_SELECTOR, f"#question-form input[name=value][value={v}]").click()
            elif radios:
                browser.find_element(By.CSS_SELECTOR, f"#question-form input[name=value][value={value}]").click()
            else:
                browser.find_element(By.ID, "value").send_keys(str(value))
            browser.find_element(By.CSS_SELECTOR, "#question-form button[value=answer]").click()
        # the next page: another question (one answered is not asked again), or the answer
        _wait(browser, lambda d, qid=qid: (lambda st: st is None or st[0] != qid)(d.execute_script(read)))
    else:
        raise AssertionError(f"the interview did not end: {asked}")
    assert asked, browser.page_source[:3000]
    _no_console_errors(browser)  # the log holds every page's messages since the last look
    assert asked[0] == "party:seller.kind" and "use:listing.damage_tenge" in asked
    # the same answer as the CLI: every reported conclusion, with its status, in the same order
    assert browser.find_element(By.TAG_NAME, "h1").text == EXAMPLE["title"]
    # the same answer as the CLI: every reported conclusion with its status (the page orders the steps
    # by their number, as the text report does; the JSON by status)
    assert sorted(_page_answer(browser)) == sorted(_cli_answer())
    _no_console_errors(browser)

    # why, one click away: the tree comes into the page (htmx)
    art = browser.find_element(By.CSS_SELECTOR, "article.conclusion[data-type=infringement]")
    art.find_element(By.CSS_SELECTOR, "a.why-link").click()
    tree = _wait(browser, lambda d: art.find_elements(By.CSS_SELECTOR, "ul.tree"))
    assert "Copyright Law" in tree[0].text and "use:listing" in tree[0].text
    assert browser.current_url.split("/")[3].startswith("answer")  # still on the answer page

    # what if the damage were 1,000,000 tenge: Art. 198 moves to part 2
    form = browser.find_element(By.XPATH, "//*[@id='open']//form[contains(@class, 'what-if')]"
                                          "[.//input[@name='target'][@value='use:listing.damage_tenge']]")
    slot = form.get_attribute("hx-target")
    form.find_element(By.NAME, "value").send_keys("1000000")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    rows = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{slot} tr.difference"))
    texts = [r.text for r in rows if r.get_attribute("data-type") == "art198_part"]
    part2 = [t for t in texts if "part=2" in t]
    assert part2 and "undetermined" in part2[0].lower() and "holds" in part2[0].lower(), texts
    assert any("part=1" in t and "defeated" in t.lower() for t in texts), texts
    _no_console_errors(browser)


def test_graph_nodes_link_to_their_explanation(server, browser):
    browser.get(server + "/example/marketplace-photos")
    browser.find_element(By.LINK_TEXT, "Reasoning graph").click()
    svg = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "figure.graph svg"))
    links = svg[0].find_elements(By.CSS_SELECTOR, "a")
    assert len(links) > 20
    target = links[0].get_attribute("href") or links[0].get_attribute("xlink:href")
    assert "#node-" in target
    _no_console_errors(browser)


def test_broken_upload_shows_the_error_at_its_line(server, browser, tmp_path):
    bad = EXAMPLE_PATH.read_text(encoding="utf-8").replace("kind: photograph", "kind: photo")
    line = bad.splitlines().index("      kind: photo") + 1
    path = tmp_path / "broken.yaml"
    path.write_text(bad, encoding="utf-8")
    browser.get(server + "/upload")
    browser.find_element(By.ID, "case-file").send_keys(str(path))
    browser.find_element(By.CSS_SELECTOR, "form[action='/upload'] button[type=submit]").click()
    row = _wait(browser, lambda d: d.find_elements(By.ID, f"L{line}"))[0]
    assert "bad" in row.get_attribute("class")
    assert "'photo' is not a value of 'work.kind'" in row.text and "photograph" in row.text
    assert browser.find_element(By.ID, "problems").text.startswith("1 ")
    # a 422 page is no console error of ours; the log must hold nothing else
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE" and "422" not in e["message"]]
    assert not severe, severe


def test_the_basic_flow_works_without_javascript(server):
    d = _driver(javascript=False)
    try:
        d.get(server + "/example/marketplace-photos")
        art = d.find_element(By.CSS_SELECTOR, "article.conclusion[data-type=infringement]")
        art.find_element(By.CSS_SELECTOR, "a.why-link").click()  # a plain link: the why page
        try:
            _wait(d, lambda x: x.find_elements(By.CSS_SELECTOR, "ul.tree"), 30)
        except TimeoutException:  # pragma: no cover - reported below
            pass
        assert "/why?" in d.current_url and d.find_elements(By.CSS_SELECTOR, "ul.tree")
        d.back()
        form = d.find_element(By.XPATH, "//*[@id='open']//form[contains(@class, 'what-if')]"
                                        "[.//input[@name='target'][@value='use:listing.damage_tenge']]")
        form.find_element(By.NAME, "value").send_keys("1000000")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _wait(d, lambda x: x.find_elements(By.CSS_SELECTOR, "tr.difference"))
        assert "/what-if?" in d.current_url
    finally:
        d.quit()
