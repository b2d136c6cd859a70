"""Database errors become metricscore errors, per driver, with no server.

Each row hands :func:`translate_errors` a driver exception shaped like the real one (psycopg's
``sqlstate`` and ``diag``, PyMySQL's ``args = (errno, message)``, sqlite3's result code and
message text), wrapped by SQLAlchemy as it is at run time, and names the metricscore error and the
fields a caller must see. The constraint map is filled as the SQL backend fills it for a table
``accounts`` with a unique key ``uq_accounts_name`` on ``(project_id, name)``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

sa = pytest.importorskip("sqlalchemy", reason="needs the sql extra: pip install 'metricscore[sql]'")

from metricscore.backends.sql.errors import (  # noqa: E402
    ConstraintMap,
    sqlite_refusal,
    sqlite_result_code,
    translate_driver_error,
    translate_errors,
)
from metricscore.errors import ConfigurationError, Conflict, MetricscoreError, StorageError  # noqa: E402

KEY = ("project_id", "name")


def constraints() -> ConstraintMap:
    """As the backend fills it for ``accounts`` (see ``SQLTable.constraint_fields``/``_columns``):
    the primary key by its name and by its columns, and the unique key likewise."""
    found = ConstraintMap()
    found.add(
        "accounts",
        {"pk_accounts": ("id",), "uq_accounts_name": KEY},
        {("project_id", "id"): ("id",), ("project_id", "name"): KEY},
    )
    return found


# -- drivers' exceptions, shaped like the real ones ------------------------------------------------


class PsycopgError(Exception):
    """psycopg 3: ``sqlstate`` and a ``diag`` with the constraint's (and column's) name."""

    def __init__(
        self, message: str, sqlstate: str, constraint_name: str | None = None, column_name: str | None = None
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.diag = SimpleNamespace(constraint_name=constraint_name, column_name=column_name, table_name="accounts")


class PyMySQLError(Exception):
    """PyMySQL: ``args == (errno, message)``."""


class SQLiteError(Exception):
    """sqlite3 (Python 3.11+): the extended result code and its name; the text names the columns."""

    def __init__(self, message: str, code: int, name: str) -> None:
        super().__init__(message)
        self.sqlite_errorcode = code
        self.sqlite_errorname = name


def psycopg(sqlstate: str, constraint: str | None = None, column: str | None = None) -> PsycopgError:
    return PsycopgError(f"{sqlstate} violation", sqlstate, constraint, column)


@dataclass(frozen=True)
class Row:
    driver_error: Exception
    expected: type[MetricscoreError]
    fields: tuple[str, ...] = ()
    #: for errors other than IntegrityError: the SQLAlchemy class that wraps it
    wrapper: Any = None


ROWS: dict[str, Row] = {
    # psycopg (PostgreSQL)
    "psycopg unique key by name": Row(psycopg("23505", "uq_accounts_name"), Conflict, KEY),
    "psycopg primary key by name": Row(psycopg("23505", "pk_accounts"), Conflict, ("id",)),
    "psycopg unique violation of a constraint it does not know": Row(psycopg("23505", "uq_other"), Conflict, ()),
    "psycopg unique violation without a constraint name": Row(psycopg("23505", None), Conflict, ()),
    "psycopg not-null violation": Row(psycopg("23502", None, "name"), StorageError),
    "psycopg foreign-key violation": Row(psycopg("23503", "fk_accounts_project"), StorageError),
    "psycopg check violation": Row(psycopg("23514", "ck_accounts_name"), StorageError),
    "psycopg lost connection": Row(psycopg("08006"), StorageError, wrapper=sa.exc.OperationalError),
    "psycopg lock timeout": Row(psycopg("55P03"), StorageError, wrapper=sa.exc.OperationalError),
    # PyMySQL (MariaDB, MySQL)
    "pymysql duplicate, MariaDB's key name": Row(
        PyMySQLError(1062, "Duplicate entry '1-Acme' for key 'uq_accounts_name'"), Conflict, KEY
    ),
    "pymysql duplicate, MySQL 8's table.key name": Row(
        PyMySQLError(1062, "Duplicate entry '1-Acme' for key 'accounts.uq_accounts_name'"), Conflict, KEY
    ),
    "pymysql duplicate primary key": Row(PyMySQLError(1062, "Duplicate entry '1-x' for key 'PRIMARY'"), Conflict, ()),
    "pymysql duplicate with an unparseable message": Row(PyMySQLError(1062, "Duplicate entry"), Conflict, ()),
    "pymysql duplicate with no message": Row(PyMySQLError(1062), Conflict, ()),
    "pymysql column cannot be null": Row(PyMySQLError(1048, "Column 'name' cannot be null"), StorageError),
    "pymysql foreign key": Row(
        PyMySQLError(1452, "Cannot add or update a child row: a foreign key constraint fails"), StorageError
    ),
    "pymysql server gone": Row(
        PyMySQLError(2006, "MySQL server has gone away"), StorageError, wrapper=sa.exc.OperationalError
    ),
    "pymysql lock wait timeout": Row(
        PyMySQLError(1205, "Lock wait timeout exceeded; try restarting transaction"),
        StorageError,
        wrapper=sa.exc.OperationalError,
    ),
    # sqlite3
    "sqlite unique key by its columns": Row(
        SQLiteError("UNIQUE constraint failed: accounts.project_id, accounts.name", 2067, "SQLITE_CONSTRAINT_UNIQUE"),
        Conflict,
        KEY,
    ),
    "sqlite primary key by its columns": Row(
        SQLiteError("UNIQUE constraint failed: accounts.project_id, accounts.id", 1555, "SQLITE_CONSTRAINT_PRIMARYKEY"),
        Conflict,
        ("id",),
    ),
    "sqlite unique key of another table": Row(
        SQLiteError("UNIQUE constraint failed: other.project_id, other.name", 2067, "SQLITE_CONSTRAINT_UNIQUE"),
        Conflict,
        (),
    ),
    "sqlite unique columns in another order": Row(
        SQLiteError("UNIQUE constraint failed: accounts.name, accounts.project_id", 2067, "SQLITE_CONSTRAINT_UNIQUE"),
        Conflict,
        (),
    ),
    "sqlite not null": Row(
        SQLiteError("NOT NULL constraint failed: accounts.name", 1299, "SQLITE_CONSTRAINT_NOTNULL"), StorageError
    ),
    "sqlite check": Row(SQLiteError("CHECK constraint failed: name", 275, "SQLITE_CONSTRAINT_CHECK"), StorageError),
    "sqlite busy": Row(
        SQLiteError("database is locked", 5, "SQLITE_BUSY"), StorageError, wrapper=sa.exc.OperationalError
    ),
}


def _wrapped(row: Row) -> Exception:
    """The driver error as SQLAlchemy raises it: the DBAPI class's counterpart, ``orig`` set."""
    wrapper = row.wrapper or sa.exc.IntegrityError
    error: Exception = wrapper("INSERT INTO accounts ...", {}, row.driver_error)
    return error


@pytest.mark.parametrize("case", list(ROWS))
def test_each_driver_error_becomes_the_metricscore_error_a_caller_expects(case: str) -> None:
    row = ROWS[case]
    wrapped = _wrapped(row)
    with pytest.raises(MetricscoreError) as raised, translate_errors(constraints()):
        raise wrapped
    error = raised.value
    assert type(error) is row.expected, f"{case}: {error!r}"
    assert error.__cause__ is wrapped  # chained: the driver's error stays on the traceback
    if isinstance(error, Conflict):
        assert error.fields == row.fields
    else:
        assert str(row.driver_error) in str(error)


@pytest.mark.parametrize(
    "case", [name for name, row in ROWS.items() if row.wrapper is None and row.expected is Conflict]
)
def test_fields_of_names_the_violated_key(case: str) -> None:
    row = ROWS[case]
    assert constraints().fields_of(_wrapped(row)) == row.fields


@pytest.mark.parametrize(
    "case", [name for name, row in ROWS.items() if row.wrapper is None and row.expected is StorageError]
)
def test_fields_of_is_none_for_integrity_errors_that_are_no_unique_violation(case: str) -> None:
    assert constraints().fields_of(_wrapped(ROWS[case])) is None


def test_an_error_that_is_not_the_databases_passes_through_untouched() -> None:
    with pytest.raises(KeyError), translate_errors(constraints()):
        raise KeyError("not a database error")


# -- driver errors raised beside SQLAlchemy (the raw read path, BEGIN/COMMIT on the driver) -------


class DriverError(Exception):
    """The driver module's base ``Error`` class."""


class IntegrityError(DriverError):
    """Named as DB-API drivers name it: SQLAlchemy picks its wrapper class by this name."""


class UniqueViolation(IntegrityError):
    """psycopg's ``errors.UniqueViolation``, with its ``sqlstate`` and ``diag``."""

    def __init__(self, message: str, constraint_name: str) -> None:
        super().__init__(message)
        self.sqlstate = "23505"
        self.diag = SimpleNamespace(constraint_name=constraint_name, column_name=None, table_name="accounts")


def _dialect() -> Any:
    return SimpleNamespace(loaded_dbapi=SimpleNamespace(Error=DriverError), dbapi_exception_translation_map={})


@pytest.mark.parametrize(
    ("driver_error", "expected", "fields"),
    [
        (UniqueViolation("duplicate key", "uq_accounts_name"), Conflict, KEY),
        (DriverError("server closed the connection unexpectedly"), StorageError, None),
    ],
    ids=["unique violation", "any other driver error"],
)
def test_driver_errors_are_translated_as_sqlalchemy_would_have_wrapped_them(
    driver_error: Exception, expected: type[MetricscoreError], fields: tuple[str, ...] | None
) -> None:
    with pytest.raises(MetricscoreError) as raised:
        translate_driver_error(driver_error, _dialect(), constraints(), "SELECT 1")
    error = raised.value
    assert type(error) is expected
    assert isinstance(error.__cause__, sa.exc.DBAPIError) and error.__cause__.orig is driver_error
    if fields is not None:
        assert isinstance(error, Conflict) and error.fields == fields


class DuplicateKeyError(DriverError):
    """A driver whose classes have other names: its dialect maps them onto the DB-API's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.sqlstate = "23505"
        self.diag = SimpleNamespace(constraint_name="uq_accounts_name", column_name=None, table_name="accounts")


def test_the_dialects_class_name_map_is_honoured() -> None:
    dialect = _dialect()
    dialect.dbapi_exception_translation_map = {"DuplicateKeyError": "IntegrityError"}
    with pytest.raises(Conflict) as raised:
        translate_driver_error(DuplicateKeyError("duplicate key"), dialect, constraints(), "INSERT")
    assert raised.value.fields == KEY


@pytest.mark.parametrize("invalidated", [True, False])
def test_a_lost_connection_is_marked_on_the_wrapper(invalidated: bool) -> None:
    with pytest.raises(StorageError) as raised:
        translate_driver_error(DriverError("gone"), _dialect(), constraints(), "SELECT 1", invalidated=invalidated)
    cause = raised.value.__cause__
    assert isinstance(cause, sa.exc.DBAPIError) and cause.connection_invalidated is invalidated


def test_a_driver_integrity_error_without_sqlstate_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="refused the write"):
        translate_driver_error(IntegrityError("NOT NULL"), _dialect(), constraints(), "INSERT")


def test_an_error_that_is_not_the_drivers_is_left_to_the_caller() -> None:
    assert translate_driver_error(KeyError("x"), _dialect(), constraints(), "SELECT 1") is None


# -- SQLite files that cannot be used at all ----------------------------------------------------------


def _storage_error(code: int) -> StorageError:
    """What opening the file raised: a StorageError chained to SQLAlchemy's wrapper of sqlite3's."""
    driver = SQLiteError("unable to open database file", code, "SQLITE_X")
    wrapper = sa.exc.OperationalError("PRAGMA journal_mode", {}, driver)
    error = StorageError(f"Database error: OperationalError: {driver}")
    error.__cause__ = wrapper
    return error


def _path(tmp_path: Path, where: str) -> str:
    places = {"missing directory": tmp_path / "nope" / "db.sqlite", "directory": tmp_path, "file": tmp_path / "x.db"}
    return os.fspath(places[where])


@pytest.mark.parametrize(
    ("code", "where", "expected", "reason"),
    [
        (14, "missing directory", ConfigurationError, "the directory .* does not exist"),
        (14, "directory", ConfigurationError, "it is a directory"),
        (14, "file", ConfigurationError, "SQLite cannot open or create it"),
        (8, "file", ConfigurationError, "it is read-only"),
        (8 | (1 << 8), "file", ConfigurationError, "it is read-only"),  # SQLITE_READONLY_RECOVERY
        (3, "file", ConfigurationError, "permission denied"),
        (26, "file", StorageError, "not a SQLite database"),
    ],
    ids=["cantopen-no-dir", "cantopen-dir", "cantopen", "readonly", "readonly-extended", "perm", "notadb"],
)
def test_a_sqlite_file_that_cannot_be_used_is_refused_saying_why(
    tmp_path: Path, code: int, where: str, expected: type[MetricscoreError], reason: str
) -> None:
    path = _path(tmp_path, where)
    refusal = sqlite_refusal(path, _storage_error(code))
    assert type(refusal) is expected
    assert path in str(refusal)
    assert re.search(reason, str(refusal)), str(refusal)


@pytest.mark.parametrize("code", [5, 6, 10, 11], ids=["busy", "locked", "ioerr", "corrupt"])
def test_other_sqlite_failures_are_no_refusal_and_the_original_error_stands(tmp_path: Path, code: int) -> None:
    assert sqlite_refusal(_path(tmp_path, "file"), _storage_error(code)) is None


def test_the_result_code_is_found_along_the_chain_and_masked_to_the_primary_code() -> None:
    assert sqlite_result_code(_storage_error(1038)) == 14  # SQLITE_CANTOPEN_CONVPATH
    assert sqlite_result_code(StorageError("no cause")) is None
