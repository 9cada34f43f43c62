"""pydantic's validation errors in kip's words (kip.protocol.wording). The errors are pydantic's
own, from a small model, so a pydantic upgrade that renames an error type or moves its ctx fails
here rather than silently bringing pydantic's wording back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

import pytest
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    Strict,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails
from pydantic_core.core_schema import ErrorType

from kip.protocol.wording import (
    WORDED_TYPES,
    field_bounds,
    plain_message,
    with_field_bounds,
)


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(default=0, ge=0, le=9)


def _as_is(value: object) -> object:
    return value


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    count: int = 0
    weight: float = 0
    finite: float = Field(default=0, allow_inf_nan=False)
    dose: Decimal = Field(default=Decimal(0), max_digits=4, decimal_places=1)
    flag: bool = False
    code: str = Field(default="ab", min_length=2, max_length=3)
    note: str = Field(default="x", min_length=1)
    reason: str = Field(default="x", pattern=r"\S")
    slug: str = Field(default="x", pattern=r"^[a-z]+$")
    kind: Literal["a", "b", "c"] = "a"
    only: Literal["yes"] = "yes"
    colour: Colour = Colour.RED
    day: date = date(2019, 3, 4)
    moment: datetime = datetime(2019, 3, 4, 10, 0)
    # Strict, as kip's protocol files are read: pydantic's plain date_parsing, datetime_parsing.
    strict_day: Annotated[date, Strict()] = date(2019, 3, 4)
    strict_moment: Annotated[datetime, Strict()] = datetime(2019, 3, 4, 10, 0)
    reading: Annotated[int, Field(ge=30, le=100)] | None = None
    above_zero: float = Field(default=1, gt=0)
    below_ten: float = Field(default=1, lt=10)
    part: float = Field(default=1, gt=0, le=10)
    since: date = Field(default=date(2001, 1, 1), ge=date(2000, 1, 1))
    window: Annotated[
        date, BeforeValidator(_as_is), Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))
    ] = date(2000, 1, 1)
    step: int = Field(default=0, multiple_of=5)
    inner: Inner = Inner()
    mapping: dict[str, int] = {}
    items: list[int] = Field(default=[1], min_length=1, max_length=2)
    pair: list[int] = Field(default=[1, 2], min_length=2)
    single: list[int] = Field(default=[], max_length=1)
    scores: list[Annotated[int, Field(ge=1, le=5)]] = []
    uid: UUID | None = None
    url: HttpUrl | None = None
    even: int = 0

    @field_validator("even")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even")
        return value


DELETE = object()


@dataclass(frozen=True)
class Case:
    type: str  # pydantic's error type, kept as the rule (schema.<type>)
    changes: dict[str, Any] = field(default_factory=dict)  # over {"name": "x"}
    message: str = ""
    json: str | None = None  # validate this JSON text instead of the changes


DAY = "must be a date, YYYY-MM-DD"
MOMENT = "must be a date and time, YYYY-MM-DDTHH:MM"
UUID_TEXT = "must be a UUID, like 123e4567-e89b-12d3-a456-426614174000"

CASES = [
    Case("missing", {"name": DELETE}, "is required"),
    Case("extra_forbidden", {"nickname": "x"}, "is not a field here"),
    Case("int_parsing", {"count": "many"}, "must be a whole number"),
    Case("int_type", {"count": [1]}, "must be a whole number"),
    Case("int_from_float", {"count": 1.5}, "must be a whole number"),
    Case("float_parsing", {"weight": "heavy"}, "must be a number"),
    Case("float_type", {"weight": [1]}, "must be a number"),
    Case("finite_number", {"finite": float("inf")}, "must be a finite number"),
    Case("decimal_parsing", {"dose": "x"}, "must be a number"),
    Case("decimal_type", {"dose": [1]}, "must be a number"),
    Case("decimal_max_digits", {"dose": "12345.6"}, "must have at most 4 digits"),
    Case("decimal_max_places", {"dose": "1.25"}, "must have at most 1 decimal place"),
    Case("decimal_whole_digits", {"dose": "1234"},
         "must have at most 3 digits before the decimal point"),
    Case("bool_parsing", {"flag": "maybe"}, "must be true or false"),
    Case("bool_type", {"flag": [1]}, "must be true or false"),
    Case("string_type", {"name": 1}, "must be text"),
    Case("string_too_short", {"code": "a"}, "must have at least 2 characters"),
    Case("string_too_short", {"note": ""}, "must not be empty"),
    Case("string_too_long", {"code": "abcd"}, "must have at most 3 characters"),
    Case("string_pattern_mismatch", {"reason": "  "}, "must not be blank"),
    Case("string_pattern_mismatch", {"slug": "A b"}, "is not in the expected format"),
    Case("literal_error", {"kind": "d"}, "must be one of: a, b, c"),
    Case("literal_error", {"only": "no"}, "must be yes"),
    Case("enum", {"colour": "green"}, "must be one of: red, blue"),
    Case("date_from_datetime_parsing", {"day": "2019-02-30"}, DAY),
    Case("date_from_datetime_inexact", {"day": "2019-03-04T10:00"}, DAY),
    Case("date_type", {"day": [1]}, DAY),
    Case("date_parsing", message=DAY, json='{"name": "x", "strict_day": "04/03/2019"}'),
    Case("datetime_from_date_parsing", {"moment": "soon"}, MOMENT),
    Case("datetime_type", {"moment": [1]}, MOMENT),
    Case("datetime_parsing", message=MOMENT, json='{"name": "x", "strict_moment": "soon"}'),
    # Both bounds of the field, whichever one is broken, as the clinic's range checks say it.
    Case("greater_than_equal", {"reading": 29}, "must be between 30 and 100"),
    Case("less_than_equal", {"reading": 101}, "must be between 30 and 100"),
    Case("greater_than", {"above_zero": 0}, "must be more than 0"),
    Case("less_than", {"below_ten": 10}, "must be less than 10"),
    Case("greater_than", {"part": 0}, "must be more than 0 and at most 10"),
    Case("greater_than_equal", {"since": "1999-12-31"}, "must be on or after 2000-01-01"),
    Case("greater_than_equal", {"window": "1800-01-01"},
         "must be between 1900-01-01 and 2100-12-31"),
    Case("greater_than_equal", {"scores": [3, 0]}, "must be between 1 and 5"),
    Case("less_than_equal", {"inner": {"level": 10}}, "must be between 0 and 9"),
    Case("multiple_of", {"step": 7}, "must be a multiple of 5"),
    Case("model_type", {"inner": 3}, "must be an object with named fields"),
    Case("dict_type", {"mapping": 3}, "must be an object with named fields"),
    Case("list_type", {"items": "1"}, "must be a list"),
    Case("too_short", {"items": []}, "must not be empty"),
    Case("too_short", {"pair": [1]}, "must have at least 2 items"),
    Case("too_long", {"items": [1, 2, 3]}, "must have at most 2 items"),
    Case("too_long", {"single": [1, 2]}, "must have at most 1 item"),
    Case("uuid_parsing", {"uid": "not-a-uuid"}, UUID_TEXT),
    Case("url_parsing", {"url": "not a url"}, "must be a web address (URL)"),
    Case("url_scheme", {"url": "ftp://example.org"},
         "must be a web address starting with http:// or https://"),
    Case("json_invalid", json='{"name": ',
         message="is not valid JSON (EOF while parsing a value at line 1 column 9)"),
    # kip's own validators keep their words, without pydantic's "Value error, ".
    Case("value_error", {"even": 3}, "must be even"),
]  # fmt: skip


def _first_error(case: Case) -> ErrorDetails:
    try:
        if case.json is not None:
            Sample.model_validate_json(case.json)
        else:
            data = {"name": "x", **case.changes}
            Sample.model_validate({k: v for k, v in data.items() if v is not DELETE})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        assert len(errors) == 1, errors
        return errors[0]
    raise AssertionError(f"{case} was accepted")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.type}-{c.message}" for c in CASES])
def test_plain_message(case: Case) -> None:
    error = _first_error(case)
    assert error["type"] == case.type
    assert plain_message(with_field_bounds(error, Sample)) == case.message


def test_every_worded_type_is_one_pydantic_reports() -> None:
    # A type pydantic renamed would silently fall back to pydantic's wording.
    assert set(get_args(ErrorType)) >= WORDED_TYPES


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reading": 29}, "must be at least 30"),
        ({"reading": 101}, "must be at most 100"),
        # pydantic's ctx holds the bound's repr when a validator function sits before it.
        ({"window": "1800-01-01"}, "must be on or after 1900-01-01"),
        ({"since": "1999-12-31"}, "must be on or after 2000-01-01"),
    ],
)
def test_without_the_model_the_broken_bound_is_named(changes: dict[str, Any], message: str) -> None:
    assert plain_message(_first_error(Case("", changes))) == message


def test_a_type_without_words_keeps_pydantics_message() -> None:
    error = {"type": "no_such_type", "loc": ("x",), "msg": "Value error, odd input", "ctx": {}}
    assert plain_message(error) == "odd input"
    # A worded type whose ctx lacks what the words need keeps pydantic's message too.
    assert plain_message({"type": "too_long", "msg": "List too long"}) == "List too long"


@pytest.mark.parametrize(
    ("loc", "bounds"),
    [
        (("reading",), {"ge": 30, "le": 100}),
        (("part",), {"gt": 0, "le": 10}),
        (("inner", "level"), {"ge": 0, "le": 9}),
        (("scores", 2), {"ge": 1, "le": 5}),
        (("count",), {}),
        (("no_such_field",), {}),
        (("inner", "no_such_field"), {}),
    ],
)
def test_field_bounds(loc: tuple[str | int, ...], bounds: dict[str, Any]) -> None:
    assert field_bounds(Sample, loc) == bounds
