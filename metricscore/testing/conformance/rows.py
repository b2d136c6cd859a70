"""Repository-level rows for the contracts that bypass the service (keyset walks, rollbacks)."""

from __future__ import annotations

from typing import Any

__all__ = ["account_row"]


def account_row(scope: dict[str, Any], id: str, name: str, stamp: Any, **extra: Any) -> dict[str, Any]:
    """A complete ``posthog_accounts`` row (every column), with ``extra`` columns overridden."""
    row = {
        **scope,
        "id": id,
        "name": name,
        "external_id": None,
        "properties": {},
        "tags": [],
        "created_at": stamp,
        "created_by": None,
        "updated_at": stamp,
        "csm_id": None,
        "account_executive_id": None,
        "account_owner_id": None,
    }
    row.update(extra)
    return row
