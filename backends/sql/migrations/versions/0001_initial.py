"""The first schema: PostHog accounts.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from alembic import op

# metricscore.backends is installed from ./backends (package_dir), which mypy cannot map.
from metricscore.backends.sql.schema import (  # type: ignore[import-not-found]
    create_table_objects,
    drop_table_objects,
)
from metricscore.table import Column, ColumnType, TableSpec, UniqueKey

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the specs as they are at this revision (never import the live spec: a later
# change to it must come with its own revision).
POSTHOG_ACCOUNTS = TableSpec(
    name="posthog_accounts",
    scope=("project_id",),
    columns=(
        Column("project_id", ColumnType.INTEGER, nullable=False),
        Column("id", ColumnType.STRING, nullable=False, length=36),
        Column("name", ColumnType.STRING, nullable=False, length=400, searchable=True),
        Column("external_id", ColumnType.STRING, length=400, searchable=True),
        Column("properties", ColumnType.JSON, nullable=False),
        Column("tags", ColumnType.TAGS, nullable=False),
        Column("created_at", ColumnType.DATETIME, nullable=False),
        Column("created_by", ColumnType.INTEGER),
        Column("updated_at", ColumnType.DATETIME, nullable=False),
        Column("csm_id", ColumnType.INTEGER),
        Column("account_executive_id", ColumnType.INTEGER),
        Column("account_owner_id", ColumnType.INTEGER),
    ),
    unique_keys=(UniqueKey("posthog_accounts_external_id", ("external_id",)),),
    orderings=(("name", "id"), ("created_at", "id"), ("updated_at", "id")),
)

TABLES = [POSTHOG_ACCOUNTS]


def upgrade() -> None:
    for table in TABLES:
        create_table_objects(op.get_bind(), table)


def downgrade() -> None:
    for table in reversed(TABLES):
        drop_table_objects(op.get_bind(), table)
