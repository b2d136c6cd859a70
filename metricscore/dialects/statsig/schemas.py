"""Statsig metric definition payloads: every enum and shape of the Console API's metric schema."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args

import marshmallow as ma

from ...errors import ErrorMessage
from ...limits import TOO_MANY_ITEMS
from ...validation import (
    ANY_TEXT_PATTERN,
    Boolean,
    Choice,
    CodedField,
    Float,
    List,
    Messages,
    Nested,
    Schema,
    String,
    openapi_unless,
)

__all__ = [
    "CONDITIONS",
    "CREATE_TYPES",
    "CRITERIA_TYPES",
    "DIRECTIONALITIES",
    "EVENT_TYPES",
    "FUNNEL_EVENT_TYPES",
    "LIMITS",
    "NAME_PATTERN",
    "NEEDS_EVENTS",
    "NEEDS_UNIT_TYPES",
    "READ_TYPES",
    "UPDATABLE",
    "WAREHOUSE_AGGREGATIONS",
    "MetricCreateSchema",
    "MetricUpdateSchema",
]

# Each enum is declared once, as a Literal: the record types (records.py) use the Literal, the
# schemas below the tuple of its values.
CreateType = Literal[
    "ratio",
    "mean",
    "event_count_custom",
    "event_user",
    "funnel",
    "composite",
    "composite_sum",
    "sum",
    "undefined",
    "user_warehouse",
]
#: A read can also show types the Console API does not create.
ReadType = Literal[CreateType, "setup_incomplete", "import_window"]
Directionality = Literal["increase", "decrease"]
EventType = Literal["count", "count_distinct", "value", "metadata"]
CriterionType = Literal["value", "metadata", "user", "user_custom"]
Condition = Literal[
    "in",
    "not_in",
    "=",
    ">",
    "<",
    ">=",
    "<=",
    "is_null",
    "non_null",
    "contains",
    "not_contains",
    "is_true",
    "is_false",
    "sql_filter",
    "starts_with",
    "ends_with",
    "after_exposure",
]
FunnelEventType = Literal["event_dau", "event_user", "event_count", "event_count_custom"]
FunnelCountDistinct = Literal["events", "users"]
CREATE_TYPES: tuple[str, ...] = get_args(CreateType)
READ_TYPES: tuple[str, ...] = get_args(ReadType)
DIRECTIONALITIES: tuple[str, ...] = get_args(Directionality)
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
CRITERIA_TYPES: tuple[str, ...] = get_args(CriterionType)
CONDITIONS: tuple[str, ...] = get_args(Condition)
FUNNEL_EVENT_TYPES: tuple[str, ...] = get_args(FunnelEventType)
FUNNEL_COUNT_DISTINCT: tuple[str, ...] = get_args(FunnelCountDistinct)
WAREHOUSE_AGGREGATIONS = (
    "count",
    "sum",
    "mean",
    "daily_participation",
    "ratio",
    "funnel",
    "count_distinct",
    "percentile",
    "first_value",
    "latest_value",
    "retention",
    "max",
    "min",
    "",
)
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_.\-()/ %:]*$")
NAME_MIN, NAME_MAX = 4, 200
DESCRIPTION_MAX = 1000
TEXT_MAX = 1000
TAG_MAX = 100
#: The most items each list of a metric payload may hold (the table in docs/dialects/statsig.md).
#: ``criteria`` is every list of criteria (``metricEvents[].criteria``, ``warehouseNative.criteria``,
#: ...); on top of these, a payload holds at most ``metricscore.limits.MAX_PAYLOAD_VALUES`` values.
LIMITS = {
    "tags": 100,
    "unitTypes": 20,
    "metricEvents": 50,
    "metricComponentMetrics": 50,
    "funnelEventList": 50,
    "criteria": 50,
    "criteria[].values": 500,
    "warehouseNative.funnelEvents": 50,
    "warehouseNative.metricDimensionColumns": 50,
}
#: The fields an update (POST /console/v1/metrics/{id}) accepts; anything else is refused.
UPDATABLE = (
    "name",
    "description",
    "tags",
    "isVerified",
    "isReadOnly",
    "isPermanent",
    "unitTypes",
    "team",
    "teamID",
    "directionality",
    "owner",
    "warehouseNative",
    "dryRun",
)


def _text(**kwargs: Any) -> String:
    """Free text as Statsig keeps it: not trimmed, blank allowed, numbers refused."""
    kwargs.setdefault("max_length", TEXT_MAX)
    return String(trim=False, allow_blank=True, coerce_numbers=False, **kwargs)


def _word(**kwargs: Any) -> String:
    """A non-blank identifier-like string (event names, unit types)."""
    return String(trim=False, max_length=TEXT_MAX, coerce_numbers=False, **kwargs)


class MetricName(String):
    #: OpenAPI: :data:`NAME_PATTERN`, in place of the non-blank pattern of other strings (a name
    #: of four spaces is accepted, as it is untrimmed and long enough).
    openapi_schema: ClassVar[dict[str, Any]] = {"pattern": NAME_PATTERN.pattern}

    default_error_messages: Messages = {
        "pattern": "Ensure this field contains only letters, digits, spaces and _ . - ( ) / % :",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim=False, coerce_numbers=False, min_length=NAME_MIN, max_length=NAME_MAX, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not NAME_PATTERN.fullmatch(text):
            raise self.make_error("pattern")
        return text


_TAG_SCHEMA = {"type": "string", "minLength": 1, "maxLength": TAG_MAX, "pattern": ANY_TEXT_PATTERN}


class Tags(CodedField):
    """A string or a list of strings; always a list (duplicates dropped, first order kept)."""

    #: Its OpenAPI schema: one tag (untrimmed, not empty, no NUL) or a list of them.
    openapi_schema: ClassVar[dict[str, Any]] = {
        "anyOf": [_TAG_SCHEMA, {"type": "array", "items": _TAG_SCHEMA, "maxItems": LIMITS["tags"]}]
    }

    default_error_messages: Messages = {
        "invalid": "Expected a string or a list of strings.",
        "item": f"Expected a non-blank string of at most {TAG_MAX} characters.",
        "max_length": TOO_MANY_ITEMS,
    }
    error_codes = {**CodedField.error_codes, "max_length": "max_length"}
    _tag = String(trim=False, max_length=TAG_MAX, coerce_numbers=False)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is str:
            value = [value]
        if type(value) is not list:
            raise self.make_error("invalid")
        if len(value) > LIMITS["tags"]:
            raise self.make_error("max_length", max_length=LIMITS["tags"])
        errors: dict[str, Any] = {}
        tags: list[str] = []
        for index, item in enumerate(value):
            try:
                tags.append(self._tag.deserialize(item))
            except ma.ValidationError as error:
                errors[str(index)] = error.messages
        if errors:
            raise ma.ValidationError(errors)
        return list(dict.fromkeys(tags))


class CriterionSchema(Schema):
    type = Choice(CRITERIA_TYPES, required=True)
    condition = Choice(CONDITIONS, required=True)
    column = _text()
    values = List(_text(), max_length=LIMITS["criteria[].values"])
    nullVacuousOverride = Boolean()


def _criteria(**kwargs: Any) -> List:
    return List(Nested(CriterionSchema), max_length=LIMITS["criteria"], **kwargs)


class MetricEventSchema(Schema):
    name = _word(required=True)
    type = Choice(EVENT_TYPES, allow_none=True)
    metadataKey = _text()
    criteria = _criteria(load_default=list)

    @ma.post_load
    def _drop_null_type(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """``type: null`` is accepted and stored as no type: the read schema's enum has no null."""
        if data.get("type", "") is None:
            del data["type"]
        return data


class ComponentMetricSchema(Schema):
    name = _word(required=True)
    type = Choice(CREATE_TYPES, required=True)


class FunnelEventSchema(Schema):
    name = _word(required=True)
    type = Choice(FUNNEL_EVENT_TYPES, required=True)


class WarehouseFunnelEventSchema(Schema):
    criteria = _criteria()
    metricSourceName = _text()
    name = _text(allow_none=True)
    sessionIdentifierField = _text(allow_none=True)


def _fraction() -> Float:
    return Float(min_value=0, max_value=1)


class WarehouseNativeSchema(Schema):
    """``warehouseNative``: only the fields of the seed's schema are kept."""

    aggregation = Choice(WAREHOUSE_AGGREGATIONS)
    metricSourceName = _text()
    criteria = _criteria()
    waitForCohortWindow = Boolean()
    denominatorCriteria = _criteria()
    denominatorAggregation = Choice(WAREHOUSE_AGGREGATIONS)
    denominatorCustomRollupEnd = Float()
    denominatorCustomRollupStart = Float()
    denominatorMetricSourceName = _text()
    denominatorRollupTimeWindow = _text()
    denominatorValueColumn = _text()
    funnelCalculationWindow = Float()
    funnelCountDistinct = Choice(("sessions", "users"))
    funnelEvents = List(Nested(WarehouseFunnelEventSchema), max_length=LIMITS["warehouseNative.funnelEvents"])
    funnelStartCriteria = Choice(("start_event", "exposure"))
    metricDimensionColumns = List(_text(), max_length=LIMITS["warehouseNative.metricDimensionColumns"])
    metricBakeDays = Float()
    numeratorAggregation = Choice(WAREHOUSE_AGGREGATIONS)
    valueColumn = _text()
    winsorizationHigh = _fraction()
    winsorizationLow = _fraction()
    cupedAttributionWindow = Float(allow_none=True)
    onlyIncludeUsersWithConversionEvent = Boolean()
    percentile = Float()
    valueThreshold = Float()
    cap = Float()
    rollupTimeWindow = _text()
    customRollUpStart = Float()
    customRollUpEnd = Float()
    allowNullRatioDenominator = Boolean()


class OwnerSchema(Schema):
    name = _word(required=True)


class _Common(Schema):
    """Fields shared by create and update; attributes are storage columns, ``data_key`` the wire name."""

    name = MetricName(required=True)
    description = _text(max_length=DESCRIPTION_MAX, allow_none=True)
    tags = Tags()
    team = _text(allow_none=True)
    team_id = _text(allow_none=True, data_key="teamID")
    warehouse_native = Nested(WarehouseNativeSchema, allow_none=True, data_key="warehouseNative")
    dry_run = Boolean(data_key="dryRun")


#: The types whose metrics need some events, and some unit types (``rule_errors`` in metrics.py).
NEEDS_EVENTS = ("sum", "mean", "event_count_custom", "ratio")
NEEDS_UNIT_TYPES = (*NEEDS_EVENTS, "composite", "composite_sum")


def _by_type(types: tuple[str, ...], then: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI: ``then`` holds for a metric of one of ``types``."""
    return openapi_unless("type", [kind for kind in CREATE_TYPES if kind not in types], then)


def _at_least(field: str, count: int) -> dict[str, Any]:
    return {"required": [field], "properties": {field: {"type": "array", "minItems": count}}}


class MetricCreateSchema(_Common):
    """POST /console/v1/metrics. Unknown and read-only fields are ignored."""

    #: The rules by type of ``rule_errors`` (metrics.py) that OpenAPI states simply; not the
    #: custom rollup's, which would need ``not`` (start <= end is not said either).
    openapi_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            _by_type(NEEDS_UNIT_TYPES, _at_least("unitTypes", 1)),
            _by_type(NEEDS_EVENTS, _at_least("metricEvents", 1)),
            _by_type(
                ("event_user",),
                {"properties": {"metricEvents": {"items": _at_least("criteria", 1)}}},
            ),
            _by_type(
                ("funnel",),
                {
                    "required": ["funnelCountDistinct", "funnelEventList"],
                    "properties": {
                        "funnelCountDistinct": {"type": "string"},
                        "funnelEventList": {"type": "array", "minItems": 2},
                    },
                },
            ),
            _by_type(("composite_sum",), _at_least("metricComponentMetrics", 2)),
        ]
    }

    type = Choice(CREATE_TYPES, required=True)
    directionality = Choice(DIRECTIONALITIES, load_default="increase")
    is_verified = Boolean(load_default=False, data_key="isVerified")
    is_read_only = Boolean(load_default=False, data_key="isReadOnly")
    is_permanent = Boolean(load_default=False, data_key="isPermanent")
    unit_types = List(_word(), load_default=list, data_key="unitTypes", max_length=LIMITS["unitTypes"])
    metric_events = List(
        Nested(MetricEventSchema), load_default=list, data_key="metricEvents", max_length=LIMITS["metricEvents"]
    )
    metric_component_metrics = List(
        Nested(ComponentMetricSchema),
        load_default=list,
        data_key="metricComponentMetrics",
        max_length=LIMITS["metricComponentMetrics"],
    )
    funnel_event_list = List(
        Nested(FunnelEventSchema), allow_none=True, data_key="funnelEventList", max_length=LIMITS["funnelEventList"]
    )
    funnel_count_distinct = Choice(FUNNEL_COUNT_DISTINCT, allow_none=True, data_key="funnelCountDistinct")
    rollup_time_window = _text(max_length=100, allow_none=True, data_key="rollupTimeWindow")
    custom_roll_up_start = Float(min_value=0, allow_none=True, data_key="customRollUpStart")
    custom_roll_up_end = Float(min_value=0, allow_none=True, data_key="customRollUpEnd")

    @ma.validates_schema(skip_on_field_errors=False, pass_original=True)
    def _rules(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """The rules by type, reported beside the field errors; failed fields are not judged."""
        from .metrics import rule_errors  # the rules live with the resource

        failed = {
            name
            for name, field in self.load_fields.items()
            if (field.data_key or name) in original and name not in data
        }
        errors = rule_errors({**_CREATE_DEFAULTS, **data}, failed)
        if errors:
            raise ma.ValidationError(errors)  # type: ignore[arg-type]


_CREATE_DEFAULTS: dict[str, Any] = {
    "funnel_event_list": None,
    "funnel_count_distinct": None,
    "rollup_time_window": None,
    "custom_roll_up_start": None,
    "custom_roll_up_end": None,
}


class MetricUpdateSchema(_Common):
    """POST /console/v1/metrics/{id}: only :data:`UPDATABLE` fields (checked by the resource)."""

    #: Any other field is refused (``not_updatable``), and these fields are :data:`UPDATABLE`.
    openapi_rules: ClassVar[dict[str, Any]] = {"additionalProperties": False}

    directionality = Choice(DIRECTIONALITIES)
    is_verified = Boolean(data_key="isVerified")
    is_read_only = Boolean(data_key="isReadOnly")
    is_permanent = Boolean(data_key="isPermanent")
    unit_types = List(_word(), data_key="unitTypes", max_length=LIMITS["unitTypes"])
    owner = Nested(OwnerSchema)


def not_updatable(data: Mapping[str, Any]) -> dict[str, list[ErrorMessage]]:
    """An error for every field of an update body that is not in :data:`UPDATABLE`."""
    return {
        str(key)[:200]: [ErrorMessage("This field cannot be updated.", "invalid_input")]
        for key in data
        if key not in UPDATABLE
    }
