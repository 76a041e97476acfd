"""A JSON Schema (draft 2020-12) of case files, generated from the kb's vocabulary.

Every entity type of ``kb/vocabulary`` becomes a definition whose properties are its
attributes, typed as the checker reads them: booleans, numbers (whole numbers for
``integer``), ISO dates, enumerations with their values, lists of enumeration values, and
references (the key of another fact). ``null`` means "explicitly unknown". The schema
describes the shape; the checker still decides (references to keys, required attributes
of a fact, and messages located at their line).
"""

from __future__ import annotations

from typing import Any

from ..language.kb import CASE_TYPE, KB
from ..language.scenario import SCENARIO_KEYS
from ..language.values import NUMERIC_UNITS, UNIT_NAMES

__all__ = ["case_schema"]


def _text(texts: dict[str, str]) -> str:
    return texts.get("en") or next(iter(texts.values()), "")


_DAY = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


def _date_schema() -> dict[str, Any]:
    """A date as a case may give it: a day, a year (2013 or "2013"), a month ("2016-07"), or a
    range {"from": day, "to": day} (either side null for unbounded)."""
    side = {"anyOf": [_DAY, {"type": "null"}]}
    return {"anyOf": [_DAY, {"type": "integer", "minimum": 1, "maximum": 9999},
                      {"type": "string", "pattern": r"^\d{4}(-\d{2})?$"},
                      {"type": "object", "properties": {"from": side, "to": side}, "required": ["from", "to"],
                       "additionalProperties": False}]}


def _range_of(number: dict[str, Any]) -> dict[str, Any]:
    """A number, or a range of it {"from": lo, "to": hi} (null for an unbounded side)."""
    side = {"anyOf": [{"type": number["type"]}, {"type": "null"}]}
    rng = {"type": "object", "properties": {"from": side, "to": side}, "required": ["from", "to"],
           "additionalProperties": False}
    return {"anyOf": [number, rng], **{k: v for k, v in number.items() if k.startswith("x-")}}


def _value_schema(a: Any) -> dict[str, Any]:
    out: dict[str, Any]
    if a.type == "bool":
        out = {"type": "boolean"}
    elif a.type == "integer":
        out = _range_of({"type": "integer"})
    elif a.type in NUMERIC_UNITS:
        out = {"type": "number"}
        if a.type in UNIT_NAMES:
            out["x-unit"] = UNIT_NAMES[a.type]
        out = _range_of(out)
    elif a.type == "date":
        out = _date_schema()
    elif a.type == "enum":
        out = {"type": "string", "enum": list(a.values)}
    elif a.type == "list":
        out = {"type": "array", "items": {"type": "string", "enum": list(a.values)}, "uniqueItems": True}
    elif a.type == "ref":
        out = {"type": "string", "description": f"the key of a {a.to}" if a.to else "the key of another fact"}
    else:
        out = {"type": "string"}
    desc = _text(a.question) or _text(a.title)
    if desc:
        out["description"] = desc if "description" not in out else f"{desc} ({out['description']})"
    if a.value_titles and a.type in ("enum", "list"):
        out["x-value-titles"] = {v: dict(t) for v, t in a.value_titles.items()}
    return {"anyOf": [out, {"type": "null"}]} if not a.required else out


def case_schema(kb: KB) -> dict[str, Any]:
    """The JSON Schema of one case file (the form ``analyze`` and ``POST /v1/analyze`` read)."""
    defs: dict[str, Any] = {}
    fact_refs: list[dict[str, Any]] = []
    for t in kb.types.values():
        if t.kind != "entity" or t.name == CASE_TYPE:
            continue
        props: dict[str, Any] = {"key": {"type": ["string", "integer"], "minLength": 1,
                                         "description": f"the name of this {t.name} in the case"}}
        required = ["key"]
        for a in t.attributes.values():
            props[a.name] = _value_schema(a)
            if a.required:
                required.append(a.name)
        defs[t.name] = {"type": "object", "title": _text(t.title), "properties": props, "required": required,
                        "additionalProperties": False}
        fact_refs.append({"type": "object", "properties": {t.name: {"$ref": f"#/$defs/{t.name}"}},
                          "required": [t.name], "additionalProperties": False})
    case_t = kb.types.get(CASE_TYPE)
    dates: dict[str, Any] = {}
    perspective: dict[str, Any] = {"type": ["string", "null"]}
    if case_t is not None:
        for a in case_t.attributes.values():
            if a.type == "date":
                dates[a.name] = {"anyOf": [_date_schema(), {"type": "null"}],
                                 "description": _text(a.question) or _text(a.title)}
            elif a.name == "perspective":
                perspective = {"anyOf": [{"type": "string", "enum": list(a.values)}, {"type": "null"}],
                               "description": _text(a.question)}
    props = {
        "id": {"type": ["string", "integer"], "description": "the case's identifier (default: the file name)"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "perspective": perspective,
        "dates": {"type": "object", "properties": dates, "additionalProperties": False,
                  "description": "the legally relevant dates of the case"},
        "facts": {"type": "array", "items": {"oneOf": fact_refs},
                  "description": "the facts of the case; an attribute left out is unknown, not false"},
        "expect": {"description": "only in test cases (docs/maintainers.md)"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "source": {"type": "string"},
    }
    assert set(props) == set(SCENARIO_KEYS), "the schema must name every key a case may have"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:kzcopyright:case",
        "title": "A kzcopyright case",
        "description": f"One case for the rule base '{kb.name}' (law as encoded up to "
                       f"{kb.encoded_up_to.isoformat() if kb.encoded_up_to else 'unknown'}). Generated from "
                       "kb/vocabulary.",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "$defs": defs,
    }
