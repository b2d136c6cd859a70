"""The generated validation fast path against marshmallow itself (a differential test).

For every resource and every mode, a payload validated through :func:`metricscore.validation.load`
(fast path first) must give exactly what marshmallow's own ``Schema.load`` gives: the same
validated payload (types included) for a valid one, the same errors for an invalid one. The fast
path must never accept what marshmallow refuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import marshmallow as ma
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore import validation
from metricscore.dialects.posthog.accounts import ACCOUNTS
from metricscore.dialects.posthog.group_usage_metrics import GROUP_USAGE_METRICS
from metricscore.dialects.sequence.usage_metrics import USAGE_METRICS
from metricscore.dialects.statsig.metrics import METRICS
from metricscore.errors import ValidationError
from metricscore.fastload import Fallback, fast_loader
from metricscore.limits import MAX_PAYLOAD_VALUES, check_payload_size, count_values
from metricscore.resource import Mode, Resource
from metricscore.service import ResourceService
from metricscore.testing.strategies import invalid_payloads, payloads

RESOURCES: list[Resource] = [ACCOUNTS, GROUP_USAGE_METRICS, USAGE_METRICS, METRICS]
MODES: list[Mode] = ["create", "update", "replace"]
CASES = [(r, m) for r in RESOURCES for m in MODES]
IDS = [f"{r.name}-{m}" for r, m in CASES]
SCOPES: dict[str, dict[str, Any]] = {
    "posthog.accounts": {"project_id": 1},
    "posthog.group_usage_metrics": {"project_id": 1, "group_type_index": 0},
    "sequence.usage_metrics": {"account_id": "acc"},
    "statsig.metrics": {"project_id": "p1"},
}
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def schema_of(resource: Resource, mode: Mode) -> ma.Schema:
    if mode == "create" or resource.update_schema is None:
        return resource.create_schema
    return resource.update_schema


def typed(value: Any) -> Any:
    """``value`` with every leaf tagged by its type: ``1``, ``1.0`` and ``True`` differ."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}, list(value)
    if isinstance(value, list):
        return [typed(v) for v in value]
    return type(value).__name__, value, getattr(value, "code", None)


def marshmallow_load(schema: ma.Schema, data: Any, partial: bool) -> dict[str, Any]:
    """The reference: marshmallow's ``Schema.load`` with metricscore's error mapping only."""
    if type(data) is not dict:
        return validation.load(schema, data, partial=partial)  # the non-object error, no schema involved
    try:
        result: dict[str, Any] = schema.load(data, partial=partial)
    except ma.ValidationError as error:
        raise ValidationError(validation._messages(error)) from None
    return result


def outcome(load: Any, schema: ma.Schema, data: Any, partial: bool) -> tuple[str, Any]:
    try:
        return "ok", typed(load(schema, data, partial=partial))
    except ValidationError as error:
        return "error", typed(error.errors)


def fast_outcome(schema: ma.Schema, data: Any, partial: bool) -> Any:
    """What the fast path alone says: a result, or ``None`` when it passes the payload on."""
    loader = fast_loader(schema)
    assert loader is not None
    try:
        return loader(data, partial)
    except Exception:
        return None


@pytest.mark.parametrize(("resource", "mode"), CASES, ids=IDS)
def test_every_resource_schema_has_a_fast_path(resource: Resource, mode: Mode) -> None:
    assert fast_loader(schema_of(resource, mode)) is not None


@pytest.mark.parametrize(("resource", "mode"), CASES, ids=IDS)
def test_valid_payloads_load_exactly_as_marshmallow_loads_them(resource: Resource, mode: Mode) -> None:
    schema = schema_of(resource, mode)
    partial = mode == "update"
    served: list[bool] = []

    @FAST
    @given(payloads(resource.name))
    def check(payload: dict[str, Any]) -> None:
        expected = outcome(marshmallow_load, schema, payload, partial)
        assert outcome(validation.load, schema, payload, partial) == expected
        fast = fast_outcome(schema, payload, partial)
        if fast is not None:
            assert ("ok", typed(fast)) == expected
        served.append(fast is not None)

    check()
    # The fast path really serves valid payloads (most of them; odd ones may go to marshmallow).
    assert sum(served) >= len(served) // 2


@pytest.mark.parametrize(("resource", "mode"), CASES, ids=IDS)
def test_invalid_payloads_get_marshmallows_errors_and_never_pass_the_fast_path(resource: Resource, mode: Mode) -> None:
    schema = schema_of(resource, mode)
    partial = mode == "update"

    @FAST
    @given(invalid_payloads(resource.name))
    def check(case: tuple[Any, set[str]]) -> None:
        payload, _fields = case
        expected = outcome(marshmallow_load, schema, payload, partial)
        assert outcome(validation.load, schema, payload, partial) == expected
        if expected[0] == "error" and type(payload) is dict:
            assert fast_outcome(schema, payload, partial) is None

    check()


# -- marshmallow's built-in validators, as another helper adds them to the resources' schemas -----


def _even(value: int) -> bool:
    return value % 2 == 0


class Capped(validation.Schema):
    name = validation.String(required=True, validate=ma.validate.Length(min=2, max=8))
    code = validation.String(validate=ma.validate.Length(equal=3))
    tags = validation.List(validation.String(validate=ma.validate.Length(max=4)), validate=ma.validate.Length(max=3))
    size = validation.Integer(validate=[ma.validate.Range(min=0, max=10, max_inclusive=False), _even])
    ratio = validation.Float(validate=ma.validate.Range(min=0, min_inclusive=False))
    kind = validation.String(validate=ma.validate.OneOf(["a", "b"]))
    not_kind = validation.String(validate=ma.validate.NoneOf(["x"]))
    same = validation.String(validate=ma.validate.Equal("s"))
    pattern = validation.String(validate=ma.validate.Regexp(r"^[a-z]+$"))
    plain = ma.fields.String(validate=ma.validate.Length(max=5), allow_none=True)
    few = validation.List(validation.String(), max_length=2)  # a per-list cap, as in the dialects' LIMITS


CAPPED = Capped()
_text = st.text(alphabet="abcxs ", max_size=10)
_values = {
    "name": _text,
    "code": _text,
    "tags": st.lists(_text, max_size=5),
    "size": st.integers(-3, 13),
    "ratio": st.floats(-1, 1, allow_nan=False),
    "kind": _text | st.sampled_from(["a", "b"]),
    "not_kind": _text | st.just("x"),
    "same": _text | st.just("s"),
    "pattern": _text,
    "plain": _text | st.none() | st.integers(),
    "few": st.lists(_text, max_size=4),
}


@FAST
@given(st.fixed_dictionaries({}, optional=_values), st.booleans())
def test_builtin_validators_are_checked_exactly_as_marshmallow_checks_them(
    payload: dict[str, Any], partial: bool
) -> None:
    expected = outcome(marshmallow_load, CAPPED, payload, partial)
    assert outcome(validation.load, CAPPED, payload, partial) == expected
    fast = fast_outcome(CAPPED, payload, partial)
    if fast is not None:
        assert ("ok", typed(fast)) == expected
    elif expected[0] == "ok":  # only these may be passed on while valid: none of them here
        pytest.fail(f"a valid payload was not served by the fast path: {payload!r}")


def test_a_schema_the_fast_path_cannot_mirror_gets_none() -> None:
    class Strict(ma.Schema):
        name = ma.fields.String()

    class Hooked(validation.Schema):
        name = validation.String()

        @ma.pre_load
        def _change(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            return data

    assert fast_loader(Strict()) is None  # unknown keys raise: marshmallow's job
    assert fast_loader(Hooked()) is None  # a pre-load hook may rewrite the input
    assert fast_loader(Capped()) is not None


def test_the_fast_loader_signals_a_fallback_rather_than_an_error() -> None:
    loader = fast_loader(CAPPED)
    assert loader is not None
    with pytest.raises(Fallback):
        loader({"name": "a"}, False)
    assert loader({"name": " ab "}, False) == {"name": "ab"}


@pytest.mark.parametrize(("resource", "mode"), CASES, ids=IDS)
def test_service_validate_returns_the_payload_and_stores_nothing(resource: Resource, mode: Mode) -> None:
    service = ResourceService(mc.open_store("memory://"), resource, SCOPES[resource.name])

    @FAST
    @given(payloads(resource.name))
    def check(payload: dict[str, Any]) -> None:
        def via_service(_schema: Any, data: Any, partial: bool) -> dict[str, Any]:
            return service.validate(data, mode=mode)

        def via_resource(_schema: Any, data: Any, partial: bool) -> dict[str, Any]:
            return resource.load(data, mode)

        assert outcome(via_service, None, payload, False) == outcome(via_resource, None, payload, False)

    check()
    assert service.list().count == 0
    with pytest.raises(ValidationError):
        service.validate([], mode=mode)
    with pytest.raises(ValidationError) as error:
        service.validate({}, mode="upsert")
    assert "mode" in error.value.errors


def test_falling_back_keeps_no_state_between_calls() -> None:
    loader = fast_loader(CAPPED)
    assert loader is not None
    raised = []
    for _ in range(3):
        try:
            loader({"name": "a"}, False)
        except Fallback as error:
            raised.append(error)
    assert len({id(e) for e in raised}) == 3  # a fresh exception each time: no growing traceback


# -- the size caps: the fast path refuses exactly what marshmallow refuses ------------------------


def _past_the_caps() -> list[tuple[str, Resource, Callable[[int], dict[str, Any]], int]]:
    from test_limits import USAGE, _statsig_payloads

    from metricscore.dialects.posthog.accounts import LIMITS as ACCOUNT_LIMITS
    from metricscore.dialects.sequence.usage_metrics import LIMITS as USAGE_LIMITS
    from metricscore.dialects.statsig.schemas import LIMITS as STATSIG_LIMITS

    cases: list[tuple[str, Resource, Callable[[int], dict[str, Any]], int]] = [
        (
            "posthog.tags",
            ACCOUNTS,
            lambda n: {"name": "a", "tags": [f"t{i}" for i in range(n)]},
            ACCOUNT_LIMITS["tags"],
        ),
        (
            "sequence.propertyFilters",
            USAGE_METRICS,
            lambda n: {**USAGE, "propertyFilters": {f"p{i}": ["v"] for i in range(n)}},
            USAGE_LIMITS["propertyFilters"],
        ),
        (
            "sequence.propertyFilters.*",
            USAGE_METRICS,
            lambda n: {**USAGE, "propertyFilters": {"p": [f"v{i}" for i in range(n)]}},
            USAGE_LIMITS["propertyFilters.*"],
        ),
    ]
    builders = _statsig_payloads()
    cases += [(f"statsig.{name}", METRICS, builders[name], STATSIG_LIMITS[name]) for name in sorted(STATSIG_LIMITS)]
    return cases


CAPS = _past_the_caps()


@pytest.mark.parametrize(("resource", "build", "cap"), [c[1:] for c in CAPS], ids=[c[0] for c in CAPS])
@pytest.mark.parametrize("mode", MODES)
def test_a_list_one_past_its_cap_is_refused_identically_on_both_paths(
    resource: Resource, build: Callable[[int], dict[str, Any]], cap: int, mode: Mode
) -> None:
    schema = schema_of(resource, mode)
    partial = mode == "update"
    for payload in (build(cap), build(cap + 1)):
        assert outcome(validation.load, schema, payload, partial) == outcome(marshmallow_load, schema, payload, partial)
    past = build(cap + 1)
    status, errors = outcome(validation.load, schema, past, partial)
    if mode == "create":  # every capped list is a create field (some schemas of updates omit it)
        assert status == "error"
    if status == "error":
        assert "no more than" in json.dumps(errors, default=str)
        assert fast_outcome(schema, past, partial) is None  # never vouched for


def test_a_list_field_cap_is_checked_by_the_fast_path() -> None:
    at_cap, past = {"name": "ab", "few": ["a", "b"]}, {"name": "ab", "few": ["a", "b", "c"]}
    assert fast_outcome(CAPPED, at_cap, False) == {"name": "ab", "few": ["a", "b"]}
    assert fast_outcome(CAPPED, past, False) is None
    with pytest.raises(ValidationError) as error:
        validation.load(CAPPED, past)
    assert error.value.errors == {"few": ["Ensure this field has no more than 2 elements."]}


def test_the_payload_size_cap_is_counted_on_the_fast_paths_walk() -> None:
    schema = schema_of(GROUP_USAGE_METRICS, "create")
    at_cap = {"name": "n", "filters": {"values": [1] * (MAX_PAYLOAD_VALUES - 4)}}  # 1 + 1 + 2 + 1996
    huge = {"name": "n", "filters": {"values": [1] * (MAX_PAYLOAD_VALUES - 3)}}
    assert fast_outcome(schema, at_cap, False) is not None
    assert fast_outcome(schema, huge, False) is None  # valid as far as the schema goes, yet past the cap
    with pytest.raises(ValidationError) as error:
        validation.load(schema, huge)
    assert list(error.value.errors) == ["filters"]
    assert error.value.errors["filters"][0].code == "max_length"


# -- payloads near the size cap: counted on the fast path's walk, refused exactly as before -------


def _holding(share: int, shape: str, base: Any) -> Any:
    """A JSON value holding ``share`` values (itself included) where it can, of the given shape.

    An object keeps the payload's own object (``base``) and adds keys to it, so that a field with
    rules on some keys (a metric's ``filters``) stays valid.
    """
    if shape == "strings":  # a list of strings: tags, columns... (valid up to each list's cap)
        return [f"t{i}" for i in range(share - 1)]
    if shape == "object":  # a free-form object (valid where JSON is)
        value = dict(base) if type(base) is dict else {}
        for i in range(share - count_values(value, 10**9)):
            value[f"k{i}"] = i
        return value
    groups: dict[str, list[str]] = {}  # an object of non-empty lists of strings (propertyFilters)
    left = share - 1
    while left > 1:
        size = min(left - 1, 40)
        groups[f"p{len(groups)}"] = [f"v{i}" for i in range(size)]
        left -= 1 + size
    if left and groups:
        groups[f"p{len(groups) - 1}"].append("v")
    return groups


#: A field of each resource that may validly hold a payload's worth of values, and its shape.
ROOMY = {"posthog.group_usage_metrics": ("filters", "object"), "sequence.usage_metrics": ("propertyFilters", "groups")}


@st.composite
def _near_the_cap(draw: st.DrawFn, resource: Resource, schema: ma.Schema) -> dict[str, Any]:
    """A payload of ``resource`` whose known fields hold a few values more or fewer than the cap,
    in one or two bulky fields, in any key order (the error names the field where the count passes)."""
    names = sorted(validation._wire_names(schema))
    payload = dict(draw(payloads(resource.name)))
    roomy = ROOMY.get(resource.name)
    if roomy is not None and draw(st.booleans()):  # one field that validly holds that much
        bulky, shapes = [roomy[0]], [roomy[1]]
    else:
        bulky = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        shapes = [draw(st.sampled_from(["strings", "object", "groups"])) for _ in bulky]
    bases = [payload.pop(key, None) for key in bulky]
    rest = 1 + sum(count_values(value, 10**9) for key, value in payload.items() if key in names)
    room = max(len(bulky), draw(st.integers(MAX_PAYLOAD_VALUES - 3, MAX_PAYLOAD_VALUES + 3)) - rest)
    first = draw(st.integers(1, room - 1)) if len(bulky) == 2 else room
    for key, share, shape, base in zip(bulky, (first, room - first), shapes, bases, strict=False):
        payload[key] = _holding(share, shape, base)
    return dict(draw(st.permutations(list(payload.items()))))


def capped_marshmallow_load(schema: ma.Schema, data: Any, partial: bool) -> dict[str, Any]:
    """The reference before the cap was folded into the fast path: the size check, then marshmallow."""
    if type(data) is dict:
        check_payload_size(data, validation._wire_names(schema))
    return marshmallow_load(schema, data, partial)


@pytest.mark.parametrize(("resource", "mode"), CASES, ids=IDS)
def test_payloads_near_the_size_cap_load_exactly_as_the_size_check_then_marshmallow(
    resource: Resource, mode: Mode
) -> None:
    schema = schema_of(resource, mode)
    partial = mode == "update"

    # Derandomized: the closing assertions ask that the examples met both sides of the cap, which a
    # random run of 25 can miss (seen once for group usage metrics); a fixed run meets them always.
    @settings(FAST, max_examples=25, derandomize=True)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        payload = data.draw(_near_the_cap(resource, schema))
        expected = outcome(capped_marshmallow_load, schema, payload, partial)
        assert outcome(validation.load, schema, payload, partial) == expected
        fast = fast_outcome(schema, payload, partial)
        if fast is not None:  # served: exactly what the check and marshmallow accept
            assert ("ok", typed(fast)) == expected
        known = 1 + sum(count_values(v, 10**9) for k, v in payload.items() if k in validation._wire_names(schema))
        served.append((fast is not None, expected[0] == "ok", known))

    served: list[tuple[bool, bool, int]] = []
    check()
    # Both sides of the cap were met; a valid payload near the cap is served by the fast path.
    assert all(fast for fast, ok, _ in served if ok)
    if resource.name in ROOMY:  # valid payloads on both sides of the cap were met
        assert any(ok and size > MAX_PAYLOAD_VALUES - 8 for _, ok, size in served)
        assert any(size > MAX_PAYLOAD_VALUES for _, ok, size in served)
