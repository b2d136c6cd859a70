"""Sequence over HTTP: client credentials sent as HTTP Basic, ``{errors: [{key, error}]}`` error
bodies with ``WWW-Authenticate`` on a 401, the usage-metric routes (under ``/usage-metrics``
and ``/api/usage-metrics``) with Sequence's ``calculate`` endpoint, and ``POST`` / ``GET``
``/usage-events`` and ``POST /usage-events/csv`` (:mod:`metricscore.dialects.sequence.usage_events`),
into and from the account's built-in events."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from collections.abc import Sequence as Sequential
from typing import Any, TypedDict
from urllib.parse import parse_qsl

from ..dialects.sequence import Sequence, UsageMetricsService
from ..dialects.sequence.errors import ERROR_SCHEMA, render_error
from ..dialects.sequence.evaluation import UsageMetricCalculation
from ..dialects.sequence.usage_events import (
    PAGINATION,
    USAGE_EVENT_PARAMETERS,
    UsageEventInput,
    UsageEventRecord,
    UsageEventUpload,
)
from ..errors import MetricscoreError, Unauthenticated
from ..evaluation.inputs import ALIASES_SCHEMA, DAY_SCHEMA
from .dialect import BodyTooLarge, HttpDialect, evaluation_query, idempotency_key, json_body, json_numbers
from .keys import ApiKey, KeyForm
from .multipart import FORM_DATA, form_file
from .types import Call, Operation, QueryOperation, Request, Route

__all__ = ["SequenceHttp"]


def _usage_metrics(call: Call) -> UsageMetricsService:
    namespace: Sequence = call.app.store.sequence
    # A Sequence key always has a subject (its account); "" would be refused as a blank id.
    return namespace.usage_metrics(account_id=call.key.subject or "")


def _list(call: Call) -> tuple[int, Any]:
    return 200, _usage_metrics(call).list(**call.query).envelope(call.app.link_url(call.request))


def _create(call: Call) -> tuple[int, Any]:
    return 201, _usage_metrics(call).create(call.data, idempotency_key=idempotency_key(call))


def _get(call: Call) -> tuple[int, Any]:
    return 200, _usage_metrics(call).get(call.params["id"])


def _replace(call: Call) -> tuple[int, Any]:
    return 200, _usage_metrics(call).replace(call.params["id"], call.data, idempotency_key=idempotency_key(call))


def _delete(call: Call) -> tuple[int, Any]:
    return 200, _usage_metrics(call).delete(call.params["id"], idempotency_key=idempotency_key(call))


def _calculate(call: Call) -> tuple[int, Any]:
    return 200, json_numbers(_usage_metrics(call).evaluate(call.params["id"], events=None, **evaluation_query(call)))


USAGE_METRIC = ("sequence.usage_metrics", "record")
COLLECTION = {
    "GET": Operation(
        _list, "usage_metrics_list", "List usage metrics", 200, response=("sequence.usage_metrics", "page")
    ),
    "POST": Operation(
        _create,
        "usage_metrics_create",
        "Create a usage metric",
        201,
        body=("sequence.usage_metrics", "create"),
        response=USAGE_METRIC,
        idempotency_key=True,
    ),
}
ITEM = {
    "GET": Operation(_get, "usage_metrics_get", "Get a usage metric", 200, response=USAGE_METRIC),
    "PUT": Operation(
        _replace,
        "usage_metrics_update",
        "Update a usage metric",
        200,
        body=("sequence.usage_metrics", "replace"),
        response=USAGE_METRIC,
        idempotency_key=True,
    ),
    "DELETE": Operation(
        _delete, "usage_metrics_delete", "Delete a usage metric", 200, response=USAGE_METRIC, idempotency_key=True
    ),
}
CALCULATE = QueryOperation(
    _calculate,
    "usage_metrics_calculate",
    "Calculate usage metric for customer and timeframe",
    200,
    answer=("SequenceUsageMetricCalculation", UsageMetricCalculation),
    query=(
        ("customerAliases", True, "Customer Aliases / internal IDs (comma-separated)"),
        ("periodStart", True, "Billing period start (YYYY-MM-DD, UTC)"),
        ("periodEnd", True, "Billing period end (inclusive, YYYY-MM-DD, UTC)"),
        ("customParameters", False, "Custom parameter values: read by CUSTOM metrics only, so ignored here"),
    ),
    parameters={"customerAliases": ALIASES_SCHEMA, "periodStart": DAY_SCHEMA, "periodEnd": DAY_SCHEMA},
)


class UsageEventPagination(TypedDict):
    after: str | None
    before: str | None
    totalResultSize: int


class UsageEventPage(TypedDict):
    """``GET /usage-events``: Sequence's cursor envelope around the events."""

    items: list[UsageEventRecord]
    pagination: UsageEventPagination


def _usage_events_create(call: Call) -> tuple[int, Any]:
    if call.app.body_too_large(call.request):
        raise BodyTooLarge(call.app.max_body)
    events = call.app.store.sequence.usage_events(account_id=call.key.subject or "")
    return 201, events.create(json_body(call.request.body), idempotency_key=idempotency_key(call))


def _usage_events_list(call: Call) -> tuple[int, Any]:
    assert isinstance(call.request.query, str)
    params: dict[str, Any] = {}
    for name, value in parse_qsl(call.request.query, keep_blank_values=True):
        if name in ("customerAlias[]", "customerAlias"):
            params.setdefault(name, []).append(value)
        else:
            params[name] = value
    events = call.app.store.sequence.usage_events(account_id=call.key.subject or "")
    return 200, events.list(**params).envelope(call.app.link_url(call.request))


def _usage_events_upload(call: Call) -> tuple[int, Any]:
    if call.app.body_too_large(call.request):
        raise BodyTooLarge(call.app.max_body)
    file = form_file(call.request.header("content-type"), call.request.body, "file")
    events = call.app.store.sequence.usage_events(account_id=call.key.subject or "")
    return 201, events.upload_csv(file, idempotency_key=idempotency_key(call))


#: ``POST /usage-events/csv``: a multipart form with the CSV file as its ``file`` part.
UPLOAD = QueryOperation(
    _usage_events_upload,
    "usage_events_upload_csv",
    "Upload usage events as a CSV file",
    201,
    idempotency_key=True,
    answer=("SequenceUsageEventUpload", UsageEventUpload),
)
UPLOAD_BODY = {
    "required": True,
    "description": "Every row is checked first: one bad row (each is named, with its columns) stores none. "
    "Columns: eventType, eventTimestamp (a date or an ISO 8601 date-time), customerAlias; optional "
    "customerEventId and eventProperty#<snake_case_name> (or eventProperties#<name>).",
    "content": {
        FORM_DATA: {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        }
    },
}
USAGE_EVENTS = {
    "GET": QueryOperation(
        _usage_events_list,
        "usage_events_list",
        "List usage events",
        200,
        answer=("SequenceUsageEventPage", UsageEventPage),
        parameters={**USAGE_EVENT_PARAMETERS, **PAGINATION.parameters()},
    ),
    "POST": QueryOperation(
        _usage_events_create,
        "usage_events_create",
        "Create a usage event",
        201,
        idempotency_key=True,
        answer=("SequenceUsageEvent", UsageEventRecord),
        request=("SequenceUsageEventInput", UsageEventInput),
    ),
}
ROOTS = ("/api/usage-metrics", "/usage-metrics")
ROUTES = (
    *(Route("sequence", f"{root}/{{id}}/calculate", {"GET": CALCULATE}) for root in ROOTS),
    *(Route("sequence", root, USAGE_EVENTS) for root in ("/api/usage-events", "/usage-events")),
    *(Route("sequence", f"{root}/csv", {"POST": UPLOAD}) for root in ("/api/usage-events", "/usage-events")),
    *(
        route
        for root in ROOTS
        for route in (Route("sequence", root, COLLECTION), Route("sequence", root + "/{id}", ITEM))
    ),
)
_WWW_AUTHENTICATE = ("WWW-Authenticate", 'Basic realm="metricscore"')


class SequenceHttp(HttpDialect):
    """Sequence's Basic client credentials bound to one account, and its ``errors`` bodies."""

    name = "sequence"
    prefixes = (*ROOTS, "/api/usage-events", "/usage-events")
    security_scheme = ("SequenceBasic", {"type": "http", "scheme": "basic"})
    error_schema = ("SequenceError", ERROR_SCHEMA)
    key_forms = (KeyForm("sequence", header="Authorization: Basic {basic}", subject="account_id"),)

    def routes(self) -> Sequential[Route]:
        return ROUTES

    def authenticate(self, request: Request) -> ApiKey:
        header = request.header("authorization") or ""
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() == "basic" and encoded.strip():
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                decoded = ""
            client_id, colon, secret = decoded.partition(":")
            found = self.keys.check_credentials(self.key_forms[0], client_id, secret) if colon else None
            if found is not None:
                return found
        raise Unauthenticated("")

    def render_error(self, error: MetricscoreError) -> tuple[int, Mapping[str, Any]]:
        return render_error(error)

    def error_headers(self, error: MetricscoreError, status: int) -> list[tuple[str, str]]:
        return [_WWW_AUTHENTICATE] if status == 401 else []

    def plain_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        return {"errors": [{"key": "", "error": message}]}

    def openapi_statuses(self, route: Route, method: str, operation: Operation, found: set[int]) -> set[int]:
        if operation is UPLOAD:
            return found | {413, 415}  # a body too large; a body that is no multipart form
        return found

    def openapi_operation(self, route: Route, method: str, operation: Operation, entry: dict[str, Any]) -> None:
        if operation is UPLOAD:
            entry["requestBody"] = UPLOAD_BODY

    def openapi_error(self, status: int, answer: dict[str, Any]) -> dict[str, Any]:
        if status == 401:
            answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        return answer
