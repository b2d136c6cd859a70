"""Sequence usage events: ``POST /usage-events`` and ``GET /usage-events`` over the built-in events.

Semantics (evaluation-semantics.md 1.1, docs/evaluation.md "Sequence usage events"): an event is
sent with ``eventType`` and ``customerAlias`` (required), ``eventTimestamp`` (ISO 8601 date-time,
default: now), ``customerEventId`` and ``eventProperties`` (a flat object). It is stored in the
account's built-in events (dataset ``sequence:<account>``), where every usage metric of the
account reads it: ``customerEventId`` is the event's ``dedupe_key``, so of the events sharing
one only the last received counts (the original stays listed). The answer adds ``id`` (a
UUIDv7, the store's id factory) and ``sequenceAccountId``; ``customerEventId`` defaults to
``id``, and means it: an event later sent with that id as its ``customerEventId`` supersedes it,
and no id is generated that is already a ``customerEventId`` of the account. Property values come
back in the text form every metric reads (``150`` -> ``"150"``).

``GET`` lists the account's events, latest received first (``sortOrder=ASC``: oldest first;
``sortBy=EVENT_TIMESTAMP``: by ``eventTimestamp``, ties in the order received), with
Sequence's cursor pagination (``limit`` 1..100, ``after`` / ``before``) and the filters
``customerAlias[]`` (repeatable), ``eventType``, ``eventId``, ``eventTimestampAfter`` (inclusive)
and ``eventTimestampBefore`` (exclusive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Required, TypedDict, Unpack, get_args

from ...errors import NON_FIELD_ERRORS, Conflict, ErrorMessage, StorageError, ValidationError
from ...evaluation.events import EVENTS, TEXT_LENGTH, Event, EventLog, EventQuery, normalize_event
from ...idempotency import IdempotencyKeys, KeyRace, fingerprint, validate_key
from ...jsonvalue import absent, string_problem
from ...limits import MAX_FILTER_VALUES, check_payload_size, too_many
from ...pagination import CursorPage, KeysetPagination, decode_cursor, encode_cursor
from ...query import Eq, In, OrderBy, Query
from ...repository import Repository
from ...validation import NON_BLANK_PATTERN
from ...wire import iso_z
from .envelope import LIST_ENVELOPE
from .usage_csv import read_csv
from .usage_metrics import ACCOUNT_ID_LENGTH, USAGE_METRICS

if TYPE_CHECKING:
    from ...store import Store

__all__ = [
    "EVENT_TIMESTAMP",
    "USAGE_EVENT_PARAMETERS",
    "SortOrder",
    "UsageEventInput",
    "UsageEventListParams",
    "UsageEventRecord",
    "UsageEventSortBy",
    "UsageEventUpload",
    "UsageEvents",
]

#: The name idempotency keys of usage events are stored under.
RESOURCE = "sequence.usage_events"
REQUIRED = "This field is required."
#: Body field -> the event field it fills (errors of the event model are reported by body name).
_WIRE = {
    "eventType": "name",
    "customerAlias": "customer",
    "eventTimestamp": "timestamp",
    "customerEventId": "dedupe_key",
    "eventProperties": "properties",
}
_BODY = {field: wire for wire, field in _WIRE.items()}
PAGINATION = KeysetPagination(LIST_ENVELOPE)
#: The list's query parameters (name -> OpenAPI schema), besides the pagination's.
USAGE_EVENT_PARAMETERS: dict[str, dict[str, Any]] = {
    "customerAlias[]": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Customer aliases (the parameter repeated: customerAlias[]=a&customerAlias[]=b); "
        "events of any of them.",
    },
    "eventType": {"type": "string", "description": "Only events of this event type (case-sensitive)."},
    "eventId": {"type": "string", "description": "Only the event with this id."},
    "eventTimestampAfter": {"type": "string", "description": "ISO 8601 date-time: events at or after it."},
    "eventTimestampBefore": {"type": "string", "description": "ISO 8601 date-time: events before it."},
    "sortBy": {
        "type": "string",
        "enum": ["CREATED_AT", "EVENT_TIMESTAMP"],
        "default": "CREATED_AT",
        "description": "CREATED_AT: the order events were received in; EVENT_TIMESTAMP: by eventTimestamp "
        "(events at the same instant in the order received).",
    },
    "sortOrder": {
        "type": "string",
        "enum": ["ASC", "DESC"],
        "default": "DESC",
        "description": "DESC: latest first.",
    },
}

#: ``sortBy``: Sequence's spec names only the default ("creation time") and lists no values for
#: this list; the names follow the UPPER_SNAKE column names its other lists take.
UsageEventSortBy = Literal["CREATED_AT", "EVENT_TIMESTAMP"]
SortOrder = Literal["ASC", "DESC"]
SORT_BY: tuple[str, ...] = get_args(UsageEventSortBy)
SORT_ORDERS: tuple[str, ...] = get_args(SortOrder)

#: The keyword arguments of :meth:`UsageEvents.list`: the query parameters of ``GET /usage-events``
#: (``customerAlias`` takes one alias or a list; ``customerAlias[]``, the name on the wire, is accepted
#: too). Values may also be the query string's text (``limit="20"``); each is validated.
UsageEventListParams = TypedDict(  # "customerAlias[]" is no identifier: the functional form
    "UsageEventListParams",
    {
        "customerAlias[]": str | Sequence[str] | None,
        "customerAlias": str | Sequence[str] | None,
        "eventType": str | None,
        "eventId": str | None,
        "eventTimestampAfter": str | None,
        "eventTimestampBefore": str | None,
        "sortBy": UsageEventSortBy | None,
        "sortOrder": SortOrder | None,
        "limit": int | str | None,
        "after": str | None,
        "before": str | None,
    },
    total=False,
)


class UsageEventRecord(TypedDict):
    """A usage event as Sequence answers it (``POST`` 201 and the items of ``GET``)."""

    id: str
    sequenceAccountId: str
    eventType: str
    #: Always set for events sent to ``POST /usage-events``; events appended through the library
    #: without a ``customer`` have none.
    customerAlias: str | None
    #: The ``customerEventId`` sent, else the event's ``id``.
    customerEventId: str
    #: ISO 8601 UTC with ``Z``.
    eventTimestamp: str
    #: Property name -> its text form (strings as sent, numbers as positional decimals,
    #: booleans as ``true``/``false``; ``null`` values are not kept).
    eventProperties: dict[str, str]


class UsageEventUpload(TypedDict):
    """What ``POST /usage-events/csv`` answers: how many events the file stored."""

    eventCount: int


def _upload_answer(events: list[Event]) -> UsageEventUpload:
    return {"eventCount": len(events)}


def _fail(errors: dict[str, Any], field: str, message: str, code: str = "invalid") -> None:
    errors.setdefault(field, []).append(ErrorMessage(message, code))


def _choice(
    params: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str, errors: dict[str, Any]
) -> str:
    """The value of the enumerated parameter ``name`` (absent or blank: ``default``)."""
    value = params.get(name)
    if absent(value):
        return default
    if not isinstance(value, str) or value not in allowed:
        _fail(errors, name, f"Expected one of: {', '.join(allowed)}.")
        return default
    return value


def _chunks(values: list[str], size: int = 1000) -> Iterator[tuple[str, ...]]:
    """``values`` a bounded number at a time (one IN list per query)."""
    for start in range(0, len(values), size):
        yield tuple(values[start : start + size])


def _required_text(data: Mapping[str, Any], field: str, errors: dict[str, Any]) -> None:
    value = data.get(field)
    if value is None:
        _fail(errors, field, REQUIRED, "required")
    elif type(value) is not str:
        _fail(errors, field, "Not a valid string.")
    elif not value.strip():
        _fail(errors, field, "This field may not be blank.", "blank")


#: OpenAPI: what :func:`_timestamp` checks before it parses: 16 to 64 characters with a T (or t,
#: or a space) after the ten of the date. Not ``format: date-time``: the server also takes
#: ISO 8601 forms RFC 3339 lacks (a week date, no seconds).
TIMESTAMP_LENGTHS = (16, 64)
EVENT_TIMESTAMP = {"minLength": TIMESTAMP_LENGTHS[0], "maxLength": TIMESTAMP_LENGTHS[1], "pattern": "^.{10}[Tt ]"}

#: What :meth:`UsageEvents.create` takes, the body of ``POST /usage-events``: Sequence's
#: ``CreateUsageEventEndpointCreateUsageEventRequestModel`` (``eventTimestamp``: ISO 8601, default
#: now; ``customerEventId``: another event with the same one supersedes this one;
#: ``eventProperties``: a flat object). The functional form keeps ``Required`` visible at run time
#: under ``from __future__ import annotations`` (the OpenAPI document reads it).
UsageEventInput = TypedDict(  # noqa: UP013 - see above
    "UsageEventInput",
    {
        "eventType": Required[Annotated[str, {"pattern": NON_BLANK_PATTERN}]],
        "customerAlias": Required[Annotated[str, {"pattern": NON_BLANK_PATTERN}]],
        "eventTimestamp": Annotated[str | None, EVENT_TIMESTAMP],
        "customerEventId": str | None,
        "eventProperties": dict[str, str | float | bool | None] | None,
    },
    total=False,
)


def _timestamp(value: Any, errors: dict[str, Any]) -> datetime | None:
    """An ISO 8601 date-time (a naive one is UTC); ``None`` (with an error) otherwise."""
    message = "Expected an ISO 8601 date-time such as 2022-10-01T00:00:00Z."
    short, long = TIMESTAMP_LENGTHS
    # printable ASCII, as ISO 8601 is: fromisoformat reads past a NUL before "Z"
    readable = type(value) is str and value.isascii() and value.isprintable()
    if not readable or not short <= len(value) <= long or value[10:11] not in ("T", "t", " "):
        _fail(errors, "eventTimestamp", message)
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        _fail(errors, "eventTimestamp", message)
        return None


class UsageEvents:
    """``store.sequence.usage_events(account_id=...)``: one Sequence account's usage events."""

    def __init__(self, store: Store, account_id: Any) -> None:
        if type(account_id) is not str or not account_id or len(account_id) > ACCOUNT_ID_LENGTH:
            message = f"Expected a non-blank string of at most {ACCOUNT_ID_LENGTH} characters."
            raise ValidationError({"account_id": [ErrorMessage(message, "invalid")]})
        self.store = store
        self.account_id = account_id
        self.log = EventLog(store, USAGE_METRICS.events_dataset({"account_id": account_id}))

    def __repr__(self) -> str:
        return f"<UsageEvents account_id={self.account_id!r}>"

    def render(self, event: Event) -> UsageEventRecord:
        return {
            "id": event.id,
            "sequenceAccountId": self.account_id,
            "eventType": event.name,
            "customerAlias": event.customer,
            "customerEventId": event.dedupe_key if event.dedupe_key is not None else event.id,
            "eventTimestamp": iso_z(event.timestamp),
            "eventProperties": dict(event.properties),
        }

    # -- create --------------------------------------------------------------------------------

    def load(self, data: Any) -> dict[str, Any]:
        """The validated request: ``eventType``, ``customerAlias``, ``eventTimestamp`` (a
        ``datetime`` or ``None``), ``customerEventId`` (``None`` when blank or absent) and
        ``eventProperties`` (text forms). Raises ValidationError naming every bad field."""
        if not isinstance(data, Mapping):
            raise ValidationError({NON_FIELD_ERRORS: [ErrorMessage("Invalid input type.", "invalid")]})
        check_payload_size(dict(data), _WIRE)  # at most MAX_PAYLOAD_VALUES values, as every payload
        errors: dict[str, Any] = {}
        _required_text(data, "eventType", errors)
        _required_text(data, "customerAlias", errors)
        moment = None
        if data.get("eventTimestamp") is not None:
            moment = _timestamp(data["eventTimestamp"], errors)
        customer_event_id = data.get("customerEventId")
        if type(customer_event_id) is str and not customer_event_id.strip():
            customer_event_id = None  # blank is absent, as Sequence's other optional texts
        properties = data.get("eventProperties")
        if properties is not None and not isinstance(properties, Mapping):
            _fail(errors, "eventProperties", "Expected an object.")
            properties = None
        raw = {
            "id": "-",
            "name": data.get("eventType"),
            "timestamp": moment or datetime(2000, 1, 1, tzinfo=UTC),
            "customer": data.get("customerAlias"),
            "dedupe_key": customer_event_id,
            "properties": properties,
        }
        try:
            event = normalize_event(raw)
        except ValidationError as error:
            assert isinstance(error.errors, dict)
            for field, problems in error.errors.items():
                errors.setdefault(_BODY.get(field, field), problems)
            raise ValidationError(errors) from None
        if errors:
            raise ValidationError(errors)
        return {
            "eventType": event.name,
            "customerAlias": event.customer,
            "eventTimestamp": moment,
            "customerEventId": event.dedupe_key,
            "eventProperties": dict(event.properties),
        }

    def create(self, data: UsageEventInput, *, idempotency_key: str | None = None) -> UsageEventRecord:
        """Store one usage event (Sequence's ``POST /usage-events`` body) and answer it as Sequence
        does, with its new ``id``. At most once per ``idempotency_key``: a repeat with the same
        body answers the first event again and stores nothing; another body is a Conflict."""
        payload = self.load(data)
        answer = self._store_events([payload], idempotency_key, ("create", payload), lambda done: self.render(done[0]))
        return answer  # type: ignore[return-value]

    def upload_csv(self, file: bytes | str, *, idempotency_key: str | None = None) -> UsageEventUpload:
        """Store every event of a CSV file (Sequence's ``POST /usage-events/csv``; the format:
        :mod:`metricscore.dialects.sequence.usage_csv`) in the file's order, each as one ``POST
        /usage-events`` would (a ``customerEventId`` supersedes earlier events of it, so sending a
        file again leaves every calculation as it was for the rows that have one). All or nothing:
        a ValidationError names every bad row and column, and nothing is stored. At most once per
        ``idempotency_key``, as :meth:`create`."""
        payloads = read_csv(file, self.load)
        answer = self._store_events(payloads, idempotency_key, ("upload_csv", payloads), _upload_answer)
        return answer  # type: ignore[return-value]

    def _store_events(
        self,
        payloads: list[dict[str, Any]],
        idempotency_key: str | None,
        request: tuple[str, Any],
        answer: Callable[[list[Event]], Mapping[str, Any]],
    ) -> Mapping[str, Any]:
        """Store validated ``payloads`` (see :meth:`load`) in one transaction, in their order, and
        give ``answer(events)``. ``request`` is ``(operation, what was asked)``: with an
        ``idempotency_key``, a repeat of it gives the first answer and stores nothing."""
        key = None if idempotency_key is None else validate_key(idempotency_key)
        operation = request[0]
        digest = fingerprint(operation, None, request[1])
        for _attempt in range(5):
            try:
                return self._store_once(payloads, key, digest, operation, answer)
            except KeyRace:
                with self.store.backend.unit_of_work(write=False) as uow:
                    stored = IdempotencyKeys(uow, RESOURCE, self.log.scope).lookup(
                        str(key), digest, self.store.now(), purge=False
                    )
                if stored is not None:
                    return stored
                message = "A concurrent request used this idempotency key."
                raise Conflict(message, fields=("Idempotency-Key",)) from None
            except Conflict as conflict:
                if conflict.fields != ("seq",):
                    raise
                # A concurrent append took the same sequence number: read it again.
        raise StorageError("Appending kept conflicting with concurrent appends.")  # pragma: no cover

    def _store_once(
        self,
        payloads: list[dict[str, Any]],
        key: str | None,
        digest: str,
        operation: str,
        answer: Callable[[list[Event]], Mapping[str, Any]],
    ) -> Mapping[str, Any]:
        now = self.store.now()
        with self.store.backend.unit_of_work() as uow:
            keys = IdempotencyKeys(uow, RESOURCE, self.log.scope) if key is not None else None
            if keys is not None and key is not None:
                stored = keys.lookup(key, digest, now)
                if stored is not None:
                    return stored
            repository = uow.repository(EVENTS)
            given = {p["customerEventId"] for p in payloads if p["customerEventId"] is not None}
            fresh = iter(self._fresh_ids(repository, sum(p["customerEventId"] is None for p in payloads), given))
            events = [
                Event(
                    # An id listed as no customerEventId may be any the factory gives.
                    id=str(self.store.id_factory()) if payload["customerEventId"] is not None else next(fresh),
                    name=payload["eventType"],
                    timestamp=payload["eventTimestamp"] or now,
                    customer=payload["customerAlias"],
                    dedupe_key=payload["customerEventId"],
                    properties=payload["eventProperties"],
                )
                for payload in payloads
            ]
            self._claim(repository, given)
            self.log.write_in(uow, list(enumerate(events)))
            result = answer(events)
            if keys is not None and key is not None:
                keys.remember(key, digest, operation, dict(result), now)
            return result

    # -- customerEventId and the generated ids -------------------------------------------------
    #
    # An event sent without a customerEventId is answered and listed with its id as its
    # customerEventId ("otherwise auto-generated by Sequence"), and "another event with the same
    # customer event ID will supersede this one". So an event given a customerEventId that is an
    # earlier event's generated id supersedes that event (_claim); and an id is never generated
    # that is already some event's customerEventId (_fresh_ids), so that an event sent without
    # one can neither supersede nor be superseded by an unrelated event.

    def _claim(self, repository: Repository, given: set[str]) -> None:
        """Stored events whose id is one of the ``given`` customerEventIds and that were sent
        without one take their id as their customerEventId (as they were listed), so the events
        now sent supersede them."""
        for chunk in _chunks(sorted(given)):
            query = Query(filters=(In("id", chunk), Eq("dedupe_key", None)), order=(OrderBy("id"),))
            for record in repository.find(self.log.scope, query):
                repository.update(self.log.scope, {**record, "dedupe_key": record["id"]})

    def _fresh_ids(self, repository: Repository, count: int, given: set[str]) -> list[str]:
        """``count`` new ids from the store's id factory, none of them a customerEventId already
        stored or in ``given``, nor twice the same."""
        ids: list[str] = []
        taken = set(given)
        for _round in range(5):
            drawn = [str(self.store.id_factory()) for _ in range(count - len(ids))]
            for chunk in _chunks(sorted(set(drawn))):
                # In seq order, as the (dedupe_key, seq) index gives them: SQLite without
                # statistics would walk the dataset in id order (25 times slower at 5,000 events).
                query = Query(filters=(In("dedupe_key", chunk),), order=(OrderBy("seq"),))
                taken.update(record["dedupe_key"] for record in repository.find(self.log.scope, query))
            for candidate in drawn:
                if candidate not in taken:
                    ids.append(candidate)
                    taken.add(candidate)
            if len(ids) == count:
                return ids
        raise StorageError("The store's id factory keeps giving ids that are already customerEventIds.")

    # -- list ----------------------------------------------------------------------------------

    def list(self, /, **params: Unpack[UsageEventListParams]) -> CursorPage[UsageEventRecord]:
        """One page of the account's events (the query parameters of ``GET /usage-events``, see
        :class:`UsageEventListParams`). Raises ValidationError naming every bad parameter."""
        given: dict[str, Any] = dict(params)
        errors: dict[str, Any] = {}
        customers = self._aliases(given, errors)
        texts: dict[str, str | None] = {}
        for name in ("eventType", "eventId"):
            value = given.get(name)
            if absent(value):
                texts[name] = None
            elif type(value) is not str or len(value) > TEXT_LENGTH or string_problem(value):
                _fail(errors, name, f"Expected a string of at most {TEXT_LENGTH} characters.")
            else:
                texts[name] = value
        bounds: dict[str, datetime | None] = {}
        for name in ("eventTimestampAfter", "eventTimestampBefore"):
            value = given.get(name)
            found: dict[str, Any] = {}
            bounds[name] = None if absent(value) else _timestamp(value, found)
            if found:
                errors[name] = found["eventTimestamp"]
        sort_by = _choice(given, "sortBy", SORT_BY, "CREATED_AT", errors)
        order = _choice(given, "sortOrder", SORT_ORDERS, "DESC", errors)
        try:
            limit = PAGINATION.limit(given)
        except ValidationError as error:
            assert isinstance(error.errors, dict)
            errors.update(error.errors)
            limit = 0
        # A cursor holds the position in its own order: (seq,), or (timestamp, seq) by event time.
        types: list[type | None] = [datetime, int] if sort_by == "EVENT_TIMESTAMP" else [int]
        cursors: dict[str, tuple[Any, ...] | None] = {}
        for name in ("after", "before"):
            value = given.get(name)
            try:
                cursors[name] = None if absent(value) else decode_cursor(value, types, name)
            except ValidationError as error:
                assert isinstance(error.errors, dict)
                errors.update(error.errors)
        if cursors.get("after") is not None and cursors.get("before") is not None:
            message = ErrorMessage("Send either after or before, not both.", "invalid_input")
            errors.setdefault("after", []).append(message)
            errors.setdefault("before", []).append(message)
        if errors:
            raise ValidationError(errors)
        query = EventQuery(
            customers=customers,
            name=texts["eventType"],
            id=texts["eventId"],
            since=bounds["eventTimestampAfter"],
            until=bounds["eventTimestampBefore"],
            descending=order == "DESC",
            by_timestamp=sort_by == "EVENT_TIMESTAMP",
        )
        return self._page(query, limit, cursors.get("after"), cursors.get("before"))

    @staticmethod
    def _aliases(params: Mapping[str, Any], errors: dict[str, Any]) -> tuple[str, ...] | None:
        found: list[str] = []
        for name in ("customerAlias[]", "customerAlias"):
            value = params.get(name)
            values = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
            for item in values:
                if type(item) is not str or len(item) > TEXT_LENGTH or string_problem(item):
                    _fail(errors, name, f"Expected customer aliases of at most {TEXT_LENGTH} characters.")
                elif item:
                    found.append(item)
        aliases = tuple(dict.fromkeys(found))
        if len(aliases) > MAX_FILTER_VALUES:
            errors["customerAlias[]"] = [too_many(MAX_FILTER_VALUES)]
        return aliases or None

    def _page(
        self, query: EventQuery, limit: int, after: tuple[Any, ...] | None, before: tuple[Any, ...] | None
    ) -> CursorPage[UsageEventRecord]:
        if before is None:
            rows = self.log.find(replace(query, after=after, limit=limit + 1))
            more_after = len(rows) > limit
            rows = rows[:limit]
            more_before = after is not None and bool(rows) and self._exists(query, rows[0], backwards=True)
        else:
            flipped = replace(query, descending=not query.descending)
            rows = self.log.find(replace(flipped, after=before, limit=limit + 1))
            more_before = len(rows) > limit
            rows = rows[:limit][::-1]
            more_after = bool(rows) and self._exists(query, rows[-1], backwards=False)
        return CursorPage(
            [self.render(event) for event in rows],
            self.log.count(query),
            encode_cursor(query.position(rows[-1])) if more_after else None,
            encode_cursor(query.position(rows[0])) if more_before else None,
            envelope_format=LIST_ENVELOPE,
        )

    def _exists(self, query: EventQuery, event: Event, *, backwards: bool) -> bool:
        descending = not query.descending if backwards else query.descending
        probe = replace(query, descending=descending, after=query.position(event), limit=1)
        return bool(self.log.find(probe))
