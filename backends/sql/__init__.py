"""The SQL backend (``sqlite://``, ``postgresql+psycopg://``, ``mysql+pymysql://``, ``mariadb+pymysql://``).

See docs/databases.md. Schema migrations: ``python -m metricscore.backends.sql migrate URL``.
"""

from metricscore.registry import require_module

require_module("sqlalchemy", "sql", "the SQL backend")  # first: without it, say what to install

from .backend import SQLBackend  # noqa: E402
from .migrate import upgrade  # noqa: E402
from .repository import SQLRepository  # noqa: E402

__all__ = ["SQLBackend", "SQLRepository", "upgrade"]
