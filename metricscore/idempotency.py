"""Idempotency keys, stored through the repository like any other record.

A write sent with an idempotency key runs at most once: its rendered result is stored under the
key in the same unit of work as the write, so both commit or neither does. A retry with the same
key and the same request returns the stored result and runs nothing; the same key with another
request (another operation, record or payload) is a :class:`~metricscore.errors.Conflict`. Keys
expire :data:`KEY_TTL` after they were stored (measured with the store's clock).

Because keys live in their own :data:`IDEMPOTENCY_KEYS` table, every process that shares a database
honours them. When two requests with the same key run at once, both miss the key; the second to
insert it gets the backend's unique-key Conflict, its whole unit of work rolls back, and the
service re-reads the key and answers with the winner's result (see
:meth:`metricscore.service.ResourceService`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .errors import Conflict, ErrorMessage, ValidationError
from .repository import Repository, UnitOfWork
from .table import Column, ColumnType, TableSpec

__all__ = [
    "IDEMPOTENCY_KEYS",
    "KEY_FIELD",
    "KEY_TTL",
    "MAX_KEY_LENGTH",
    "IdempotencyKeys",
    "KeyRace",
    "fingerprint",
    "validate_key",
]

#: How long a key is honoured.
KEY_TTL = timedelta(hours=24)
#: The longest key accepted (Sequence's ``Idempotency-Key`` header).
MAX_KEY_LENGTH = 255
#: The name under which a bad key is reported.
KEY_FIELD = "Idempotency-Key"
#: The longest scope (as canonical JSON) a key can belong to.
MAX_SCOPE_LENGTH = 255

IDEMPOTENCY_KEYS = TableSpec(
    name="idempotency_keys",
    scope=("resource", "scope_key"),
    columns=(
        Column("resource", ColumnType.STRING, nullable=False, length=100),
        Column("scope_key", ColumnType.STRING, nullable=False, length=MAX_SCOPE_LENGTH),
        Column("id", ColumnType.STRING, nullable=False, length=MAX_KEY_LENGTH),
        Column("fingerprint", ColumnType.STRING, nullable=False, length=64),
        Column("operation", ColumnType.STRING, nullable=False, length=16),
        Column("result", ColumnType.JSON, nullable=False),
        Column("created_at", ColumnType.DATETIME, nullable=False),
    ),
)


class KeyRace(Conflict):
    """Another request stored the same key first; the caller rolls back and re-reads it."""


def validate_key(key: Any) -> str:
    """``key`` if it is a usable idempotency key; a ValidationError on :data:`KEY_FIELD` otherwise."""
    if type(key) is not str:
        message = ErrorMessage("Not a valid string.", "invalid_input")
    elif not key.strip():
        message = ErrorMessage("This field may not be blank.", "blank")
    elif len(key) > MAX_KEY_LENGTH:
        message = ErrorMessage(f"Ensure this field has no more than {MAX_KEY_LENGTH} characters.", "max_length")
    elif "\x00" in key or not key.isprintable():
        message = ErrorMessage("Only printable characters are allowed.", "invalid_input")
    else:
        return key
    raise ValidationError({KEY_FIELD: [message]})


def fingerprint(operation: str, id: Any, payload: Any) -> str:
    """A digest of the request: the operation, the record it names and the validated payload."""
    text = json.dumps(
        {"operation": operation, "id": id, "payload": payload}, sort_keys=True, default=str, ensure_ascii=True
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def scope_key(scope: Mapping[str, Any]) -> str:
    return json.dumps(dict(scope), sort_keys=True, default=str, ensure_ascii=True, separators=(",", ":"))


class IdempotencyKeys:
    """The keys of one resource in one scope, seen through one unit of work."""

    def __init__(self, uow: UnitOfWork, resource: str, scope: Mapping[str, Any]) -> None:
        self._repository: Repository = uow.repository(IDEMPOTENCY_KEYS)
        key = scope_key(scope)
        if len(key) > MAX_SCOPE_LENGTH:  # pragma: no cover - scope fields are bounded well below this
            raise ValidationError("The scope is too long to hold idempotency keys.")
        self._scope = {"resource": resource, "scope_key": key}

    def lookup(self, key: str, digest: str, now: datetime, *, purge: bool = True) -> dict[str, Any] | None:
        """The stored result for ``key``, or ``None`` when it is unknown or expired.

        Raises Conflict when the key was used for another request. An expired key is removed
        (``purge``), so the request that finds it can store it again.
        """
        stored = self._repository.get(self._scope, key)
        if stored is None:
            return None
        if stored["created_at"] + KEY_TTL <= now:
            if purge:
                self._repository.delete(self._scope, key)
            return None
        if stored["fingerprint"] != digest:
            raise Conflict("This idempotency key was already used for another request.", fields=(KEY_FIELD,))
        result: dict[str, Any] = stored["result"]
        return result

    def remember(self, key: str, digest: str, operation: str, result: dict[str, Any], now: datetime) -> None:
        """Store ``result`` under ``key``; :class:`KeyRace` when another request stored it first."""
        record = {
            **self._scope,
            "id": key,
            "fingerprint": digest,
            "operation": operation,
            "result": result,
            "created_at": now,
        }
        try:
            self._repository.insert(self._scope, record)
        except Conflict as conflict:
            raise KeyRace("A concurrent request stored this idempotency key first.", fields=(KEY_FIELD,)) from conflict
