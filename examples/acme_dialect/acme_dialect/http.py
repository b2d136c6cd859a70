"""Acme over HTTP: ``X-Acme-Key: acme_...`` keys bound to a tenant, ``{"error": {code, message,
fields}}`` bodies, and the widget routes under ``/acme/v1/widgets``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metricscore.errors import MetricscoreError, Unauthenticated, ValidationError
from metricscore.http.dialect import HttpDialect
from metricscore.http.keys import ApiKey, KeyForm
from metricscore.http.types import Call, Operation, Request, Route

from . import Acme

__all__ = ["AcmeHttp"]

ROOT = "/acme/v1/widgets"
WIDGET = ("acme.widgets", "record")


def _widgets(call: Call) -> Any:
    namespace: Acme = call.app.store.namespace("acme")
    return namespace.widgets(tenant=call.key.subject or "")


def _list(call: Call) -> tuple[int, Any]:
    return 200, _widgets(call).list(**call.query).envelope()


def _create(call: Call) -> tuple[int, Any]:
    return 201, _widgets(call).create(call.data)


def _get(call: Call) -> tuple[int, Any]:
    return 200, _widgets(call).get(call.params["id"])


def _update(call: Call) -> tuple[int, Any]:
    return 200, _widgets(call).update(call.params["id"], call.data)


def _delete(call: Call) -> tuple[int, Any]:
    _widgets(call).delete(call.params["id"])
    return 204, None


ROUTES = (
    Route(
        "acme",
        ROOT,
        {
            "GET": Operation(_list, "widgets_list", "List widgets", 200, response=("acme.widgets", "page")),
            "POST": Operation(
                _create, "widgets_create", "Create a widget", 201, body=("acme.widgets", "create"), response=WIDGET
            ),
        },
    ),
    Route(
        "acme",
        ROOT + "/{id}",
        {
            "GET": Operation(_get, "widgets_get", "Get a widget", 200, response=WIDGET),
            "PATCH": Operation(
                _update, "widgets_update", "Update a widget", 200, body=("acme.widgets", "update"), response=WIDGET
            ),
            "DELETE": Operation(_delete, "widgets_delete", "Delete a widget", 204),
        },
    ),
)
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}


class AcmeHttp(HttpDialect):
    """Acme's tenant keys and its error body."""

    name = "acme"
    prefixes = ("/acme/",)
    security_scheme = ("AcmeKey", {"type": "apiKey", "in": "header", "name": "X-Acme-Key"})
    error_schema = ("AcmeError", ERROR_SCHEMA)
    key_forms = (KeyForm("acme", prefix="acme_", header="X-Acme-Key: {token}", subject="tenant_id", subject_length=64),)

    def routes(self) -> Sequence[Route]:
        return ROUTES

    def authenticate(self, request: Request) -> ApiKey:
        key = self.keys.check_token(self.key_forms[0], (request.header("x-acme-key") or "").strip())
        if key is None:
            raise Unauthenticated("A valid X-Acme-Key header is required.")
        return key

    def render_error(self, error: MetricscoreError) -> tuple[int, dict[str, Any]]:
        status = error.status if 400 <= error.status < 500 else 500
        body: dict[str, Any] = {"code": error.code if status < 500 else "server_error", "message": error.message}
        if status >= 500:
            body["message"] = "Something went wrong."
        if isinstance(error, ValidationError):
            body["message"] = "The request is not valid."
            fields: dict[str, list[str]] = {}
            for path, message in error.flat():
                fields.setdefault(".".join(path), []).append(str(message))
            body["fields"] = fields
        return status, {"error": body}
