"""Properties of translation over every ordered pair of metric dialects, with the project's strategies.

One test per pair draws a source (``payloads(resource)`` and ``metric_definitions(resource)``) and checks:

1. Every valid source translates to a payload the target's own service accepts, or to a refusal.
2. No part of the meaning changes without the report naming it (source and result meanings are
   compared independently of the report).
3. A round trip A -> B -> A gives back every field the A -> B report called exact.

Two more per pair: a key the source dialect does not know, injected at any level it reads, is
reported dropped (strict refuses it); and over the same generated events the target's meaning gives
the source's value (context aside) unless the report holds a loss that can change a value.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.evaluation.compile import measures_for, period_plan
from metricscore.evaluation.reference import evaluate_plan
from metricscore.meaning import Meaning, Reading, TranslationError, aspects, codec, get_path, meaning_of, read
from metricscore.testing.clock import FakeClock
from metricscore.testing.strategies import events_for, metric_definitions, payloads
from metricscore.translation import FieldOutcome, ImpliedChange, Status, Translation, translate

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


# -- widened: fields the source does not know, and the value over events ---------------------------

#: Keys no create schema knows, as authors misspell or borrow them (the vendors ignore them all).
UNKNOWN = st.sampled_from(["propertiesToNegate", "metadatakey", "colum", "intervall", "négation", "x" * 300])
JUNK = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.lists(st.text(max_size=3), max_size=2)


@st.composite
def with_unknown_fields(draw: st.DrawFn, resource: str) -> tuple[dict[str, Any], set[tuple[Any, ...]]]:
    """A source with unknown keys at the top level and inside the nested objects its dialect reads
    (Statsig metric events and criteria, PostHog event entries and property filters), and their paths."""
    payload = copy.deepcopy(draw(sources(resource)))
    containers: list[tuple[tuple[Any, ...], dict[str, Any]]] = [((), payload)]
    if resource == "statsig.metrics":
        for index, event in enumerate(payload.get("metricEvents") or []):
            containers.append((("metricEvents", index), event))
            for position, criterion in enumerate(event.get("criteria") or []):
                containers.append((("metricEvents", index, "criteria", position), criterion))
    elif resource == "posthog.group_usage_metrics" and payload["filters"].get("source") != "data_warehouse":
        for index, entry in enumerate(payload["filters"].get("events") or []):
            containers.append((("filters", "events", index), entry))
            for position, prop in enumerate(entry.get("properties") or []):
                if isinstance(prop, dict) and prop.get("key"):
                    containers.append((("filters", "events", index, "properties", position), prop))
    injected: set[tuple[Any, ...]] = set()
    for path, container in draw(st.lists(st.sampled_from(containers), min_size=1, max_size=3, unique_by=id)):
        key = draw(UNKNOWN.filter(lambda k: k not in container))  # noqa: B023 - drawn at once
        container[key] = draw(JUNK)
        injected.add((*path, key))
    return payload, injected


@pytest.mark.parametrize(("source", "target"), PAIRS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fields_the_source_does_not_know_are_reported_dropped(source: str, target: str, data: st.DataObject) -> None:
    """Vendors ignore unknown keys, so a translation must name each one (strict refuses it)."""
    payload, injected = data.draw(with_unknown_fields(source))
    try:
        translation = mc.translate(payload, source=source, target=target)
    except (TranslationError, mc.ValidationError):  # refused, or the junk broke a payload-wide limit
        return
    outcomes = {item.path: item for item in translation.report.fields}
    for path in injected:
        item = outcomes.get(path)
        if item is None:  # inside a PostHog entry or filter read as a whole and dropped with its reason
            assert any(path[: len(p)] == p and o.status is Status.DROPPED for p, o in outcomes.items()), path
            continue
        assert item.status is Status.DROPPED and item in translation.report.losses, item


def _value(meaning: Meaning, events: list[dict[str, Any]]) -> object:
    """The meaning's value over ``events`` in one wide period, for every unit (no context applies)."""
    measures = measures_for(meaning)
    [row] = evaluate_plan(period_plan(meaning, date(2025, 12, 1), date(2026, 2, 1)), events)
    return measures.value(row)


@pytest.mark.parametrize(("source", "target"), PAIRS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_translated_metric_gives_the_same_value_or_the_report_says_why(
    source: str, target: str, data: st.DataObject
) -> None:
    """The strongest check: over the same events, the target's meaning (as the target's own
    evaluation reads it) gives the source's value, the context (unit, window, supersede rule)
    being the source's; when it does not, the report holds a loss that strict would refuse."""
    payload = data.draw(metric_definitions(source))  # named events and real filters: few refusals
    translation = attempt(payload, source, target)
    if translation is None:
        return
    before, after = meaning_of(source, payload), meaning_of(target, translation.payload)
    if before.events.table is not None:
        return  # a warehouse table is not evaluated over events
    after = dataclasses.replace(after, events=dataclasses.replace(after.events, supersede=before.events.supersede))
    events = data.draw(events_for(data.draw(st.sampled_from([before, after]))))
    try:
        expected = _value(before, events)
    except mc.ValidationError:  # a property name no engine can spell: not evaluated anywhere
        return
    if _value(after, events) != expected:
        assert any(_changes_a_value(item) for item in translation.report.losses), translation.report.lines()


def _changes_a_value(item: FieldOutcome | ImpliedChange) -> bool:
    """Can this loss explain another value? Not a display fact, nor a field dropped on reading (the
    source's own meaning lacks it too, so it cannot tell the two meanings apart)."""
    named = item.aspects if isinstance(item, FieldOutcome) else (item.aspect,)
    return any(not aspect.startswith("display.") for aspect in named)
