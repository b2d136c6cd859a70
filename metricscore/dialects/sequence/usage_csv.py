"""Sequence's CSV file of usage events (``POST /usage-events/csv``): read and check every row.

The format is the one Sequence's 2024-01-01 and 2024-05-09 specs describe: a header row, then
one event a row, comma-separated with ``"`` quoting, UTF-8 (a byte order mark is skipped).

- Required columns: ``eventType``, ``eventTimestamp`` (a date, ``2023-09-20``: its midnight UTC,
  or a date-time, ``2023-09-20T15:13:11+03:00``; without an offset, UTC) and ``customerAlias``.
- Optional: ``customerEventId``, and one column per event property named
  ``eventProperty#<name>`` (the spec's own examples spell it ``eventProperties#<name>``: both
  are read), ``<name>`` in snake_case.

An empty cell is an absent value. A column of another name is refused (a misspelt
``customerEventID`` must not silently drop the supersede rule). Each row becomes the body of one
``POST /usage-events`` and is checked as one; a bad row is reported under ``row <n>``, ``n``
counting the header as row 1 (as a spreadsheet shows the file), with the column of each bad
value; a problem of the file itself under ``file``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

from ...errors import ErrorMessage, ValidationError
from ...evaluation.events import TEXT_LENGTH
from ...limits import MAX_UPLOAD_BYTES, MAX_UPLOAD_COLUMNS, MAX_UPLOAD_ROWS

__all__ = ["PROPERTY_PREFIXES", "REQUIRED_COLUMNS", "read_csv"]

REQUIRED_COLUMNS = ("eventType", "eventTimestamp", "customerAlias")
OPTIONAL_COLUMNS = ("customerEventId",)
PROPERTY_PREFIXES = ("eventProperty#", "eventProperties#")
_SNAKE_CASE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FILE = "file"


def _file_error(*messages: str) -> ValidationError:
    return ValidationError({FILE: [ErrorMessage(message, "invalid") for message in messages]})


def _text(data: bytes | str) -> str:
    if not isinstance(data, (bytes, bytearray, str)):  # a caller's value, as it is
        raise _file_error(f"Expected the file as bytes or text, not {type(data).__name__}.")
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > MAX_UPLOAD_BYTES:
        message = f"Ensure the file has no more than {MAX_UPLOAD_BYTES} bytes."
        raise ValidationError({FILE: [ErrorMessage(message, "max_length")]})
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error("The file is not UTF-8 text.") from None


def _columns(header: list[str]) -> dict[int, str]:
    """Column position -> the body field it fills (``eventProperties.<name>`` for a property)."""
    problems: list[str] = []
    if len(header) > MAX_UPLOAD_COLUMNS:
        problems.append(f"Ensure the file has no more than {MAX_UPLOAD_COLUMNS} columns.")
    fields: dict[int, str] = {}
    for position, column in enumerate(header):
        prefix = next((p for p in PROPERTY_PREFIXES if column.startswith(p)), None)
        if prefix is not None:
            name = column[len(prefix) :]
            if not _SNAKE_CASE.fullmatch(name) or len(name) > TEXT_LENGTH:
                problems.append(f'Column "{column[:300]}": a property name is snake_case (a-z, 0-9 and _).')
                continue
            field = f"eventProperties.{name}"
        elif column in REQUIRED_COLUMNS or column in OPTIONAL_COLUMNS:
            field = column
        else:
            expected = ", ".join([*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "eventProperty#<name>"])
            problems.append(f'Unknown column "{column[:300]}": the columns are {expected}.')
            continue
        if field in fields.values():
            problems.append(f'Column "{column[:300]}" is given twice.')
        fields[position] = field
    missing = [c for c in REQUIRED_COLUMNS if c not in fields.values()]
    problems.extend(f"Missing the required column {column}." for column in missing)
    if problems:
        raise _file_error(*problems)
    return fields


def _body(row: list[str], fields: dict[int, str]) -> dict[str, Any]:
    """The ``POST /usage-events`` body of one row."""
    body: dict[str, Any] = {"eventProperties": {}}
    for position, field in fields.items():
        cell = row[position]
        if field.startswith("eventProperties."):
            if cell != "":
                body["eventProperties"][field.split(".", 1)[1]] = cell
        elif field == "eventTimestamp" and _DATE.fullmatch(cell):
            body[field] = f"{cell}T00:00:00Z"  # a date alone: its first instant, UTC
        else:
            body[field] = None if cell == "" else cell
    return body


def _row_errors(error: ValidationError, header: list[str], fields: dict[int, str]) -> dict[str, Any]:
    """The errors of a row's body, keyed by the column as the file names it."""
    column_of = {field: header[position] for position, field in fields.items()}
    named: dict[str, Any] = {}
    assert isinstance(error.errors, dict)
    for field, problems in error.errors.items():
        if field == "eventProperties" and isinstance(problems, dict):
            for name, messages in problems.items():
                named[column_of.get(f"eventProperties.{name}", field)] = messages
        else:
            named[column_of.get(field, field)] = problems
    return named


def read_csv(data: bytes | str, load: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    """The validated payloads (``load`` of each row's body), in the file's order. Raises a
    ValidationError naming every bad row and column, or the file's problem."""
    reader = csv.reader(io.StringIO(_text(data), newline=""), strict=True)
    payloads: list[dict[str, Any]] = []
    errors: dict[str, Any] = {}
    try:
        header = next(reader, None)
        if header is None:
            raise _file_error("The file is empty: expected a header row.")
        fields = _columns(header)
        for number, row in enumerate(reader, start=2):
            if not row:
                continue  # a blank line
            if len(payloads) + len(errors) >= MAX_UPLOAD_ROWS:
                message = f"Ensure the file has no more than {MAX_UPLOAD_ROWS} rows of events."
                raise ValidationError({FILE: [ErrorMessage(message, "max_length")]})
            if len(row) != len(header):
                message = f"Expected {len(header)} values (one per column), found {len(row)}."
                errors[f"row {number}"] = [ErrorMessage(message, "invalid")]
                continue
            body = _body(row, fields)
            problems: dict[str, Any] = {}
            if body.get("eventTimestamp") is None:  # optional in a JSON body, required in a file
                problems["eventTimestamp"] = [ErrorMessage("This field is required.", "required")]
            try:
                payload = load(body)
            except ValidationError as error:
                problems.update(_row_errors(error, header, fields))
            if problems:
                errors[f"row {number}"] = problems
            else:
                payloads.append(payload)
    except csv.Error as error:
        raise _file_error(f"Not a valid CSV file (line {reader.line_num}): {error}.") from None
    if errors:
        raise ValidationError(errors)
    if not payloads:
        raise _file_error("The file holds no events: expected rows after the header row.")
    return payloads
