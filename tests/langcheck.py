"""Helpers of the language tests (tests/test_languages.py): a detector of sentences of another
language in a rendered report, and a copy of the kb and rules whose texts all have a ru and a
kk form, so that what still leaks comes from the interface (the code and kb/messages).

The detector looks for runs of three or more Latin-script words in ru/kk output (English
sentences), and for runs of two or more Cyrillic words in English output, after removing what
is language-neutral: identifiers (anything with ``_ = . / # : ( )`` or digits), commands in
backticks, quoted statute text («…»), the case's own title and description (the user's words),
and a few names (kzcopyright, Graphviz, OpenAPI, …).
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
LANG_KEYS = {"en", "ru", "kk"}
PLAIN_TEXTS = {"title", "question", "help", "assumption", "because", "short"}
NOT_SHOWN = {"note", "notes", "source", "source_kk", "excerpt"}
# what the filled copy says in place of a missing text (with the original's placeholders)
FILLER = {"ru": "Текст на русском", "kk": "Қазақ тіліндегі мәтін"}

NAMES = {"kzcopyright", "Graphviz", "OpenAPI", "DOT", "JSON", "YAML", "HTML", "PDF", "SVG", "HTTP", "API",
         "Enter", "CASE", "TYPE", "unknown", "back", "done", "why", "not", "what", "if", "focus", "graph", "all",
         "svg", "o", "as", "of", "max", "seconds", "Helvetica", "A4"}
_LATIN_WORD = r"[A-Za-z][A-Za-z'’-]+"
_LATIN_RUN = re.compile(rf"{_LATIN_WORD}(?:[ ,;:]+{_LATIN_WORD}){{2,}}")
_CYR_RUN = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]{2,}(?:[ ,;:—-]+[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]{2,})+")
_NEUTRAL_TOKEN = re.compile(r"\S*[_=./#:()\[\]{}0-9@]\S*")


def _fill(node: Any, lang: str, key: str = "") -> Any:
    if isinstance(node, dict):
        if node and set(node) <= LANG_KEYS and all(isinstance(v, str) for v in node.values()):
            if key in NOT_SHOWN or node.get(lang):
                return node
            src = node.get("en") or next(iter(node.values()))
            return dict(node, **{lang: " ".join([FILLER[lang]] + re.findall(r"\{[^{}]+\}", src))})
        out = {}
        for k, v in node.items():
            if isinstance(v, str) and k in PLAIN_TEXTS:
                out[k] = {"en": v, lang: " ".join([FILLER[lang]] + re.findall(r"\{[^{}]+\}", v))}
            else:
                out[k] = _fill(v, lang, str(k))
        return out
    if isinstance(node, list):
        return [_fill(v, lang, key) for v in node]
    return node


def filled_copy(tmp: Path, langs: tuple[str, ...] = ("ru", "kk")) -> tuple[Path, Path]:
    """A copy of rules/ and kb/ in ``tmp`` where every text shown to the reader has each of
    ``langs`` (a filler where the shipped file has none); examples are copied unchanged."""
    for sub in ("rules", "kb"):
        shutil.copytree(ROOT / sub, tmp / sub)
        for path in (tmp / sub).rglob("*.yaml"):
            if path.parent.name in ("examples", "messages"):
                continue
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for lang in langs:
                data = _fill(data, lang)
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return tmp / "rules", tmp / "kb"


def html_text(page: str) -> str:
    """The visible text of an HTML page (scripts and styles removed, tags to spaces)."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return html.unescape(page)


def neutral(text: str, case_texts: tuple[str, ...] = (), lang: str = "") -> str:
    """``text`` without what is language-neutral (see the module's docstring)."""
    for t in case_texts:
        text = text.replace(t, " ")
    text = re.sub(r"\s+", " ", text)
    for t in case_texts:  # wrapped case texts: compare with whitespace folded
        text = text.replace(re.sub(r"\s+", " ", t), " ")
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"«[^»]*»", " ", text)
    if lang == "en":  # English text quoting the statute's Russian words: '…' or "…"
        text = re.sub(r"(?<![A-Za-z])'[^']*'|\"[^\"]*\"|“[^”]*”", " ", text)
    text = _NEUTRAL_TOKEN.sub(" ", text)
    return " ".join(w for w in text.split(" ") if w.strip(",;:—-") not in NAMES)


def leaks(text: str, lang: str, case_texts: tuple[str, ...] = ()) -> list[str]:
    """The runs of words of another script than ``lang``'s in ``text`` (after :func:`neutral`)."""
    clean = neutral(text, case_texts, lang)
    pattern = _CYR_RUN if lang == "en" else _LATIN_RUN
    return sorted({m.group(0) for m in pattern.finditer(clean)})


_RU_ONLY = {"и", "в", "на", "что", "по", "от", "для", "или", "при", "его", "ее", "её", "если", "без", "который",
            "которые", "это", "как", "также", "чтобы", "был", "была", "были", "есть", "нет", "только", "уже", "когда"}


def russian_in_kazakh(text: str, case_texts: tuple[str, ...] = ()) -> list[str]:
    """Sentences of a kk ``text`` that read as Russian: two or more Russian function words (и, в,
    на, что, по, от, для, или, …), which Kazakh does not use, in one clause."""
    clean = neutral(text, case_texts)
    out = []
    for clause in re.split(r"[.;!?\n]", clean):
        words = [w.strip(",:—-()«»\"'").lower() for w in clause.split()]
        if len({w for w in words if w in _RU_ONLY}) >= 2:
            out.append(clause.strip())
    return sorted(set(out))
