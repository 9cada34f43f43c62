"""Errors the services raise. Each names the field and the rule, in one line, so a form can put it
beside the field and the API can return it as JSON; the class says which HTTP status fits.

A refusal of the submitted values names every field the rules refuse, not only the first: the
first error's field, rule and message stay on the exception (what a caller that reads one error
sees), and `errors` lists them all. A refusal of the record's state or of the user's rights
(404, 403, 409) stays single."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from kip.protocol.errors import InputError

T = TypeVar("T")


class ServiceError(Exception):
    """A request the rules refuse (422 in the API)."""

    status = 422

    def __init__(
        self, field: str, rule: str, message: str, *, further: Iterable[ServiceError] = ()
    ) -> None:
        self.field = field
        self.rule = rule
        self.message = message
        # Each further error is a single one (its own `further` is empty): see `together`.
        self.further: tuple[ServiceError, ...] = tuple(further)
        super().__init__(f"{field}: {message} ({rule})")

    @property
    def detail(self) -> str:
        return f"{self.field}: {self.message} ({self.rule})"

    @property
    def errors(self) -> tuple[ServiceError, ...]:
        """Every error of the refusal, this one first; read each one's field, rule, message."""
        return (self, *self.further)


class BadRequest(ServiceError):
    """Malformed input the engine cannot read (400)."""

    status = 400


class PermissionDenied(ServiceError):
    """The object is visible to the user, but their role does not grant the action (403)."""

    status = 403


class NotFound(ServiceError):
    """No such object, or one at a site the user does not belong to (404): other sites' records
    must not be told apart from records that do not exist."""

    status = 404


class Conflict(ServiceError):
    """The request is valid but the record is in the wrong state for it (409)."""

    status = 409


def together(errors: Iterable[ServiceError]) -> ServiceError:
    """One refusal (422) for several errors of values: the first one's field, rule and message,
    and the rest as `further` (errors that already hold several are spread out)."""
    single = [
        ServiceError(one.field, one.rule, one.message) for exc in errors for one in exc.errors
    ]
    if not single:
        raise ValueError("together() needs at least one error")
    first = single[0]
    return ServiceError(first.field, first.rule, first.message, further=single[1:])


class Refusals:
    """The value checks of one submission, run all before any is raised, so that the nurse sees
    every field to correct at once. One error per field: the first check that refuses a field
    names it (a second would mostly repeat the first in other words). Only refusals of values
    (422) are kept; one of state or rights (403, 404, 409) is raised as it comes."""

    def __init__(self) -> None:
        self.found: list[ServiceError] = []

    def __bool__(self) -> bool:
        return bool(self.found)

    @property
    def fields(self) -> set[str]:
        return {e.field for e in self.found}

    def add(self, error: ServiceError) -> None:
        for one in error.errors:
            if one.field not in self.fields:
                self.found.append(ServiceError(one.field, one.rule, one.message))

    def refuse(self, field: str, rule: str, message: str) -> None:
        self.add(ServiceError(field, rule, message))

    def check(self, compute: Callable[[], T]) -> T | None:
        """`compute()`, or None with its refusal noted."""
        try:
            return compute()
        except ServiceError as exc:
            if exc.status != ServiceError.status:
                raise
            self.add(exc)
            return None

    def raise_any(self) -> None:
        if self.found:
            raise together(self.found)


def from_input_error(exc: InputError) -> ServiceError:
    """The engine's `field: rule` line as a ServiceError; the engine's rule text is the message."""
    text = str(exc)
    field, sep, rest = text.partition(": ")
    if not sep:
        return ServiceError("input", "protocol.input", text)
    return ServiceError(field, "protocol.input", rest)
