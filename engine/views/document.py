"""The JSON document of an analysis (``analyze --format json``): the result's own lossless
JSON (:meth:`~..reasoning.result.Result.to_json`) with two keys derived from it and the kb —
``summary`` (the record of :mod:`.summary`, with its text lines) and ``handles`` (the number
and name of every entry of the report, :mod:`.handles`).

Both are derived: :meth:`Result.from_json` ignores them, and :func:`analysis_json_text` of the
result read back writes them again, byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from ..language.kb import KB
from ..reasoning.result import Result
from .handles import handles
from .summary import summarize, summary_json

__all__ = ["analysis_document", "analysis_json_text", "handles_json"]


def handles_json(result: Result, kb: KB) -> list[dict[str, Any]]:
    """The handles of a result as JSON: number, name, id, type and status of each entry."""
    return [{"number": h.number, "handle": h.name, "id": h.id, "type": h.type,
             "status": str(h.conclusion.status) if h.conclusion is not None else "does_not_hold"}
            for h in handles(result, kb)]


def analysis_document(result: Result, kb: KB, lang: str = "en") -> dict[str, Any]:
    """The document ``analyze --format json`` prints: the result, its summary in ``lang`` and its handles."""
    doc = result.to_json()
    doc["summary"] = summary_json(summarize(result, kb, lang), result, kb)
    doc["handles"] = handles_json(result, kb)
    return doc


def analysis_json_text(result: Result, kb: KB, lang: str = "en") -> str:
    """The text of ``analyze --format json`` (formatted as :meth:`Result.to_json_text`)."""
    return json.dumps(analysis_document(result, kb, lang), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
