"""Errors and diagnostics: one hierarchy, every problem located in its file.

::

    KzError                      base of everything the library raises on purpose
    ├── InputError               bad rule, kb or scenario files (carries Diagnostics)
    ├── EvaluationError          a case could not be evaluated (step limit, engine failure)
    ├── OutputError              a result could not be written (the path and the reason)
    └── BatchInterrupted         a batch stopped by Ctrl-C (what was kept, how to resume)

A :class:`Diagnostic` is one problem: ``path:line:col: rule-id: message`` plus the source
line with a caret and an optional "did you mean". The checker collects all of them before
raising, so a maintainer sees every problem at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from collections.abc import Iterable, Sequence

__all__ = [
    "Location",
    "Diagnostic",
    "KzError",
    "InputError",
    "EvaluationError",
    "OutputError",
    "BatchInterrupted",
    "suggest",
    "Diagnostics",
]


@dataclass(frozen=True, order=True)
class Location:
    """A position in a file; ``line`` and ``col`` are 1-based (0 when unknown)."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in an input file.

    ``code`` is a stable machine name of the problem kind (e.g. ``unknown-attribute``);
    ``subject`` is the rule id, case name or kb entry concerned ("-" when none).
    """

    location: Location
    code: str
    message: str
    subject: str = "-"
    hint: str = ""
    severity: str = "error"
    source_line: str = ""
    related: tuple[Location, ...] = ()

    def headline(self) -> str:
        """One line: ``path:line:col: subject: message (hint)``."""
        text = f"{self.location}: {self.subject}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        if self.severity != "error":
            text = f"{text} [{self.severity}]"
        return text

    def render(self) -> str:
        """The headline, then the source line with a caret under the column, then related positions."""
        lines = [self.headline()]
        if self.source_line:
            src = self.source_line.rstrip("\n")
            col = self.location.col
            if len(src) > 100:  # a long (e.g. one-line JSON) source: show a window around the column
                start = max(0, col - 50)
                src = ("…" if start else "") + src[start:start + 100] + ("…" if start + 100 < len(src) else "")
                col = col - start + (1 if start else 0)
            lines.append("    " + src)
            if col > 0:
                lines.append("    " + " " * (col - 1) + "^")
        for rel in self.related:
            lines.append(f"    see also {rel}")
        return "\n".join(lines)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order of report: by file, line, column, then code and message."""
        return (self.location.path, self.location.line, self.location.col, self.code, self.message)


class KzError(Exception):
    """Base of every error the library raises on purpose; the CLI prints these, nothing else."""


class InputError(KzError):
    """Raised when rule, kb or scenario files have problems; carries every diagnostic found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__(self.render())

    def render(self) -> str:
        """Every diagnostic, rendered, one after the other."""
        return "\n".join(d.render() for d in self.diagnostics)


class EvaluationError(KzError):
    """Raised when a checked case cannot be evaluated (engine failure, step limit)."""

    def __init__(self, message: str, *, rules: Iterable[str] = ()):
        self.rules = tuple(rules)
        super().__init__(message)


class OutputError(KzError):
    """Raised when an output file cannot be written; the previous file is left as it was."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write {path or repr('')}: {reason}")


class BatchInterrupted(KzError):
    """Raised by a batch stopped by Ctrl-C: the output was left as it was; ``message`` says
    where the finished records were kept and how to resume."""


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return a "did you mean" hint for ``word`` among ``choices`` (or "")."""
    pool = sorted(set(str(c) for c in choices))
    close = difflib.get_close_matches(str(word), pool, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return ""


@dataclass
class Diagnostics:
    """A collector the loaders and the checker append to."""

    items: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)

    def add_source(self, path: str, text: str) -> None:
        """Remember the text of ``path`` so that diagnostics in it can show their source line."""
        self.sources[path] = text.splitlines()

    def error(
        self,
        loc: Location,
        code: str,
        message: str,
        subject: str = "-",
        hint: str = "",
        related: Sequence[Location] = (),
        severity: str = "error",
    ) -> None:
        """Record an error (or, with ``severity``, a warning) at ``loc``; duplicates are recorded once."""
        if any(d.location == loc and d.code == code and d.message == message for d in self.items):
            return  # the same problem found again (e.g. in another alternative of one rule)
        src = ""
        lines = self.sources.get(loc.path)
        if lines and 0 < loc.line <= len(lines):
            src = lines[loc.line - 1]
        self.items.append(
            Diagnostic(loc, code, message, subject or "-", hint, severity, src, tuple(related))
        )

    def warning(self, loc: Location, code: str, message: str, subject: str = "-", hint: str = "",
                related: Sequence[Location] = ()) -> None:
        """Record a warning at ``loc`` (shown, but nothing refuses to run because of it)."""
        self.error(loc, code, message, subject, hint, related=related, severity="warning")

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics of severity error, in the order recorded."""
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        """The diagnostics that are not errors, in the order recorded."""
        return [d for d in self.items if d.severity != "error"]

    def raise_if_errors(self) -> None:
        """Raise :class:`InputError` with every error recorded, if there is any."""
        if self.errors:
            raise InputError(self.errors)
