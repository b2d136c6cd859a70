"""Fields a translation used to lose without a word: each is now in the report (and refused by strict)."""

from __future__ import annotations

import pytest

import metricscore as mc
from metricscore.translation import Status

SEQ, STATSIG, POSTHOG = "sequence.usage_metrics", "statsig.metrics", "posthog.group_usage_metrics"

NEGATED = {
    "name": "Paid messages",
    "metricType": "SIMPLE",
    "eventType": "message_sent",
    "aggregationType": "COUNT",
    "propertyFilters": {"plan": ["free"]},
    "propertiesToNegate": ["plan"],  # in Sequence's spec; metricscore's Sequence schema has no such field
}


def test_a_field_the_source_does_not_know_is_reported_dropped_not_lost() -> None:
    """Sequence ignores ``propertiesToNegate``: the target's ``in`` filter says the opposite of what the
    author meant, so the field must be named (it used to vanish, even under strict=True)."""
    payload, report = mc.translate(NEGATED, source=SEQ, target=STATSIG)
    assert payload["metricEvents"][0]["criteria"][0]["condition"] == "in"
    outcome = report.outcome("propertiesToNegate")
    assert outcome.status is Status.DROPPED
    assert "ignores it" in outcome.detail
    assert outcome in report.losses
    with pytest.raises(mc.TranslationError) as caught:
        mc.translate(NEGATED, source=SEQ, target=STATSIG, strict=True)
    assert caught.value.code == "lossy_translation"
    assert "propertiesToNegate" in str(caught.value)


def test_a_misspelt_nested_field_is_reported_with_the_field_meant() -> None:
    statsig = {
        "name": "Checkouts",
        "type": "event_count_custom",
        "unitTypes": ["userID"],
        "metricEvents": [
            {
                "name": "checkout",
                "metadatakey": "cart",
                "criteria": [
                    {"type": "metadata", "column": "plan", "condition": "not_in", "values": ["free"],
                     "nullVacuousOveride": True},
                ],
            }
        ],
    }  # fmt: skip
    _, report = mc.translate(statsig, source=STATSIG, target=SEQ)
    typo = report.outcome("metricEvents[0].metadatakey")
    assert typo.status is Status.DROPPED and "did you mean metadataKey?" in typo.detail
    override = report.outcome("metricEvents[0].criteria[0].nullVacuousOveride")
    assert override.status is Status.DROPPED and "nullVacuousOverride" in override.detail
    assert any("metadatakey" in line for line in report.lines(losses_only=True))


def test_server_and_scope_fields_are_no_part_of_a_definition() -> None:
    """A record as the API renders it (``id``, ``createdAt``...) reports what its payload reports."""
    store = mc.open_store("memory://")
    known = {key: value for key, value in NEGATED.items() if key != "propertiesToNegate"}
    created = store.sequence.usage_metrics(account_id="a").create(known)
    from_record = mc.translate(created, source=SEQ, target=STATSIG).report
    assert "id" in created and "createdAt" in created
    assert all(item.status is Status.EXACT or item.aspects for item in from_record.fields), from_record.lines()
    posthog = {"name": "Signups", "group_type_index": 0, "filters": {"events": [{"id": "signup"}]}}
    report = mc.translate(posthog, source=POSTHOG, target=SEQ).report
    assert not report.losses, report.lines()


def test_keys_posthog_does_not_read_in_an_event_entry_or_property_filter_are_reported() -> None:
    """PostHog's usage metrics read an entry's id and properties: a series ``math`` or a filter's
    ``negation`` changes nothing there, and the report says so rather than dropping them unseen."""
    posthog = {
        "name": "Signups",
        "filters": {
            "events": [{"id": "signup", "math": "dau", "properties": [
                {"key": "plan", "value": "pro", "operator": "exact", "type": "event", "negation": True}]}],
            "properties": [{"key": "country", "value": "FR", "label": "Country"}],
        },
    }  # fmt: skip
    _, report = mc.translate(posthog, source=POSTHOG, target=STATSIG)
    for field in ("filters.events[0].math", "filters.events[0].properties[0].negation", "filters.properties[0].label"):
        assert report.outcome(field).status is Status.DROPPED, report.lines()
    assert report.outcome("filters.events[0].properties[0]").status is Status.EXACT


@pytest.mark.parametrize("key", [None, 1, ("a",), 2.5])
def test_a_key_that_is_not_text_is_reported_not_a_crash(key: object) -> None:
    payload = {"name": "Messages", "metricType": "SIMPLE", "eventType": "m", "aggregationType": "COUNT", key: 1}
    _, report = mc.translate(payload, source=SEQ, target=STATSIG)
    [dropped] = [item for item in report.fields if item.path == (key,)]
    assert dropped.status is Status.DROPPED and repr(key) in dropped.field
    assert report.lines(losses_only=True)


def test_an_integer_too_long_to_write_as_text_is_a_dropped_filter_not_a_crash() -> None:
    """A PostHog filter value of 5,000 digits has no text form; it used to raise Python's ValueError."""
    prop = {"key": "amount", "value": 10**5000, "operator": "gt", "type": "event"}
    posthog = {"name": "Big spenders", "filters": {"events": [{"id": "purchase", "properties": [prop]}]}}
    _, report = mc.translate(posthog, source=POSTHOG, target=STATSIG)
    assert report.outcome("filters.events[0].properties[0]").status is Status.DROPPED


LONG_KEY = {"name": "Spend", "type": "sum", "unitTypes": ["userID"],
            "metricEvents": [{"name": "purchase", "type": "metadata", "metadataKey": "k" * 300}]}  # fmt: skip
BLANK_EVENT = {"name": "Everything", "filters": {"events": [{"id": ""}]}}
MANY_VALUES = {"name": "Plans", "filters": {"events": [{"id": "e", "properties": [
    {"key": "plan", "value": [str(n) for n in range(600)], "operator": "exact", "type": "event"}]}]}}  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "source", "target", "field"),
    [
        (LONG_KEY, STATSIG, POSTHOG, "math_property"),
        (LONG_KEY, STATSIG, SEQ, "aggregationProperty"),
        (BLANK_EVENT, POSTHOG, SEQ, "eventType"),
        (BLANK_EVENT, POSTHOG, STATSIG, "metricEvents.0.name"),
        (MANY_VALUES, POSTHOG, STATSIG, "metricEvents.0.criteria.0.values"),
    ],
)
def test_what_the_target_cannot_hold_is_refused_naming_its_field(
    payload: dict[str, object], source: str, target: str, field: str
) -> None:
    """Lengths and counts the target does not allow are a refusal (``untranslatable``), not a
    ``translation_failed`` bug report."""
    with pytest.raises(mc.TranslationError) as caught:
        mc.translate(payload, source=source, target=target)
    assert caught.value.code == "untranslatable"
    assert f"{target} cannot hold this definition" in str(caught.value) and field in str(caught.value)


def test_values_of_a_presence_test_say_nothing_and_are_no_loss() -> None:
    """A Statsig ``non_null`` criterion may carry ``values``; PostHog's ``is_set`` has none, and the
    report used to call the criterion approximated (strict refused it) though nothing changed."""
    statsig = {"name": "Planned checkouts", "type": "event_count_custom", "unitTypes": ["userID"],
               "metricEvents": [{"name": "checkout", "criteria": [
                   {"type": "metadata", "column": "plan", "condition": "non_null", "values": ["pro"]}]}]}  # fmt: skip
    payload, report = mc.translate(statsig, source=STATSIG, target=POSTHOG, strict=True)
    assert payload["filters"]["properties"] == [{"key": "plan", "operator": "is_set", "type": "event"}]
    assert report.outcome("metricEvents[0].criteria[0]").status is Status.EXACT
    back, _ = mc.translate(payload, source=POSTHOG, target=STATSIG, strict=True)
    assert back["metricEvents"][0]["criteria"] == [{"type": "metadata", "condition": "non_null", "column": "plan"}]


def test_a_statsig_dry_run_flag_is_reported_not_silently_turned_into_a_real_definition() -> None:
    """``dryRun: true`` asks Statsig not to create the metric; the translated payload has no such
    flag, so creating it in the target is no longer a dry run: the report says so."""
    statsig = {"name": "Checkouts", "type": "event_count_custom", "unitTypes": ["userID"],
               "metricEvents": [{"name": "checkout"}], "dryRun": True}  # fmt: skip
    payload, report = mc.translate(statsig, source=STATSIG, target=SEQ)
    assert "dryRun" not in payload
    outcome = report.outcome("dryRun")
    assert outcome.status is Status.DROPPED and "validate without creating" in outcome.detail
    assert outcome in report.losses


class _RaisingText(str):
    """A str whose comparison raises (as a careless subclass may)."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparison")

    __hash__ = str.__hash__


class _NoTruth:
    def __bool__(self) -> bool:
        raise RuntimeError("no truth value")


MESSAGES = {"name": "Messages", "metricType": "SIMPLE", "eventType": "message_sent", "aggregationType": "COUNT"}


@pytest.mark.parametrize("strict", ["no", 1, None, _NoTruth()])
def test_strict_that_is_not_a_boolean_is_a_validation_error_naming_it(strict: object) -> None:
    """A truthy ``"no"`` used to mean strict, and an object without a truth value raised its own error."""
    with pytest.raises(mc.ValidationError) as caught:
        mc.translate(MESSAGES, source=SEQ, target=STATSIG, strict=strict)  # type: ignore[arg-type]
    assert list(caught.value.errors) == ["strict"]


def test_resource_names_given_as_a_str_subclass_are_read_as_plain_text() -> None:
    payload, report = mc.translate(MESSAGES, source=_RaisingText(SEQ), target=_RaisingText(STATSIG))
    assert payload["metricEvents"] == [{"name": "message_sent"}]
    assert type(report.source) is str and report.source == SEQ and type(report.target) is str
    with pytest.raises(mc.TranslationError) as caught:
        mc.translate(MESSAGES, source=SEQ, target=_RaisingText("nope"))
    assert caught.value.code == "unknown_resource"


@pytest.mark.parametrize(
    ("source", "payload"),
    [
        (SEQ, {"name": "Messages", "metricType": "SIMPLE", "eventType": "message_sent", "aggregationType": "COUNT"}),
        (POSTHOG, {"name": "API calls", "filters": {"events": [{"id": "api_call", "type": "events"}]}}),
    ],
)
def test_a_stored_record_translates_as_strictly_as_its_payload(source: str, payload: dict[str, object]) -> None:
    """A stored record spells out its defaults (Sequence ``caseSensitive: true`` without filters,
    PostHog ``math_property: null`` on a count): they say nothing the target loses, so a record
    translates under strict=True exactly as the payload it was created from (it used to be refused)."""
    store = mc.open_store("memory://")
    if source == SEQ:
        record = dict(store.sequence.usage_metrics(account_id="a").create(payload, idempotency_key="k"))  # type: ignore[arg-type]
    else:
        record = dict(store.posthog.group_usage_metrics(project_id=1, group_type_index=0).create(payload))  # type: ignore[arg-type]
    for target in {SEQ, STATSIG, POSTHOG} - {source}:
        from_record, _ = mc.translate(record, source=source, target=target, strict=True)
        from_payload, _ = mc.translate(payload, source=source, target=target, strict=True)
        assert from_record == from_payload
    if source == SEQ:  # a value other than the default, where it cannot apply, is still named
        _, report = mc.translate({**payload, "caseSensitive": False}, source=SEQ, target=STATSIG)
        assert report.outcome("caseSensitive").status is Status.DROPPED
