"""PostHog accounts: ``/api/environments/{project_id}/accounts/``.

Rules: ../shared/vendor-behaviour.md section 1 (mirrored in docs/dialects/posthog.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypedDict

import marshmallow as ma

from ...errors import Conflict, ErrorMessage, MetricscoreError, ValidationError
from ...jsonvalue import string_problem
from ...limits import MAX_FILTER_VALUES, check_filter_values
from ...pagination import LimitOffsetPagination, OffsetParams, parse_int
from ...query import Contains, Eq, Filter, HasAny, OrderBy
from ...repository import Record
from ...resource import Context, ListRequest, Mode, Resource
from ...table import Column, ColumnType, TableSpec, UniqueKey
from ...validation import CodedField, Integer, List, Messages, Schema, String, type_name
from ...wire import iso_z, owned_json
from .envelope import LIST_ENVELOPE

__all__ = ["ACCOUNTS", "LIMITS", "AccountRecord", "AccountSchema", "Accounts", "normalize_tags"]

ROLES = ("csm", "account_executive", "account_owner")
STRING_PROPERTIES = ("stripe_customer_id", "hubspot_deal_id", "billing_id", "sfdc_id", "zendesk_id")
ALLOWED_PROPERTIES = frozenset(ROLES + STRING_PROPERTIES)
ORDERINGS = {
    "name": "name",
    "-name": "name",
    "created_at": "created_at",
    "-created_at": "created_at",
    "updated_at": "updated_at",
    "-updated_at": "updated_at",
}
DEFAULT_ORDERING = "-created_at"
TAG_MAX_LENGTH = 255
#: The most items each list of an account payload may hold (the table in docs/dialects/posthog.md);
#: on top of these, a payload holds at most ``metricscore.limits.MAX_PAYLOAD_VALUES`` values.
LIMITS = {"tags": 100}
EXTERNAL_ID_TAKEN = "An account with this external_id already exists for this team."
BAD_TAGS_FILTER = "Must be a JSON-encoded list of strings."
UNKNOWN_PROPERTY = "Unknown property. Allowed: " + ", ".join(ROLES + STRING_PROPERTIES) + "."


def role_column(role: str) -> str:
    """The indexed column holding ``properties.<role>.id``."""
    return f"{role}_id"


class AccountProperties(CodedField):
    """The strict ``properties`` object: only the known keys, each of its own shape.

    Checked by hand rather than with nested schemas: this runs on every account write, and a
    nested marshmallow load per role costs more than the rest of the write together.
    """

    #: Its OpenAPI schema (the document describes a field by this when it has one).
    openapi_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    default_error_messages: Messages = {"not_an_object": "properties must be a JSON object."}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise self.make_error("not_an_object")
        errors: dict[str, Any] = {}
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key not in ALLOWED_PROPERTIES:
                errors[str(key)] = [ErrorMessage(UNKNOWN_PROPERTY, "invalid_input")]
            elif item is None:
                result[key] = None
            elif key in ROLES:
                role, role_errors = _load_role(item)
                if role_errors:
                    errors[key] = role_errors
                result[key] = role
            elif type(item) is not str:
                errors[key] = [ErrorMessage("Not a valid string.", "invalid_input")]
            elif problem := string_problem(item):
                errors[key] = [ErrorMessage(problem, "invalid_input")]
            else:
                result[key] = item
        if errors:
            raise ma.ValidationError(errors)
        return result


def _load_role(item: Any) -> tuple[dict[str, Any], Any]:
    """A role object ``{id: integer, email: string}`` (a fresh dict) and its errors, if any."""
    if type(item) is not dict:
        return {}, [ErrorMessage(f'Expected a dictionary of items but got type "{type_name(item)}".', "not_a_dict")]
    errors: dict[str, Any] = {}
    role_id = item.get("id", ma.missing)
    if role_id is ma.missing:
        errors["id"] = [ErrorMessage("This field is required.", "required")]
    elif role_id is None:
        errors["id"] = [ErrorMessage("This field may not be null.", "null")]
    elif type(role_id) is not int or not -(2**63) <= role_id < 2**63:
        errors["id"] = [ErrorMessage("A valid integer is required.", "invalid_input")]
    email = item.get("email", ma.missing)
    if email is ma.missing:
        errors["email"] = [ErrorMessage("This field is required.", "required")]
    elif email is None:
        errors["email"] = [ErrorMessage("This field may not be null.", "null")]
    elif type(email) is not str:
        errors["email"] = [ErrorMessage("Not a valid string.", "invalid_input")]
    elif problem := string_problem(email):
        errors["email"] = [ErrorMessage(problem, "invalid_input")]
    for key in item:
        if key not in ("id", "email"):
            errors[str(key)] = [ErrorMessage("Unknown field.", "invalid_input")]
    return {"id": role_id, "email": email}, errors


class _Tag(String):
    def __init__(self) -> None:
        super().__init__(max_length=TAG_MAX_LENGTH, coerce_numbers=False)


class AccountSchema(Schema):
    """Validation of an account payload. Unknown and read-only fields are ignored."""

    name = String(required=True, max_length=400)
    external_id = String(max_length=400, allow_none=True, blank_as_none=True)
    properties = AccountProperties(allow_none=True)
    tags = List(_Tag(), max_length=LIMITS["tags"])


class AccountRecord(TypedDict):
    """A PostHog account as the API returns it (the wire order)."""

    id: str
    name: str
    external_id: str | None
    #: ``{csm|account_executive|account_owner: {id, email} | None, <string property>: str | None}``
    properties: dict[str, Any]
    #: Lowercased, stripped, distinct, sorted.
    tags: list[str]
    #: ISO-8601 UTC with ``Z``.
    created_at: str
    #: The acting user's id (``actor_id``), if any.
    created_by: int | None
    updated_at: str


#: ``ordering`` of a listing: a field, descending with ``-``.
AccountOrdering = Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"]


class AccountListParams(OffsetParams, total=False):
    """The keywords of ``accounts.list()``: PostHog's query parameters (values may also be the
    query string's text: ``tags='["a"]'``, ``limit="50"``)."""

    #: Case-insensitive substring of ``name`` or ``external_id``.
    search: str | None
    #: Any of these tags (a list, or its JSON text).
    tags: list[str] | str | None
    ordering: AccountOrdering | None
    #: A role's user id, or ``"unassigned"``.
    csm: int | str | None
    account_executive: int | str | None
    account_owner: int | str | None
    all_roles_unassigned: bool | str | None


class _AccountFields(TypedDict, total=False):
    external_id: str | None
    #: ``{csm|account_executive|account_owner: {id, email} | None, <string property>: str | None}``
    properties: dict[str, Any] | None
    tags: list[str]


class AccountCreate(_AccountFields):
    """The body of ``create`` and ``replace`` (POST, PUT): :class:`AccountSchema`'s fields."""

    name: str


class AccountUpdate(_AccountFields, total=False):
    """The body of ``update`` (PATCH): any of :class:`AccountCreate`'s fields."""

    name: str


def normalize_tags(tags: list[str]) -> list[str]:
    """Stripped, lowercased, without duplicates, sorted."""
    return sorted({tag.strip().lower() for tag in tags})


#: (role, the column holding its id), for ``derive``
_ROLE_COLUMNS = tuple((role, role_column(role)) for role in ROLES)


class Accounts(Resource[AccountRecord, AccountCreate, AccountCreate, AccountUpdate]):
    name = "posthog.accounts"
    title = "PostHogAccount"
    record_type = AccountRecord
    #: An extension of the vendor's API: an ``Idempotency-Key`` on create (see metricscore.idempotency).
    idempotent = True
    table = TableSpec(
        name="posthog_accounts",
        scope=("project_id",),
        columns=(
            Column("project_id", ColumnType.INTEGER, nullable=False),
            Column("id", ColumnType.STRING, nullable=False, length=36),
            Column("name", ColumnType.STRING, nullable=False, length=400, searchable=True),
            Column("external_id", ColumnType.STRING, length=400, searchable=True),
            Column("properties", ColumnType.JSON, nullable=False),
            Column("tags", ColumnType.TAGS, nullable=False),
            Column("created_at", ColumnType.DATETIME, nullable=False),
            Column("created_by", ColumnType.INTEGER),
            Column("updated_at", ColumnType.DATETIME, nullable=False),
            *(Column(role_column(role), ColumnType.INTEGER) for role in ROLES),
        ),
        unique_keys=(UniqueKey("posthog_accounts_external_id", ("external_id",)),),
        orderings=(("name", "id"), ("created_at", "id"), ("updated_at", "id")),
    )
    scope_fields = {"project_id": Integer(required=True, strict=True, min_value=0)}
    pagination = LimitOffsetPagination(LIST_ENVELOPE)
    actor_field = Integer(strict=True, allow_none=True)  # the PostHog user id
    create_schema = AccountSchema()
    initial_values = {"external_id": None, "properties": {}, "tags": []}
    list_parameters = {
        "search": {"type": "string", "description": "Case-insensitive substring of name or external_id."},
        # JSON in a query string: OpenAPI 3.0 says so with ``content`` in place of ``schema``.
        "tags": {
            "description": 'A JSON list of tags, any of which matches: ["a", "b"].',
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_FILTER_VALUES}
                }
            },
        },
        "ordering": {"type": "string", "enum": list(ORDERINGS), "default": DEFAULT_ORDERING},
        **{role: {"type": "string", "description": f"The id of the {role}, or `unassigned`."} for role in ROLES},
        "all_roles_unassigned": {"type": "boolean"},
    }

    def render(self, record: Record) -> AccountRecord:
        # Written out rather than built with `wire_map`: this runs for every record a page returns.
        # tests/test_resource_declarations.py checks it against AccountRecord.
        created_at = iso_z(record["created_at"])
        updated = record["updated_at"]
        return {
            "id": record["id"],
            "name": record["name"],
            "external_id": record["external_id"],
            "properties": owned_json(record, record["properties"]),
            "tags": owned_json(record, record["tags"]),
            "created_at": created_at,
            "created_by": record["created_by"],
            "updated_at": created_at if updated == record["created_at"] else iso_z(updated),
        }

    def load(self, data: Any, mode: Mode) -> dict[str, Any]:
        payload = super().load(data, mode)
        if "properties" in payload and payload["properties"] is None:
            payload["properties"] = {}
        if "tags" in payload:
            payload["tags"] = normalize_tags(payload["tags"])
        return payload

    def derive(self, record: Record, ctx: Context, existing: Record | None) -> None:
        if existing is None:
            record["created_at"] = ctx.now
            record["created_by"] = ctx.actor
        record["updated_at"] = ctx.now
        properties = record["properties"] or {}
        for role, column_name in _ROLE_COLUMNS:  # each role's id, when it is an integer
            value = properties.get(role)
            record[column_name] = value["id"] if isinstance(value, dict) and type(value.get("id")) is int else None

    def conflict(self, error: Conflict) -> MetricscoreError:
        if error.fields == ("external_id",):
            return Conflict(EXTERNAL_ID_TAKEN, fields=error.fields, resource=self.name)
        return error

    def list_request(self, params: Mapping[str, Any]) -> ListRequest:
        filters: list[Filter] = []
        search = params.get("search")
        if isinstance(search, str) and search.strip():
            filters.append(Contains(("name", "external_id"), search.strip()))
        tags = _tags_filter(params.get("tags"))
        if tags:
            filters.append(HasAny("tags", tags))
        for role in ROLES:
            role_filter = _role_filter(role_column(role), params.get(role))
            if role_filter is not None:
                filters.append(role_filter)
        unassigned = params.get("all_roles_unassigned")
        if unassigned is True or (isinstance(unassigned, str) and unassigned.lower() == "true"):
            filters.extend(Eq(role_column(role), None) for role in ROLES)
        ordering = params.get("ordering")
        if not isinstance(ordering, str) or ordering not in ORDERINGS:
            ordering = DEFAULT_ORDERING
        descending = ordering.startswith("-")
        order = (OrderBy(ORDERINGS[ordering], descending), OrderBy("id", descending))
        return ListRequest(tuple(_dedupe(filters)), order)


def _role_filter(column_name: str, value: Any) -> Eq | None:
    """``unassigned`` matches a missing role; an integer matches the role's id; else no filter."""
    if isinstance(value, str) and value == "unassigned":
        return Eq(column_name, None)
    number = None if type(value) is bool else parse_int(value)
    return None if number is None else Eq(column_name, number)


def _tags_filter(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise ValidationError({"tags": [ErrorMessage(BAD_TAGS_FILTER, "invalid_input")]}) from None
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValidationError({"tags": [ErrorMessage(BAD_TAGS_FILTER, "invalid_input")]})
    check_filter_values("tags", value)
    return tuple(tag for tag in normalize_tags(value) if tag)


def _dedupe(filters: list[Filter]) -> list[Filter]:
    return list(dict.fromkeys(filters))


ACCOUNTS = Accounts()
