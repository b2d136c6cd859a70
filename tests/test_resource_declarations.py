"""Every resource's parallel declarations agree: one generic test per rule, run for each resource.

A resource is declared by its table (columns), its schemas (what a payload may carry), its initial
values (what a new record starts from), its record type (the wire shape, a TypedDict) and its
renderer; its strategies and its OpenAPI record schema are built or checked beside them. A field
added to one and forgotten in another fails here, naming the resource and the field.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.backends.sql import catalog
from metricscore.dialects import RESOURCES
from metricscore.pagination import Listing
from metricscore.repository import Record
from metricscore.resource import Resource
from metricscore.testing.strategies import STRATEGIES, payloads
from metricscore.wire import optional_wire_keys, required_wire_keys, wire_keys

NAMES = list(RESOURCES)
SCOPES: dict[str, dict[str, Any]] = {
    "posthog.accounts": {"project_id": 1},
    "posthog.group_usage_metrics": {"project_id": 1, "group_type_index": 0},
    "sequence.usage_metrics": {"account_id": "acct-1"},
    "statsig.metrics": {"project_id": "p1"},
}
BOUNDED = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _schemas(resource: Resource[Any]) -> list[Any]:
    return [s for s in (resource.create_schema, resource.update_schema) if s is not None]


def _service(store: mc.Store, name: str) -> Any:
    namespace, method = name.split(".")
    return getattr(getattr(store, namespace), method)(**SCOPES[name])


def _stored(store: mc.Store, resource: Resource[Any], service: Any, id: str) -> Record:
    with store.backend.unit_of_work(write=False) as uow:
        found = uow.repository(resource.table).get(service.scope, id)
    assert found is not None
    return found


class _Reads(dict[str, Any]):
    """A record that remembers which columns a renderer read."""

    def __init__(self, record: Record) -> None:
        super().__init__(record)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)


def test_the_registry_covers_every_resource_once() -> None:
    assert set(STRATEGIES) == set(RESOURCES)
    assert set(SCOPES) == set(RESOURCES)
    tables = [t.name for t in catalog.all_tables()]
    assert {r.table.name for r in RESOURCES.values()} <= set(tables)
    assert len({r.title for r in RESOURCES.values()}) == len(RESOURCES)
    assert all(name == r.name for name, r in RESOURCES.items())


@pytest.mark.parametrize("name", NAMES)
def test_schema_fields_are_columns(name: str) -> None:
    """Every field a payload may carry is stored in a column of the same name (the dry-run flag aside)."""
    resource = RESOURCES[name]
    columns = set(resource.table.column_names)
    for schema in _schemas(resource):
        fields = set(schema.load_fields) - {resource.dry_run_field}
        assert fields <= columns, f"{name} {type(schema).__name__}: not columns: {sorted(fields - columns)}"


@pytest.mark.parametrize("name", NAMES)
def test_initial_values_name_optional_columns(name: str) -> None:
    """Initial values are for columns, and never for a column a create payload must send."""
    resource = RESOURCES[name]
    assert set(resource.initial_values) <= set(resource.table.column_names)
    required = {n for n, f in resource.create_schema.load_fields.items() if f.required}
    assert not required & set(resource.initial_values)


@pytest.mark.parametrize("name", NAMES)
def test_the_record_type_declares_the_wire_keys(name: str) -> None:
    """The record type is the wire shape: the ``wire`` map (when the renderer uses it) follows it."""
    resource = RESOURCES[name]
    keys = wire_keys(resource.record_type)
    assert keys and set(keys) == required_wire_keys(resource.record_type) | optional_wire_keys(resource.record_type)
    if resource.wire:
        assert tuple(resource.wire) == keys


@pytest.mark.parametrize("name", NAMES)
def test_created_records_hold_every_column_and_render_the_wire_keys(name: str) -> None:
    """For valid payloads, and for each with one optional field left out: the stored record holds
    every column (the rule of docs/backends.md), and rendering it reads only columns and gives
    exactly the record type's keys, in its order (optional keys only when set)."""
    resource = RESOURCES[name]
    columns = set(resource.table.column_names)
    keys = wire_keys(resource.record_type)
    required = required_wire_keys(resource.record_type)
    wire_names = {f.data_key or n: n for n, f in resource.create_schema.load_fields.items()}
    optional = {w for w, n in wire_names.items() if not resource.create_schema.load_fields[n].required}

    @BOUNDED
    @given(payloads(name))
    def check(payload: dict[str, Any]) -> None:
        variants = [payload]
        variants += [{k: v for k, v in payload.items() if k != out} for out in sorted(optional & set(payload))]
        for variant in variants:
            store = mc.open_store("memory://")  # a fresh store: unique keys never collide
            service = _service(store, name)
            try:
                created = service.create(variant)
            except mc.ValidationError:
                continue  # leaving this field out breaks a cross-field rule
            record = _stored(store, resource, service, created["id"])
            missing = columns - set(record)
            left_out = sorted(set(payload) - set(variant))
            assert not missing, f"{name}: a record created without {left_out} lacks the columns {sorted(missing)}"
            assert set(record) == columns, f"{name}: stored keys that are no columns: {sorted(set(record) - columns)}"
            reads = _Reads(record)
            rendered = resource.render(reads)
            assert reads.read <= columns, f"{name}: render reads no-columns {sorted(reads.read - columns)}"
            assert list(rendered) == [k for k in keys if k in rendered], f"{name}: wire order or unknown keys"
            assert required <= set(rendered), f"{name}: render lacks {sorted(required - set(rendered))}"
            assert created == rendered

    check()


@pytest.mark.parametrize("name", NAMES)
def test_strategies_generate_every_schema_field(name: str) -> None:
    """The valid-payload strategy exercises every field of the create schema at least once."""
    resource = RESOURCES[name]
    expected = {f.data_key or n for n, f in resource.create_schema.load_fields.items()}
    seen: set[str] = set()

    @settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        seen.update(data.draw(payloads(name)))

    collect()
    assert expected <= seen, f"{name}: the strategy never sends {sorted(expected - seen)}"


class _Params(dict[str, Any]):
    """Query parameters that remember which names were read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize("name", NAMES)
def test_declared_list_parameters_are_the_ones_read(name: str) -> None:
    """The query parameters the OpenAPI document lists are exactly those the resource's
    ``list_request`` and its pagination read."""
    resource = RESOURCES[name]
    params = _Params()
    request = resource.list_request(params)
    assert params.read == set(resource.list_parameters), name
    store = mc.open_store("memory://")
    paging = _Params()
    with store.backend.unit_of_work(write=False) as uow:
        scope = resource.validate_scope(SCOPES[name])
        listing = Listing(uow.repository(resource.table), scope, (), request.order, resource.render)
        resource.pagination.fetch(listing, paging)
    assert paging.read == set(resource.pagination.parameters()), name
