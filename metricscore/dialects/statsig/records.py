"""The wire shape of a Statsig metric definition (the Console API's read model).

Mirrors ``ExternalMetricDefinitionContractDto`` of the seed's OpenAPI document; the differences are
deliberate and tested field by field (tests/http/test_openapi_responses.py): ``dryRun`` is a request
field only, ``archiveTime`` is ours (the archive schedule). Keys that a record leaves out when they
have no value are ``NotRequired``.

No ``from __future__ import annotations`` here: Python 3.11 computes a ``TypedDict``'s required keys
from evaluated annotations only.
"""

from typing import Annotated, Any, NotRequired, TypedDict

from .schemas import (
    Condition,
    CreateType,
    CriterionType,
    Directionality,
    EventType,
    FunnelCountDistinct,
    FunnelEventType,
    ReadType,
    WarehouseNativeSchema,
)

__all__ = [
    "StatsigComponentMetric",
    "StatsigComponentMetricPayload",
    "StatsigCriterion",
    "StatsigFunnelEvent",
    "StatsigLineage",
    "StatsigMetricCreate",
    "StatsigMetricEvent",
    "StatsigMetricEventPayload",
    "StatsigMetricRecord",
    "StatsigMetricReplace",
    "StatsigMetricUpdate",
    "StatsigOwner",
]


class StatsigCriterion(TypedDict):
    type: CriterionType
    condition: Condition
    column: NotRequired[str]
    values: NotRequired[list[str]]
    nullVacuousOverride: NotRequired[bool]


class StatsigMetricEvent(TypedDict):
    name: str
    type: NotRequired[EventType]
    metadataKey: NotRequired[str]
    criteria: list[StatsigCriterion]


class StatsigComponentMetric(TypedDict):
    name: str
    type: str


class StatsigFunnelEvent(TypedDict):
    name: str
    type: FunnelEventType


class StatsigOwner(TypedDict):
    name: str


class StatsigLineage(TypedDict):
    #: The names of the events the metric reads.
    events: list[str]
    #: The ids (``name::type``) of its component metrics.
    metrics: list[str]


class StatsigMetricRecord(TypedDict):
    """A Statsig metric definition as the Console API returns it (the wire order)."""

    id: str
    name: str
    directionality: Directionality
    type: ReadType
    description: str
    isPermanent: bool
    isReadOnly: bool
    isHidden: bool
    isVerified: bool
    tags: list[str]
    creatorName: str
    creatorEmail: str | None
    #: Epoch milliseconds.
    createdTime: int
    owner: StatsigOwner
    lineage: StatsigLineage
    team: str | None
    teamID: str | None
    unitTypes: list[str]
    metricEvents: list[StatsigMetricEvent]
    metricComponentMetrics: list[StatsigComponentMetric]
    funnelEventList: NotRequired[list[StatsigFunnelEvent]]
    funnelCountDistinct: NotRequired[FunnelCountDistinct]
    rollupTimeWindow: NotRequired[str]
    customRollUpStart: NotRequired[float]
    customRollUpEnd: NotRequired[float]
    #: The fields of the seed's ``warehouseNative`` object that were sent (see WarehouseNativeSchema).
    warehouseNative: NotRequired[Annotated[dict[str, Any], WarehouseNativeSchema]]
    lastModifiedTime: NotRequired[int]
    lastModifierName: NotRequired[str | None]
    lastModifierID: NotRequired[str | None]
    lastModifierEmail: NotRequired[str | None]
    #: Epoch milliseconds: when a scheduled archive takes (or took) effect.
    archiveTime: NotRequired[int]


# -- request bodies (the payloads ``create``, ``replace`` and ``update`` take) ----------------------


class StatsigMetricEventPayload(TypedDict):
    """An item of ``metricEvents`` as sent (``type: null`` is stored as no type)."""

    name: str
    type: NotRequired[EventType | None]
    metadataKey: NotRequired[str]
    criteria: NotRequired[list[StatsigCriterion]]


class StatsigComponentMetricPayload(TypedDict):
    """An item of ``metricComponentMetrics`` as sent: a metric by name and (creatable) type."""

    name: str
    type: CreateType


class _MetricFields(TypedDict, total=False):
    """The fields of every body (``MetricCreateSchema`` and ``MetricUpdateSchema``)."""

    description: str | None
    #: A tag or a list of them.
    tags: str | list[str]
    team: str | None
    teamID: str | None
    warehouseNative: Annotated[dict[str, Any], WarehouseNativeSchema] | None
    #: Validate and answer the would-be record, storing nothing.
    dryRun: bool
    directionality: Directionality
    isVerified: bool
    isReadOnly: bool
    isPermanent: bool
    unitTypes: list[str]


class _MetricCreateFields(_MetricFields, total=False):
    metricEvents: list[StatsigMetricEventPayload]
    metricComponentMetrics: list[StatsigComponentMetricPayload]
    funnelEventList: list[StatsigFunnelEvent] | None
    funnelCountDistinct: FunnelCountDistinct | None
    rollupTimeWindow: str | None
    customRollUpStart: float | None
    customRollUpEnd: float | None


class StatsigMetricCreate(_MetricCreateFields):
    """The body of ``create`` (``POST /console/v1/metrics``)."""

    name: str
    type: CreateType


class _MetricChangeFields(_MetricFields, total=False):
    owner: StatsigOwner


class StatsigMetricReplace(_MetricChangeFields):
    """The body of ``replace``: the updatable fields, ``name`` required."""

    name: str


class StatsigMetricUpdate(_MetricChangeFields, total=False):
    """The body of ``update`` (``POST /console/v1/metrics/{id}``): any updatable field."""

    name: str
