"""Properties of translation over every ordered pair of metric dialects, with the project's strategies.

One test per pair draws a source (``payloads(resource)`` and ``metric_definitions(resource)``) and checks:

1. Every valid source translates to a payload the target's own service accepts, or to a refusal.
2. No part of the meaning changes without the report naming it (source and result meanings are
   compared independently of the report).
3. A round trip A -> B -> A gives back every field the A -> B report called exact.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.meaning import Reading, TranslationError, aspects, codec, get_path, read
from metricscore.testing.clock import FakeClock
from metricscore.testing.strategies import metric_definitions, payloads
from metricscore.translation import Status, Translation, translate

DIALECTS = ("posthog.group_usage_metrics", "sequence.usage_metrics", "statsig.metrics")
PAIRS = list(itertools.permutations(DIALECTS, 2))
BOUNDED = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sources(resource: str) -> st.SearchStrategy[dict[str, Any]]:
    """The project's payloads, and definitions shaped as teams write them (fewer refusals)."""
    return st.one_of(payloads(resource), metric_definitions(resource))


def create(resource: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Create ``payload`` through the target's own service on a fresh store (full validation)."""
    store = mc.open_store("memory://", clock=FakeClock())
    services = {
        "posthog.group_usage_metrics": lambda: store.posthog.group_usage_metrics(project_id=1, group_type_index=0),
        "sequence.usage_metrics": lambda: store.sequence.usage_metrics(account_id="acct"),
        "statsig.metrics": lambda: store.statsig.metrics(project_id="p"),
    }
    created: dict[str, Any] = services[resource]().create(payload)
    return created


def attempt(payload: Any, source: str, target: str) -> Translation | None:
    """The translation, or None after checking that a refusal is a clear one."""
    try:
        return translate(payload, source, target)
    except TranslationError as error:
        assert error.code == "untranslatable", error
        assert str(error).strip()
        return None


@pytest.mark.parametrize(("source", "target"), PAIRS)
@BOUNDED
@given(data=st.data())
def test_translation_properties(source: str, target: str, data: st.DataObject) -> None:
    """One drawn source, the three properties (one test per pair: the translation is computed once)."""
    payload = data.draw(sources(source))
    translation = attempt(payload, source, target)
    if translation is None:
        return
    reading = read(source, payload)
    check_valid_target_and_complete_report(reading, payload, target, translation)
    check_every_change_is_named(reading, target, translation)
    check_round_trip(reading, source, target, translation)


def check_valid_target_and_complete_report(
    reading: Reading, payload: dict[str, Any], target: str, translation: Translation
) -> None:
    """The target's own service accepts the payload; every sent field has exactly one outcome."""
    create(target, translation.payload)
    sent = {path for path in (*reading.fields, *reading.dropped) if path[0] in payload}
    paths = [item.path for item in translation.report.fields]
    assert len(paths) == len(set(paths)) and set(paths) == sent
    assert set(payload) & set(reading.payload) <= {item.path[0] for item in translation.report.fields}
    for item in translation.report.fields:
        assert (item.status is Status.EXACT) == (item.detail == ""), item


def check_every_change_is_named(reading: Reading, target: str, translation: Translation) -> None:
    """Source and result meanings, compared independently of the report: every aspect that differs
    is named by an implied change or by a non-exact field that stated it; exact fields hold."""
    before, after = aspects(reading.meaning), aspects(read(target, translation.payload).meaning)
    report = translation.report
    named = {item.aspect for item in report.implied}
    for item in report.fields:
        if item.status is not Status.EXACT and item.path in reading.fields:
            named.update(c.aspect for c in reading.fields[item.path])
    for aspect in before.keys() | after.keys():
        if before.get(aspect) != after.get(aspect):
            assert aspect in named, (aspect, before.get(aspect), after.get(aspect), report.lines())
    for item in report.fields:
        if item.status is Status.EXACT:
            assert all(c.holds_in(after) for c in reading.fields[item.path]), item


def check_round_trip(original: Reading, source: str, target: str, there: Translation) -> None:
    """A -> B -> A gives back every field A -> B called exact: its meaning, and a scalar's value as
    the source dialect spells it (Statsig ``=`` comes back as ``in``, a count event without ``type``)."""
    back = attempt(there.payload, target, source)
    if back is None:
        return
    returned = read(source, back.payload)
    spelled = read(source, codec(source).write(original.meaning).payload).payload
    after = aspects(returned.meaning)
    for item in there.report.fields:
        if item.status is not Status.EXACT:
            continue
        path = item.path
        assert all(c.holds_in(after) for c in original.fields[path]), path
        expected = _at(spelled, path)
        if not isinstance(expected, (dict, list)):  # a container's items are fields of their own
            assert _at(returned.payload, path) == expected, (path, back.payload, spelled)


def _at(payload: Any, path: Any) -> Any:
    try:
        return get_path(payload, path)
    except KeyError:
        return KeyError
