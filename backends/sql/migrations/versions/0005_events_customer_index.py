"""Index the built-in events by event name and customer: a Sequence calculation reads the events
of one event type for a few customers over a period, and with this index the database reads
those rows only instead of every event of the type (docs/evaluation.md, "Performance").

Revision ID: 0005_events_customer_index
Revises: 0004_events
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0005_events_customer_index"
down_revision = "0004_events"
branch_labels = None
depends_on = None

# The name metricscore.backends.sql.schema.sql_table gives the ordering ("name", "customer",
# "timestamp") of metricscore.evaluation.events.EVENTS (scope column first), frozen here.
INDEX = "ix_events_name_customer_timestamp"


def upgrade() -> None:
    op.create_index(INDEX, "events", ["dataset", "name", "customer", "timestamp"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="events")
