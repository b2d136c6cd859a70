"""Properties of translation over every ordered pair of metric dialects, with the project's strategies.

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
from metricscore.meaning import Reading, TranslationError, aspects, read
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
def test_valid_sources_translate_to_valid_targets_or_refuse(source: str, target: str, data: st.DataObject) -> None:
    payload = data.draw(sources(source))
    translation = attempt(payload, source, target)
    if translation is None:
        return
    create(target, translation.payload)
    reading = read(source, payload)
    sent = {path for path in (*reading.fields, *reading.dropped) if path[0] in payload}
    assert {item.path for item in translation.report.fields} == sent
    assert set(payload) & set(reading.payload) <= {item.path[0] for item in translation.report.fields}
    for item in translation.report.fields:
        assert (item.status is Status.EXACT) == (item.detail == ""), item


@pytest.mark.parametrize(("source", "target"), PAIRS)
@BOUNDED
@given(data=st.data())
def test_no_part_of_the_meaning_changes_without_the_report_naming_it(
    source: str, target: str, data: st.DataObject
) -> None:
    payload = data.draw(sources(source))
    translation = attempt(payload, source, target)
    if translation is None:
        return
    reading = read(source, payload)
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


def _exact_paths(reading: Reading, translation: Translation) -> list[Any]:
    return [item.path for item in translation.report.fields if item.status is Status.EXACT]


@pytest.mark.parametrize(("source", "target"), PAIRS)
@BOUNDED
@given(data=st.data())
def test_a_round_trip_gives_back_every_exact_field(source: str, target: str, data: st.DataObject) -> None:
    payload = data.draw(sources(source))
    there = attempt(payload, source, target)
    if there is None:
        return
    back = attempt(there.payload, target, source)
    if back is None:
        return
    original, returned = read(source, payload), read(source, back.payload)
    after = aspects(returned.meaning)
    for path in _exact_paths(original, there):
        assert all(c.holds_in(after) for c in original.fields[path]), path
        value = original.payload.get(path[0]) if len(path) == 1 else None
        if len(path) == 1 and (value is None or isinstance(value, (str, int, float, bool))):
            assert returned.payload.get(path[0]) == value, (path, back.payload)
