"""The server-rendered pages: the interview, the upload of a case file, the answer page (why,
why-not, what-if, the reasoning graph, the memo and the case to download), articles and rules.

Every page works without JavaScript: links and forms carry the case in the token ``s``
(:mod:`.state`). htmx, where it loads, only fetches a "why" or a "what if" into the page
instead of opening a new one (the same URL answers with a fragment when the request says
``HX-Request``).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import jinja2
import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import Diagnostic, InputError, Location
from ..language.kb import CASE_TYPE
from ..language.values import NUMERIC_UNITS, UNIT_NAMES, json_value
from ..reasoning.compare import identity_of
from ..reasoning.provenance import REPORTED_KINDS, Status
from ..reasoning.result import Conclusion, Result, format_value
from ..views.text import cite_label, disclaimer_text, value_labels
from .explain import t
from .i18n import LANG_NAMES, LANGS, text
from .service import ApiError, Service
from .state import PageState, case_data_of, decode_state, encode_state

__all__ = ["router", "error_page", "login_page_bytes"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
router = APIRouter(include_in_schema=False)

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


# ---- helpers --------------------------------------------------------------------------------------


def _svc(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def page_lang(request: Request) -> str:
    """The page's language: ``?lang=`` if it is one of the languages, else English."""
    lang = request.query_params.get("lang", "en")
    return lang if lang in LANGS else "en"


def url(path: str, lang: str, **params: Any) -> str:
    """``path`` with ``params`` and the language as its query."""
    items: list[tuple[str, str]] = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            items.extend((k, str(x)) for x in v)
        else:
            items.append((k, str(v)))
    if lang != "en":
        items.append(("lang", lang))
    return path + ("?" + urllib.parse.urlencode(items) if items else "")


def _lang_links(request: Request, lang: str) -> list[tuple[str, str, str]]:
    out = []
    for code in LANGS:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        if code != "en":
            params.append(("lang", code))
        out.append((code, LANG_NAMES[code], request.url.path + ("?" + urllib.parse.urlencode(params) if params else "")))
    return out


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """A page: ``template`` rendered with the common context (language, texts, links)."""
    lang = ctx.pop("lang", None) or page_lang(request)
    body = _env.get_template(template).render(**{**_base_ctx(lang, request), **ctx})
    return HTMLResponse(body, status_code=status)


def _base_ctx(lang: str, request: Request | None) -> dict[str, Any]:
    def u(path: str, **params: Any) -> str:
        """A link in the page's language."""
        return url(path, lang, **params)

    return {"lang": lang, "_": lambda key: text(key, lang), "url": u, "tr": lambda texts: t(texts or {}, lang),
            "lang_links": _lang_links(request, lang) if request is not None else [],
            "status_label": lambda s: text(str(s), lang), "disclaimer": ""}


def is_htmx(request: Request) -> bool:
    """Whether the request comes from htmx (it then gets a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def error_page(request: Request, status: int, exc: Exception) -> HTMLResponse:
    """The error page for ``exc`` with its diagnostics."""
    diags = exc.diagnostics if isinstance(exc, InputError) else []
    message = exc.message if isinstance(exc, ApiError) else ("" if diags else str(exc))
    return render(request, "error.html", status=status, message=message, diags=diags, code=status)


def login_page_bytes(scope: dict[str, Any], wrong: bool) -> bytes:
    """The sign-in page, for the guard to send when a page needs the token."""
    path = scope.get("path", "/")
    query = scope.get("query_string", b"").decode("latin-1")
    nxt = path + ("?" + query if query else "")
    ctx = {**_base_ctx("en", None), "next": nxt, "wrong": wrong}
    return _env.get_template("login.html").render(**ctx).encode("utf-8")


async def _thread(fn: Any, *args: Any) -> Any:
    return await run_in_threadpool(fn, *args)


def _state(svc: Service, token: str | None) -> tuple[PageState, Any]:
    if not token:
        raise InputError([Diagnostic(Location("<link>"), "bad-link", "the page needs a case (the link has no 's')",
                                     "-", "start from the home page")])
    state = decode_state(token, svc.limits.max_token_chars)
    return state, svc.case_from_mapping(state.case)


def _token(state: PageState) -> str:
    return encode_state(state)


def _spec(c: Conclusion, kb: Any) -> str:
    ident = identity_of(c, kb)
    return c.type + ("(" + ", ".join(f"{k}={json_value(v)}" for k, v in ident.items()) + ")" if ident else "")


def _value_text(v: Any) -> str:
    """A value as what-if and the forms accept it back."""
    v = json_value(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return "" if v is None else str(v)


def _unit(vtype: str) -> str:
    return f" {UNIT_NAMES[vtype]}" if vtype in UNIT_NAMES and vtype not in ("percent",) else ""


# ---- view models ----------------------------------------------------------------------------------


def _citations(kb: Any, refs: list[str] | tuple[str, ...], lang: str) -> list[dict[str, str]]:
    out = []
    for ref in refs:
        bits = ref.split("/")
        out.append({"ref": ref, "label": cite_label(kb, ref, lang),
                    "href": url(f"/articles/{bits[0]}/{bits[1]}", lang, part=bits[2] if len(bits) > 2 else None)
                    if len(bits) > 1 else "#"})
    return out


def _conclusion_view(c: Conclusion, result: Result, kb: Any, lang: str, token: str, n: int) -> dict[str, Any]:
    ft = kb.types.get(c.type)
    labels = value_labels(c, kb, lang)
    attrs = []
    for name, v in c.attributes.items():
        a = ft.attributes.get(name) if ft else None
        if a is None or a.type in ("ref", "enum") or name in ("order",):
            continue
        attrs.append({"name": name, "title": t(a.title, lang) or name.replace("_", " "), "type": a.type,
                      "text": format_value(v) + _unit(a.type)})
    excerpts: list[dict[str, str]] = []
    seen: set[str] = set()
    for uid in c.rules:
        info = result.trace.rules.get(uid)
        if info is None:
            continue
        for lg in ("ru", "en"):
            ex = info.excerpt.get(lg)
            if ex and ex not in seen:
                seen.add(ex)
                excerpts.append({"lang": lg, "text": ex, "rule": info.id})
    return {
        "n": n, "id": c.id, "type": c.type, "status": str(c.status),
        "title": t(c.title, lang) + (": " + "; ".join(labels) if labels else ""),
        "explanation": t(c.explanation, lang), "attrs": attrs, "citations": _citations(kb, c.citations, lang),
        "excerpts": excerpts,
        "depends_on": [t(d.question, lang) or f"{d.fact}.{d.attribute}" for d in c.depends_on],
        "defeated_by": [{"rule": d.rule, "citations": _citations(kb, d.citations, lang)} for d in c.defeated_by],
        "why_href": url("/why", lang, s=token, id=c.id),
        "why_not_href": url("/why-not", lang, s=token, spec=_spec(c, kb)) if c.status != Status.HOLDS else "",
        "graph_href": url("/graph", lang, s=token, focus=c.id),
    }


def _attr_input(a: Any, lang: str) -> dict[str, Any]:
    """How a form asks for a value of attribute ``a``."""
    if a.type == "bool":
        return {"kind": "select", "choices": [("true", text("yes", lang)), ("false", text("no", lang)),
                                               ("unknown", text("unknown", lang))]}
    if a.type == "enum":
        return {"kind": "select", "choices": [(v, f"{t(a.value_titles.get(v, {'en': v}), lang)} ({v})") for v in a.values]
                + [("unknown", text("unknown", lang))]}
    if a.type == "date":
        return {"kind": "date"}
    return {"kind": "text", "hint": ("comma-separated: " + ", ".join(a.values)) if a.type == "list" else a.type}


def _fact_rows(result: Result, kb: Any, lang: str) -> list[dict[str, Any]]:
    rows = []
    n = 0
    for f in result.facts:
        ft = kb.types.get(f.type)
        if ft is None:
            continue
        for name, a in ft.attributes.items():
            if a.type == "ref" or (f.type != CASE_TYPE and not a.question and name not in f.attributes):
                continue
            if name not in f.attributes and f.type != CASE_TYPE:
                continue  # unstated attributes are asked in "still undetermined" and the free form
            n += 1
            v = f.attributes.get(name)
            rows.append({"n": n, "fact": f.id, "attr": name, "target": f"{f.id}.{name}",
                         "title": t(a.title, lang) or t(a.question, lang) or name.replace("_", " "),
                         "question": t(a.question, lang), "value": _value_text(v) if v is not None else "unknown",
                         "shown": format_value(v) + _unit(a.type) if v is not None else text("unknown", lang),
                         "input": _attr_input(a, lang)})
    return rows


def _all_targets(result: Result, kb: Any, lang: str) -> list[tuple[str, str]]:
    out = []
    for f in result.facts:
        ft = kb.types.get(f.type)
        if ft is None:
            continue
        for name, a in ft.attributes.items():
            if a.type == "ref" or (f.type != CASE_TYPE and not a.question):
                continue
            label = t(a.question, lang) or t(a.title, lang) or name
            out.append((f"{f.id}.{name}", f"{f.id}.{name} — {label}"))
    return out


def _amounts_deadlines(result: Result, kb: Any, lang: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    amounts, deadlines = [], []
    for c in result.conclusions:
        if c.status not in (Status.HOLDS, Status.UNDETERMINED) or c.kind == "intermediate":
            continue
        ft = kb.types[c.type]
        labels = value_labels(c, kb, lang)
        label = t(c.title, lang) + (": " + "; ".join(labels) if labels else "")
        for name, a in ft.attributes.items():
            v = c.attributes.get(name)
            if v is None:
                continue
            row = {"label": label, "status": str(c.status), "item": t(a.title, lang) or name.replace("_", " "),
                   "value": format_value(v) + _unit(a.type)}
            if a.type == "tenge":
                amounts.append(row)
            elif a.type == "date":
                deadlines.append(row)
    return amounts, deadlines


# ---- home, login ------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """The home page."""
    svc = _svc(request)
    return render(request, "home.html", examples=svc.examples(), encoded_up_to=svc.health()["encoded_up_to"])


@router.get("/favicon.ico")
async def favicon() -> Response:
    """The icon."""
    return Response((STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    """The sign-in form."""
    return render(request, "login.html", next=request.query_params.get("next", "/"), wrong=False)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token; on success set the session cookie and go on to ``next``."""
    import hmac

    from .guard import COOKIE, cookie_value

    config = request.app.state.config
    form = await request.form()
    token = str(form.get("token", ""))
    nxt = str(form.get("next", "/"))
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    if not config.token or not hmac.compare_digest(token.encode(), config.token.encode()):
        return render(request, "login.html", status=401, next=nxt, wrong=bool(config.token))
    response = RedirectResponse(nxt, status_code=303)
    response.set_cookie(COOKIE, cookie_value(config.token), httponly=True, samesite="strict", path="/")
    return response


# ---- the interview ------------------------------------------------------------------------------------


def _start_fields(svc: Service, lang: str) -> dict[str, Any]:
    case_t = svc.kb.types[CASE_TYPE]
    dates = [{"name": a.name, "title": t(a.title, lang), "question": t(a.question, lang)}
             for a in case_t.attributes.values() if a.type == "date"]
    persp = case_t.attributes.get("perspective")
    perspectives = [(v, t(persp.value_titles.get(v, {"en": v}), lang)) for v in persp.values] if persp else []
    return {"dates": dates, "perspectives": perspectives}


_START_DEFAULTS = {"title": "", "case_id": "", "author": "author", "work": "work", "user": "user", "use": "use",
                   "perspective": ""}


@router.get("/interview", response_class=HTMLResponse)
async def interview_start(request: Request) -> Response:
    """The first page of the interview: title, side, dates and who is who."""
    svc = _svc(request)
    return render(request, "interview_start.html", values=dict(_START_DEFAULTS), errors={},
                  **_start_fields(svc, page_lang(request)))


@router.post("/interview")
async def interview_begin(request: Request) -> Response:
    """Start the interview from the first page's answers."""
    svc = _svc(request)
    form = await request.form()
    lang = str(form.get("lang", "en")) if str(form.get("lang", "en")) in LANGS else "en"
    values = {k: str(form.get(k, "")).strip() for k in list(_START_DEFAULTS) + [d["name"] for d in
                                                                               _start_fields(svc, lang)["dates"]]}
    errors: dict[str, str] = {}
    for k in ("author", "work", "user", "use"):
        values[k] = values[k] or _START_DEFAULTS[k]
        if not _KEY.match(values[k]):
            errors[k] = "letters, digits, - and _ only (at most 40)"
    if len(values["title"]) > 200:
        errors["title"] = "at most 200 characters"
    if values["case_id"] and not _KEY.match(values["case_id"]):
        errors["case_id"] = "letters, digits, - and _ only (at most 40)"
    fields = _start_fields(svc, lang)
    dates = {}
    for d in fields["dates"]:
        v = values.get(d["name"], "")
        if v:
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", v):
                errors[d["name"]] = "a date YYYY-MM-DD"
            dates[d["name"]] = v
    if values["perspective"] and values["perspective"] not in [p[0] for p in fields["perspectives"]]:
        errors["perspective"] = "choose one of the options"
    title = values["title"] or "Consultation"
    case: dict[str, Any] = {"id": values["case_id"] or _slug(title), "title": title}
    if values["perspective"]:
        case["perspective"] = values["perspective"]
    if dates:
        case["dates"] = dates
    case["facts"] = [{"person": {"key": values["author"]}},
                     {"work": {"key": values["work"], "author": values["author"]}},
                     {"party": {"key": values["user"]}},
                     {"use": {"key": values["use"], "work": values["work"], "user": values["user"]}}]
    if not errors:
        try:
            await _thread(svc.case_from_mapping, case)
        except InputError as exc:
            errors["form"] = "; ".join(d.message for d in exc.diagnostics)
    if errors:
        return render(request, "interview_start.html", status=422, lang=lang, values=values, errors=errors, **fields)
    token = _token(PageState(case))
    return RedirectResponse(url("/interview/question", lang, s=token), status_code=303)


def _slug(title: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return s or "consultation"


def _session(svc: Service, state: PageState, scenario: Any, lang: str) -> Any:
    session = svc.session(scenario, state.skipped, lang)
    session.history = [(f, a, None, h, o) for f, a, h, o in state.history]
    return session


def _question_view(svc: Service, q: Any, result: Result, lang: str) -> dict[str, Any]:
    from .explain import question_plain

    plain = question_plain(q, result, lang)
    fact = result.fact(q.fact)
    ft = svc.kb.types.get(fact.type) if fact else None
    a = ft.attributes.get(q.attribute) if ft else None
    by_title: dict[str, list[str]] = {}  # one line a conclusion type, its articles together
    for d in plain["decides"]:
        refs = by_title.setdefault(d["title"], [])
        refs.extend(x for x in d["citations"] if x not in refs)
    unique = [{"title": title, "citations": _citations(svc.kb, refs[:4], lang)} for title, refs in by_title.items()]
    choices = [(v, t(titles, lang)) for v, titles in q.choices]
    if q.type == "bool":
        choices = [("yes", text("yes", lang)), ("no", text("no", lang))]
    return {"id": q.id, "fact": q.fact, "attribute": q.attribute, "type": q.type, "prompt": q.prompt(lang),
            "help": t(q.help, lang) if q.help else "", "choices": choices, "settles": q.settles, "decides": unique,
            "unit": UNIT_NAMES.get(q.type, "") if q.type in NUMERIC_UNITS else "",
            "subject": fact_label(fact.type, str(fact.get("key")), svc, lang) if fact else q.fact,
            "title": t(a.title, lang) if a else q.attribute}


def fact_label(ftype: str, key: str, svc: Service, lang: str) -> str:
    """A fact named for a question: its type's title and its key."""
    ft = svc.kb.types.get(ftype)
    return f"{t(ft.title, lang) if ft else ftype} «{key}»"


@router.get("/interview/question", response_class=HTMLResponse)
async def interview_question(request: Request) -> Response:
    """The next question of the interview (or the answer when none is left)."""
    return await _question_page(request, request.query_params.get("s"), page_lang(request), None, "")


async def _question_page(request: Request, token: str | None, lang: str, error: str | None, previous: str,
                         status: int = 200) -> Response:
    svc = _svc(request)
    state, scenario = await _thread(_state, svc, token)
    session = await _thread(_session, svc, state, scenario, lang)
    result = session.result()
    q = session.next_question()
    token = _token(state)
    if q is None:
        return RedirectResponse(url("/answer", lang, s=token, done=1), status_code=303)
    counts = {s: len(result.by_status(s)) for s in ("holds", "undetermined")}
    return render(request, "question.html", status=status, lang=lang, q=_question_view(svc, q, result, lang), s=token,
                  number=len(state.history) + 1, can_back=bool(state.history), counts=counts, error=error,
                  previous=previous, case_title=scenario.title, disclaimer=disclaimer_text(result, lang))


@router.post("/interview/answer")
async def interview_answer(request: Request) -> Response:
    """Take an answer (or unknown, back, finish) and go on to the next question."""
    svc = _svc(request)
    form = await request.form()
    lang = str(form.get("lang", "en")) if str(form.get("lang", "en")) in LANGS else "en"
    token = str(form.get("s", ""))
    action = str(form.get("action", "answer"))
    qid = str(form.get("q", ""))
    state, scenario = await _thread(_state, svc, token)
    if action == "finish":
        return RedirectResponse(url("/answer", lang, s=token), status_code=303)
    session = await _thread(_session, svc, state, scenario, lang)
    if action == "back":
        session.back()
    else:
        q = next((x for x in session.candidates() if x.id == qid), None)
        if q is None:  # the form is stale (answered already, or the case changed): show the current question
            return RedirectResponse(url("/interview/question", lang, s=token), status_code=303)
        if action == "unknown":
            session.answer(None, q)
        else:
            raw: Any = ", ".join(str(v) for v in form.getlist("value")) if q.type == "list" else str(form.get("value", ""))
            if not str(raw).strip():
                return await _question_page(request, token, lang, text("choose", lang), "", status=422)
            try:
                session.answer(raw, q)
            except InputError as exc:
                d = exc.diagnostics[0]
                return await _question_page(request, token, lang, d.message + (f" ({d.hint})" if d.hint else ""),
                                            str(raw), status=422)
    new = PageState(case_data_of(session.scenario, svc.kb, scenario.description),
                    sorted(session.skipped), [(f, a, h, json_value(o)) for f, a, _v, h, o in session.history])
    return RedirectResponse(url("/interview/question", lang, s=_token(new)), status_code=303)


# ---- upload ---------------------------------------------------------------------------------------------


@router.get("/upload", response_class=HTMLResponse)
async def upload_form(request: Request) -> Response:
    """The upload form."""
    return render(request, "upload.html", listing=None, diags=[], text_value="", name="")


@router.post("/upload")
async def upload(request: Request) -> Response:
    """Read an uploaded or pasted case; its problems are shown at their line."""
    svc = _svc(request)
    form = await request.form()
    lang = str(form.get("lang", "en")) if str(form.get("lang", "en")) in LANGS else "en"
    upload = form.get("case")
    pasted = str(form.get("text", ""))
    name = "pasted.yaml"
    data: bytes
    if upload is not None and not isinstance(upload, str) and (upload.filename or ""):
        name = Path(upload.filename or "upload.yaml").name[:120] or "upload.yaml"
        data = await upload.read()
    elif pasted.strip():
        data = pasted.encode("utf-8")
    else:
        return render(request, "upload.html", status=422, lang=lang, listing=None, text_value="", name="",
                      diags=[Diagnostic(Location("<upload>"), "missing-file", "choose a file, or paste the text of "
                                        "a case file")])
    try:
        scenario = await _thread(svc.case_from_bytes, data, name, Path(name).stem)
    except InputError as exc:
        source = data.decode("utf-8", errors="replace")
        return render(request, "upload.html", status=422, lang=lang, listing=_listing(source, exc.diagnostics, name),
                      diags=exc.diagnostics, text_value=source if len(source) < 200_000 else "", name=name)
    state = PageState(case_data_of(scenario, svc.kb))
    return RedirectResponse(url("/answer", lang, s=_token(state)), status_code=303)


def _listing(source: str, diags: list[Diagnostic], name: str) -> dict[str, Any]:
    """The uploaded text with line numbers, each problem under its line (a window around the
    problems when the file is long)."""
    lines = source.replace("\r\n", "\n").split("\n")
    if len(lines) > 1 and lines[-1] == "" and not any(d.location.line == len(lines) for d in diags):
        lines.pop()  # the final newline, unless a problem is reported after it
    at: dict[int, list[Diagnostic]] = {}
    loose: list[Diagnostic] = []
    for d in diags:
        if d.location.path == name and 0 < d.location.line <= len(lines):
            at.setdefault(d.location.line, []).append(d)
        else:
            loose.append(d)
    if len(lines) <= 300:
        shown = set(range(1, len(lines) + 1))
    else:
        shown = {n for line in at for n in range(max(1, line - 3), min(len(lines), line + 3) + 1)}
    rows: list[dict[str, Any]] = []
    last = 0
    for n in sorted(shown):
        if last and n != last + 1:
            rows.append({"gap": True})
        rows.append({"gap": False, "n": n, "text": lines[n - 1], "diags": at.get(n, [])})
        last = n
    return {"rows": rows, "loose": loose, "name": name}


@router.get("/example/{name}")
async def example(request: Request, name: str) -> Response:
    """Open a bundled example's answer."""
    svc = _svc(request)
    scenario = await _thread(svc.example_case, name)
    state = PageState(case_data_of(scenario, svc.kb))
    return RedirectResponse(url("/answer", page_lang(request), s=_token(state)), status_code=303)


# ---- the answer -------------------------------------------------------------------------------------------


def _summary_view(result: Result, kb: Any, lang: str) -> dict[str, Any]:
    """The summary of the answer (views.summary, as the text report and the memo give it):
    each topic with its statements, each statement linked to the entries it stands for."""
    from ..views.summary import item_text, question_text, summarize

    s = summarize(result, kb, lang)
    sections = [{"title": sec.title, "numbered": sec.numbered, "note": sec.note,
                 "items": [{"text": item_text(s, it, result, kb, with_refs=False), "status": it.status,
                            "refs": list(it.refs)} for it in sec.items]} for sec in s.sections]
    return {"sections": sections, "questions": [question_text(s, q) for q in s.questions],
            "more": s.more_questions}


@router.get("/answer", response_class=HTMLResponse)
async def answer(request: Request) -> Response:
    """The answer page: the summary's place, conclusions by topic, amounts and deadlines, what is open, what-if,
    assumptions.
    """
    svc = _svc(request)
    lang = page_lang(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    result: Result = await _thread(svc.result, scenario)
    token = _token(state)
    kb = svc.kb
    n = 0
    groups = []
    headings = {k: text(k, lang) for k in REPORTED_KINDS}
    for kind, items in result.by_kind():
        views = []
        for c in items:
            n += 1
            views.append(_conclusion_view(c, result, kb, lang, token, n))
        groups.append({"kind": kind, "heading": headings[kind], "entries": views})
    dnh = [{"title": t(d.title, lang), "citations": _citations(kb, d.citations, lang),
            "why_not_href": url("/why-not", lang, s=token, spec=d.type)} for d in result.does_not_hold]
    open_points = []
    for i, u in enumerate(result.undetermined, 1):
        fact = result.fact(u.fact)
        ft = kb.types.get(fact.type) if fact else None
        a = ft.attributes.get(u.attribute) if ft else None
        open_points.append({"n": i, "target": f"{u.fact}.{u.attribute}", "question": t(u.question, lang) or
                            f"{u.fact}.{u.attribute}", "affects": ", ".join(u.affects),
                            "input": _attr_input(a, lang) if a else {"kind": "text", "hint": ""}})
    amounts, deadlines = _amounts_deadlines(result, kb, lang)
    session = await _thread(_session, svc, state, scenario, lang)
    remaining = len(session.candidates())
    summary = _summary_view(result, kb, lang)
    return render(request, "answer.html", lang=lang, result=result, groups=groups, dnh=dnh, open_points=open_points,
                  summary=summary,
                  amounts=amounts, deadlines=deadlines, facts=_fact_rows(result, kb, lang), s=token,
                  targets=_all_targets(result, kb, lang), remaining=remaining, asked=len(state.history),
                  counts={s: len(result.by_status(s)) for s in ("holds", "undetermined", "defeated")},
                  assumptions=[t(a.text, lang) for a in result.assumptions],
                  parameters=[{"title": t(p.title, lang), "date": p.date, "value": format_value(p.value),
                               "source": p.source} for p in result.parameters],
                  disclaimer=disclaimer_text(result, lang), done=request.query_params.get("done") == "1",
                  description=scenario.description)


@router.get("/why", response_class=HTMLResponse)
async def why(request: Request) -> Response:
    """The why tree of a conclusion (a fragment for htmx)."""
    svc = _svc(request)
    lang = page_lang(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    result = await _thread(svc.result, scenario)
    spec = request.query_params.get("id") or request.query_params.get("spec") or ""
    data = await _thread(svc.why, result, spec, lang)
    token = _token(state)
    ctx = {"data": data, "s": token, "spec": spec, "disclaimer": disclaimer_text(result, lang), "case_title": scenario.title,
           "cites": lambda refs: _citations(svc.kb, [c["ref"] for c in refs], lang),
           "graph_href": url("/graph", lang, s=token, focus=data["matches"][0]["conclusion"]["id"])
           if data["matches"] else "",
           "why_not_href": url("/why-not", lang, s=token, spec=spec) if not data["matches"] or
           data["status"] != "holds" else ""}
    return render(request, "_why.html" if is_htmx(request) else "why.html", lang=lang, **ctx)


@router.get("/why-not", response_class=HTMLResponse)
async def why_not(request: Request) -> Response:
    """Why a conclusion does not hold, and the smallest change that would make it hold."""
    svc = _svc(request)
    lang = page_lang(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    spec = request.query_params.get("spec", "")
    token = _token(state)
    result = await _thread(svc.result, scenario)
    types = [(ft.name, t(ft.title, lang)) for ft in svc.kb.types.values() if ft.kind != "entity"]
    if not spec:
        return render(request, "whynot.html", lang=lang, data=None, s=token, spec="", types=types,
                      case_title=scenario.title, disclaimer=disclaimer_text(result, lang), solutions=[])
    data = await _thread(svc.why_not, scenario, spec, lang)
    solutions = []
    for sol in (data["changes"] or {}).get("solutions", []):
        sets = [f"{x['fact']}.{x['attribute']}={_value_text(x['value']) if x['value'] is not None else 'unknown'}"
                for x in sol]
        solutions.append({"text": "; ".join(f"{x['fact']}.{x['attribute']} = {format_value(x['value'])}" for x in sol),
                          "href": url("/what-if", lang, s=token, set=sets)})
    return render(request, "whynot.html", lang=lang, data=data, s=token, spec=spec, types=types,
                  case_title=scenario.title, disclaimer=disclaimer_text(result, lang), solutions=solutions,
                  cites=lambda refs: _citations(svc.kb, refs, lang))


@router.get("/what-if", response_class=HTMLResponse)
async def what_if(request: Request) -> Response:
    """What changes with the facts changed (a fragment for htmx)."""
    svc = _svc(request)
    lang = page_lang(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    sets = request.query_params.getlist("set")
    target, value = request.query_params.get("target"), request.query_params.get("value")
    if target:
        sets.append(f"{target}={value if value not in (None, '') else 'unknown'}")
    changes = await _thread(svc.assignments, scenario, sets)
    data = await _thread(svc.what_if, scenario, changes, lang)
    after = await _thread(svc.case_from_mapping, data["case"])
    new_token = _token(PageState(case_data_of(after, svc.kb, scenario.description)))
    ctx = {"data": data, "s": _token(state), "apply_href": url("/answer", lang, s=new_token),
           "case_title": scenario.title, "disclaimer": data["disclaimer"],
           "change_texts": [f"{c['fact']}.{c['attribute']} = " + (format_value(c["value"]) if c["value"] is not None
                                                                  else text("unknown", lang)) for c in data["changes"]]}
    return render(request, "_whatif.html" if is_htmx(request) else "whatif.html", lang=lang, **ctx)


@router.get("/graph", response_class=HTMLResponse)
async def graph(request: Request) -> Response:
    """The reasoning graph as SVG; its nodes link to their explanation below it."""
    from ..views import graph as G

    svc = _svc(request)
    lang = page_lang(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    result = await _thread(svc.result, scenario)
    token = _token(state)
    focus = request.query_params.get("focus")
    g = G.reasoning_graph(result, svc.kb, lang)
    if focus:
        g = G.focus(g, [f"fact:{focus}"])
    dot = G.to_dot(g, svc.kb, title=f"{result.case_title} [{result.case_id}]", lang=lang)
    nodes = sorted(g.nodes)
    ids = {n: f"n{i}" for i, n in enumerate(nodes)}
    anchors = {ids[n]: f"node-{i}" for i, n in enumerate(nodes) if g.nodes[n]["kind"] in ("conclusion", "rule")}
    dot = _link_nodes(dot, anchors)
    svg = await _thread(svc.render, dot, "svg")
    explanations = []
    for i, n in enumerate(nodes):
        d = g.nodes[n]
        if d["kind"] == "conclusion":
            c = result.conclusion(d["fid"])
            explanations.append({"anchor": f"node-{i}", "kind": "conclusion", "title": d.get("title", ""),
                                 "status": d.get("status", ""), "label": d.get("label", ""),
                                 "because": t(c.explanation, lang) if c else "",
                                 "citations": _citations(svc.kb, c.citations, lang) if c else [],
                                 "why_href": url("/why", lang, s=token, id=d["fid"])})
        elif d["kind"] == "rule":
            info = result.trace.rules.get(d["rule"])
            explanations.append({"anchor": f"node-{i}", "kind": "rule", "title": d["rule_id"],
                                 "rule_title": t(info.title, lang) if info else "",
                                 "citations": _citations(svc.kb, d.get("citations", []), lang),
                                 "excerpt": (info.excerpt.get("ru") or info.excerpt.get("en", "")) if info else "",
                                 "defeated": d.get("defeated", False), "rule_href": url(f"/rule/{d['rule_id']}", lang)})
    svg_text = _inline_svg(svg) if svg is not None else None
    return render(request, "graph.html", lang=lang, svg=svg_text, dot=dot if svg is None else "", s=token,
                  explanations=explanations, focus=focus, case_title=scenario.title, disclaimer=disclaimer_text(result, lang),
                  nodes=len(nodes))


def _link_nodes(dot: str, anchors: dict[str, str]) -> str:
    """Give the DOT nodes ``anchors`` (node id → page anchor) a link to their explanation."""
    out = []
    for line in dot.splitlines():
        m = re.match(r"^(\s*)(n\d+) \[(.*)\];$", line)
        if m and m.group(2) in anchors:
            line = f'{m.group(1)}{m.group(2)} [{m.group(3)}, URL="#{anchors[m.group(2)]}", target="_self"];'
        out.append(line)
    return "\n".join(out) + "\n"


def _inline_svg(svg: bytes) -> str:
    body = svg.decode("utf-8", errors="replace")
    body = re.sub(r"<\?xml[^>]*\?>", "", body)
    body = re.sub(r"<!DOCTYPE[^>]*>", "", body)
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    return body.strip()


# ---- downloads ----------------------------------------------------------------------------------------------


def _filename(case_id: str, suffix: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", case_id).strip("-")[:60] or "case"
    return base + suffix


@router.get("/memo")
async def memo(request: Request) -> Response:
    """The memo (HTML), as a download."""
    svc = _svc(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    body = await _thread(svc.memo, scenario, page_lang(request))
    return Response(body, media_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(scenario.id, "-memo.html")}"'})


@router.get("/memo.pdf")
async def memo_pdf(request: Request) -> Response:
    """The memo as a PDF, as a download (``analyze --format pdf``)."""
    svc = _svc(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    body = await _thread(svc.memo_pdf, scenario, page_lang(request))
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(scenario.id, "-memo.pdf")}"'})


def case_yaml(case: dict[str, Any]) -> str:
    """A case as the text of a case file."""
    return "# Saved by `kzcopyright serve`: a case file (upload it again, or: kzcopyright analyze FILE).\n" + \
        yaml.safe_dump(case, sort_keys=False, allow_unicode=True, width=100)


@router.get("/case.yaml")
async def case_download(request: Request) -> Response:
    """The case as a YAML case file, as a download."""
    svc = _svc(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    body = case_yaml(case_data_of(scenario, svc.kb))
    return Response(body, media_type="application/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(scenario.id, ".yaml")}"'})


@router.get("/result.json")
async def result_download(request: Request) -> Response:
    """The result document (JSON), as a download."""
    svc = _svc(request)
    state, scenario = await _thread(_state, svc, request.query_params.get("s"))
    body = await _thread(svc.analyze_text, scenario)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(scenario.id, ".json")}"'})


# ---- the law -----------------------------------------------------------------------------------------------


@router.get("/articles/{act}/{number}", response_class=HTMLResponse)
async def article(request: Request, act: str, number: str) -> Response:
    """An article's statute text (a fragment for htmx)."""
    svc = _svc(request)
    lang = page_lang(request)
    data = svc.article(f"{act}/{number}")
    part = request.query_params.get("part")
    parts = data["parts"]
    if part and part in parts:
        shown = {part: parts[part]}
    else:
        shown = parts
    ctx: dict[str, Any] = {"art": data, "parts": shown, "part": part if part in parts else None,
           "label": cite_label(svc.kb, f"{act}/{number}", lang),
           "rules": [(uid, url(f"/rule/{uid.split('@')[0]}", lang)) for uid in data["rules"]],
           "source_ok": str(data["source"]).startswith(("https://", "http://"))}
    return render(request, "_article.html" if is_htmx(request) else "article.html", lang=lang, **ctx)


@router.get("/rule/{rule_id}", response_class=HTMLResponse)
async def rule(request: Request, rule_id: str) -> Response:
    """A rule's versions with their law."""
    svc = _svc(request)
    lang = page_lang(request)
    versions = svc.rule(rule_id)
    views = [{"uid": r.uid, "version": r.version, "title": t(r.title, lang), "citations": _citations(svc.kb, r.cite, lang),
              "excerpt": dict(r.excerpt), "assumption": t(r.assumption, lang),
              "valid_from": r.valid_from.isoformat() if r.valid_from else "", "amended_by": r.amended_by,
              "valid_to": r.valid_to.isoformat() if r.valid_to else ""} for r in versions]
    return render(request, "rule.html", lang=lang, rule_id=versions[0].id, versions=views)


# ---- the API's page -------------------------------------------------------------------------------------------


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request) -> Response:
    """The page of the HTTP API, from its OpenAPI document."""
    spec = request.app.openapi()
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {})
            example = None
            for content in body.get("content", {}).values():
                if "example" in content:
                    example = json.dumps(content["example"], ensure_ascii=False)
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "description": op.get("description", ""),
                        "params": [(p["name"], p.get("in", ""), p.get("required", False))
                                   for p in op.get("parameters", [])],
                        "body": body.get("description", ""), "types": list(body.get("content", {})),
                        "responses": sorted((str(k), v.get("description", "")) for k, v in op.get("responses", {}).items()),
                        "example": example})
    return render(request, "docs.html", ops=ops, title=spec["info"]["title"], description=spec["info"]["description"],
                  base=str(request.base_url).rstrip("/"))

