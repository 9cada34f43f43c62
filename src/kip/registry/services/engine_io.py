"""Registry rows as engine requests. The only place that maps models to `kip.protocol` inputs, so
the pages, the API and the services all ask the engine the same question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Q
from pydantic import BaseModel, ValidationError

from kip.protocol import classify, plan, titrate
from kip.protocol.adverse import GivenDose
from kip.protocol.common import Patient as EnginePatient
from kip.protocol.common import Sex, Vitals
from kip.protocol.errors import validation_problems
from kip.protocol.model import PhysicianOption, Route
from kip.protocol.session import RateChange
from kip.registry.models import (
    AdverseEvent,
    CheckResult,
    Enrolment,
    ExclusionClearance,
    FollowUp,
    Infusion,
    MedicationDose,
    Patient,
    ServiceInterruption,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import (
    DoseKind,
    FollowUpKind,
    FollowUpStatus,
    InfusionStatus,
    Resolution,
)
from kip.registry.prepared import Prepared
from kip.registry.services.errors import Refusals, together

M = TypeVar("M", bound=BaseModel)

# Infusions that were given (a stopped one was given too); they are the engine's history.
GIVEN = (InfusionStatus.COMPLETED, InfusionStatus.STOPPED)
# Follow-ups that assess response; interruption calls record the pause, not a response.
ASSESSING = (FollowUpKind.CALL_24H, FollowUpKind.CLINIC_VISIT)


def build(model: type[M], **fields: Any) -> M:
    """An engine request from registry values; the values the engine refuses become one
    ServiceError naming each of them (one error per field, the first pydantic reports)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        found = Refusals()
        # With the model, a reading beyond its bounds names both ("must be between 30 and 100"),
        # as the clinic's own range checks say it.
        for field, message in validation_problems(exc, model):
            found.refuse(field, "protocol.input", message)
        raise together(found.found) from None


def num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def patient_input(
    patient: Patient, on_date: date, weight_kg: Decimal | None = None
) -> EnginePatient:
    weight = weight_kg if weight_kg is not None else patient.weight_kg
    return build(
        EnginePatient,
        sex=Sex(patient.sex),
        age_years=patient.age_on(on_date),
        weight_kg=num(weight),
        premenopausal=patient.premenopausal,
        conditions=patient.conditions,
    )


# The plan's questions (history, assessments, checks, clearances, interruptions, enrolments) are
# asked on every check-in, start and first rate, so their SQL is built once (kip.registry.prepared).
_GIVEN = Prepared(
    lambda patient_id: Infusion.objects.filter(patient_id=patient_id, status__in=GIVEN).order_by(
        "number"
    ),
    arity=1,
)
_GIVEN_BEFORE = Prepared(
    lambda patient_id, number: Infusion.objects.filter(
        patient_id=patient_id, status__in=GIVEN, number__lt=number
    ).order_by("number"),
    arity=2,
)
_ASSESSING_FOLLOW_UPS = Prepared(
    lambda patient_id: (
        FollowUp.objects.select_related("infusion")
        .filter(infusion__patient_id=patient_id, status=FollowUpStatus.DONE, kind__in=ASSESSING)
        .order_by()
    ),
    arity=1,
)
_CHECK_RESULTS = Prepared(
    lambda infusion_id: CheckResult.objects.filter(infusion_id=infusion_id).order_by("pk"),
    arity=1,
)
_CLEARANCES = Prepared(
    lambda patient_id: ExclusionClearance.objects.filter(patient_id=patient_id).order_by(
        "exclusion_id"
    ),
    arity=1,
)
_INTERRUPTIONS = Prepared(
    lambda site_id: ServiceInterruption.objects.filter(
        Q(site__isnull=True) | Q(site_id=site_id)
    ).order_by("starts_on", "pk"),
    arity=1,
)
_ENROLMENTS_LATEST_FIRST = Prepared(
    lambda patient_id: Enrolment.objects.filter(patient_id=patient_id).order_by(
        "-started_on", "-pk"
    ),
    arity=1,
)


def given_infusions(patient: Patient, before_number: int | None = None) -> list[Infusion]:
    """Infusions given to the patient, oldest first; before `before_number` when it is set."""
    if before_number is None:
        return _GIVEN(patient.pk)
    return _GIVEN_BEFORE(patient.pk, before_number)


def infusion_day(infusion: Infusion) -> date:
    """The day the infusion is (or was) given: the day it was planned for. Its clock times are
    kept apart (started_at, ended_at), so records entered after the fact keep their own day."""
    return infusion.planned_on


def assessment_of(follow_up: FollowUp, infusion_number: int) -> classify.Assessment:
    """A recorded follow-up as the engine's assessment of the infusion it follows, with the
    continuation inputs (the patient's choice, adverse events, death, another reason to stop)."""
    infusion = follow_up.infusion
    return build(
        classify.Assessment,
        infusion_number=infusion_number,
        baseline_nprs=None if infusion is None else infusion.baseline_nprs,
        nprs=follow_up.nprs,
        qualifier=follow_up.qualifier or None,
        functional_improvement=follow_up.functional_improvement,
        analgesics_reduced=follow_up.analgesics_reduced,
        relief_hours=num(follow_up.relief_hours),
        relief_ongoing=follow_up.relief_ongoing,
        adverse_event_limited=follow_up.adverse_event_limited,
        patient_choice=follow_up.patient_choice or None,
        deceased=follow_up.deceased,
        other_stop_reason=follow_up.other_stop_reason.strip() or None,
    )


def assessments(history: list[Infusion]) -> list[classify.Assessment]:
    """Done follow-ups of the given infusions, the 24-hour call before the clinic visit so that
    plan takes the visit as the latest word on an infusion."""
    if not history:
        return []
    position = {inf.pk: i + 1 for i, inf in enumerate(history)}
    # The patient's assessing follow-ups, kept for the infusions in `history` (one query whose
    # SQL does not depend on how many infusions there are).
    rows = [f for f in _ASSESSING_FOLLOW_UPS(history[0].patient_id) if f.infusion_id in position]
    order = {FollowUpKind.CALL_24H: 0, FollowUpKind.CLINIC_VISIT: 1}

    def number(f: FollowUp) -> int:
        # Assessing follow-ups always follow an infusion (only interruption calls may not).
        return position[f.infusion_id] if f.infusion_id is not None else 0

    done = sorted(
        rows,
        key=lambda f: (number(f), order[FollowUpKind(f.kind)], f.done_on, f.pk),
    )
    return [assessment_of(f, number(f)) for f in done]


def interruptions_for(patient: Patient) -> list[ServiceInterruption]:
    return _INTERRUPTIONS(patient.site_id)


def interruption_inputs(patient: Patient) -> list[plan.ServiceInterruption]:
    return [
        build(plan.ServiceInterruption, start=s.starts_on, end=s.ends_on, reason=s.reason)
        for s in interruptions_for(patient)
    ]


def enrolment_end(patient: Patient) -> plan.EnrolmentEnd | None:
    """The end of the latest enrolment, when no enrolment is open."""
    enrolments = _ENROLMENTS_LATEST_FIRST(patient.pk)
    if not enrolments or any(e.ended_on is None for e in enrolments):
        return None
    last = enrolments[0]
    if last.ended_on is None:
        return None
    return build(
        plan.EnrolmentEnd, date=last.ended_on, reason=last.get_end_reason_display() or "ended"
    )


def cleared_exclusions(patient: Patient) -> list[str]:
    """Soft exclusions a physician has reviewed and cleared for this patient."""
    return [c.exclusion_id for c in _CLEARANCES(patient.pk)]


def check_results(infusion: Infusion | None) -> dict[str, plan.CheckStatus]:
    if infusion is None:
        return {}
    return {c.check_id: plan.CheckStatus(c.status) for c in _CHECK_RESULTS(infusion.pk)}


def plan_request(
    patient: Patient, on_date: date, infusion: Infusion | None = None, protocol_id: str = ""
) -> plan.PlanRequest:
    """Plan's question for the patient's next infusion on `on_date`, or for `infusion` itself."""
    history = given_infusions(patient, infusion.number if infusion else None)
    weight = infusion.weight_kg if infusion is not None else None
    return build(
        plan.PlanRequest,
        protocol=protocol_id or (infusion.protocol_id if infusion else "mskcc-2021"),
        on_date=on_date,
        patient=patient_input(patient, on_date, weight),
        history=[
            build(
                plan.PriorInfusion,
                date=infusion_day(inf),
                max_rate_mg_per_h=num(inf.max_rate_mg_per_h),
            )
            for inf in history
        ],
        assessments=assessments(history),
        check_results=check_results(infusion),
        cleared_by_physician=cleared_exclusions(patient),
        service_interruptions=interruption_inputs(patient),
        enrolment_end=enrolment_end(patient),
    )


# Read on every rate and vitals write, so built once (kip.registry.prepared).
_STEPS = Prepared(
    lambda infusion_id: TitrationStep.objects.filter(infusion_id=infusion_id).order_by(
        "minute", "pk"
    ),
    arity=1,
)
_ONGOING_EVENTS = Prepared(
    lambda infusion_id: AdverseEvent.objects.filter(
        infusion_id=infusion_id, resolution=Resolution.ONGOING
    ).order_by("onset_minute", "pk"),
    arity=1,
)

_LATEST_VITALS = Prepared(
    lambda infusion_id, minute: VitalSigns.objects.filter(
        infusion_id=infusion_id, minute__lte=minute
    ).order_by("-minute", "-pk")[:1],
    arity=2,
)


def steps_of(infusion: Infusion) -> list[TitrationStep]:
    """Every rate change of the infusion, in the order titrate reads them."""
    return _STEPS(infusion.pk)


def rate_changes(steps: list[TitrationStep], up_to_minute: float | None = None) -> list[RateChange]:
    return [
        build(RateChange, minute=float(s.minute), rate_mg_per_h=float(s.rate_mg_per_h))
        for s in steps
        if up_to_minute is None or float(s.minute) <= up_to_minute
    ]


def rate_history(infusion: Infusion, up_to_minute: float | None = None) -> list[RateChange]:
    return rate_changes(steps_of(infusion), up_to_minute)


def vitals_input(row: VitalSigns) -> Vitals:
    return build(
        Vitals,
        minute=float(row.minute),
        temperature_c=num(row.temperature_c),
        systolic_mmhg=None if row.systolic_mmhg is None else float(row.systolic_mmhg),
        diastolic_mmhg=None if row.diastolic_mmhg is None else float(row.diastolic_mmhg),
        heart_rate_bpm=None if row.heart_rate_bpm is None else float(row.heart_rate_bpm),
        spo2_pct=None if row.spo2_pct is None else float(row.spo2_pct),
        respiratory_rate=None if row.respiratory_rate is None else float(row.respiratory_rate),
    )


def latest_vitals_row(infusion: Infusion, up_to_minute: float) -> VitalSigns | None:
    found = _LATEST_VITALS(infusion.pk, Decimal(str(up_to_minute)))
    return found[0] if found else None


def latest_vitals(infusion: Infusion, up_to_minute: float) -> Vitals | None:
    row = latest_vitals_row(infusion, up_to_minute)
    return None if row is None else vitals_input(row)


def active_events(infusion: Infusion) -> list[AdverseEvent]:
    return _ONGOING_EVENTS(infusion.pk)


def given_doses(infusion: Infusion, up_to_minute: float) -> list[GivenDose]:
    rows = MedicationDose.objects.filter(
        infusion=infusion, minute__lte=Decimal(str(up_to_minute))
    ).order_by("minute", "pk")
    return [
        build(
            GivenDose,
            drug=d.drug,
            route=Route(d.route),
            dose_mg=float(d.dose_mg),
            minute=float(d.minute),
            premedication=d.kind == DoseKind.PREMEDICATION,
        )
        for d in rows
    ]


def decision_minute(event: AdverseEvent, elapsed_minutes: float) -> float:
    """When the physician decided: a reduction is measured from the rate running then, so it is
    applied once. Decisions recorded before the registry kept the minute (migration 0004) fall
    back to the event's onset. Never after the minute asked about."""
    at = event.decided_minute if event.decided_minute is not None else event.onset_minute
    return min(float(at), elapsed_minutes)


@dataclass(frozen=True)
class SessionRows:
    """The rows titrate's question is built from, read once so that a write can hand what it has
    just read (and written) to the next step instead of reading it all again."""

    steps: list[TitrationStep]  # every rate change, ordered by (minute, pk): steps_of
    events: list[AdverseEvent]  # the ongoing adverse events: active_events
    vitals: VitalSigns | None  # the latest set at or before the minute asked about


def session_rows(infusion: Infusion, elapsed_minutes: float) -> SessionRows:
    return SessionRows(
        steps=steps_of(infusion),
        events=active_events(infusion),
        vitals=latest_vitals_row(infusion, elapsed_minutes),
    )


def titrate_request(
    infusion: Infusion,
    elapsed_minutes: float,
    *,
    proposed_rate: float | None = None,
    start_rate: float | None = None,
    rows: SessionRows | None = None,
) -> titrate.TitrateRequest:
    """Titrate's question for the session as stored, at `elapsed_minutes` (from `rows` when the
    caller has them: session_rows at the same minute, or the same plus what it wrote since)."""
    if rows is None:
        rows = session_rows(infusion, elapsed_minutes)
    events = rows.events
    decided = [e for e in events if e.physician_decision]
    decision = decided[-1] if decided else None
    weight = infusion.weight_kg if infusion.weight_kg is not None else infusion.patient.weight_kg
    return build(
        titrate.TitrateRequest,
        protocol=infusion.protocol_id,
        infusion_number=infusion.number,
        patient_weight_kg=num(weight),
        elapsed_minutes=elapsed_minutes,
        rate_history=rate_changes(rows.steps, elapsed_minutes),
        active_adverse_events=[e.term for e in events],
        physician_decision=PhysicianOption(decision.physician_decision) if decision else None,
        physician_decision_minute=None
        if decision is None
        else decision_minute(decision, elapsed_minutes),
        undecided_adverse_events=[e.term for e in events if not e.physician_decision]
        if decision is not None
        else [],
        vitals=None if rows.vitals is None else vitals_input(rows.vitals),
        start_rate_mg_per_h=start_rate,
        proposed_rate_mg_per_h=proposed_rate,
    )
