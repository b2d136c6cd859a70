"""Hypothesis strategies for PostHog account payloads and list parameters."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = [
    "account_list_params",
    "account_payloads",
    "account_updates",
    "invalid_account_payloads",
    "safe_text",
]

ROLES = ("csm", "account_executive", "account_owner")
STRING_PROPERTIES = ("stripe_customer_id", "hubspot_deal_id", "billing_id", "sfdc_id", "zendesk_id")


def safe_text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text every backend stores: no NUL, no lone surrogates (the library refuses both)."""
    return st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=min_size, max_size=max_size
    )


def _name() -> st.SearchStrategy[Any]:
    text = st.one_of(
        st.sampled_from(["Acme", "acme", "ACME corp", "Globex", "initech", "Ünïcødé", "100% _x_"]),
        safe_text(1, 60),
        safe_text(390, 400),
    ).filter(lambda s: bool(s.strip()) and len(s.strip()) <= 400)
    return st.one_of(text, st.integers(-(10**6), 10**6))  # DRF's CharField takes numbers as text


def _external_id() -> st.SearchStrategy[Any]:
    # A small pool, so generated sequences often collide on the unique key.
    return st.one_of(
        st.none(),
        st.sampled_from(["e1", "E1", " e2 ", "e3", ""]),
        safe_text(1, 400).filter(lambda s: len(s.strip()) <= 400),
    )


def _role() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"id": st.integers(-3, 10) | st.integers(-(2**63), 2**63 - 1), "email": safe_text(0, 30)}
        ),
    )


def account_properties() -> st.SearchStrategy[dict[str, Any]]:
    optional = {role: _role() for role in ROLES}
    optional.update({key: st.none() | safe_text(0, 30) for key in STRING_PROPERTIES})
    return st.fixed_dictionaries({}, optional=optional)


def _tags() -> st.SearchStrategy[list[str]]:
    tag = st.one_of(st.sampled_from(["billing", "Billing ", "urgent", " VIP", "vip", "ß", "İx"]), safe_text(1, 20))
    return st.lists(tag.filter(lambda t: bool(t.strip()) and len(t.strip()) <= 255), max_size=5)


def account_payloads() -> st.SearchStrategy[dict[str, Any]]:
    """Valid create payloads: ``name`` plus any of the optional fields."""
    return st.fixed_dictionaries(
        {"name": _name()},
        optional={
            "external_id": _external_id(),
            "properties": st.none() | account_properties(),
            "tags": _tags(),
            "id": st.just("ignored-read-only"),
            "created_at": st.just("ignored"),
            "unknown_field": st.integers(),
        },
    )


def account_updates() -> st.SearchStrategy[dict[str, Any]]:
    """Valid partial updates (PATCH bodies), the empty one included."""
    return st.fixed_dictionaries(
        {},
        optional={
            "name": _name(),
            "external_id": _external_id(),
            "properties": st.none() | account_properties(),
            "tags": _tags(),
        },
    )


_BAD_VALUES: dict[str, list[Any]] = {
    "name": ["", "   ", None, "x" * 401, [], {}, True, ["Acme"], "nul\x00", "\ud800"],
    "external_id": ["x" * 401, [], {"a": 1}, True, "\x00"],
    "properties": [
        [],
        "x",
        5,
        True,
        {"unknown": "x"},
        {"csm": {"id": "7", "email": "e"}},
        {"csm": {"id": True, "email": "e"}},
        {"csm": []},
        {"csm": {"email": "e"}},
        {"csm": {"id": 1, "email": "e", "extra": 1}},
        {"account_owner": {"id": 1, "email": None}},
        {"stripe_customer_id": 5},
        {"billing_id": {"nested": "x"}},
    ],
    "tags": ["x", None, [1], [""], ["x" * 256], {"a": 1}, [None], [["x"]], ["ok", 3.5]],
}


@st.composite
def invalid_account_payloads(draw: st.DrawFn) -> tuple[Any, set[str]]:
    """``(payload, fields)``: an invalid create payload and exactly the fields it must report."""
    payload = dict(draw(account_payloads()))
    fields = draw(st.sets(st.sampled_from(sorted(_BAD_VALUES)), min_size=1))
    for field in fields:
        payload[field] = draw(st.sampled_from(_BAD_VALUES[field]))
    if "name" in fields and draw(st.booleans()):
        del payload["name"]  # missing is as bad as invalid
    return payload, set(fields)


def account_list_params() -> st.SearchStrategy[dict[str, Any]]:
    """List query parameters as a server would pass them: raw strings, sometimes odd ones."""
    role = st.sampled_from(["1", "7", "unassigned", "x", "", "-3"]) | st.integers(-3, 10)
    return st.fixed_dictionaries(
        {},
        optional={
            "search": st.sampled_from(["acme", "ACME", "%", "_", " e1 ", "", "ü", "1"]) | safe_text(0, 5),
            "tags": st.sampled_from(['["billing"]', '["vip","urgent"]', "[]", '["ß"]']),
            "csm": role,
            "account_executive": role,
            "account_owner": role,
            "all_roles_unassigned": st.sampled_from(["true", "True", "false", "1"]),
            "ordering": st.sampled_from(
                ["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "x"]
            ),
            "limit": st.sampled_from(["1", "2", "5", "0", "-1", "x"]) | st.integers(-2, 10),
            "offset": st.sampled_from(["0", "1", "3", "-1", "x", "100"]) | st.integers(-2, 10),
        },
    )
