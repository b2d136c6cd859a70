"""The definitions commands: ``validate``, ``plan``, ``apply``, ``export``, ``import``, ``schema``.

Click commands over :mod:`metricscore.definitions`; registered on the ``metricscore`` command
(``cli.add_command(...)`` for each of :data:`COMMANDS`), and runnable on their own as
``python -m metricscore.definitions``. Every failure is one line on stderr, never a traceback.

Exit statuses: ``validate`` 0 valid, 1 invalid, 2 usage error; ``plan`` 0 no changes, 2 changes,
1 any error including usage errors (Terraform's detailed exit codes); the others 0 on success,
1 on failure, 2 on usage errors.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, NoReturn, TypeVar

import click

from ..errors import MetricscoreError, ValidationError
from . import importing
from .files import expand_paths
from .kinds import KINDS
from .loading import load, validate
from .planning import Change, DefinitionsInvalid, apply, export, plan
from .problems import render_problems
from .schema import dumps as schema_text
from .targets import Target, open_target

__all__ = ["COMMANDS", "definitions_cli", "main"]

T = TypeVar("T")
FORMATS = click.Choice(["text", "json", "github"])


class Failed(click.ClickException):
    """A one-line error with a chosen exit status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


class Command(click.Command):
    """A usage error is one line (``error: ...``) with exit status 2."""

    usage_exit_code = 2

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise Failed(f"{info_name or self.name}: {error.format_message()}", self.usage_exit_code) from None


class PlanCommand(Command):
    """Usage errors exit 1, not 2: for ``plan``, 2 means "there are changes"."""

    usage_exit_code = 1


def _usage(message: str, exit_code: int = 2) -> NoReturn:
    raise Failed(message, exit_code)


def _fail(error: BaseException) -> NoReturn:
    if isinstance(error, MetricscoreError):
        # A library an extra installs is missing: a mistake in the setup, as a usage mistake is.
        missing_extra = isinstance(error.__cause__, ModuleNotFoundError)
        raise Failed(" ".join((error.message or type(error).__name__).split()), 2 if missing_extra else 1)
    raise Failed(" ".join(str(error).split()) or type(error).__name__)


@contextmanager
def _target(url: str, *, reads: str | None = None) -> Iterator[Target]:
    """The target at ``url``. A command that only ``reads`` it creates nothing there (no file,
    table or migration): where no store exists yet, ``reads="empty"`` (plan, validate) reads an
    empty one, as apply would find it, and ``reads="records"`` (export) fails."""
    from .targets import _redact

    try:
        target = _opened(url, reads)
    except MetricscoreError as error:
        raise Failed(f"target {_redact(url)}: {' '.join((error.message or type(error).__name__).split())}") from None
    try:
        yield target
    finally:
        with suppress(MetricscoreError):
            target.close()


def _opened(url: str, reads: str | None) -> Target:
    if reads is None or url.lower().startswith(("http://", "https://")):
        return open_target(url)
    import os

    from ..api import open_store
    from ..cli import absent_file, missing_store, open_existing
    from .targets import StoreTarget, _redact

    absent = absent_file(url)
    if absent is not None and not os.path.isdir(os.path.dirname(os.path.abspath(absent))):
        return open_target(url)  # apply could not create it either: the store's own error says why
    missing = missing_store(url)
    if missing is None:
        target = StoreTarget(open_existing(url), close=True)
        target.description = _redact(url)
        return target
    if reads != "empty":
        raise Failed(f"nothing to read: {missing}")
    click.echo(f"note: {missing}; reading it as empty, as apply would find it", err=True)
    target = StoreTarget(open_store("memory://"), close=True)
    target.description = _redact(url)
    return target


def _scope(values: Sequence[str]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _usage(f"--scope: expected NAME=VALUE, got {item!r}")
        text = value.strip()
        scope[name.strip()] = int(text) if text.lstrip("-").isdigit() else text
    return scope


def _progress(total: int, label: str) -> Any:
    """A rich progress bar on a terminal (stderr), else nothing."""
    if total < 2 or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def _rows(label: str) -> Any:
    """A rich counter of rows done (a stream's total is unknown) on a terminal (stderr), else nothing."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn(label),
        TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )


#: Seconds between the progress lines of long work when stderr is not a terminal (CI logs).
TICK_SECONDS = 10.0
#: From this many definitions on, plan and apply say on stderr that planning has started.
PLAN_NOTICE = 1000


def _ticker(total: int | None, label: str, unit: str = "") -> Callable[[int], None]:
    """Without a terminal, a line on stderr at most every :data:`TICK_SECONDS` (none for quick work)."""
    last = time.monotonic()
    of = "" if total is None else f" of {total}"

    def tick(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= TICK_SECONDS:
            last = now
            click.echo(f"{label}: {done}{of}{unit} done", err=True)

    return tick


@contextmanager
def counted(total: int | None, label: str, unit: str = "") -> Iterator[Callable[[int], None]]:
    """``advance(count)`` for work of ``total`` steps (``None``: unknown, rows of a stream): a bar
    or a counter on a terminal, else a line on stderr now and then (:func:`_ticker`); stdout stays
    the command's own."""
    bar = _progress(total, f"{label}{unit}" if unit else label) if total is not None else _rows(label)
    if bar is None:
        tick = _ticker(total, label, unit)
        done = 0

        def add(count: int) -> None:
            nonlocal done
            done += count
            tick(done)

        yield add
        return
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda count: bar.advance(task, count)


#: From this many bytes of definition files on, validate and translate show how far reading is.
READ_NOTICE = 1_000_000


@contextmanager
def reading(paths: Iterable[str]) -> Iterator[Callable[[int], None] | None]:
    """Progress of reading large definition files (``-`` is stdin, of unknown size), in kB: the
    ``progress`` of :func:`~.loading.load` and :func:`~.files.read_text`; ``None`` for small files."""
    sizes = [path.stat().st_size for path in expand_paths([p for p in paths if p != "-"]) if path.is_file()]
    if sum(sizes) < READ_NOTICE:
        yield None
        return
    read = 0
    if not sys.stderr.isatty():  # a log gets a line every TICK_SECONDS only: say at once what runs
        click.echo(f"reading {sum(sizes) // 1000} kB of definition files ...", err=True)
    with counted(sum(sizes) // 1000, "reading", " kB") as advance:

        def told(characters: int) -> None:  # characters: as many bytes for the ASCII of most files
            nonlocal read
            before, read = read // 1000, read + characters
            if read // 1000 > before:
                advance(read // 1000 - before)

        yield told


# -- validate -------------------------------------------------------------------------------------


@click.command("validate", cls=Command)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--target", "target_url", help="also look up Statsig component metrics in this target")
@click.option("--format", "style", type=FORMATS, default="text", show_default=True, help="how problems are shown")
def validate_command(paths: tuple[str, ...], target_url: str | None, style: str) -> None:
    """Check definition files: every problem of every file, as file:line:column: field: message [code]."""
    try:
        with reading(paths) as told:
            loaded = load(paths, progress=told)
        if len(loaded.definitions) >= PLAN_NOTICE:  # the rules across definitions take a while too
            click.echo(f"checking {len(loaded.definitions)} definition(s) ...", err=True)
        if target_url is None:
            problems = validate(loaded)
        else:
            with _target(target_url, reads="empty") as target:
                problems = validate(loaded, target=target)
    except MetricscoreError as error:
        _fail(error)
    output = render_problems(problems, style)
    if output:
        click.echo(output)
    if style == "text":
        files = f"in {len(loaded.files)} file(s)"
        if problems:  # only the valid definitions are counted: say so
            summary = f"{len(problems)} problem(s); {len(loaded.definitions)} valid definition(s) {files}"
        else:
            summary = f"{len(loaded.definitions)} definition(s) {files}: valid"
        click.echo(summary, err=True)
    if problems:
        raise click.exceptions.Exit(1)


# -- plan / apply ---------------------------------------------------------------------------------


def _planned(paths: Sequence[str], target: Target, prune: bool) -> Any:
    loaded = load(paths)
    if len(loaded.definitions) >= PLAN_NOTICE:  # reading the target takes a while: say what runs
        click.echo(f"planning {len(loaded.definitions)} definition(s) against {target.description} ...", err=True)
    try:
        return plan(loaded, target, prune=prune)
    except DefinitionsInvalid as error:
        click.echo(render_problems(error.problems, "text"))
        raise Failed(str(error.message)) from None
    except MetricscoreError as error:
        _fail(error)


@click.command("plan", cls=PlanCommand)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--target", "target_url", required=True, help="store URL or http(s) base URL")
@click.option("--prune", is_flag=True, help="also remove managed records that are no longer in the files")
@click.option("--format", "style", type=click.Choice(["text", "json"]), default="text", show_default=True)
def plan_command(paths: tuple[str, ...], target_url: str, prune: bool, style: str) -> None:
    """Show what apply would change. Exit 0: no changes, 2: changes, 1: error."""
    with _target(target_url, reads="empty") as target:
        planned = _planned(paths, target, prune)
    click.echo(json.dumps(planned.as_dict(), indent=2, default=str) if style == "json" else planned.render())
    raise click.exceptions.Exit(0 if planned.empty else 2)


@click.command("apply", cls=Command)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--target", "target_url", required=True, help="store URL or http(s) base URL")
@click.option("--prune", is_flag=True, help="also remove managed records that are no longer in the files")
@click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
def apply_command(paths: tuple[str, ...], target_url: str, prune: bool, yes: bool) -> None:
    """Make the target match the files; stops at the first failure with a report."""
    with _target(target_url) as target:
        planned = _planned(paths, target, prune)
        click.echo(planned.render())
        if planned.empty:
            return
        if not yes:
            if not sys.stdin.isatty():
                raise Failed("not applied: pass --yes to apply without a terminal to confirm on")
            if not click.confirm("Apply these changes?", default=False):
                raise Failed("not applied")
        total = len(planned.changes)
        done = 0
        try:
            with counted(total, "applying") as step:

                def advance(change: Change) -> None:
                    nonlocal done
                    done += 1
                    step(1)

                report = apply(planned, target, progress=advance)
        except KeyboardInterrupt:  # each change stands alone: say how far it got
            raise Failed(f"interrupted after {done} of {total} change(s); run plan to see what is left", 130) from None
    click.echo(report.render())
    if not report.ok:
        raise Failed(f"{report.failed.label if report.failed else ''}: {report.error}")


# -- export / import ------------------------------------------------------------------------------


@click.command("export", cls=Command)
@click.option("--target", "target_url", required=True, help="store URL or http(s) base URL")
@click.option("--resource", required=True, type=click.Choice(sorted(KINDS)), help="the resource to export")
@click.option("--scope", "scope_items", multiple=True, metavar="NAME=VALUE", help="e.g. --scope project_id=1")
@click.option(
    "--format",
    "style",
    type=click.Choice(["yaml", "json", "csv"]),
    default="yaml",
    show_default=True,
    help="csv: PostHog accounts only",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="file to write (default: stdout)")
@click.option("--managed-only", is_flag=True, help="only records that carry the ownership marker")
def export_command(
    target_url: str, resource: str, scope_items: tuple[str, ...], style: str, output: str | None, managed_only: bool
) -> None:
    """Write the records of one resource and scope as a definition file (or an accounts CSV)."""
    import io

    scope = _scope(scope_items)
    if style == "csv" and resource != importing.ACCOUNTS:
        _usage("--format csv is for posthog.accounts only")
    buffer = io.StringIO()
    with _target(target_url, reads="records") as target, _counter("exporting") as advance:
        try:
            if style == "csv":
                from .loading import _service

                kind = KINDS[resource]
                collection = target.collection(kind, dict(_service(kind, scope).scope))
                records = (kind.marker.strip(dict(r)) for r in _counted(collection.records(), advance))
                count = importing.write_csv(records, buffer)
            else:
                document = export(target, resource, scope, managed_only=managed_only, progress=advance)
                count = len(document["definitions"])
                if style == "json":
                    buffer.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
                else:
                    _dump_yaml(document, buffer)
        except ValidationError as error:
            raise Failed(f"bad --scope: {error.message}") from None
        except MetricscoreError as error:
            _fail(error)
    _write(buffer.getvalue(), output)
    click.echo(f"exported {count} record(s) of {resource}", err=True)


def _counted(items: Iterable[T], advance: Callable[[int], None] | None) -> Iterator[T]:
    for item in items:
        if advance is not None:
            advance(1)
        yield item


def _dump_yaml(document: Mapping[str, Any], handle: Any) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.dump(document, handle)


def _write(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise Failed(f"cannot write {output}: {error.strerror or error}") from None


@click.command("import", cls=Command)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--target", "target_url", required=True, help="store URL or http(s) base URL")
@click.option("--scope", "scope_items", multiple=True, metavar="NAME=VALUE", help="CSV only: the accounts' project_id")
@click.option("--dry-run", is_flag=True, help="report what would change; write nothing")
@click.option("--format", "style", type=click.Choice(["text", "json"]), default="text", show_default=True)
def import_command(
    paths: tuple[str, ...], target_url: str, scope_items: tuple[str, ...], dry_run: bool, style: str
) -> None:
    """Bulk upsert from definition files, or PostHog accounts from CSV (--scope project_id=N)."""
    csv_paths = [p for p in paths if p.lower().endswith(".csv")]
    other = [p for p in paths if not p.lower().endswith(".csv")]
    scope = _scope(scope_items)
    if csv_paths and not scope:
        _usage("a CSV import needs --scope project_id=N")
    if scope and not csv_paths:  # a definition file names its own scope: --scope would be ignored
        _usage("--scope applies to CSV files only; a definition file names its scope in each document")
    report = importing.ImportReport(dry_run=dry_run)
    problems: list[Any] = []
    with _target(target_url) as target:
        try:
            with _counter("importing") as advance:
                if other:
                    part, problems = importing.import_files(other, target, dry_run=dry_run, progress=advance)
                    _merge(report, part)
                for path in csv_paths:
                    _merge(report, importing.import_csv(path, scope, target, dry_run=dry_run, progress=advance))
        except importing.CsvFileError as error:
            raise Failed(" ".join(error.text.split())) from None
        except ValueError as error:
            _fail(error)
        except OSError as error:
            raise Failed(f"cannot read {error.filename}: {error.strerror or error}") from None
        except ValidationError as error:
            raise Failed(f"bad --scope: {error.message}") from None
        except MetricscoreError as error:
            _fail(error)
    if style == "json":
        click.echo(json.dumps({**report.as_dict(), "problems": [p.as_dict() for p in problems]}, indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
        for line in report.errors:
            click.echo(line)
        click.echo(report.summary())
    if problems or not report.ok:
        raise click.exceptions.Exit(1)


def _merge(report: importing.ImportReport, part: importing.ImportReport) -> None:
    report.created += part.created
    report.updated += part.updated
    report.unchanged += part.unchanged
    report.failed += part.failed
    report.errors.extend(part.errors[: max(0, importing.MAX_KEPT_ERRORS - len(report.errors))])


def _counter(label: str) -> Any:
    """A rich progress counter (rows done; the total of a stream is unknown) on a terminal; else
    a line now and then (see :func:`_ticker`)."""
    return counted(None, label)


# -- schema ---------------------------------------------------------------------------------------


@click.command("schema", cls=Command)
def schema_command() -> None:
    """Print the JSON Schema of definition files (for editors)."""
    click.echo(schema_text(), nl=False)


COMMANDS: tuple[click.Command, ...] = (
    validate_command,
    plan_command,
    apply_command,
    export_command,
    import_command,
    schema_command,
)


@click.group("metricscore", help="Definitions as code: validate, plan, apply, export, import.")
def definitions_cli() -> None:
    pass


for _command in COMMANDS:
    definitions_cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the definitions commands as the ``metricscore`` command runs them; returns the exit status."""
    from ..cli import run

    return run(definitions_cli, argv, "python -m metricscore.definitions")
