"""Add the HTTP layer's API keys and rate-limit hits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-03
"""

from __future__ import annotations

from alembic import op

# metricscore.backends is installed from ./backends (package_dir), which mypy cannot map.
from metricscore.backends.sql.schema import (  # type: ignore[import-not-found]
    create_table_objects,
    drop_table_objects,
)
from metricscore.table import Column, ColumnType, TableSpec

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of the specs as they are at this revision (never import the live spec: a later
# change to it must come with its own revision).
HTTP_API_KEYS = TableSpec(
    name="http_api_keys",
    scope=("kind",),
    columns=(
        Column("kind", ColumnType.STRING, nullable=False, length=16),
        Column("id", ColumnType.STRING, nullable=False, length=16),
        Column("secret_hash", ColumnType.STRING, nullable=False, length=64),
        Column("name", ColumnType.STRING, nullable=False, length=200),
        Column("scopes", ColumnType.JSON, nullable=False),
        Column("projects", ColumnType.JSON),
        Column("subject", ColumnType.STRING, length=200),
        Column("user_id", ColumnType.INTEGER),
        Column("created_at", ColumnType.DATETIME, nullable=False),
        Column("revoked_at", ColumnType.DATETIME),
    ),
    orderings=(("created_at", "id"),),
)

HTTP_RATE_LIMIT_HITS = TableSpec(
    name="http_rate_limit_hits",
    scope=("bucket",),
    columns=(
        Column("bucket", ColumnType.STRING, nullable=False, length=255),
        Column("id", ColumnType.STRING, nullable=False, length=32),
        Column("window", ColumnType.INTEGER, nullable=False),
    ),
    orderings=(("window", "id"),),
)

TABLES = [HTTP_API_KEYS, HTTP_RATE_LIMIT_HITS]


def upgrade() -> None:
    for table in TABLES:
        create_table_objects(op.get_bind(), table)


def downgrade() -> None:
    for table in reversed(TABLES):
        drop_table_objects(op.get_bind(), table)
