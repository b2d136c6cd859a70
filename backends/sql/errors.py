"""The one place where SQLAlchemy and driver errors become metricscore errors.

A unique violation becomes :class:`~metricscore.errors.Conflict` naming the violated key's columns;
every other database failure (lost connection, lock timeout, ...) becomes
:class:`~metricscore.errors.StorageError`. The original is always chained (``raise ... from``).
:func:`sqlite_refusal` says why a SQLite file cannot be opened at all. Each driver's errors are
unit-tested in ``tests/sql/test_errors_unit.py``, with no server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from metricscore.errors import ConfigurationError, Conflict, MetricscoreError, StorageError

__all__ = [
    "ConstraintMap",
    "sqlite_refusal",
    "sqlite_result_code",
    "translate_driver_error",
    "translate_errors",
]

_MYSQL_DUPLICATE = re.compile(r"for key '(?:[^']*\.)?([^'.]+)'")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")
_UNIQUE_SQLSTATE = "23505"
_MYSQL_DUPLICATE_CODE = 1062


class ConstraintMap:
    """Which spec columns each unique constraint protects (filled as tables are first used)."""

    def __init__(self) -> None:
        self.by_name: dict[str, tuple[str, ...]] = {}
        #: ``(table, (column, ...))`` as SQLite reports them -> fields.
        self.by_columns: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    def add(
        self,
        table: str,
        by_name: Mapping[str, tuple[str, ...]],
        by_columns: Mapping[tuple[str, ...], tuple[str, ...]],
    ) -> None:
        self.by_name.update(by_name)
        for columns, fields in by_columns.items():
            self.by_columns[(table, columns)] = fields

    def fields_of(self, error: sa.exc.IntegrityError) -> tuple[str, ...] | None:
        """The fields of the unique key ``error`` reports, or ``None`` if it is no unique violation."""
        original = error.orig
        diag = getattr(original, "diag", None)
        if diag is not None:  # psycopg
            if getattr(original, "sqlstate", None) != _UNIQUE_SQLSTATE:
                return None
            return self.by_name.get(diag.constraint_name or "", ())
        args = getattr(original, "args", ())
        if args and args[0] == _MYSQL_DUPLICATE_CODE:  # PyMySQL
            match = _MYSQL_DUPLICATE.search(str(args[1]) if len(args) > 1 else "")
            return self.by_name.get(match.group(1), ()) if match else ()
        match = _SQLITE_UNIQUE.search(str(original))
        if match:
            qualified = [part.strip() for part in match.group(1).split(",")]
            table = qualified[0].rsplit(".", 1)[0] if qualified else ""
            columns = tuple(part.rsplit(".", 1)[-1] for part in qualified)
            return self.by_columns.get((table, columns), ())
        return None


@contextmanager
def translate_errors(constraints: ConstraintMap) -> Iterator[None]:
    """Run a database call, raising only metricscore errors."""
    try:
        yield
    except sa.exc.IntegrityError as error:
        fields = constraints.fields_of(error)
        if fields is None:
            raise StorageError(f"The database refused the write: {error.orig}") from error
        raise Conflict("A record with these values already exists.", fields=fields) from error
    except sa.exc.SQLAlchemyError as error:
        detail = getattr(error, "orig", None) or error
        raise StorageError(f"Database error: {type(detail).__name__}: {detail}") from error


def translate_driver_error(
    error: BaseException, dialect: Any, constraints: ConstraintMap, sql: str, *, invalidated: bool = False
) -> None:
    """Raise ``error``, a driver's exception from ``sql`` run beside SQLAlchemy, as SQLAlchemy
    would have wrapped it, translated (a metricscore error chained to the wrapper). Returns when
    ``error`` is not the driver's: the caller re-raises it as it is."""
    if not isinstance(error, dialect.loaded_dbapi.Error):
        return
    wrapped = sa.exc.DBAPIError.instance(
        sql, None, error, dialect.loaded_dbapi.Error, connection_invalidated=invalidated, dialect=dialect
    )
    with translate_errors(constraints):
        raise wrapped from error


#: SQLite's primary result codes (https://sqlite.org/rescode.html) that the backend acts on.
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_NOTADB = 3, 5, 6, 8, 14, 26


def sqlite_result_code(error: BaseException | None) -> int | None:
    """The primary SQLite result code of ``error`` or of an error it was raised from."""
    seen = 0
    while error is not None and seen < 10:
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF
        error = getattr(error, "orig", None) or error.__cause__
        seen += 1
    return None


def sqlite_refusal(database: str | None, error: StorageError) -> MetricscoreError | None:
    """A clear error when a SQLite file cannot be used at all (``None`` otherwise): a
    ConfigurationError for a path that cannot work, a StorageError for a corrupt file."""
    code = sqlite_result_code(error)
    uri = database is not None and database.startswith("file:")
    path = database if uri or not database else os.path.abspath(database)
    directory = None if uri or not path else os.path.dirname(path)
    if code == SQLITE_CANTOPEN and directory and not os.path.isdir(directory):
        reason = f"the directory {directory} does not exist"
    elif code == SQLITE_CANTOPEN and path and os.path.isdir(path):
        reason = "it is a directory"
    elif code == SQLITE_CANTOPEN:
        reason = "SQLite cannot open or create it (may this process create files in its directory?)"
    elif code == SQLITE_READONLY:
        reason = (
            "it is read-only; metricscore writes to it, and SQLite keeps -wal and -shm files beside it, "
            "so the file and its directory must be writable"
        )
    elif code == SQLITE_PERM:
        reason = "permission denied"
    elif code == SQLITE_NOTADB:
        return StorageError(
            f"Cannot use the SQLite database {path}: the file is not a SQLite database (or is corrupt)."
        )
    else:
        return None
    return ConfigurationError(f"Cannot use the SQLite database {path}: {reason}. ({error.message})")
