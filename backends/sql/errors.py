"""The one place where SQLAlchemy and driver errors become metricscore errors.

A unique violation becomes :class:`~metricscore.errors.Conflict` naming the violated key's columns;
every other database failure (lost connection, lock timeout, ...) becomes
:class:`~metricscore.errors.StorageError`. The original is always chained (``raise ... from``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import sqlalchemy as sa

from metricscore.errors import ConfigurationError, Conflict, MetricscoreError, StorageError

__all__ = ["ConstraintMap", "translate_errors"]

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


_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 3, 5, 6, 8, 14, 26


def _sqlite_code(error: BaseException | None) -> int | None:
    """The primary SQLite result code of ``error`` or of an error it was raised from."""
    seen = 0
    while error is not None and seen < 10:
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF
        error = getattr(error, "orig", None) or error.__cause__
        seen += 1
    return None


def _sqlite_refusal(database: str | None, error: StorageError) -> MetricscoreError | None:
    """A clear error when a SQLite file cannot be used at all (``None`` otherwise): a
    ConfigurationError for a path that cannot work, a StorageError for a corrupt file."""
    code = _sqlite_code(error)
    uri = database is not None and database.startswith("file:")
    path = database if uri or not database else os.path.abspath(database)
    directory = None if uri or not path else os.path.dirname(path)
    if code == _SQLITE_CANTOPEN and directory and not os.path.isdir(directory):
        reason = f"the directory {directory} does not exist"
    elif code == _SQLITE_CANTOPEN and path and os.path.isdir(path):
        reason = "it is a directory"
    elif code == _SQLITE_CANTOPEN:
        reason = "SQLite cannot open or create it (may this process create files in its directory?)"
    elif code == _SQLITE_READONLY:
        reason = (
            "it is read-only; metricscore writes to it, and SQLite keeps -wal and -shm files beside it, "
            "so the file and its directory must be writable"
        )
    elif code == _SQLITE_PERM:
        reason = "permission denied"
    elif code == _SQLITE_NOTADB:
        return StorageError(
            f"Cannot use the SQLite database {path}: the file is not a SQLite database (or is corrupt)."
        )
    else:
        return None
    return ConfigurationError(f"Cannot use the SQLite database {path}: {reason}. ({error.message})")
