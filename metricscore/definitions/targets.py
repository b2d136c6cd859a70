"""Where definitions are applied: a store (any store URL) or an HTTP server speaking the dialect.

Both offer the same small interface per (resource, scope), :class:`Collection`, so planning and
applying are written once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigurationError, ValidationError
from ..pagination import KeysetPagination, PageNumberPagination
from .kinds import Kind

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "CREDENTIAL_VARIABLES",
    "Collection",
    "HttpTarget",
    "StoreTarget",
    "Target",
    "checked_target",
    "open_target",
]

#: The environment variables an HTTP target reads its credentials from.
CREDENTIAL_VARIABLES = {
    "posthog": ("METRICSCORE_POSTHOG_KEY",),
    "sequence": ("METRICSCORE_SEQUENCE_CLIENT_ID", "METRICSCORE_SEQUENCE_CLIENT_SECRET"),
    "statsig": ("METRICSCORE_STATSIG_KEY",),
}
PAGE_SIZE = 100


class Collection(Protocol):
    """The records of one resource within one scope, wherever they live."""

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record (wire shape), following every page."""
        ...

    def create(self, payload: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]: ...

    def update(self, id: str, payload: Mapping[str, Any]) -> dict[str, Any]: ...

    def replace(self, id: str, payload: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]: ...

    def delete(self, id: str, *, idempotency_key: str | None = None) -> None: ...

    def archive(self, id: str) -> None: ...

    def restore(self, record: Mapping[str, Any]) -> None: ...

    def batch(self) -> AbstractContextManager[Collection]:
        """Writes through the collection it gives are one unit of work where the target has them
        (a store: one transaction, all or nothing); over HTTP each request stands alone."""
        ...


class Target(Protocol):
    description: str

    def collection(self, kind: Kind, scope: Mapping[str, Any]) -> Collection: ...

    def close(self) -> None: ...


# -- stores ---------------------------------------------------------------------------------------


class StoreCollection:
    def __init__(self, kind: Kind, service: Any) -> None:
        self.kind = kind
        self.service = service

    def records(self) -> Iterator[dict[str, Any]]:
        pagination = self.kind.resource.pagination
        if isinstance(pagination, KeysetPagination):
            after: str | None = None
            while True:
                page = self.service.list(limit=PAGE_SIZE, **({"after": after} if after else {}))
                yield from page
                after = page.after
                if not after or not page.results:
                    return
        elif isinstance(pagination, PageNumberPagination):
            number = 1
            while True:
                page = self.service.list(page=number, limit=PAGE_SIZE)
                yield from page
                if number * PAGE_SIZE >= page.count or not page.results:
                    return
                number += 1
        else:
            offset = 0
            while True:
                page = self.service.list(limit=PAGE_SIZE, offset=offset)
                yield from page
                offset += PAGE_SIZE
                if offset >= page.count or not page.results:
                    return

    def _key(self, idempotency_key: str | None) -> dict[str, Any]:
        return {"idempotency_key": idempotency_key} if idempotency_key and self.kind.resource.idempotent else {}

    def create(self, payload: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        return self.service.create(dict(payload), **self._key(idempotency_key))  # type: ignore[no-any-return]

    def update(self, id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.service.update(id, dict(payload))  # type: ignore[no-any-return]

    def replace(self, id: str, payload: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        return self.service.replace(id, dict(payload), **self._key(idempotency_key))  # type: ignore[no-any-return]

    def delete(self, id: str, *, idempotency_key: str | None = None) -> None:
        self.service.delete(id, **self._key(idempotency_key))

    def archive(self, id: str) -> None:
        self.service.schedule_archive(id)

    def restore(self, record: Mapping[str, Any]) -> None:
        from ..errors import Conflict

        try:
            self.service.cancel_archive(record["id"])
        except Conflict:  # already archived: unarchive instead
            self.service.unarchive(record["id"])

    @contextmanager
    def batch(self) -> Iterator[Collection]:
        with self.service.batch() as batched:
            yield StoreCollection(self.kind, batched)


class StoreTarget:
    """A store URL (or an open :class:`~metricscore.Store`) as a target."""

    def __init__(self, store: Store | str, *, close: bool | None = None) -> None:
        from ..api import open_store
        from ..store import Store

        if isinstance(store, Store):
            self.store = store
            self._close = bool(close)
            self.description = repr(store)
        else:
            self.store = open_store(store)
            self._close = True if close is None else close
            self.description = _redact(store)

    def collection(self, kind: Kind, scope: Mapping[str, Any]) -> Collection:
        namespace = getattr(self.store, kind.dialect)
        return StoreCollection(kind, getattr(namespace, kind.collection)(**scope))

    def close(self) -> None:
        if self._close:
            self.store.close()


# -- HTTP -----------------------------------------------------------------------------------------


class HttpTarget:
    """The base URL of a server speaking the dialects; credentials come from the environment."""

    def __init__(self, base_url: str, *, env: Mapping[str, str] | None = None, **client_options: Any) -> None:
        self.base_url = base_url
        self.description = _redact(base_url)
        self._env = dict(os.environ if env is None else env)
        self._options = client_options
        self._clients: dict[str, Any] = {}

    def _credentials(self, dialect: str) -> list[str]:
        names = CREDENTIAL_VARIABLES[dialect]
        missing = [name for name in names if not self._env.get(name)]
        if missing:
            raise ConfigurationError(f"{dialect} target {self.description} needs {' and '.join(missing)} set.")
        return [self._env[name] for name in names]

    def client(self, dialect: str) -> Any:
        if dialect not in self._clients:
            from .. import client

            credentials = self._credentials(dialect)
            if dialect == "posthog":
                self._clients[dialect] = client.PostHogClient(self.base_url, credentials[0], **self._options)
            elif dialect == "sequence":
                self._clients[dialect] = client.SequenceClient(
                    self.base_url, credentials[0], credentials[1], **self._options
                )
            else:
                self._clients[dialect] = client.StatsigClient(self.base_url, credentials[0], **self._options)
        return self._clients[dialect]

    def collection(self, kind: Kind, scope: Mapping[str, Any]) -> Collection:
        collection: Collection = getattr(self.client(kind.dialect), kind.collection)(**scope)
        return collection

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def checked_target(target: Any, name: str = "target") -> Target:
    """``target`` when it is a :class:`Target` (a ``collection`` method and a text
    ``description``), else a ValidationError naming ``name``."""
    if isinstance(target, (StoreTarget, HttpTarget)):
        return target
    try:
        fit = callable(getattr(target, "collection", None)) and type(target.description) is str
    except Exception:  # a caller's object: its attributes may raise anything
        fit = False
    if not fit:
        message = f"Expected a Target (open_target(...) gives one), not {type(target).__name__}."
        raise ValidationError({name: [message]})
    found: Target = target
    return found


def open_target(target: str | Store | Target, *, env: Mapping[str, str] | None = None) -> Target:
    """A store URL, an ``http(s)://`` base URL, an open store, or a target (returned as is)."""
    if not isinstance(target, str):
        from ..store import Store

        if isinstance(target, Store):
            return StoreTarget(target)
        return checked_target(target)
    if target.lower().startswith(("http://", "https://")):
        return HttpTarget(target, env=env)
    return StoreTarget(target)


def _redact(url: str) -> str:
    """``url`` without a password."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
