"""Hand-written driver code for PostHog accounts: the limit the library is measured against.

The same SQL the library runs (the same columns, filters, order and count), on the bare driver
(``sqlite3`` / ``psycopg``), building the same wire JSON bytes with the fastest encoder at hand
(:func:`metricscore.wire.dumps`, orjson when installed). Nothing here is used by the library.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

try:
    from metricscore.wire import dumps
except ImportError:  # a checkout from before the fast encoder (for before/after tables)
    from orjson import dumps

__all__ = ["RawAccounts", "dumps", "raw_postgresql", "raw_sqlite"]

COLUMNS = (
    "project_id, id, name, external_id, properties, tags, created_at, created_by, updated_at,"
    " csm_id, account_executive_id, account_owner_id"
)
_loads = json.loads


def _iso_sqlite(text: str) -> str:
    """SQLite's stored ``2024-01-01 12:00:00.123456`` as the wire's ``2024-01-01T12:00:00.123456Z``."""
    if text.endswith(".000000"):
        text = text[:-7]
    return f"{text[:10]}T{text[11:]}Z"


def _iso_datetime(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z"


class RawAccounts:
    """``get`` / ``page`` / ``create`` / ``update`` for one project, as hand-written driver code."""

    def __init__(
        self,
        connect: Callable[[], Any],
        placeholder: str,
        iso: Callable[[Any], str],
        decode_json: bool,
        begin: str | None,
    ) -> None:
        self.connection = connect()
        self.iso = iso
        self.decode_json = decode_json
        self.begin = begin
        p = placeholder
        self.get_sql = f"SELECT {COLUMNS} FROM posthog_accounts WHERE project_id = {p} AND id = {p}"
        self.page_sql = (
            f"SELECT {COLUMNS}, (SELECT count(*) FROM posthog_accounts WHERE project_id = {p}) AS _total"
            f" FROM posthog_accounts WHERE project_id = {p} ORDER BY created_at DESC, id DESC LIMIT {p} OFFSET {p}"
        )

    def _wire(self, row: Any) -> dict[str, Any]:
        iso = self.iso
        created = iso(row[6])
        properties, tags = (_loads(row[4]), _loads(row[5])) if self.decode_json else (row[4], row[5])
        return {
            "id": row[1],
            "name": row[2],
            "external_id": row[3],
            "properties": properties,
            "tags": tags,
            "created_at": created,
            "created_by": row[7],
            "updated_at": created if row[8] == row[6] else iso(row[8]),
        }

    def get(self, project_id: int, id: str) -> bytes:
        cursor = self.connection.execute(self.get_sql, (project_id, id))
        row = cursor.fetchone()
        return dumps(self._wire(row))

    def page(self, project_id: int, limit: int, offset: int) -> bytes:
        rows = self.connection.execute(self.page_sql, (project_id, project_id, limit, offset)).fetchall()
        count = rows[0][-1] if rows else 0
        return dumps({"count": count, "results": [self._wire(r) for r in rows]})

    def close(self) -> None:
        self.connection.close()


def raw_sqlite(path: str) -> RawAccounts:
    import sqlite3

    def connect() -> Any:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    return RawAccounts(connect, "?", _iso_sqlite, True, "BEGIN")


def raw_postgresql(dsn: str) -> RawAccounts:
    import psycopg

    def connect() -> Any:
        return psycopg.connect(dsn, autocommit=True)

    return RawAccounts(connect, "%s", _iso_datetime, False, None)
