"""Statsig metric definitions: Console API ``/console/v1/metrics``.

Rules: ../shared/vendor-behaviour.md section 5 (mirrored in docs/dialects/statsig.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from ...errors import Conflict, ErrorMessage, MetricscoreError, ValidationError
from ...jsonvalue import copy_json, string_problem
from ...limits import check_filter_values
from ...pagination import NumberedParams, PageNumberPagination
from ...query import Eq, Filter, HasAny, OrderBy, Query
from ...repository import Record
from ...resource import ACTOR_FIELD, Context, ListRequest, Mode, Resource
from ...table import Column, ColumnType, TableSpec, UniqueKey
from ...validation import String
from .envelope import ListEnvelope
from .records import StatsigMetricCreate, StatsigMetricRecord, StatsigMetricReplace, StatsigMetricUpdate
from .schemas import NEEDS_EVENTS, NEEDS_UNIT_TYPES, MetricCreateSchema, MetricUpdateSchema, not_updatable

__all__ = [
    "ARCHIVE_GRACE",
    "DEFAULT_ACTOR",
    "METRICS",
    "Metrics",
    "actor_errors",
    "actor_identity",
    "epoch_ms",
    "rule_errors",
]

DEFAULT_ACTOR = "CONSOLE API"
#: How long a scheduled archive can still be cancelled; after it the metric is archived.
#: "Metric archive scheduled successfully for next day." (Statsig): archived one day later.
ARCHIVE_GRACE = timedelta(days=1)
NAME_TYPE_TAKEN = "A metric with this name and type already exists."
ORDER = (OrderBy("created_at"), OrderBy("id"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (Statsig's ``createdTime``)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def metric_id(name: str, type: str) -> str:
    return f"{name}::{type}"


def _message(text: str, code: str = "invalid_input") -> list[ErrorMessage]:
    return [ErrorMessage(text, code)]


def rule_errors(record: Mapping[str, Any], failed: Iterable[str] = ()) -> dict[str, Any]:
    """The rules by type and the custom rollup rule, on a record keyed by column name.

    Errors are keyed by wire name. A field named in ``failed`` (it had its own error) is not judged.
    """
    skip = set(failed)
    errors: dict[str, Any] = {}
    kind = record.get("type")
    if "type" in skip:
        kind = None

    def judged(attribute: str) -> bool:
        return attribute not in skip

    if kind in NEEDS_UNIT_TYPES and judged("unit_types") and not record.get("unit_types"):
        errors["unitTypes"] = _message(f"unitTypes may not be empty for metrics of type '{kind}'.", "required")
    if kind in NEEDS_EVENTS and judged("metric_events") and not record.get("metric_events"):
        errors["metricEvents"] = _message(f"metricEvents may not be empty for metrics of type '{kind}'.", "required")
    if kind == "event_user" and judged("metric_events"):
        missing = {
            str(index): {"criteria": _message("Metrics of type 'event_user' need criteria on every event.", "required")}
            for index, event in enumerate(record.get("metric_events") or ())
            if not event.get("criteria")
        }
        if missing:
            errors["metricEvents"] = missing
    if kind == "funnel":
        if judged("funnel_count_distinct") and record.get("funnel_count_distinct") is None:
            errors["funnelCountDistinct"] = _message("funnelCountDistinct is required for funnel metrics.", "required")
        if judged("funnel_event_list") and len(record.get("funnel_event_list") or ()) < 2:
            errors["funnelEventList"] = _message("Funnel metrics need at least 2 funnelEventList entries.")
    components = record.get("metric_component_metrics") or ()
    if kind == "composite_sum" and judged("metric_component_metrics") and len(components) <= 1:
        errors["metricComponentMetrics"] = _message("composite_sum metrics need more than one component metric.")
    if record.get("rollup_time_window") == "custom" and judged("rollup_time_window"):
        start, end = record.get("custom_roll_up_start"), record.get("custom_roll_up_end")
        if start is None and judged("custom_roll_up_start"):
            errors["customRollUpStart"] = _message("customRollUpStart is required for a custom rollup.", "required")
        if end is None and judged("custom_roll_up_end"):
            errors["customRollUpEnd"] = _message("customRollUpEnd is required for a custom rollup.", "required")
        if start is not None and end is not None and start > end:
            errors["customRollUpStart"] = _message("customRollUpStart must not be after customRollUpEnd.")
    return errors


ACTOR_TEXT_MAX = 200
BAD_ACTOR = "An actor is a name, or a mapping with optional name, email and id."


def actor_identity(actor: Any) -> tuple[str, str | None, str | None]:
    """(name, email, id) of whoever acts: a key name, or a mapping with ``name``/``email``/``id``.

    ``actor`` has passed :func:`actor_errors`.
    """
    name: Any = actor
    email: Any = None
    actor_id: Any = None
    if isinstance(actor, Mapping):
        name, email, actor_id = actor.get("name"), actor.get("email"), actor.get("id")
    return (
        name if isinstance(name, str) and name else DEFAULT_ACTOR,
        email if isinstance(email, str) else None,
        None if actor_id is None else str(actor_id),
    )


def actor_errors(actor: Any) -> list[ErrorMessage]:
    """Why ``actor`` cannot be recorded as creator or last modifier (empty when it can)."""
    if actor is None:
        return []
    if type(actor) is str:
        parts: dict[str, Any] = {"name": actor}
    elif isinstance(actor, Mapping):
        parts = {key: actor.get(key) for key in ("name", "email", "id")}
    else:
        return _message(BAD_ACTOR)
    problems: list[ErrorMessage] = []
    for key, value in parts.items():
        if value is None or (key == "id" and type(value) is int and -(2**63) <= value < 2**63):
            continue
        if type(value) is not str:
            problems += _message(f"The actor's {key} must be a string.")
        elif (problem := string_problem(value)) is not None:
            problems += _message(f"The actor's {key} is not valid: {problem}")
        elif len(value) > ACTOR_TEXT_MAX:
            problems += _message(f"The actor's {key} may have at most {ACTOR_TEXT_MAX} characters.")
    return problems


def _tags_filter(value: Any) -> tuple[str, ...] | None:
    items: list[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = [item for item in value if isinstance(item, str)]
    else:
        return None
    tags = tuple(sorted({item.strip() for item in items if item.strip()}))
    return tags or None


_OPTIONAL_WIRE = (
    ("funnelEventList", "funnel_event_list"),
    ("funnelCountDistinct", "funnel_count_distinct"),
    ("rollupTimeWindow", "rollup_time_window"),
    ("customRollUpStart", "custom_roll_up_start"),
    ("customRollUpEnd", "custom_roll_up_end"),
    ("warehouseNative", "warehouse_native"),
)


class MetricListParams(NumberedParams, total=False):
    """The keywords of ``metrics.list()``: the Console API's query parameters."""

    #: Any of these tags (comma-separated, or a list).
    tags: str | Sequence[str] | None


class Metrics(Resource[StatsigMetricRecord, StatsigMetricCreate, StatsigMetricReplace, StatsigMetricUpdate]):
    name = "statsig.metrics"
    title = "StatsigMetric"
    record_type = StatsigMetricRecord
    #: An extension of the vendor's API: an ``Idempotency-Key`` on create (see metricscore.idempotency).
    idempotent = True
    table = TableSpec(
        name="statsig_metrics",
        scope=("project_id",),
        columns=(
            Column("project_id", ColumnType.STRING, nullable=False, length=100),
            Column("id", ColumnType.STRING, nullable=False, length=240),
            Column("name", ColumnType.STRING, nullable=False, length=200),
            Column("type", ColumnType.STRING, nullable=False, length=32),
            Column("description", ColumnType.TEXT, nullable=False),
            Column("directionality", ColumnType.STRING, nullable=False, length=16),
            Column("tags", ColumnType.JSON, nullable=False),
            Column("tag_index", ColumnType.TAGS, nullable=False),
            Column("is_verified", ColumnType.BOOLEAN, nullable=False),
            Column("is_read_only", ColumnType.BOOLEAN, nullable=False),
            Column("is_permanent", ColumnType.BOOLEAN, nullable=False),
            Column("unit_types", ColumnType.JSON, nullable=False),
            Column("metric_events", ColumnType.JSON, nullable=False),
            Column("metric_component_metrics", ColumnType.JSON, nullable=False),
            Column("component_ids", ColumnType.TAGS, nullable=False),
            Column("funnel_event_list", ColumnType.JSON),
            Column("funnel_count_distinct", ColumnType.STRING, length=16),
            Column("rollup_time_window", ColumnType.STRING, length=100),
            Column("custom_roll_up_start", ColumnType.FLOAT),
            Column("custom_roll_up_end", ColumnType.FLOAT),
            Column("warehouse_native", ColumnType.JSON),
            Column("team", ColumnType.TEXT),
            Column("team_id", ColumnType.TEXT),
            Column("owner", ColumnType.JSON, nullable=False),
            Column("creator_name", ColumnType.TEXT, nullable=False),
            Column("creator_email", ColumnType.TEXT),
            Column("created_at", ColumnType.DATETIME, nullable=False),
            Column("last_modified_at", ColumnType.DATETIME),
            Column("last_modifier_name", ColumnType.TEXT),
            Column("last_modifier_id", ColumnType.TEXT),
            Column("last_modifier_email", ColumnType.TEXT),
            Column("archive_at", ColumnType.DATETIME),
        ),
        unique_keys=(UniqueKey("statsig_metrics_name_type", ("name", "type")),),
        orderings=(("created_at", "id"),),
    )
    scope_fields = {"project_id": String(required=True, max_length=100)}
    pagination = PageNumberPagination(ListEnvelope("/console/v1/metrics/list", "Metrics listed successfully."))
    create_schema = MetricCreateSchema()
    update_schema = MetricUpdateSchema()
    dry_run_field = "dry_run"
    evaluation = "metricscore.dialects.statsig.evaluation:METRIC_EVALUATION"
    list_parameters = {"tags": {"type": "string", "description": "Comma-separated tags, any of which matches."}}
    initial_values = {
        "description": "",
        "tags": [],
        "funnel_event_list": None,
        "funnel_count_distinct": None,
        "rollup_time_window": None,
        "custom_roll_up_start": None,
        "custom_roll_up_end": None,
        "warehouse_native": None,
        "team": None,
        "team_id": None,
        "last_modified_at": None,
        "last_modifier_name": None,
        "last_modifier_id": None,
        "last_modifier_email": None,
        "archive_at": None,
    }

    # -- validation ------------------------------------------------------------------------------

    def load(self, data: Any, mode: Mode) -> dict[str, Any]:
        refused = not_updatable(data) if mode != "create" and type(data) is dict else {}
        try:
            payload = super().load(data, mode)
        except ValidationError as error:
            raise ValidationError({**error.errors, **refused}) from None
        if refused:
            raise ValidationError(refused)
        if "description" in payload and payload["description"] is None:
            payload["description"] = ""
        return payload

    def validate_actor(self, actor: Any) -> Any:
        problems = actor_errors(actor)
        if problems:
            raise ValidationError({ACTOR_FIELD: problems})
        return actor

    # -- record building -------------------------------------------------------------------------

    def derive(self, record: Record, ctx: Context, existing: Record | None) -> None:
        name, email, actor_id = actor_identity(ctx.actor)
        if existing is None:
            record["id"] = metric_id(record["name"], record["type"])
            record["created_at"] = ctx.now
            record["creator_name"] = name
            record["creator_email"] = email
            record["owner"] = {"name": name}
        else:
            record["last_modified_at"] = ctx.now
            record["last_modifier_name"] = name
            record["last_modifier_email"] = email
            record["last_modifier_id"] = actor_id
        record["tag_index"] = sorted(set(record["tags"]))
        record["component_ids"] = sorted({metric_id(c["name"], c["type"]) for c in record["metric_component_metrics"]})

    def check(self, record: Record, ctx: Context, existing: Record | None) -> None:
        errors = rule_errors(record)
        if errors:
            raise ValidationError(errors)
        repository = ctx.uow.repository(self.table)
        missing = {
            str(index): _message(f"Metric '{metric_id(c['name'], c['type'])}' does not exist in this project.")
            for index, c in enumerate(record["metric_component_metrics"])
            if repository.get(ctx.scope, metric_id(c["name"], c["type"])) is None
        }
        if missing:
            raise ValidationError({"metricComponentMetrics": missing})
        # Checked here too (not only by the backend's unique key) so that a dry run reports it.
        if existing is None and repository.get(ctx.scope, record["id"]) is not None:
            raise Conflict(NAME_TYPE_TAKEN, fields=("name", "type"), resource=self.name)
        same = repository.find(
            ctx.scope, Query((Eq("name", record["name"]), Eq("type", record["type"])), ORDER, limit=2)
        )
        if any(other["id"] != record["id"] for other in same):
            raise Conflict(NAME_TYPE_TAKEN, fields=("name", "type"), resource=self.name)

    def before_delete(self, record: Record, ctx: Context) -> None:
        if record["is_permanent"]:
            raise Conflict(f"Metric '{record['id']}' is marked isPermanent and cannot be deleted.", resource=self.name)
        users = ctx.uow.repository(self.table).find(
            ctx.scope, Query((HasAny("component_ids", (record["id"],)),), ORDER, limit=1)
        )
        if users:
            raise Conflict(
                f"Metric '{record['id']}' is used by metric '{users[0]['id']}' and cannot be deleted.",
                resource=self.name,
            )

    def conflict(self, error: Conflict) -> MetricscoreError:
        return Conflict(NAME_TYPE_TAKEN, fields=("name", "type"), resource=self.name)

    # -- archive states --------------------------------------------------------------------------

    def schedule_archive(self, record: Record, ctx: Context) -> None:
        if record["is_permanent"]:
            raise Conflict(f"Metric '{record['id']}' is marked isPermanent and cannot be archived.")
        if record["archive_at"] is not None:
            state = "archived" if ctx.now >= record["archive_at"] else "scheduled for archival"
            raise Conflict(f"Metric '{record['id']}' is already {state}.")
        record["archive_at"] = ctx.now + ARCHIVE_GRACE

    def cancel_archive(self, record: Record, ctx: Context) -> None:
        if record["archive_at"] is None:
            raise Conflict(f"Metric '{record['id']}' is not scheduled for archival.")
        if ctx.now >= record["archive_at"]:
            raise Conflict(f"Metric '{record['id']}' is already archived; unarchive it instead.")
        record["archive_at"] = None

    def unarchive(self, record: Record, ctx: Context) -> None:
        if record["archive_at"] is None or ctx.now < record["archive_at"]:
            raise Conflict(f"Metric '{record['id']}' is not archived.")
        record["archive_at"] = None

    # -- reading ---------------------------------------------------------------------------------

    def render(self, record: Record) -> StatsigMetricRecord:
        # Written out: optional keys are left out when unset (NotRequired in StatsigMetricRecord).
        components = record["metric_component_metrics"]
        out: dict[str, Any] = {
            "id": record["id"],
            "name": record["name"],
            "directionality": record["directionality"],
            "type": record["type"],
            "description": record["description"],
            "isPermanent": record["is_permanent"],
            "isReadOnly": record["is_read_only"],
            "isHidden": False,
            "isVerified": record["is_verified"],
            "tags": list(record["tags"]),
            "creatorName": record["creator_name"],
            "creatorEmail": record["creator_email"],
            "createdTime": epoch_ms(record["created_at"]),
            "owner": copy_json(record["owner"]),
            "lineage": {
                "events": [event["name"] for event in record["metric_events"]],
                "metrics": [metric_id(c["name"], c["type"]) for c in components],
            },
            "team": record["team"],
            "teamID": record["team_id"],
            "unitTypes": list(record["unit_types"]),
            "metricEvents": copy_json(record["metric_events"]),
            "metricComponentMetrics": copy_json(components),
        }
        for wire_name, column_name in _OPTIONAL_WIRE:
            if record.get(column_name) is not None:
                out[wire_name] = copy_json(record[column_name])
        if record.get("last_modified_at") is not None:
            out["lastModifiedTime"] = epoch_ms(record["last_modified_at"])
            out["lastModifierName"] = record["last_modifier_name"]
            out["lastModifierID"] = record["last_modifier_id"]
            out["lastModifierEmail"] = record["last_modifier_email"]
        if record.get("archive_at") is not None:
            out["archiveTime"] = epoch_ms(record["archive_at"])
        return cast(StatsigMetricRecord, out)

    def list_request(self, params: Mapping[str, Any]) -> ListRequest:
        filters: list[Filter] = []
        tags = _tags_filter(params.get("tags"))
        if tags:
            check_filter_values("tags", tags)
            filters.append(HasAny("tag_index", tags))
        return ListRequest(tuple(filters), ORDER)


METRICS = Metrics()
