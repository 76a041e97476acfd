"""The request and response schemas of the JSON API, for its OpenAPI document.

The endpoints read their bodies themselves (so that a bad case gets the checker's located
diagnostics, not a framework's message); these fragments describe those bodies.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_RESPONSES", "body", "json_response", "CASE_INPUT", "CASE_REF"]

CASE_REF = {"$ref": "/v1/schema/case"}

DIAGNOSTIC = {
    "type": "object",
    "properties": {
        "location": {"type": "object", "properties": {"path": {"type": "string"}, "line": {"type": "integer"},
                                                      "col": {"type": "integer"}}},
        "code": {"type": "string", "description": "a stable name of the problem (docs/errors.md)"},
        "message": {"type": "string"}, "hint": {"type": "string"}, "subject": {"type": "string"},
        "severity": {"type": "string"}, "source_line": {"type": "string"},
        "related": {"type": "array", "items": {"type": "string"}},
        "text": {"type": "string", "description": "the diagnostic as the CLI prints it, with the source line and a "
                                                  "caret"},
    },
}

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
        "diagnostics": {"type": "array", "items": DIAGNOSTIC}}}},
}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _err("A token is configured and the request does not carry `Authorization: Bearer TOKEN`."),
    413: _err("The request body is larger than the limit (1 MiB by default)."),
    422: _err("Bad input: the case (or another field) has problems, each located (path, line, column) as the CLI "
              "reports it; `too-many-facts` beyond the limit; an evaluation error (e.g. a date outside the encoded "
              "period)."),
    500: _err("The evaluation worker failed; it was restarted and the server goes on."),
    503: _err("Every evaluation worker stayed busy for the queue wait; try again (Retry-After)."),
    504: _err("The evaluation did not finish within the time limit (20 s by default); it was stopped."),
}

CASE_INPUT = {
    "description": "The case: `case` (an object in case-file form, or the text of a case file in YAML or JSON) or "
                   "`example` (the name of a bundled example).",
    "oneOf": [
        {"type": "object", "required": ["case"], "properties": {"case": {"oneOf": [CASE_REF, {"type": "string"}]}}},
        {"type": "object", "required": ["example"], "properties": {"example": {"type": "string"}}},
    ],
}

_COMMON = {"lang": {"type": "string", "enum": ["en", "ru", "kk"], "default": "en"},
           "engine": {"type": "string", "enum": ["durable", "python"],
                      "description": "default: the server's engine (durable where it imports)"}}


def body(properties: dict[str, Any], required: list[str], description: str, *, with_case: bool = True,
         example: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ``openapi_extra`` request body: a JSON object with ``properties`` (plus the case, ``lang`` and ``engine``)."""
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties, **_COMMON), "required": required}
    if with_case:
        schema["properties"].update({"case": {"oneOf": [CASE_REF, {"type": "string"}],
                                              "description": "a case object, or the text of a case file"},
                                     "example": {"type": "string", "description": "a bundled example's name"}})
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "description": description, "content": {"application/json": content}}}


def json_response(description: str, schema: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """A 200 answer of JSON with ``schema``."""
    return {200: {"description": description, "content": {"application/json": {"schema": schema or {"type": "object"}}}}}
