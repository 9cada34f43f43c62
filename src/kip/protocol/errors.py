"""Errors the engine reports to a user: one line naming the field and the rule broken."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from kip.protocol.wording import plain_message, with_field_bounds


class InputError(ValueError):
    """Bad input; the message is meant for the person or program that sent it."""


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "input"


def validation_problems(
    exc: ValidationError, model: type[BaseModel] | None = None
) -> list[tuple[str, str]]:
    """Every problem as (field, message in kip's words), in pydantic's order, so a caller can
    report them all. With the model that was validated, a value beyond a bound names both of
    its field's bounds ("must be between 30 and 100")."""
    out: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        # Union and function validators put their own names into the location; keep only
        # field names.
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or "-" in p)))
        message = plain_message(with_field_bounds({**error, "loc": loc}, model))
        out.append((_location(loc), message))
    return out


def describe_validation_error(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """The first problem as `field: rule`, plus a count of any others."""
    problems = validation_problems(exc, model)
    field, msg = problems[0]
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"{field}: {msg}{more}"
