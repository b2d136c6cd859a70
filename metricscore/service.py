"""One service for every resource: parse, validate, default, derive, check, write, render.

Validation runs before any storage is touched; everything after it runs in one unit of work,
so a failure at any step leaves nothing behind.

The service is generic in the resource's wire shape, page class and payloads, so a type checker
knows what each call returns and takes: ``store.posthog.accounts(project_id=1)`` is a
``ResourceService[AccountRecord, OffsetPage[AccountRecord], AccountCreate, AccountCreate,
AccountUpdate]``, its ``get(...)["tags"]`` is a ``list[str]``, its ``list()`` an
:class:`~metricscore.pagination.OffsetPage` of ``AccountRecord``, and ``create({"nmae": "x"})``
a type error (the payload types come from the resource: :class:`~metricscore.resource.Resource`).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, Never, Self, TypeVar, cast, overload

from .errors import NON_FIELD_ERRORS, Conflict, ErrorMessage, MetricscoreError, NotFound, StorageError, ValidationError
from .generics import DefaultedGeneric
from .idempotency import KEY_FIELD, IdempotencyKeys, KeyRace, fingerprint, validate_key
from .jsonvalue import string_problem
from .pagination import Listing, Page
from .query import Eq, storable_filters
from .repository import Record, Repository, UnitOfWork
from .resource import Context, CreateT, Mode, RecordT, ReplaceT, Resource, UpdateT
from .table import TableSpec
from .validation import display

if TYPE_CHECKING:
    from .evaluation.events import EventLog
    from .evaluation.runners import Events
    from .store import Store

__all__ = ["EvaluatingService", "IdempotentService", "PageT", "ResourceService", "ResultT", "may_name_a_record"]

#: The page class a resource's ``list()`` returns (``OffsetPage``, ``CursorPage``, ``NumberedPage``).
PageT = TypeVar("PageT", bound=Page[Any])
#: What a metric's ``evaluate()`` answers (a ``TypedDict``, or a union of them, per dialect).
ResultT = TypeVar("ResultT", bound=Mapping[str, object])

_MODES = ("create", "update", "replace")


_ID_LENGTHS: dict[int, tuple[TableSpec, int | None]] = {}


def _id_length(table: TableSpec) -> int | None:
    """The id column's length, cached by identity (hashing a frozen ``TableSpec`` hashes every
    column: several microseconds on every get, update and delete)."""
    cached = _ID_LENGTHS.get(id(table))
    if cached is None or cached[0] is not table:
        if len(_ID_LENGTHS) > 256:  # tables built on the fly: keep the cache bounded
            _ID_LENGTHS.clear()
        cached = _ID_LENGTHS[id(table)] = (table, table.column(table.id_column).length)
    return cached[1]


def may_name_a_record(table: TableSpec, id: Any) -> bool:
    """Whether ``id`` could be the id of a stored record of ``table``.

    Ids come from paths and callers as they are; one that no record can have (not a string, a NUL,
    a lone surrogate, longer than the id column) is answered as an unknown id without asking the
    backend, so every backend answers it alike (some would refuse it with a driver error).
    """
    if type(id) is not str:
        return False
    length = _id_length(table)
    return (length is None or len(id) <= length) and string_problem(id) is None


class ResourceService(DefaultedGeneric, Generic[RecordT, PageT, CreateT, ReplaceT, UpdateT]):
    """The operations on one resource within one scope (e.g. one PostHog project's accounts).

    Every call returns the record in the vendor's wire shape (``RecordT``, a ``TypedDict``) or, for
    :meth:`list`, the dialect's page (``PageT``). :meth:`create` takes a ``CreateT``,
    :meth:`replace` a ``ReplaceT`` and :meth:`update` an ``UpdateT`` (the resource's payload
    ``TypedDict`` s; a payload from ``json.loads`` is ``Any`` and passes). Bad input raises
    :class:`~metricscore.ValidationError` naming every bad field; a missing record, or one of another
    scope, :class:`~metricscore.NotFound`; a taken unique key :class:`~metricscore.Conflict`.
    A keyword the resource does not take (``idempotency_key``, except on an
    :class:`IdempotentService`) is a type error for mypy and a ValidationError at run time.
    """

    def __init__(
        self, store: Store, resource: Resource[RecordT, CreateT, ReplaceT, UpdateT], scope: Mapping[str, Any]
    ) -> None:
        self.store = store
        self.resource = resource
        self.scope = resource.validate_scope(scope)
        #: the backend's ``get_one(table, scope, id)`` capability: a read without a unit of work
        self._get_one: Callable[[TableSpec, Any, Any], Record | None] | None = getattr(store.backend, "get_one", None)

    def __repr__(self) -> str:
        scope = ", ".join(f"{k}={v!r}" for k, v in self.scope.items())
        return f"<{type(self).__name__} {self.resource.name}({scope})>"

    # -- plumbing ------------------------------------------------------------------------------

    #: The unit of work of the :meth:`batch` this service belongs to, if any.
    _shared: Any = None

    def _operation(self, *, write: bool = True, actor: Any = None) -> _Operation | _Joined:
        """One unit of work (the batch's, inside :meth:`batch`); anything that is not a
        metricscore error becomes a StorageError."""
        if self._shared is not None:
            return _Joined(self, actor)
        return _Operation(self, write, actor)

    def _reading(self) -> _Reading | _JoinedReading:
        """A read-only unit of work for ``get`` and ``list`` (inside :meth:`batch`, the batch's:
        a read there sees the batch's own writes)."""
        if self._shared is not None:
            return _JoinedReading(self)
        return _Reading(self)

    def batch(self) -> _Batch[Self]:
        """``with service.batch() as batched:``: every call on ``batched`` runs in one unit of work.

        ``batched`` is a service of the same class, resource and scope (so it returns the same
        ``RecordT`` and ``PageT``, and an :class:`IdempotentService` keeps its ``idempotency_key``).
        One transaction for a mix of calls (creates, updates, replaces, deletes, reads that see
        the batch's own writes, :meth:`create_many`): a bulk upsert commits once per batch, not
        once per record. All or nothing: when a call fails, the error leaves the ``with`` block and
        everything done in the batch is rolled back. To create a list of records, and only that,
        :meth:`create_many` is the one call (errors per item index).
        """
        return _Batch(self)

    def _existing(self, repository: Repository, id: Any) -> Record:
        record = repository.get(self.scope, id) if may_name_a_record(self.resource.table, id) else None
        return self._found(record, id)

    def _found(self, record: Record | None, id: Any) -> Record:
        """``record`` as read for ``id``; NotFound when there is none, or it is soft-deleted."""
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

    def _refused_key(self, refused: dict[str, Any]) -> str | None:
        """Keyword arguments outside the signature. ``idempotency_key`` (a type error for mypy on a
        plain ResourceService) is honoured when the resource is idempotent and a ValidationError
        naming it otherwise; any other keyword is the TypeError Python raises for an unknown one."""
        key: str | None = refused.pop("idempotency_key", None)  # checked by _key()
        if refused:
            raise TypeError(f"{type(self).__name__} takes no keyword argument(s) {', '.join(sorted(refused))}")
        if key is not None and not self.resource.idempotent:
            self._key(key)  # raises the ValidationError
        return key

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
        body: Callable[[Repository, Context], RecordT],
    ) -> RecordT:
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
                    return cast(RecordT, stored)
                result = body(repository, ctx)
                keys.remember(key, digest, operation, cast(dict[str, Any], result), ctx.now)
                return result
        except KeyRace:
            with self._operation(write=False) as (_, ctx):
                stored = IdempotencyKeys(ctx.uow, self.resource.name, self.scope).lookup(
                    key, digest, ctx.now, purge=False
                )
            if stored is None:  # pragma: no cover - the winner's key expired in between
                raise Conflict("A concurrent request used this idempotency key.", fields=(KEY_FIELD,)) from None
            return cast(RecordT, stored)

    def create(self, data: CreateT, *, actor_id: Any = None, dry_run: bool = False, **refused: Never) -> RecordT:
        """Validate ``data`` (the vendor's create body) and store a new record; returns it in the
        vendor's wire shape, read-only fields (id, timestamps, lineage) filled in.

        ``actor_id`` is who acts (PostHog's ``created_by``; Statsig's creator, an id or a mapping
        with ``name``/``email``/``id``). ``dry_run`` validates and returns the would-be record
        without storing anything. Raises ValidationError (every bad field) or Conflict.
        """
        return self._create(data, actor_id, dry_run, self._refused_key(refused) if refused else None)

    def _create(self, data: Any, actor_id: Any, dry_run: bool, idempotency_key: str | None) -> RecordT:
        payload = self.resource.load(data, "create")
        dry_run = self._dry_run(payload, dry_run)
        key = None if dry_run else self._key(idempotency_key)

        def body(repository: Repository, ctx: Context) -> RecordT:
            record = self.resource.new_record(payload, ctx)
            self.resource.check(record, ctx, None)
            if not dry_run:
                self._write(repository.insert, record)
            return self.resource.render(record)

        return self._run("create", None, payload, actor_id, key, body)

    def create_many(self, data: list[CreateT], *, actor_id: Any = None) -> list[RecordT]:
        """Create every payload of ``data`` (a list) in one unit of work: all of them or none.

        Returns the records in the order given, each as :meth:`create` returns it. Every payload
        is validated first; when any is invalid, nothing is stored and the ValidationError names
        each bad item by its index and then its fields (``{"3": {"name": [...]}}``). A taken
        unique key (in the store or earlier in the same batch) raises a Conflict naming each
        clashing item as ``"<index>.<field>"`` in ``fields``, and stores nothing either. One
        unit of work means one transaction (and, with TinyDB, one file write) for the batch.

        Each payload is held to the same size caps as :meth:`create`'s, and ``actor_id`` is
        checked as :meth:`create` checks it. ``create_many`` takes no idempotency key (nor a
        ``dry_run`` argument): a batch that fails stores nothing, so it can simply be sent again; to make
        each record's creation safe to retry on its own, call :meth:`create` with a key per record.
        Called on the service a :meth:`batch` gives, it joins the batch's unit of work.
        """
        if type(data) is not list:
            message = f"Expected a list of payloads, but got {type(data).__name__}."
            raise ValidationError({NON_FIELD_ERRORS: [ErrorMessage(message, "not_a_list")]})
        loaded: list[tuple[dict[str, Any], bool]] = []
        errors: dict[str, Any] = {}
        for index, item in enumerate(data):
            try:
                payload = self.resource.load(item, "create")
            except ValidationError as error:
                errors[str(index)] = error.errors
                continue
            loaded.append((payload, self._dry_run(payload, False)))
        if errors:
            raise ValidationError(errors)
        actor = self.resource.validate_actor(actor_id)
        with self._operation(actor=actor) as (repository, ctx):
            return self._insert_all(repository, ctx, loaded)

    def _insert_all(
        self, repository: Repository, ctx: Context, loaded: list[tuple[dict[str, Any], bool]]
    ) -> list[RecordT]:
        results: list[RecordT] = []
        errors: dict[str, Any] = {}
        conflicts: list[tuple[int, Conflict]] = []
        for index, (payload, dry_run) in enumerate(loaded):
            record = self.resource.new_record(payload, ctx)
            try:
                self.resource.check(record, ctx, None)
                if not dry_run:
                    self._write(repository.insert, record)
            except ValidationError as error:
                errors[str(index)] = error.errors
                continue
            except Conflict as conflict:
                conflicts.append((index, conflict))
                continue
            results.append(self.resource.render(record))
        if errors:
            raise ValidationError(errors)
        if conflicts:
            index, first = conflicts[0]
            more = f" ({len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
            fields = [name for i, c in conflicts for name in ([f"{i}.{f}" for f in c.fields] or [str(i)])]
            raise Conflict(f"Item {index}: {first}{more}", fields=fields, resource=self.resource.name)
        return results

    @overload
    def validate(self, data: CreateT, mode: Literal["create"] = "create") -> dict[str, Any]: ...
    @overload
    def validate(self, data: ReplaceT, mode: Literal["replace"]) -> dict[str, Any]: ...
    @overload
    def validate(self, data: UpdateT, mode: Literal["update"]) -> dict[str, Any]: ...

    def validate(self, data: object, mode: Mode = "create") -> dict[str, Any]:
        """``data`` validated as :meth:`create` (``mode="create"``), :meth:`update` (``"update"``,
        partial) or :meth:`replace` (``"replace"``) would validate it; stores nothing.

        Side-effect free: nothing is read or stored. Returns the validated payload (defaults
        applied, values normalised as they would be stored); raises
        :class:`~metricscore.errors.ValidationError` naming every bad field. Rules that need stored
        records (uniqueness, Statsig component metrics) are not checked: a payload that validates
        can still be refused by :meth:`create` with a Conflict or a ValidationError.
        """
        if mode not in _MODES:
            message = ErrorMessage(
                f"Unknown mode {display(mode)}; expected one of: {', '.join(_MODES)}.", "invalid_input"
            )
            raise ValidationError({"mode": [message]})
        return self.resource.load(data, mode)

    def get(self, id: Any) -> RecordT:
        """The record with this ``id`` in the vendor's wire shape; NotFound if there is none in
        this scope (a soft-deleted record is not found either)."""
        get_one = self._get_one
        if get_one is not None and self._shared is None:
            # The backend reads one record in one statement (the SQL backend's ``get_one``).
            resource = self.resource
            table = resource.table
            try:
                record = get_one(table, self.scope, id) if may_name_a_record(table, id) else None
                return resource.render(self._found(record, id))
            except MetricscoreError:
                raise
            except Exception as error:
                raise StorageError(f"{type(error).__name__}: {error}") from error
        with self._reading() as repository:
            return self.resource.render(self._existing(repository, id))

    def update(self, id: Any, data: UpdateT, *, actor_id: Any = None, dry_run: bool = False) -> RecordT:
        """Change only the fields sent (PATCH; Statsig's POST to a metric); returns the new state.

        Fields not sent keep their values. ``dry_run`` validates and returns the would-be record
        without storing it. Raises ValidationError, NotFound or Conflict.
        """
        return self._change(id, data, "update", actor_id, dry_run)

    def replace(
        self, id: Any, data: ReplaceT, *, actor_id: Any = None, dry_run: bool = False, **refused: Never
    ) -> RecordT:
        """Replace the record (PUT): required fields must be sent; returns the new state.

        An omitted optional field keeps its value (PostHog, as DRF) or is reset to its default
        (Sequence). Raises ValidationError, NotFound or Conflict.
        """
        key = self._refused_key(refused) if refused else None
        return self._change(id, data, "replace", actor_id, dry_run, key)

    def _change(
        self, id: Any, data: Any, mode: Mode, actor: Any, dry_run: bool, idempotency_key: str | None = None
    ) -> RecordT:
        payload = self.resource.load(data, mode)
        dry_run = self._dry_run(payload, dry_run)
        key = None if dry_run else self._key(idempotency_key)

        def body(repository: Repository, ctx: Context) -> RecordT:
            existing = self._existing(repository, id)
            record = self.resource.merge(existing, payload, ctx, mode)
            self.resource.check(record, ctx, existing)
            if not dry_run:
                self._write(repository.update, record)
            return self.resource.render(record)

        return self._run(mode, id, payload, actor, key, body)

    def delete(self, id: Any, *, actor_id: Any = None, **refused: Never) -> RecordT:
        """Delete the record; returns its last state (with ``deletedAt`` set for Sequence's soft
        deletes). Raises NotFound, or Conflict when the resource refuses (a Statsig metric that is
        permanent or used by another)."""
        return self._delete(id, actor_id, self._refused_key(refused) if refused else None)

    def _delete(self, id: Any, actor_id: Any, idempotency_key: str | None) -> RecordT:
        key = self._key(idempotency_key)

        def body(repository: Repository, ctx: Context) -> RecordT:
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

    def list(self, /, **params: Any) -> PageT:
        """One page of records, from the vendor's own query parameters (typed values or the raw
        strings of a query string; unknown ones are ignored, as the vendors ignore them).

        PostHog: ``search``, ``tags``, ``ordering``, role filters, ``limit``/``offset`` -> OffsetPage.
        Sequence: ``name``, ``id``, ``eventType``, ``aggregationType``, ``limit``, ``after``/``before``
        -> CursorPage. Statsig: ``tags``, ``page``, ``limit`` -> NumberedPage.
        """
        request = self.resource.list_request(params)
        filters = storable_filters(self._filters(request.filters), self.resource.table)
        render: Any = self.resource.render
        with self._reading() as repository:
            listing = Listing(repository, self.scope, filters, request.order, render)
            page = self.resource.pagination.fetch(listing, params)
        return cast(PageT, page)

    # -- evaluation over events ------------------------------------------------------------------

    @property
    def events(self) -> EventLog:
        """The built-in events this scope's metrics read (``append`` events to it).

        Not on the service a :meth:`batch` gives (a ValidationError naming ``events``): each
        append is its own transaction, which a batch's open one would block on some backends.
        """
        from .evaluation.events import EventLog

        if self._shared is not None:
            message = "Events are appended outside a batch: each append is its own transaction."
            raise ValidationError({"events": [ErrorMessage(message, "unsupported")]})

        return EventLog(self.store, self.resource.events_dataset(self.scope))

    def evaluate(self, id: Any, /, *, events: Events = None, **params: Any) -> Mapping[str, Any]:
        """Compute the metric ``id`` over events; the answer is in the vendor's shape (typed on an
        :class:`EvaluatingService`, which every metric namespace returns).

        ``events``: ``None`` for the built-in events of this scope (:attr:`events`), an events
        runner (``metricscore.evaluation.sql_events(...)`` over a declared source), or a list of
        events (the reference evaluator). ``params`` are the vendor's query parameters
        (docs/evaluation.md): Sequence ``customerAliases``, ``periodStart``, ``periodEnd``;
        PostHog ``group_key``, ``now``; Statsig ``date_from``, ``date_to``, ``day_start_utc_offset``.
        A resource that is no metric (accounts) raises ValidationError naming ``id``.
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
            result: Mapping[str, Any] = evaluation.evaluate(record, self.scope, runner, dict(params), self.store.now())
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


class IdempotentService(ResourceService[RecordT, PageT, CreateT, ReplaceT, UpdateT]):
    """A service whose ``create``, ``replace`` and ``delete`` take an ``idempotency_key`` (the
    ``Idempotency-Key`` header: Sequence's own, an extension on PostHog and Statsig): a repeated
    call with the same key and body returns the first result without writing again; the same key
    with another body is a Conflict. Every shipped resource is idempotent."""

    def create(
        self,
        data: CreateT,
        *,
        actor_id: Any = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
        **refused: Never,
    ) -> RecordT:
        """Validate ``data`` and store a new record, at most once per ``idempotency_key``; returns
        it in the vendor's wire shape. ``dry_run`` stores nothing (and no key)."""
        if refused:
            self._refused_key(refused)
        return self._create(data, actor_id, dry_run, idempotency_key)

    def replace(
        self,
        id: Any,
        data: ReplaceT,
        *,
        actor_id: Any = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
        **refused: Never,
    ) -> RecordT:
        """Replace the record (PUT), at most once per ``idempotency_key``; see :meth:`ResourceService.replace`
        for omitted optional fields. Raises ValidationError, NotFound or Conflict."""
        if refused:
            self._refused_key(refused)
        return self._change(id, data, "replace", actor_id, dry_run, idempotency_key)

    def delete(self, id: Any, *, actor_id: Any = None, idempotency_key: str | None = None, **refused: Never) -> RecordT:
        """Delete the record, at most once per ``idempotency_key`` (a repeat returns the first
        result, not a 404); returns its last state."""
        if refused:
            self._refused_key(refused)
        return self._delete(id, actor_id, idempotency_key)


class EvaluatingService(
    IdempotentService[RecordT, PageT, CreateT, ReplaceT, UpdateT],
    Generic[RecordT, PageT, ResultT, CreateT, ReplaceT, UpdateT],
):
    """An idempotent service over metric definitions, whose :meth:`evaluate` answers ``ResultT``
    (the vendor's answer shape, a ``TypedDict``): ``store.sequence.usage_metrics(...)``,
    ``store.posthog.group_usage_metrics(...)`` and ``store.statsig.metrics(...)``."""

    def evaluate(self, id: Any, /, *, events: Events = None, **params: Any) -> ResultT:
        """Compute the metric ``id`` over events, in the vendor's answer shape (docs/evaluation.md).

        ``events``: ``None`` for this scope's built-in events (:attr:`events`), an events runner
        over a declared source (``metricscore.evaluation.sql_events(...)``) or a list of events.
        ``params``: the vendor's query parameters. Raises ValidationError naming every bad
        parameter, NotFound for an unknown id.
        """
        return cast(ResultT, super().evaluate(id, events=events, **params))


class _Unit:
    """A unit of work around one service call; anything that is not a metricscore error becomes
    a StorageError. A class rather than a generator-based context manager: it wraps every call,
    and this is measurably cheaper (see benchmarks/bench_memory.py)."""

    __slots__ = ("_service", "_unit")

    def __init__(self, service: ResourceService[Any, Any, Any, Any, Any]) -> None:
        self._service = service

    def _begin(self, write: bool) -> UnitOfWork:
        try:
            self._unit = self._service.store.backend.unit_of_work(write=write)
            return self._unit.__enter__()
        except MetricscoreError:
            raise
        except Exception as error:
            raise StorageError(f"{type(error).__name__}: {error}") from error

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        try:
            self._unit.__exit__(kind, error, tb)
        except MetricscoreError:
            raise
        except Exception as exit_error:  # commit failed
            raise StorageError(f"{type(exit_error).__name__}: {exit_error}") from exit_error
        if error is not None and isinstance(error, Exception) and not isinstance(error, MetricscoreError):
            raise StorageError(f"{type(error).__name__}: {error}") from error


class _Operation(_Unit):
    """The context manager behind :meth:`ResourceService._operation`: the repository and a
    :class:`~metricscore.resource.Context` for the hooks."""

    __slots__ = ("_actor", "_write")

    def __init__(self, service: ResourceService[Any, Any, Any, Any, Any], write: bool, actor: Any) -> None:
        self._service = service
        self._write = write
        self._actor = actor

    def __enter__(self) -> tuple[Repository, Context]:
        service = self._service
        uow = self._begin(self._write)
        try:
            ctx = Context(service.store, dict(service.scope), service.store.now(), uow, self._actor)
            return uow.repository(service.resource.table), ctx
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)
            raise


class _Reading(_Unit):
    """A read-only unit of work for ``get`` and ``list``: the repository alone (a read needs no
    clock, actor or context)."""

    __slots__ = ()

    def __enter__(self) -> Repository:
        uow = self._begin(False)
        try:
            return uow.repository(self._service.resource.table)
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)
            raise


ServiceT = TypeVar("ServiceT", bound=ResourceService[Any, Any, Any, Any, Any])


class _Batch(Generic[ServiceT]):
    """The context manager behind :meth:`ResourceService.batch`: enters one unit of work and
    yields a copy of the service whose every call joins it."""

    def __init__(self, service: ServiceT) -> None:
        self._service = service
        self._operation = _Operation(service, True, None)

    def __enter__(self) -> ServiceT:
        _, ctx = self._operation.__enter__()
        batched = copy.copy(self._service)
        batched._shared = ctx.uow
        return batched

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        self._operation.__exit__(kind, error, tb)


class _InBatch:
    """A call inside a batch: the batch's unit of work, nothing committed or rolled back here."""

    __slots__ = ("_service",)

    def __init__(self, service: ResourceService[Any, Any, Any, Any, Any]) -> None:
        self._service = service

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        if error is not None and isinstance(error, Exception) and not isinstance(error, MetricscoreError):
            raise StorageError(f"{type(error).__name__}: {error}") from error


class _Joined(_InBatch):
    """:class:`_Operation` inside a batch: the repository and a Context on the batch's unit of work."""

    __slots__ = ("_actor",)

    def __init__(self, service: ResourceService[Any, Any, Any, Any, Any], actor: Any) -> None:
        self._service = service
        self._actor = actor

    def __enter__(self) -> tuple[Repository, Context]:
        service = self._service
        uow = service._shared
        ctx = Context(service.store, dict(service.scope), service.store.now(), uow, self._actor)
        return uow.repository(service.resource.table), ctx


class _JoinedReading(_InBatch):
    """:class:`_Reading` inside a batch: the repository on the batch's unit of work."""

    __slots__ = ()

    def __enter__(self) -> Repository:
        service = self._service
        repository: Repository = service._shared.repository(service.resource.table)
        return repository
