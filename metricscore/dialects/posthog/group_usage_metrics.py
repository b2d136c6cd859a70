"""PostHog group usage metrics: ``/api/projects/{project_id}/groups_types/{group_type_index}/metrics/``.

Rules: ../shared/vendor-behaviour.md section 2 (mirrored in docs/dialects/posthog.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypedDict, get_args

import marshmallow as ma

from ...errors import Conflict, ErrorMessage, MetricscoreError, ValidationError
from ...pagination import LimitOffsetPagination
from ...query import OrderBy
from ...repository import Record
from ...resource import Context, ListRequest, Resource
from ...table import Column, ColumnType, TableSpec, UniqueKey
from ...validation import BLANK_PATTERN, NON_BLANK_PATTERN, Choice, Integer, JSONObject, Schema, String, openapi_unless
from ...wire import wire_map
from .envelope import LIST_ENVELOPE

__all__ = [
    "GROUP_USAGE_METRICS",
    "GroupUsageMetricRecord",
    "GroupUsageMetricSchema",
    "GroupUsageMetrics",
    "filters_errors",
    "math_errors",
    "rule_errors",
]

Format = Literal["numeric", "currency"]
Display = Literal["number", "sparkline"]
Math = Literal["count", "sum"]
FORMATS: tuple[str, ...] = get_args(Format)
DISPLAYS: tuple[str, ...] = get_args(Display)
MATHS: tuple[str, ...] = get_args(Math)
SOURCES = ("events", "data_warehouse")
WAREHOUSE_FIELDS = ("table_name", "timestamp_field", "key_field")
#: PostHog has at most five group types per project (indexes 0..4).
MAX_GROUP_TYPE_INDEX = 4
NAME_TAKEN = "A metric with this name already exists for this group type."
WAREHOUSE_FIELDS_REQUIRED = "Data warehouse metrics require table_name, timestamp_field, key_field."
SUM_NEEDS_PROPERTY = "math_property is required when math is 'sum'."
SUM_NEEDS_COLUMN = "math_property (column to sum) is required when math is 'sum'."
COUNT_REFUSES_PROPERTY = "math_property must be empty when math is 'count'."


class GroupUsageMetricRecord(TypedDict):
    """A PostHog group usage metric as the API returns it (the wire order)."""

    id: str
    name: str
    format: Format
    interval: int
    display: Display
    #: ``{"source": "events" | "data_warehouse", ...}``: free-form beyond the source's own fields.
    filters: dict[str, Any]
    math: Math
    math_property: str | None


class _GroupUsageMetricFields(TypedDict, total=False):
    format: Format
    interval: int
    display: Display
    math: Math
    math_property: str | None


class GroupUsageMetricCreate(_GroupUsageMetricFields):
    """The body of ``create`` and ``replace`` (POST, PUT)."""

    name: str
    #: ``{"source": "events" | "data_warehouse", ...}``
    filters: dict[str, Any]


class GroupUsageMetricUpdate(_GroupUsageMetricFields, total=False):
    """The body of ``update`` (PATCH): any of :class:`GroupUsageMetricCreate`'s fields."""

    name: str
    filters: dict[str, Any]


class GroupUsageMetricSchema(Schema):
    """Validation of a group usage metric payload; ``group_type_index`` comes from the path only."""

    name = String(required=True, max_length=255)
    format = Choice(FORMATS, load_default="numeric")
    interval = Integer(load_default=7, min_value=1, max_value=2**31 - 1)
    display = Choice(DISPLAYS, load_default="number")
    filters = JSONObject(required=True)
    math = Choice(MATHS, load_default="count")
    math_property = String(max_length=255, allow_none=True, allow_blank=True)

    @ma.validates_schema(skip_on_field_errors=False)
    def _rules(self, data: dict[str, Any], *, partial: Any, **kwargs: Any) -> None:
        """On a complete payload, the cross-field rules run beside the field errors (all at once).

        A partial update is checked on the merged record instead (``GroupUsageMetrics.check``).
        """
        if partial or "filters" not in data:
            return
        # Judged only when math_property is known: sent and valid, or defaulted on create. A PUT
        # that omits it keeps the stored value, so that case is left to ``check``.
        errors = rule_errors(data, math_known="math" in data, property_known="math_property" in data)
        if errors:
            raise ma.ValidationError(errors)  # type: ignore[arg-type]


class GroupUsageMetricCreateSchema(GroupUsageMetricSchema):
    """On create an omitted ``math_property`` is null."""

    #: :func:`math_errors` in OpenAPI (an omitted ``math`` is ``count``). Only on create: an update
    #: is judged with the stored record.
    openapi_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            {
                "anyOf": [
                    {"required": ["math"], "properties": {"math": {"enum": [m for m in MATHS if m != "count"]}}},
                    {"properties": {"math_property": {"nullable": True, "type": "string", "pattern": BLANK_PATTERN}}},
                ]
            },
            openapi_unless(
                "math",
                [m for m in MATHS if m != "sum"],
                {
                    "required": ["math_property"],
                    # a number is text too (and never blank), as on every PostHog text field
                    "properties": {
                        "math_property": {
                            "anyOf": [{"type": "string", "pattern": NON_BLANK_PATTERN}, {"type": "number"}]
                        }
                    },
                },
            ),
        ]
    }

    math_property = String(max_length=255, allow_none=True, allow_blank=True, load_default=None)


def _source(filters: Mapping[str, Any]) -> Any:
    return filters.get("source", "events")


def filters_errors(filters: Mapping[str, Any]) -> list[ErrorMessage]:
    """The problems of ``filters`` that depend on nothing else (the source and its fields)."""
    source = _source(filters)
    if source == "events":
        return []
    if source == "data_warehouse":
        if all(type(v := filters.get(f)) is str and v.strip() for f in WAREHOUSE_FIELDS):
            return []
        return [ErrorMessage(WAREHOUSE_FIELDS_REQUIRED, "invalid_input")]
    return [ErrorMessage(f"Unknown source: '{source}'", "invalid_input")]


def math_errors(math: str, math_property: str | None, source: Any) -> list[ErrorMessage]:
    """The ``math`` / ``math_property`` rule of the given source."""
    empty = math_property is None or not math_property.strip()
    if math == "sum" and empty:
        return [ErrorMessage(SUM_NEEDS_COLUMN if source == "data_warehouse" else SUM_NEEDS_PROPERTY, "invalid_input")]
    if math == "count" and not empty:
        return [ErrorMessage(COUNT_REFUSES_PROPERTY, "invalid_input")]
    return []


def rule_errors(record: Mapping[str, Any], *, math_known: bool = True, property_known: bool = True) -> dict[str, Any]:
    """Every source and math problem of a complete record (fields that failed are skipped)."""
    errors: dict[str, Any] = {}
    filters = record["filters"]
    filter_problems = filters_errors(filters)
    if filter_problems:
        errors["filters"] = filter_problems
    source = _source(filters)
    if source in SOURCES and math_known and property_known:
        math_problems = math_errors(record["math"], record.get("math_property"), source)
        if math_problems:
            errors["math_property"] = math_problems
    return errors


class GroupUsageMetrics(
    Resource[GroupUsageMetricRecord, GroupUsageMetricCreate, GroupUsageMetricCreate, GroupUsageMetricUpdate]
):
    name = "posthog.group_usage_metrics"
    title = "PostHogGroupUsageMetric"
    record_type = GroupUsageMetricRecord
    #: An extension of the vendor's API: an ``Idempotency-Key`` on create (see metricscore.idempotency).
    idempotent = True
    table = TableSpec(
        name="posthog_group_usage_metrics",
        scope=("project_id", "group_type_index"),
        columns=(
            Column("project_id", ColumnType.INTEGER, nullable=False),
            Column("group_type_index", ColumnType.INTEGER, nullable=False),
            Column("id", ColumnType.STRING, nullable=False, length=36),
            Column("name", ColumnType.STRING, nullable=False, length=255),
            Column("format", ColumnType.STRING, nullable=False, length=16),
            Column("interval", ColumnType.INTEGER, nullable=False),
            Column("display", ColumnType.STRING, nullable=False, length=16),
            Column("filters", ColumnType.JSON, nullable=False),
            Column("math", ColumnType.STRING, nullable=False, length=16),
            Column("math_property", ColumnType.STRING, length=255),
            Column("created_at", ColumnType.DATETIME, nullable=False),
        ),
        unique_keys=(UniqueKey("posthog_group_usage_metrics_name", ("name",)),),
        orderings=(("created_at", "id"),),
    )
    scope_fields = {
        "project_id": Integer(required=True, strict=True, min_value=0),
        "group_type_index": Integer(required=True, strict=True, min_value=0, max_value=MAX_GROUP_TYPE_INDEX),
    }
    pagination = LimitOffsetPagination(LIST_ENVELOPE)
    actor_field = Integer(strict=True, allow_none=True)  # the PostHog user id
    create_schema = GroupUsageMetricCreateSchema()
    update_schema = GroupUsageMetricSchema()
    initial_values = {"math_property": None}
    evaluation = "metricscore.dialects.posthog.evaluation:GROUP_USAGE_METRIC_EVALUATION"
    wire = wire_map(GroupUsageMetricRecord, table)

    def derive(self, record: Record, ctx: Context, existing: Record | None) -> None:
        if existing is None:
            record["created_at"] = ctx.now

    def check(self, record: Record, ctx: Context, existing: Record | None) -> None:
        """The source and math rules, on the complete (merged) record."""
        errors = rule_errors(record)
        filters = record["filters"]
        exists = ctx.store.setting("warehouse_table_exists")
        if not errors and _source(filters) == "data_warehouse" and exists is not None:
            table_name = filters["table_name"]
            if not exists(record["project_id"], table_name):
                message = f"Data warehouse table '{table_name}' does not exist."
                errors["filters"] = [ErrorMessage(message, "invalid_input")]
        if errors:
            raise ValidationError(errors)

    def conflict(self, error: Conflict) -> MetricscoreError:
        if error.fields == ("name",):
            return ValidationError({"name": [ErrorMessage(NAME_TAKEN, "unique")]})
        return error

    def list_request(self, params: Mapping[str, Any]) -> ListRequest:
        return ListRequest((), (OrderBy("created_at"), OrderBy("id")))

    def events_dataset(self, scope: Mapping[str, Any]) -> str:
        """Events belong to the project: every group type reads them (``$group_N`` keys)."""
        return f"posthog:{scope['project_id']}"


GROUP_USAGE_METRICS = GroupUsageMetrics()
