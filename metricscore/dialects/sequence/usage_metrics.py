"""Sequence usage metrics: ``/usage-metrics``, ``/usage-metrics/{id}``.

Rules: ../shared/vendor-behaviour.md section 4 (mirrored in docs/dialects/sequence.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypedDict, get_args

import marshmallow as ma

from ...errors import ErrorMessage
from ...jsonvalue import string_problem
from ...limits import check_filter_values, too_many
from ...pagination import CursorParams
from ...query import Contains, Filter, In, OrderBy
from ...repository import Record
from ...resource import Context, ListRequest, Resource
from ...table import Column, ColumnType, TableSpec
from ...validation import Boolean, Choice, CodedField, Messages, Schema, String, openapi_unless, type_name
from ...wire import wire_map
from .envelope import cursor_pagination

__all__ = [
    "LIMITS",
    "USAGE_METRICS",
    "PropertyFilters",
    "UsageMetricRecord",
    "UsageMetricSchema",
    "UsageMetrics",
    "rule_errors",
]

MetricType = Literal["SIMPLE", "GROUPED"]
AggregationType = Literal["COUNT", "UNIQUE", "SUM"]
METRIC_TYPES: tuple[str, ...] = get_args(MetricType)
AGGREGATION_TYPES: tuple[str, ...] = get_args(AggregationType)
NEEDS_AGGREGATION_PROPERTY = ("SUM", "UNIQUE")
TEXT_LENGTH = 255
DESCRIPTION_LENGTH = 2000
ACCOUNT_ID_LENGTH = 200
#: The most items each list of a usage metric payload may hold (the table in
#: docs/dialects/sequence.md); on top of these, a payload holds at most
#: ``metricscore.limits.MAX_PAYLOAD_VALUES`` values.
LIMITS = {"propertyFilters": 50, "propertyFilters.*": 100}


class PropertyFilters(CodedField):
    """``{"property": ["accepted", "values"]}``: string keys, each a non-empty list of strings."""

    #: Its OpenAPI schema (the document describes a field by this when it has one).
    openapi_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    default_error_messages: Messages = {
        "not_a_dict": 'Expected a dictionary of items but got type "{input_type}".',
        "not_a_list": 'Expected a list of items but got type "{input_type}".',
        "empty": "This list may not be empty.",
        "bad_key": f"Property names must be non-blank strings of at most {TEXT_LENGTH} characters.",
        "bad_value": f"Expected a string of at most {TEXT_LENGTH} characters.",
        "too_many_properties": "Ensure this field has no more than {max_length} properties.",
    }
    error_codes = {**CodedField.error_codes, "not_a_dict": "not_a_dict", "not_a_list": "not_a_list", "empty": "empty"}

    def _message(self, key: str, **kwargs: Any) -> ErrorMessage:
        message = self.make_error(key, **kwargs).messages[0]
        assert isinstance(message, ErrorMessage)
        return message

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise self.make_error("not_a_dict", input_type=type_name(value))
        if len(value) > LIMITS["propertyFilters"]:
            raise self.make_error("too_many_properties", max_length=LIMITS["propertyFilters"])
        errors: dict[str, Any] = {}
        for key, values in value.items():
            if type(key) is not str or not key.strip() or len(key) > TEXT_LENGTH or string_problem(key):
                shown = key if type(key) is str and not string_problem(key) else repr(key)
                errors[shown[: TEXT_LENGTH + 10]] = [self._message("bad_key")]
            elif type(values) is not list:
                errors[key] = [self._message("not_a_list", input_type=type_name(values))]
            elif not values:
                errors[key] = [self._message("empty")]
            elif len(values) > LIMITS["propertyFilters.*"]:
                errors[key] = [too_many(LIMITS["propertyFilters.*"])]
            else:
                bad = {
                    str(i): [self._message("bad_value")]
                    for i, item in enumerate(values)
                    if type(item) is not str or len(item) > TEXT_LENGTH or string_problem(item)
                }
                if bad:
                    errors[key] = bad
        if errors:
            raise ma.ValidationError(errors)
        return {key: list(values) for key, values in value.items()}


def _text(**kwargs: Any) -> String:
    return String(max_length=TEXT_LENGTH, coerce_numbers=False, **kwargs)


def _optional_text(data_key: str, max_length: int = TEXT_LENGTH) -> String:
    return String(max_length=max_length, coerce_numbers=False, allow_none=True, blank_as_none=True, data_key=data_key)


def rule_errors(payload: Mapping[str, Any]) -> dict[str, list[ErrorMessage]]:
    """The cross-field rules of a complete payload (keyed by attribute name, not wire name)."""
    errors: dict[str, list[ErrorMessage]] = {}
    aggregation = payload.get("aggregation_type")
    if aggregation in NEEDS_AGGREGATION_PROPERTY and payload.get("aggregation_property") is None:
        message = f"aggregationProperty is required when aggregationType is {aggregation}."
        errors["aggregationProperty"] = [ErrorMessage(message, "required")]
    if payload.get("metric_type") == "GROUPED" and payload.get("grouping_property") is None:
        message = "groupingProperty is required when metricType is GROUPED."
        errors["groupingProperty"] = [ErrorMessage(message, "required")]
    return errors


class UsageMetricRecord(TypedDict):
    """A Sequence usage metric as the API returns it (the wire order)."""

    id: str
    sequenceAccountId: str
    name: str
    description: str | None
    metricType: MetricType
    eventType: str
    aggregationType: AggregationType
    aggregationProperty: str | None
    groupingProperty: str | None
    #: Property name -> the accepted values.
    propertyFilters: dict[str, list[str]]
    caseSensitive: bool
    unit: str | None
    #: ISO-8601 UTC with ``Z``.
    createdAt: str
    #: Set by a delete (records are soft-deleted); ``None`` before.
    deletedAt: str | None


class UsageMetricListParams(CursorParams, total=False):
    """The keywords of ``usage_metrics.list()``: Sequence's query parameters."""

    #: Case-insensitive substrings of the name and the id.
    name: str | None
    id: str | None
    #: Any of these (comma-separated, or a list).
    eventType: str | Sequence[str] | None
    aggregationType: str | Sequence[str] | None


class _UsageMetricFields(TypedDict, total=False):
    description: str | None
    aggregationProperty: str | None
    groupingProperty: str | None
    #: Property name -> the accepted values.
    propertyFilters: dict[str, list[str]] | None
    caseSensitive: bool
    unit: str | None


class UsageMetricCreate(_UsageMetricFields):
    """The body of ``create`` and ``replace`` (POST, PUT)."""

    name: str
    metricType: MetricType
    eventType: str
    aggregationType: AggregationType


class UsageMetricUpdate(_UsageMetricFields, total=False):
    """The body of ``update`` (PATCH): any of :class:`UsageMetricCreate`'s fields."""

    name: str
    metricType: MetricType
    eventType: str
    aggregationType: AggregationType


def _needs(field: str, selector: str, without: tuple[str, ...]) -> dict[str, Any]:
    """OpenAPI: ``field`` holds some non-blank text unless ``selector`` is one of ``without``."""
    return openapi_unless(
        selector, without, {"required": [field], "properties": {field: {"type": "string", "pattern": r"\S"}}}
    )


class UsageMetricSchema(Schema):
    """A create or PUT body. Read-only fields (``id``, ``createdAt``, ``deletedAt``...) are ignored."""

    #: The cross-field rules of :func:`rule_errors` in OpenAPI (merged into the document's schema).
    openapi_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            _needs("aggregationProperty", "aggregationType", ("COUNT",)),
            _needs("groupingProperty", "metricType", ("SIMPLE",)),
        ]
    }

    name = _text(required=True)
    description = _optional_text("description", DESCRIPTION_LENGTH)
    metric_type = Choice(METRIC_TYPES, required=True, data_key="metricType")
    event_type = _text(required=True, data_key="eventType")
    aggregation_type = Choice(AGGREGATION_TYPES, required=True, data_key="aggregationType")
    aggregation_property = _optional_text("aggregationProperty")
    grouping_property = _optional_text("groupingProperty")
    property_filters = PropertyFilters(allow_none=True, data_key="propertyFilters")
    case_sensitive = Boolean(data_key="caseSensitive")
    unit = _optional_text("unit")

    @ma.validates_schema(skip_on_field_errors=False, pass_original=True)
    def _rules(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Cross-field rules, reported with the field errors; a field that failed is not judged."""
        errors = rule_errors(data)
        for wire, attribute in (("aggregationProperty", "aggregation_type"), ("groupingProperty", "metric_type")):
            if wire in errors and (attribute not in data or (wire in original and _attr(wire) not in data)):
                del errors[wire]
        if errors:
            raise ma.ValidationError(errors)  # type: ignore[arg-type]


def _attr(wire: str) -> str:
    return {"aggregationProperty": "aggregation_property", "groupingProperty": "grouping_property"}[wire]


def _comma_list(value: Any) -> tuple[str, ...] | None:
    """``"a,b"`` or ``["a", "b"]`` -> ``("a", "b")``; ``None`` when there is nothing to filter on."""
    items: list[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = [part for item in value if isinstance(item, str) for part in item.split(",")]
    else:
        return None
    cleaned = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    return cleaned or None


class UsageMetrics(Resource[UsageMetricRecord, UsageMetricCreate, UsageMetricCreate, UsageMetricUpdate]):
    name = "sequence.usage_metrics"
    title = "SequenceUsageMetric"
    record_type = UsageMetricRecord
    table = TableSpec(
        name="sequence_usage_metrics",
        scope=("account_id",),
        columns=(
            Column("account_id", ColumnType.STRING, nullable=False, length=ACCOUNT_ID_LENGTH),
            Column("id", ColumnType.STRING, nullable=False, length=36, searchable=True),
            Column("name", ColumnType.STRING, nullable=False, length=TEXT_LENGTH, searchable=True),
            Column("description", ColumnType.TEXT),
            Column("metric_type", ColumnType.STRING, nullable=False, length=16),
            Column("event_type", ColumnType.STRING, nullable=False, length=TEXT_LENGTH),
            Column("aggregation_type", ColumnType.STRING, nullable=False, length=16),
            Column("aggregation_property", ColumnType.STRING, length=TEXT_LENGTH),
            Column("grouping_property", ColumnType.STRING, length=TEXT_LENGTH),
            Column("property_filters", ColumnType.JSON, nullable=False),
            Column("case_sensitive", ColumnType.BOOLEAN, nullable=False),
            Column("unit", ColumnType.STRING, length=TEXT_LENGTH),
            Column("created_at", ColumnType.DATETIME, nullable=False),
            Column("deleted_at", ColumnType.DATETIME),
        ),
        orderings=(("created_at", "id"),),
    )
    scope_fields = {"account_id": String(required=True, max_length=ACCOUNT_ID_LENGTH, coerce_numbers=False)}
    pagination = cursor_pagination(table)
    create_schema = UsageMetricSchema()
    replace_resets_omitted = True
    soft_delete_column = "deleted_at"
    idempotent = True
    evaluation = "metricscore.dialects.sequence.evaluation:USAGE_METRIC_EVALUATION"
    initial_values = {
        "description": None,
        "aggregation_property": None,
        "grouping_property": None,
        "property_filters": {},
        "case_sensitive": True,
        "unit": None,
    }
    wire = wire_map(UsageMetricRecord, table, {"sequenceAccountId": "account_id"})
    list_parameters = {
        "name": {"type": "string", "description": "Case-insensitive substring of the name."},
        "id": {"type": "string", "description": "Case-insensitive substring of the id."},
        "eventType": {"type": "string", "description": "Comma-separated event types, any of which matches."},
        "aggregationType": {"type": "string", "description": "Comma-separated aggregation types."},
    }

    def load(self, data: Any, mode: Any) -> dict[str, Any]:
        payload = super().load(data, mode)
        if "property_filters" in payload and payload["property_filters"] is None:
            payload["property_filters"] = {}
        return payload

    def derive(self, record: Record, ctx: Context, existing: Record | None) -> None:
        if existing is None:
            record["created_at"] = ctx.now

    def list_request(self, params: Mapping[str, Any]) -> ListRequest:
        filters: list[Filter] = []
        for param, column_name in (("name", "name"), ("id", "id")):
            term = params.get(param)
            if isinstance(term, str) and term.strip():
                filters.append(Contains((column_name,), term.strip()))
        for param, column_name in (("eventType", "event_type"), ("aggregationType", "aggregation_type")):
            values = _comma_list(params.get(param))
            if values is not None:
                check_filter_values(param, values)
                filters.append(In(column_name, values))
        return ListRequest(tuple(filters), (OrderBy("created_at"), OrderBy("id")))


USAGE_METRICS = UsageMetrics()
