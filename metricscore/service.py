"""One service for every resource: parse, validate, default, derive, check, write, render.

Validation runs before any storage is touched; everything after it runs in one unit of work,
so a failure at any step leaves nothing behind.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import Conflict, ErrorMessage, MetricscoreError, NotFound, StorageError, ValidationError
from .idempotency import KEY_FIELD, IdempotencyKeys, KeyRace, fingerprint, validate_key
from .jsonvalue import string_problem
from .pagination import Page
from .query import Eq, storable_filters
from .repository import Record, Repository
from .resource import Context, Mode, Resource
from .table import Table

if TYPE_CHECKING:
    from .evaluation.events import EventLog
    from .store import Store

__all__ = ["ResourceService", "may_name_a_record"]


@lru_cache(maxsize=64)
def _id_length(table: Table) -> int | None:
    return table.column(table.id_column).length


def may_name_a_record(table: Table, id: Any) -> bool:
    """Whether ``id`` could be the id of a stored record of ``table``.

    Ids come from paths and callers as they are; one that no record can have (not a string, a NUL,
    a lone surrogate, longer than the id column) is answered as an unknown id without asking the
    backend, so every backend answers it alike (some would refuse it with a driver error).
    """
    if type(id) is not str:
        return False
    length = _id_length(table)
    return (length is None or len(id) <= length) and string_problem(id) is None


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

    def _operation(self, *, write: bool = True, actor: Any = None) -> _Operation:
        """One unit of work; anything that is not a metricscore error becomes a StorageError."""
        return _Operation(self, write, actor)

    def _existing(self, repository: Repository, id: Any) -> Record:
        record = repository.get(self.scope, id) if may_name_a_record(self.resource.table, id) else None
        soft = self.resource.soft_delete_column
        if record is None or (soft is not None and record.get(soft) is not None):
            raise NotFound(resource=self.resource.name, id=id)
        return record

    def _filters(self, filters: tuple[Any, ...]) -> tuple[Any, ...]:
        soft = self.resource.soft_delete_column
        return filters if soft is None else (Eq(soft, None), *filters)

    # -- operations ----------------------------------------------------------------------------

    def _dry_run(self, payload: dict[str, Any], dry_run: bool) -> bool:
        """The ``dry_run`` argument, or the resource's own dry-run payload field when it is set."""
        field = self.resource.dry_run_field
        requested = bool(payload.pop(field, False)) if field is not None else False
        return dry_run or requested

    def _key(self, idempotency_key: str | None) -> str | None:
        if idempotency_key is None:
            return None
        if not self.resource.idempotent:
            message = ErrorMessage(f"{self.resource.name} does not take idempotency keys.", "invalid_input")
            raise ValidationError({KEY_FIELD: [message]})
        return validate_key(idempotency_key)

    def _run(
        self,
        operation: str,
        id: Any,
        payload: Any,
        actor: Any,
        key: str | None,
        body: Callable[[Repository, Context], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run ``body`` in one unit of work, at most once per idempotency ``key``.

        With a key, the stored result of an earlier identical request is returned instead; the
        result is stored in the same unit of work as the write. When a concurrent request stored
        the key first, this unit of work rolls back and the winner's result is returned.
        """
        actor = self.resource.validate_actor(actor)
        if key is None:
            with self._operation(actor=actor) as (repository, ctx):
                return body(repository, ctx)
        # A non-string id names no record (NotFound, and failures store no key): no need to hash it.
        digest = fingerprint(operation, id if type(id) is str else None, payload)
        try:
            with self._operation(actor=actor) as (repository, ctx):
                keys = IdempotencyKeys(ctx.uow, self.resource.name, self.scope)
                stored = keys.lookup(key, digest, ctx.now)
                if stored is not None:
                    return stored
                result = body(repository, ctx)
                keys.remember(key, digest, operation, result, ctx.now)
                return result
        except KeyRace:
            with self._operation(write=False) as (_, ctx):
                stored = IdempotencyKeys(ctx.uow, self.resource.name, self.scope).lookup(
                    key, digest, ctx.now, purge=False
                )
            if stored is None:  # pragma: no cover - the winner's key expired in between
                raise Conflict("A concurrent request used this idempotency key.", fields=(KEY_FIELD,)) from None
            return stored

    def create(
        self, data: Any, *, actor_id: Any = None, dry_run: bool = False, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Validate ``data`` and store a new record; returns it in the vendor's wire shape.

        ``dry_run`` validates and returns the would-be record without storing anything.
        ``idempotency_key`` (resources with ``idempotent = True``): see :meth:`_run`.
        """
        payload = self.resource.load(data, "create")
        dry_run = self._dry_run(payload, dry_run)
        key = None if dry_run else self._key(idempotency_key)

        def body(repository: Repository, ctx: Context) -> dict[str, Any]:
            record = self.resource.new_record(payload, ctx)
            self.resource.check(record, ctx, None)
            if not dry_run:
                self._write(repository.insert, record)
            return self.resource.render(record)

        return self._run("create", None, payload, actor_id, key, body)

    def get(self, id: Any) -> dict[str, Any]:
        with self._operation(write=False) as (repository, _):
            return self.resource.render(self._existing(repository, id))

    def update(self, id: Any, data: Any, *, actor_id: Any = None, dry_run: bool = False) -> dict[str, Any]:
        """Change only the fields sent (PATCH)."""
        return self._change(id, data, "update", actor_id, dry_run)

    def replace(
        self,
        id: Any,
        data: Any,
        *,
        actor_id: Any = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Replace the record (PUT): required fields must be sent; see each resource's rules."""
        return self._change(id, data, "replace", actor_id, dry_run, idempotency_key)

    def _change(
        self, id: Any, data: Any, mode: Mode, actor: Any, dry_run: bool, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        payload = self.resource.load(data, mode)
        dry_run = self._dry_run(payload, dry_run)
        key = None if dry_run else self._key(idempotency_key)

        def body(repository: Repository, ctx: Context) -> dict[str, Any]:
            existing = self._existing(repository, id)
            record = self.resource.merge(existing, payload, ctx, mode)
            self.resource.check(record, ctx, existing)
            if not dry_run:
                self._write(repository.update, record)
            return self.resource.render(record)

        return self._run(mode, id, payload, actor, key, body)

    def delete(self, id: Any, *, actor_id: Any = None, idempotency_key: str | None = None) -> dict[str, Any]:
        """Delete the record; returns its last state (with ``deletedAt`` set for soft deletes)."""
        key = self._key(idempotency_key)

        def body(repository: Repository, ctx: Context) -> dict[str, Any]:
            record = self._existing(repository, id)
            self.resource.before_delete(record, ctx)
            soft = self.resource.soft_delete_column
            if soft is None:
                repository.delete(self.scope, record[self.resource.table.id_column])
            else:
                record = {**record, soft: ctx.now}
                repository.update(self.scope, record)
            return self.resource.render(record)

        return self._run("delete", id, None, actor_id, key, body)

    def list(self, **params: Any) -> Page:
        """One page, from the vendor's own query parameters (typed values or raw strings)."""
        request = self.resource.list_request(params)
        filters = storable_filters(self._filters(request.filters))
        with self._operation(write=False) as (repository, _):
            return self.resource.pagination.fetch(
                repository, self.scope, filters, request.order, params, self.resource.render
            )

    # -- evaluation over events ------------------------------------------------------------------

    @property
    def events(self) -> EventLog:
        """The built-in events this scope's metrics read (``append`` events to it)."""
        from .evaluation.events import EventLog

        return EventLog(self.store, self.resource.events_dataset(self.scope))

    def evaluate(self, id: Any, *, events: Any = None, **params: Any) -> dict[str, Any]:
        """Compute the metric ``id`` over events; the answer is in the vendor's shape.

        ``events``: ``None`` for the built-in events of this scope (:attr:`events`), an events
        runner (``metricscore.evaluation.sql_events(...)`` over a declared source), or a list of
        events (the reference evaluator). ``params`` are the vendor's query parameters
        (docs/evaluation.md): Sequence ``customerAliases``, ``periodStart``, ``periodEnd``;
        PostHog ``group_key``, ``now``; Statsig ``date_from``, ``date_to``, ``day_start_utc_offset``.
        """
        from .evaluation.runners import events_runner

        path = self.resource.evaluation
        if path is None:
            message = ErrorMessage(f"{self.resource.name} are not metrics: they cannot be evaluated.", "unsupported")
            raise ValidationError({"id": [message]})
        module_name, _, attribute = path.partition(":")
        evaluation = getattr(importlib.import_module(module_name), attribute)
        record = self.get(id)
        runner = events_runner(self.store, self.resource.events_dataset(self.scope), events)
        try:
            result: dict[str, Any] = evaluation.evaluate(record, self.scope, runner, dict(params), self.store.now())
        except MetricscoreError:
            raise
        except Exception as error:
            raise StorageError(f"Evaluation failed: {type(error).__name__}: {error}") from error
        return result

    def _write(self, operation: Any, record: Record) -> None:
        try:
            operation(self.scope, record)
        except Conflict as conflict:
            raise self.resource.conflict(conflict) from conflict


class _Operation:
    """The context manager behind :meth:`ResourceService._operation`.

    A class rather than a generator-based context manager: it wraps every call, and this is
    measurably cheaper (see benchmarks/bench_memory.py).
    """

    __slots__ = ("_actor", "_service", "_unit", "_write")

    def __init__(self, service: ResourceService, write: bool, actor: Any) -> None:
        self._service = service
        self._write = write
        self._actor = actor

    def __enter__(self) -> tuple[Repository, Context]:
        service = self._service
        try:
            self._unit = service.store.backend.unit_of_work(write=self._write)
            uow = self._unit.__enter__()
        except MetricscoreError:
            raise
        except Exception as error:
            raise StorageError(f"{type(error).__name__}: {error}") from error
        try:
            ctx = Context(service.store, dict(service.scope), service.store.now(), uow, self._actor)
            return uow.repository(service.resource.table), ctx
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        try:
            self._unit.__exit__(kind, error, tb)
        except MetricscoreError:
            raise
        except Exception as exit_error:  # commit failed
            raise StorageError(f"{type(exit_error).__name__}: {exit_error}") from exit_error
        if error is not None and isinstance(error, Exception) and not isinstance(error, MetricscoreError):
            raise StorageError(f"{type(error).__name__}: {error}") from error
