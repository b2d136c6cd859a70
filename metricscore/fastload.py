"""A fast path for marshmallow ``Schema.load``, generated from the same declaration.

:func:`fast_loader` reads a schema's fields, their options and validators once and builds a
loader that produces exactly what ``schema.load(data, partial=...)`` returns for a *valid*
payload, without marshmallow's per-field machinery (getter closures, error stores, validator
chains rebuilt per call). It proves nothing about invalid payloads: the moment a value is not
plainly valid (a type it does not expect, a failed check, any exception), it gives up and the
caller runs marshmallow itself, which stays the one place that produces errors. So the fast path
can only ever be faster, never different.

What it understands:

- metricscore's own fields (:mod:`metricscore.validation`) are checked inline when their class
  does not override the loading method; any other field's own ``_deserialize`` is called, as
  marshmallow would call it;
- marshmallow's built-in validators ``Length``, ``Range``, ``OneOf``, ``NoneOf`` and ``Equal``
  are checked inline; any other validator is called as marshmallow calls it (a ``False`` return
  or an exception sends the payload to marshmallow);
- schema hooks (``pre_load``, ``validates``, ``validates_schema``, ``post_load``) run through
  marshmallow's own hook runner, in marshmallow's order.

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


def _json_copy(value: Any, depth: int) -> Any:
    """A copy of a storable JSON value in one pass (``json_problem`` and ``copy_json`` in one)."""
    kind = type(value)
    if kind is str:
        if (not value.isascii() or "\x00" in value) and string_problem(value):
            raise Fallback
        return value
    if kind is dict:
        if depth >= MAX_JSON_DEPTH:
            raise Fallback
        copy = {}
        for key, item in value.items():
            if type(key) is not str or ((not key.isascii() or "\x00" in key) and string_problem(key)):
                raise Fallback
            copy[key] = _json_copy(item, depth + 1)
        return copy
    if kind is list:
        if depth >= MAX_JSON_DEPTH:
            raise Fallback
        return [_json_copy(item, depth + 1) for item in value]
    if value is None or kind is bool or kind is int:
        return value
    if kind is float and value - value == 0.0:  # finite
        return value
    raise Fallback


def _json_value(field: Any) -> Converter:
    def json_value(value: Any) -> Any:
        return _json_copy(value, 0)

    return json_value


def _json_object(field: Any) -> Converter:
    def json_object(value: Any) -> Any:
        if type(value) is not dict:
            raise Fallback
        return _json_copy(value, 0)

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
    """The field loads through ``Field.deserialize`` unchanged (no field-level hooks)."""
    return type(field).deserialize is ma_fields.Field.deserialize and not field.pre_load and not field.post_load


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


class _FieldPlan:
    __slots__ = ("allow_none", "convert", "data_key", "default", "field", "key", "own", "required")

    def __init__(self, name: str, field: ma_fields.Field[Any]) -> None:
        self.data_key = field.data_key if field.data_key is not None else name
        self.key = field.attribute or name
        self.required = field.required
        self.default = field.load_default
        self.allow_none = field.allow_none
        self.field = field
        plain = _plain(field)
        convert = _inline(field) if plain else None
        self.convert: Converter | None = None if convert is None else _with_validators(field, convert)
        #: any other plain field: its own ``_deserialize`` (which may read ``attr`` and ``data``),
        #: then its validators, without marshmallow's wrapper around them
        self.own: Callable[..., Any] | None = None
        if convert is None and plain:
            own = field._deserialize
            validated = _with_validators(field, lambda value: value)
            self.own = lambda value, attr, data, **kwargs: validated(own(value, attr, data, **kwargs))


def _schema_loader(schema: ma.Schema) -> Loader | None:
    if type(schema).load is not ma.Schema.load or type(schema)._deserialize is not ma.Schema._deserialize:
        return None
    if schema.many or schema.unknown != ma.EXCLUDE or schema.dict_class is not dict:
        return None
    if schema.partial not in (None, False):  # a schema-wide partial: leave it to marshmallow
        return None
    plans: list[_FieldPlan] = []
    for name, field in schema.load_fields.items():
        plan = _FieldPlan(name, field)
        if "." in plan.key:
            return None
        plans.append(plan)

    hooks = schema._hooks
    if hooks[PRE_LOAD]:
        return None  # a pre-load hook may change the caller's data: leave it to marshmallow
    # marshmallow runs the hooks taking the whole collection first; for one payload (not
    # ``many``) both kinds are called alike, so one ordered list of each kind serves.
    validators = [
        (attr, bool(kwargs.get("pass_original", False)))
        for collection in (True, False)
        for attr, hook_many, kwargs in hooks[VALIDATES_SCHEMA]
        if hook_many == collection
    ]
    processors = [
        (attr, bool(kwargs.get("pass_original", False)))
        for collection in (True, False)
        for attr, hook_many, kwargs in hooks[POST_LOAD]
        if hook_many == collection
    ]
    field_validators = bool(hooks[VALIDATES])
    unknown = schema.unknown

    def fields(data: dict[str, Any], partial: bool | None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for plan in plans:
            value = data.get(plan.data_key, _MISSING)
            if value is _MISSING and partial:
                continue
            convert = plan.convert
            own = plan.own
            if own is not None and value is not _MISSING and value is not None:
                if partial is None:
                    result[plan.key] = own(value, plan.data_key, data)
                else:
                    result[plan.key] = own(value, plan.data_key, data, partial=partial)
            elif convert is None:  # exactly the call marshmallow makes for this field
                if partial is None:
                    out = plan.field.deserialize(value, plan.data_key, data)
                else:
                    out = plan.field.deserialize(value, plan.data_key, data, partial=partial)
                if out is not _MISSING:
                    result[plan.key] = out
            elif value is _MISSING:
                if plan.required:
                    raise Fallback
                default = plan.default
                if default is not _MISSING:
                    value = default() if callable(default) else default
                    if value is not _MISSING:
                        result[plan.key] = value
            elif value is None:
                if not plan.allow_none:
                    raise Fallback
                result[plan.key] = None
            else:
                result[plan.key] = convert(value)
        return result

    if not (processors or field_validators or validators):
        return fields

    def with_hooks(data: dict[str, Any], given: bool | None) -> dict[str, Any]:
        result = fields(data, given)
        partial = schema.partial if given is None else given  # what marshmallow hands the hooks
        if field_validators:
            store = ErrorStore()  # type: ignore[no-untyped-call]
            schema._invoke_field_validators(error_store=store, data=result, many=False)
            if store.errors:
                raise Fallback
        # The calls marshmallow makes; a hook that raises sends the payload to marshmallow.
        for attr, pass_original in validators:
            if pass_original:
                getattr(schema, attr)(result, data, partial=partial, many=False, unknown=unknown)
            else:
                getattr(schema, attr)(result, partial=partial, many=False, unknown=unknown)
        for attr, pass_original in processors:
            if pass_original:
                result = getattr(schema, attr)(result, data, many=False, partial=partial, unknown=unknown)
            else:
                result = getattr(schema, attr)(result, many=False, partial=partial, unknown=unknown)
        return result

    return with_hooks


_LOADERS: dict[int, tuple[ma.Schema, Loader | None]] = {}
_LOCK = threading.Lock()


def fast_loader(schema: ma.Schema) -> Loader | None:
    """The fast loader of ``schema`` (built on first use, then cached), or ``None``.

    The loader takes ``(data, partial)`` with ``data`` a dict, returns what
    ``schema.load(data, partial=partial)`` returns, or raises :class:`Fallback` (or any other
    exception) when the caller must run marshmallow instead.
    """
    found = _LOADERS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    loader = _schema_loader(schema)
    with _LOCK:
        _LOADERS[id(schema)] = (schema, loader)
    return loader
