"""A cache of checked and compiled rule bases on disk, as JSON data.

Loading the bundled rule base parses about 45 YAML files, checks them and compiles the program
(with the networkx import the checker needs): most of a fresh ``kzcopyright analyze``. A rule
base that loaded without errors is written to ``$XDG_CACHE_HOME/kzcopyright`` (else
``~/.cache/kzcopyright``; ``KZCOPYRIGHT_CACHE_DIR`` overrides it, ``KZCOPYRIGHT_CACHE=off``
turns the cache off) under a key that hashes:

* the format of this file and the Python version;
* the source of every module of ``engine/`` (a new engine never reads an old entry);
* the resolved rules and kb folders and the roots their locations are shown against;
* the name and content of every file the loaders would read (the same walks).

The entry is plain data in two JSON lines: a head (format, key, the shapes of the objects: class
name and fields) and the object graph of the kb, rules, program and warnings as tagged JSON
(:func:`_encode`: dataclass instances by shape and field values, dates, tuples, paths, fractions,
enum members; shared objects by reference). Only the classes of the rule language listed in
:data:`_MODULES` can be rebuilt, none is imported by name from the file, and no code is
stored: rules stay data. A missing, unreadable, corrupt or stale entry is ignored (the rule
base is loaded from its files and the entry rewritten); writing is atomic (a temporary file
renamed) and a failure to write is silent. The :data:`KEEP` most recently used entries are
kept, older ones removed when an entry is written.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import hashlib
import json
import os
import sys
from fractions import Fraction
from pathlib import Path, PurePath
from typing import Any

__all__ = ["cache_dir", "cache_key", "load_entry", "store_entry", "FORMAT"]

FORMAT = 2
_ENGINE = Path(__file__).resolve().parent
_MODULES = ("errors", "language.kb", "language.model", "language.program", "language.expr",
            "language.constraints", "language.intervals", "language.scenario")
_classes: dict[str, type] | None = None
_engine_digest: str | None = None


def cache_dir() -> Path | None:
    """The folder of the cache, or None when it is turned off."""
    if os.environ.get("KZCOPYRIGHT_CACHE", "").lower() in ("off", "0", "no", "false"):
        return None
    own = os.environ.get("KZCOPYRIGHT_CACHE_DIR")
    if own:
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kzcopyright"


def _registry() -> dict[str, type]:
    """The classes an entry may name: the dataclasses and enums of the rule language's modules."""
    global _classes
    if _classes is None:
        import importlib

        found: dict[str, type] = {}
        for name in _MODULES:
            mod = importlib.import_module(f"{__package__}.{name}")
            for obj in vars(mod).values():
                if isinstance(obj, type) and obj.__module__ == mod.__name__ and (
                        dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum)):
                    found[f"{name}.{obj.__qualname__}"] = obj
        _classes = found
    return _classes


def _engine_sources() -> str:
    """A digest of every module of the engine: an entry is only read by the code that wrote it."""
    global _engine_digest
    if _engine_digest is None:
        h = hashlib.sha256()
        for p in sorted(_ENGINE.rglob("*.py")):
            h.update(p.relative_to(_ENGINE).as_posix().encode())
            h.update(b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
        _engine_digest = h.hexdigest()
    return _engine_digest


def cache_key(rules_dir: Path, kb_dir: Path, rule_root: Path, kb_root: Path) -> str | None:
    """The key of the rule base in ``rules_dir`` and ``kb_dir`` (located against ``rule_root`` and
    ``kb_root``), or None when its files cannot all be read plainly (then nothing is cached)."""
    from .errors import Diagnostics
    from .fileio import WalkTooLarge, find_files
    from .language.rules import find_rule_files

    try:
        diags = Diagnostics()
        rdir, kdir = rules_dir.resolve(), kb_dir.resolve()
        paths = [kdir / "meta.yaml", kdir / "acts.yaml", kdir / "constraints.yaml"]
        for sub in ("articles", "vocabulary", "parameters"):
            if (kdir / sub).is_dir():
                found, skipped = find_files(kdir / sub, (".yaml",))
                if skipped:
                    return None
                paths.extend(found)
        if not rdir.is_dir():
            return None
        paths.extend(find_rule_files(rdir, diags))
        if diags.items:
            return None
        h = hashlib.sha256()
        for part in (str(FORMAT), sys.version, _engine_sources(), str(rdir), str(kdir), str(rule_root),
                     str(kb_root)):
            h.update(part.encode())
            h.update(b"\0")
        for p in paths:
            h.update(str(p).encode())
            h.update(b"\0")
            if os.path.lexists(p):
                if not p.is_file():
                    return None
                h.update(b"F")
                h.update(p.read_bytes())
            h.update(b"\0")
        return h.hexdigest()[:32]
    except (OSError, WalkTooLarge, ValueError):
        return None
    except Exception:  # noqa: BLE001 - a key that cannot be made only means no cache
        return None


# ---- encoding ----------------------------------------------------------------------------------

class _Unencodable(Exception):
    pass


def _encode(root: Any) -> tuple[list[list[Any]], Any]:
    """(the shapes of the objects: class name and fields, ``root`` as tagged JSON data).

    A mapping with text keys is a JSON object; other values are one-key objects whose key starts
    with "~" (no key of the rule base's own mappings does; one that did would be written as
    pairs): ``~o`` an object (its shape, then its fields' values), ``~t`` a tuple, ``~e`` an enum
    member, ``~D`` a date, ``~P`` a path, ``~F`` a fraction, ``~s``/``~S`` sets, ``~l`` a shared
    list, ``~d`` a mapping as pairs; ``~i`` numbers a shared value and ``~r`` refers to it."""
    names = {cls: name for name, cls in _registry().items()}
    counts: dict[int, int] = {}
    keep: list[Any] = []  # what was counted stays alive, so that no id is reused
    stack = [root]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, dict)) or type(x) in names and not isinstance(x, enum.Enum):
            i = id(x)
            if i in counts:
                counts[i] += 1
                continue
            counts[i] = 1
            keep.append(x)
            if isinstance(x, list):
                stack.extend(x)
            elif isinstance(x, dict):
                stack.extend(x.keys())
                stack.extend(x.values())
            else:
                stack.extend(vars(x).values())
        elif isinstance(x, (tuple, set, frozenset)):
            stack.extend(x)
    ids: dict[int, int] = {}
    open_: set[int] = set()
    shapes: dict[tuple[str, tuple[str, ...]], int] = {}

    def enc(x: Any) -> Any:
        t = type(x)
        if x is None or t is bool or t is int or t is str or t is float:
            return x
        if isinstance(x, enum.Enum):
            name = names.get(t)
            if name is None:
                raise _Unencodable(t)
            return {"~e": [name, x.value]}
        if t is _dt.date:
            return {"~D": x.isoformat()}
        if t is tuple:
            return {"~t": [enc(v) for v in x]}
        if t is Fraction:
            return {"~F": [x.numerator, x.denominator]}
        if isinstance(x, PurePath):
            return {"~P": str(x)}
        if t is set or t is frozenset:
            return {"~s" if t is set else "~S": [enc(v) for v in x]}
        if t is list or t is dict or t in names:
            i = id(x)
            if i in ids:
                if i in open_:
                    raise _Unencodable("a cycle")
                return {"~r": ids[i]}
            shared = counts.get(i, 1) > 1
            if shared:
                ids[i] = len(ids)
            open_.add(i)
            out: Any
            if t is list:
                out = {"~l": [enc(v) for v in x]} if shared else [enc(v) for v in x]
            elif t is dict:
                if x and all(type(k) is str and not k.startswith("~") for k in x):
                    out = {k: enc(v) for k, v in x.items()}
                else:
                    out = {"~d": [[enc(k), enc(v)] for k, v in x.items()]}
            else:
                fields = vars(x)
                shape = shapes.setdefault((names[t], tuple(fields)), len(shapes))
                out = {"~o": [shape] + [enc(v) for v in fields.values()]}
            if shared:
                out["~i"] = ids[i]
            open_.discard(i)
            return out
        raise _Unencodable(t)

    body = enc(root)
    return [[name, list(fields)] for (name, fields), _ in sorted(shapes.items(), key=lambda kv: kv[1])], body


def _decoder(shapes: list[list[Any]]) -> Any:
    """The ``object_hook`` that rebuilds what :func:`_encode` wrote, given its shapes."""
    classes = _registry()
    built = [(classes[name], tuple(fields)) for name, fields in shapes]  # KeyError: not ours
    refs: dict[int, Any] = {}

    def hook(d: dict[str, Any]) -> Any:
        k = next(iter(d), None)
        if k is None:
            return d
        if k[0] != "~":
            if "~i" in d:
                refs[d.pop("~i")] = d
            return d
        v = d[k]
        if k == "~o":
            cls, fields = built[v[0]]
            obj: Any = object.__new__(cls)
            obj.__dict__.update(zip(fields, v[1:]))
            value: Any = obj
        elif k == "~t":
            return tuple(v)
        elif k == "~e":
            return classes[v[0]](v[1])
        elif k == "~r":
            return refs[v]
        elif k == "~D":
            return _dt.date.fromisoformat(v)
        elif k == "~l":
            value = v
        elif k == "~d":
            value = dict(v)
        elif k == "~i":  # an empty shared mapping
            value = {}
        elif k == "~P":
            return Path(v)
        elif k == "~F":
            return Fraction(*v)
        elif k == "~s":
            return set(v)
        elif k == "~S":
            return frozenset(v)
        else:
            raise ValueError(f"unknown tag {k}")
        if "~i" in d:
            refs[d["~i"]] = value
        return value

    return hook


# ---- entries -------------------------------------------------------------------------------------

def load_entry(key: str) -> dict[str, Any] | None:
    """The cached parts (kb, rules, program, fingerprint, warnings) under ``key``, or None when
    there is no usable entry (missing, unreadable, corrupt, or of another format)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        text = (folder / f"rulebase-{key}.json").read_text(encoding="utf-8")
        head_text, _, body = text.partition("\n")
        head = json.loads(head_text)
        if not isinstance(head, dict) or head.get("format") != FORMAT or head.get("key") != key:
            return None
        parts = json.loads(body, object_hook=_decoder(head["shapes"]))
        if not isinstance(parts, dict) or set(parts) != {"kb", "rules", "program", "fingerprint", "warnings"}:
            return None
        try:
            os.utime(folder / f"rulebase-{key}.json")  # recently used: kept by _prune
        except OSError:
            pass
        return parts
    except Exception:  # noqa: BLE001 - any problem with an entry only means it is rebuilt
        return None


KEEP = 8  # entries kept: the most recently used; an entry is about 2 MB for the bundled rule base


def _prune(folder: Path) -> None:
    """Remove all but the :data:`KEEP` most recently used entries (each read touches its entry)."""
    entries = []
    for p in folder.glob("rulebase-*.json"):
        try:
            entries.append((p.stat().st_mtime, p))
        except OSError:
            pass
    for _, p in sorted(entries, reverse=True)[KEEP:]:
        try:
            p.unlink()
        except OSError:
            pass


def store_entry(key: str, parts: dict[str, Any]) -> bool:
    """Write ``parts`` under ``key`` (atomically); False when they cannot be encoded or written."""
    folder = cache_dir()
    if folder is None:
        return False
    try:
        shapes, body = _encode(parts)
        text = (json.dumps({"format": FORMAT, "key": key, "shapes": shapes}, ensure_ascii=False, separators=(",", ":"))
                + "\n" + json.dumps(body, ensure_ascii=False, separators=(",", ":")))
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".rulebase-{key}.{os.getpid()}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, folder / f"rulebase-{key}.json")
        _prune(folder)
        return True
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no error
        try:
            tmp.unlink()  # type: ignore[possibly-undefined]
        except Exception:  # noqa: BLE001
            pass
        return False
