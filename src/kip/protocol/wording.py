"""pydantic's validation errors in kip's own words.

pydantic says "Input should be a valid integer, unable to parse string as an integer"; the people
who read kip's errors (nurses, physicians, data managers) are told "must be a whole number", as
kip's own checks word it ("must be between 30 and 100", "is required"). Only the text changes: the
error's type stays the rule code clients match on (schema.int_parsing, for example).
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

# pydantic's error types for a value beyond a bound; their ctx holds the bound.
BOUND_TYPES = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
_BOUND_KEYS = ("gt", "ge", "lt", "le")

_DAY = "must be a date, YYYY-MM-DD"
_MOMENT = "must be a date and time, YYYY-MM-DDTHH:MM"
_WHOLE = "must be a whole number"
_NUMBER = "must be a number"
_BOOL = "must be true or false"
_OBJECT = "must be an object with named fields"
_LIST = "must be a list"
_URL = "must be a web address (URL)"


def _count(n: Any, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _at_most(key: str, noun: str, where: str = "") -> Callable[[Mapping[str, Any]], str]:
    return lambda ctx: f"must have at most {_count(ctx[key], noun)}{where}"


def _at_least(key: str, noun: str) -> Callable[[Mapping[str, Any]], str]:
    def text(ctx: Mapping[str, Any]) -> str:
        if ctx[key] == 1:
            return "must not be empty"
        return f"must have at least {_count(ctx[key], noun)}"

    return text


def _listed(text: str) -> list[str]:
    # pydantic's own list of the values it expected: "'a', 'b' or 'c'" (each value as its repr).
    head, _, last = text.rpartition(" or ")
    return [v.strip("'\"") for v in [*(head.split(", ") if head else []), last]]


def _choices(ctx: Mapping[str, Any]) -> str:
    values = _listed(str(ctx["expected"]))
    return f"must be {values[0]}" if len(values) == 1 else f"must be one of: {', '.join(values)}"


def _scheme_text(ctx: Mapping[str, Any]) -> str:
    schemes = " or ".join(f"{s}://" for s in _listed(str(ctx["expected_schemes"])))
    return f"must be a web address starting with {schemes}"


def _pattern_text(ctx: Mapping[str, Any]) -> str:
    # r"\S" is the "not blank" idiom; another pattern means nothing to the people who read this.
    return "must not be blank" if ctx.get("pattern") == r"\S" else "is not in the expected format"


def _template(text: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda ctx: text.format_map(ctx)


_WORDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": _template("is required"),
    "extra_forbidden": _template("is not a field here"),
    **dict.fromkeys(("int_parsing", "int_type", "int_from_float"), _template(_WHOLE)),
    "int_parsing_size": _template("is too large a number"),
    **dict.fromkeys(
        ("float_parsing", "float_type", "decimal_parsing", "decimal_type"), _template(_NUMBER)
    ),
    "finite_number": _template("must be a finite number"),
    "decimal_max_digits": _at_most("max_digits", "digit"),
    "decimal_max_places": _at_most("decimal_places", "decimal place"),
    "decimal_whole_digits": _at_most("whole_digits", "digit", " before the decimal point"),
    "multiple_of": _template("must be a multiple of {multiple_of}"),
    **dict.fromkeys(("bool_parsing", "bool_type"), _template(_BOOL)),
    "string_type": _template("must be text"),
    "string_too_short": _at_least("min_length", "character"),
    "string_too_long": _at_most("max_length", "character"),
    "string_pattern_mismatch": _pattern_text,
    **dict.fromkeys(("literal_error", "enum"), _choices),
    **dict.fromkeys(
        (
            "date_parsing",
            "date_type",
            "date_from_datetime_parsing",
            "date_from_datetime_inexact",
        ),
        _template(_DAY),
    ),
    "date_past": _template("must be in the past"),
    "date_future": _template("must be in the future"),
    **dict.fromkeys(
        ("datetime_parsing", "datetime_type", "datetime_from_date_parsing"), _template(_MOMENT)
    ),
    **dict.fromkeys(("time_parsing", "time_type"), _template("must be a time, HH:MM")),
    "timezone_aware": _template("must include a time zone"),
    "timezone_naive": _template("must not include a time zone"),
    "json_invalid": _template("is not valid JSON ({error})"),
    **dict.fromkeys(
        ("model_type", "model_attributes_type", "dict_type", "dataclass_type"),
        _template(_OBJECT),
    ),
    **dict.fromkeys(("list_type", "tuple_type", "set_type"), _template(_LIST)),
    "too_short": _at_least("min_length", "item"),
    "too_long": _at_most("max_length", "item"),
    **dict.fromkeys(
        ("uuid_parsing", "uuid_type", "uuid_version"),
        _template("must be a UUID, like 123e4567-e89b-12d3-a456-426614174000"),
    ),
    **dict.fromkeys(("url_parsing", "url_type", "url_syntax_violation"), _template(_URL)),
    "url_scheme": _scheme_text,
    "url_too_long": _at_most("max_length", "character"),
}

# The error types kip has its own words for; any other keeps pydantic's message.
WORDED_TYPES = frozenset(_WORDS) | BOUND_TYPES


def plain_message(error: Mapping[str, Any]) -> str:
    """A pydantic error (its type, ctx and msg) as kip words it: "must be a whole number".

    A value beyond a bound reads "must be between 30 and 100" when the error's ctx holds both of
    the field's bounds (see with_field_bounds). A type kip has no words for keeps pydantic's own
    message, without pydantic's "Value error, " prefix on messages kip's validators wrote."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    try:
        if kind in BOUND_TYPES:
            return _range_text(ctx)
        if kind in _WORDS:
            return _WORDS[kind](ctx)
    except (KeyError, IndexError):
        pass  # a ctx without the values the words need: pydantic's message says it
    message = str(error.get("msg") or "is not valid")
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


# --------------------------------------------------------------------------------------------------
# Bounds: "must be between 30 and 100"


def _as_day(value: Any) -> date | None:
    """A bound that is a day: a date, or pydantic's text of one ("1900-01-01", or its repr
    "datetime.date(1900, 1, 1)" where the bound sits behind a validator function)."""
    if isinstance(value, date):
        return value
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    found = re.fullmatch(r"datetime\.date\((\d+), (\d+), (\d+)\)", text)
    return date(*(int(g) for g in found.groups())) if found else None


def _shown(value: Any) -> str:
    day = _as_day(value)
    if day is not None:
        return day.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 30, not 30.0
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


# How each bound reads, for numbers and for days.
_BOUND_WORDS = {
    "gt": ("more than", "after"),
    "ge": ("at least", "on or after"),
    "lt": ("less than", "before"),
    "le": ("at most", "on or before"),
}


def _range_text(ctx: Mapping[str, Any]) -> str:
    """ "must be between 30 and 100" for a field with both inclusive bounds (as the clinic's own
    range checks say it), else each bound the ctx holds: "must be at least 0", "must be before
    2100-01-01", "must be more than 0 and at most 10"."""
    low = next((k for k in ("ge", "gt") if ctx.get(k) is not None), None)
    high = next((k for k in ("le", "lt") if ctx.get(k) is not None), None)
    if low == "ge" and high == "le":
        return f"must be between {_shown(ctx['ge'])} and {_shown(ctx['le'])}"
    parts = [
        f"{_BOUND_WORDS[key][_as_day(ctx[key]) is not None]} {_shown(ctx[key])}"
        for key in (low, high)
        if key is not None
    ]
    if not parts:
        raise KeyError("no bound")
    return "must be " + " and ".join(parts)


def with_field_bounds(error: Mapping[str, Any], model: type[BaseModel] | None) -> dict[str, Any]:
    """The error with its field's other bounds added to its ctx, so that 20 for a field bounded
    30..100 reads "must be between 30 and 100", where pydantic's ctx names the broken bound only.
    `error["loc"]` must be relative to `model`; other errors come back unchanged."""
    out = dict(error)
    if model is not None and out.get("type") in BOUND_TYPES:
        # The model's bounds win: pydantic's ctx may hold a bound's repr, not the bound.
        out["ctx"] = {**(out.get("ctx") or {}), **field_bounds(model, out.get("loc", ()))}
    return out


def field_bounds(model: type[BaseModel], loc: Sequence[str | int]) -> dict[str, Any]:
    """The gt / ge / lt / le bounds of the field at `loc` in `model`, keyed as pydantic's ctx
    keys them; empty where the location leads to no field (a union's branch name, say)."""
    annotation: Any = model
    constraints: list[Any] = []
    for part in loc:
        found = _step(annotation, part)
        if found is None:
            return {}
        annotation, constraints = found
    items = [*constraints, *(m for _, meta in _arms(annotation) for m in meta)]
    # Field(ge=...) is kept as annotated_types' Ge in a FieldInfo's metadata.
    flat = [m for item in items for m in (item.metadata if isinstance(item, FieldInfo) else [item])]
    bounds: dict[str, Any] = {}
    for key in _BOUND_KEYS:
        value = next((getattr(m, key) for m in flat if getattr(m, key, None) is not None), None)
        if value is not None:
            bounds[key] = value
    return bounds


def _arms(annotation: Any, meta: Sequence[Any] = ()) -> list[tuple[Any, list[Any]]]:
    """The types a value of `annotation` may have, each with its Annotated metadata: Optional,
    unions and Annotated unwrapped."""
    if get_origin(annotation) is Annotated:
        bare, *extra = get_args(annotation)
        return _arms(bare, [*meta, *extra])
    if get_origin(annotation) in (Union, types.UnionType):
        return [arm for a in get_args(annotation) if a is not type(None) for arm in _arms(a, meta)]
    return [(annotation, list(meta))]


def _step(annotation: Any, part: str | int) -> tuple[Any, list[Any]] | None:
    """The annotation (and field constraints) one location part further in."""
    for bare, _ in _arms(annotation):
        if isinstance(bare, type) and issubclass(bare, BaseModel) and isinstance(part, str):
            info = _field(bare, part)
            if info is not None:
                return info.annotation, list(info.metadata)
        origin, args = get_origin(bare), get_args(bare)
        if isinstance(part, int) and origin in (list, tuple, set, frozenset) and args:
            fixed = origin is tuple and Ellipsis not in args and part < len(args)
            return (args[part] if fixed else args[0]), []
        if isinstance(part, str) and origin is dict and len(args) == 2:
            return args[1], []
    return None


def _field(model: type[BaseModel], name: str) -> FieldInfo | None:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias, info.validation_alias):
            return info
    return None
