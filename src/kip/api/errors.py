"""Every error as JSON {"detail", "field", "rule", "errors"} with a status that fits; never a 500
for bad input. "detail", "field" and "rule" are the first error's; "errors" lists every error of
the request (one element when there is one), so a client can mark every refused field at once."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError, ValidationErrorContext
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from kip.api.auth import Forbidden, LoginThrottled
from kip.protocol.errors import InputError, validation_problems
from kip.protocol.wording import plain_message, with_field_bounds
from kip.registry.services.errors import ServiceError, from_input_error


class ErrorItem(Schema):
    field: str = Field(description="The refused field, as sent (dotted for nested values).")
    rule: str = Field(description="The rule's code: a protocol key, or schema.*, auth.*, http.*.")
    detail: str = Field(description="`field: message (rule)` or `field: message`, in one line.")


class ErrorOut(Schema):
    detail: str = Field(description="The first error, in one line.")
    field: str = Field(description="The first error's field.")
    rule: str = Field(description="The first error's rule.")
    errors: list[ErrorItem] = Field(
        min_length=1, description="Every error of the request, the first one first."
    )

    @staticmethod
    def of(items: list[ErrorItem]) -> ErrorOut:
        first = items[0]
        return ErrorOut(detail=first.detail, field=first.field, rule=first.rule, errors=items)

    @staticmethod
    def one(detail: str, field: str, rule: str) -> ErrorOut:
        return ErrorOut.of([ErrorItem(field=field, rule=rule, detail=detail)])


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


def _unique(items: list[ErrorItem]) -> list[ErrorItem]:
    """One error per field: the first one reported (a union's branches each refuse the same
    value, in other words)."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item.field not in seen:
            seen.add(item.field)
            out.append(item)
    return out


def schema_errors(errors: list[dict[str, Any]]) -> list[ErrorItem]:
    """ninja's request validation errors as ErrorItems, every one of them, in kip's words."""
    items = []
    for error in errors:
        field = _field_of(error.get("loc", ())) or "input"
        message = plain_message(error)
        rule = f"schema.{error.get('type', 'invalid')}"
        items.append(ErrorItem(field=field, rule=rule, detail=f"{field}: {message}"))
    return _unique(items) or [
        ErrorItem(field="input", rule="schema.invalid", detail="input: invalid input")
    ]


class KipNinjaAPI(NinjaAPI):
    """ninja's API, its request validation errors carrying each refused field's bounds, so that
    schema_errors can say "must be between 30 and 100" where pydantic names the broken bound
    only. Only here is the validated model known, and the location still relative to it."""

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext[Any]]
    ) -> ValidationError:
        result = super().validation_error_from_error_contexts(error_contexts)
        # ninja lists the errors in this same order, with their locations rewritten. Should a
        # later ninja list them otherwise, the broken bound alone is named: never a 500.
        raw = [
            (context.model, error["loc"])
            for context in error_contexts
            for error in context.pydantic_validation_error.errors(include_url=False)
        ]
        if len(raw) != len(result.errors):
            return result
        for out, (model, loc) in zip(result.errors, raw, strict=True):
            if isinstance(model, type) and issubclass(model, BaseModel):
                completed = with_field_bounds({**out, "loc": loc}, model)
                if "ctx" in completed:
                    out["ctx"] = completed["ctx"]
        return result


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ServiceError)
    def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
        items = [ErrorItem(field=e.field, rule=e.rule, detail=e.detail) for e in exc.errors]
        response = _json(api, request, exc.status, ErrorOut.of(items))
        if isinstance(exc, LoginThrottled):
            response["Retry-After"] = str(exc.wait)
        return response

    @api.exception_handler(InputError)
    def input_error(request: HttpRequest, exc: InputError) -> HttpResponse:
        err = from_input_error(exc)
        return _json(api, request, 422, ErrorOut.one(err.detail, err.field, err.rule))

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return _json(api, request, 422, ErrorOut.of(schema_errors(list(exc.errors))))

    @api.exception_handler(PydanticValidationError)
    def pydantic_error(request: HttpRequest, exc: PydanticValidationError) -> HttpResponse:
        items = [
            ErrorItem(field=field, rule="schema.invalid", detail=f"{field}: {message}")
            for field, message in validation_problems(exc)
        ]
        return _json(api, request, 422, ErrorOut.of(_unique(items)))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = _json(
            api,
            request,
            401,
            ErrorOut.one(
                "sign in, or send a token or Basic credentials", "authorization", "auth.required"
            ),
        )
        response["WWW-Authenticate"] = 'Basic realm="kip", charset="UTF-8"'
        return response

    @api.exception_handler(Forbidden)
    def forbidden(request: HttpRequest, exc: Forbidden) -> HttpResponse:
        rule = f"access.{exc.action.value}"
        return _json(api, request, 403, ErrorOut.one(str(exc), "user", rule))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        status = exc.status_code
        rule = "auth.csrf" if status == 403 else f"http.{status}"
        return _json(api, request, status, ErrorOut.one(str(exc), "request", rule))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _json(api, request, 404, ErrorOut.one("not found", "path", "http.404"))
