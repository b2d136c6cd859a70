"""Add the built-in events table (evaluation over events).

Revision ID: 0004_events
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

# metricscore.backends is installed from ./backends (package_dir), which mypy cannot map.
from metricscore.backends.sql.schema import (  # type: ignore[import-not-found]
    create_table_objects,
    drop_table_objects,
)
from metricscore.table import Column, ColumnType, TableSpec, UniqueKey

revision = "0004_events"
down_revision = "0003"
branch_labels = None
depends_on = None

# A frozen copy of metricscore.evaluation.events.EVENTS as it is at this revision.
EVENTS = TableSpec(
    name="events",
    scope=("dataset",),
    columns=(
        Column("dataset", ColumnType.STRING, nullable=False, length=200),
        Column("id", ColumnType.STRING, nullable=False, length=200),
        Column("seq", ColumnType.INTEGER, nullable=False),
        Column("name", ColumnType.STRING, nullable=False, length=255),
        Column("timestamp", ColumnType.DATETIME, nullable=False),
        Column("customer", ColumnType.STRING, length=255),
        Column("dedupe_key", ColumnType.STRING, length=255),
        Column("value", ColumnType.TEXT),
        Column("properties", ColumnType.JSON, nullable=False),
    ),
    unique_keys=(UniqueKey("events_seq", ("seq",)),),
    orderings=(("name", "timestamp"), ("dedupe_key", "seq")),
)


def upgrade() -> None:
    create_table_objects(op.get_bind(), EVENTS)


def downgrade() -> None:
    drop_table_objects(op.get_bind(), EVENTS)
