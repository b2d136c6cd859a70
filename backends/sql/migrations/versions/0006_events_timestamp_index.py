"""Index the built-in events by event time: ``GET /usage-events?sortBy=EVENT_TIMESTAMP`` reads its
page by keyset on (timestamp, seq), and with this index the database reads the page's rows in
order instead of sorting every event of the account (docs/evaluation.md, "Performance").

Revision ID: 0006_events_timestamp_index
Revises: 0005_events_customer_index
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0006_events_timestamp_index"
down_revision = "0005_events_customer_index"
branch_labels = None
depends_on = None

# The name metricscore.backends.sql.schema.sql_table gives the ordering ("timestamp", "seq") of
# metricscore.evaluation.events.EVENTS (scope column first), frozen here.
INDEX = "ix_events_timestamp_seq"


def upgrade() -> None:
    op.create_index(INDEX, "events", ["dataset", "timestamp", "seq"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="events")
