"""Helpers for testing against database servers (used by metricscore's tests; usable by yours).

Server tests read the URL of a server from an environment variable and skip, naming the
variable, when it is not set. They run in a dedicated database (``metricscore_test`` by default;
``METRICSCORE_TEST_DATABASE`` names another, so two checkouts can test on one server at once)
created on first use, so nothing else on the server is touched; :func:`clear` empties every
table between tests (much faster than migrating again).
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .migrate import VERSION_TABLE

__all__ = ["SERVER_ENV", "clear", "database_url", "dedicated_database", "server_url"]

#: database kind -> environment variable holding a server URL
SERVER_ENV = {
    "postgresql": "METRICSCORE_TEST_POSTGRESQL_URL",
    "mysql": "METRICSCORE_TEST_MYSQL_URL",
}
TEST_DATABASE = os.environ.get("METRICSCORE_TEST_DATABASE") or "metricscore_test"


def server_url(kind: str) -> str | None:
    """The URL in the kind's environment variable, or ``None``."""
    return os.environ.get(SERVER_ENV[kind]) or None


def skip_reason(kind: str) -> str:
    example = {
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
    }[kind]
    return f"{kind} server tests are off: set {SERVER_ENV[kind]} (e.g. {example}) to run them"


def database_url(kind: str, directory: Path) -> str:
    """A database URL of ``kind``: a SQLite file in ``directory``, or the dedicated test database on
    the server named by the kind's environment variable (the test is skipped when it is not set)."""
    if kind == "sqlite":
        return f"sqlite:///{directory}/metrics.db"
    url = server_url(kind)
    if url is None:
        import pytest  # only the tests that ask for a server need pytest

        pytest.skip(skip_reason(kind))
    return dedicated_database(url)


def dedicated_database(url: str, name: str = TEST_DATABASE) -> str:
    """The URL of database ``name`` on the server of ``url``, creating it if missing."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    engine = sa.create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if backend == "postgresql":
                exists = connection.exec_driver_sql(
                    "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": name}
                ).first()
                if not exists:
                    with suppress(sa.exc.ProgrammingError):  # created concurrently
                        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            elif backend in ("mysql", "mariadb"):
                connection.exec_driver_sql(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
                )
            else:
                raise ValueError(f"not a server URL: {url!r}")
    finally:
        engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def clear(engine: Engine) -> None:
    """Delete every row of every table but the schema version (keeps the schema)."""
    with engine.connect() as connection:
        names = [n for n in sa.inspect(connection).get_table_names() if n != VERSION_TABLE]
        if not names:
            return
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("TRUNCATE " + ", ".join(f'"{n}"' for n in names))
        else:
            for name in names:
                if name.endswith("__fts") or "__fts_" in name:
                    continue  # SQLite FTS5 shadow tables follow their content table's triggers
                quoted = f"`{name}`" if engine.dialect.name in ("mysql", "mariadb") else f'"{name}"'
                connection.exec_driver_sql(f"DELETE FROM {quoted}")
        connection.commit()
