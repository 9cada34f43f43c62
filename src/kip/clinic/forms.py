"""Reading form fields. Forms only parse what was typed; every clinical rule is the services'
(kip.registry.services), whose errors are shown beside the form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.http import QueryDict

from kip.registry.services.errors import ServiceError

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


def label(field: str) -> str:
    """The form's label for a field code, or the code itself when no form names it."""
    return LABELS.get(field, field)


def error_text(exc: ServiceError | FieldError) -> str:
    """A refusal as a clinic page shows it: the field's label, the rule's text and (for a
    service's refusal) the rule's code."""
    if isinstance(exc, ServiceError):
        return f"{label(exc.field)}: {exc.message} ({exc.rule})"
    return f"{label(exc.field)}: {exc.message}"


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
