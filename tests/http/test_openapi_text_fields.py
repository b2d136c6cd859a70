"""Every text field of every request body is documented exactly as the server reads it.

Found: the document was stricter than the server in two ways. PostHog's text fields take a JSON
number as its text (DRF's CharField: ``{"name": 5}`` is the name ``"5"``), but were documented
as strings only; and every trimmed field's ``maxLength`` counted the value as sent, while the
server counts it after trimming (a name of 400 characters between spaces was refused by the
document, accepted by the server). Generated clients and fuzzers trust the document, so each
value below must be allowed by the document exactly when the server accepts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import metricscore as mc

pytest.importorskip("apispec", reason="needs the server extra: pip install 'metricscore[server]'")
validator = pytest.importorskip(
    "openapi_schema_validator", reason="needs the dev extra: pip install 'metricscore[dev]'"
)

from metricscore.dialect import dialect  # noqa: E402
from metricscore.errors import ValidationError  # noqa: E402
from metricscore.http.core import App  # noqa: E402
from metricscore.http.testing import call  # noqa: E402
from metricscore.validation import MAX_DOUBLE_DIGITS, List, String, load  # noqa: E402

#: Every character ``str.strip`` removes, and a few it keeps that some regex engines call space.
STRIPPED = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
KEPT = "\ufeff\u200b\u180e"


def _probes(field: String) -> Iterator[Any]:
    """Values on every side of what ``field`` accepts: lengths as sent and as trimmed, blanks,
    NUL, and numbers whose text is just short or just long enough."""
    longest = field.max_length or 50
    shortest = max(field.min_length or 1, 1)
    yield from (None, True, "", "a", "ab", " a ", "a\x00", "\x00", STRIPPED, STRIPPED + "a" + STRIPPED, KEPT)
    yield from (c for c in STRIPPED + KEPT)
    for length in {shortest - 1, shortest, longest, longest + 1}:
        yield "x" * length
        yield STRIPPED + "x" * length + STRIPPED  # longer as sent than as trimmed
        yield "x" + " " * max(length - 2, 0) + "x"  # spaces inside count
    yield from (0, 5, -5, 1.5, -0.0, 1e300, -1.7976931348623157e308, 5e-324)
    for digits in {1, longest - 1, longest, longest + 1}:
        # integers past a double's range are not interoperable JSON (RFC 8259): not documented
        if 1 <= digits <= MAX_DOUBLE_DIGITS:
            yield 10**digits - 1
            yield -(10**digits - 1)


def _text_fields() -> Iterator[tuple[str, Any, str, String, bool]]:
    """(component, schema, wire name, the String, whether it is a list's item) of every body."""
    for name in ("posthog", "sequence", "statsig"):
        for resource in dialect(name).resources:
            schemas = [(resource.title + "Input", resource.create_schema)]
            if resource.update_schema is not None:
                schemas.append((resource.title + "UpdateInput", resource.update_schema))
            for component, schema in schemas:
                for field_name, field in schema.load_fields.items():
                    key = field.data_key or field_name
                    if isinstance(field, String):
                        yield component, schema, key, field, False
                    elif isinstance(field, List) and isinstance(field.inner, String):
                        yield component, schema, key, field.inner, True


FIELDS = list(_text_fields())


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    document = call(App(mc.open_store("memory://")), "GET", "/openapi.json").json()
    return dict(document["components"]["schemas"])


def test_the_fields_checked_include_the_ones_found_wrong() -> None:
    # the walk reaches the fields of the finding (it would pass vacuously on an empty list)
    found = {(component, key) for component, _, key, _, _ in FIELDS}
    assert {("PostHogAccountInput", "name"), ("PostHogGroupUsageMetricInput", "math_property")} <= found
    assert any(field.coerce_numbers for *_, field, _ in FIELDS)
    assert any(field.trim and field.max_length for *_, field, _ in FIELDS)


@pytest.mark.parametrize(
    ("component", "schema", "key", "field", "item"),
    FIELDS,
    ids=[f"{component}.{key}" for component, _, key, _, _ in FIELDS],
)
def test_a_text_field_is_documented_as_the_server_reads_it(
    components: dict[str, Any], component: str, schema: Any, key: str, field: String, item: bool
) -> None:
    documented = components[component]["properties"][key]
    check = validator.OAS30Validator({**documented, "components": components})
    drift = []
    for probe in _probes(field):
        value = [probe] if item else probe
        try:
            load(schema, {key: value}, partial=True)
            accepted = True
        except ValidationError as error:
            accepted = key not in error.fields
        if check.is_valid(value) != accepted:
            drift.append((probe if not isinstance(probe, str) or len(probe) < 40 else f"{probe[:40]!r}...", accepted))
    assert not drift, f"{component}.{key}: (value, server accepts) where the document disagrees: {drift}"
