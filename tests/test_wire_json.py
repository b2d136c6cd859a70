"""The fast JSON encoder writes exactly the bytes of the standard-library one, for every resource."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fastload import RESOURCES, SCOPES

import metricscore as mc
from metricscore import wire
from metricscore.errors import ValidationError
from metricscore.resource import Resource
from metricscore.service import ResourceService
from metricscore.testing.strategies import invalid_payloads, json_values, payloads

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def encoded(encode: Any, value: Any) -> bytes | type[BaseException]:
    try:
        data: bytes = encode(value)
    except (TypeError, ValueError, RecursionError) as error:  # what json.dumps raises
        return type(error)
    return data


def same_bytes(value: Any) -> None:
    fast = encoded(wire.dumps, value)
    assert fast == encoded(wire.dumps_stdlib, value)
    if isinstance(fast, bytes):
        assert json.loads(fast) == json.loads(wire.dumps_stdlib(value))


def test_the_fast_encoder_is_in_use_when_installed() -> None:
    pytest.importorskip("orjson", reason="needs the fast extra: pip install 'metricscore[fast]'")
    assert wire.FAST_JSON


def test_the_reference_encoding_is_compact_utf8() -> None:
    assert wire.dumps_stdlib({"a": ["é", 1, None, 1e-05]}) == '{"a":["é",1,null,1e-05]}'.encode()
    assert wire.dumps({"a": ["é", 1, None, 1e-05]}) == '{"a":["é",1,null,1e-05]}'.encode()
    for encode in (wire.dumps, wire.dumps_stdlib):  # as JavaScript's JSON.stringify writes them
        assert encode([float("nan"), {"x": float("-inf")}]) == b'[null,{"x":null}]'


@pytest.mark.parametrize("resource", RESOURCES, ids=[r.name for r in RESOURCES])
def test_records_pages_and_errors_encode_identically(resource: Resource) -> None:
    service = ResourceService(mc.open_store("memory://"), resource, SCOPES[resource.name])
    created: list[dict[str, Any]] = []

    @FAST
    @given(payloads(resource.name), invalid_payloads(resource.name))
    def check(payload: dict[str, Any], invalid: tuple[Any, set[str]]) -> None:
        with contextlib.suppress(mc.MetricscoreError):  # e.g. a name taken by an earlier example
            created.append(service.create(payload))
        if created:
            same_bytes(created[-1])
        try:
            service.validate(invalid[0])
        except ValidationError as error:
            same_bytes(error.errors)

    check()
    assert created
    page = service.list()
    same_bytes(page.results)
    same_bytes(page.envelope("https://example.com/x?limit=5"))


@FAST
@given(json_values(), st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=8))
def test_free_form_values_and_every_float_encode_identically(value: Any, floats: list[float]) -> None:
    same_bytes(value)
    same_bytes({"floats": floats, "nested": [{"f": f} for f in floats]})


@pytest.mark.parametrize(
    "value",
    [1e-05, -2.5e-07, 1e-10, 9.99e-05, 1e16, 2**64, -(2**63) - 1, {"k": "1e-5"}, ["0.00001"], "x\x00\u2028\U0001f600"],
)
def test_values_orjson_writes_differently_fall_back(value: Any) -> None:
    same_bytes(value)
    same_bytes({"v": value, "w": [value]})


@pytest.mark.parametrize(
    "value",
    [
        {"name": ["Not a valid string: '\udc80'."]},
        {"detail": "caf\u00e9 \ud83d\ude00 \ud800", "n": [1, 2.5, None, True]},
        ["\udfff", {"\ud800key": "v"}, float("nan")],
    ],
    ids=["error-body", "mixed", "key-and-nan"],
)
def test_a_lone_surrogate_is_escaped_identically_on_both_paths(value: Any) -> None:
    # UTF-8 cannot carry a lone surrogate: the whole document is then ASCII, \udXXX escaped,
    # exactly as json.dumps(..., ensure_ascii=True) writes it (an error body may echo one).
    reference = json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("NaN", "null").encode("ascii")
    assert wire.dumps_stdlib(value) == reference
    assert wire.dumps(value) == reference
    assert b"\\ud" in reference and reference.isascii()
    assert json.loads(reference) == json.loads(json.dumps(value, ensure_ascii=True).replace("NaN", "null"))


@given(
    st.text(alphabet=st.characters(exclude_categories=())) | st.text(alphabet="a\u00e9\ud800\udfff\U0001f600"),
    json_values(),
)
@FAST
def test_text_with_or_without_surrogates_encodes_identically(text: str, value: Any) -> None:
    same_bytes({"text": text, "value": value, text[:5]: [text]})


def test_what_the_standard_library_refuses_is_refused() -> None:
    with pytest.raises(TypeError):
        wire.dumps({"when": object()})
    import datetime

    with pytest.raises(TypeError):
        wire.dumps([datetime.datetime(2024, 1, 1)])


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1, 1, 1),
        timezones=st.one_of(
            st.just(UTC),
            st.builds(timezone, st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23))),
        ),
    )
)
def test_datetimes_render_as_isoformat_writes_them(value: datetime) -> None:
    """``iso_z`` takes a faster path for UTC datetimes; every datetime renders as ``isoformat()``
    writes it, with ``Z`` for UTC (offsets with seconds included: the fast path must not take them)."""
    text = value.isoformat()
    expected = text[:-6] + "Z" if text.endswith("+00:00") else text
    assert wire.iso_z(value) == expected
