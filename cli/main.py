"""The ``kzcopyright`` command: a thin click layer over :mod:`kzcopyright.engine`.

Exit codes: 0 ok, 1 bad input or evaluation error, 2 usage error.
"""

from __future__ import annotations


import errno
import sys
from pathlib import Path
from typing import Any

import click

from kzcopyright.engine.errors import Diagnostic, InputError, KzError, Location
from kzcopyright.engine.fileio import write_atomic

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
            from kzcopyright.engine.rulebase import keep_resident, load_rulebase

            self._rb = keep_resident(load_rulebase(self.rules, self.kb))
        return self._rb


def _report(exc: KzError) -> None:
    """Print a library error: every diagnostic with its location, or one line."""
    if isinstance(exc, InputError):
        click.echo(exc.render(), err=True)
        n = len(exc.diagnostics)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found.", err=True)
    else:
        click.echo(f"error: {exc}", err=True)


class KzGroup(click.Group):
    """The top command group: the library's errors are caught here, once, for every command.

    A :class:`KzError` is printed (located diagnostics, or one line) and exits 1; an error
    writing the output (e.g. ``> /dev/full``) is one line and exits 1; a reader that closes the
    pipe early (``| head``) ends the command quietly (click's own handler, exit 1). Usage
    errors exit 2 (click)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KzError as exc:
            _report(exc)
            ctx.exit(1)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click's main ends quietly on a broken pipe
            what = f"{exc.filename}: " if exc.filename else "cannot write the output: "
            try:
                click.echo(f"error: {what}{exc.strerror or exc}", err=True)
            except OSError:
                pass
            ctx.exit(1)


def _output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """-o FILE: an empty name is a usage error (not the current folder)."""
    if value is None:
        return None
    if value.strip() == "":
        raise click.BadParameter("needs a file name, got an empty one", ctx=ctx, param=param)
    return Path(value)


def _output_opt(help_text: str, required: bool = False) -> Any:
    return click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, required=required,
                        callback=_output_path, help=help_text)


@click.group(cls=KzGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


_case_arg = click.argument("case", required=False, type=click.Path(path_type=Path, dir_okay=False))
_example_opt = click.option("--example", help="Use a bundled example case instead of a file.")
_engine_opt = click.option("--engine", type=click.Choice(["durable", "python"]), default=None,
                           help="Reasoning engine (default: durable where it imports, else python).")
_lang_opt = click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True)


def _engine(engine: str | None) -> str:
    from kzcopyright.engine.rulebase import choose_engine

    name, notice = choose_engine(engine)
    if notice:
        click.echo(notice, err=True)
    return name


def _evaluate(project: Project, case: Path | None, example: str | None, engine: str | None) -> tuple[Any, Any, Any]:
    from kzcopyright.engine.rulebase import evaluate_case, load_case

    if (case is None) == (example is None):
        raise click.UsageError("give either a CASE file or --example NAME")
    rb = project.rulebase
    scenario = load_case(rb, case, example=example)
    return rb, scenario, evaluate_case(rb, scenario, _engine(engine))


def _write(output: Path, data: str | bytes, note: str = "") -> None:
    write_atomic(output, data)
    click.echo(f"wrote {output}{note}", err=True)


@cli.command()
@_case_arg
@click.option("--example", help="Analyse a bundled example case instead of a file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@_engine_opt
@_lang_opt
@_output_opt("Write the report to this file (atomically; a device or FIFO is written through).")
@click.option("-v", "--verbose", is_flag=True, help="Also list rule versions.")
@click.option("--all", "everything", is_flag=True,
              help="Text: also list the undetermined points no open outcome hangs on.")
@click.pass_obj
def analyze(project: Project, case: Path | None, example: str | None, fmt: str, engine: str | None, lang: str,
            output: Path | None, verbose: bool, everything: bool) -> None:
    """Analyse CASE (a YAML or JSON case file) and report conclusions with their law."""
    from kzcopyright.engine.views.text import report_lines

    rb, _scenario, result = _evaluate(project, case, example, engine)
    if fmt == "json":
        text = result.to_json_text()
    elif fmt == "html":
        from kzcopyright.engine.views.memo import memo_html

        text = memo_html(result, rb.kb, lang)
    else:
        text = "\n".join(report_lines(result, rb.kb, lang, verbose, everything)) + "\n"
    if output is not None:
        _write(output, text)
    else:
        click.echo(text, nl=False)


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


_result_opt = click.option("--result", "saved", type=click.Path(path_type=Path, dir_okay=False), default=None,
                           help="Explain a saved result (analyze --format json, or a full batch record) instead of "
                                "re-running a case.")
_id_opt = click.option("--id", "case_id", default=None, help="With --result on a batch output: the case's id.")


def _result_for(project: Project, args: tuple[str, ...], example: str | None, engine: str | None,
                saved: Path | None, case_id: str | None) -> tuple[Any, Any, str]:
    """(rule base, result, conclusion spec) for why / graph: from a saved result or a run."""
    if saved is not None:
        from kzcopyright.engine.reasoning.result import load_result

        if example or len(args) != 1:
            raise click.UsageError("with --result give only CONCLUSION")
        rb = project.rulebase
        result = load_result(str(saved), case_id)
        if result.rulebase.fingerprint != rb.fingerprint:
            click.echo(f"notice: {saved} was made with rule base {result.rulebase.fingerprint}; the law shown is "
                       f"from rule base {rb.fingerprint}", err=True)
        return rb, result, args[0]
    case, conclusion = _case_and_conclusion(args, example)
    rb, _scenario, result = _evaluate(project, case, example, engine)
    return rb, result, conclusion


@cli.command()
@click.argument("args", nargs=-1, required=True, metavar="[CASE] CONCLUSION")
@_example_opt
@_result_opt
@_id_opt
@_engine_opt
@_lang_opt
@click.pass_obj
def why(project: Project, args: tuple[str, ...], example: str | None, saved: Path | None, case_id: str | None,
        engine: str | None, lang: str) -> None:
    """Why CONCLUSION holds: the reasoning tree down to the case's facts.

    CONCLUSION is a type, optionally with attributes: criminal_liability(part=2).
    """
    from kzcopyright.engine.views.explain import parse_spec, select, why_lines

    rb, result, conclusion = _result_for(project, args, example, engine, saved, case_id)
    tname, attrs = parse_spec(rb.kb, conclusion)
    found = [c for c in select(result, tname, attrs) if c.status in ("holds", "undetermined", "defeated")]
    if not found:
        click.echo(f"{conclusion} does not hold in this case; try: kzcopyright why-not ... {conclusion}")
        return
    for i, c in enumerate(found):
        if i:
            click.echo("")
        _echo_wrapped(why_lines(result, rb.kb, c, lang))
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
@click.option("--max-seconds", type=click.FloatRange(0.1, 3600), default=20.0, show_default=True,
              help="Bound on the time the search takes.")
@click.pass_obj
def why_not_cmd(project: Project, args: tuple[str, ...], example: str | None, engine: str | None,
                lang: str, max_changes: int, max_evals: int, max_seconds: float) -> None:
    """Why CONCLUSION does not hold: each rule's conditions, and the smallest change that would make it hold."""
    from kzcopyright.engine.reasoning.whynot import minimal_changes, why_not
    from kzcopyright.engine.views.explain import parse_spec, why_not_lines

    case, conclusion = _case_and_conclusion(args, example)
    rb, scenario, result = _evaluate(project, case, example, engine)
    tname, attrs = parse_spec(rb.kb, conclusion)
    analyses = why_not(rb, scenario, tname, attrs)
    search = minimal_changes(rb, scenario, tname, attrs, max_size=max_changes, max_evals=max_evals,
                             max_seconds=max_seconds) if max_changes else None
    _echo_wrapped(why_not_lines(result, rb.kb, tname, attrs, analyses, lang, search))
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
    from kzcopyright.engine.reasoning.whynot import parse_assignment, what_if
    from kzcopyright.engine.views.explain import what_if_lines

    rb, scenario, _result = _evaluate(project, case, example, engine)
    changes = [parse_assignment(rb, scenario, a) for a in assignments]
    _before, after, diffs = what_if(rb, scenario, changes, _engine(engine))
    _echo_wrapped(what_if_lines(rb.kb, diffs, changes, lang))
    click.echo("")
    click.echo(after.disclaimer)


def _write_drawing(output: Path, dot: str, note: str = "") -> None:
    """Write DOT text, or render it to SVG/PNG after the suffix; where Graphviz is missing or
    fails, the DOT text is written next to it instead and the reason is said."""
    from kzcopyright.engine.views import graph as G

    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "dot"):
        raise click.UsageError("the output must end in .svg, .png or .dot")
    if fmt == "dot":
        _write(output, dot, note)
        return
    try:
        data = G.render(dot, fmt)
    except G.RenderError as exc:
        dot_path = output.with_suffix(".dot")
        write_atomic(dot_path, dot)
        click.echo(f"{exc}: wrote {dot_path} instead", err=True)
        return
    _write(output, data, note)


@cli.command()
@_case_arg
@_example_opt
@_result_opt
@_id_opt
@_output_opt("FILE.svg, FILE.png or FILE.dot (default: DOT text on standard output).")
@click.option("--focus", default=None, help="Keep only what leads to this conclusion, e.g. infringement.")
@_engine_opt
@click.pass_obj
def graph(project: Project, case: Path | None, example: str | None, saved: Path | None, case_id: str | None,
          output: Path | None, focus: str | None, engine: str | None) -> None:
    """Draw the reasoning graph: facts -> rules (by article) -> conclusions."""
    from kzcopyright.engine.views.explain import parse_spec, select
    from kzcopyright.engine.views import graph as G

    if saved is not None:
        if case is not None or example:
            raise click.UsageError("give a CASE, --example NAME or --result FILE, not several")
        rb, result, _ = _result_for(project, ("-",), None, engine, saved, case_id)
    else:
        rb, _scenario, result = _evaluate(project, case, example, engine)
    g = G.reasoning_graph(result, rb.kb)
    if focus:
        tname, attrs = parse_spec(rb.kb, focus)
        targets = [f"fact:{c.fid}" for c in select(result, tname, attrs)]
        if not targets:
            raise InputError([Diagnostic(Location("<command line>"), "bad-argument",
                                         f"no conclusion {focus} in this case", "-")])
        g = G.focus(g, targets)
    dot = G.to_dot(g, rb.kb, title=f"{result.case_title} [{result.case_id}]")
    if output is None:
        click.echo(dot, nl=False)
        return
    _write_drawing(output, dot, f" ({g.number_of_nodes()} nodes)")


@cli.command()
@_case_arg
@_example_opt
@click.option("--answers", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Replay answers from a YAML mapping {fact.attribute: value} instead of asking.")
@click.option("--save", type=click.Path(dir_okay=False), default=None, callback=_output_path,
              help="Write the completed case to this file (a valid case file).")
@click.option("--perspective", type=click.Choice(["rights_holder", "user"]), default=None)
@_engine_opt
@_lang_opt
@click.pass_obj
def consult(project: Project, case: Path | None, example: str | None, answers: Path | None, save: Path | None,
            perspective: str | None, engine: str | None, lang: str) -> None:
    """An interview: only the questions that can still change a conclusion, most decisive first.

    Answer with a value, a choice number, 'unknown', or 'back' to revise the last answer.
    """
    from kzcopyright.engine.workflows.consult import Consultation, load_answers
    from kzcopyright.engine.rulebase import examples_dir, load_case
    from kzcopyright.engine.views.text import report_lines

    rb = project.rulebase
    name = _engine(engine)
    start: Any = examples_dir(rb.kb_dir) / f"{example}.yaml" if example else case
    if start is not None:
        scenario = load_case(rb, start)
        if perspective:
            from kzcopyright.engine.reasoning.whynot import apply_changes

            scenario = apply_changes(scenario, [("case:case", "perspective", perspective)])
        session = Consultation(rb, scenario, name, lang)
    else:
        session = Consultation.start(rb, engine=name, lang=lang, perspective=perspective)
    replay = load_answers(answers) if answers is not None else None
    asked = 0
    while True:
        q = session.next_question()
        if q is None:
            break
        asked += 1
        click.echo("")
        click.echo(f"Question {asked} ({q.id}; settles {q.settles} open point{'s' if q.settles != 1 else ''}):")
        _echo_wrapped(["  " + q.prompt(lang)])
        if q.why:
            _echo_wrapped(["  asked because it decides: " + "; ".join(q.why[:3]) + (" …" if len(q.why) > 3 else "")])
        if q.choices and q.type != "bool":
            for i, (v, titles) in enumerate(q.choices, 1):
                click.echo(f"    {i}. {v} — {titles.get(lang) or titles.get('en') or v}")
        hint = "yes/no" if q.type == "bool" else ("comma-separated" if q.type == "list" else q.type)
        while True:
            if replay is not None:
                raw: Any = replay.get(q.id, "unknown")
                click.echo(f"  > {', '.join(map(str, raw)) if isinstance(raw, list) else raw}")
            else:
                raw = click.prompt(f"  answer ({hint}, unknown, back)", default="unknown", show_default=False)
            if str(raw).strip().lower() == "back":
                if session.back():
                    asked = max(0, asked - 2)
                    click.echo("  (last answer withdrawn)")
                else:
                    click.echo("  (nothing to revise)")
                break
            try:
                session.answer(raw, q)
            except InputError as exc:
                click.echo("  " + exc.diagnostics[0].message + (f" ({exc.diagnostics[0].hint})"
                                                                  if exc.diagnostics[0].hint else ""))
                if replay is not None:
                    session.answer("unknown", q)
                    break
                continue
            break
        r = session.result()
        click.echo(f"  now: {len(r.by_status('holds'))} holding, {len(r.by_status('undetermined'))} undetermined")
    click.echo("")
    click.echo(f"Consultation complete after {asked} question{'s' if asked != 1 else ''}.")
    click.echo("")
    click.echo("\n".join(report_lines(session.result(), rb.kb, lang)))
    if save is not None:
        write_atomic(save, session.to_yaml())
        click.echo(f"saved the case to {save}", err=True)


class _Counter:
    """A progress line on a terminal: the number of cases done (the total is not known while
    the input streams in), redrawn at most five times a second."""

    def __init__(self) -> None:
        import time

        self.n = 0
        self.clock = time.monotonic
        self.last = 0.0

    def __call__(self, k: int) -> None:
        self.n += k
        now = self.clock()
        if now - self.last >= 0.2:
            self.last = now
            click.echo(f"\rcases: {self.n}", nl=False, err=True)

    def close(self) -> None:
        if self.last:
            click.echo(f"\rcases: {self.n}", err=True)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, exists=True))
@_output_opt("JSON Lines output, one result per case in input order (written atomically).", required=True)
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes (default: CPU count).")
@click.option("--resume", is_flag=True, help="Keep the results already in OUTPUT (or OUTPUT.partial, after an "
              "interruption) for input lines that did not change.")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=30.0, show_default=True,
              help="Seconds one case may take in its worker.")
@_engine_opt
@click.pass_obj
def batch(project: Project, input_path: Path, output: Path, workers: int | None, resume: bool, timeout: float,
          engine: str | None) -> None:
    """Evaluate many cases: INPUT is a JSON Lines file (or a pipe) or a directory of case files."""
    from kzcopyright.engine.workflows.batch import run_batch

    _ = project.rulebase  # check the rule base once, before starting workers
    name = _engine(engine)
    counter = _Counter() if sys.stderr.isatty() else None
    try:
        summary = run_batch(input_path, output, rules=str(project.rules) if project.rules else None,
                            kb=str(project.kb) if project.kb else None, engine=name, workers=workers,
                            resume=resume, timeout=timeout, progress=counter)
    finally:
        if counter is not None:
            counter.close()
    for line in summary.lines():
        click.echo(line, err=True)
    if summary.errors:
        sys.exit(1)


@cli.command("examples")
@click.pass_obj
def examples(project: Project) -> None:
    """List the bundled example cases."""
    from kzcopyright.engine.rulebase import list_examples

    for name in list_examples(project.kb):
        click.echo(name)


@cli.group()
def rules() -> None:
    """Maintainers' commands: lint, test, coverage, show, graph, diff."""


@rules.command("lint")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date to judge 'last checked' against (default: today).")
@click.pass_obj
def lint(project: Project, strict: bool, today: Any) -> None:
    """Check kb and rules; report every problem as path:line:col: rule-id: message."""
    from kzcopyright.engine.workflows.lint import lint as run_lint

    report = run_lint(project.rules, project.kb, today=today.date() if today else None)
    if report.errors:
        raise InputError(list(report.errors) + list(report.warnings))
    for w in report.warnings:
        click.echo(w.render(), err=True)
    click.echo(report.summary())
    if strict and report.warnings:
        sys.exit(1)


def _cases_paths(project: Project, paths: tuple[Path, ...]) -> list[Path]:
    if paths:
        out: list[Path] = []
        for p in paths:
            out.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
        return out
    base = (project.rules or Path("rules")).resolve().parent / "tests" / "cases"
    if not base.is_dir():
        raise click.UsageError(f"no case files given and {base} does not exist")
    return sorted(base.glob("*.yaml"))


def _coverage_if_cases(project: Project, rb: Any, paths: tuple[Path, ...]) -> Any:
    """Coverage over the case files, or None where there are none (e.g. an installed copy)."""
    from kzcopyright.engine.workflows.casetest import load_case_files
    from kzcopyright.engine.workflows.coverage import coverage

    try:
        return coverage(rb, load_case_files(rb, _cases_paths(project, paths)))
    except click.UsageError:
        return None


@rules.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("-k", "keyword", default=None, help="Only cases whose file, id or title contains this.")
@click.option("--article", default=None, metavar="ACT/ART", help="Only cases whose reasoning cites this article.")
@click.option("--engine", "engines", multiple=True, type=click.Choice(["durable", "python"]),
              help="Engine(s) to run on (default: the default engine).")
@click.pass_obj
def rules_test(project: Project, paths: tuple[Path, ...], keyword: str | None, article: str | None,
               engines: tuple[str, ...]) -> None:
    """Run the YAML test cases; show a diff of expected vs actual for each failure."""
    from kzcopyright.engine.workflows.casetest import run_cases
    from kzcopyright.engine.rulebase import choose_engine

    rb = project.rulebase
    names = list(engines) or [choose_engine(None)[0]]
    run = run_cases(rb, _cases_paths(project, paths), names, keyword, article)
    for o in run.failed:
        click.echo(f"FAIL {o.path}: {o.case_id} [{o.engine}]")
        for f in o.failures:
            click.echo(f"  - {f}")
    n, bad = len(run.outcomes), len(run.failed)
    click.echo(f"{n - bad} passed, {bad} failed")
    if bad:
        sys.exit(1)


@rules.command("coverage")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def rules_coverage(project: Project, paths: tuple[Path, ...], fmt: str) -> None:
    """Cases per rule (and per version, for rules with several) and rules and cases per
    article; exit 1 if a rule or a version is never exercised or an article marked as encoded
    has no rule."""
    import json as _json

    from kzcopyright.engine.workflows.casetest import load_case_files
    from kzcopyright.engine.workflows.coverage import coverage

    rb = project.rulebase
    cov = coverage(rb, load_case_files(rb, _cases_paths(project, paths)))
    if fmt == "json":
        click.echo(_json.dumps({"rules": cov.rules, "articles": {k: {"rules": v[0], "cases": v[1]}
                                                                for k, v in cov.articles.items()},
                                "versions": cov.versions, "unexercised_versions": cov.unexercised_versions,
                                "unexercised_rules": cov.unexercised,
                                "encoded_articles_without_rules": cov.encoded_without_rule}, indent=2, sort_keys=True))
    else:
        click.echo("Rules (cases exercising each):")
        for rid, cases in cov.rules.items():
            click.echo(f"  {len(cases):4d}  {rid}")
        if cov.versions:
            click.echo("Versions of rules with several (cases exercising each):")
            for uid, cases in cov.versions.items():
                click.echo(f"  {len(cases):4d}  {uid}")
        click.echo("Articles (rules encoding / cases covering):")
        for art, (rs, cs) in cov.articles.items():
            flag = "" if rs or not rb.kb.articles[art].encoded else "  <- marked encoded, no rule"
            if rs or rb.kb.articles[art].encoded:
                click.echo(f"  {len(rs):3d} {len(cs):4d}  {art}{flag}")
        click.echo(f"{len(cov.rules) - len(cov.unexercised)} of {len(cov.rules)} rules exercised; "
                   f"{sum(1 for a in cov.articles.values() if a[0])} articles encoded by rules")
    if cov.unexercised:
        click.echo("never exercised: " + ", ".join(cov.unexercised), err=True)
    if cov.unexercised_versions:
        click.echo("versions never exercised: " + ", ".join(cov.unexercised_versions), err=True)
    if cov.encoded_without_rule:
        click.echo("marked encoded but no rule: " + ", ".join(cov.encoded_without_rule), err=True)
    if not cov.ok:
        sys.exit(1)


@rules.command("show")
@click.argument("rule_id")
@click.option("--cases", "case_paths", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Case files to look for uses in (default: tests/cases next to the rules).")
@click.pass_obj
def rules_show(project: Project, rule_id: str, case_paths: tuple[Path, ...]) -> None:
    """A rule with its law text, versions and validity, what it depends on and what depends on it."""
    from kzcopyright.engine.errors import suggest
    from kzcopyright.engine.workflows.ruleviews import rule_lines

    rb = project.rulebase
    if rule_id not in rb.program.rule_versions:
        raise InputError([Diagnostic(Location("<command line>"), "unknown-rule", f"no rule '{rule_id}'", "-",
                                     suggest(rule_id, rb.program.rule_versions))])
    cov = _coverage_if_cases(project, rb, case_paths)
    _echo_wrapped(rule_lines(rb, rule_id, cov))


@rules.command("graph")
@_output_opt("FILE.svg, FILE.png or FILE.dot (default: DOT text on standard output).")
@click.pass_obj
def rules_graph(project: Project, output: Path | None) -> None:
    """The rule base as a dependency map: fact types -> rules (grouped by article) -> fact types."""
    from kzcopyright.engine.workflows.ruleviews import rule_map, rule_map_dot

    rb = project.rulebase
    dot = rule_map_dot(rule_map(rb), rb)
    if output is None:
        click.echo(dot, nl=False)
        return
    _write_drawing(output, dot)


@rules.command("diff")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--from", "day_from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--to", "day_to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--against", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Another rules directory to compare with (the amendment's rule tree).")
@click.option("--against-kb", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="The kb directory that goes with --against (default: the same kb).")
@click.option("--date-field", default=None, metavar="NAME",
              help="With --from/--to: set only this date of each case (e.g. assessment_date) instead of moving "
                   "all its dates with the act date.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--engine", type=click.Choice(["durable", "python"]), default="python", show_default=True)
@click.pass_obj
def rules_diff(project: Project, paths: tuple[Path, ...], day_from: Any, day_to: Any, against: Path | None,
               against_kb: Path | None, date_field: str | None, fmt: str, engine: str) -> None:
    """Impact report: which cases change outcome between two dates, or two rule trees.

    With --from/--to each case is re-evaluated as if its act happened on each date (all its
    dates move together); with --against, under the current and the other rule tree — and
    with both, the current tree on the --from date against the other tree on the --to date
    (e.g. the law today against an amendment on its first day). A case that cannot be
    evaluated on either side is named and the command exits 1.
    """
    import json as _json

    from kzcopyright.engine.workflows.casetest import load_case_files
    from kzcopyright.engine.workflows.impact import diff_corpus, diff_lines
    from kzcopyright.engine.rulebase import load_rulebase

    if against is None and (day_from is None or day_to is None):
        raise click.UsageError("give --from DATE --to DATE, or --against DIR (optionally with --from/--to)")
    d_from = day_from.date() if day_from else None
    d_to = day_to.date() if day_to else None
    rb = project.rulebase
    scenarios = load_case_files(rb, _cases_paths(project, paths))
    if date_field is not None:
        case_t = rb.kb.types.get("case")
        dates = [a.name for a in case_t.attributes.values() if a.type == "date"] if case_t else []
        if date_field not in dates:
            from kzcopyright.engine.errors import suggest

            raise click.UsageError(f"'{date_field}' is not a date of the case "
                                   f"({suggest(date_field, dates) or ', '.join(dates)})")
    other = load_rulebase(against, against_kb or project.kb) if against is not None else rb
    report = diff_corpus(scenarios, rb, other, engine, d_from, d_to, date_field)
    side_a = str(project.rules or "rules") if against is not None else ""
    side_b = str(against) if against is not None else ""
    labels = (" ".join(x for x in (side_a, d_from.isoformat() if d_from else "") if x),
              " ".join(x for x in (side_b, d_to.isoformat() if d_to else "") if x))
    if fmt == "json":
        click.echo(_json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        _echo_wrapped(diff_lines(report, *labels))
    if report.get("errors"):
        sys.exit(1)


@cli.group("kb")
def kb_group() -> None:
    """Knowledge-base views."""


@kb_group.command("article")
@click.argument("ref", metavar="ACT/ART")
@click.pass_obj
def kb_article(project: Project, ref: str) -> None:
    """An article with its text, source, check date, the rules encoding it and the cases covering it."""
    from kzcopyright.engine.errors import suggest
    from kzcopyright.engine.workflows.ruleviews import article_lines

    rb = project.rulebase
    key = "/".join(ref.split("/")[:2])
    if key not in rb.kb.articles:
        raise InputError([Diagnostic(Location("<command line>"), "unknown-article", f"no article '{ref}'", "-",
                                     suggest(key, rb.kb.articles))])
    cov = _coverage_if_cases(project, rb, ())
    _echo_wrapped(article_lines(rb, ref, cov))


def main() -> None:
    cli(prog_name="kzcopyright")


if __name__ == "__main__":  # pragma: no cover
    main()
