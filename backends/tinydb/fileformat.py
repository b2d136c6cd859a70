"""The TinyDB file's format: one document per line, its shape check, and the date-time codec."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from metricscore.repository import Record
from metricscore.table import ColumnType, TableSpec

__all__ = ["DocumentCodec", "document_of_line", "render_database", "render_document", "shape_problem"]


def shape_problem(data: Any) -> str | None:
    """Why ``data`` is not ``{table: {"<int>": {document}}}``, or ``None``."""
    if not isinstance(data, dict):
        return f"the top level is a JSON {_json_kind(data)}, not an object of tables"
    for table, docs in data.items():
        if not isinstance(docs, dict):
            return f"table {table!r} is a JSON {_json_kind(docs)}, not an object of documents"
        for key, doc in docs.items():
            if not key.isdecimal():
                return f"table {table!r} has the document id {key!r}, which is not an integer"
            if not isinstance(doc, dict):
                return f"document {key} of table {table!r} is a JSON {_json_kind(doc)}, not an object"
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


# -- encoding ----------------------------------------------------------------------------------------


def render_document(key: str, doc: Mapping[str, Any]) -> bytes:
    """One document's line of the file. Non-ASCII text stays readable; a string that cannot be
    UTF-8 (a lone surrogate) makes that line fall back to ``\\u`` escapes."""
    try:
        return b'    "' + key.encode() + b'": ' + json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return b'    "' + key.encode() + b'": ' + json.dumps(doc).encode("ascii")


def document_of_line(line: bytes) -> Any:
    return json.loads(line.split(b": ", 1)[1])


def render_database(tables: Mapping[str, Mapping[str, bytes]]) -> bytes:
    """The whole file from each table's rendered document lines."""
    if not tables:
        return b"{}\n"
    blocks = []
    for name, lines in tables.items():
        head = b"  " + json.dumps(name, ensure_ascii=False).encode("utf-8", "surrogatepass") + b": {"
        blocks.append(head + b"\n" + b",\n".join(lines.values()) + b"\n  }" if lines else head + b"}")
    return b"{\n" + b",\n".join(blocks) + b"\n}\n"


class DocumentCodec:
    """Record <-> JSON document for one table: DATETIME columns become ISO-8601 strings with
    microseconds and their UTC offset, which ``datetime.fromisoformat`` turns back into an equal
    aware datetime. Everything else is stored as it is."""

    def __init__(self, table: TableSpec) -> None:
        self.datetimes = tuple(c.name for c in table.columns if c.type is ColumnType.DATETIME)

    def encode(self, record: Record) -> dict[str, Any]:
        if not self.datetimes:
            return record
        doc = dict(record)
        for name in self.datetimes:
            value = doc.get(name)
            if isinstance(value, datetime):
                doc[name] = value.isoformat(timespec="microseconds")
        return doc

    def decode(self, doc: dict[str, Any]) -> Record:
        for name in self.datetimes:
            value = doc.get(name)
            if value is not None:
                if not isinstance(value, str):
                    raise ValueError(f"column {name!r} holds {value!r}, not a date-time string")
                doc[name] = datetime.fromisoformat(value)
        return doc
