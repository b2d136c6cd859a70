"""Alembic environment and revisions of the metricscore SQL schema (see docs/databases.md)."""
