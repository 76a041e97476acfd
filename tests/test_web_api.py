"""The JSON API of `kzcopyright serve` through the framework's test client: every endpoint,
every error path, the limits, and byte-identical JSON to `analyze --format json`."""

from __future__ import annotations

import json
import threading
import time

import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")

from fastapi.testclient import TestClient  # noqa: E402

from kzcopyright.cli.main import cli  # noqa: E402
from kzcopyright.engine.rulebase import list_examples  # noqa: E402
from kzcopyright.engine.web.app import create_app  # noqa: E402
from kzcopyright.engine.web.config import Limits, WebConfig  # noqa: E402

from .conftest import KB, ROOT, RULES  # noqa: E402

BASE = ["--rules", str(RULES), "--kb", str(KB)]
EXAMPLES = list_examples(KB)
EXAMPLE = (KB / "examples" / "marketplace-photos.yaml").read_text(encoding="utf-8")
LIMITS = Limits(max_facts=30, time_limit=8.0, queue_wait=0.5)  # the why-not search needs a few seconds on a loaded machine


def _config(**kw: object) -> WebConfig:
    return WebConfig(rules=str(RULES), kb=str(KB), eval_workers=1, limits=LIMITS, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client():
    import os

    old = os.environ.get("KZCOPYRIGHT_FAULT")
    os.environ["KZCOPYRIGHT_FAULT"] = "hang:web-hang,crash:web-crash"
    try:
        with TestClient(create_app(_config())) as c:
            yield c
    finally:
        if old is None:
            os.environ.pop("KZCOPYRIGHT_FAULT", None)
        else:
            os.environ["KZCOPYRIGHT_FAULT"] = old


def _cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, BASE + list(args))
    return r.exit_code, r.stdout, r.stderr


def _json_case(text: str) -> dict:
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


# ---- analyze ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_analyze_is_byte_identical_to_the_cli(client, name):
    path = KB / "examples" / f"{name}.yaml"
    code, out, _err = _cli("analyze", str(path), "--format", "json")
    assert code == 0
    text = path.read_text(encoding="utf-8")
    as_yaml = client.post("/v1/analyze", content=text.encode(), headers={"Content-Type": "application/yaml"})
    assert as_yaml.status_code == 200, as_yaml.text
    assert as_yaml.headers["content-type"] == "application/json"
    assert as_yaml.content == out.encode("utf-8")
    as_json = client.post("/v1/analyze", json=_json_case(text))
    assert as_json.content == out.encode("utf-8")
    upload = client.post("/v1/analyze", files={"case": (f"{name}.yaml", text.encode(), "application/yaml")})
    assert upload.content == out.encode("utf-8")
    named = client.post("/v1/analyze", json={"example": name})
    assert named.content == out.encode("utf-8")


def test_analyze_engine_choice_and_a_case_without_id(client):
    case = _json_case(EXAMPLE)
    del case["id"]
    r = client.post("/v1/analyze?engine=python", json=case)
    assert r.status_code == 200
    doc = r.json()
    assert doc["engine"] == "python" and doc["case"]["id"] == "case"
    bad = client.post("/v1/analyze?engine=clips", json=case)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad-argument"


def test_bad_case_gets_the_clis_located_diagnostics(client, tmp_path, monkeypatch):
    bad = EXAMPLE.replace("kind: photograph", "kind: photo").replace("consent: false", "consnet: false")
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _out, err = _cli("analyze", "bad.yaml")
    assert code == 1
    r = client.post("/v1/analyze", files={"case": ("bad.yaml", bad.encode(), "application/yaml")})
    assert r.status_code == 422
    e = r.json()["error"]
    assert e["code"] == "invalid-input" and len(e["diagnostics"]) == 2
    for d in e["diagnostics"]:
        assert d["location"]["path"] == "bad.yaml" and d["location"]["line"] > 0 and d["location"]["col"] > 0
        assert d["text"] in err  # the same located text, source line and caret as the CLI prints
    codes = sorted(d["code"] for d in e["diagnostics"])
    assert codes == ["unknown-attribute", "unknown-value"]
    assert "did you mean 'photograph'?" in e["message"]
    body = client.post("/v1/analyze", content=bad.encode(), headers={"Content-Type": "application/yaml"})
    assert body.status_code == 422
    assert {d["location"]["path"] for d in body.json()["error"]["diagnostics"]} == {"<request>"}


@pytest.mark.parametrize("body, code", [
    (b"{\"id\": \"x\", \"facts\": [", "yaml-syntax"),
    (b"[1, 2, 3]", "bad-request"),
    (b"", "empty-file"),
    (b"\xff\xfe not utf-8", "encoding"),
    (b"cases:\n  - id: a\n  - id: b\n", "many-cases"),
    (b"{\"facts\": [{\"use\": {\"key\": \"u\"}}]}", "missing-attribute"),
    (b"{\"facts\": [{\"infringement\": {\"key\": \"i\"}}]}", "unknown-type"),
])
def test_analyze_error_paths(client, body, code):
    r = client.post("/v1/analyze", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert code in {d["code"] for d in err["diagnostics"]}
    assert all(d["location"]["path"] for d in err["diagnostics"])
    assert "Traceback" not in r.text


def test_no_request_names_a_file_on_the_server(client):
    # a path is read as the text of a case, never opened
    for text in (str(KB / "examples" / "marketplace-photos.yaml"), "/etc/passwd"):
        r = client.post("/v1/analyze", content=text.encode(), headers={"Content-Type": "text/plain"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad-request"
        r = client.post("/v1/why", json={"case": text, "conclusion": "infringement"})
        assert r.status_code == 422 and "root:" not in r.text
    r = client.post("/v1/analyze", json={"example": "../../etc/passwd"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown-example"


def test_evaluation_error_is_422(client):
    case = _json_case(EXAMPLE)
    case["dates"] = {"act_date": "2099-01-01"}
    r = client.post("/v1/analyze", json=case)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "evaluation-error" and "mci" in r.json()["error"]["message"]


# ---- limits -----------------------------------------------------------------------------------------


def test_body_limit_413(client):
    big = b"# " + b"x" * (LIMITS.max_body_bytes + 10) + b"\n"
    r = client.post("/v1/analyze", content=big, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too-large"
    up = client.post("/upload", files={"case": ("big.yaml", big, "application/yaml")})
    assert up.status_code == 413 and "text/html" in up.headers["content-type"]


def test_facts_limit_422(client):
    case = _json_case(EXAMPLE)
    case["facts"] += [{"person": {"key": f"p{i}"}} for i in range(LIMITS.max_facts)]
    r = client.post("/v1/analyze", json=case)
    assert r.status_code == 422
    d = r.json()["error"]["diagnostics"][0]
    assert d["code"] == "too-many-facts" and d["location"]["line"] > 0


def test_timeout_504_busy_503_and_the_server_goes_on(client):
    hang = _json_case(EXAMPLE)
    hang["id"] = "web-hang"
    box: dict[str, object] = {}
    t = threading.Thread(target=lambda: box.update(r=client.post("/v1/analyze", json=hang)))
    started = time.monotonic()
    t.start()
    time.sleep(0.8)  # the single worker is now stuck in the hanging case
    probe = _json_case(EXAMPLE)
    probe["id"] = "busy-probe"  # not in the server's cache of results
    busy = client.post("/v1/analyze", json=probe)
    t.join(timeout=60)
    took = time.monotonic() - started
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "5" and busy.json()["error"]["code"] == "busy"
    r = box["r"]
    assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"  # type: ignore[attr-defined]
    assert LIMITS.time_limit <= took < LIMITS.time_limit + 20
    ok = client.post("/v1/analyze", json={"example": "marketplace-photos"})
    assert ok.status_code == 200
    assert client.get("/v1/health").json()["restarts"] >= 1


def test_a_crashing_evaluation_is_500_and_the_server_goes_on(client):
    crash = _json_case(EXAMPLE)
    crash["id"] = "web-crash"
    r = client.post("/v1/analyze", json=crash)
    assert r.status_code == 500 and r.json()["error"]["code"] == "evaluation-failed"
    assert client.post("/v1/analyze", json={"example": "marketplace-photos"}).status_code == 200


# ---- why, why-not, what-if, next-question ------------------------------------------------------------


def test_why_tree(client, rb):
    from kzcopyright.engine.views.explain import why_lines
    from kzcopyright.engine.reasoning.result import Result

    r = client.post("/v1/why", json={"example": "marketplace-photos", "conclusion": "infringement"})
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "holds" and len(data["matches"]) == 1
    m = data["matches"][0]
    tree = m["tree"]
    assert tree["type"] == "infringement" and tree["rule"]["citations"]
    assert tree["rule"]["excerpt"].get("ru")
    stated = []

    def walk(n):
        if n["role"] == "input":
            stated.append(n["fact"])
        for ch in n["premises"]:
            walk(ch)

    walk(tree)
    assert "use:listing" in stated
    saved = client.post("/v1/analyze", json={"example": "marketplace-photos"}).json()
    c = next(x for x in Result.from_json(saved).conclusions if x.id == m["conclusion"]["id"])
    assert m["lines"] == why_lines(Result.from_json(saved), rb.kb, c, "en")
    by_id = client.post("/v1/why", json={"example": "marketplace-photos", "conclusion": c.id}).json()
    assert by_id["matches"][0]["tree"] == tree
    from_result = client.post("/v1/why", json={"result": saved, "conclusion": "infringement"}).json()
    assert from_result["matches"][0]["tree"] == tree
    ru = client.post("/v1/why", json={"example": "marketplace-photos", "conclusion": "infringement", "lang": "ru"})
    assert ru.json()["matches"][0]["tree"]["title"] != tree["title"]


def test_why_errors(client):
    r = client.post("/v1/why", json={"example": "marketplace-photos", "conclusion": "infringment"})
    assert r.status_code == 422 and "did you mean 'infringement'?" in r.text
    r = client.post("/v1/why", json={"example": "marketplace-photos"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing-field"
    r = client.post("/v1/why", json={"example": "marketplace-photos", "conclusion": 3})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad-field"
    r = client.post("/v1/why", json={"conclusion": "infringement"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing-case"
    r = client.post("/v1/why", json={"result": {"schema_version": 1}, "conclusion": "infringement"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad-result"
    r = client.post("/v1/why", json={"example": "marketplace-photos", "conclusion": "infringement", "lang": "de"})
    assert r.status_code == 422
    none = client.post("/v1/why", json={"example": "marketplace-photos", "conclusion": "public_domain"}).json()
    assert none["status"] == "does_not_hold" and none["matches"] == []


def test_why_not_and_the_smallest_change(client):
    r = client.post("/v1/why-not", json={"example": "marketplace-photos", "conclusion": "art198_part(part=2)",
                                          "max_evals": 60})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["status"] == "undetermined" and data["rules"]
    assert any(c["status"] == "unknown" for rule in data["rules"] for c in rule["conditions"])
    sols = data["changes"]["solutions"]
    assert sols and all(x["attribute"] == "damage_tenge" for s in sols for x in s)
    assert any("Smallest change" in line for line in data["lines"])
    no_search = client.post("/v1/why-not", json={"example": "marketplace-photos", "conclusion": "public_domain",
                                                  "max_changes": 0}).json()
    assert no_search["changes"] is None and no_search["status"] == "does_not_hold"
    for bad in ({"max_changes": 9}, {"max_evals": 0}, {"max_evals": "many"}, {"conclusion": "nope"}):
        body = {"example": "marketplace-photos", "conclusion": "public_domain"} | bad
        assert client.post("/v1/why-not", json=body).status_code == 422


def test_what_if_damage_moves_art_198_to_part_2(client):
    r = client.post("/v1/what-if", json={"example": "marketplace-photos", "set": ["use:listing.damage_tenge=1000000"]})
    assert r.status_code == 200, r.text
    diffs = {(d["type"], d["identity"].get("part")): d for d in r.json()["differences"]}
    assert diffs[("art198_part", "2")]["before"] == "undetermined"
    assert diffs[("art198_part", "2")]["after"] == "holds"
    assert diffs[("art198_part", "1")]["after"] == "defeated"
    assert r.json()["case"]["facts"][-1]["use"]["damage_tenge"] == 1000000
    as_object = client.post("/v1/what-if", json={"example": "marketplace-photos",
                                                 "set": {"use:listing.damage_tenge": 1000000}})
    assert as_object.json()["differences"] == r.json()["differences"]
    unset = client.post("/v1/what-if", json={"example": "marketplace-photos", "set": {"listing.consent": None}})
    assert unset.status_code == 200
    for bad, code in (({"set": ["use:listing.consnet=true"]}, "bad-argument"), ({"set": 5}, "bad-argument"),
                      ({}, "missing-field"), ({"set": []}, "bad-argument"),
                      ({"set": [f"listing.damage_tenge={i}" for i in range(LIMITS.max_set + 1)]}, "bad-argument")):
        res = client.post("/v1/what-if", json={"example": "marketplace-photos"} | bad)
        assert res.status_code == 422 and res.json()["error"]["code"] == code, (bad, res.text)
    located = client.post("/v1/what-if", json={"example": "marketplace-photos", "set": ["use:listing.consnet=true"]})
    assert located.json()["error"]["diagnostics"][0]["location"]["path"] == "set[0]"
    assert "did you mean 'consent'?" in located.text


def test_next_question(client):
    skeleton = {"facts": [{"person": {"key": "author"}}, {"work": {"key": "work", "author": "author"}},
                          {"party": {"key": "user"}}, {"use": {"key": "use", "work": "work", "user": "user"}}]}
    r = client.post("/v1/next-question", json={"case": skeleton, "limit": 3})
    assert r.status_code == 200
    data = r.json()
    assert not data["done"] and len(data["questions"]) == 3 and data["open"] > 3
    q = data["questions"][0]
    # who is who first: whose side we are on, then the dates (kb/interview.yaml)
    assert q["id"] == "case:case.perspective" and q["type"] == "enum" and q["choices"]
    skipped = client.post("/v1/next-question", json={"case": skeleton, "skipped": [q["id"]]}).json()
    assert skipped["questions"][0]["id"] != q["id"]
    example = client.post("/v1/next-question", json={"example": "marketplace-photos"}).json()
    assert set(q["id"] for q in example["questions"]) == {"use:listing.damage_tenge", "use:listing.intent", "use:listing.acted_by"}
    bad = client.post("/v1/next-question", json={"case": skeleton, "skipped": ["nodot"]})
    assert bad.status_code == 422
    assert client.post("/v1/next-question", json={"case": skeleton, "limit": 0}).status_code == 422


# ---- the rule base ------------------------------------------------------------------------------------


def test_rules_articles_types_examples(client, rb):
    rules = client.get("/v1/rules").json()["rules"]
    assert len(rules) == len(rb.rules) and all(r["citations"] for r in rules)
    art = client.get("/v1/articles/copyright_law/49").json()
    assert art["id"] == "copyright_law/49" and art["parts"]["1"]["text"]["ru"] and art["rules"]
    part = client.get("/v1/articles/copyright_law/49/1").json()
    assert part["part"] == "1"
    missing = client.get("/v1/articles/copyright_law/4999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown-article"
    types = {t["type"] for t in client.get("/v1/conclusion-types").json()["types"]}
    assert {"infringement", "art198_part", "compensation"} <= types
    assert client.get("/v1/examples").json()["examples"] == EXAMPLES
    assert client.get("/v1/examples/marketplace-photos").text == EXAMPLE
    assert client.get("/v1/examples/nope").status_code == 404


def test_case_schema_accepts_every_bundled_and_test_case(client):
    jsonschema = pytest.importorskip("jsonschema")
    schema = client.get("/v1/schema/case").json()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    cases = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((KB / "examples").glob("*.yaml"))]
    for p in sorted((ROOT / "tests" / "cases").glob("*.yaml")):
        cases.extend(yaml.safe_load(p.read_text(encoding="utf-8"))["cases"])
    assert len(cases) > 50
    for case in cases:
        errors = list(validator.iter_errors(json.loads(json.dumps(case, default=str))))
        assert not errors, (case.get("id"), errors[0].message)
    typo = _json_case(EXAMPLE)
    typo["facts"][3]["use"]["consnet"] = False
    assert list(validator.iter_errors(typo))
    wrong_enum = _json_case(EXAMPLE)
    wrong_enum["facts"][1]["work"]["kind"] = "photo"
    assert list(validator.iter_errors(wrong_enum))


def test_openapi_and_its_page(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in ("/v1/analyze", "/v1/why", "/v1/why-not", "/v1/what-if", "/v1/next-question", "/v1/rules",
              "/v1/articles/{ref}", "/v1/schema/case", "/v1/health"):
        assert p in paths, p
    assert "422" in paths["/v1/analyze"]["post"]["responses"] and "504" in paths["/v1/analyze"]["post"]["responses"]
    assert "multipart/form-data" in paths["/v1/analyze"]["post"]["requestBody"]["content"]
    assert not any(p.startswith("/interview") for p in paths)  # pages are not part of the API
    page = client.get("/docs")
    assert page.status_code == 200 and "POST /v1/what-if" in page.text and "curl" in page.text


# ---- the guard: token, host, headers --------------------------------------------------------------------


def test_token_is_required_on_api_and_pages():
    with TestClient(create_app(_config(token="s3cret"))) as c:
        r = c.get("/v1/health")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/v1/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/v1/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/openapi.json").status_code == 401
        page = c.get("/answer?s=x")
        assert page.status_code == 401 and 'name="token"' in page.text and "text/html" in page.headers["content-type"]
        assert c.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/static/style.css").status_code == 200
        assert c.post("/login", data={"token": "nope", "next": "/"}).status_code == 401
        ok = c.post("/login", data={"token": "s3cret", "next": "//evil.example/"}, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        assert "s3cret" not in ok.headers["set-cookie"] and "HttpOnly" in ok.headers["set-cookie"]
        assert c.get("/").status_code == 200  # the session cookie, for the pages
        assert c.get("/v1/health").status_code == 401  # the API needs the bearer header itself
        assert c.get("/openapi.json").status_code == 200  # the document the /docs page links to


def test_host_check_and_headers():
    with TestClient(create_app(_config(allowed_hosts=("127.0.0.1", "localhost", "::1")))) as c:
        assert c.get("/v1/health", headers={"Host": "evil.example"}).status_code == 400
        assert c.get("/v1/health", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        assert c.get("/v1/health", headers={"Host": "[::1]:8000"}).status_code == 200
        page = c.get("/", headers={"Host": "localhost:8000"})
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "no-referrer"


def test_serve_warns_off_loopback_without_token_and_binds_loopback():
    from kzcopyright.engine.web.config import is_loopback
    from kzcopyright.engine.web.server import address_of, bind, prepare

    said: list[str] = []
    cfg = prepare(_config(), "192.0.2.10", said.append)  # a documentation address: nothing is bound
    assert cfg.allowed_hosts is None and any("without --token" in s for s in said)
    said.clear()
    prepare(_config(token="t"), "192.0.2.10", said.append)
    assert not any("without --token" in s for s in said)
    cfg = prepare(_config(), "127.0.0.1", said.append)
    assert cfg.allowed_hosts is not None and "localhost" in cfg.allowed_hosts
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    sock = bind("127.0.0.1", 0)
    try:
        assert address_of(sock, "127.0.0.1").startswith("http://127.0.0.1:")
    finally:
        sock.close()


def test_serve_command_help():
    r = CliRunner().invoke(cli, ["serve", "--help"])
    assert r.exit_code == 0 and "--token" in r.stdout and "127.0.0.1" in r.stdout


def test_kzcopyright_serve_end_to_end():
    """The command a new user runs: it prints its address, answers there, and stops on Ctrl-C."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "kzcopyright.cli.main", "--rules", str(RULES), "--kb", str(KB),
                             "serve", "--port", "0", "--eval-workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("kzcopyright serving on http://127.0.0.1:"), line
        address = line.split()[3]
        with urllib.request.urlopen(address + "v1/health", timeout=30) as r:
            assert json.loads(r.read())["status"] == "ok"
        with urllib.request.urlopen(address, timeout=30) as r:
            assert "Answer questions about a case" in r.read().decode()
        req = urllib.request.Request(address + "v1/analyze", data=EXAMPLE.encode(),
                                     headers={"Content-Type": "application/yaml"})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert json.loads(r.read())["case"]["id"] == "marketplace-photos"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err
