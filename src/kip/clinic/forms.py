"""Reading form fields. Forms only parse what was typed; every clinical rule is the services'
(kip.registry.services), whose errors are shown beside the form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.http import QueryDict


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def text(data: QueryDict, name: str, limit: int = 500) -> str:
    return data.get(name, "").strip()[:limit]


def decimal(data: QueryDict, name: str, *, required: bool = False) -> Decimal | None:
    raw = data.get(name, "").strip().replace(",", ".")
    if not raw:
        if required:
            raise FieldError(name, "required")
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FieldError(name, f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise FieldError(name, f"{raw!r} is not a number")
    return value


def integer(data: QueryDict, name: str, *, required: bool = False) -> int | None:
    value = decimal(data, name, required=required)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise FieldError(name, "a whole number")
    return int(value)


def boolean(data: QueryDict, name: str) -> bool | None:
    """A yes / no / unknown select: "yes", "no" or empty."""
    raw = data.get(name, "")
    if raw == "yes":
        return True
    if raw == "no":
        return False
    if raw == "":
        return None
    raise FieldError(name, "yes, no or empty")


def checkbox(data: QueryDict, name: str) -> bool:
    return data.get(name) in {"on", "1", "yes", "true"}


def day(data: QueryDict, name: str, *, required: bool = False) -> date | None:
    raw = data.get(name, "").strip()
    if not raw:
        if required:
            raise FieldError(name, "required")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FieldError(name, f"{raw!r} is not a date (YYYY-MM-DD)") from None
