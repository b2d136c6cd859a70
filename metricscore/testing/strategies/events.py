"""Hypothesis strategies for events, drawn to exercise a metric's meaning.

:func:`events_for` reads the event names, fields and condition values a
:class:`~metricscore.meaning.Meaning` mentions and draws events around them: matching and
near-miss names, values in other cases, numeric and non-numeric texts, missing and null
properties, repeated deduplication keys, timestamps on and beside window boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ...meaning import Condition, EventField, EventSource, FieldKind, Meaning

__all__ = ["EDGE_TEXTS", "NUMBER_TEXTS", "event_lists", "events_for", "field_key"]

#: Texts on both sides of the numeric reading (metricscore.evaluation.plan.NUMBER_PATTERN).
NUMBER_TEXTS = (
    "0",
    "1",
    "-2.5",
    "12",
    "0.1",
    "0.2",
    "007",
    "+3",
    "999999999999999999.999999999999",
    "1e3",
    "1.",
    ".5",
    " 1",
    "",
    "abc",
    "true",
    "1.0000000000001",
    "-0",
    "+0",
    "-0.000000000000",
    "0.000000000001",
    "-999999999999999999.999999999999",
    "9999999999999999999",
    "1.0000000000000",
    "1e308",
    "1E3",
    "1_000",
    " 1 ",
    "1\t",
    "+.5",
    "-",
    ".",
    "NaN",
    "Infinity",
    "-Infinity",
    "0x10",
    "\uff11",  # fullwidth 1
    "\u0663",  # Arabic-Indic 3
)
#: Texts at the edges of case folding, ordering and length: only A-Z fold (plan.fold_ascii).
EDGE_TEXTS = (
    "\u0130",  # capital I with dot above: lower() gives two characters in Python
    "i\u0307",
    "\u0131",  # dotless i
    "\u00df",  # ß: upper() gives "SS"
    "\u1e9e",  # ẞ
    "SS",
    "\u212a",  # Kelvin sign
    "\u01c5",  # ǅ (title case)
    "\ufb00",  # ﬀ
    "e\u0301",  # e + combining acute
    "\u00e9",
    "a\tb",
    "\x01",
    "\x7f",
    "\u2028",
    "\ufeff",
    "\U0001f600",
    "\U0010ffff",
    " ",
    "a ",
    "'",
    '"',
    "\\",
    "%_",
    "null",
    "TRUE",
    "x" * 300,
)
_SCALARS: tuple[Any, ...] = (
    True,
    False,
    3,
    -7,
    0.1,
    1.5,
    Decimal("2.25"),
    10**19,
    None,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    1e-7,
    123456789.12345679,
    2**63,
    -(2**63) - 1,
    10**18 - 1,
    Decimal("1E+2"),
    Decimal("-0.000"),
    Decimal("1E-12"),
    Decimal("1E-13"),
)
BASE = datetime(2026, 1, 1, tzinfo=UTC)
#: Instants far from any window: they must stay out of it on every engine.
_FAR = (
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(26, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)
#: How an event's timestamp is written: an aware datetime, or ISO 8601 text at these UTC offsets.
_OFFSETS = (None, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), timezone(timedelta(minutes=345)))
_SHIFTS = tuple(
    timedelta(microseconds=us) for us in (0, -1, 1, -499, -500, -501, 500, -1000, -999_999, 86_400_000_000 - 1)
)


def field_key(ref: EventField) -> tuple[str, str]:
    """Where an event field lives on an event: ``("property", key)``, ``("value", "")`` or
    ``("customer", "")`` (see metricscore.evaluation.compile)."""
    if ref.kind is FieldKind.VALUE:
        return ("value", "")
    if ref.kind is FieldKind.USER:
        return ("customer", "") if ref.name == "userID" else ("property", f"user.{ref.name}")
    if ref.kind is FieldKind.USER_CUSTOM:
        return ("property", f"user.custom.{ref.name}")
    return ("property", ref.name)


def _walk(value: Any, names: set[str], refs: set[EventField], texts: set[str]) -> None:
    if isinstance(value, EventSource) and value.name is not None:
        names.add(value.name)
    if isinstance(value, EventField):
        refs.add(value)
    if isinstance(value, Condition):
        texts.update(value.values)
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            _walk(getattr(value, f.name), names, refs, texts)
    elif isinstance(value, (tuple, list, frozenset)):
        for item in value:
            _walk(item, names, refs, texts)


def _variants(text: str) -> list[str]:
    return [text, text.swapcase(), text.upper(), f"x{text}", f"{text}x", text[:-1]]


@st.composite
def event_lists(
    draw: st.DrawFn,
    names: Sequence[str],
    refs: Sequence[tuple[str, str]],
    texts: Sequence[str],
    anchors: Sequence[datetime] = (BASE,),
    max_size: int = 12,
) -> list[dict[str, Any]]:
    """Events (as :meth:`EventLog.append` takes them) using ``names``, fields ``refs`` and ``texts``."""
    pool = sorted({v for t in texts for v in _variants(t)} | set(NUMBER_TEXTS))
    value = st.sampled_from(pool) | st.sampled_from(_SCALARS) | st.sampled_from(EDGE_TEXTS)
    count = draw(st.integers(0, max_size))
    events = []
    for index in range(count):
        if draw(st.integers(0, 15)):
            anchor = draw(st.sampled_from(list(anchors)))
            shift = draw(st.sampled_from(_SHIFTS) | st.builds(timedelta, seconds=st.integers(-3 * 86400, 3 * 86400)))
            moment = anchor + shift
        else:
            moment = draw(st.sampled_from(_FAR))
        offset = draw(st.sampled_from(_OFFSETS))
        event: dict[str, Any] = {
            "id": f"e{draw(st.integers(0, 99)):02d}-{index}",
            "name": draw(st.sampled_from([*names, "other", *(n.swapcase() for n in names)])),
            "timestamp": moment if offset is None or moment in _FAR else moment.astimezone(offset).isoformat(),
            "customer": draw(st.sampled_from(["a", "b", "A", " a", "a ", None])),
            "dedupe_key": draw(st.sampled_from([None, None, "k1", "k2"])),
        }
        properties: dict[str, Any] = {}
        for kind, key in refs:
            if not draw(st.integers(0, 3)):
                continue  # missing
            if kind == "property":
                properties[key] = draw(value)
            elif kind == "value":
                event["value"] = draw(value)
            else:
                event["customer"] = draw(st.sampled_from(["a", "b", *texts[:3]]))
        properties["$group_0"] = draw(st.sampled_from(["acme", "ACME", "other", None]))
        properties["user.customIDs.stableID"] = draw(st.sampled_from(["s1", "s2", None]))
        event["properties"] = properties
        events.append(event)
    return events


def events_for(
    meaning: Meaning, anchors: Sequence[datetime] = (BASE,), max_size: int = 12
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Events that exercise ``meaning`` around the instants ``anchors`` (window boundaries)."""
    names: set[str] = set()
    refs: set[EventField] = set()
    texts: set[str] = set()
    _walk(meaning, names, refs, texts)
    keys = sorted({field_key(r) for r in refs if r.kind is not FieldKind.COLUMN})
    return event_lists(sorted(names), keys, sorted(texts), anchors, max_size)
