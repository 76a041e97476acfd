"""The words of the pages: the ``web`` section of the interface catalogues
(``kb/messages/{en,ru,kk}.yaml``, see :mod:`engine.i18n`); the kb gives the law's own titles
and questions in each language."""

from __future__ import annotations

from ..i18n import LANG_NAMES, LANGS, Section, msg

__all__ = ["LANGS", "LANG_NAMES", "UI", "text"]

UI = Section("web")


def text(key: str, lang: str) -> str:
    """The UI text ``key`` in ``lang`` (else in its fallback, kk → ru → en; the key when unknown)."""
    return msg("web", key, lang) if key in UI else key
