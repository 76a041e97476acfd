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

from kzcopyright.engine.errors import Diagnostic, InputError, KzError, Location

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


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Binary twin of :func:`write_atomic`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
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
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
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
    if fmt == "json":
        text = result.to_json_text()
    elif fmt == "html":
        from kzcopyright.engine.memo import memo_html

        text = memo_html(result, rb.kb, lang)
    else:
        text = "\n".join(report_lines(result, rb.kb, lang, verbose)) + "\n"
    if output is not None:
        try:
            write_atomic(output, text)
        except OSError as exc:
            click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(1)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _evaluate(project: Project, case: Path | None, example: str | None, engine: str | None) -> tuple[Any, Any, Any]:
    from kzcopyright.engine.project import choose_engine, evaluate_case, load_case

    if (case is None) == (example is None):
        raise click.UsageError("give either a CASE file or --example NAME")
    rb = project.rulebase
    scenario = load_case(rb, case, example=example)
    name, notice = choose_engine(engine)
    if notice:
        click.echo(notice, err=True)
    return rb, scenario, evaluate_case(rb, scenario, name)


_case_arg = click.argument("case", required=False, type=click.Path(path_type=Path, dir_okay=False))
_example_opt = click.option("--example", help="Use a bundled example case instead of a file.")
_engine_opt = click.option("--engine", type=click.Choice(["durable", "python"]), default=None,
                           help="Reasoning engine (default: durable where it imports, else python).")
_lang_opt = click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True)


def _echo_wrapped(lines: list[str]) -> None:
    """Print report lines wrapped to 80 columns, continuation lines indented under their text."""
    import textwrap

    for line in lines:
        if len(line) <= 80:
            click.echo(line)
            continue
        stripped = line.lstrip(" ")
        lead = " " * (len(line) - len(stripped))
        extra = "  " if stripped.startswith("- ") else "    "
        click.echo("\n".join(textwrap.wrap(stripped, 80, initial_indent=lead, subsequent_indent=lead + extra,
                                           break_on_hyphens=False)))


def _case_and_conclusion(args: tuple[str, ...], example: str | None) -> tuple[Path | None, str]:
    want = 1 if example else 2
    if len(args) != want:
        raise click.UsageError("give CASE CONCLUSION, or --example NAME CONCLUSION")
    return (None, args[0]) if example else (Path(args[0]), args[1])


@cli.command()
@click.argument("args", nargs=-1, required=True, metavar="[CASE] CONCLUSION")
@_example_opt
@_engine_opt
@_lang_opt
@click.pass_obj
def why(project: Project, args: tuple[str, ...], example: str | None, engine: str | None, lang: str) -> None:
    """Why CONCLUSION holds: the reasoning tree down to the case's facts.

    CONCLUSION is a type, optionally with attributes: criminal_liability(part=2).
    """
    from kzcopyright.engine.explain import parse_spec, select, why_lines

    case, conclusion = _case_and_conclusion(args, example)
    try:
        rb, scenario, result = _evaluate(project, case, example, engine)
        tname, attrs = parse_spec(rb, conclusion)
    except KzError as exc:
        _fail(exc)
        return
    found = [c for c in select(result, tname, attrs) if c.status in ("holds", "undetermined", "defeated")]
    if not found:
        click.echo(f"{conclusion} does not hold in this case; try: kzcopyright why-not ... {conclusion}")
        return
    for i, c in enumerate(found):
        if i:
            click.echo("")
        _echo_wrapped(why_lines(rb, result, c, lang))
    click.echo("")
    click.echo(result.disclaimer)


@cli.command("why-not")
@click.argument("args", nargs=-1, required=True, metavar="[CASE] CONCLUSION")
@_example_opt
@_engine_opt
@_lang_opt
@click.option("--max-changes", type=click.IntRange(0, 3), default=2, show_default=True,
              help="Largest set of fact changes to try (0: no search).")
@click.option("--max-evals", type=click.IntRange(1, 5000), default=400, show_default=True,
              help="Bound on the alternative cases evaluated by the search.")
@click.pass_obj
def why_not_cmd(project: Project, args: tuple[str, ...], example: str | None, engine: str | None,
                lang: str, max_changes: int, max_evals: int) -> None:
    """Why CONCLUSION does not hold: each rule's conditions, and the smallest change that would make it hold."""
    from kzcopyright.engine.explain import minimal_changes, parse_spec, why_not_lines

    case, conclusion = _case_and_conclusion(args, example)
    try:
        rb, scenario, result = _evaluate(project, case, example, engine)
        tname, attrs = parse_spec(rb, conclusion)
        search = minimal_changes(rb, scenario, tname, attrs, max_size=max_changes, max_evals=max_evals) \
            if max_changes else None
    except KzError as exc:
        _fail(exc)
        return
    _echo_wrapped(why_not_lines(rb, result, tname, attrs, lang, search))
    click.echo("")
    click.echo(result.disclaimer)


@cli.command("what-if")
@_case_arg
@_example_opt
@click.option("--set", "assignments", multiple=True, required=True, metavar="ENTITY.ATTR=VALUE",
              help="A changed fact, e.g. use:listing.consent=true (repeatable; 'unknown' unsets).")
@_engine_opt
@_lang_opt
@click.pass_obj
def what_if_cmd(project: Project, case: Path | None, example: str | None, assignments: tuple[str, ...],
                engine: str | None, lang: str) -> None:
    """What changes if some facts change: the conclusions that differ, before and after."""
    from kzcopyright.engine.explain import parse_assignment, what_if, what_if_lines

    try:
        rb, scenario, _result = _evaluate(project, case, example, engine)
        changes = [parse_assignment(rb, scenario, a) for a in assignments]
        from kzcopyright.engine.project import choose_engine

        _before, after, diffs = what_if(rb, scenario, changes, choose_engine(engine)[0])
    except KzError as exc:
        _fail(exc)
        return
    _echo_wrapped(what_if_lines(rb, diffs, changes, lang))
    click.echo("")
    click.echo(after.disclaimer)


@cli.command()
@_case_arg
@_example_opt
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="FILE.svg, FILE.png or FILE.dot (default: DOT text on standard output).")
@click.option("--focus", default=None, help="Keep only what leads to this conclusion, e.g. infringement.")
@_engine_opt
@click.pass_obj
def graph(project: Project, case: Path | None, example: str | None, output: Path | None, focus: str | None,
          engine: str | None) -> None:
    """Draw the reasoning graph: facts -> rules (by article) -> conclusions."""
    from kzcopyright.engine.explain import parse_spec, select
    from kzcopyright.engine import graph as G

    try:
        rb, scenario, result = _evaluate(project, case, example, engine)
        g = G.reasoning_graph(result, rb.kb)
        if focus:
            tname, attrs = parse_spec(rb, focus)
            targets = [f"fact:{c.fid}" for c in select(result, tname, attrs)]
            if not targets:
                raise InputError([Diagnostic(Location("<command line>"), "bad-argument",
                                             f"no conclusion {focus} in this case", "-")])
            g = G.focus(g, targets)
    except KzError as exc:
        _fail(exc)
        return
    dot = G.to_dot(g, rb.kb, title=f"{result.case_title} [{result.case_id}]")
    if output is None:
        click.echo(dot, nl=False)
        return
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "dot"):
        raise click.UsageError("the output must end in .svg, .png or .dot")
    try:
        if fmt == "dot":
            write_atomic(output, dot)
        else:
            try:
                data = G.render(dot, fmt)
            except G.GraphvizMissing:
                dot_path = output.with_suffix(".dot")
                write_atomic(dot_path, dot)
                click.echo(f"Graphviz's dot program is not installed: wrote {dot_path} instead; {G.INSTALL_HINT}.",
                           err=True)
                return
            write_atomic_bytes(output, data)
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo(f"wrote {output} ({g.number_of_nodes()} nodes)", err=True)


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
