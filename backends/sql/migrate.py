"""Alembic migrations shipped inside the package, and the ``migrate`` command.

::

    python -m metricscore.backends.sql migrate sqlite:///metrics.db
    metricscore-migrate migrate postgresql+psycopg://user@host/db  # the same, as a console script
    metricscore-migrate current sqlite:///metrics.db               # print the revision

The version is kept in the table ``metricscore_alembic_version``, so a database that also holds an
application's own Alembic history is not disturbed. Concurrent upgrades are serialised by a lock
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock; MariaDB/MySQL: ``GET_LOCK``).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from metricscore.errors import MetricscoreError, StorageError

__all__ = [
    "VERSION_TABLE",
    "MigrationRefused",
    "current_revision",
    "head_revision",
    "main",
    "migrate_url",
    "schema_lock",
    "upgrade",
]

VERSION_TABLE = "metricscore_alembic_version"
MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_NAME = "metricscore.schema"
_PG_LOCK_KEY = 0x6D657472  # "metr"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["version_table"] = VERSION_TABLE
    return config


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()


@contextmanager
def schema_lock(connection: Connection) -> Iterator[None]:
    """Hold the schema lock for the rest of the connection's transaction (DDL is serialised)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        if not connection.in_transaction():
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield
    elif dialect == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        yield
    elif dialect in ("mysql", "mariadb"):
        connection.exec_driver_sql(f"SELECT GET_LOCK('{_LOCK_NAME}', 300)")
        try:
            yield
        finally:
            connection.exec_driver_sql(f"SELECT RELEASE_LOCK('{_LOCK_NAME}')")
    else:
        yield


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision`` (default: the newest); returns the revision reached."""
    target = head_revision() if revision == "head" else revision
    with engine.connect() as connection:
        if current_revision(connection) == target:
            connection.rollback()
            return target
        connection.rollback()
        with schema_lock(connection):
            if current_revision(connection) != target:  # another process may have just done it
                command.upgrade(alembic_config(connection), revision)
            reached = current_revision(connection)
        connection.commit()
    return reached


class MigrationRefused(Exception):
    """A migration that was not done: an unknown revision, or a downgrade not asked for."""


def _revision_order() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def migrate_url(url: str, revision: str = "head", *, allow_downgrade: bool = False) -> str | None:
    """Bring the database at ``url`` to ``revision`` (``head``, ``base`` or a revision id).

    Going back to an older revision drops the newer revisions' tables, so it is refused with
    :class:`MigrationRefused` unless ``allow_downgrade``. Returns the revision reached (``None``: base).
    ``base`` on a SQLite file that does not exist creates no file.
    """
    from .backend import SQLBackend

    order = _revision_order()
    target = order[-1] if revision == "head" else None if revision == "base" else revision
    if target is not None and target not in order:
        raise MigrationRefused(f"unknown revision {revision!r}; known: base, {', '.join(order)}, head")
    if target is None and _missing_sqlite_file(url) is not None:
        return None  # a file that does not exist is at base already: opening it would create it
    backend = SQLBackend.from_url(url, create_schema=False)
    try:
        with backend.engine.connect() as connection:
            current = current_revision(connection)
            connection.rollback()
        position = {name: index for index, name in enumerate(order)}
        current_at = -1 if current is None else position.get(current, len(order))
        target_at = -1 if target is None else position[target]
        if target_at >= current_at:
            return upgrade(backend.engine, target or "head") if target_at > current_at else current
        if not allow_downgrade:
            raise MigrationRefused(
                f"the database is at {current}, newer than {revision}; going back drops tables and their data "
                "(pass --downgrade to do it)"
            )
        with backend.engine.connect() as connection:
            with schema_lock(connection):
                command.downgrade(alembic_config(connection), target or "base")
                reached = current_revision(connection)
            connection.commit()
        return reached
    except sa.exc.SQLAlchemyError as error:  # a server that is down, a file that cannot be opened
        raise _refusal(backend.engine.url, error) from error
    finally:
        backend.close()


def _refusal(url: sa.engine.URL, error: sa.exc.SQLAlchemyError) -> MetricscoreError:
    """The metricscore error for a database ``migrate_url`` could not use, as opening a store gives."""
    from .errors import sqlite_refusal

    detail = getattr(error, "orig", None) or error
    storage = StorageError(f"Database error: {type(detail).__name__}: {detail}")
    storage.__cause__ = error
    refusal = sqlite_refusal(url.database, storage) if url.get_backend_name() == "sqlite" else None
    return refusal or storage


def _missing_sqlite_file(url: str) -> str | None:
    """The absolute path of the SQLite file ``url`` names when it does not exist (else ``None``)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None  # opening it says what is wrong
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:") or database.startswith("file:"):
        return None
    path = os.path.abspath(database)
    return None if os.path.exists(path) or not os.path.isdir(os.path.dirname(path)) else path


def main(argv: Sequence[str] | None = None, prog: str = "python -m metricscore.backends.sql") -> int:
    """The command (``prog``: its name in usage lines); returns the exit status."""
    parser = argparse.ArgumentParser(prog=prog, description="Manage a metricscore SQL database's schema.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("migrate", help="upgrade the schema (default: to the newest revision)")
    up.add_argument("url", help="SQLAlchemy URL, e.g. sqlite:///metrics.db or postgresql+psycopg://u@h/db")
    up.add_argument("--revision", default="head")
    up.add_argument("--downgrade", action="store_true", help="allow going back to an older revision (drops tables)")
    cur = sub.add_parser("current", help="print the database's schema revision")
    cur.add_argument("url")
    args = parser.parse_args(argv)

    from .backend import SQLBackend

    try:
        if args.command == "migrate":
            reached = migrate_url(args.url, args.revision, allow_downgrade=args.downgrade)
            print(f"{args.url}: at revision {reached or 'base'}")
            return 0
        missing = _missing_sqlite_file(args.url)
        if missing is not None:  # reading a revision must not create the file
            print(f"note: no SQLite database exists at {missing} (nothing created)", file=sys.stderr)
            print("(empty)")
            return 0
        backend = SQLBackend.from_url(args.url, create_schema=False)
        try:
            with backend.engine.connect() as connection:
                print(current_revision(connection) or "(empty)")
        except sa.exc.SQLAlchemyError as error:
            raise _refusal(backend.engine.url, error) from error
        finally:
            backend.close()
    except (MigrationRefused, MetricscoreError) as error:  # one line, as the metricscore command prints it
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1 if isinstance(error, StorageError) else 2
    return 0
