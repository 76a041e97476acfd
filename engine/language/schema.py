"""Small helpers that check the shape of located YAML data and report precisely."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any
from collections.abc import Iterable, Mapping

from ..errors import Diagnostics, Location, suggest
from .yamlio import LDict, LList

__all__ = ["Checker"]


class Checker:
    """Shape checks bound to one diagnostics collector and one subject."""

    def __init__(self, diags: Diagnostics, path: str):
        self.diags = diags
        self.path = path

    def where(self, data: Any) -> Location:
        """Where ``data`` stood in its file (its own mark, or the file when it has none)."""
        return getattr(data, "loc", Location(self.path, 0, 0))

    def mapping(self, data: Any, what: str, subject: str, loc: Location | None = None) -> LDict | None:
        """``data`` when it is a mapping; else a located ``bad-shape`` error and None."""
        if isinstance(data, LDict):
            return data
        self.diags.error(loc or self.where(data), "bad-shape", f"{what} must be a mapping", subject)
        return None

    def sequence(self, data: Any, what: str, subject: str, loc: Location | None = None) -> LList | None:
        """``data`` when it is a list; else a located ``bad-shape`` error and None."""
        if isinstance(data, LList):
            return data
        self.diags.error(loc or self.where(data), "bad-shape", f"{what} must be a list", subject)
        return None

    def keys(
        self,
        data: LDict,
        allowed: Iterable[str],
        subject: str,
        required: Iterable[str] = (),
        what: str = "",
    ) -> bool:
        """Check the keys of ``data``: each unknown key is an error at the key, with the allowed ones and a "did you mean"; each missing required key an error at the mapping."""
        allowed = list(allowed)
        ok = True
        for key in data:
            if key not in allowed:
                hint = suggest(str(key), allowed) or "allowed: " + ", ".join(allowed)
                self.diags.error(
                    data.key_loc(key), "unknown-key", f"unknown key '{key}'{(' in ' + what) if what else ''}",
                    subject, hint,
                )
                ok = False
        for key in required:
            if key not in data:
                self.diags.error(data.loc, "missing-key", f"missing required key '{key}'{(' in ' + what) if what else ''}", subject)
                ok = False
        return ok

    def text(self, data: LDict, key: str, subject: str, required: bool = False) -> dict[str, str]:
        """A text in several languages: either a string (English) or {en:, ru:, kk:}."""
        if key not in data:
            if required:
                self.diags.error(data.loc, "missing-key", f"missing required key '{key}'", subject)
            return {}
        value = data[key]
        if isinstance(value, str):
            return {"en": value}
        if isinstance(value, LDict):
            self.keys(value, ["en", "ru", "kk"], subject, what=key)
            out = {}
            for lang, txt in value.items():
                if not isinstance(txt, str):
                    self.diags.error(value.val_loc(lang), "bad-type", f"{key}.{lang} must be text", subject)
                else:
                    out[str(lang)] = txt
            if required and "en" not in out:
                self.diags.error(value.loc, "missing-key", f"{key} needs an English text 'en'", subject)
            return out
        self.diags.error(data.val_loc(key), "bad-type", f"{key} must be text or a mapping of languages", subject)
        return {}

    def string(self, data: LDict, key: str, subject: str, required: bool = False) -> str | None:
        """The string under ``key`` (None if absent; an error if it is not a string, or if it is required and absent)."""
        if key not in data:
            if required:
                self.diags.error(data.loc, "missing-key", f"missing required key '{key}'", subject)
            return None
        value = data[key]
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        self.diags.error(data.val_loc(key), "bad-type", f"{key} must be text", subject)
        return None

    def date(self, data: LDict, key: str, subject: str, required: bool = False) -> _dt.date | None:
        """The date under ``key``, as a YAML date or an ISO string (None if absent; a located error otherwise)."""
        if key not in data:
            if required:
                self.diags.error(data.loc, "missing-key", f"missing required key '{key}'", subject)
            return None
        value = data[key]
        if isinstance(value, str):
            from .values import parse_date

            value = parse_date(value)
        if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
            return value
        if value is None:
            return None
        why = " (no such day)" if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", value) else ""
        self.diags.error(data.val_loc(key), "bad-date", f"{key} must be a date YYYY-MM-DD, got {value!r}{why}", subject)
        return None

    def boolean(self, data: Mapping[str, Any], key: str, subject: str, default: bool = False) -> bool:
        """The boolean under ``key`` (``default`` if absent; a located error if it is not true or false)."""
        if key not in data:
            return default
        value = data[key]
        if isinstance(value, bool):
            return value
        loc = data.val_loc(key) if isinstance(data, LDict) else Location(self.path)
        self.diags.error(loc, "bad-type", f"{key} must be true or false", subject)
        return default
