"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from alembic import op

# metricscore.backends is installed from ./backends (package_dir), which mypy cannot map.
from metricscore.backends.sql.schema import (  # type: ignore[import-not-found]
    create_table_objects,
    drop_table_objects,
)
from metricscore.table import Column, ColumnType, Table, UniqueKey

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None

# A frozen copy of each new table's spec, as it is at this revision (never import the live spec:
# a later change to it must come with its own revision).
TABLES: list[Table] = []


def upgrade() -> None:
    for table in TABLES:
        create_table_objects(op.get_bind(), table)


def downgrade() -> None:
    for table in reversed(TABLES):
        drop_table_objects(op.get_bind(), table)
