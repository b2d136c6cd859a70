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
from metricscore.validation import MAX_DOUBLE_DIGITS, List, Nested, String, load  # noqa: E402

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


#: Where a text field sits in a body: wire keys, and ``0`` for a list's first item.
Path = tuple[str | int, ...]


def _leaves(schema: Any) -> Iterator[tuple[Path, String]]:
    """Every text field of ``schema``, at any depth (in objects and lists)."""
    for field_name, field in schema.load_fields.items():
        key = field.data_key or field_name
        inner = field.inner if isinstance(field, List) else field
        step: Path = (key, 0) if isinstance(field, List) else (key,)
        if isinstance(inner, String):
            yield step, inner
        elif isinstance(inner, Nested):
            for path, leaf in _leaves(inner.schema):
                yield (*step, *path), leaf


def _text_fields() -> Iterator[tuple[str, Any, Path, String]]:
    """(component, schema, path, the String) of every text field of every request body."""
    for name in ("posthog", "sequence", "statsig"):
        for resource in dialect(name).resources:
            schemas = [(resource.title + "Input", resource.create_schema)]
            if resource.update_schema is not None:
                schemas.append((resource.title + "UpdateInput", resource.update_schema))
            for component, schema in schemas:
                for path, field in _leaves(schema):
                    yield component, schema, path, field


def _body(path: Path, value: Any) -> Any:
    """A body holding ``value`` at ``path``."""
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def _documented(node: Any, path: Path) -> Any:
    """The document's schema of the field at ``path`` below ``node``."""
    for step in path:
        node = node["items"] if isinstance(step, int) else node["properties"][step]
    return node


def _refused(errors: Any, path: Path) -> bool:
    """Whether ``errors`` (the tree of a ValidationError) names the field at ``path``."""
    for step in path:
        if not isinstance(errors, dict) or str(step) not in errors:
            return False
        errors = errors[str(step)]
    return True


FIELDS = list(_text_fields())


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    document = call(App(mc.open_store("memory://")), "GET", "/openapi.json").json()
    return dict(document["components"]["schemas"])


def test_the_fields_checked_include_the_ones_found_wrong() -> None:
    # the walk reaches the fields of the finding (it would pass vacuously on an empty list)
    found = {(component, path) for component, _, path, _ in FIELDS}
    assert {("PostHogAccountInput", ("name",)), ("PostHogGroupUsageMetricInput", ("math_property",))} <= found
    assert ("StatsigMetricInput", ("metricEvents", 0, "name")) in found  # and nested ones
    assert any(field.coerce_numbers for *_, field in FIELDS)
    assert any(field.trim and field.max_length for *_, field in FIELDS)


@pytest.mark.parametrize(
    ("component", "schema", "path", "field"),
    FIELDS,
    ids=[f"{component}.{'.'.join(map(str, path))}" for component, _, path, _ in FIELDS],
)
def test_a_text_field_is_documented_as_the_server_reads_it(
    components: dict[str, Any], component: str, schema: Any, path: Path, field: String
) -> None:
    documented = _documented(components[component], path)
    check = validator.OAS30Validator({**documented, "components": components})
    drift = []
    for probe in _probes(field):
        try:
            load(schema, _body(path, probe), partial=True)
            accepted = True
        except ValidationError as error:
            accepted = not _refused(error.errors, path)
        if check.is_valid(probe) != accepted:
            drift.append((probe if not isinstance(probe, str) or len(probe) < 40 else f"{probe[:40]!r}...", accepted))
    assert not drift, f"{component} {path}: (value, server accepts) where the document disagrees: {drift}"
