"""Add PostHog group usage metrics, Sequence usage metrics, Statsig metrics and idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02
"""

from __future__ import annotations

from alembic import op

# metricscore.backends is installed from ./backends (package_dir), which mypy cannot map.
from metricscore.backends.sql.schema import (  # type: ignore[import-not-found]
    create_table_objects,
    drop_table_objects,
)
from metricscore.table import Column, ColumnType, TableSpec, UniqueKey

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the specs as they are at this revision (never import the live spec: a later
# change to it must come with its own revision).
POSTHOG_GROUP_USAGE_METRICS = TableSpec(
    name="posthog_group_usage_metrics",
    scope=("project_id", "group_type_index"),
    columns=(
        Column("project_id", ColumnType.INTEGER, nullable=False),
        Column("group_type_index", ColumnType.INTEGER, nullable=False),
        Column("id", ColumnType.STRING, nullable=False, length=36),
        Column("name", ColumnType.STRING, nullable=False, length=255),
        Column("format", ColumnType.STRING, nullable=False, length=16),
        Column("interval", ColumnType.INTEGER, nullable=False),
        Column("display", ColumnType.STRING, nullable=False, length=16),
        Column("filters", ColumnType.JSON, nullable=False),
        Column("math", ColumnType.STRING, nullable=False, length=16),
        Column("math_property", ColumnType.STRING, length=255),
        Column("created_at", ColumnType.DATETIME, nullable=False),
    ),
    unique_keys=(UniqueKey("posthog_group_usage_metrics_name", ("name",)),),
    orderings=(("created_at", "id"),),
)

SEQUENCE_USAGE_METRICS = TableSpec(
    name="sequence_usage_metrics",
    scope=("account_id",),
    columns=(
        Column("account_id", ColumnType.STRING, nullable=False, length=200),
        Column("id", ColumnType.STRING, nullable=False, length=36, searchable=True),
        Column("name", ColumnType.STRING, nullable=False, length=255, searchable=True),
        Column("description", ColumnType.TEXT),
        Column("metric_type", ColumnType.STRING, nullable=False, length=16),
        Column("event_type", ColumnType.STRING, nullable=False, length=255),
        Column("aggregation_type", ColumnType.STRING, nullable=False, length=16),
        Column("aggregation_property", ColumnType.STRING, length=255),
        Column("grouping_property", ColumnType.STRING, length=255),
        Column("property_filters", ColumnType.JSON, nullable=False),
        Column("case_sensitive", ColumnType.BOOLEAN, nullable=False),
        Column("unit", ColumnType.STRING, length=255),
        Column("created_at", ColumnType.DATETIME, nullable=False),
        Column("deleted_at", ColumnType.DATETIME),
    ),
    orderings=(("created_at", "id"),),
)

STATSIG_METRICS = TableSpec(
    name="statsig_metrics",
    scope=("project_id",),
    columns=(
        Column("project_id", ColumnType.STRING, nullable=False, length=100),
        Column("id", ColumnType.STRING, nullable=False, length=240),
        Column("name", ColumnType.STRING, nullable=False, length=200),
        Column("type", ColumnType.STRING, nullable=False, length=32),
        Column("description", ColumnType.TEXT, nullable=False),
        Column("directionality", ColumnType.STRING, nullable=False, length=16),
        Column("tags", ColumnType.JSON, nullable=False),
        Column("tag_index", ColumnType.TAGS, nullable=False),
        Column("is_verified", ColumnType.BOOLEAN, nullable=False),
        Column("is_read_only", ColumnType.BOOLEAN, nullable=False),
        Column("is_permanent", ColumnType.BOOLEAN, nullable=False),
        Column("unit_types", ColumnType.JSON, nullable=False),
        Column("metric_events", ColumnType.JSON, nullable=False),
        Column("metric_component_metrics", ColumnType.JSON, nullable=False),
        Column("component_ids", ColumnType.TAGS, nullable=False),
        Column("funnel_event_list", ColumnType.JSON),
        Column("funnel_count_distinct", ColumnType.STRING, length=16),
        Column("rollup_time_window", ColumnType.STRING, length=100),
        Column("custom_roll_up_start", ColumnType.FLOAT),
        Column("custom_roll_up_end", ColumnType.FLOAT),
        Column("warehouse_native", ColumnType.JSON),
        Column("team", ColumnType.TEXT),
        Column("team_id", ColumnType.TEXT),
        Column("owner", ColumnType.JSON, nullable=False),
        Column("creator_name", ColumnType.TEXT, nullable=False),
        Column("creator_email", ColumnType.TEXT),
        Column("created_at", ColumnType.DATETIME, nullable=False),
        Column("last_modified_at", ColumnType.DATETIME),
        Column("last_modifier_name", ColumnType.TEXT),
        Column("last_modifier_id", ColumnType.TEXT),
        Column("last_modifier_email", ColumnType.TEXT),
        Column("archive_at", ColumnType.DATETIME),
    ),
    unique_keys=(UniqueKey("statsig_metrics_name_type", ("name", "type")),),
    orderings=(("created_at", "id"),),
)

IDEMPOTENCY_KEYS = TableSpec(
    name="idempotency_keys",
    scope=("resource", "scope_key"),
    columns=(
        Column("resource", ColumnType.STRING, nullable=False, length=100),
        Column("scope_key", ColumnType.STRING, nullable=False, length=255),
        Column("id", ColumnType.STRING, nullable=False, length=255),
        Column("fingerprint", ColumnType.STRING, nullable=False, length=64),
        Column("operation", ColumnType.STRING, nullable=False, length=16),
        Column("result", ColumnType.JSON, nullable=False),
        Column("created_at", ColumnType.DATETIME, nullable=False),
    ),
)

TABLES = [POSTHOG_GROUP_USAGE_METRICS, SEQUENCE_USAGE_METRICS, STATSIG_METRICS, IDEMPOTENCY_KEYS]


def upgrade() -> None:
    for table in TABLES:
        create_table_objects(op.get_bind(), table)


def downgrade() -> None:
    for table in reversed(TABLES):
        drop_table_objects(op.get_bind(), table)
