"""The compatibility matrix of docs/translation.md, rendered by running the translations themselves.

Every cell comes from :func:`~metricscore.translation.translate` on a small sample definition, so
the documentation cannot drift from the behaviour: a test compares the committed document with
:func:`render`. Regenerate the generated part of the document with::

    python -m metricscore.translation.matrix --write docs/translation.md
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..meaning import TranslationError, describe, meaning_of
from .translator import CONTEXT_ASPECTS, ImpliedChange, Status, Translation, translate

__all__ = ["BEGIN", "END", "SAMPLES", "main", "render", "replace_generated"]

BEGIN = "<!-- BEGIN GENERATED: python -m metricscore.translation.matrix --write docs/translation.md -->"
END = "<!-- END GENERATED -->"
POSTHOG, SEQUENCE, STATSIG = "posthog.group_usage_metrics", "sequence.usage_metrics", "statsig.metrics"
DIALECTS = (POSTHOG, SEQUENCE, STATSIG)
TITLES = {POSTHOG: "PostHog", SEQUENCE: "Sequence", STATSIG: "Statsig"}


def _statsig(kind: str, event: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": "Checkout", "type": kind, "unitTypes": ["userID"],
                               "metricEvents": [event or {"name": "checkout"}]}  # fmt: skip
    payload.update(extra)
    return payload


def _sequence(aggregation: str, **extra: Any) -> dict[str, Any]:
    payload = {"name": "Checkout", "metricType": "SIMPLE", "eventType": "checkout", "aggregationType": aggregation}
    payload.update(extra)
    return payload


def _posthog(math: str = "count", **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": "Checkout", "math": math, "filters": {"events": [{"id": "checkout"}]}}
    if math == "sum":
        payload["math_property"] = "price"
    payload.update(extra)
    return payload


#: (label, source resource, sample payload): one row of the matrix each.
SAMPLES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("`event_count_custom`", STATSIG, _statsig("event_count_custom")),
    ("`event_count_custom`, events `count_distinct` of `metadataKey`", STATSIG,
     _statsig("event_count_custom", {"name": "checkout", "type": "count_distinct", "metadataKey": "cart"})),
    ("`event_user`", STATSIG, _statsig("event_user", {"name": "checkout", "criteria": [
        {"type": "metadata", "column": "plan", "condition": "in", "values": ["pro"]}]})),
    ("`sum` of the event's value", STATSIG, _statsig("sum", {"name": "checkout", "type": "value"})),
    ("`sum` of `metadata[metadataKey]`", STATSIG,
     _statsig("sum", {"name": "checkout", "type": "metadata", "metadataKey": "price"})),
    ("`mean`", STATSIG, _statsig("mean", {"name": "checkout", "type": "metadata", "metadataKey": "price"})),
    ("`ratio`", STATSIG, _statsig("ratio")),
    ("`funnel`", STATSIG, _statsig("funnel", funnelCountDistinct="users",
                                   funnelEventList=[{"name": "a", "type": "event_user"}] * 2)),
    ("`composite`", STATSIG, _statsig("composite")),
    ("`undefined`", STATSIG, _statsig("undefined")),
    ("`user_warehouse`", STATSIG, _statsig("user_warehouse")),
    ("`COUNT`", SEQUENCE, _sequence("COUNT")),
    ("`SUM`", SEQUENCE, _sequence("SUM", aggregationProperty="price")),
    ("`UNIQUE`", SEQUENCE, _sequence("UNIQUE", aggregationProperty="cart")),
    ("`GROUPED` `SUM`", SEQUENCE, _sequence("SUM", aggregationProperty="price", metricType="GROUPED",
                                            groupingProperty="country")),
    ("`count`", POSTHOG, _posthog()),
    ("`sum`", POSTHOG, _posthog("sum")),
    ("`count` of all events", POSTHOG, {"name": "Everything", "filters": {}}),
    ("`sum`, `data_warehouse` source", POSTHOG, _posthog("sum", filters={
        "source": "data_warehouse", "table_name": "payments", "timestamp_field": "paid_at", "key_field": "org"})),
)  # fmt: skip


def _target_kind(resource: str, payload: Mapping[str, Any]) -> str:
    if resource == STATSIG:
        kinds = {event.get("type") for event in payload.get("metricEvents", [])}
        return f"`{payload['type']}`" + (", events `count_distinct`" if "count_distinct" in kinds else "")
    if resource == SEQUENCE:
        return f"`{payload['aggregationType']}`" + (" `GROUPED`" if payload.get("metricType") == "GROUPED" else "")
    return f"`{payload['math']}`" + (" (`data_warehouse`)" if payload["filters"].get("source") else "")


def _attempt(payload: Any, source: str, target: str) -> Translation | str:
    try:
        return translate(payload, source, target)
    except TranslationError as error:
        return str(error)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _aggregations() -> list[str]:
    lines = ["## Aggregations", "", "What each source kind becomes; *refused* when the target cannot express it.", ""]
    lines.append("| source | " + " | ".join(f"→ {TITLES[d]}" for d in DIALECTS) + " |")
    lines.append("|---" * (len(DIALECTS) + 1) + "|")
    for label, source, payload in SAMPLES:
        cells = []
        for target in DIALECTS:
            if target == source:
                cells.append("·")
                continue
            outcome = _attempt(payload, source, target)
            cells.append(_target_kind(target, outcome.payload) if isinstance(outcome, Translation) else "*refused*")
        lines.append(f"| {TITLES[source]} {_cell(label)} | " + " | ".join(cells) + " |")
    return lines


def _losses() -> list[str]:
    lines = ["## What each translation loses", "",
             "Every item that is not exact, for the sample definitions above (one event, no filter). "
             "*Context* items change how the target evaluates (unit, window, supersede rule); "
             "*source default* items are facts the source dialect assumed without a field saying them; "
             "`strict=True` reports both but refuses neither.", ""]  # fmt: skip
    for label, source, payload in SAMPLES:
        lines.append(f"### {TITLES[source]} {label}")
        lines.append("")
        for target in DIALECTS:
            if target == source:
                continue
            outcome = _attempt(payload, source, target)
            if isinstance(outcome, str):
                lines.append(f"- **→ {TITLES[target]}**: refused. {_cell(outcome)}")
                continue
            report = outcome.report
            lines.append(f"- **→ {TITLES[target]}** {_target_kind(target, outcome.payload)}:")
            for item in report.fields:
                if item.status is not Status.EXACT:
                    tag = " (context)" if item.context_only else ""
                    lines.append(f"  - `{item.field}` {item.status.value}{tag}: {_cell(item.detail)}")
            for change in report.implied:
                tag = _implied_tag(change)
                lines.append(f"  - *{change.aspect}* {change.status.value}{tag}: {_cell(change.detail)}")
        lines.append("")
    return lines


def _implied_tag(change: ImpliedChange) -> str:
    if change.aspect in CONTEXT_ASPECTS:
        return " (context)"
    if change.filled:
        return " (target default)"
    return " (source default)" if not change.is_loss else ""


STATSIG_CONDITIONS = ("in", "=", "not_in", "contains", "not_contains", "starts_with", "ends_with",
                      ">", ">=", "<", "<=", "non_null", "is_null", "is_true", "is_false", "sql_filter",
                      "after_exposure")  # fmt: skip
POSTHOG_OPERATORS = ("exact", "is_not", "icontains", "not_icontains", "gt", "gte", "lt", "lte",
                     "is_set", "is_not_set", "regex")  # fmt: skip


def _statsig_criterion(condition: str) -> dict[str, Any]:
    criterion: dict[str, Any] = {"type": "metadata", "column": "plan", "condition": condition}
    if condition not in ("non_null", "is_null", "is_true", "is_false"):
        criterion["values"] = ["10"]
    return _statsig("event_count_custom", {"name": "checkout", "criteria": [criterion]})


def _posthog_filter(operator: str) -> dict[str, Any]:
    prop: dict[str, Any] = {"key": "plan", "operator": operator, "type": "event"}
    if operator not in ("is_set", "is_not_set"):
        prop["value"] = "10"
    return _posthog(filters={"events": [{"id": "checkout", "properties": [prop]}]})


def _filter_cell(outcome: Translation | str, target: str, path: tuple[Any, ...]) -> str:
    if isinstance(outcome, str):
        return "*refused*"
    item = next((i for i in outcome.report.fields if i.path == path), None)
    if item is None:
        return "?"
    payload = outcome.payload
    if target == STATSIG:
        criteria = payload["metricEvents"][0].get("criteria", [])
        written = ", ".join(f"`{c['condition']}`" + (" + `nullVacuousOverride`" if c.get("nullVacuousOverride") else "")
                            for c in criteria)  # fmt: skip
    elif target == SEQUENCE:
        written = "`propertyFilters`" + ("" if payload.get("caseSensitive", True) else " (`caseSensitive: false`)")
    else:
        props = [*payload["filters"].get("properties", []), *payload["filters"]["events"][0].get("properties", [])]
        written = ", ".join(f"`{p['operator']}`" for p in props)
    if item.status is Status.EXACT:
        return written
    if item.status is Status.DROPPED:
        return "left out"
    return f"{written} (approximated)"


def _filters() -> list[str]:
    lines = ["## Filters", "",
             "How one filter on an event property is written by each target; *left out* filters widen "
             "the events read and are reported as dropped.", "",
             "| Statsig criterion `condition` | → PostHog operator | → Sequence |", "|---|---|---|"]  # fmt: skip
    for condition in STATSIG_CONDITIONS:
        source = _statsig_criterion(condition)
        path: tuple[Any, ...] = ("metricEvents", 0, "criteria", 0)
        cells = [_filter_cell(_attempt(source, STATSIG, target), target, path) for target in (POSTHOG, SEQUENCE)]
        lines.append(f"| `{_cell(condition)}` | " + " | ".join(cells) + " |")
    lines += ["", "| PostHog property `operator` | → Statsig condition | → Sequence |", "|---|---|---|"]
    for operator in POSTHOG_OPERATORS:
        source = _posthog_filter(operator)
        path = ("filters", "events", 0, "properties", 0)
        cells = [_filter_cell(_attempt(source, POSTHOG, target), target, path) for target in (STATSIG, SEQUENCE)]
        lines.append(f"| `{operator}` | " + " | ".join(cells) + " |")
    lines += ["", "Sequence `propertyFilters` (a list of accepted values per property) become Statsig `in` criteria "
              "and PostHog `exact` filters; `caseSensitive: false` has no counterpart in either.", ""]  # fmt: skip
    return lines


def _context() -> list[str]:
    lines = ["## Evaluation context", "", "What each dialect implies for every definition.", "",
             "| dialect | unit | window | supersede | sums |", "|---|---|---|---|---|"]  # fmt: skip
    samples = {SEQUENCE: _sequence("SUM", aggregationProperty="price"), POSTHOG: _posthog("sum"),
               STATSIG: _statsig("sum", {"name": "checkout", "type": "value"})}  # fmt: skip
    for dialect in DIALECTS:
        meaning = meaning_of(dialect, samples[dialect])
        cells = [describe(meaning.unit), describe(meaning.window), describe(meaning.events.supersede),
                 describe(meaning.aggregation.arithmetic)]  # fmt: skip
        lines.append(f"| {TITLES[dialect]} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def render() -> str:
    """The generated part of docs/translation.md, markers included."""
    lines = [BEGIN, "", *_context(), *_aggregations(), "", *_filters(), *_losses(), END]
    return "\n".join(lines) + "\n"


def replace_generated(document: str, generated: str) -> str:
    """``document`` with the text between the markers (included) replaced by ``generated``."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError("The document has no generated section (markers missing).")
    return document[:start] + generated + document[end + len(END) + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metricscore.translation.matrix", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", metavar="FILE", help="replace the generated section of FILE")
    action.add_argument("--check", metavar="FILE", help="exit 1 when FILE's generated section is stale")
    args = parser.parse_args(argv)
    generated = render()
    if not args.write and not args.check:
        sys.stdout.write(generated)
        return 0
    path = Path(args.write or args.check)
    try:
        document = path.read_text(encoding="utf-8")
        updated = replace_generated(document, generated)
    except (OSError, ValueError) as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    if args.check:
        if updated != document:
            print(f"{path}: the generated section is stale; run with --write {path}", file=sys.stderr)
            return 1
        return 0
    path.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
