"""Reading form fields. Forms only parse what was typed; every clinical rule is the services'
(kip.registry.services), whose errors are shown beside the fields they name.

A refused submission names every field to correct at once: `Form` reads all the fields and keeps
each one that does not parse, and a view hands the values that did parse to the service's checks
(which read no database) before raising them all together (FieldErrors)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.http import QueryDict
from django.utils.text import slugify

from kip.registry.services.errors import Refusals, ServiceError

T = TypeVar("T")

# What a refusal calls a field on the clinic's pages: the label the form shows, so the nurse reads
# "Baseline pain (NPRS 0–10)" and not the service's code. The API keeps the codes (its contract);
# a field missing here is shown by its code.
LABELS: dict[str, str] = {
    # Flowsheet: check-in, checks, premedication, rate, vitals, events, end.
    "weight_kg": "Weight (kg)",
    "baseline_nprs": "Baseline pain (NPRS 0–10)",
    "baseline_function": "Baseline function",
    "baseline_satisfaction": "Baseline satisfaction",
    "baseline_analgesics": "Analgesics taken",
    "check_id": "Check",
    "status": "Status",
    "drug": "Drug",
    "minute": "Minute",
    "rate_mg_per_h": "Rate (mg/h)",
    "approve": "I approve a soft-limit deviation",
    "approved_by": "Approving physician",
    "deviation_reason": "Reason for the deviation",
    "temperature_c": "Temperature (°C)",
    "systolic_mmhg": "Systolic BP (mmHg)",
    "diastolic_mmhg": "Diastolic BP (mmHg)",
    "heart_rate_bpm": "Heart rate (bpm)",
    "spo2_pct": "SpO2 (%)",
    "respiratory_rate": "Respiratory rate",
    "term": "Event",
    "onset_minute": "Onset minute",
    "prn_id": "As-needed medication",
    "decision": "Physician decision",
    "resolution": "Resolution",
    "max_rate_tolerated": "Max tolerated (mg/h)",
    "max_rate_mg_per_h": "Max tolerated (mg/h)",
    "confirm_end": "Confirm ending the infusion",
    "infusion_id": "Infusion",
    "request_id": "Soft-limit request",
    # Patient page: scheduling and clearances.
    "on_date": "Date",
    "patient_id": "Patient",
    "exclusion_id": "Exclusion",
    # Follow-up call or visit, and the responder decision.
    "done_on": "Date of call/visit",
    "nprs": "Pain now (NPRS 0–10)",
    "qualifier": "Patient's words about relief",
    "functional_improvement": "Function improved",
    "analgesics_reduced": "Analgesics reduced",
    "relief_hours": "Relief lasted (hours)",
    "satisfaction": "Satisfaction",
    "adverse_events_reported": "Adverse events since",
    "pain_returned_to_baseline": "Pain back to baseline",
    "medication_change": "Pain medication change",
    "patient_choice": "Patient wants to",
    "other_stop_reason": "Other reason to stop",
    "note": "Note",
    "follow_up_id": "Follow-up",
    "agree": "Confirm or override",
    "confirm_agree": "Confirm the engine's classification",
    "responder": "Responder",
    "continuation": "Continuation",
    "stop_reason": "If stop: reason",
    "override_reason": "Reason for override",
    # Staff and service interruptions.
    "username": "Username",
    "first_name": "Given name",
    "last_name": "Family name",
    "password": "Initial password",
    "site_id": "Site",
    "role": "Role",
    "user_id": "Account",
    "membership_id": "Role at the site",
    "active": "Active",
    "starts_on": "From",
    "ends_on": "To",
    "reason": "Reason",
}


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class FieldErrors(ValueError):
    """Every refusal of one submission: the fields that do not parse, and the services' refusals
    of the values that did. `field` is the first one's, like a single error's."""

    def __init__(self, errors: Sequence[FieldError | ServiceError]) -> None:
        if not errors:
            raise ValueError("FieldErrors needs at least one error")
        self.errors = tuple(errors)
        self.field = errors[0].field
        super().__init__("; ".join(str(e) for e in errors))


# What a view catches to show the form again with its errors (NotFound is caught before it).
Refused = (ServiceError, FieldError, FieldErrors)


def label(field: str) -> str:
    """The form's label for a field code, or the code itself when no form names it."""
    return LABELS.get(field, field)


def error_text(exc: ServiceError | FieldError) -> str:
    """One error as a clinic page shows it: the field's label, the rule's text and (for a
    service's refusal) the rule's code."""
    if isinstance(exc, ServiceError):
        return f"{label(exc.field)}: {exc.message} ({exc.rule})"
    return f"{label(exc.field)}: {exc.message}"


@dataclass(frozen=True)
class Shown:
    """One error of a refused submission as the page shows it, beside `field`."""

    field: str
    text: str


def shown(exc: ServiceError | FieldError | FieldErrors, order: Sequence[str] = ()) -> list[Shown]:
    """Every error of a refusal, in the order of the form's fields (`order`: the names as
    submitted, which is the form's order); errors naming no submitted field come last."""
    singles: list[ServiceError | FieldError] = []
    for error in exc.errors if isinstance(exc, FieldErrors) else (exc,):
        singles.extend(error.errors if isinstance(error, ServiceError) else (error,))
    position = {name: i for i, name in enumerate(order)}
    items = [Shown(e.field, error_text(e)) for e in singles]
    return sorted(items, key=lambda item: position.get(item.field, len(position)))


def row_form(form: str, key: object) -> str:
    """The name of one copy of a form repeated per row or card ("role-12", "prn-7"): a refusal
    is shown in the row that was submitted, with its values, and the other rows stay as they
    were. The view names the copy it refuses with this; the template (the `row` filter) names
    each copy the same way, so the two cannot drift apart. The key becomes part of element ids,
    hence the slug."""
    return f"{form}-{slugify(str(key))}"


def refused_context(
    exc: ServiceError | FieldError | FieldErrors, form: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """What a page needs to show a refused form again: every error by form (the summary at the
    form's top, see _error.html), each beside its own field (the `field_error` and `invalid`
    tags), and the values as typed. For a form repeated per row, `form` is that row's
    (`row_form`)."""
    items = shown(exc, list(data.keys()))
    return {
        "errors": {form: items},
        "posted": data,
        "posted_form": form,
    }


class Form:
    """One submission read field by field. A field that does not parse is noted and read as
    missing (None), so that `check` reports every such field at once instead of the first."""

    def __init__(self, data: QueryDict) -> None:
        self.data = data
        self.errors: list[FieldError] = []

    def _read(self, parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except FieldError as exc:
            self.errors.append(exc)
            return None

    def refuse(self, name: str, message: str) -> None:
        self.errors.append(FieldError(name, message))

    def text(self, name: str, limit: int = 500) -> str:
        return text(self.data, name, limit)

    def checkbox(self, name: str) -> bool:
        return checkbox(self.data, name)

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        return self._read(lambda: decimal(self.data, name, required=required))

    def number(self, name: str, *, required: bool = False) -> float | None:
        value = self.decimal(name, required=required)
        return None if value is None else float(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        return self._read(lambda: integer(self.data, name, required=required))

    def boolean(self, name: str) -> bool | None:
        return self._read(lambda: boolean(self.data, name))

    def day(self, name: str, *, required: bool = False) -> date | None:
        return self._read(lambda: day(self.data, name, required=required))

    def choice(self, name: str, allowed: Sequence[str], message: str) -> str:
        """The selected value, "" when none is; one not in `allowed` is refused with `message`."""
        raw = self.data.get(name, "")
        if raw and raw not in allowed:
            self.refuse(name, message)
            return ""
        return raw

    def confirmed(self, name: str, what: str) -> None:
        self._read(lambda: confirmed(self.data, name, what))

    def check(self, values: Callable[[Refusals], object] | None = None) -> None:
        """Raise FieldErrors when a field did not parse, with the refusals `values` notes about
        the fields that did (a service's checks that read no database); the service itself is
        then not called. When every field parses, nothing is raised: the service checks them."""
        if not self.errors:
            return
        found = Refusals()
        if values is not None:
            values(found)
        # A field that did not parse was read as missing: its own error says why.
        unparsed = {e.field for e in self.errors}
        raise FieldErrors([*self.errors, *(e for e in found.found if e.field not in unparsed)])


def confirmed(data: QueryDict, name: str, what: str) -> None:
    """A required "I confirm" tick before an action that cannot be undone."""
    if not checkbox(data, name):
        raise FieldError(name, f"tick the box to confirm {what}")


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
