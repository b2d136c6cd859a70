"""PostHog accounts: every rule of vendor-behaviour.md section 1, through the public API."""

from __future__ import annotations

from typing import Any

import pytest

import metricscore as mc
from metricscore.dialects.posthog import render_error
from metricscore.testing import errors_of


def codes_of(call: Any) -> list[tuple[str, str]]:
    with pytest.raises(mc.ValidationError) as caught:
        call()
    return [("__".join(path), message.code) for path, message in caught.value.flat()]


class TestName:
    def test_required_on_create(self, accounts: Any) -> None:
        assert codes_of(lambda: accounts.create({})) == [("name", "required")]
        assert errors_of(lambda: accounts.create({})) == {"name": ["This field is required."]}

    def test_null_blank_and_length(self, accounts: Any) -> None:
        assert codes_of(lambda: accounts.create({"name": None})) == [("name", "null")]
        assert codes_of(lambda: accounts.create({"name": "  \t "})) == [("name", "blank")]
        assert errors_of(lambda: accounts.create({"name": "x" * 401})) == {
            "name": ["Ensure this field has no more than 400 characters."]
        }
        assert codes_of(lambda: accounts.create({"name": "x" * 401})) == [("name", "max_length")]

    def test_trimmed_before_the_length_check(self, accounts: Any) -> None:
        assert accounts.create({"name": "  " + "x" * 400 + "  "})["name"] == "x" * 400

    def test_not_a_string(self, accounts: Any) -> None:
        for bad in ([], {}, True):
            assert errors_of(lambda bad=bad: accounts.create({"name": bad})) == {"name": ["Not a valid string."]}
        assert accounts.create({"name": 42})["name"] == "42"  # DRF's CharField takes numbers

    def test_null_characters_are_refused(self, accounts: Any) -> None:
        assert codes_of(lambda: accounts.create({"name": "a\x00b"})) == [("name", "null_characters_not_allowed")]


class TestExternalId:
    def test_optional_nullable_trimmed_and_bounded(self, accounts: Any) -> None:
        assert accounts.create({"name": "a"})["external_id"] is None
        assert accounts.create({"name": "a", "external_id": None})["external_id"] is None
        assert accounts.create({"name": "a", "external_id": "  e1 "})["external_id"] == "e1"
        assert codes_of(lambda: accounts.create({"name": "a", "external_id": "x" * 401})) == [
            ("external_id", "max_length")
        ]

    def test_blank_is_stored_as_null(self, accounts: Any) -> None:
        assert accounts.create({"name": "a", "external_id": "   "})["external_id"] is None

    def test_unique_per_project_is_a_409(self, store: mc.Store, accounts: Any) -> None:
        accounts.create({"name": "a", "external_id": "e1"})
        with pytest.raises(mc.Conflict) as caught:
            accounts.create({"name": "b", "external_id": "e1"})
        status, body = render_error(caught.value)
        assert status == 409
        assert body == {
            "type": "server_error",
            "code": "conflict",
            "detail": "An account with this external_id already exists for this team.",
            "attr": None,
        }
        store.posthog.accounts(project_id=2).create({"name": "b", "external_id": "e1"})


class TestProperties:
    def test_null_or_absent_is_an_empty_object(self, accounts: Any) -> None:
        assert accounts.create({"name": "a"})["properties"] == {}
        assert accounts.create({"name": "a", "properties": None})["properties"] == {}

    def test_stored_as_sent_without_padding(self, accounts: Any) -> None:
        properties = {"csm": {"id": 5, "email": "c@x"}, "account_owner": None, "sfdc_id": "s1"}
        assert accounts.create({"name": "a", "properties": properties})["properties"] == properties

    @pytest.mark.parametrize("bad", [[], "x", 3, True])
    def test_must_be_an_object(self, accounts: Any, bad: Any) -> None:
        assert errors_of(lambda: accounts.create({"name": "a", "properties": bad})) == {
            "properties": ["properties must be a JSON object."]
        }

    def test_unknown_keys_are_errors(self, accounts: Any) -> None:
        errors = errors_of(lambda: accounts.create({"name": "a", "properties": {"plan": "pro", "sfdc_id": "x"}}))
        assert list(errors["properties"]) == ["plan"]

    def test_role_shape(self, accounts: Any) -> None:
        def bad(role: Any) -> dict[str, Any]:
            return errors_of(lambda: accounts.create({"name": "a", "properties": {"csm": role}}))["properties"]["csm"]

        assert bad({"id": 1}) == {"email": ["This field is required."]}
        assert bad({"email": "e"}) == {"id": ["This field is required."]}
        assert bad({"id": "1", "email": "e"}) == {"id": ["A valid integer is required."]}
        assert bad({"id": True, "email": "e"}) == {"id": ["A valid integer is required."]}
        assert bad({"id": 1, "email": 5}) == {"email": ["Not a valid string."]}
        assert bad([1]) == ['Expected a dictionary of items but got type "list".']
        assert "other" in bad({"id": 1, "email": "e", "other": 1})

    def test_string_properties(self, accounts: Any) -> None:
        for key in ("stripe_customer_id", "hubspot_deal_id", "billing_id", "sfdc_id", "zendesk_id"):
            assert accounts.create({"name": "a", "properties": {key: None}})["properties"] == {key: None}
            errors = errors_of(lambda key=key: accounts.create({"name": "a", "properties": {key: 1}}))
            assert errors == {"properties": {key: ["Not a valid string."]}}

    def test_every_bad_key_is_reported_with_its_path(self, accounts: Any) -> None:
        payload = {"name": "a", "properties": {"csm": {"id": "x"}, "zendesk_id": [], "nope": 1}}
        assert sorted(codes_of(lambda: accounts.create(payload))) == [
            ("properties__csm__email", "required"),
            ("properties__csm__id", "invalid_input"),
            ("properties__nope", "invalid_input"),
            ("properties__zendesk_id", "invalid_input"),
        ]


class TestTags:
    def test_normalised(self, accounts: Any) -> None:
        created = accounts.create({"name": "a", "tags": [" Billing", "billing ", "VIP", "urgent"]})
        assert created["tags"] == ["billing", "urgent", "vip"]

    def test_partial_update_leaves_tags_alone_and_a_list_replaces_them(self, accounts: Any) -> None:
        created = accounts.create({"name": "a", "tags": ["x", "y"]})
        assert accounts.update(created["id"], {"name": "b"})["tags"] == ["x", "y"]
        assert accounts.update(created["id"], {"tags": ["Z"]})["tags"] == ["z"]
        assert accounts.update(created["id"], {"tags": []})["tags"] == []

    def test_bad_tags(self, accounts: Any) -> None:
        assert codes_of(lambda: accounts.create({"name": "a", "tags": "x"})) == [("tags", "not_a_list")]
        assert errors_of(lambda: accounts.create({"name": "a", "tags": "x"})) == {
            "tags": ['Expected a list of items but got type "str".']
        }
        assert codes_of(lambda: accounts.create({"name": "a", "tags": ["ok", 1]})) == [("tags__1", "invalid_input")]
        assert codes_of(lambda: accounts.create({"name": "a", "tags": None})) == [("tags", "null")]


class TestReadOnlyAndUnknownFields:
    def test_ignored(self, accounts: Any) -> None:
        created = accounts.create(
            {"name": "a", "id": "mine", "created_at": "1999", "created_by": 3, "updated_at": "x", "bogus": 1}
        )
        assert created["id"] != "mine"
        assert created["created_at"] == "2024-01-01T12:00:00.123456Z"
        assert created["created_by"] is None
        assert "bogus" not in created


class TestEveryBadFieldAtOnce:
    def test_all_reported_and_nothing_written(self, accounts: Any) -> None:
        errors = errors_of(lambda: accounts.create({"name": "", "external_id": [], "properties": 1, "tags": {}}))
        assert set(errors) == {"name", "external_id", "properties", "tags"}
        assert accounts.list().count == 0

    def test_posthog_body_shows_the_first_error(self, accounts: Any) -> None:
        with pytest.raises(mc.ValidationError) as caught:
            accounts.create({"name": "", "tags": "x"})
        assert render_error(caught.value) == (
            400,
            {"type": "validation_error", "code": "blank", "detail": "This field may not be blank.", "attr": "name"},
        )

    def test_nested_attr_is_joined_with_double_underscores(self, accounts: Any) -> None:
        with pytest.raises(mc.ValidationError) as caught:
            accounts.create({"name": "a", "tags": ["ok", 5]})
        assert render_error(caught.value)[1]["attr"] == "tags__1"

    @pytest.mark.parametrize("payload", [[], "x", 5, None, True, [{"name": "a"}]])
    def test_a_payload_that_is_not_an_object(self, accounts: Any, payload: Any) -> None:
        with pytest.raises(mc.ValidationError) as caught:
            accounts.create(payload)
        body = render_error(caught.value)[1]
        assert body["attr"] is None
        assert body["detail"].startswith("Invalid data. Expected a dictionary, but got ")


class TestScopeArguments:
    @pytest.mark.parametrize("bad", ["one", None, 1.5, True, [1]])
    def test_project_id_must_be_an_integer(self, store: mc.Store, bad: Any) -> None:
        with pytest.raises(mc.ValidationError) as caught:
            store.posthog.accounts(project_id=bad)
        assert set(caught.value.errors) == {"project_id"}


class TestReplace:
    def test_put_keeps_fields_without_a_default(self, accounts: Any) -> None:
        created = accounts.create({"name": "a", "external_id": "e", "tags": ["t"], "properties": {"sfdc_id": "s"}})
        replaced = accounts.replace(created["id"], {"name": "b"})
        assert (replaced["external_id"], replaced["tags"], replaced["properties"]) == ("e", ["t"], {"sfdc_id": "s"})
        assert replaced["created_at"] == created["created_at"]
