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


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Every problem as (field, message), in pydantic's order, so a caller can report them all."""
    out: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        # Union and function validators put their own names into the location; keep only
        # field names.
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or "-" in p)))
        msg = error["msg"]
        if error["type"] == "missing":
            msg = "required field is missing"
        elif error["type"] == "extra_forbidden":
            msg = "unknown field (not part of the format)"
        out.append((_location(loc), msg.removeprefix("Value error, ")))
    return out


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem as `field: rule`, plus a count of any others."""
    problems = validation_problems(exc)
    field, msg = problems[0]
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"{field}: {msg}{more}"
