"""Every error as JSON {"detail", "field", "rule"} with a status that fits; never a 500 for bad
input."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import ValidationError as PydanticValidationError

from kip.api.auth import Forbidden
from kip.protocol.errors import InputError, describe_validation_error
from kip.registry.services.errors import ServiceError, from_input_error


class ErrorOut(Schema):
    detail: str
    field: str
    rule: str


ERROR_STATUSES = (400, 401, 403, 404, 409, 422)


def responses(ok: dict[int, Any] | Any, *extra: int) -> dict[int, Any]:
    """The declared responses of a route: its success schema(s) and every error status."""
    out: dict[int, Any] = dict(ok) if isinstance(ok, dict) else {200: ok}
    for status in (*ERROR_STATUSES, *extra):
        out.setdefault(status, ErrorOut)
    return out


def _json(api: NinjaAPI, request: HttpRequest, status: int, error: ErrorOut) -> HttpResponse:
    return api.create_response(request, error.model_dump(), status=status)


def _field_of(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    # ninja nests the body under the parameter's name; drop it so the field reads as sent.
    return ".".join(parts[1:] if len(parts) > 1 and parts[0] in ("data", "filters") else parts)


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ServiceError)
    def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
        return _json(
            api, request, exc.status, ErrorOut(detail=exc.detail, field=exc.field, rule=exc.rule)
        )

    @api.exception_handler(InputError)
    def input_error(request: HttpRequest, exc: InputError) -> HttpResponse:
        err = from_input_error(exc)
        return _json(api, request, 422, ErrorOut(detail=err.detail, field=err.field, rule=err.rule))

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first: dict[str, Any] = exc.errors[0] if exc.errors else {}
        field = _field_of(first.get("loc", ())) or "input"
        message = str(first.get("msg", "invalid input"))
        rule = f"schema.{first.get('type', 'invalid')}"
        return _json(
            api, request, 422, ErrorOut(detail=f"{field}: {message}", field=field, rule=rule)
        )

    @api.exception_handler(PydanticValidationError)
    def pydantic_error(request: HttpRequest, exc: PydanticValidationError) -> HttpResponse:
        line = describe_validation_error(exc)
        field = line.partition(": ")[0]
        return _json(api, request, 422, ErrorOut(detail=line, field=field, rule="schema.invalid"))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = _json(
            api,
            request,
            401,
            ErrorOut(
                detail="sign in, or send a token or Basic credentials",
                field="authorization",
                rule="auth.required",
            ),
        )
        response["WWW-Authenticate"] = 'Basic realm="kip", charset="UTF-8"'
        return response

    @api.exception_handler(Forbidden)
    def forbidden(request: HttpRequest, exc: Forbidden) -> HttpResponse:
        rule = f"access.{exc.action.value}"
        return _json(api, request, 403, ErrorOut(detail=str(exc), field="user", rule=rule))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        status = exc.status_code
        rule = "auth.csrf" if status == 403 else f"http.{status}"
        return _json(api, request, status, ErrorOut(detail=str(exc), field="request", rule=rule))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _json(api, request, 404, ErrorOut(detail="not found", field="path", rule="http.404"))
