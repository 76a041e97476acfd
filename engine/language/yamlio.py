"""Strict, safe YAML (and JSON) loading that keeps every node's position.

Rules, kb files and scenarios are data, never code: only the safe loader's standard tags are
accepted, duplicate keys are errors at the key's line, and aliases, depth and size are bounded
so that a hostile file cannot expand or nest without limit. Mappings and sequences come back
as :class:`LDict` / :class:`LList`, which remember where each key and item stood.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import yaml

from ..errors import Diagnostics, Location

__all__ = ["LDict", "LList", "load_file", "load_text", "load_json_line", "Limits", "LIMITS", "loc_of"]


class Limits:
    """Input limits, documented in docs/errors.md."""

    max_bytes = 5 * 1024 * 1024
    max_depth = 64
    max_aliases = 100
    max_nodes = 200_000
    max_string = 100_000
    max_digits = 100  # characters of one number (Python refuses to parse an int of 4,300 digits)


LIMITS = Limits()


class LDict(dict):  # type: ignore[type-arg]
    """A dict that knows where it, each key and each value stood in the source."""

    loc: Location
    key_locs: dict[Any, Location]
    val_locs: dict[Any, Location]

    def key_loc(self, key: Any) -> Location:
        """Where ``key`` stood (the mapping's own position when unknown)."""
        return self.key_locs.get(key, self.loc)

    def val_loc(self, key: Any) -> Location:
        """Where the value of ``key`` stood (else where the key stood)."""
        return self.val_locs.get(key, self.key_loc(key))


class LList(list):  # type: ignore[type-arg]
    """A list that knows where it and each item stood in the source."""

    loc: Location
    item_locs: list[Location]

    def item_loc(self, i: int) -> Location:
        """Where item ``i`` stood (the list's own position when unknown)."""
        if 0 <= i < len(self.item_locs):
            return self.item_locs[i]
        return self.loc


def loc_of(value: Any, default: Location) -> Location:
    """The position a loaded value remembers, or ``default`` for a plain value."""
    return getattr(value, "loc", default)


_ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class _Converter:
    def __init__(self, path: str, diags: Diagnostics):
        self.path = path
        self.diags = diags
        self.loader = yaml.SafeLoader("")
        self.nodes = 0
        self.seen: set[int] = set()
        self.aliases = 0

    def loc(self, node: yaml.Node) -> Location:
        return Location(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: yaml.Node, depth: int = 0, in_alias: bool = False) -> Any:
        if not in_alias and id(node) in self.seen:  # a node met again is an alias (*name)
            self.aliases += 1
            if self.aliases > LIMITS.max_aliases:
                raise _Abort(self.loc(node), "too-many-aliases", f"more than {LIMITS.max_aliases} aliases")
            in_alias = True  # what an alias expands to is bounded by the node limit
        self.seen.add(id(node))
        self.nodes += 1
        if self.nodes > LIMITS.max_nodes:
            raise _Abort(self.loc(node), "too-large", f"file has more than {LIMITS.max_nodes} YAML nodes")
        if depth > LIMITS.max_depth:
            raise _Abort(self.loc(node), "too-deep", f"nesting deeper than {LIMITS.max_depth} levels")
        if node.tag == "tag:yaml.org,2002:merge":
            raise _Abort(self.loc(node), "unsupported-yaml", "YAML merge keys (<<) are not supported: write the keys out")
        if node.tag not in _ALLOWED_TAGS:
            raise _Abort(
                self.loc(node),
                "unsafe-tag",
                f"YAML tag '{node.tag}' is not allowed: rules and cases are data, never code",
            )
        if isinstance(node, yaml.MappingNode):
            out = LDict()
            out.loc = self.loc(node)
            out.key_locs = {}
            out.val_locs = {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise _Abort(self.loc(knode), "bad-key", "mapping keys must be plain scalars")
                key = self.convert(knode, depth + 1, in_alias)
                if isinstance(key, (_dt.date, float)) or key is None:
                    key = knode.value
                if key in out:
                    self.diags.error(
                        self.loc(knode),
                        "duplicate-key",
                        f"duplicate key '{key}' (first at line {out.key_locs[key].line})",
                        related=[out.key_locs[key]],
                    )
                    continue
                out.key_locs[key] = self.loc(knode)
                out.val_locs[key] = self.loc(vnode)
                out[key] = self.convert(vnode, depth + 1, in_alias)
            return out
        if isinstance(node, yaml.SequenceNode):
            seq = LList()
            seq.loc = self.loc(node)
            seq.item_locs = []
            for item in node.value:
                seq.item_locs.append(self.loc(item))
                seq.append(self.convert(item, depth + 1, in_alias))
            return seq
        assert isinstance(node, yaml.ScalarNode)
        if len(node.value) > LIMITS.max_string:
            raise _Abort(self.loc(node), "too-long", f"string longer than {LIMITS.max_string} characters")
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and len(node.value) > LIMITS.max_digits:
            raise _Abort(self.loc(node), "too-long", f"number longer than {LIMITS.max_digits} characters")
        try:
            value = self.loader.construct_object(node, deep=True)
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise _Abort(self.loc(node), "bad-character",
                                 "text contains an unpaired surrogate (an invalid \\uD800-\\uDFFF escape)") from None
            return value
        except ValueError:
            if node.tag == "tag:yaml.org,2002:timestamp":
                return node.value  # date-shaped but impossible: the typed checks report it
            raise _Abort(self.loc(node), "yaml-value", f"bad value '{node.value}'") from None
        except yaml.YAMLError as exc:
            raise _Abort(self.loc(node), "yaml-value", f"bad value: {getattr(exc, 'problem', exc)}") from exc
        except Exception:  # e.g. !!bool "maybe" (KeyError), !!timestamp "x" (AttributeError)
            short = node.value if len(node.value) <= 40 else node.value[:40] + "…"
            raise _Abort(self.loc(node), "yaml-value",
                         f"bad value '{short}' for the tag {node.tag.rsplit(':', 1)[-1]}") from None


class _Abort(Exception):
    def __init__(self, loc: Location, code: str, message: str):
        super().__init__(message)
        self.loc = loc
        self.code = code
        self.message = message


class _CountingComposer(yaml.SafeLoader):
    """A SafeLoader whose composer counts aliases (billion-laughs guard)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D401 - pyyaml hook
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > LIMITS.max_aliases:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"more than {LIMITS.max_aliases} aliases", event.start_mark
                )
        return super().compose_node(parent, index)


_HAVE_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))


def load_text(text: str, path: str, diags: Diagnostics) -> Any:
    """Parse ``text`` (YAML or JSON) into located data; problems go to ``diags``.

    Returns ``None`` when the file could not be parsed at all.
    """
    diags.add_source(path, text)
    if len(text.encode("utf-8", "surrogatepass")) > LIMITS.max_bytes:
        diags.error(Location(path, 1, 1), "too-large", f"file is larger than {LIMITS.max_bytes} bytes")
        return None
    if "\x00" in text:
        diags.error(Location(path, 1, 1), "binary", "file contains NUL bytes: not a text file")
        return None
    if _HAVE_LIBYAML and "*" in text:
        # count alias references (*name) before anything is expanded (billion-laughs guard)
        try:
            count = 0
            for event in yaml.parse(text, Loader=yaml.CSafeLoader):
                if isinstance(event, yaml.AliasEvent):
                    count += 1
                    if count > LIMITS.max_aliases:
                        m = event.start_mark
                        line, col = (m.line + 1, m.column + 1) if m is not None else (1, 1)
                        diags.error(Location(path, line, col), "too-many-aliases",
                                    f"more than {LIMITS.max_aliases} aliases")
                        return None
        except yaml.YAMLError:
            pass  # reported with its position by the parse below
    try:
        # libyaml composes the node tree ~20x faster
        loader = yaml.CSafeLoader(text) if _HAVE_LIBYAML else _CountingComposer(text)
    except yaml.reader.ReaderError as exc:  # a control character: rejected before parsing
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        diags.error(Location(path, line, col), "bad-character",
                    f"character U+{exc.character:04X} is not allowed in YAML/JSON text" if isinstance(exc.character, int)
                    else "a character is not allowed in YAML/JSON text")
        return None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        code = "too-many-aliases" if "aliases" in str(problem) else "yaml-syntax"
        diags.error(Location(path, line, col), code, f"YAML syntax error: {problem}")
        return None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        diags.error(Location(path, line, col), "bad-character", "a character is not allowed in YAML/JSON text")
        return None
    except yaml.YAMLError as exc:
        diags.error(Location(path, 1, 1), "yaml-syntax", f"YAML error: {exc}")
        return None
    except RecursionError:
        diags.error(Location(path, 1, 1), "too-deep", "nesting too deep")
        return None
    finally:
        loader.dispose()
    if node is None:
        return None
    try:
        return _Converter(path, diags).convert(node)
    except _Abort as abort:
        diags.error(abort.loc, abort.code, abort.message)
        return None
    except RecursionError:
        diags.error(Location(path, 1, 1), "too-deep", "nesting too deep")
        return None


def read_text(path: Path, diags: Diagnostics, shown: str | None = None) -> str | None:
    """Read a file as UTF-8, at most ``LIMITS.max_bytes`` of it; a missing, unreadable,
    special (a directory, a block device) or non-text file becomes one diagnostic. Pipes and
    character devices are read within the limit (``/dev/zero`` is refused as too large; a FIFO
    that nobody writes to reads as empty)."""
    from ..fileio import FileTooLarge, read_limited

    name = shown or str(path)
    try:
        data = read_limited(path, LIMITS.max_bytes)
    except FileTooLarge:
        diags.error(Location(name, 1, 1), "too-large", f"file is larger than {LIMITS.max_bytes} bytes")
        return None
    except FileNotFoundError:
        diags.error(Location(name, 0, 0), "no-such-file", "no such file")
        return None
    except IsADirectoryError:
        diags.error(Location(name, 0, 0), "not-a-file", "is a directory, not a file")
        return None
    except PermissionError:
        diags.error(Location(name, 0, 0), "unreadable", "permission denied")
        return None
    except OSError as exc:
        diags.error(Location(name, 0, 0), "unreadable", f"cannot read: {exc.strerror or exc}")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[data.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
        diags.error(Location(name, line, col), "encoding",
                    f"not UTF-8 text (byte 0x{data[exc.start]:02X} at offset {exc.start})")
        return None


def load_file(path: Path, diags: Diagnostics, shown: str | None = None) -> Any:
    """Read and parse a YAML or JSON file within the size limits; problems go to ``diags`` and give None."""
    text = read_text(path, diags, shown)
    if text is None:
        return None
    return load_text(text, shown or str(path), diags)


# ---- JSON Lines ------------------------------------------------------------------------------------

class _SourceLine(list):  # type: ignore[type-arg]
    """The lines of a file as Diagnostics.sources holds them, when only line ``n`` is known."""

    def __init__(self, n: int, text: str):
        super().__init__()
        self.n = n
        self.text = text

    def __len__(self) -> int:
        return self.n

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, i: Any) -> Any:
        return self.text if i == self.n - 1 else ""


_JSON_WS = " \t\n\r"
_CONSTANTS = {"true": True, "false": False, "null": None, "NaN": float("nan"), "Infinity": float("inf"),
              "-Infinity": float("-inf")}


class _JsonLine:
    """A JSON value parsed by hand into located data (LDict / LList), under the same limits as
    YAML files (depth, nodes, string length, digits of a number): one bad line of a JSON Lines
    file is one located error, never a RecursionError or a 4,300-digit integer."""

    def __init__(self, text: str, path: str, line: int, diags: Diagnostics):
        import json.scanner
        from json.decoder import scanstring  # type: ignore[attr-defined]

        self.text = text
        self.path = path
        self.line = line
        self.diags = diags
        self.nodes = 0
        self.scanstring = scanstring
        self.number = json.scanner.NUMBER_RE

    def loc(self, pos: int) -> Location:
        return Location(self.path, self.line, pos + 1)

    def fail(self, pos: int, message: str, code: str = "json-syntax") -> _Abort:
        return _Abort(self.loc(pos), code, message)

    def ws(self, pos: int) -> int:
        text = self.text
        while pos < len(text) and text[pos] in _JSON_WS:
            pos += 1
        return pos

    def string(self, pos: int) -> tuple[str, int]:
        import json

        try:
            s, end = self.scanstring(self.text, pos + 1, True)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.pos, f"invalid JSON: {exc.msg}") from None
        if len(s) > LIMITS.max_string:
            raise self.fail(pos, f"string longer than {LIMITS.max_string} characters", "too-long")
        if any("\ud800" <= ch <= "\udfff" for ch in s):
            raise self.fail(pos, "text contains an unpaired surrogate (an invalid \\uD800-\\uDFFF escape)",
                            "bad-character")
        return s, end

    def value(self, pos: int, depth: int) -> tuple[Any, int]:
        text = self.text
        pos = self.ws(pos)
        if depth > LIMITS.max_depth:
            raise self.fail(pos, f"nesting deeper than {LIMITS.max_depth} levels", "too-deep")
        self.nodes += 1
        if self.nodes > LIMITS.max_nodes:
            raise self.fail(pos, f"more than {LIMITS.max_nodes} values on one line", "too-large")
        if pos >= len(text):
            raise self.fail(pos, "invalid JSON: the line ends where a value is expected")
        ch = text[pos]
        if ch == "{":
            return self.mapping(pos, depth)
        if ch == "[":
            return self.sequence(pos, depth)
        if ch == '"':
            return self.string(pos)
        m = self.number.match(text, pos)
        if m is not None and m.end() > pos:
            if m.end() - pos > LIMITS.max_digits:
                raise self.fail(pos, f"number longer than {LIMITS.max_digits} characters", "too-long")
            integer, frac, exp = m.groups()
            if frac or exp:
                return float(integer + (frac or "") + (exp or "")), m.end()
            return int(integer), m.end()
        for word, const in _CONSTANTS.items():
            if text.startswith(word, pos):
                return const, pos + len(word)
        raise self.fail(pos, f"invalid JSON: unexpected {ch!r} where a value is expected")

    def mapping(self, pos: int, depth: int) -> tuple[LDict, int]:
        text = self.text
        out = LDict()
        out.loc = self.loc(pos)
        out.key_locs, out.val_locs = {}, {}
        pos = self.ws(pos + 1)
        if pos < len(text) and text[pos] == "}":
            return out, pos + 1
        while True:
            if pos >= len(text) or text[pos] != '"':
                raise self.fail(pos, "invalid JSON: expected a key in double quotes")
            kpos = pos
            key, pos = self.string(pos)
            pos = self.ws(pos)
            if pos >= len(text) or text[pos] != ":":
                raise self.fail(pos, "invalid JSON: expected ':' after the key")
            vpos = self.ws(pos + 1)
            value, pos = self.value(vpos, depth + 1)
            if key in out:
                self.diags.error(self.loc(kpos), "duplicate-key",
                                 f"duplicate key '{key}' (first at column {out.key_locs[key].col})",
                                 related=[out.key_locs[key]])
            else:
                out.key_locs[key] = self.loc(kpos)
                out.val_locs[key] = self.loc(vpos)
                out[key] = value
            pos = self.ws(pos)
            if pos < len(text) and text[pos] == ",":
                pos = self.ws(pos + 1)
                continue
            if pos < len(text) and text[pos] == "}":
                return out, pos + 1
            raise self.fail(pos, "invalid JSON: expected ',' or '}'")

    def sequence(self, pos: int, depth: int) -> tuple[LList, int]:
        text = self.text
        seq = LList()
        seq.loc = self.loc(pos)
        seq.item_locs = []
        pos = self.ws(pos + 1)
        if pos < len(text) and text[pos] == "]":
            return seq, pos + 1
        while True:
            ipos = self.ws(pos)
            item, pos = self.value(ipos, depth + 1)
            seq.item_locs.append(self.loc(ipos))
            seq.append(item)
            pos = self.ws(pos)
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            if pos < len(text) and text[pos] == "]":
                return seq, pos + 1
            raise self.fail(pos, "invalid JSON: expected ',' or ']'")


def load_json_line(data: bytes | str, path: str, line: int, diags: Diagnostics) -> Any:
    """One line of a JSON Lines file (its bytes) → located data (positions ``path:line:col``);
    problems go to ``diags`` and ``None`` is returned. The limits are those of YAML files."""
    if isinstance(data, bytes):
        if len(data) > LIMITS.max_bytes:
            diags.error(Location(path, line, 1), "too-large", f"line is longer than {LIMITS.max_bytes} bytes")
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            col = len(data[:exc.start].decode("utf-8", "replace")) + 1
            diags.error(Location(path, line, col), "encoding",
                        f"not UTF-8 text (byte 0x{data[exc.start]:02X} at column {col})")
            return None
    else:
        text = data
    text = text.rstrip("\r\n")
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # a byte-order mark at the start of the file
    diags.sources[path] = _SourceLine(line, text)
    parser = _JsonLine(text, path, line, diags)
    try:
        value, end = parser.value(0, 0)
        end = parser.ws(end)
        if end < len(text):
            raise parser.fail(end, "invalid JSON: more after the value (one case a line)")
    except _Abort as abort:
        diags.error(abort.loc, abort.code, abort.message)
        return None
    return value
