"""The ``kzcopyright`` command: a thin click layer over :mod:`kzcopyright.engine`.

Exit codes: 0 ok, 1 bad input or evaluation error, 2 usage error.
"""

from __future__ import annotations


import errno
import os
import sys
from pathlib import Path
from typing import Any

import click

from kzcopyright.engine.errors import Diagnostic, InputError, KzError, Location
from kzcopyright.engine.fileio import write_atomic

__all__ = ["main", "cli"]


class Project:
    """What the group's options select; loaded lazily by the subcommands that need it."""

    def __init__(self, rules: Path | None, kb: Path | None, pager: bool = True):
        self.rules = rules
        self.kb = kb
        self.as_of: Any = None  # --as-of: the date of assessment of a case that gives none
        self.pager = pager
        self._rb: Any = None

    @property
    def assessment_day(self) -> Any:
        """The date of assessment for a case that gives none: --as-of, or today."""
        import datetime as _dt

        return self.as_of or _dt.date.today()

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
@click.option("--pager/--no-pager", default=True, show_default=True,
              help="Show long output through a pager when standard output is a terminal.")
@click.version_option(package_name="kzcopyright")
@click.pass_context
def cli(ctx: click.Context, rules: Path | None, kb: Path | None, pager: bool) -> None:
    """kzcopyright: the copyright law of Kazakhstan as explained rules.

    Not legal advice.
    """
    ctx.obj = Project(rules, kb, pager)


_case_arg = click.argument("case", required=False, type=click.Path(path_type=Path, dir_okay=False))
_example_opt = click.option("--example", help="Use a bundled example case instead of a file.")
_engine_opt = click.option("--engine", type=click.Choice(["durable", "python"]), default=None,
                           help="Reasoning engine (default: durable where it imports, else python).")
_lang_opt = click.option("--lang", type=click.Choice(["en", "ru", "kk"]), default="en", show_default=True)


def _store_as_of(ctx: click.Context, _param: Any, value: Any) -> None:
    if value is not None:
        ctx.find_object(Project).as_of = value.date()


_as_of_opt = click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, expose_value=False,
                          callback=_store_as_of, metavar="DATE",
                          help="Date of assessment for a case that gives none (default: today, stated in the output).")


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
    from kzcopyright.engine.rulebase import assessed_as_of

    rb = project.rulebase
    scenario = assessed_as_of(load_case(rb, case, example=example), project.assessment_day)
    return rb, scenario, evaluate_case(rb, scenario, _engine(engine))


def _write(output: Path, data: str | bytes, note: str = "") -> None:
    write_atomic(output, data)
    click.echo(f"wrote {output}{note}", err=True)


def _wrapped(lines: list[str]) -> list[str]:
    """Report lines wrapped to 80 columns, continuation lines indented under their text."""
    import textwrap

    out: list[str] = []
    for line in lines:
        if len(line) <= 80:
            out.append(line)
            continue
        stripped = line.lstrip(" ")
        lead = " " * (len(line) - len(stripped))
        extra = "  " if stripped.startswith("- ") else "    "
        out.extend(textwrap.wrap(stripped, 80, initial_indent=lead, subsequent_indent=lead + extra,
                                 break_on_hyphens=False))
    return out


def _emit(project: Project, text: str) -> None:
    """Print ``text``; on a terminal, through a pager (click's: $PAGER, else less) when it is
    longer than the screen. A pipe or a file gets the text as it is."""
    import shutil

    if project.pager and sys.stdout.isatty() and text.count("\n") >= shutil.get_terminal_size((80, 24)).lines - 1:
        click.echo_via_pager(text)
    else:
        click.echo(text, nl=False)


def _json_text(doc: Any) -> str:
    import json as _json

    return _json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@cli.command()
@_case_arg
@click.option("--example", help="Analyse a bundled example case instead of a file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "pdf"]), default="text", show_default=True,
              help="pdf needs the optional extra: pip install 'kzcopyright[pdf]'.")
@_engine_opt
@_lang_opt
@_output_opt("Write the report to this file (atomically; a device or FIFO is written through).")
@click.option("-v", "--verbose", is_flag=True, help="Also list rule versions.")
@click.option("--summary", "summary_only", is_flag=True, help="Text: print only the case line and the summary.")
@click.option("--all", "everything", is_flag=True,
              help="Text: also list the undetermined points no open outcome hangs on.")
@_as_of_opt
@click.pass_obj
def analyze(project: Project, case: Path | None, example: str | None, fmt: str, engine: str | None, lang: str,
            output: Path | None, verbose: bool, summary_only: bool, everything: bool) -> None:
    """Analyse CASE (a YAML or JSON case file) and report conclusions with their law.

    The report starts with a summary; every entry is numbered and named, and `why`,
    `why-not` and `what-if --focus` take the number or the name.
    """
    from kzcopyright.engine.views.text import report_lines

    rb, scenario, result = _evaluate(project, case, example, engine)
    data: str | bytes
    if fmt == "json":
        from kzcopyright.engine.views.document import analysis_json_text

        data = analysis_json_text(result, rb.kb, lang)
    elif fmt in ("html", "pdf"):
        from kzcopyright.engine.views import memo

        if fmt == "pdf" and output is None:
            raise click.UsageError("--format pdf needs -o FILE.pdf")
        page = memo.memo_html(result, rb.kb, lang, description=scenario.description,
                              graph_file=memo.graph_file_name(output) if output is not None else None,
                              images="png" if fmt == "pdf" else "svg")
        if output is not None:
            _write_memo_graph(result, rb, output, lang)
        data = page if fmt == "html" else memo.memo_pdf(page)
    else:
        lines = report_lines(result, rb.kb, lang, verbose, everything)
        if summary_only:
            from kzcopyright.engine.views.summary import summarize, summary_lines

            lines = lines[:lines.index("")] + [""] + summary_lines(summarize(result, rb.kb, lang), result, rb.kb) + \
                ["", disclaimer_text(result, lang)]
        data = "\n".join(lines) + "\n"
    if output is not None:
        _write(output, data)
    else:
        assert isinstance(data, str)
        _emit(project, data)


def _write_memo_graph(result: Any, rb: Any, output: Path, lang: str = "en") -> None:
    """The memo's full reasoning graph, next to it (FILE.graph.svg, or .dot without Graphviz)."""
    from kzcopyright.engine.views import graph as G
    from kzcopyright.engine.views import memo

    target = output.parent / memo.graph_file_name(output)
    try:
        if not output.parent.is_dir() or (output.exists() and not output.is_file()):
            return  # a device or FIFO output: no file beside it
    except OSError:
        return
    dot = G.to_dot(G.reasoning_graph(result, rb.kb, lang), rb.kb, title=f"{result.case_title} [{result.case_id}]",
                   lang=lang)
    try:
        data = G.render(dot, "svg")
    except G.RenderError as exc:
        target = target.with_suffix(".dot")
        data = dot.encode("utf-8")
        click.echo(f"{exc}: the full graph is written as DOT text", err=True)
    _write(target, data, " (the full reasoning graph)")


def disclaimer_text(result: Any, lang: str) -> str:
    """The result's disclaimer in ``lang`` (views.text)."""
    from kzcopyright.engine.views.text import disclaimer_text as text

    return str(text(result, lang))


def _echo_wrapped(lines: list[str]) -> None:
    """Print report lines wrapped to 80 columns, continuation lines indented under their text."""
    for line in _wrapped(lines):
        click.echo(line)


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


_format_opt = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


@cli.command()
@click.argument("args", nargs=-1, required=True, metavar="[CASE] CONCLUSION")
@_example_opt
@_result_opt
@_id_opt
@_engine_opt
@_lang_opt
@_as_of_opt
@_format_opt
@click.option("--max-depth", type=click.IntRange(1, 50), default=8, show_default=True,
              help="How deep the reasoning is followed (a note says where it stops).")
@click.pass_obj
def why(project: Project, args: tuple[str, ...], example: str | None, saved: Path | None, case_id: str | None,
        engine: str | None, lang: str, fmt: str, max_depth: int) -> None:
    """Why CONCLUSION holds: the reasoning tree down to the case's facts.

    CONCLUSION is what the report prints before or under each entry: its number
    ([3] or 3), its name (infringement(use=listing, work=photos)), a type with some
    attributes (art198_part(part=2)), or the JSON id (infringement#b7e3a2cf86ff).
    Where several conclusions match, what they share is explained once.
    `kzcopyright conclusions` lists the types.
    """
    from kzcopyright.engine.views.explain import why_answer, why_answer_json, why_answer_lines
    from kzcopyright.engine.views.handles import SHOWN_STATUSES, resolve

    rb, result, conclusion = _result_for(project, args, example, engine, saved, case_id)
    target = resolve(result, rb.kb, conclusion)
    found = [c for c in target.matches if c.status in SHOWN_STATUSES]
    if not found:
        if fmt == "json":
            click.echo(_json_text({"conclusion": target.spec, "roots": [], "shared": [], "steps": {},
                                   "status": "does_not_hold", "disclaimer": result.disclaimer}), nl=False)
            return
        click.echo(f"{target.spec} does not hold in this case; try: kzcopyright why-not ... '{target.spec}'")
        return
    answer = why_answer(result, rb.kb, found, lang, max_depth, spec=target.spec)
    if fmt == "json":
        click.echo(_json_text(why_answer_json(answer)), nl=False)
        return
    lines = _wrapped(why_answer_lines(answer, lang)) + ["", disclaimer_text(result, lang)]
    _emit(project, "\n".join(lines) + "\n")


@cli.command("why-not")
@click.argument("args", nargs=-1, required=True, metavar="[CASE] CONCLUSION")
@_example_opt
@_engine_opt
@_lang_opt
@_format_opt
@click.option("--max-changes", type=click.IntRange(0, 3), default=2, show_default=True,
              help="Largest set of fact changes to try (0: no search).")
@click.option("--max-evals", type=click.IntRange(1, 5000), default=400, show_default=True,
              help="Bound on the alternative cases evaluated by the search.")
@click.option("--max-seconds", type=click.FloatRange(0.1, 3600), default=20.0, show_default=True,
              help="Bound on the time the search takes.")
@_as_of_opt
@click.pass_obj
def why_not_cmd(project: Project, args: tuple[str, ...], example: str | None, engine: str | None,
                lang: str, fmt: str, max_changes: int, max_evals: int, max_seconds: float) -> None:
    """Why CONCLUSION does not hold: each rule's conditions, and the smallest change that would make it hold.

    CONCLUSION is a number or name from the report (the types under "Does not hold" are
    numbered too), a type with attributes (art198_part(part=2)) or a JSON id.
    """
    from kzcopyright.engine.reasoning.whynot import minimal_changes, why_not
    from kzcopyright.engine.views.explain import why_not_json, why_not_lines
    from kzcopyright.engine.views.handles import resolve

    case, conclusion = _case_and_conclusion(args, example)
    rb, scenario, result = _evaluate(project, case, example, engine)
    target = resolve(result, rb.kb, conclusion)
    tname, attrs = target.type, target.attributes
    analyses = why_not(rb, scenario, tname, attrs)
    search = minimal_changes(rb, scenario, tname, attrs, max_size=max_changes, max_evals=max_evals,
                             max_seconds=max_seconds) if max_changes else None
    if fmt == "json":
        click.echo(_json_text(why_not_json(result, rb.kb, target.spec, tname, attrs, analyses, search)), nl=False)
        return
    lines = _wrapped(why_not_lines(result, rb.kb, tname, attrs, analyses, lang, search)) + ["", disclaimer_text(result, lang)]
    _emit(project, "\n".join(lines) + "\n")


@cli.command("what-if")
@_case_arg
@_example_opt
@click.option("--set", "assignments", multiple=True, required=True, metavar="ENTITY.ATTR=VALUE",
              help="A changed fact, e.g. use:listing.consent=true (repeatable; 'unknown' unsets).")
@click.option("--focus", default=None, metavar="CONCLUSION",
              help="Only this conclusion (a number or name from the report), said even when it does not change.")
@_engine_opt
@_lang_opt
@_as_of_opt
@_format_opt
@click.pass_obj
def what_if_cmd(project: Project, case: Path | None, example: str | None, assignments: tuple[str, ...],
                focus: str | None, engine: str | None, lang: str, fmt: str) -> None:
    """What changes if some facts change: the conclusions that differ, before and after."""
    from kzcopyright.engine.reasoning.compare import identity_of
    from kzcopyright.engine.reasoning.whynot import parse_assignment, what_if
    from kzcopyright.engine.views.explain import what_if_json, what_if_lines
    from kzcopyright.engine.views.handles import resolve

    rb, scenario, before = _evaluate(project, case, example, engine)
    target = resolve(before, rb.kb, focus) if focus else None
    changes = [parse_assignment(rb, scenario, a) for a in assignments]
    _before, after, diffs = what_if(rb, scenario, changes, _engine(engine))
    unchanged = []
    if target is not None:
        wanted = [identity_of(c, rb.kb) for c in target.matches]
        diffs = [d for d in diffs if d.type == target.type and (not target.matches or d.identity in wanted
                                                                or not wanted)]
        changed = {repr(sorted(d.identity.items())) for d in diffs}
        unchanged = [c for c in target.matches if repr(sorted(identity_of(c, rb.kb).items())) not in changed]
    if fmt == "json":
        click.echo(_json_text(what_if_json(rb.kb, diffs, changes, after.disclaimer, lang, unchanged)), nl=False)
        return
    lines = _wrapped(what_if_lines(rb.kb, diffs, changes, lang, unchanged)) + ["", disclaimer_text(after, lang)]
    _emit(project, "\n".join(lines) + "\n")


@cli.command("conclusions")
@_lang_opt
@click.option("--all", "show_all", is_flag=True, help="Also the intermediate types (not reported on their own).")
@click.pass_obj
def conclusions_cmd(project: Project, lang: str, show_all: bool) -> None:
    """List the conclusion types the rules can reach, with their titles and attributes.

    Any of them can be named in why, why-not, what-if --focus and graph --focus, e.g.
    infringement or art198_part(part=2).
    """
    from kzcopyright.engine.views.text import conclusion_type_lines

    _emit(project, "\n".join(conclusion_type_lines(project.rulebase.kb, lang, show_all)) + "\n")


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
@click.option("--focus", default=None, help="Keep only what leads to this conclusion: a number or name from the "
              "report, e.g. 3 or infringement.")
@_engine_opt
@_lang_opt
@_as_of_opt
@click.pass_obj
def graph(project: Project, case: Path | None, example: str | None, saved: Path | None, case_id: str | None,
          output: Path | None, focus: str | None, engine: str | None, lang: str) -> None:
    """Draw the reasoning graph: facts -> rules (by article) -> conclusions."""
    from kzcopyright.engine.views import graph as G
    from kzcopyright.engine.views.handles import resolve

    if saved is not None:
        if case is not None or example:
            raise click.UsageError("give a CASE, --example NAME or --result FILE, not several")
        rb, result, _ = _result_for(project, ("-",), None, engine, saved, case_id)
    else:
        rb, _scenario, result = _evaluate(project, case, example, engine)
    g = G.reasoning_graph(result, rb.kb, lang)
    if focus:
        targets = [f"fact:{c.fid}" for c in resolve(result, rb.kb, focus, must_exist=True).matches]
        g = G.focus(g, targets)
    dot = G.to_dot(g, rb.kb, title=f"{result.case_title} [{result.case_id}]", lang=lang)
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

    The first questions establish who is who and the dates. Answer with a value, a choice
    number (several, comma-separated, for a list), 'unknown' (or Enter), 'back' to revise the
    last answer, '?' for why the question is asked, 'done' (or '.') to end with the answer so
    far, 'q' to stop. Ctrl-C and Ctrl-D stop too: what was answered is kept (and saved with
    --save) and the analysis so far is shown.
    """
    from kzcopyright.engine.workflows.consult import Consultation, Interview, load_answers
    from kzcopyright.engine.rulebase import examples_dir, load_case
    from kzcopyright.engine.views.text import report_lines

    rb = project.rulebase
    name = _engine(engine)
    start: Any = examples_dir(rb.kb_dir) / f"{example}.yaml" if example else case
    if start is not None:
        # no date of assessment is assumed here: the interview asks for it with the other dates
        scenario = load_case(rb, start)
        if perspective:
            from kzcopyright.engine.reasoning.whynot import apply_changes

            scenario = apply_changes(scenario, [("case:case", "perspective", perspective)])
        session = Consultation(rb, scenario, name, lang)
    else:
        session = Consultation.start(rb, engine=name, lang=lang, perspective=perspective)
    replay = load_answers(answers) if answers is not None else None

    def read(prompt: str) -> str:
        # input(): Ctrl-D raises EOFError and Ctrl-C KeyboardInterrupt, which the interview tells apart
        return input(prompt + " > ")

    interview = Interview(session, read, click.echo, lang, replay)
    end = interview.run()
    if end.reason in ("eof", "interrupt"):
        click.echo("")
    click.echo("")
    click.echo(interview.end_message(end))
    click.echo("")
    if save is not None:
        write_atomic(save, session.to_yaml())
    try:
        click.echo("\n".join(report_lines(session.final_result(), rb.kb, lang)))
    finally:
        if save is not None:
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
@_output_opt("JSON Lines output, one record per case in input order (written atomically); with --summary-only, the "
             "summary as JSON.")
@click.option("--record", type=click.Choice(["full", "compact"]), default="full", show_default=True,
              help="full: the analysis's lossless JSON (why --result reads it); compact: each conclusion's type, "
                   "attributes and status, amounts, deadlines and the rule base.")
@click.option("--summary-only", is_flag=True, help="Write no records: only the summary (to standard output, or as "
              "JSON to -o).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes (default: CPU count).")
@click.option("--resume", is_flag=True, help="Keep the results already in OUTPUT (or OUTPUT.partial, after an "
              "interruption) for input lines that did not change.")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=30.0, show_default=True,
              help="Seconds one case may take in its worker.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where the cases run: a pool of local processes, or a Dask cluster (pip install 'kzcopyright[dask]').")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="With --executor dask: the scheduler's address (tcp://host:8786); default: a local cluster of "
                   "--workers processes.")
@click.option("--partition", type=click.IntRange(1, 100_000), default=None,
              help="Cases a task (default: up to 8 locally; 200 on Dask).")
@_engine_opt
@_as_of_opt
@click.pass_obj
def batch(project: Project, input_path: Path, output: Path | None, record: str, summary_only: bool,
          workers: int | None, resume: bool, timeout: float, executor: str, scheduler: str | None,
          partition: int | None, engine: str | None) -> None:
    """Evaluate many cases: INPUT is a JSON Lines file (or a pipe) or a directory of case files.

    The summary says, for each conclusion type, how many cases reached it and with which
    status, and names the failed cases with their error.
    """
    from kzcopyright.engine.workflows.batch import run_batch

    if output is None and not summary_only:
        raise click.UsageError("give -o OUTPUT (or --summary-only)")
    if summary_only and resume:
        raise click.UsageError("--resume reads the records of an earlier run: it cannot go with --summary-only")
    if scheduler and executor != "dask":
        raise click.UsageError("--scheduler goes with --executor dask")
    rb = project.rulebase  # check the rule base once, before starting workers
    name = _engine(engine)
    counter = _Counter() if sys.stderr.isatty() else None
    target = output if output is not None and not summary_only else Path(f".kzcopyright-summary-{os.getpid()}")
    try:
        summary = run_batch(input_path, target, rules=str(project.rules) if project.rules else None,
                            kb=str(project.kb) if project.kb else None, engine=name, workers=workers,
                            resume=resume, timeout=timeout, progress=counter, record=record,
                            summary_only=summary_only, as_of=project.assessment_day, executor=executor,
                            scheduler=scheduler, partition=partition or (200 if executor == "dask" else 0))
    finally:
        if counter is not None:
            counter.close()
    summary.set_rulebase(rb)
    lines = summary.lines(rb.kb)
    if summary_only:
        if output is not None:
            _write(output, _json_text(summary.to_json()))
        else:
            click.echo("\n".join(lines))
    else:
        for line in lines:
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
@click.option("--lang", type=click.Choice(["ru", "kk"]), default=None,
              help="Check only this language's translations and list every kb/rules text lacking it (file:line).")
@click.pass_obj
def lint(project: Project, strict: bool, today: Any, lang: str | None) -> None:
    """Check kb and rules; report every problem as path:line:col: rule-id: message.

    Missing translations: each interface string is a warning with its catalogue file and id;
    the kb/rules texts lacking a language are counted in the summary, and with --lang LANG
    each is a warning at its file:line."""
    from kzcopyright.engine.workflows.lint import lint as run_lint

    report = run_lint(project.rules, project.kb, today=today.date() if today else None, lang=lang)
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


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (another than loopback exposes the server: give --token).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one).")
@click.option("--token", envvar="KZCOPYRIGHT_TOKEN", default=None,
              help="Require 'Authorization: Bearer TOKEN' on every request (pages: sign in once at /login).")
@click.option("--workers", type=click.IntRange(1, 32), default=1, show_default=True, help="Server processes.")
@click.option("--eval-workers", type=click.IntRange(1, 32), default=2, show_default=True,
              help="Evaluation processes per server process.")
@click.option("--time-limit", type=click.FloatRange(0.5, 3600), default=20.0, show_default=True,
              help="Seconds one evaluation may take (then 504).")
@click.option("--max-body-kb", type=click.IntRange(1, 1024 * 1024), default=1024, show_default=True,
              help="Largest request body in KiB (then 413).")
@click.option("--max-facts", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              help="Most facts in one case (then 422).")
@_engine_opt
@click.pass_obj
def serve(project: Project, host: str, port: int, token: str | None, workers: int, eval_workers: int,
          time_limit: float, max_body_kb: int, max_facts: int, engine: str | None) -> None:
    """The web workspace and the JSON decision service on http://HOST:PORT/ (needs the web extra).

    The interview, the upload of a case, the answer with why, why-not and what-if, the
    reasoning graph and the memo in the browser; the API under /v1, documented at /docs.
    """
    try:
        from kzcopyright.engine.web.config import Limits, WebConfig
        from kzcopyright.engine.web.server import serve as run_server
    except ImportError as exc:
        click.echo(f"error: the web extra is not installed ({exc.name} is missing): pip install 'kzcopyright[web]'",
                   err=True)
        sys.exit(1)
    limits = Limits(max_body_bytes=max_body_kb * 1024, max_facts=max_facts, time_limit=time_limit)
    config = WebConfig(rules=str(project.rules) if project.rules else None, kb=str(project.kb) if project.kb else None,
                       engine=engine, token=token or None, eval_workers=eval_workers, limits=limits)
    try:
        run_server(config, host, port, workers, say=click.echo, warn=lambda m: click.echo(m, err=True))
    except OSError as exc:
        click.echo(f"error: cannot serve on {host}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(1)


def main() -> None:
    cli(prog_name="kzcopyright")


if __name__ == "__main__":  # pragma: no cover
    main()
