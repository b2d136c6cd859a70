"""One service for every resource: parse, validate, default, derive, check, write, render.

Validation runs before any storage is touched; everything after it runs in one unit of work,
so a failure at any step leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .errors import Conflict, MetricscoreError, NotFound, StorageError
from .pagination import Page
from .query import Eq
from .repository import Record, Repository
from .resource import Context, Mode, Resource

if TYPE_CHECKING:
    from .store import Store

__all__ = ["ResourceService"]


class ResourceService:
    """The operations on one resource within one scope (e.g. one PostHog project's accounts)."""

    def __init__(self, store: Store, resource: Resource, scope: Mapping[str, Any]) -> None:
        self.store = store
        self.resource = resource
        self.scope = resource.validate_scope(scope)

    def __repr__(self) -> str:
        scope = ", ".join(f"{k}={v!r}" for k, v in self.scope.items())
        return f"<{type(self).__name__} {self.resource.name}({scope})>"

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _operation(self, *, write: bool = True, actor: Any = None) -> Iterator[tuple[Repository, Context]]:
        """One unit of work; anything that is not a metricscore error becomes a StorageError."""
        try:
            with self.store.backend.unit_of_work(write=write) as uow:
                ctx = Context(self.store, dict(self.scope), self.store.now(), uow, actor)
                yield uow.repository(self.resource.table), ctx
        except MetricscoreError:
            raise
        except Exception as error:  # a backend that let a driver error through
            raise StorageError(f"{type(error).__name__}: {error}") from error

    def _existing(self, repository: Repository, id: Any) -> Record:
        record = repository.get(self.scope, id) if type(id) is str else None
        soft = self.resource.soft_delete_column
        if record is None or (soft is not None and record.get(soft) is not None):
            raise NotFound(resource=self.resource.name, id=id)
        return record

    def _filters(self, filters: tuple[Any, ...]) -> tuple[Any, ...]:
        soft = self.resource.soft_delete_column
        return filters if soft is None else (Eq(soft, None), *filters)

    # -- operations ----------------------------------------------------------------------------

    def create(self, data: Any, *, actor_id: Any = None, dry_run: bool = False) -> dict[str, Any]:
        """Validate ``data`` and store a new record; returns it in the vendor's wire shape."""
        payload = self.resource.load(data, "create")
        with self._operation(actor=actor_id) as (repository, ctx):
            record = self.resource.new_record(payload, ctx)
            self.resource.check(record, ctx, None)
            if not dry_run:
                self._write(repository.insert, record)
        return self.resource.render(record)

    def get(self, id: Any) -> dict[str, Any]:
        with self._operation(write=False) as (repository, _):
            return self.resource.render(self._existing(repository, id))

    def update(self, id: Any, data: Any, *, actor_id: Any = None, dry_run: bool = False) -> dict[str, Any]:
        """Change only the fields sent (PATCH)."""
        return self._change(id, data, "update", actor_id, dry_run)

    def replace(self, id: Any, data: Any, *, actor_id: Any = None, dry_run: bool = False) -> dict[str, Any]:
        """Replace the record (PUT): required fields must be sent; see each resource's rules."""
        return self._change(id, data, "replace", actor_id, dry_run)

    def _change(self, id: Any, data: Any, mode: Mode, actor: Any, dry_run: bool) -> dict[str, Any]:
        payload = self.resource.load(data, mode)
        with self._operation(actor=actor) as (repository, ctx):
            existing = self._existing(repository, id)
            record = self.resource.merge(existing, payload, ctx, mode)
            self.resource.check(record, ctx, existing)
            if not dry_run:
                self._write(repository.update, record)
        return self.resource.render(record)

    def delete(self, id: Any, *, actor_id: Any = None) -> dict[str, Any]:
        """Delete the record; returns its last state (with ``deletedAt`` set for soft deletes)."""
        with self._operation(actor=actor_id) as (repository, ctx):
            record = self._existing(repository, id)
            self.resource.before_delete(record, ctx)
            soft = self.resource.soft_delete_column
            if soft is None:
                repository.delete(self.scope, record[self.resource.table.id_column])
            else:
                record = {**record, soft: ctx.now}
                repository.update(self.scope, record)
        return self.resource.render(record)

    def list(self, **params: Any) -> Page:
        """One page, from the vendor's own query parameters (typed values or raw strings)."""
        request = self.resource.list_request(params)
        with self._operation(write=False) as (repository, _):
            return self.resource.pagination.fetch(
                repository, self.scope, self._filters(request.filters), request.order, params, self.resource.render
            )

    def _write(self, operation: Any, record: Record) -> None:
        try:
            operation(self.scope, record)
        except Conflict as conflict:
            raise self.resource.conflict(conflict) from conflict
