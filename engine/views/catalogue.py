"""The summary catalogue (``kb/summary.yaml``): how the summary at the head of every report
speaks of each conclusion type.

The file is data, as the vocabulary is: for each topic of the summary (protection,
infringement, claims, criminal exposure, deadlines, next steps, notes) a title and the words
for "nothing here"; for each reportable conclusion type the topic it belongs to (or ``none``)
and a short template, in English and Russian, whose ``{placeholders}`` are the type's
attributes; short labels for the questions that would settle what is open. A kb without the
file gets a plain summary grouped by kind. :func:`check_catalogue` is what ``rules lint``
reports about the file (every reportable type listed, every placeholder an attribute).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, Diagnostics, Location, suggest
from ..language.kb import KB
from ..language.yamlio import LDict, load_file

__all__ = ["Topic", "TypeSummary", "Catalogue", "load_catalogue", "check_catalogue", "FILTERS", "PLACEHOLDER",
           "CATALOGUE_FILE"]

CATALOGUE_FILE = "summary.yaml"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([a-z_]+))?\}")
# filters a placeholder may name: {ends|running} says whether a deadline has run on the date of assessment
FILTERS = ("running",)
REPORTED = ("conclusion", "liability", "remedy", "action")


@dataclass(frozen=True)
class Topic:
    """A topic of the summary (protection, infringement, claims, …): its title and words for "nothing here" per language."""
    name: str
    title: dict[str, str]
    none: dict[str, str]  # said when nothing of the topic holds or is open ({} : the topic is left out)
    limit: int = 4  # groups shown before "… and N more"
    numbered: bool = False  # steps: 1. 2. 3.


@dataclass(frozen=True)
class TypeSummary:
    """How the summary speaks of one conclusion type: its topic and its template per language."""
    type: str
    topic: str  # a topic's name, or "none"
    text: dict[str, str]
    show: tuple[str, ...] = ("holds", "undetermined")  # the statuses the summary mentions
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # attr -> value -> text
    hide_if_same: tuple[str, tuple[str, ...]] | None = None  # (other type, attributes): said already
    many: dict[str, str] = field(default_factory=dict)  # said instead for more than two, with {n}


@dataclass(frozen=True)
class Catalogue:
    """The whole summary catalogue (kb/summary.yaml): topics, types and the open questions' short labels."""
    topics: tuple[Topic, ...]
    types: dict[str, TypeSummary]
    labels: dict[str, dict[str, str]]  # "type.attribute" -> short label of its question
    path: str = ""
    locs: dict[str, Location] = field(default_factory=dict, compare=False)


_CACHE: dict[tuple[str, float, int], tuple[Catalogue | None, list[Diagnostic]]] = {}


def _text(data: Any, loc: Location, what: str, diags: Diagnostics) -> dict[str, str]:
    if isinstance(data, str):
        return {"en": data}
    if isinstance(data, LDict) and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        for k in data:
            if k not in ("en", "ru", "kk"):
                diags.error(data.key_loc(k), "unknown-key", f"unknown language '{k}' in {what}", "summary",
                            suggest(k, ("en", "ru", "kk")))
        return dict(data)
    diags.error(loc, "bad-type", f"{what} must be text or a mapping of languages {{en:, ru:}}", "summary")
    return {}


def _parse(data: Any, shown: str, diags: Diagnostics) -> Catalogue | None:
    if not isinstance(data, LDict):
        diags.error(Location(shown, 1, 1), "bad-shape", "the summary catalogue must be a mapping", "summary")
        return None
    for k in data:
        if k not in ("topics", "types", "labels"):
            diags.error(data.key_loc(k), "unknown-key", f"unknown key '{k}'", "summary",
                        suggest(str(k), ("topics", "types", "labels")) or "allowed: topics, types, labels")
    topics: list[Topic] = []
    locs: dict[str, Location] = {}
    raw_topics = data.get("topics")
    if isinstance(raw_topics, LDict):
        for name, t in raw_topics.items():
            if not isinstance(t, LDict):
                diags.error(raw_topics.val_loc(name), "bad-shape", f"topic '{name}' must be a mapping", "summary")
                continue
            for k in t:
                if k not in ("title", "none", "limit", "numbered"):
                    diags.error(t.key_loc(k), "unknown-key", f"unknown key '{k}' in topic '{name}'", "summary",
                                suggest(str(k), ("title", "none", "limit", "numbered")))
            limit = t.get("limit", 4)
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                diags.error(t.val_loc("limit"), "bad-type", "limit must be a whole number of at least 1", "summary")
                limit = 4
            numbered = t.get("numbered", False)
            topics.append(Topic(str(name), _text(t.get("title", str(name)), t.val_loc("title"), "title", diags),
                                _text(t["none"], t.val_loc("none"), "none", diags) if "none" in t else {},
                                limit, bool(numbered)))
            locs[f"topic:{name}"] = raw_topics.key_loc(name)
    elif raw_topics is not None:
        diags.error(data.val_loc("topics"), "bad-shape", "topics must be a mapping", "summary")
    types: dict[str, TypeSummary] = {}
    raw_types = data.get("types")
    allowed = ("topic", "text", "show", "values", "hide_if_same", "many")
    if isinstance(raw_types, LDict):
        for name, t in raw_types.items():
            locs[f"type:{name}"] = raw_types.key_loc(name)
            if isinstance(t, str):  # a bare topic name: 'none'
                types[str(name)] = TypeSummary(str(name), t, {})
                continue
            if not isinstance(t, LDict):
                diags.error(raw_types.val_loc(name), "bad-shape", f"'{name}' must be a mapping or 'none'", "summary")
                continue
            for k in t:
                if k not in allowed:
                    diags.error(t.key_loc(k), "unknown-key", f"unknown key '{k}' in '{name}'", "summary",
                                suggest(str(k), allowed) or "allowed: " + ", ".join(allowed))
            show = t.get("show", ["holds", "undetermined"])
            show = [show] if isinstance(show, str) else show
            if not isinstance(show, list) or not all(s in ("holds", "undetermined") for s in show):
                diags.error(t.val_loc("show"), "bad-value", "show is holds, undetermined or both", "summary")
                show = ["holds", "undetermined"]
            values: dict[str, dict[str, dict[str, str]]] = {}
            raw_values = t.get("values")
            if isinstance(raw_values, LDict):
                for attr, vs in raw_values.items():
                    if isinstance(vs, LDict):
                        values[str(attr)] = {str(v): _text(x, vs.val_loc(v), f"{name}.values.{attr}.{v}", diags)
                                             for v, x in vs.items()}
                        locs[f"values:{name}.{attr}"] = raw_values.key_loc(attr)
                    else:
                        diags.error(raw_values.val_loc(attr), "bad-shape", "values of an attribute: {value: text}",
                                    "summary")
            hide = None
            raw_hide = t.get("hide_if_same")
            if isinstance(raw_hide, LDict) and isinstance(raw_hide.get("type"), str) \
                    and isinstance(raw_hide.get("attributes"), list):
                hide = (str(raw_hide["type"]), tuple(str(a) for a in raw_hide["attributes"]))
            elif raw_hide is not None:
                diags.error(t.val_loc("hide_if_same"), "bad-shape", "hide_if_same: {type: T, attributes: [a, b]}",
                            "summary")
            types[str(name)] = TypeSummary(str(name), str(t.get("topic", "none")),
                                           _text(t["text"], t.val_loc("text"), f"{name}.text", diags)
                                           if "text" in t else {},
                                           tuple(show), values, hide,
                                           _text(t["many"], t.val_loc("many"), f"{name}.many", diags)
                                           if "many" in t else {})
    elif raw_types is not None:
        diags.error(data.val_loc("types"), "bad-shape", "types must be a mapping", "summary")
    labels: dict[str, dict[str, str]] = {}
    raw_labels = data.get("labels")
    if isinstance(raw_labels, LDict):
        for key, txt in raw_labels.items():
            labels[str(key)] = _text(txt, raw_labels.val_loc(key), f"labels.{key}", diags)
            locs[f"label:{key}"] = raw_labels.key_loc(key)
    return Catalogue(tuple(topics), types, labels, shown, locs)


def load_catalogue(kb: KB) -> tuple[Catalogue | None, list[Diagnostic]]:
    """The catalogue of ``kb`` (None where the kb has none) and the problems of its file,
    cached by the file's modification time and size."""
    path = Path(kb.root) / CATALOGUE_FILE
    try:
        st = path.stat()
    except OSError:
        return None, []
    key = (str(path), st.st_mtime, st.st_size)
    if key not in _CACHE:
        diags = Diagnostics()
        shown = f"{Path(kb.root).name}/{CATALOGUE_FILE}"
        data = load_file(path, diags, shown)
        cat = _parse(data, shown, diags) if not diags.errors else None
        _CACHE.clear()
        _CACHE[key] = (cat, list(diags.items))
    return _CACHE[key]


def check_catalogue(kb: KB) -> list[Diagnostic]:
    """Every problem of the kb's summary catalogue against its vocabulary (``rules lint``):
    the file's shape; every reportable type listed once; topics that exist; placeholders,
    filters and value overrides that name the type's attributes and values; labels that name
    an attribute of an entity type. Missing English or Russian texts are warnings."""
    cat, problems = load_catalogue(kb)
    out = list(problems)
    if cat is None:
        return out
    diags = Diagnostics()
    where = Location(cat.path, 1, 1)
    topic_names = {t.name for t in cat.topics}
    for tname, ft in kb.types.items():
        if ft.kind in REPORTED and tname not in cat.types:
            diags.error(where, "summary-missing", f"the conclusion type '{tname}' is not in the summary catalogue: "
                        "give it a topic and a text, or 'none'", tname)
    for tname, ts in cat.types.items():
        loc = cat.locs.get(f"type:{tname}", where)
        ft0 = kb.types.get(tname)
        if ft0 is None or ft0.kind not in REPORTED:
            names = [n for n, t in kb.types.items() if t.kind in REPORTED]
            diags.error(loc, "summary-unknown-type", f"'{tname}' is not a reportable conclusion type", tname,
                        suggest(tname, names))
            continue
        ft = ft0
        if ts.topic != "none" and ts.topic not in topic_names:
            diags.error(loc, "summary-unknown-topic", f"'{tname}' names the topic '{ts.topic}', which is not declared",
                        tname, suggest(ts.topic, topic_names))
        if ts.topic != "none":
            for lang in ("en", "ru"):
                if lang not in ts.text:
                    (diags.error if lang == "en" else diags.warning)(
                        loc, "summary-text", f"'{tname}' has no {lang} summary text", tname)
        for lang, text in ts.text.items():
            for m in PLACEHOLDER.finditer(text):
                name, filt = m.group(1), m.group(2)
                if name not in ft.attributes:
                    diags.error(loc, "summary-placeholder", f"'{{{name}}}' in the {lang} text of '{tname}' is not an "
                                f"attribute of the type", tname, suggest(name, ft.attributes))
                if filt and filt not in FILTERS:
                    diags.error(loc, "summary-filter", f"unknown filter '|{filt}' in '{tname}'", tname,
                                suggest(filt, FILTERS) or "filters: " + ", ".join(FILTERS))
                if filt == "running" and name in ft.attributes and ft.attributes[name].type != "date":
                    diags.error(loc, "summary-filter", f"'|running' needs a date, and '{name}' is not one", tname)
        for lang, text in ts.many.items():
            for m in PLACEHOLDER.finditer(text):
                if m.group(1) != "n" or m.group(2):
                    diags.error(loc, "summary-placeholder", f"the {lang} 'many' text of '{tname}' may only use {{n}}",
                                tname)
        for attr, vals in ts.values.items():
            a = ft.attributes.get(attr)
            vloc = cat.locs.get(f"values:{tname}.{attr}", loc)
            if a is None or a.type != "enum":
                diags.error(vloc, "summary-values", f"'{attr}' is not an enumeration of '{tname}'", tname,
                            suggest(attr, ft.attributes))
                continue
            for v in vals:
                if v not in a.values:
                    diags.error(vloc, "summary-values", f"'{v}' is not a value of '{tname}.{attr}'", tname,
                                suggest(v, a.values))
        if ts.hide_if_same is not None:
            other, attrs = ts.hide_if_same
            ot = kb.types.get(other)
            if ot is None:
                diags.error(loc, "summary-unknown-type", f"hide_if_same names '{other}', not a type", tname)
            else:
                for a_name in attrs:
                    if a_name not in ot.attributes or a_name not in ft.attributes:
                        diags.error(loc, "summary-values", f"hide_if_same: '{a_name}' is not an attribute of both "
                                    f"'{tname}' and '{other}'", tname)
    for key in cat.labels:
        loc = cat.locs.get(f"label:{key}", where)
        tname, _, attr = key.partition(".")
        et = kb.types.get(tname)
        if et is None or et.kind != "entity" or attr not in et.attributes:
            diags.error(loc, "summary-label", f"label '{key}' does not name an attribute of an entity type "
                        "(write type.attribute)", "summary")
    for t in cat.topics:
        if "en" not in t.title:
            diags.error(cat.locs.get(f"topic:{t.name}", where), "summary-text", f"topic '{t.name}' has no en title",
                        "summary")
    return out + diags.items
