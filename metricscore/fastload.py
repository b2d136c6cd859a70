"""A fast path for marshmallow ``Schema.load``, generated from the same declaration.

:func:`fast_loader` reads a schema's fields, their options and validators once and builds a
loader that produces exactly what ``schema.load(data, partial=...)`` returns for a *valid*
payload, without marshmallow's per-field machinery (getter closures, error stores, validator
chains rebuilt per call). It proves nothing about invalid payloads: the moment a value is not
plainly valid (a type it does not expect, a failed check, any exception), it gives up and the
caller runs marshmallow itself, which stays the one place that produces errors. So the fast path
can only ever be faster, never different.

The loader is one generated Python function per schema (a block per field, the field's objects
bound by name; plain strings and lists of them are checked in the function's own text). On its
walk it counts the payload's values as :func:`metricscore.limits.check_payload_size` counts them
and falls back past the cap, so a payload it serves is one that check passes; the caller runs
that check only before marshmallow.

What it understands:

- metricscore's own fields (:mod:`metricscore.validation`) are checked inline when their class
  does not override the loading method; any other field's own ``_deserialize`` is called, as
  marshmallow would call it;
- marshmallow's built-in validators ``Length``, ``Range``, ``OneOf``, ``NoneOf`` and ``Equal``
  are checked inline; any other validator is called as marshmallow calls it (a ``False`` return
  or an exception sends the payload to marshmallow);
- schema hooks (``validates``, ``validates_schema``, ``post_load``) are called as marshmallow
  calls them, in marshmallow's order; a schema with a ``pre_load`` hook gets no fast path.

A schema it cannot mirror exactly (unknown keys not excluded, dotted attributes, a custom
``load``) gets no fast path: :func:`fast_loader` returns ``None``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields as ma_fields
from marshmallow import validate as ma_validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.error_store import ErrorStore

from .jsonvalue import MAX_JSON_DEPTH, string_problem
from .limits import MAX_PAYLOAD_VALUES, count_values

__all__ = ["Fallback", "fast_loader"]

Converter = Callable[[Any], Any]
Loader = Callable[[dict[str, Any], bool | None], dict[str, Any]]

_MISSING = ma.missing


class Fallback(Exception):
    """The fast path cannot vouch for this payload: run marshmallow.

    Raised as a new instance each time (one shared instance would keep growing its traceback).
    """


# -- validators ------------------------------------------------------------------------------------


def _validator_check(validator: Any) -> Converter:
    """A check that returns normally exactly when marshmallow's validator chain would accept."""
    kind = type(validator)
    if kind is ma_validate.Length:
        equal, low, high = validator.equal, validator.min, validator.max

        def length(value: Any) -> Any:
            n = len(value)
            if equal is not None:
                if n != equal:
                    raise Fallback
            elif (low is not None and n < low) or (high is not None and n > high):
                raise Fallback
            return value

        return length
    if kind is ma_validate.Range:
        low, high = validator.min, validator.max
        low_in, high_in = validator.min_inclusive, validator.max_inclusive

        def bounds(value: Any) -> Any:
            if low is not None and (value < low if low_in else value <= low):
                raise Fallback
            if high is not None and (value > high if high_in else value >= high):
                raise Fallback
            return value

        return bounds
    if kind is ma_validate.OneOf:
        choices = validator.choices

        def one_of(value: Any) -> Any:
            if value not in choices:
                raise Fallback
            return value

        return one_of
    if kind is ma_validate.NoneOf:
        iterable = validator.iterable

        def none_of(value: Any) -> Any:
            if value in iterable:
                raise Fallback
            return value

        return none_of
    if kind is ma_validate.Equal:
        comparable = validator.comparable

        def equal_to(value: Any) -> Any:
            if value != comparable:
                raise Fallback
            return value

        return equal_to

    def call(value: Any) -> Any:
        validator(value)  # marshmallow 4 ignores the return value: a validator refuses by raising
        return value

    return call


def _with_validators(field: ma_fields.Field[Any], convert: Converter) -> Converter:
    from .validation import CodedField

    validate_method = type(field)._validate
    if validate_method not in (ma_fields.Field._validate, CodedField._validate):
        field_validate = field._validate

        def custom(value: Any) -> Any:
            out = convert(value)
            field_validate(out)
            return out

        return custom
    checks = [_validator_check(v) for v in field.validators]
    if not checks:
        return convert
    if len(checks) == 1:
        (check,) = checks

        def one(value: Any) -> Any:
            return check(convert(value))

        return one

    def many(value: Any) -> Any:
        out = convert(value)
        for each in checks:
            each(out)
        return out

    return many


# -- fields ----------------------------------------------------------------------------------------


def _string(field: Any) -> Converter:
    coerce, trim = field.coerce_numbers, field.trim
    blank_as_none, allow_blank = field.blank_as_none, field.allow_blank
    max_length, min_length = field.max_length, field.min_length

    def string(value: Any) -> Any:
        if type(value) is not str:
            if coerce and (type(value) is int or type(value) is float):
                value = str(value)
            else:
                raise Fallback
        if (not value.isascii() or "\x00" in value) and string_problem(value):
            raise Fallback
        if trim:
            value = value.strip()
        if not value:
            if blank_as_none:
                return None
            if not allow_blank:
                raise Fallback
        if max_length is not None and len(value) > max_length:
            raise Fallback
        if min_length is not None and len(value) < min_length:
            raise Fallback
        return value

    return string


def _integer(field: Any) -> Converter:
    strict, low, high = field.strict, field.min_value, field.max_value

    def integer(value: Any) -> Any:
        if type(value) is int:
            number = value
        elif not strict and type(value) is float and value.is_integer():
            number = int(value)
        else:  # strings and the rest: marshmallow's field decides
            raise Fallback
        if number < low or number > high:
            raise Fallback
        return number

    return integer


def _float(field: Any) -> Converter:
    low, high = field.min_value, field.max_value

    def number(value: Any) -> Any:
        kind = type(value)
        if kind is not int and kind is not float:
            raise Fallback
        if kind is float and (value != value or value in (float("inf"), float("-inf"))):
            raise Fallback
        if (low is not None and value < low) or (high is not None and value > high):
            raise Fallback
        return value

    return number


def _boolean(field: Any) -> Converter:
    def boolean(value: Any) -> Any:
        if type(value) is not bool:
            raise Fallback
        return value

    return boolean


def _choice(field: Any) -> Converter:
    choices = field.choices

    def choice(value: Any) -> Any:
        if type(value) is not str or value not in choices:
            raise Fallback
        return value

    return choice


def _list(field: Any) -> Converter | None:
    inner = _item(field.inner)
    if inner is None:
        return None
    allow_empty, max_length = field.allow_empty, field.max_length

    def items(value: Any) -> Any:
        if type(value) is not list:
            raise Fallback
        if not value and not allow_empty:
            raise Fallback
        if max_length is not None and len(value) > max_length:
            raise Fallback
        return [inner(item) for item in value]

    return items


def _nested(field: Any) -> Converter:
    load = _schema_loader(field.schema)
    if load is None:
        schema_load = field.schema.load

        def nested_slow(value: Any) -> Any:
            if type(value) is not dict:
                raise Fallback
            return schema_load(value)

        return nested_slow

    def nested(value: Any) -> Any:
        if type(value) is not dict:
            raise Fallback
        return load(value, None)

    return nested


def _json_copy(value: Any, depth: int, room: list[int]) -> Any:
    """A copy of a storable JSON value in one pass (``json_problem`` and ``copy_json`` in one).

    ``room[0]`` is how many more values the payload may hold: each container takes its children
    from it (the value itself was counted by the caller), and running out is a fallback, so the
    walk stops as soon as the payload is past its size cap (:mod:`metricscore.limits`). An
    object's strings, integers, booleans and nulls are checked in its loop, without a call (a
    list's integers, booleans and nulls too).
    """
    kind = type(value)
    if kind is dict:
        if depth >= MAX_JSON_DEPTH:
            raise Fallback
        room[0] -= len(value)
        if room[0] < 0:
            raise Fallback
        copy = {}
        for key, item in value.items():
            if type(key) is not str or "\x00" in key:
                raise Fallback
            if not key.isascii():
                key.encode()  # a lone surrogate raises: string_problem's check, without the call
            kind = type(item)
            if kind is str:
                if "\x00" in item:
                    raise Fallback
                if not item.isascii():
                    item.encode()
                copy[key] = item
            elif kind is int or kind is bool or item is None:
                copy[key] = item
            else:
                copy[key] = _json_copy(item, depth + 1, room)
        return copy
    if kind is list:
        if depth >= MAX_JSON_DEPTH:
            raise Fallback
        room[0] -= len(value)
        if room[0] < 0:
            raise Fallback
        return [
            item if item is None or type(item) is int or type(item) is bool else _json_copy(item, depth + 1, room)
            for item in value
        ]
    if kind is str:
        if "\x00" in value:
            raise Fallback
        if not value.isascii():
            value.encode()
        return value
    if value is None or kind is bool or kind is int:
        return value
    if kind is float and value - value == 0.0:  # finite
        return value
    raise Fallback


def _json_value(field: Any) -> Converter:
    def json_value(value: Any) -> Any:
        return _json_copy(value, 0, [MAX_PAYLOAD_VALUES])  # the payload's cap bounds it anyway

    return json_value


def _json_object(field: Any) -> Converter:
    def json_object(value: Any) -> Any:
        if type(value) is not dict:
            raise Fallback
        return _json_copy(value, 0, [MAX_PAYLOAD_VALUES])

    return json_object


def _inline(field: ma_fields.Field[Any]) -> Converter | None:
    from . import validation as v

    method = type(field)._deserialize
    builders: tuple[tuple[type[Any], Callable[[Any], Converter | None]], ...] = (
        (v.String, _string),
        (v.Integer, _integer),
        (v.Float, _float),
        (v.Boolean, _boolean),
        (v.Choice, _choice),
        (v.List, _list),
        (v.Nested, _nested),
        (v.JSONObject, _json_object),
        (v.JSONValue, _json_value),
    )
    for kind, build in builders:
        if isinstance(field, kind) and method is kind._deserialize:
            return build(field)
    return None


def _plain(field: ma_fields.Field[Any]) -> bool:
    """The field loads through ``Field.deserialize`` unchanged (no field-level hooks), so a missing
    or null value is handled as that method handles it (required, ``load_default``, ``allow_none``)."""
    kind = type(field)
    return (
        kind.deserialize is ma_fields.Field.deserialize
        and kind._validate_missing is ma_fields.Field._validate_missing
        and not field.pre_load
        and not field.post_load
    )


def _item(field: ma_fields.Field[Any]) -> Converter | None:
    """A list item's converter (what ``field.deserialize(item)`` returns for a valid item), or
    ``None`` when the item field is not one checked inline (the list is then left to its field)."""
    convert = _inline(field) if _plain(field) else None
    if convert is None:
        return None
    convert = _with_validators(field, convert)
    allow_none = field.allow_none

    def item(value: Any) -> Any:
        if value is None:
            if allow_none:
                return None
            raise Fallback
        return convert(value)

    return item


# -- schemas ---------------------------------------------------------------------------------------


#: How a field's value counts toward the payload's size cap (``count_values`` of the value):
#: one value; a list of plain values (``1 + len``); a free-form JSON value counted while it is
#: copied; anything else counted by :func:`metricscore.limits.count_values` before it is loaded.
_ONE, _FLAT, _JSON, _DEEP = "one", "flat", "json", "deep"
_SCALARS: tuple[str, ...] = ("String", "Integer", "Float", "Boolean", "Choice")


def _size_kind(field: ma_fields.Field[Any], inline: bool) -> str:
    from . import validation as v

    if not inline:
        return _DEEP
    if isinstance(field, tuple(getattr(v, name) for name in _SCALARS)):
        return _ONE
    if isinstance(field, v.List):
        inner = field.inner
        if _plain(inner) and isinstance(inner, tuple(getattr(v, name) for name in _SCALARS)):
            return _FLAT
        return _DEEP
    plain_checks = not field.validators and type(field)._validate in (ma_fields.Field._validate, v.CodedField._validate)
    if isinstance(field, v.JSONValue) and plain_checks:
        return _JSON
    return _DEEP


def _unchecked(field: ma_fields.Field[Any]) -> bool:
    """The field has no validators to run after its own ``_deserialize``."""
    from .validation import CodedField

    return not field.validators and type(field)._validate in (ma_fields.Field._validate, CodedField._validate)


def _string_source(field: Any, x: str) -> str | None:
    """Generated text that turns local ``x`` into what a plain metricscore ``String`` field
    returns for it (``None`` for a blank when ``blank_as_none``), or raises ``Fallback``; ``None``
    when the field is not exactly that. The text mirrors :func:`_string` line by line."""
    from .validation import String

    if not (isinstance(field, String) and type(field)._deserialize is String._deserialize and _unchecked(field)):
        return None
    if field.coerce_numbers:
        text = f"if type({x}) is not str:\n    if type({x}) is int or type({x}) is float:\n        {x} = str({x})\n"
        text += "    else:\n        raise Fallback()\n"
    else:
        text = f"if type({x}) is not str:\n    raise Fallback()\n"
    # string_problem's checks, without the call: a NUL, or a lone surrogate (encoding raises)
    text += f"if NUL in {x}:\n    raise Fallback()\nif not {x}.isascii():\n    {x}.encode()\n"
    if field.trim:
        text += f"{x} = {x}.strip()\n"
    checks = []
    if field.max_length is not None:
        checks.append(f"len({x}) > {int(field.max_length)}")
    if field.min_length is not None:
        checks.append(f"len({x}) < {int(field.min_length)}")
    if field.blank_as_none:
        text += f"if not {x}:\n    {x} = None\n"
        if checks:
            text += f"elif {' or '.join(checks)}:\n    raise Fallback()\n"
    else:
        if not field.allow_blank:
            checks.insert(0, f"not {x}")
        if checks:
            text += f"if {' or '.join(checks)}:\n    raise Fallback()\n"
    return text


def _strings_source(field: Any, i: int) -> str | None:
    """Generated text loading local ``v`` as a plain ``List`` of plain strings (see :func:`_list`)
    into ``r[a<i>]``, or ``None`` when the field is not exactly that."""
    from .validation import List

    if not (isinstance(field, List) and type(field)._deserialize is List._deserialize and _unchecked(field)):
        return None
    inner = field.inner
    item = _string_source(inner, "x") if _plain(inner) else None
    if item is None:
        return None
    text = "if type(v) is not list:\n    raise Fallback()\n"
    checks = [] if field.allow_empty else ["not v"]
    if field.max_length is not None:
        checks.append(f"len(v) > {int(field.max_length)}")
    if checks:
        text += f"if {' or '.join(checks)}:\n    raise Fallback()\n"
    text += "out = []\nfor x in v:\n"
    if inner.allow_none:
        text += "    if x is None:\n        out.append(None)\n        continue\n"
    return text + _indented(item + "out.append(x)", 1) + f"r[a{i}] = out\n"


class _FieldPlan:
    __slots__ = ("allow_none", "convert", "data_key", "default", "field", "key", "own", "required", "size", "source")

    def __init__(self, i: int, name: str, field: ma_fields.Field[Any]) -> None:
        from . import validation as v

        self.data_key = field.data_key if field.data_key is not None else name
        self.key = field.attribute or name
        self.required = field.required
        self.default = field.load_default
        self.allow_none = field.allow_none
        self.field = field
        plain = _plain(field)
        convert = _inline(field) if plain else None
        #: the converter; a free-form JSON field's takes ``(value, depth, room)`` (see ``_json_copy``)
        self.convert: Callable[..., Any] | None = None if convert is None else _with_validators(field, convert)
        self.size = _size_kind(field, convert is not None)
        if self.size == _JSON:  # copied and counted in one walk (see _generate)
            self.convert = _json_copy_object if isinstance(field, v.JSONObject) else _json_copy
        #: the conversion as generated text (plain strings and lists of them), when it can be
        self.source: str | None = None
        if plain and self.size == _ONE:
            text = _string_source(field, "v")
            self.source = None if text is None else text + f"r[a{i}] = v\n"
        elif plain and self.size == _FLAT:
            self.source = _strings_source(field, i)
        #: any other plain field: its own ``_deserialize`` (which may read ``attr`` and ``data``),
        #: then its validators, without marshmallow's wrapper around them
        self.own: Callable[..., Any] | None = None
        if convert is None and plain:
            own = field._deserialize
            if _unchecked(field):
                self.own = own
            else:
                validated = _with_validators(field, lambda value: value)
                self.own = lambda value, attr, data, **kwargs: validated(own(value, attr, data, **kwargs))


def _json_copy_object(value: Any, depth: int, room: list[int]) -> Any:
    if type(value) is not dict:
        raise Fallback
    return _json_copy(value, depth, room)


# The generated walk, one block per field, with the field's constants bound by name (``k3`` is
# field 3's payload key, ``c3`` its converter...); nothing from a schema is pasted into the text
# but the integers of its length limits.
# ``total`` counts the payload's values as ``limits.check_payload_size`` counts them (1 for the
# payload, then each known field's value, nested ones included).
def _indented(text: str, depth: int) -> str:
    pad = "    " * depth
    return "".join(pad + line + "\n" for line in text.strip("\n").split("\n"))


_DESERIALIZE = """
out = f{i}.deserialize(v, k{i}, data) if partial is None else f{i}.deserialize(v, k{i}, data, partial=partial)
if out is not M:
    r[a{i}] = out
"""
_COUNT_DEEP = """
total += count(v, LIMIT) if type(v) in CONTAINERS else 1
if total > LIMIT:
    raise Fallback()
"""
_COUNT_FLAT = """
total += 1 + len(v)
if total > LIMIT:
    raise Fallback()
"""


def _field_block(i: int, plan: _FieldPlan) -> str:
    """The generated text loading field ``i``: what ``Field.deserialize`` does for a valid value."""
    text = f"v = get(k{i}, M)\nif v is M:\n    if not partial:\n"
    if plan.convert is None and plan.own is None:  # not plain: marshmallow's own call, whatever the value
        deserialize = _DESERIALIZE.replace("{i}", str(i))
        text += _indented(deserialize, 2)
        return _indented(text + "else:\n" + _indented(_COUNT_DEEP + deserialize, 1), 1)
    default = plan.default
    if plan.required:
        text += "        raise Fallback()\n"
    elif default is _MISSING:
        text += "        pass\n"
    elif callable(default):
        text += f"        v = d{i}()\n        if v is not M:\n            r[a{i}] = v\n"
    else:
        text += f"        r[a{i}] = d{i}\n"
    if plan.allow_none:
        text += f"elif v is None:\n    total += 1\n    r[a{i}] = None\n"
    else:
        text += "elif v is None:\n    raise Fallback()\n"
    if plan.own is not None:
        own = f"r[a{i}] = o{i}(v, k{i}, data) if partial is None else o{i}(v, k{i}, data, partial=partial)"
        convert = _COUNT_DEEP + own
    else:
        convert = {
            _ONE: f"total += 1\n{plan.source or f'r[a{i}] = c{i}(v)'}",
            _FLAT: f"{_COUNT_FLAT}{plan.source or f'r[a{i}] = c{i}(v)'}",
            _JSON: f"room = [LIMIT - total - 1]\nr[a{i}] = c{i}(v, 0, room)\ntotal = LIMIT - room[0]",
            _DEEP: f"{_COUNT_DEEP}r[a{i}] = c{i}(v)",
        }[plan.size]
    return _indented(text + "else:\n" + _indented(convert, 1), 1)


def _hooks_source(schema: ma.Schema, namespace: dict[str, Any]) -> str:
    """Generated text making the calls marshmallow makes to the schema's hooks on result ``r``
    (a hook that raises sends the payload to marshmallow); their bound methods go in ``namespace``.

    marshmallow runs the hooks taking the whole collection first; for one payload (not ``many``)
    both kinds are called alike, so one ordered list of each kind serves.
    """
    hooks = schema._hooks
    text = ""
    if hooks[VALIDATES]:
        namespace.update({"ErrorStore": ErrorStore, "schema": schema})
        text += "store = ErrorStore()\nschema._invoke_field_validators(error_store=store, data=r, many=False)\n"
        text += "if store.errors:\n    raise Fallback()\n"
    calls: list[str] = []
    for tag, template in (
        (VALIDATES_SCHEMA, "{hook}(r, {original}partial=p, many=False, unknown=UNKNOWN)\n"),
        (POST_LOAD, "r = {hook}(r, {original}many=False, partial=p, unknown=UNKNOWN)\n"),
    ):
        for collection in (True, False):
            for attr, hook_many, kwargs in hooks[tag]:
                if hook_many == collection:
                    namespace[f"h{len(calls)}"] = getattr(schema, attr)
                    original = "data, " if kwargs.get("pass_original", False) else ""
                    calls.append(template.format(hook=f"h{len(calls)}", original=original))
    if calls:  # what marshmallow hands the hooks as ``partial``
        namespace.update({"SCHEMA_PARTIAL": schema.partial, "UNKNOWN": schema.unknown})
        text += "p = SCHEMA_PARTIAL if partial is None else partial\n" + "".join(calls)
    return text


def _generate(schema: ma.Schema, plans: list[_FieldPlan]) -> Loader:
    """The load of ``schema`` as one generated function: ``(data, partial) -> result``.

    It mirrors, field by field, what marshmallow's ``_deserialize`` does for a valid payload,
    counts the payload's values on the way (falling back once they pass the size cap), then
    calls the schema's hooks as marshmallow calls them.
    """
    namespace: dict[str, Any] = {
        "M": _MISSING,
        "Fallback": Fallback,
        "LIMIT": MAX_PAYLOAD_VALUES,
        "count": count_values,
        "CONTAINERS": frozenset((dict, list, tuple)),
        "NUL": "\x00",
        "string_problem": string_problem,
    }
    blocks = []
    for i, plan in enumerate(plans):
        namespace.update({f"k{i}": plan.data_key, f"a{i}": plan.key, f"c{i}": plan.convert, f"o{i}": plan.own})
        namespace.update({f"f{i}": plan.field, f"d{i}": plan.default})
        blocks.append(_field_block(i, plan))
    source = (
        "def load(data, partial):\n    get = data.get\n    r = {}\n    total = 1\n"
        + "".join(blocks)
        + "    if total > LIMIT:\n        raise Fallback()\n"
        + _indented(_hooks_source(schema, namespace) + "return r", 1)
    )
    name = f"<fastload {type(schema).__name__}>"
    exec(compile(source, name, "exec"), namespace)  # our own text, see above
    loader: Loader = namespace["load"]
    return loader


def _schema_loader(schema: ma.Schema) -> Loader | None:
    if type(schema).load is not ma.Schema.load or type(schema)._deserialize is not ma.Schema._deserialize:
        return None
    if schema.many or schema.unknown != ma.EXCLUDE or schema.dict_class is not dict:
        return None
    if schema.partial not in (None, False):  # a schema-wide partial: leave it to marshmallow
        return None
    if schema._hooks[PRE_LOAD]:
        return None  # a pre-load hook may change the caller's data: leave it to marshmallow
    plans: list[_FieldPlan] = []
    for i, (name, field) in enumerate(schema.load_fields.items()):
        plan = _FieldPlan(i, name, field)
        if "." in plan.key:
            return None
        plans.append(plan)
    return _generate(schema, plans)


_LOADERS: dict[int, tuple[ma.Schema, Loader | None]] = {}
_LOCK = threading.Lock()


def fast_loader(schema: ma.Schema) -> Loader | None:
    """The fast loader of ``schema`` (built on first use, then cached), or ``None``.

    The loader takes ``(data, partial)`` with ``data`` a dict, returns what
    ``schema.load(data, partial=partial)`` returns, or raises :class:`Fallback` (or any other
    exception) when the caller must run marshmallow instead. It also falls back when the known
    fields hold more than :data:`~metricscore.limits.MAX_PAYLOAD_VALUES` values in all, counted
    on its walk as :func:`~metricscore.limits.check_payload_size` counts them: a payload it
    serves is one that check passes, and the caller runs that check before marshmallow.
    """
    found = _LOADERS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    loader = _schema_loader(schema)
    with _LOCK:
        _LOADERS[id(schema)] = (schema, loader)
    return loader
