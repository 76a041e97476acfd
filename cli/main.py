"""The ``kzcopyright`` command: a thin click layer over :mod:`kzcopyright.engine`.

Exit codes: 0 ok, 1 bad input or evaluation error, 2 usage error.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from kzcopyright.engine.errors import InputError, KzError

__all__ = ["main", "cli"]


class Project:
    """What the group's options select; loaded lazily by the subcommands that need it."""

    def __init__(self, rules: Path | None, kb: Path | None):
        self.rules = rules
        self.kb = kb
        self._rb: Any = None

    @property
    def rulebase(self) -> Any:
        if self._rb is None:
            from kzcopyright.engine.project import load_rulebase

            self._rb = load_rulebase(self.rules, self.kb)
        return self._rb


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _fail(exc: KzError) -> None:
    if isinstance(exc, InputError):
        click.echo(exc.render(), err=True)
        n = len(exc.diagnostics)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found.", err=True)
    else:
        click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--rules", "rules", type=click.Path(path_type=Path, file_okay=False), default=None,
              envvar="KZCOPYRIGHT_RULES", help="Rules directory (default: the bundled rules).")
@click.option("--kb", "kb", type=click.Path(path_type=Path, file_okay=False), default=None,
              envvar="KZCOPYRIGHT_KB", help="Knowledge-base directory (default: the bundled kb).")
@click.version_option(package_name="kzcopyright")
@click.pass_context
def cli(ctx: click.Context, rules: Path | None, kb: Path | None) -> None:
    """kzcopyright: the copyright law of Kazakhstan as explained rules.

    Not legal advice.
    """
    ctx.obj = Project(rules, kb)


@cli.command()
@click.argument("case", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--example", help="Analyse a bundled example case instead of a file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--engine", type=click.Choice(["durable", "python"]), default=None,
              help="Reasoning engine (default: durable where it imports, else python).")
@click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the report to this file (atomically).")
@click.option("-v", "--verbose", is_flag=True, help="Also list rule versions.")
@click.pass_obj
def analyze(project: Project, case: Path | None, example: str | None, fmt: str, engine: str | None, lang: str,
            output: Path | None, verbose: bool) -> None:
    """Analyse CASE (a YAML or JSON case file) and report conclusions with their law."""
    from kzcopyright.engine.project import choose_engine, evaluate_case, load_case
    from kzcopyright.engine.render_text import report_lines

    if (case is None) == (example is None):
        raise click.UsageError("give either a CASE file or --example NAME")
    try:
        rb = project.rulebase
        scenario = load_case(rb, case, example=example)
        name, notice = choose_engine(engine)
        if notice:
            click.echo(notice, err=True)
        result = evaluate_case(rb, scenario, name)
    except KzError as exc:
        _fail(exc)
        return
    text = result.to_json_text() if fmt == "json" else "\n".join(report_lines(result, rb.kb, lang, verbose)) + "\n"
    if output is not None:
        try:
            write_atomic(output, text)
        except OSError as exc:
            click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(1)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("examples")
@click.pass_obj
def examples(project: Project) -> None:
    """List the bundled example cases."""
    from kzcopyright.engine.project import list_examples

    for name in list_examples(project.kb):
        click.echo(name)


@cli.group()
def rules() -> None:
    """Maintainers' commands: lint the rule base."""


@rules.command("lint")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.pass_obj
def lint(project: Project, strict: bool) -> None:
    """Check kb and rules; report every problem as path:line:col: rule-id: message."""
    from kzcopyright.engine.project import load_rulebase

    try:
        rb = load_rulebase(project.rules, project.kb)
    except InputError as exc:
        _fail(exc)
        return
    for w in rb.warnings:
        click.echo(w.render(), err=True)
    n_rules = len({r.id for r in rb.rules})
    click.echo(f"ok: {n_rules} rules ({len(rb.rules)} versions, {len(rb.program.branches)} compiled branches), "
               f"{len(rb.kb.articles)} articles, {len(rb.kb.types)} fact types, {len(rb.kb.parameters)} parameters; "
               f"{len(rb.warnings)} warning{'s' if len(rb.warnings) != 1 else ''}")
    if strict and rb.warnings:
        sys.exit(1)


def main() -> None:
    try:
        cli(prog_name="kzcopyright")
    except KzError as exc:  # pragma: no cover - subcommands catch their own
        _fail(exc)


if __name__ == "__main__":  # pragma: no cover
    main()
