"""Errors the engine reports to a user: one line naming the field and the rule broken."""

from __future__ import annotations

from pydantic import ValidationError


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


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem as `field: rule`, plus a count of any others."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    # Union and function validators put their own names into the location; keep only field names.
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and ("[" in p or "-" in p)))
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field (not part of the format)"
    msg = msg.removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{_location(loc)}: {msg}{more}"
