"""How a resource is declared: its table, its validation, its defaults, its derived fields and
its list parameters. The generic :class:`~metricscore.service.ResourceService` runs the same
steps for every resource and calls these hooks; a resource overrides only what differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, cast

import marshmallow as ma

from .errors import Conflict, MetricscoreError, ValidationError
from .generics import DefaultedGeneric, TypeVar
from .jsonvalue import copy_json
from .pagination import Pagination
from .query import Filter, OrderBy
from .repository import Record, UnitOfWork
from .table import TableSpec
from .validation import CodedField, load

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "ACTOR_FIELD",
    "Context",
    "CreateT",
    "ListRequest",
    "Mode",
    "RecordT",
    "ReplaceT",
    "Resource",
    "UpdateT",
]

#: The name under which a bad actor is reported (the keyword argument of the service calls).
ACTOR_FIELD = "actor_id"


#: A resource's wire shape: the ``TypedDict`` its ``render`` returns (e.g. ``AccountRecord``).
RecordT = TypeVar("RecordT", bound=Mapping[str, object])
#: What ``create`` takes: the ``TypedDict`` of the create body (e.g. ``AccountCreate``). Without
#: one (a resource declared ``Resource[WidgetRecord]``) a payload is ``Any``, checked at run time only.
CreateT = TypeVar("CreateT", bound=Mapping[str, object], default=Any)
#: What ``replace`` (PUT) takes: the full body of a change, its required fields required.
ReplaceT = TypeVar("ReplaceT", bound=Mapping[str, object], default=Any)
#: What ``update`` (PATCH) takes: the same fields as ``ReplaceT``, every one of them optional.
UpdateT = TypeVar("UpdateT", bound=Mapping[str, object], default=Any)
#: ``create``: a new record; ``update``: a partial change (PATCH); ``replace``: a full one (PUT).
Mode = Literal["create", "update", "replace"]


@dataclass
class Context:
    """What hooks may use while one operation runs."""

    store: Store
    scope: dict[str, Any]
    now: datetime
    uow: UnitOfWork
    actor: Any = None
    options: dict[str, Any] = field(default_factory=dict)

    def new_id(self) -> str:
        return str(self.store.id_factory())


@dataclass(frozen=True)
class ListRequest:
    filters: tuple[Filter, ...]
    order: tuple[OrderBy, ...]


class Resource(DefaultedGeneric, Generic[RecordT, CreateT, ReplaceT, UpdateT]):
    """Base class of every resource. Subclasses set the class attributes and override hooks.

    ``record_type`` (a ``TypedDict``) is the one declaration of the wire shape: it types the
    results of the resource's service, orders and checks ``render`` (tests/test_resource_declarations.py),
    builds ``wire`` (:func:`~metricscore.wire.wire_map`) and the record schema of the OpenAPI document.

    The type arguments name the payload ``TypedDict`` s the service's calls take, e.g.
    ``Resource[AccountRecord, AccountCreate, AccountCreate, AccountUpdate]``: ``create``'s body
    (``create_schema``'s fields), ``replace``'s (``update_schema``'s, or ``create_schema``'s when
    there is none) and ``update``'s (the same fields, all optional). They only type the calls
    (validation stays the schemas'); tests/test_typing.py checks them against the schemas, key by
    key and required by required, so the two cannot drift apart.
    """

    #: Dotted public name, e.g. ``"posthog.accounts"``.
    name: ClassVar[str]
    #: The name of the resource in documents (the OpenAPI components), e.g. ``"PostHogAccount"``.
    title: ClassVar[str]
    #: The wire shape: a ``TypedDict`` whose keys are the wire keys in wire order; keys that a
    #: record may leave out are ``NotRequired``.
    record_type: ClassVar[type[Any]]
    table: ClassVar[TableSpec]
    #: Scope column -> field validating the value the caller passes (e.g. ``project_id=1``).
    scope_fields: ClassVar[Mapping[str, CodedField]]
    pagination: ClassVar[Pagination]
    create_schema: ClassVar[ma.Schema]
    #: Schema for PATCH and PUT; defaults to ``create_schema``.
    update_schema: ClassVar[ma.Schema | None] = None
    #: Values a new record starts from, before the payload is applied.
    initial_values: ClassVar[Mapping[str, Any]] = {}
    #: PUT resets omitted optional fields to ``initial_values`` (Sequence) instead of keeping
    #: them (DRF).
    replace_resets_omitted: ClassVar[bool] = False
    #: Column set on delete instead of removing the row (a soft delete).
    soft_delete_column: ClassVar[str | None] = None
    #: Wire key -> function rendering the stored value, read by the default :meth:`render`; build
    #: it with :func:`~metricscore.wire.wire_map`. Empty when ``render`` is written out.
    wire: ClassVar[Mapping[str, Callable[[Record], Any]]] = {}
    #: ``create``/``replace``/``delete`` accept an ``idempotency_key`` (see :mod:`metricscore.idempotency`).
    idempotent: ClassVar[bool] = False
    #: The vendor's list query parameters that :meth:`list_request` reads (filters, search,
    #: ordering), name -> OpenAPI schema; the pagination's own (``limit``...) come from its page class.
    list_parameters: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: Validates the ``actor_id`` callers pass (who acts, recorded e.g. as ``created_by``); ``None``:
    #: the resource records no actor and ignores it.
    actor_field: ClassVar[CodedField | None] = None
    #: A payload field that asks for a dry run (Statsig's ``dryRun``); the service removes it from
    #: the validated payload and stores nothing when it is true.
    dry_run_field: ClassVar[str | None] = None
    #: ``"module:attribute"`` of the object that evaluates a record over events
    #: (``evaluate(record, scope, runner, params, now) -> dict``); ``None``: not a metric.
    evaluation: ClassVar[str | None] = None

    # -- validation ----------------------------------------------------------------------------

    def validate_scope(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, scope_field in self.scope_fields.items():
            try:
                values[name] = scope_field.deserialize(scope.get(name, ma.missing))
            except ma.ValidationError as error:
                errors[name] = error.messages
        if errors:
            raise ValidationError(errors)
        return values

    def validate_actor(self, actor: Any) -> Any:
        """The actor to record, or a ValidationError on ``actor_id`` (see :attr:`actor_field`)."""
        if self.actor_field is None:
            return actor
        try:
            return self.actor_field.deserialize(actor)
        except ma.ValidationError as error:
            raise ValidationError({ACTOR_FIELD: error.messages}) from error

    def load(self, data: Any, mode: Mode) -> dict[str, Any]:
        """The validated payload (only the fields sent, plus declared defaults unless partial)."""
        schema = self.create_schema if mode == "create" or self.update_schema is None else self.update_schema
        return load(schema, data, partial=mode == "update")

    # -- record building -----------------------------------------------------------------------

    def new_record(self, payload: dict[str, Any], ctx: Context) -> Record:
        record = {k: copy_json(v) for k, v in self.initial_values.items()}
        record.update(payload)
        record.update(ctx.scope)
        record[self.table.id_column] = ctx.new_id()
        if self.soft_delete_column:
            record[self.soft_delete_column] = None
        self.derive(record, ctx, None)
        return record

    def merge(self, existing: Record, payload: dict[str, Any], ctx: Context, mode: Mode) -> Record:
        record = dict(existing)
        if mode == "replace" and self.replace_resets_omitted:
            record.update({k: copy_json(v) for k, v in self.initial_values.items()})
        record.update(payload)
        self.derive(record, ctx, existing)
        return record

    def derive(self, record: Record, ctx: Context, existing: Record | None) -> None:
        """Fill read-only and index columns (timestamps, creator, normalised copies)."""

    def check(self, record: Record, ctx: Context, existing: Record | None) -> None:
        """Cross-field rules on the complete record; raise ValidationError or Conflict."""

    def before_delete(self, record: Record, ctx: Context) -> None:
        """Refuse a delete by raising (e.g. a record others depend on)."""

    def conflict(self, error: Conflict) -> MetricscoreError:
        """The error a caller sees when the backend reports a taken unique key."""
        return error

    def events_dataset(self, scope: Mapping[str, Any]) -> str:
        """The built-in events dataset a scope's metrics read: ``<vendor>:<scope values>``."""
        return ":".join([self.name.split(".", 1)[0], *(str(scope[c]) for c in self.table.scope)])

    # -- reading -------------------------------------------------------------------------------

    def render(self, record: Record) -> RecordT:
        """The stored ``record`` in the vendor's wire shape."""
        return cast(RecordT, {name: get(record) for name, get in self.wire.items()})

    def list_request(self, params: Mapping[str, Any]) -> ListRequest:
        """Filters and order from the vendor's own query parameters; unknown ones are ignored."""
        raise NotImplementedError
