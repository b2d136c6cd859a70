"""Events: what an evaluation reads, where they come from, and the store's built-in events table.

An event has an ``id`` (unique, the idempotency key of appends), a ``name`` (Sequence
``eventType``, PostHog ``event``, Statsig ``eventName``), a ``timestamp`` (an instant, UTC), a
``customer`` (Sequence ``customerAlias``, PostHog person, Statsig ``userID``), an optional
``dedupe_key`` (Sequence ``customerEventId``: the last-received event of a key supersedes the
others), an optional ``value`` (Statsig's event value) and ``properties`` (a flat object).

Values are kept as *text*: strings as they are, numbers in positional decimal notation
(``1e-05`` -> ``"0.00001"``), booleans as ``"true"``/``"false"``; ``null`` is dropped (absent).
That is the form every condition and aggregation reads (:mod:`metricscore.evaluation.plan`).

An :class:`EventsSource` declares the same fields over a table in the user's own database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, ErrorMessage, StorageError, ValidationError
from ..jsonvalue import string_problem
from ..query import In, OrderBy, Query
from ..repository import Record, UnitOfWork
from ..table import Column, ColumnType, TableSpec, UniqueKey

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "EVENTS",
    "AppendResult",
    "Event",
    "EventLog",
    "EventQuery",
    "EventsSource",
    "event_from_record",
    "event_items",
    "normalize_event",
    "normalize_events",
    "text_of",
]

ID_LENGTH = 200
TEXT_LENGTH = 255
DATASET_LENGTH = 200
MAX_BATCH = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_FIELDS = ("id", "name", "timestamp", "customer", "dedupe_key", "value", "properties")

#: The store's built-in events table. ``seq`` is the ingestion order within a dataset.
EVENTS = TableSpec(
    name="events",
    scope=("dataset",),
    columns=(
        Column("dataset", ColumnType.STRING, nullable=False, length=DATASET_LENGTH),
        Column("id", ColumnType.STRING, nullable=False, length=ID_LENGTH),
        Column("seq", ColumnType.INTEGER, nullable=False),
        Column("name", ColumnType.STRING, nullable=False, length=TEXT_LENGTH),
        Column("timestamp", ColumnType.DATETIME, nullable=False),
        Column("customer", ColumnType.STRING, length=TEXT_LENGTH),
        Column("dedupe_key", ColumnType.STRING, length=TEXT_LENGTH),
        Column("value", ColumnType.TEXT),
        Column("properties", ColumnType.JSON, nullable=False),
    ),
    unique_keys=(UniqueKey("events_seq", ("seq",)),),
    # (name, customer, timestamp): a Sequence calculation reads one event type of a few customers.
    # (timestamp, seq): the listing by event time reads its page in index order (migration 0006).
    orderings=(
        ("name", "timestamp"),
        ("name", "customer", "timestamp"),
        ("dedupe_key", "seq"),
        ("timestamp", "seq"),
    ),
)


@dataclass(frozen=True, slots=True)
class Event:
    """One normalized event (see the module docstring)."""

    id: str
    name: str
    timestamp: datetime
    customer: str | None = None
    dedupe_key: str | None = None
    value: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    #: ingestion order (later events have larger numbers)
    seq: int = 0


@dataclass(frozen=True, slots=True)
class EventsSource:
    """A table of events in the user's own database and which columns hold what.

    ``properties`` names a JSON column holding the properties object; ``property_columns`` maps
    property names to flat columns instead (both may be given: a flat column wins). ``groups`` maps
    a PostHog group type index to the column of its group key (by default the property
    ``$group_<index>``); ``units`` maps a Statsig unit type to its id column (by default
    ``userID`` is the customer column and any other unit type the property ``user.customIDs.<type>``).
    ``received`` orders events by ingestion (for ``dedupe_key`` supersession and ties).
    ``filters`` are fixed column values every read adds (``{"dataset": "default"}``).
    ``customer_index`` (MariaDB/MySQL only) names an index on (the ``filters`` columns, name,
    customer, timestamp) that a read of given customers is told to use: their optimizer prefers
    any index whose prefix equals constants, such as one on (name, timestamp), even when the
    customers select a few percent of its rows.
    """

    table: str
    timestamp: str
    name: str
    id: str | None = None
    customer: str | None = None
    dedupe_key: str | None = None
    received: str | None = None
    value: str | None = None
    properties: str | None = None
    property_columns: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[int, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    schema: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    customer_index: str | None = None


#: The built-in table seen as a source (the SQL backend adds ``dataset`` to ``filters``).
BUILTIN_SOURCE = EventsSource(
    table=EVENTS.name,
    timestamp="timestamp",
    name="name",
    id="id",
    customer="customer",
    dedupe_key="dedupe_key",
    received="seq",
    value="value",
    properties="properties",
)


def text_of(value: Any) -> str | None:
    """The text form of a scalar (see the module docstring); ``None`` for null.

    Raises ``TypeError`` for anything that is not a string, number, boolean or null, and
    ``ValueError`` for a number that is not finite.
    """
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if not math.isfinite(value):
            raise ValueError("not finite")
        return _positional(Decimal(repr(value)))
    if kind is Decimal:
        if not value.is_finite():
            raise ValueError("not finite")
        return _positional(value)
    raise TypeError(kind.__name__)


def _positional(number: Decimal) -> str:
    text = format(number, "f")
    return "0" if text in ("-0", "+0") else text


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value)
    elif type(value) is int:
        moment = _EPOCH + timedelta(milliseconds=value)
    else:
        raise TypeError
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_text(value: Any, length: int, required: bool) -> tuple[str | None, str | None]:
    """(value, problem) of an id-like string field."""
    if value is None:
        return None, ("This field is required." if required else None)
    if type(value) is not str:
        return None, "Expected a string."
    if required and not value:
        return None, "This field may not be blank."
    if len(value) > length:
        return None, f"Ensure this field has no more than {length} characters."
    problem = string_problem(value)
    return (None, problem) if problem else (value, None)


def normalize_event(raw: Any) -> Event:
    """The :class:`Event` for a mapping with the fields of :data:`EVENT_FIELDS`.

    Raises :class:`ValidationError` naming every bad field. Unknown keys are errors too (a
    misspelt ``timestmap`` must not silently default).
    """
    if isinstance(raw, Event):
        return raw
    if not isinstance(raw, Mapping):
        raise ValidationError({"_schema": [ErrorMessage("An event must be an object.", "invalid")]})
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for key in raw:
        if key not in EVENT_FIELDS:
            errors[str(key)[:100]] = [ErrorMessage("Unknown field.", "unknown")]
    for name, length, required in (
        ("id", ID_LENGTH, True),
        ("name", TEXT_LENGTH, True),
        ("customer", TEXT_LENGTH, False),
        ("dedupe_key", TEXT_LENGTH, False),
    ):
        value, problem = _check_text(raw.get(name), length, required)
        if problem:
            errors[name] = [ErrorMessage(problem, "required" if "required" in problem else "invalid")]
        values[name] = value
    if raw.get("timestamp") is None:
        errors["timestamp"] = [ErrorMessage("This field is required.", "required")]
    else:
        try:
            values["timestamp"] = _timestamp(raw["timestamp"])
        except (TypeError, ValueError, OverflowError):
            message = "Expected an ISO 8601 date-time, an aware datetime or epoch milliseconds."
            errors["timestamp"] = [ErrorMessage(message, "invalid")]
    try:
        values["value"] = text_of(raw.get("value"))
        if values["value"] is not None and string_problem(values["value"]):
            raise TypeError
    except (TypeError, ValueError):
        errors["value"] = [ErrorMessage("Expected a string, a finite number, a boolean or null.", "invalid")]
    properties = raw.get("properties")
    texts: dict[str, str] = {}
    if properties is None:
        pass
    elif not isinstance(properties, Mapping):
        errors["properties"] = [ErrorMessage("Expected an object.", "invalid")]
    else:
        bad: dict[str, Any] = {}
        for key, item in properties.items():
            if type(key) is not str or not key or len(key) > TEXT_LENGTH or string_problem(key):
                bad[str(key)[:100]] = [ErrorMessage(f"Property names are 1 to {TEXT_LENGTH} characters.", "invalid")]
                continue
            try:
                text = text_of(item)
                if text is not None and string_problem(text):
                    raise TypeError
            except (TypeError, ValueError):
                message = "Expected a string, a finite number, a boolean or null."
                bad[key] = [ErrorMessage(message, "invalid")]
                continue
            if text is not None:
                texts[key] = text
        if bad:
            errors["properties"] = bad
    if errors:
        raise ValidationError(errors)
    return Event(
        id=values["id"],
        name=values["name"],
        timestamp=values["timestamp"],
        customer=values["customer"],
        dedupe_key=values["dedupe_key"],
        value=values["value"],
        properties=texts,
    )


def event_record(event: Event, dataset: str, seq: int) -> Record:
    return {
        "dataset": dataset,
        "id": event.id,
        "seq": seq,
        "name": event.name,
        "timestamp": event.timestamp,
        "customer": event.customer,
        "dedupe_key": event.dedupe_key,
        "value": event.value,
        "properties": dict(event.properties),
    }


def event_from_record(record: Record) -> Event:
    return Event(
        id=record["id"],
        name=record["name"],
        timestamp=record["timestamp"],
        customer=record["customer"],
        dedupe_key=record["dedupe_key"],
        value=record["value"],
        properties=record["properties"] or {},
        seq=record["seq"],
    )


def _same(stored: Record, event: Event) -> bool:
    # An event appended without a dedupe_key may since have been given its own id as one (a
    # Sequence event sent with that id as its customerEventId supersedes it): appending it again
    # as it was first appended is still a repeat.
    claimed = stored["dedupe_key"] == stored["id"] and event.dedupe_key is None
    return event_from_record(stored) == Event(
        event.id,
        event.name,
        event.timestamp,
        event.customer,
        event.id if claimed else event.dedupe_key,
        event.value,
        event.properties,
        stored["seq"],
    )


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A selection of one dataset's events, in a listing order (for listing them, not evaluating).

    ``customers``: the customer is one of them; ``since`` <= timestamp < ``until``. The order is
    the ingestion order, or with ``by_timestamp`` the event time (ties: the ingestion order);
    ``descending`` reverses it. ``after`` keeps only the events past that keyset position in the
    listing order (``(seq,)``, or ``(timestamp, seq)`` with ``by_timestamp``: see
    :meth:`position`); ``limit`` caps the list.
    """

    customers: tuple[str, ...] | None = None
    name: str | None = None
    id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    descending: bool = False
    by_timestamp: bool = False
    after: tuple[Any, ...] | None = None
    limit: int | None = None

    def matches(self, event: Event) -> bool:
        """Whether ``event`` passes the filters (not the position or the limit)."""
        return (
            (self.customers is None or event.customer in self.customers)
            and (self.name is None or event.name == self.name)
            and (self.id is None or event.id == self.id)
            and (self.since is None or event.timestamp >= self.since)
            and (self.until is None or event.timestamp < self.until)
        )

    def position(self, event: Event) -> tuple[Any, ...]:
        """The keyset position of ``event`` in the ascending listing order (a cursor holds it)."""
        return (event.timestamp, event.seq) if self.by_timestamp else (event.seq,)

    def follows(self, event: Event) -> bool:
        """Whether ``event`` comes after the ``after`` position in the listing order."""
        if self.after is None:
            return True
        position = self.position(event)
        return position < self.after if self.descending else position > self.after


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What :meth:`EventLog.append` did: events stored, and events skipped as already stored."""

    appended: int
    duplicates: int


def event_items(events: object) -> Iterator[Any] | None:
    """An iterator over ``events`` when it is a collection of events, else ``None``: text, bytes
    and a single mapping are not, nor an object that only claims to be iterable (a NumPy 0-d
    array has ``__iter__`` but refuses to iterate)."""
    if isinstance(events, (str, bytes, bytearray, Mapping)):
        return None
    try:
        items: Iterator[Any] = iter(events)  # type: ignore[call-overload]
    except TypeError:
        return None
    return items


def normalize_events(raw: Iterable[Any], offset: int = 0) -> list[tuple[int, Event]]:
    """Each event of ``raw`` validated, with its position (counted from ``offset``); a
    ValidationError keyed by the position of every bad one (``{"3": {"timestamp": [...]}}``)."""
    errors: dict[str, Any] = {}
    normalized: list[tuple[int, Event]] = []
    for index, item in enumerate(raw, start=offset):
        try:
            normalized.append((index, normalize_event(item)))
        except ValidationError as error:
            errors[str(index)] = error.errors
    if errors:
        raise ValidationError(errors)
    return normalized


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class EventLog:
    """``store.events(dataset=...)``: the built-in events table of one dataset."""

    def __init__(self, store: Store, dataset: Any = "default") -> None:
        problem = None if type(dataset) is not str else _check_text(dataset, DATASET_LENGTH, True)[1]
        if type(dataset) is not str or problem:
            raise ValidationError({"dataset": [ErrorMessage(problem or "Expected a string.", "invalid")]})
        self.store = store
        self.dataset = dataset
        self.scope = {"dataset": dataset}

    def __repr__(self) -> str:
        return f"<EventLog dataset={self.dataset!r}>"

    def append(self, events: Iterable[Any], *, batch_size: int = 1000) -> AppendResult:
        """Store ``events`` (mappings with the fields of :data:`EVENT_FIELDS`), in batches.

        Each batch is validated as a whole and written in one transaction: an invalid batch
        raises :class:`ValidationError` keyed by the event's position in ``events`` and writes
        nothing of that batch (earlier batches stay written). Appends are idempotent by event id:
        an event whose id is already stored with the same content is skipped (counted in
        ``duplicates``), one stored with other content is an error of that batch. Ingestion
        order (what supersedes what) is the order of ``events``.
        """
        items = event_items(events)
        if items is None:
            raise ValidationError({"events": [ErrorMessage("Expected a list of events.", "invalid")]})
        if type(batch_size) is not int or not 1 <= batch_size <= MAX_BATCH:
            message = f"Expected an integer from 1 to {MAX_BATCH}."
            raise ValidationError({"batch_size": [ErrorMessage(message, "invalid")]})
        appended = duplicates = 0
        offset = 0
        for batch in _batches(items, batch_size):
            added, skipped = self._append_batch(batch, offset)
            appended += added
            duplicates += skipped
            offset += len(batch)
        return AppendResult(appended, duplicates)

    def _append_batch(self, batch: list[Any], offset: int) -> tuple[int, int]:
        normalized = normalize_events(batch, offset)
        for _attempt in range(5):
            try:
                return self._write(normalized)
            except Conflict as conflict:
                if conflict.fields != ("seq",):
                    raise
                # A concurrent append took the same sequence numbers: read them again.
        raise StorageError("Appending kept conflicting with concurrent appends.")  # pragma: no cover

    def _write(self, normalized: list[tuple[int, Event]]) -> tuple[int, int]:
        with self.store.backend.unit_of_work() as uow:
            return self.write_in(uow, normalized)

    def write_in(self, uow: UnitOfWork, normalized: list[tuple[int, Event]]) -> tuple[int, int]:
        """Store normalized ``(position, event)`` pairs through ``uow`` (another write may share
        its transaction); ``(appended, duplicates)``. Raises ValidationError keyed by position for
        an id stored with other content, and Conflict on ``seq`` when a concurrent append took the
        same sequence numbers (roll back and retry)."""
        errors: dict[str, Any] = {}
        conflict = [ErrorMessage("An event with this id is already stored with other content.", "conflict")]
        repository = uow.repository(EVENTS)
        ids = tuple(dict.fromkeys(event.id for _, event in normalized))
        stored = {
            record["id"]: record
            for record in repository.find(self.scope, Query(filters=(In("id", ids),), order=(OrderBy("id"),)))
        }
        last = repository.find(self.scope, Query(order=(OrderBy("seq", descending=True),), limit=1))
        seq = last[0]["seq"] if last else 0
        duplicates = 0
        for index, event in normalized:
            existing = stored.get(event.id)
            if existing is not None:
                if _same(existing, event):
                    duplicates += 1
                else:
                    errors[str(index)] = {"id": conflict}
                continue
            seq += 1
            record = event_record(event, self.dataset, seq)
            stored[event.id] = record
            if not errors:
                repository.insert(self.scope, record)
        if errors:
            raise ValidationError(errors)
        return len(normalized) - duplicates, duplicates

    def read(self) -> Iterator[Event]:
        """Every event of the dataset in ingestion order (for the reference evaluator and exports)."""
        after: tuple[Any, ...] | None = None
        order = (OrderBy("seq"),)
        while True:
            with self.store.backend.unit_of_work(write=False) as uow:
                page = uow.repository(EVENTS).find(self.scope, Query(order=order, limit=1000, after=after))
            yield from (event_from_record(record) for record in page)
            if len(page) < 1000:
                return
            after = (page[-1]["seq"],)

    def find(self, query: EventQuery) -> list[Event]:
        """The events ``query`` selects, in its order. A backend that offers ``find_events`` (the
        SQL one: indexed by dataset and ingestion order) selects them; others filter :meth:`read`."""
        find_events = getattr(self.store.backend, "find_events", None)
        if find_events is not None:
            found: list[Event] = find_events(self.dataset, query)
            return found
        matched = [e for e in self.read() if query.matches(e)]
        matched.sort(key=query.position, reverse=query.descending)
        matched = [e for e in matched if query.follows(e)]
        return matched if query.limit is None else matched[: query.limit]

    def count(self, query: EventQuery) -> int:
        """How many events pass ``query``'s filters (whatever its position and limit)."""
        count_events = getattr(self.store.backend, "count_events", None)
        if count_events is not None:
            return int(count_events(self.dataset, query))
        return sum(1 for e in self.read() if query.matches(e))
