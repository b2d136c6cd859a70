"""marshmallow building blocks whose errors carry vendor-style messages and codes.

Every field here raises :class:`~metricscore.errors.ErrorMessage` (a ``str`` with a ``.code``), so
the dialect renderers can show PostHog's ``code`` or list Sequence's messages without guessing
from text. :func:`load` is the single point where marshmallow's errors become metricscore's.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import fields as ma_fields

from .errors import NON_FIELD_ERRORS, ErrorMessage, ValidationError
from .fastload import fast_loader
from .jsonvalue import copy_json, json_problem, string_problem
from .limits import TOO_MANY_ITEMS, check_payload_size

__all__ = [
    "ANY_TEXT_PATTERN",
    "BLANK_PATTERN",
    "NON_BLANK_PATTERN",
    "Boolean",
    "Choice",
    "Float",
    "Integer",
    "JSONObject",
    "JSONValue",
    "List",
    "Nested",
    "Schema",
    "String",
    "display",
    "fail",
    "load",
    "openapi_unless",
    "type_name",
]

#: The type marshmallow gives ``Field.default_error_messages``.
Messages = dict[str, str | list[Any] | dict[Any, Any]]

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxstring = 60
_repr.maxother = 60


def display(value: Any) -> str:
    """A short, recursion-safe rendering of an input value for an error message."""
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "..."
    if value is None or isinstance(value, (bool, int, float)):
        return str(value)
    return _repr.repr(value)


#: The characters ``str.strip`` removes (those ``str.isspace`` counts), as the body of a regex
#: class. JSON Schema's ``\s`` is ECMA 262's, which counts U+FEFF and not U+001C-U+001F or U+0085
#: (Python's ``re`` the other way round), so the patterns below name the characters instead: every
#: regex engine then reads them as the server does.
SPACE_CLASS = r"\t-\r\u001C-\u001F \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
#: OpenAPI patterns of what :class:`String` accepts: no NUL; and, when blank is refused, some
#: character that ``str.strip`` keeps.
ANY_TEXT_PATTERN = r"^[^\u0000]*$"
NON_BLANK_PATTERN = rf"^[^\u0000]*[^\u0000{SPACE_CLASS}][^\u0000]*$"
BLANK_PATTERN = rf"^[{SPACE_CLASS}]*$"
#: The longest text ``str`` makes of a finite float (``-1.7976931348623157e+308``).
LONGEST_FLOAT_TEXT = 24
#: The most digits of an integer a double holds the magnitude of (``10**308 < 1.8e308``).
MAX_DOUBLE_DIGITS = 308


def trimmed_text_pattern(min_length: int | None, max_length: int | None, allow_blank: bool) -> str:
    """The OpenAPI pattern of the text a trimming :class:`String` accepts: no NUL, and once
    ``str.strip`` has trimmed it, ``min_length`` to ``max_length`` characters, or blank when
    ``allow_blank``. The server counts the length after trimming, so ``maxLength`` (which counts
    the value as sent) would refuse what it accepts."""
    space, solid = f"[{SPACE_CLASS}]", f"[^\\u0000{SPACE_CLASS}]"
    low = max(min_length or 0, 1)
    if max_length is not None and max_length < low:
        core = "(?!)"  # no text is long enough and short enough
    elif max_length == 1:
        core = solid
    else:
        upper = "" if max_length is None else str(max_length - 2)
        inner = f"(?:[^\\u0000]{{{max(low - 2, 0)},{upper}}}{solid})"
        core = solid + (inner if low >= 2 else inner + "?")
    if allow_blank:
        return f"^{space}*(?:{core}{space}*)?$"
    return f"^{space}*{core}{space}*$"


def number_text_schemas(max_length: int | None) -> list[dict[str, Any]]:
    """The OpenAPI schemas of the JSON numbers a :class:`String` that coerces numbers accepts:
    their text (``str(number)``) must fit ``max_length``. An integer of more digits does not; a
    finite float's text never has more than :data:`LONGEST_FLOAT_TEXT` characters.

    Bounds past a double's range (``max_length`` over 308) are left out: no client can write such
    a bound or such a number reliably (RFC 8259 section 6), and document readers that take numbers
    as doubles refuse the document."""
    if max_length is None:
        return [{"type": "number"}]
    schemas: list[dict[str, Any]] = []
    if max_length >= 1:
        integer: dict[str, Any] = {"type": "integer"}
        if max_length <= MAX_DOUBLE_DIGITS:
            integer["maximum"] = 10**max_length - 1
            integer["minimum"] = -(10 ** (max_length - 1) - 1) if max_length >= 2 else 0
        schemas.append(integer)
    if max_length >= LONGEST_FLOAT_TEXT:
        schemas.append({"type": "number", "not": {"type": "integer"}})
    return schemas


def openapi_unless(selector: str, exempt: Iterable[str], then: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI rule (for a schema's ``openapi_rules``): ``then`` must hold unless ``selector``
    is one of ``exempt`` (``anyOf`` rather than ``if``, which OpenAPI 3.0 lacks)."""
    return {"anyOf": [{"properties": {selector: {"enum": list(exempt)}}}, then]}


def type_name(value: Any) -> str:
    return type(value).__name__


def fail(text: str, code: str) -> ma.ValidationError:
    """A marshmallow error whose message carries ``code``."""
    return ma.ValidationError(ErrorMessage(text, code))


class CodedField(ma_fields.Field[Any]):
    """A field whose error messages are DRF's texts and carry codes."""

    default_error_messages: Messages = {
        "required": "This field is required.",
        "null": "This field may not be null.",
        "validator_failed": "Invalid value.",
    }
    error_codes: ClassVar[dict[str, str]] = {"required": "required", "null": "null"}

    def _validate(self, value: Any) -> None:
        # marshmallow builds a validator chain on every call, even an empty one; skip it.
        if self.validators:
            super()._validate(value)

    def make_error(self, key: str, **kwargs: Any) -> ma.ValidationError:
        error = super().make_error(key, **kwargs)
        text = error.messages[0] if isinstance(error.messages, list) else str(error.messages)
        return fail(str(text), self.error_codes.get(key, "invalid_input"))


class String(CodedField):
    """DRF's CharField: numbers become strings, whitespace is trimmed, blank refused by default."""

    default_error_messages: Messages = {
        "invalid": "Not a valid string.",
        "blank": "This field may not be blank.",
        "null_characters_not_allowed": "Null characters are not allowed.",
        "surrogates_not_allowed": "Not a valid string: it contains a lone surrogate.",
        "max_length": "Ensure this field has no more than {max_length} characters.",
        "min_length": "Ensure this field has at least {min_length} characters.",
    }
    error_codes = {
        **CodedField.error_codes,
        "blank": "blank",
        "max_length": "max_length",
        "min_length": "min_length",
        "null_characters_not_allowed": "null_characters_not_allowed",
        "surrogates_not_allowed": "invalid_input",
    }

    def __init__(
        self,
        *,
        max_length: int | None = None,
        min_length: int | None = None,
        trim: bool = True,
        allow_blank: bool = False,
        blank_as_none: bool = False,
        coerce_numbers: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.min_length = min_length
        self.trim = trim
        self.allow_blank = allow_blank
        self.blank_as_none = blank_as_none
        self.coerce_numbers = coerce_numbers

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not str:
            if self.coerce_numbers and type(value) in (int, float):
                value = str(value)
            else:
                raise self.make_error("invalid")
        if "\x00" in value:
            raise self.make_error("null_characters_not_allowed")
        if string_problem(value):
            raise self.make_error("surrogates_not_allowed")
        if self.trim:
            value = value.strip()
        if not value:
            if self.blank_as_none:
                return None
            if not self.allow_blank:
                raise self.make_error("blank")
        if self.max_length is not None and len(value) > self.max_length:
            raise self.make_error("max_length", max_length=self.max_length)
        if self.min_length is not None and len(value) < self.min_length:
            raise self.make_error("min_length", min_length=self.min_length)
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Integer(CodedField):
    """An integer; ``strict`` refuses strings such as ``"7"`` (booleans are always refused)."""

    default_error_messages: Messages = {
        "invalid": "A valid integer is required.",
        "min_value": "Ensure this value is greater than or equal to {min_value}.",
        "max_value": "Ensure this value is less than or equal to {max_value}.",
    }
    error_codes = {**CodedField.error_codes, "min_value": "min_value", "max_value": "max_value"}
    _BOUND = 2**63 - 1

    def __init__(
        self, *, strict: bool = False, min_value: int | None = None, max_value: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.strict = strict
        self.min_value = -self._BOUND - 1 if min_value is None else min_value
        self.max_value = self._BOUND if max_value is None else max_value

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        kind = type(value)
        if kind is int:
            number = value
        elif kind is float and not self.strict and value.is_integer():
            number = int(value)
        elif kind is str and not self.strict and len(value) <= 30:
            try:
                number = int(value.strip())
            except ValueError:
                raise self.make_error("invalid") from None
        else:
            raise self.make_error("invalid")
        if number < self.min_value:
            raise self.make_error("min_value", min_value=self.min_value)
        if number > self.max_value:
            raise self.make_error("max_value", max_value=self.max_value)
        return number

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Float(CodedField):
    """A finite JSON number (integers accepted); booleans and strings refused."""

    default_error_messages: Messages = {
        "invalid": "A valid number is required.",
        "min_value": "Ensure this value is greater than or equal to {min_value}.",
        "max_value": "Ensure this value is less than or equal to {max_value}.",
    }
    error_codes = {**CodedField.error_codes, "min_value": "min_value", "max_value": "max_value"}

    def __init__(self, *, min_value: float | None = None, max_value: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_value = min_value
        self.max_value = max_value

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) not in (int, float) or value != value or value in (float("inf"), float("-inf")):
            raise self.make_error("invalid")
        if self.min_value is not None and value < self.min_value:
            raise self.make_error("min_value", min_value=self.min_value)
        if self.max_value is not None and value > self.max_value:
            raise self.make_error("max_value", max_value=self.max_value)
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Boolean(CodedField):
    """A JSON boolean. DRF also reads ``"true"``/``"false"``; JSON bodies send real booleans."""

    default_error_messages: Messages = {"invalid": "Must be a valid boolean."}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not bool:
            raise self.make_error("invalid")
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Choice(CodedField):
    """One of a fixed set of strings."""

    default_error_messages: Messages = {"invalid_choice": '"{input}" is not a valid choice.'}
    error_codes = {**CodedField.error_codes, "invalid_choice": "invalid_choice"}

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = frozenset(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not str or value not in self.choices:
            raise self.make_error("invalid_choice", input=display(value))
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class List(CodedField):
    """A JSON array whose items are loaded by ``inner``; item errors are keyed by index."""

    default_error_messages: Messages = {
        "not_a_list": 'Expected a list of items but got type "{input_type}".',
        "empty": "This list may not be empty.",
        "max_length": TOO_MANY_ITEMS,
    }
    error_codes = {**CodedField.error_codes, "not_a_list": "not_a_list", "empty": "empty", "max_length": "max_length"}

    def __init__(
        self, inner: ma_fields.Field[Any], *, allow_empty: bool = True, max_length: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.inner = inner
        self.allow_empty = allow_empty
        #: The most items accepted (checked before any item is loaded).
        self.max_length = max_length

    def _bind_to_schema(self, field_name: str, parent: Any) -> None:
        super()._bind_to_schema(field_name, parent)
        self.inner._bind_to_schema(field_name, self)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not list:
            raise self.make_error("not_a_list", input_type=type_name(value))
        if not value and not self.allow_empty:
            raise self.make_error("empty")
        if self.max_length is not None and len(value) > self.max_length:
            raise self.make_error("max_length", max_length=self.max_length)
        result: list[Any] = []
        errors: dict[str, Any] = {}
        for index, item in enumerate(value):
            try:
                result.append(self.inner.deserialize(item, **kwargs))
            except ma.ValidationError as error:
                errors[str(index)] = error.messages
        if errors:
            raise ma.ValidationError(errors)
        return result

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Nested(CodedField):
    """A JSON object loaded by a nested :class:`Schema`."""

    default_error_messages: Messages = {"not_a_dict": 'Expected a dictionary of items but got type "{input_type}".'}
    error_codes = {**CodedField.error_codes, "not_a_dict": "not_a_dict"}

    def __init__(self, schema: type[ma.Schema], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schema = schema()

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise self.make_error("not_a_dict", input_type=type_name(value))
        return self.schema.load(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class JSONValue(CodedField):
    """Any JSON value (free-form vendor data), bounded in depth."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        problem = json_problem(value)
        if problem:
            raise fail(problem, "invalid_input")
        return copy_json(value)  # never keep a reference to the caller's object

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class JSONObject(JSONValue):
    """A free-form JSON object."""

    default_error_messages: Messages = {"not_a_dict": 'Expected a dictionary of items but got type "{input_type}".'}
    error_codes = {**CodedField.error_codes, "not_a_dict": "not_a_dict"}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise self.make_error("not_a_dict", input_type=type_name(value))
        return super()._deserialize(value, attr, data, **kwargs)


class Schema(ma.Schema):
    """Base schema: unknown keys are ignored, as the vendors ignore them."""

    class Meta:
        unknown = ma.EXCLUDE


def load(
    schema: ma.Schema,
    data: Any,
    *,
    partial: bool = False,
) -> dict[str, Any]:
    """Validate ``data`` with ``schema``; raise metricscore's ValidationError listing every bad field.

    ``data`` may be any value: anything but a JSON object is a non-field error. A valid payload
    is served by the schema's generated fast path (:mod:`metricscore.fastload`); anything it
    cannot vouch for is loaded by marshmallow, which produces the errors.
    """
    if type(data) is not dict:
        message = f"Invalid data. Expected a dictionary, but got {type_name(data)}."
        raise ValidationError({NON_FIELD_ERRORS: [ErrorMessage(message, "invalid_input")]})
    fast = fast_loader(schema)
    if fast is not None:
        try:  # it counts the payload's values on its walk and gives up past the cap
            return fast(data, partial)
        except Exception:  # not provably valid: marshmallow decides, and words any error
            pass
    check_payload_size(data, _wire_names(schema))  # the cap bounds marshmallow's work too
    try:
        result: dict[str, Any] = schema.load(data, partial=partial)
    except ma.ValidationError as error:
        raise ValidationError(_messages(error)) from None
    return result


_WIRE_NAMES: dict[int, tuple[ma.Schema, frozenset[str]]] = {}


def _wire_names(schema: ma.Schema) -> frozenset[str]:
    """The payload keys ``schema`` reads (each field's ``data_key`` or name)."""
    cached = _WIRE_NAMES.get(id(schema))
    if cached is None or cached[0] is not schema:
        names = frozenset(field.data_key or name for name, field in schema.load_fields.items())
        cached = _WIRE_NAMES[id(schema)] = (schema, names)
    return cached[1]


def _messages(error: ma.ValidationError) -> dict[str, Any]:
    messages = error.messages
    if isinstance(messages, dict):
        return messages
    return {NON_FIELD_ERRORS: messages}
