"""Alembic environment: runs on the connection :func:`metricscore.backends.sql.migrate.upgrade` passes."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
version_table = context.config.attributes.get("version_table", "metricscore_alembic_version")
if connection is None:  # pragma: no cover - only reached when alembic is run by hand
    raise RuntimeError("Run migrations with `python -m metricscore.backends.sql migrate URL`.")

context.configure(connection=connection, target_metadata=None, version_table=version_table)
with context.begin_transaction():
    context.run_migrations()
