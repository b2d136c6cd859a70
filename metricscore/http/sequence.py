"""Sequence over HTTP: client credentials sent as HTTP Basic, ``{errors: [{key, error}]}`` error
bodies with ``WWW-Authenticate`` on a 401, and the usage-metric routes (under ``/usage-metrics``
and ``/api/usage-metrics``), with Sequence's ``calculate`` endpoint."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence as Sequential
from typing import Any

from ..dialects.sequence import CursorPage, Sequence, UsageMetricRecord
from ..dialects.sequence.errors import ERROR_SCHEMA, render_error
from ..dialects.sequence.evaluation import UsageMetricCalculation
from ..errors import MetricscoreError, Unauthenticated
from ..service import EvaluatingService
from .dialect import HttpDialect, idempotency_key, json_numbers
from .keys import ApiKey, KeyForm
from .types import Call, Operation, QueryOperation, Request, Route

__all__ = ["SequenceHttp"]


def _usage_metrics(
    call: Call,
) -> EvaluatingService[UsageMetricRecord, CursorPage[UsageMetricRecord], UsageMetricCalculation]:
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
    return 200, json_numbers(_usage_metrics(call).evaluate(call.params["id"], **call.query))


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
    ),
)
ROOTS = ("/api/usage-metrics", "/usage-metrics")
ROUTES = (
    *(Route("sequence", f"{root}/{{id}}/calculate", {"GET": CALCULATE}) for root in ROOTS),
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
    prefixes = ROOTS
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

    def render_error(self, error: MetricscoreError) -> tuple[int, dict[str, Any]]:
        return render_error(error)

    def error_headers(self, error: MetricscoreError, status: int) -> list[tuple[str, str]]:
        return [_WWW_AUTHENTICATE] if status == 401 else []

    def plain_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        return {"errors": [{"key": "", "error": message}]}

    def openapi_error(self, status: int, answer: dict[str, Any]) -> dict[str, Any]:
        if status == 401:
            answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        return answer
