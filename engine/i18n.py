"""The languages of the interface: one catalogue of strings per language, the fallback order,
and numbers, money and dates written the way each language writes them.

The interface's own words (headings, labels, hints, the web pages) live in
``kb/messages/{en,ru,kk}.yaml``: one section per module that speaks (``text``, ``explain``,
``memo``, ``summary``, ``handles``, ``consult``, ``batch``, ``result``, ``web``), each a
mapping of message ids to texts with ``{placeholders}``. ``en.yaml`` is the reference: every id
is defined there. The files are data, loaded safely (the strict loader of
:mod:`engine.language.yamlio`) and once per process.

A text missing in the chosen language is taken from the next language of :data:`FALLBACK`
(kk → ru → en), and ``rules lint`` reports it as a warning with its place
(:func:`check_messages` for the catalogues, :func:`check_yaml_texts` for the kb and rules
files): a fallback is never silent.

Numbers, money and dates go through Babel (:func:`format_number`, :func:`format_money`,
:func:`format_date`, :func:`format_value`); English keeps the plain forms the reports always
used (``291,700``, ISO dates). JSON output does not use this module: it stays
language-neutral.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import Diagnostic, Diagnostics, Location

__all__ = ["LANGS", "LANG_NAMES", "FALLBACK", "MESSAGES_DIR", "Section", "msg", "pick", "messages",
           "format_number", "format_money", "format_date", "format_value", "check_messages",
           "check_yaml_texts", "PLACEHOLDER"]

LANGS = ("en", "ru", "kk")
LANG_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
# where a text missing in a language is taken from, in order
FALLBACK: dict[str, tuple[str, ...]] = {"en": ("en",), "ru": ("ru", "en"), "kk": ("kk", "ru", "en")}
MESSAGES_DIR = Path(__file__).resolve().parent.parent / "kb" / "messages"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}")
_BABEL_LOCALE = {"ru": "ru_RU", "kk": "kk_KZ"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_CATALOGUES: dict[str, dict[str, dict[str, str]]] = {}
_LOCS: dict[str, dict[str, Location]] = {}
_PROBLEMS: dict[str, list[Diagnostic]] = {}


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(MESSAGES_DIR.parent.parent))
    except ValueError:
        return str(path)


def _load(lang: str) -> dict[str, dict[str, str]]:
    """The catalogue of ``lang`` (loaded on first use; problems kept for :func:`check_messages`)."""
    cat = _CATALOGUES.get(lang)
    if cat is not None:
        return cat
    from .language.yamlio import LDict, load_file

    path = MESSAGES_DIR / f"{lang}.yaml"
    diags = Diagnostics()
    cat, locs = {}, {}
    data = load_file(path, diags, _shown(path)) if path.is_file() else None
    if isinstance(data, LDict):
        for sec, entries in data.items():
            if not isinstance(entries, LDict):
                diags.error(data.val_loc(sec), "messages-bad-section", f"section '{sec}' must map ids to texts",
                            str(sec))
                continue
            out: dict[str, str] = {}
            for key, text in entries.items():
                if isinstance(text, str):
                    out[str(key)] = text
                    locs[f"{sec}.{key}"] = entries.key_loc(key)
                else:
                    diags.error(entries.val_loc(key), "messages-bad-text", f"'{sec}.{key}' must be a text",
                                f"{sec}.{key}")
            cat[str(sec)] = out
    elif data is not None:
        diags.error(Location(_shown(path)), "messages-bad-file", "a message catalogue maps sections to ids and texts")
    _CATALOGUES[lang], _LOCS[lang], _PROBLEMS[lang] = cat, locs, list(diags.items)
    return cat


def messages(lang: str) -> dict[str, dict[str, str]]:
    """The whole catalogue of ``lang``: section -> id -> text (without fallback)."""
    return _load(lang)


def _lookup(section: str, key: str, lang: str) -> str | None:
    for code in FALLBACK.get(lang, ("en",)):
        text = _load(code).get(section, {}).get(key)
        if text:
            return text
    return None


def msg(section: str, key: str, lang: str, **kw: Any) -> str:
    """The message ``section.key`` in ``lang`` (else in its :data:`FALLBACK`), its
    placeholders filled from ``kw``; the id itself when no catalogue has it."""
    text = _lookup(section, key, lang)
    if text is None:
        return f"{section}.{key}"
    return text.format(**kw) if kw else text


class Section(Mapping[str, dict[str, str]]):
    """One section of the catalogues as the modules used to hold it: ``MSG[key][lang]``.

    ``MSG[key]`` is a mapping of every language to its text, the missing ones filled from the
    fallback, so code written for the old ``{key: {en:, ru:}}`` dicts keeps working."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, key: str) -> dict[str, str]:
        if key not in _load("en").get(self.name, {}):
            raise KeyError(key)
        return {lang: _lookup(self.name, key, lang) or key for lang in LANGS}

    def __iter__(self) -> Iterator[str]:
        return iter(_load("en").get(self.name, {}))

    def __len__(self) -> int:
        return len(_load("en").get(self.name, {}))

    def __call__(self, key: str, lang: str, **kw: Any) -> str:
        """The message ``key`` of this section in ``lang``, formatted."""
        return msg(self.name, key, lang, **kw)


def pick(texts: Mapping[str, str] | None, lang: str, default: str = "") -> str:
    """A kb or rule text (``{en:, ru:, kk:}``) in ``lang``, else in its :data:`FALLBACK`, else any."""
    if not texts:
        return default
    for code in FALLBACK.get(lang, ("en",)):
        t = texts.get(code)
        if t:
            return t
    return next(iter(texts.values()), default)


# ---- numbers, money, dates ---------------------------------------------------------------------

def format_number(v: int | float, lang: str) -> str:
    """A number with the language's separators: ``291,700`` (en), ``291 700`` (ru, kk)."""
    if lang in _BABEL_LOCALE:
        from babel.numbers import format_decimal

        return str(format_decimal(v, format="#,##0.##", locale=_BABEL_LOCALE[lang]))
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def format_money(v: int | float, lang: str) -> str:
    """An amount in tenge: ``291,700 tenge`` (en), ``291 700 ₸`` (ru, kk)."""
    if lang in _BABEL_LOCALE:
        return format_number(v, lang) + "\u00a0₸"
    return f"{format_number(v, lang)} tenge"


def format_date(d: _dt.date, lang: str) -> str:
    """A date: ISO in English (as the reports always gave it), Babel's long form in ru and kk
    (``15 июня 2021 г.``, ``2021 ж. 15 маусым``)."""
    if lang in _BABEL_LOCALE:
        from babel.dates import format_date as _babel_date

        return str(_babel_date(d, "long", locale=_BABEL_LOCALE[lang]))
    return d.isoformat()


_WORDS = {"yes": {"en": "yes", "ru": "да", "kk": "иә"}, "no": {"en": "no", "ru": "нет", "kk": "жоқ"},
          "unknown": {"en": "unknown", "ru": "неизвестно", "kk": "белгісіз"}}


def format_value(v: Any, lang: str = "en") -> str:
    """A value as a report prints it in ``lang``: yes/no, numbers, dates (English: as
    :func:`engine.reasoning.result.format_value`)."""
    from .reasoning.result import format_value as plain

    if lang not in _BABEL_LOCALE:
        return plain(v)
    if v is None:
        return _WORDS["unknown"][lang]
    if isinstance(v, bool):
        return _WORDS["yes" if v else "no"][lang]
    if isinstance(v, (int, float)):
        return format_number(v, lang)
    if isinstance(v, _dt.date):
        return format_date(v, lang)
    if isinstance(v, (list, tuple)):
        return ", ".join(format_value(x, lang) for x in v)
    if isinstance(v, str) and _ISO_DATE.fullmatch(v):  # a date as the results keep it
        try:
            return format_date(_dt.date.fromisoformat(v), lang)
        except ValueError:
            return v
    return plain(v)


# ---- what rules lint says about the languages --------------------------------------------------

def check_messages(langs: Iterable[str] = LANGS) -> list[Diagnostic]:
    """What ``rules lint`` says about the catalogues: a warning for an id of en.yaml missing in
    a language (with the catalogue file and the id) and for an id no English text defines;
    an error for a placeholder the code does not fill and for a catalogue that cannot be read."""
    en = _load("en")
    out = list(_PROBLEMS.get("en", []))
    for lang in langs:
        if lang == "en":
            continue
        cat = _load(lang)
        out.extend(_PROBLEMS.get(lang, []))
        path = _shown(MESSAGES_DIR / f"{lang}.yaml")
        for sec, entries in en.items():
            for key, text in entries.items():
                mine = cat.get(sec, {}).get(key)
                where = _LOCS["en"].get(f"{sec}.{key}")
                if not mine:
                    shown = " or ".join(FALLBACK[lang][1:])
                    out.append(Diagnostic(Location(path), "missing-translation",
                                          f"no {lang} text for '{sec}.{key}': shown in {shown} until it is added",
                                          f"{sec}.{key}", severity="warning",
                                          related=(where,) if where else ()))
                elif set(PLACEHOLDER.findall(mine)) - set(PLACEHOLDER.findall(text)):
                    # a translation may leave a placeholder out (English plurals: {s}), never add one
                    extra = sorted(set(PLACEHOLDER.findall(mine)) - set(PLACEHOLDER.findall(text)))
                    out.append(Diagnostic(_LOCS[lang].get(f"{sec}.{key}", Location(path)), "translation-placeholders",
                                          f"'{sec}.{key}' uses {{{', '.join(extra)}}}, which the code does not fill "
                                          f"(the English text has {sorted(set(PLACEHOLDER.findall(text)))})",
                                          f"{sec}.{key}"))
        for sec, entries in cat.items():
            for key in entries:
                if key not in en.get(sec, {}):
                    out.append(Diagnostic(_LOCS[lang].get(f"{sec}.{key}", Location(path)), "unknown-message",
                                          f"'{sec}.{key}' is not an id of en.yaml", f"{sec}.{key}",
                                          severity="warning"))
    return out


_TEXT_KEYS = frozenset(LANGS)
# maintainers' notes and sources are not shown to the reader in their language
_NOT_SHOWN = frozenset({"note", "notes", "source", "source_kk"})
# the keys whose plain string value is a text shown to the reader (English only until translated);
# a rule's excerpt is shown by why and the web pages, in the reader's language where it has one
_PLAIN_TEXTS = frozenset({"title", "question", "help", "assumption", "because", "short", "excerpt"})


def _walk(node: Any, parent_key: str, found: list[tuple[dict[str, str], Location, str]]) -> None:
    from .language.yamlio import LDict, LList

    if isinstance(node, LDict):
        keys = set(node)
        if keys and keys <= _TEXT_KEYS and all(isinstance(v, str) for v in node.values()):
            if parent_key not in _NOT_SHOWN:
                found.append((dict(node), node.loc, parent_key))
            return
        for k, v in node.items():
            if isinstance(v, str) and k in _PLAIN_TEXTS:  # a plain string is the English text
                found.append(({"en": v}, node.val_loc(k), str(k)))
            else:
                _walk(v, str(k), found)
    elif isinstance(node, LList):
        for v in node:
            _walk(v, parent_key, found)


def check_yaml_texts(paths: Iterable[Path], lang: str, shown: Any = str) -> list[Diagnostic]:
    """Warnings for every text of the kb and rules files (a mapping of languages such as
    ``{en: …, ru: …}``) that has no ``lang`` text: the file:line of the text and its key."""
    from .language.yamlio import load_file

    out: list[Diagnostic] = []
    for path in paths:
        if path.parent.name == "messages" or path.parent.name == "examples":
            continue
        diags = Diagnostics()
        data = load_file(path, diags, shown(path))
        found: list[tuple[dict[str, str], Location, str]] = []
        _walk(data, "", found)
        for texts, loc, key in found:
            if not texts.get(lang):
                what = "statute text" if key == "text" and "/articles/" in f"/{loc.path}" else \
                    f"'{key}' text" if key else "text"
                shown_in = " or ".join(c for c in FALLBACK[lang][1:] if texts.get(c)) or "another language"
                out.append(Diagnostic(loc, "missing-translation", f"{what} has no {lang}: shown in {shown_in}",
                                      key or "-", severity="warning"))
    return out
