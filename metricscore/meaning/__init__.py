"""The canonical meaning of a metric definition, free of any vendor's spelling.

A PostHog group usage metric, a Sequence usage metric and a Statsig metric each say, in their own
words, *which events* to read, *what* to compute from them, *per what* and *over which window*.
:class:`Meaning` says it once::

    Meaning
    ├── events: Events          which events (or warehouse rows) are read
    │   ├── sources             alternatives: an event counts when it matches one of them
    │   │   └── EventSource     event name (or any), its own conditions, the value it measures
    │   ├── where               conditions every counted event must also pass
    │   ├── supersede           whether a later event replaces an earlier one with the same id
    │   └── table               a data-warehouse table read instead of events
    ├── aggregation             count, unique values, active units, sum, mean, max, min, latest
    ├── unit                    per customer / per group / per unit id of some id types
    ├── group_by                an event field whose values split the result into groups
    ├── window                  a named period, a trailing number of days, or one value per day
    └── display                 name, description, unit, tags, direction, currency, sparkline

Each field means exactly one thing, so the meaning is what a translation between dialects
compares (:func:`aspects`) and what an evaluator of definitions over events compiles. The
readings behind the fields (how a value becomes text or a number, what a missing property does)
are stated on the classes and follow ``evaluation-semantics.md``:

- **Text form** of an event field, used by every condition: a string as is, a number as JSON
  writes it (``12``, ``2.5``), a boolean as ``true``/``false``. ``null`` and a missing field have
  no text form: the condition's ``missing_passes`` decides.
- **Numeric reading**, used by sum, mean, max, min, latest and by ``gt``/``ge``/``lt``/``le``: a
  JSON number, or a string that is a plain decimal number (``"-2.5"``, ``"12"``, ``"1e3"``);
  booleans, ``null``, missing fields, empty or other text give no number and are skipped.

Each metric dialect maps its *validated* payload to a meaning (:class:`Reading`, which also says
which payload field fed which part of the meaning and which fields have no place in it) and back
(:class:`Writing`). Dialects register their codec under the resource's dotted name; the core
never imports a dialect, it only names the module that registers it (as backends are named).
"""

from __future__ import annotations

from .codecs import (
    Contribution,
    MeaningCodec,
    Path,
    Reading,
    ReadingBuilder,
    Writing,
    WritingBuilder,
    as_dict,
    aspects,
    codec,
    condition_key,
    data_keys_of,
    describe,
    format_path,
    get_path,
    meaning_of,
    merged_conditions,
    read,
    register_codec,
    translatable_resources,
    walk,
    wire_payload,
)
from .model import (
    NUMERIC_AGGREGATIONS,
    NUMERIC_OPS,
    VALUE_AGGREGATIONS,
    Aggregation,
    AggregationKind,
    Arithmetic,
    Condition,
    Direction,
    Display,
    EventField,
    Events,
    EventSource,
    FieldKind,
    Meaning,
    Op,
    Supersede,
    TranslationError,
    Unit,
    UnitKind,
    WarehouseTable,
    Window,
    WindowKind,
    numeric_value,
    text_form,
)

__all__ = [
    "NUMERIC_AGGREGATIONS",
    "NUMERIC_OPS",
    "VALUE_AGGREGATIONS",
    "Aggregation",
    "AggregationKind",
    "Arithmetic",
    "Condition",
    "Contribution",
    "Direction",
    "Display",
    "EventField",
    "EventSource",
    "Events",
    "FieldKind",
    "Meaning",
    "MeaningCodec",
    "Op",
    "Path",
    "Reading",
    "ReadingBuilder",
    "Supersede",
    "TranslationError",
    "Unit",
    "UnitKind",
    "WarehouseTable",
    "Window",
    "WindowKind",
    "Writing",
    "WritingBuilder",
    "as_dict",
    "aspects",
    "codec",
    "condition_key",
    "data_keys_of",
    "describe",
    "format_path",
    "get_path",
    "meaning_of",
    "merged_conditions",
    "numeric_value",
    "read",
    "register_codec",
    "text_form",
    "translatable_resources",
    "walk",
    "wire_payload",
]
