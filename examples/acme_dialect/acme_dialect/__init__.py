"""Acme: a dialect written outside metricscore, found through the ``metricscore.dialects`` entry point.

One resource, ``acme.widgets``, scoped to a tenant; its own envelope (``{widgets, total, offset}``).
Its HTTP face (routes, ``X-Acme-Key`` auth, ``{"error": {...}}`` bodies, OpenAPI pieces) is
:mod:`acme_dialect.http`, which only the HTTP layer imports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypedDict, TypeVar

import marshmallow as ma

from metricscore import Dialect, Store
from metricscore.pagination import Listing, Schema, parse_int, request_url_parts
from metricscore.query import Contains, OrderBy
from metricscore.repository import Record
from metricscore.resource import Context, ListRequest, Resource
from metricscore.service import ResourceService
from metricscore.table import Column, ColumnType, TableSpec
from metricscore.validation import Integer, String
from metricscore.wire import wire_map

__all__ = ["DIALECT", "WIDGETS", "Acme", "WidgetPage", "WidgetRecord"]

ItemT = TypeVar("ItemT")


class WidgetRecord(TypedDict):
    id: str
    tenant: str
    name: str
    size: int
    createdAt: str


@dataclass
class WidgetPage(Generic[ItemT]):
    """Acme's page: ``results``, the total ``count`` and the ``offset`` it starts at."""

    results: list[ItemT]
    count: int
    offset: int

    def __iter__(self) -> Iterator[ItemT]:
        return iter(self.results)

    def envelope(self, request_url: str | None = None) -> dict[str, Any]:
        """Acme's body, ``{widgets, total, offset}``; it carries no links, so the URL is only checked."""
        request_url_parts(request_url)
        return {"widgets": self.results, "total": self.count, "offset": self.offset}


@dataclass(frozen=True)
class WidgetPagination:
    """``skip`` and ``take`` (at most 50): a pagination style of Acme's own."""

    def parameters(self) -> dict[str, dict[str, Any]]:
        return {
            "skip": {"type": "integer", "minimum": 0, "default": 0},
            "take": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
        }

    def envelope_schema(self, item: Schema) -> Schema:
        return {
            "type": "object",
            "properties": {
                "widgets": {"type": "array", "items": item},
                "total": {"type": "integer"},
                "offset": {"type": "integer"},
            },
            "required": ["widgets", "total", "offset"],
        }

    def fetch(self, listing: Listing, params: Mapping[str, Any]) -> WidgetPage[Any]:
        skip = max(parse_int(params.get("skip")) or 0, 0)
        take = min(max(parse_int(params.get("take")) or 20, 1), 50)
        results, count = listing.window(skip, take)
        return WidgetPage(results, count, skip)


class WidgetSchema(ma.Schema):
    name = String(required=True, max_length=100)
    size = Integer(min_value=0, max_value=1000, strict=True)


class Widgets(Resource[WidgetRecord]):
    name = "acme.widgets"
    title = "AcmeWidget"
    record_type = WidgetRecord
    table = TableSpec(
        name="acme_widgets",
        scope=("tenant",),
        columns=(
            Column("tenant", ColumnType.STRING, nullable=False, length=64),
            Column("id", ColumnType.STRING, nullable=False, length=36),
            Column("name", ColumnType.STRING, nullable=False, length=100, searchable=True),
            Column("size", ColumnType.INTEGER, nullable=False),
            Column("created_at", ColumnType.DATETIME, nullable=False),
        ),
        orderings=(("created_at", "id"),),
    )
    scope_fields = {"tenant": String(required=True, max_length=64, coerce_numbers=False)}
    pagination = WidgetPagination()
    create_schema = WidgetSchema()
    initial_values = {"size": 1}
    wire = wire_map(WidgetRecord, table)
    list_parameters = {"q": {"type": "string", "description": "Case-insensitive substring of the name."}}

    def derive(self, record: Record, ctx: Context, existing: Record | None) -> None:
        if existing is None:
            record["created_at"] = ctx.now

    def list_request(self, params: Mapping[str, Any]) -> ListRequest:
        term = params.get("q")
        filters = (Contains(("name",), term.strip()),) if isinstance(term, str) and term.strip() else ()
        return ListRequest(filters, (OrderBy("created_at"), OrderBy("id")))


WIDGETS = Widgets()


class Acme:
    """``store.acme``: services bound to an Acme tenant."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def widgets(self, *, tenant: str) -> ResourceService[WidgetRecord, WidgetPage[WidgetRecord]]:
        """The widgets of one tenant."""
        return ResourceService(self._store, WIDGETS, {"tenant": tenant})


DIALECT = Dialect("acme", Acme, (WIDGETS,), http="acme_dialect.http:AcmeHttp", title="Acme")
