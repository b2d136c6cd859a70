"""Bulk upsert: definition files, or a CSV of PostHog accounts, streamed in batches.

Unlike ``apply``, an import never removes anything and does not stop at a bad row: each row is
created, updated (matched by natural key) or left alone, and every row that fails is reported
with its position. Rows are read and written one batch at a time, so a file of any size runs in
bounded memory; what is kept per target record is its id and a digest of its managed fields.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MetricscoreError, ValidationError
from .kinds import Kind, kind_named, unknown_resource
from .loading import _service, load
from .problems import Problem, shown
from .targets import Collection, Target, checked_target

__all__ = [
    "CSV_COLUMNS",
    "CsvFileError",
    "ImportReport",
    "Row",
    "csv_rows",
    "import_csv",
    "import_files",
    "import_rows",
]

ACCOUNTS = "posthog.accounts"
BATCH_SIZE = 500
MAX_KEPT_ERRORS = 1000


def _csv_columns() -> tuple[str, ...]:
    from ..dialects.posthog.accounts import ROLES, STRING_PROPERTIES

    roles = tuple(f"{role}.{part}" for role in ROLES for part in ("id", "email"))
    return ("name", "external_id", "tags", *roles, *STRING_PROPERTIES)


#: The columns of an accounts CSV (``tags``: comma-separated, or a JSON array; roles as
#: ``<role>.id`` and ``<role>.email``). ``name`` is required; every other column is optional.
CSV_COLUMNS = _csv_columns()


@dataclass
class Row:
    """One payload to import and where it came from (``file:line`` or ``file:line:column``)."""

    where: str
    payload: Any
    #: A problem found while reading the row (the payload is then not sent).
    problem: str | None = None


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    dry_run: bool = False
    #: The first :data:`MAX_KEPT_ERRORS` failures as ``where: message`` lines.
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    def fail(self, where: str, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(f"{where}: {message}")

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        text = (
            f"{self.total} row(s): {self.created} {verb} created, {self.updated} {verb} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed."
        )
        hidden = self.failed - len(self.errors)
        return text + (f" ({hidden} more error(s) not shown)" if hidden > 0 else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "dry_run": self.dry_run,
            "errors": self.errors,
        }


def _digest(value: Any) -> bytes:
    return hashlib.blake2b(json.dumps(value, sort_keys=True, default=str).encode(), digest_size=12).digest()


def _fingerprint(kind: Kind, fields: Mapping[str, Any]) -> bytes:
    """12 bytes for every managed field, then 12 for those the vendor cannot update in place."""
    fixed = {} if kind.updatable is None else {k: v for k, v in fields.items() if k not in kind.updatable}
    return _digest(fields) + _digest(fixed)


class _Index:
    """Natural key -> (id, digest of the managed fields) of every record of one scope."""

    def __init__(self, kind: Kind, collection: Collection) -> None:
        self.entries: dict[str, tuple[str, bytes]] = {}
        #: The natural keys imported so far: a second row with one of them is an error.
        self.seen: set[str] = set()
        for record in collection.records():
            if kind.archived(record):
                continue
            projected = kind.marker.strip(kind.project(record))
            self.entries[kind.natural_key(projected)] = (str(record["id"]), _fingerprint(kind, projected))


def import_rows(
    rows: Iterable[Row],
    resource: str,
    scope: Mapping[str, Any],
    target: Target,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every row's payload into ``resource`` within ``scope``; never stops at a bad row.

    ``rows`` must be an iterable of :class:`Row` objects: anything else is a ValidationError
    naming ``rows``, raised before the batch holding it is written (rows are streamed: earlier
    batches stay written). ``target`` must be a Target and ``batch_size`` a positive integer.
    """
    target = checked_target(target)
    if type(batch_size) is not int or batch_size < 1:
        raise ValidationError({"batch_size": [f"Expected a positive integer, not {shown(batch_size)}."]})
    given: Any = rows  # a caller's value, as it is
    try:
        stream = iter(given)
    except Exception:  # a caller's object may raise anything
        raise ValidationError({"rows": [f"Expected an iterable of Row objects, not {type(given).__name__}."]}) from None
    kind = kind_named(resource)
    if kind is None:
        message = unknown_resource(resource)
        raise ValidationError({"resource": [message]})
    service = _service(kind, scope, "scope")
    collection = target.collection(kind, dict(service.scope))
    index = _Index(kind, collection)
    report = ImportReport(dry_run=dry_run)
    batch: list[Row] = []
    for number, row in enumerate(stream):
        batch.append(_checked_row(number, row))
        if len(batch) >= batch_size:
            _batch(batch, kind, service, collection, index, report, dry_run)
            if progress is not None:
                progress(len(batch))
            batch = []
    if batch:
        _batch(batch, kind, service, collection, index, report, dry_run)
        if progress is not None:
            progress(len(batch))
    return report


def _checked_row(index: int, row: Any) -> Row:
    """``row`` when it is a :class:`Row` (a text ``where``, no problem or a text one), else a
    ValidationError naming ``rows``."""
    if not isinstance(row, Row):
        message = f"Expected an iterable of Row objects; item {index} is a {type(row).__name__}."
    elif type(row.where) is not str or (row.problem is not None and type(row.problem) is not str):
        message = f"Item {index}: a Row's where must be text, and its problem None or text."
    else:
        return row
    raise ValidationError({"rows": [message]})


@dataclass
class _Write:
    row: Row
    key: str
    digest: bytes
    #: The matched record's id (an update), or ``None`` (a create).
    id: str | None
    payload: dict[str, Any]


def _batch(
    rows: list[Row],
    kind: Kind,
    service: Any,
    collection: Collection,
    index: _Index,
    report: ImportReport,
    dry_run: bool,
) -> None:
    """Validate and match every row, then write the batch in one unit of work.

    When the batch's unit of work fails, nothing of it stays, and its rows are written again one
    at a time, so that only the rows at fault are reported.
    """
    writes: list[_Write] = []
    for row in rows:
        write = _classify(row, kind, service, index, report)
        if write is not None:
            writes.append(write)
    if dry_run:
        for write in writes:
            _done(write, write.id or "", index, report)
        return
    try:
        with collection.batch() as batched:
            ids = [_send(kind, batched, write) for write in writes]
    except MetricscoreError:
        for write in writes:
            try:
                _done(write, _send(kind, collection, write), index, report)
            except MetricscoreError as error:
                report.fail(write.row.where, f"{error.message or type(error).__name__} [{error.code}]")
        return
    for write, new_id in zip(writes, ids, strict=True):
        _done(write, new_id, index, report)


def _classify(row: Row, kind: Kind, service: Any, index: _Index, report: ImportReport) -> _Write | None:
    """The write a row needs, or ``None`` (a bad row, reported; or nothing to change)."""
    if row.problem is not None:
        report.fail(row.where, row.problem)
        return None
    try:
        desired = kind.normalize(service.validate(row.payload, "create"))
    except ValidationError as error:
        report.fail(row.where, "; ".join(f"{'.'.join(p) or 'row'}: {m} [{m.code}]" for p, m in error.flat()))
        return None
    want = kind.marker.strip(desired)
    key = kind.natural_key(want)
    if key in index.seen:
        report.fail(row.where, f"duplicate natural key {key!r} in this import [duplicate]")
        return None
    index.seen.add(key)
    found = index.entries.get(key)
    digest = _fingerprint(kind, want)
    if found is None:
        return _Write(row, key, digest, None, kind.marker.add(dict(row.payload)))
    if found[1] == digest:
        report.unchanged += 1
        return None
    if found[1][12:] != digest[12:]:
        fixed = ", ".join(sorted(set(want) - (kind.updatable or set())))
        message = f"{kind.name} cannot change {fixed} in place; 'apply' replaces the record [not_updatable]"
        report.fail(row.where, message)
        return None
    return _Write(row, key, digest, found[0], want)


def _send(kind: Kind, collection: Collection, write: _Write) -> str:
    if write.id is None:
        return str(collection.create(write.payload)["id"])
    _update(kind, collection, write.id, write.payload)
    return write.id


def _done(write: _Write, id: str, index: _Index, report: ImportReport) -> None:
    index.entries[write.key] = (id, write.digest)
    if write.id is None:
        report.created += 1
    else:
        report.updated += 1


def _update(kind: Kind, collection: Collection, id: str, want: dict[str, Any]) -> None:
    payload = kind.marker.add(dict(want))
    if kind.update_style == "put":
        collection.replace(id, payload)
    else:
        if kind.updatable is not None:
            payload = {name: value for name, value in payload.items() if name in kind.updatable}
        collection.update(id, payload)


def import_files(
    paths: Iterable[str | Path],
    target: Target,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[ImportReport, list[Problem]]:
    """Upsert the definitions of YAML/JSON files; a file that cannot be read is reported as a problem."""
    target = checked_target(target)
    loaded = load(paths)
    report = ImportReport(dry_run=dry_run)
    # Payload problems are per-row failures; problems of a whole file or document are returned.
    file_problems = [p for p in loaded.problems if p.field in ("file", "syntax", "document", "resource", "definitions")]
    file_problems += [p for p in loaded.problems if p.field.startswith("scope")]
    for problem in loaded.problems:
        if problem not in file_problems:
            report.fail(f"{problem.file}:{problem.line}:{problem.column}", f"{problem.field}: {problem.message}")
    for group in loaded.scopes().values():
        kind, scope = group[0].kind, group[0].scope
        rows = (Row(d.where, d.payload) for d in group)
        part = import_rows(rows, kind.name, scope, target, dry_run=dry_run, progress=progress)
        report.created += part.created
        report.updated += part.updated
        report.unchanged += part.unchanged
        report.failed += part.failed
        report.errors.extend(part.errors[: max(0, MAX_KEPT_ERRORS - len(report.errors))])
    return report, file_problems


class CsvFileError(ValidationError, ValueError):
    """An accounts CSV file that cannot be imported (unreadable, not UTF-8, not CSV, unknown
    columns): a ValidationError naming ``file``; a ValueError too, as it always was. ``text`` is
    the problem alone, naming the file."""

    def __init__(self, text: str) -> None:
        super().__init__({"file": [text]})
        self.text = text


def csv_rows(path: str | Path) -> Iterator[Row]:
    """The rows of an accounts CSV as payloads, one at a time. The header must name known columns;
    a file that cannot be read as such is a :class:`CsvFileError`."""
    if not isinstance(path, (str, Path)):  # open() would take an int as a file descriptor (0: stdin)
        raise CsvFileError(f"Expected the path of a CSV file, not {type(path).__name__}.")
    name = str(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed by the with below
    except (OSError, ValueError) as error:  # ValueError: a NUL, a lone surrogate in the name
        raise CsvFileError(f"cannot read {name}: {getattr(error, 'strerror', None) or error}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            yield from _csv_file_rows(name, reader)
        except UnicodeDecodeError as error:  # decoded a block at a time, ahead of the rows: no line number
            raise CsvFileError(f"{name}: not UTF-8 text ({error.reason})") from None
        except csv.Error as error:  # a field over csv.field_size_limit(), say
            raise CsvFileError(f"{name}:{reader.line_num}: not a valid CSV file ({error})") from None
        except OSError as error:
            raise CsvFileError(f"cannot read {name}: {error.strerror or error}") from None


def _csv_file_rows(name: str, reader: Any) -> Iterator[Row]:
    """The rows after a header of known columns (a :class:`CsvFileError` naming the file otherwise)."""
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [column.strip() for column in header]
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if unknown or "name" not in header:
        problem = (
            f"unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(CSV_COLUMNS)}"
            if unknown
            else "the header has no 'name' column"
        )
        raise CsvFileError(f"{name}:1: {problem}")
    for cells in reader:
        where = f"{name}:{reader.line_num}"
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield Row(where, None, f"expected {len(header)} cells, found {len(cells)}")
            continue
        yield _csv_row(where, dict(zip(header, cells, strict=True)))


def _csv_row(where: str, cells: dict[str, str]) -> Row:
    payload: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for column, raw in cells.items():
        value = raw.strip()
        if not value:
            continue
        if column in ("name", "external_id"):
            payload[column] = value
        elif column == "tags":
            if value.startswith("["):
                try:
                    payload["tags"] = json.loads(value)
                except ValueError:
                    return Row(where, None, "tags: not a JSON array")
            else:
                payload["tags"] = [tag.strip() for tag in value.split(",") if tag.strip()]
        elif "." in column:
            role, part = column.split(".", 1)
            entry = properties.setdefault(role, {})
            if part == "id":
                try:
                    entry["id"] = int(value)
                except ValueError:
                    return Row(where, None, f"{column}: A valid integer is required.")
            else:
                entry["email"] = value
        else:
            properties[column] = value
    if properties:
        payload["properties"] = properties
    return Row(where, payload)


def import_csv(
    path: str | Path,
    scope: Mapping[str, Any],
    target: Target,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert the PostHog accounts of a CSV file (see :data:`CSV_COLUMNS`), streamed in batches."""
    return import_rows(
        csv_rows(path), ACCOUNTS, scope, target, dry_run=dry_run, batch_size=batch_size, progress=progress
    )


def write_csv(records: Iterable[Mapping[str, Any]], handle: Any) -> int:
    """Accounts (wire shape) as CSV rows with :data:`CSV_COLUMNS`; returns how many were written."""
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for record in records:
        properties = record.get("properties") or {}
        row: list[str] = []
        for column in CSV_COLUMNS:
            if column in ("name", "external_id"):
                row.append(record.get(column) or "")
            elif column == "tags":
                tags = [str(tag) for tag in record.get("tags") or []]
                row.append(json.dumps(tags) if any("," in tag for tag in tags) else ",".join(tags))
            elif "." in column:
                role, part = column.split(".", 1)
                entry = properties.get(role) or {}
                value = entry.get(part)
                row.append("" if value is None else str(value))
            else:
                row.append(properties.get(column) or "")
        writer.writerow(row)
        count += 1
    return count
