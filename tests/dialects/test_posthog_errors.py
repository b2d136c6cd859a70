"""PostHog error bodies and statuses (vendor-behaviour.md section 3)."""

from __future__ import annotations

import pytest

import metricscore as mc
from metricscore.dialects.posthog import render_error


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (mc.NotFound(), 404, {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}),
        (
            mc.Unauthenticated(),
            401,
            {
                "type": "authentication_error",
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
                "attr": None,
            },
        ),
        (
            mc.PermissionDenied("You don't have access to the project."),
            403,
            {
                "type": "authentication_error",
                "code": "permission_denied",
                "detail": "You don't have access to the project.",
                "attr": None,
            },
        ),
        (
            mc.PermissionDenied("API key missing required scope 'account:write'"),
            403,
            {
                "type": "authentication_error",
                "code": "permission_denied",
                "detail": "API key missing required scope 'account:write'",
                "attr": None,
            },
        ),
        (
            mc.RateLimited(retry_after=7),
            429,
            {
                "type": "throttled_error",
                "code": "throttled",
                "detail": "Request was throttled. Expected available in 7 seconds.",
                "attr": None,
            },
        ),
        (mc.Conflict("taken"), 409, {"type": "server_error", "code": "conflict", "detail": "taken", "attr": None}),
        (
            mc.StorageError("db down"),
            503,
            {"type": "server_error", "code": "error", "detail": "A server error occurred.", "attr": None},
        ),
    ],
)
def test_each_error_kind(error: mc.MetricscoreError, status: int, body: dict[str, object]) -> None:
    assert render_error(error) == (status, body)


def test_validation_codes_and_messages(accounts: object) -> None:
    cases = [
        ({}, ("required", "This field is required.", "name")),
        ({"name": None}, ("null", "This field may not be null.", "name")),
        ({"name": " "}, ("blank", "This field may not be blank.", "name")),
        ({"name": "x" * 401}, ("max_length", "Ensure this field has no more than 400 characters.", "name")),
        ({"name": "a", "tags": "x"}, ("not_a_list", 'Expected a list of items but got type "str".', "tags")),
        ({"name": "a", "tags": [3]}, ("invalid_input", "Not a valid string.", "tags__0")),
        (
            {"name": "a", "properties": {"csm": "x"}},
            ("invalid_input", 'csm: Expected a dictionary of items but got type "str".', "properties"),
        ),
        (
            {"name": "a", "properties": {"csm": {"id": "x", "email": "e"}}},
            ("invalid_input", "csm.id: A valid integer is required.", "properties"),
        ),
        ({"name": "a", "properties": "x"}, ("invalid_input", "properties must be a JSON object.", "properties")),
    ]
    for payload, (code, detail, attr) in cases:
        with pytest.raises(mc.ValidationError) as caught:
            accounts.create(payload)  # type: ignore[attr-defined]
        assert render_error(caught.value) == (
            400,
            {"type": "validation_error", "code": code, "detail": detail, "attr": attr},
        ), payload
