"""The ASGI application: the JSON decision service under ``/v1``, its OpenAPI document at
``/openapi.json`` with a page at ``/docs``, and the server-rendered pages (:mod:`.pages`).

``create_app(config)`` loads the rule base once (for this server process) and starts the
evaluation workers when the server starts (the ASGI lifespan). Every endpoint reads its
body itself: a case is the text of a case file or a JSON object, never a path on the server.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.concurrency import run_in_threadpool

from ..errors import Diagnostic, EvaluationError, InputError, Location
from ..i18n import LANGS
from ..language.yamlio import LDict
from .config import WebConfig
from .guard import Guard, is_api_path
from .openapi_docs import ERROR_RESPONSES, body, json_response
from .service import ApiError, Service, diagnostics_plain

__all__ = ["create_app", "app_from_env", "STATIC_DIR", "TEMPLATES_DIR"]

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

API_DESCRIPTION = """\
The copyright law of the Republic of Kazakhstan as explained rules, as a decision service.
A case goes in (the YAML or JSON of a case file, or a JSON object); out come conclusions with
their article, status (holds / undetermined / does not hold) and explanation.

Bad input gets the checker's located diagnostics with HTTP 422. Limits: the body (413), facts
per case (422 `too-many-facts`), evaluation time (504), busy workers (503).
Not legal advice; every result carries the disclaimer with the date the law is encoded up to.
"""


def _service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def error_json(status: int, code: str, message: str, diagnostics: list[dict[str, Any]] | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer: ``{"error": {status, code, message, diagnostics?}}``."""
    err: dict[str, Any] = {"status": status, "code": code, "message": message}
    if diagnostics is not None:
        err["diagnostics"] = diagnostics
    return JSONResponse({"error": err}, status_code=status, headers=headers)


def input_error_json(exc: InputError) -> JSONResponse:
    """An input error as HTTP 422 with every located diagnostic."""
    n = len(exc.diagnostics)
    return error_json(422, exc.diagnostics[0].code if n == 1 else "invalid-input",
                      exc.render() + f"\n{n} problem{'s' if n != 1 else ''} found.", diagnostics_plain(exc))


def _field(b: LDict, name: str, kinds: tuple[type, ...], default: Any = None, required: bool = False) -> Any:
    if name not in b:
        if required:
            raise InputError([Diagnostic(b.loc, "missing-field", f"the request needs '{name}'")])
        return default
    v = b[name]
    if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
        names = " or ".join(k.__name__.replace("str", "text").replace("LDict", "object").replace("dict", "object")
                            for k in kinds)
        raise InputError([Diagnostic(b.val_loc(name), "bad-field", f"'{name}' must be {names}")])
    return v


def _lang(value: Any) -> str:
    lang = str(value or "en")
    if lang not in LANGS:
        raise InputError([Diagnostic(Location("lang"), "bad-argument", f"unknown language '{lang}'", "-",
                                     "use en, ru or kk")])
    return lang


def _json_text(data: Any) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    media_type="application/json")


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(functools.partial(fn, *args, **kwargs))


# ---- the JSON API ---------------------------------------------------------------------------------

api = APIRouter(prefix="/v1", tags=["decision service"])

_ANALYZE_BODY = {"requestBody": {"required": True, "description": "The case: the text of a case file (YAML or JSON; "
                                 "`Content-Type` application/json, application/yaml or text/plain), or a form "
                                 "upload (`multipart/form-data`, field `case`). A JSON object `{\"example\": NAME}` "
                                 "analyses a bundled example.",
                                 "content": {"application/json": {"schema": {"$ref": "/v1/schema/case"}},
                                             "application/yaml": {"schema": {"type": "string"}},
                                             "multipart/form-data": {"schema": {
                                                 "type": "object", "properties": {"case": {"type": "string",
                                                                                           "format": "binary"}}}}}}}


@api.post("/analyze", summary="Analyse a case", openapi_extra=_ANALYZE_BODY,
          responses={**json_response("The result: the document of docs/json-schema.md (schema_version 2), "
                                     "byte-identical to `kzcopyright analyze --format json`."), **ERROR_RESPONSES})
async def analyze(request: Request, engine: str | None = None) -> Response:
    """Evaluate one case. The answer is the result document of docs/json-schema.md, byte for byte what `kzcopyright
    analyze --format json` prints for the same case.
    """
    svc = _service(request)
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("case")
        if upload is None or isinstance(upload, str):
            text = upload if isinstance(upload, str) else None
            if text is None:
                raise InputError([Diagnostic(Location("<request>"), "missing-field",
                                             "the form needs a file (or text) in the field 'case'")])
            scenario = await _in_thread(svc.case_from_text, text, "<upload>")
        else:
            name = Path(upload.filename or "upload.yaml").name[:120] or "upload.yaml"
            data = await upload.read()
            scenario = await _in_thread(svc.case_from_bytes, data, name, Path(name).stem)
    else:
        raw = await request.body()
        scenario = await _in_thread(_analyze_case, svc, raw)
    text = await _in_thread(svc.analyze_text, scenario, engine)
    return Response(text, media_type="application/json")


def _analyze_case(svc: Service, raw: bytes) -> Any:
    b, diags = svc.body(raw)
    if ("case" in b or "example" in b) and "facts" not in b:
        return svc.body_case(b, diags)
    return svc.case_from_data(b, diags, "<request>")


@api.post("/why", summary="Why a conclusion holds: its reasoning tree",
          openapi_extra=body({"conclusion": {"type": "string", "description": "TYPE, TYPE(attr=value, ...) or a "
                                             "conclusion's JSON id"},
                              "result": {"type": "object", "description": "instead of a case: a saved result "
                                         "(analyze --format json)"}},
                             ["conclusion"], "The conclusion, and the case or a saved result.",
                             example={"example": "marketplace-photos", "conclusion": "infringement"}),
          responses={**json_response("Each matching conclusion with its tree (rule, article, statute excerpt, "
                                     "parameters, premises) and the CLI's `why` lines."), **ERROR_RESPONSES})
async def why(request: Request) -> Response:
    """Why a conclusion holds (or is undetermined, or defeated): for each matching conclusion, its reasoning tree down
    to the case's facts and the lines `kzcopyright why` prints. Works on a case or on a saved result.
    """
    svc = _service(request)
    b, diags = await _in_thread(svc.body, await request.body())
    spec = _field(b, "conclusion", (str,), required=True)
    lang = _lang(_field(b, "lang", (str,), "en"))
    if "result" in b:
        from ..reasoning.result import Result

        saved = _field(b, "result", (dict,))
        try:
            result = await _in_thread(Result.from_json, json.loads(json.dumps(saved, default=str)))
        except ValueError as exc:
            raise InputError([Diagnostic(b.val_loc("result"), "bad-result", str(exc))]) from None
    else:
        scenario = await _in_thread(svc.body_case, b, diags)
        result = await _in_thread(svc.result, scenario, _field(b, "engine", (str,)))
    return _json_text(await _in_thread(svc.why, result, spec, lang))


@api.post("/why-not", summary="Why a conclusion does not hold, and the smallest change that would make it hold",
          openapi_extra=body({"conclusion": {"type": "string"},
                              "max_changes": {"type": "integer", "minimum": 0, "maximum": 3, "default": 2,
                                              "description": "largest set of fact changes tried (0: no search)"},
                              "max_evals": {"type": "integer", "minimum": 1, "maximum": 400, "default": 200,
                                            "description": "bound on the alternative cases evaluated"}},
                             ["conclusion"], "The conclusion and the case.",
                             example={"example": "marketplace-photos", "conclusion": "criminal_liability(part=2)"}),
          responses={**json_response("Each rule that could conclude it, condition by condition (met, failed, "
                                     "unknown), and the smallest changes found."), **ERROR_RESPONSES})
async def why_not(request: Request) -> Response:
    """Why a conclusion does not hold: every rule that could conclude it, condition by condition, and the smallest
    changes of facts that would make it hold (a bounded search).
    """
    svc = _service(request)
    b, diags = await _in_thread(svc.body, await request.body())
    spec = _field(b, "conclusion", (str,), required=True)
    lang = _lang(_field(b, "lang", (str,), "en"))
    max_changes = _field(b, "max_changes", (int,), 2)
    max_evals = _field(b, "max_evals", (int,), None)
    scenario = await _in_thread(svc.body_case, b, diags)
    return _json_text(await _in_thread(svc.why_not, scenario, spec, lang, _field(b, "engine", (str,)),
                                       max_changes, max_evals))


@api.post("/what-if", summary="What changes if facts change",
          openapi_extra=body({"set": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}],
                                      "description": "[\"ENTITY.ATTR=VALUE\", ...] as `what-if --set`, or "
                                                     "{\"ENTITY.ATTR\": value}; 'unknown' (or null) unsets"}},
                             ["set"], "The changes and the case.",
                             example={"example": "marketplace-photos", "set": ["use:listing.damage_tenge=1000000"]}),
          responses={**json_response("The conclusions that differ, before and after, and the changed case."),
                     **ERROR_RESPONSES})
async def what_if(request: Request) -> Response:
    """What changes if facts change: the conclusions that differ before and after, and the changed case."""
    svc = _service(request)
    b, diags = await _in_thread(svc.body, await request.body())
    if "set" not in b:
        raise InputError([Diagnostic(b.loc, "missing-field", "the request needs 'set'", "-",
                                     "e.g. [\"use:listing.damage_tenge=1000000\"]")])
    lang = _lang(_field(b, "lang", (str,), "en"))
    scenario = await _in_thread(svc.body_case, b, diags)
    changes = await _in_thread(svc.assignments, scenario, b["set"])
    return _json_text(await _in_thread(svc.what_if, scenario, changes, lang, _field(b, "engine", (str,))))


@api.post("/next-question", summary="The questions that can still change the answer, most decisive first",
          openapi_extra=body({"skipped": {"type": "array", "items": {"type": "string"},
                                          "description": "question ids (FACT.ATTR) answered 'unknown'"},
                              "limit": {"type": "integer", "minimum": 1}},
                             [], "The facts so far (a partial case).",
                             example={"case": {"facts": [{"person": {"key": "author"}},
                                                         {"work": {"key": "work", "author": "author"}},
                                                         {"party": {"key": "user"}},
                                                         {"use": {"key": "use", "work": "work", "user": "user"}}]}}),
          responses={**json_response("The ranked questions, each with the conclusions it decides; `done` when no "
                                     "answer can change a conclusion any more."), **ERROR_RESPONSES})
async def next_question(request: Request) -> Response:
    """The questions whose answers can still change a conclusion, most decisive first, each with the conclusions it
    decides (the interview of `kzcopyright consult`, one step).
    """
    svc = _service(request)
    b, diags = await _in_thread(svc.body, await request.body())
    lang = _lang(_field(b, "lang", (str,), "en"))
    skipped_raw = _field(b, "skipped", (list,), [])
    skipped = []
    for i, s in enumerate(skipped_raw):
        if not isinstance(s, str) or "." not in s:
            raise InputError([Diagnostic(Location(f"skipped[{i}]"), "bad-field", "a skipped question is FACT.ATTR")])
        fact, attr = s.rsplit(".", 1)
        skipped.append((fact, attr))
    limit = _field(b, "limit", (int,), None)
    if limit is not None and limit < 1:
        raise InputError([Diagnostic(b.val_loc("limit"), "bad-field", "'limit' must be at least 1")])
    scenario = await _in_thread(svc.body_case, b, diags)
    return _json_text(await _in_thread(svc.next_questions, scenario, skipped, lang, _field(b, "engine", (str,)),
                                       limit))


@api.get("/rules", summary="Every rule (and version) of the rule base",
         responses=json_response("id, version, title, citations, statute excerpt, validity, what it concludes."))
async def rules(request: Request) -> Response:
    """Every rule version of the rule base."""
    return _json_text({"rules": _service(request).rules_list()})


@api.get("/articles/{ref:path}", summary="One article of the kb: its statute text, parts and source",
         responses={**json_response("The article (e.g. copyright_law/49); a part may follow: copyright_law/49/1."),
                    404: ERROR_RESPONSES[422] | {"description": "No such article."}})
async def article(request: Request, ref: str) -> Response:
    """One article of the knowledge base with its statute text."""
    return _json_text(_service(request).article(ref))


@api.get("/schema/case", summary="The JSON Schema of case files, generated from kb/vocabulary",
         responses=json_response("A JSON Schema (draft 2020-12)."))
async def schema_case(request: Request) -> Response:
    """The JSON Schema of case files, generated from the vocabulary."""
    return _json_text(_service(request).case_schema())


@api.get("/conclusion-types", summary="The conclusion types the rule base can report, with their attributes",
         responses=json_response("type, kind, title, attributes."))
async def conclusion_types(request: Request) -> Response:
    """The conclusion types the rule base can report."""
    return _json_text({"types": _service(request).conclusion_types()})


@api.get("/examples", summary="The bundled example cases", responses=json_response("Their names."))
async def examples(request: Request) -> Response:
    """The names of the bundled example cases."""
    return _json_text({"examples": _service(request).examples()})


@api.get("/examples/{name}", summary="A bundled example case, as its YAML file",
         responses={200: {"description": "The case file.", "content": {"application/yaml": {}}}})
async def example(request: Request, name: str) -> Response:
    """One bundled example case, as its YAML file."""
    return PlainTextResponse(_service(request).example_text(name), media_type="application/yaml")


@api.get("/health", summary="The server is up: its rule base and workers", responses=json_response("Status."))
async def health(request: Request) -> Response:
    """The server's rule base (fingerprint, date encoded up to), engine and evaluation workers."""
    return _json_text(_service(request).health())


# ---- the application --------------------------------------------------------------------------------


def create_app(config: WebConfig | None = None, *, service: Service | None = None) -> FastAPI:
    """The application of one server process (loads the rule base now)."""
    from . import pages

    config = config or WebConfig()
    svc = service or Service(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Start the evaluation workers with the server, stop them with it."""
        await run_in_threadpool(svc.start)
        try:
            yield
        finally:
            await run_in_threadpool(svc.close)

    app = FastAPI(title="kzcopyright decision service", version="1", description=API_DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json", lifespan=lifespan)
    app.state.service = svc
    app.state.config = config

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        if is_api_path(request.url.path):
            return input_error_json(exc)
        return pages.error_page(request, 422, exc)

    @app.exception_handler(EvaluationError)
    async def _evaluation(request: Request, exc: EvaluationError) -> Response:
        if is_api_path(request.url.path):
            return error_json(422, "evaluation-error", str(exc))
        return pages.error_page(request, 422, exc)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        if is_api_path(request.url.path):
            return error_json(exc.status, exc.code, exc.message, headers=exc.headers)
        return pages.error_page(request, exc.status, exc)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        # never a traceback to the client; the server log has it
        return error_json(500, "internal-error", f"internal error: {type(exc).__name__}")

    app.include_router(api)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(Guard, token=config.token, max_body=config.limits.max_body_bytes,  # type: ignore[arg-type]
                       allowed_hosts=config.allowed_hosts, login_page=pages.login_page_bytes)
    return app


def app_from_env() -> FastAPI:
    """The application configured by ``KZCOPYRIGHT_WEB_CONFIG`` (for uvicorn's workers)."""
    return create_app(WebConfig.from_env())
