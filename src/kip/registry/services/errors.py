"""Errors the services raise. Each names the field and the rule, in one line, so a form can put it
beside the field and the API can return it as JSON; the class says which HTTP status fits."""

from __future__ import annotations

from kip.protocol.errors import InputError


class ServiceError(Exception):
    """A request the rules refuse (422 in the API)."""

    status = 422

    def __init__(self, field: str, rule: str, message: str) -> None:
        self.field = field
        self.rule = rule
        self.message = message
        super().__init__(f"{field}: {message} ({rule})")

    @property
    def detail(self) -> str:
        return f"{self.field}: {self.message} ({self.rule})"


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


def from_input_error(exc: InputError) -> ServiceError:
    """The engine's `field: rule` line as a ServiceError; the engine's rule text is the message."""
    text = str(exc)
    field, sep, rest = text.partition(": ")
    if not sep:
        return ServiceError("input", "protocol.input", text)
    return ServiceError(field, "protocol.input", rest)
