"""``metricscore translate --from R --to R [--strict] FILE...``: definition files from one dialect to another.

Reads the definitions-as-code format (a document is ``{resource, scope, definitions}``; a YAML file
holds one or more documents, ``---`` separated, or a list of them; a JSON file one document or a
list), translates every definition of the documents whose ``resource`` is ``--from``, and writes
the same format for ``--to`` (YAML, or JSON with ``--format json``) to stdout or ``--output``.
What each definition loses is printed on stderr, one line per item, so a team can export from one
target, translate, and plan against another.

Exit status: 0 translated; 1 when a definition is invalid, refused by the target, or (``--strict``)
not exact — nothing is written then (``--skip-refused`` leaves refused definitions out, lists them
and writes the rest); 2 on a usage mistake (unknown resource, unreadable file, a
document that is not ``{resource, scope, definitions}``). Every error is one line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TextIO

import click

from ..definitions.cli import PLAN_NOTICE, counted, reading
from ..definitions.files import read_text
from ..errors import MetricscoreError, ValidationError
from ..meaning import TranslationError, codec
from .translator import translate

__all__ = ["translate_command"]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _yaml() -> Any:
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]
    except ModuleNotFoundError:  # pragma: no cover - PyYAML ships with the [cli] extra
        raise click.UsageError("reading YAML needs PyYAML: pip install 'metricscore[cli]'") from None
    return yaml


def _read(name: str, progress: Callable[[int], None] | None = None) -> tuple[list[Any], bool]:
    """The documents of one file (``-`` is stdin) and whether it was JSON, read as the definitions
    commands read them (YAML 1.2 values, positions in errors)."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise click.UsageError(f"{name}: cannot read: {_one_line(str(error))}") from None
    is_json = name.endswith(".json") or (name == "-" and text.lstrip()[:1] in ("{", "["))
    documents, problems = read_text(name, text, is_json=is_json, progress=progress)
    if problems and problems[0].code != "empty":
        raise click.UsageError(_one_line(str(problems[0])))
    return [document.body for document in documents], is_json


def _scope_options(values: tuple[str, ...]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--scope takes KEY=VALUE, not {item!r}")
        scope[key.strip()] = _integer(raw)
    return scope


def _integer(raw: str) -> int | str:
    """``raw`` as an integer when it is one in ASCII digits (``-5``, ``12``), else as given: ``²``,
    ``--5`` or a number of thousands of digits stay text rather than failing ``int()``."""
    text = raw.strip()
    digits = text[1:] if text.startswith("-") else text
    if digits.isascii() and digits.isdigit() and len(digits) <= 18:
        return int(text)
    return raw


def _check_resource(option: str, resource: str) -> None:
    try:
        codec(resource)
    except MetricscoreError as error:
        raise click.UsageError(f"{option} {resource}: {_one_line(str(error))}") from None


def _of(document: Any, resource: str) -> bool:
    """Whether ``document`` holds definitions of ``resource``."""
    return (
        isinstance(document, dict)
        and document.get("resource") == resource
        and isinstance(document.get("definitions"), list)
    )


def _label(definition: Any) -> str:
    name = definition.get("name") if isinstance(definition, dict) else None
    return f" ({json.dumps(name, ensure_ascii=False)})" if isinstance(name, str) else ""


@click.command("translate")
@click.option("--from", "source", required=True, metavar="RESOURCE", help="source resource, e.g. statsig.metrics")
@click.option("--to", "target", required=True, metavar="RESOURCE", help="target resource, e.g. sequence.usage_metrics")
@click.option("--strict", is_flag=True, help="fail (exit 1) unless every definition translates exactly")
@click.option(
    "--skip-refused", is_flag=True, help="leave out (and list) definitions the target refuses, write the rest"
)
@click.option("--scope", "scopes", multiple=True, metavar="KEY=VALUE", help="the target scope (repeatable)")
@click.option("--format", "output_format", type=click.Choice(["yaml", "json"]), default=None,
              help="output format (default: json when every input is JSON, else yaml)")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="output file")
@click.option("-v", "--verbose", is_flag=True, help="list every change (context and defaults too), not only losses")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def translate_command(
    source: str,
    target: str,
    strict: bool,
    skip_refused: bool,
    scopes: tuple[str, ...],
    output_format: str | None,
    output: str,
    verbose: bool,
    files: tuple[str, ...],
) -> int:
    """Translate the definitions of FILE... from one metric resource to another."""
    _check_resource("--from", source)
    _check_resource("--to", target)
    extra_scope = _scope_options(scopes)
    target_scope_keys = codec(target).scope
    out_documents: list[dict[str, Any]] = []
    failures: list[str] = []
    notes: list[str] = []
    all_json = True
    context_changes = 0
    with reading(files) as told:  # large files take seconds to parse: say how far it is
        read = [(name, *_read(name, told)) for name in files]
    total = sum(len(d["definitions"]) for _, documents, _ in read for d in documents if _of(d, source))
    if total >= PLAN_NOTICE and not sys.stderr.isatty():  # a log gets a line every 10 s only
        click.echo(f"translating {total} definition(s) ...", err=True)
    with counted(total, "translating") if total >= PLAN_NOTICE else nullcontext(None) as step:
        for name, documents, is_json in read:
            all_json = all_json and is_json
            for index, document in enumerate(documents):
                where = f"{name}: document {index + 1}"
                if not isinstance(document, dict) or not isinstance(document.get("definitions"), list):
                    raise click.UsageError(f"{where}: expected {{resource, scope, definitions: [...]}}")
                if document.get("resource") != source:
                    notes.append(f"{where}: skipped: resource {document.get('resource')!r} is not {source}")
                    continue
                scope = document.get("scope") or {}
                if not isinstance(scope, dict):
                    raise click.UsageError(f"{where}: scope must be a mapping")
                translated: list[Any] = []
                for position, definition in enumerate(document["definitions"]):
                    if step is not None:
                        step(1)
                    at = f"{where}: definitions[{position}]{_label(definition)}"
                    try:
                        payload, report = translate(definition, source, target, strict=strict)
                    except ValidationError as error:
                        failures.append(f"{at}: invalid {source}: {_one_line(str(error))}")
                        continue
                    except TranslationError as error:
                        if skip_refused:
                            notes.append(f"{at}: skipped: {_one_line(str(error))}")
                        else:
                            failures.append(f"{at}: {_one_line(str(error))}")
                        continue
                    except MetricscoreError as error:  # pragma: no cover - translate raises the two above
                        failures.append(f"{at}: {_one_line(str(error))}")
                        continue
                    translated.append(payload)
                    notes.extend(f"{at}: {line}" for line in report.lines(losses_only=not verbose))
                    context_changes += bool(report.context)
                new_scope = {key: value for key, value in scope.items() if key in target_scope_keys}
                new_scope.update(extra_scope)
                missing = [key for key in target_scope_keys if key not in new_scope]
                if missing:
                    notes.append(f"{where}: scope: {', '.join(missing)} not set (pass --scope KEY=VALUE)")
                out_documents.append({"resource": target, "scope": new_scope, "definitions": translated})
    if not out_documents:
        raise click.UsageError(f"no document of resource {source} in {', '.join(files)}")
    for line in notes:
        click.echo(line, err=True)
    if context_changes and not verbose:
        click.echo(f"note: {context_changes} definition(s) are evaluated per {target}'s own unit, window and "
                   "supersede rule (see --verbose)", err=True)  # fmt: skip
    if failures:
        for line in failures:
            click.echo(f"error: {line}", err=True)
        raise click.ClickException(f"{len(failures)} definition(s) not translated; nothing written")
    chosen = output_format or ("json" if all_json else "yaml")
    if total >= PLAN_NOTICE:  # writing YAML takes about as long as translating
        written = sum(len(document["definitions"]) for document in out_documents)
        click.echo(f"writing {written} definition(s) as {chosen.upper()} ...", err=True)
    _write(out_documents, output, chosen)
    return 0


def _write(documents: list[dict[str, Any]], output: str, output_format: str) -> None:
    if output_format == "json":
        body = json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, ensure_ascii=False) + "\n"
    else:
        body = _yaml().safe_dump_all(documents, sort_keys=False, allow_unicode=True)
    stream: TextIO
    if output == "-":
        click.echo(body, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as stream:
            stream.write(body)
    except OSError as error:
        raise click.UsageError(f"{output}: cannot write: {_one_line(str(error))}") from None
