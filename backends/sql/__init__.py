"""The SQL backend (``sqlite://``, ``postgresql+psycopg://``, ``mysql+pymysql://``, ``mariadb+pymysql://``).

See docs/databases.md. Schema migrations: ``python -m metricscore.backends.sql migrate URL``.
"""

from .backend import SQLBackend
from .migrate import upgrade
from .repository import SQLRepository

__all__ = ["SQLBackend", "SQLRepository", "upgrade"]
