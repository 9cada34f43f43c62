"""Planning and scheduling the next infusion with kip.protocol.plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User

from kip.protocol import plan
from kip.protocol.errors import InputError
from kip.registry.access import Action
from kip.registry.models import Enrolment, Infusion, Patient
from kip.registry.models.choices import InfusionStatus
from kip.registry.services import engine_io
from kip.registry.services.common import (
    Source,
    get_infusion,
    get_patient,
    protocol_of,
    writing,
)
from kip.registry.services.errors import Conflict, ServiceError, from_input_error

# An infusion in one of these states is the patient's next one; a second may not be scheduled.
OPEN = (InfusionStatus.PLANNED, InfusionStatus.CHECKED_IN, InfusionStatus.RUNNING)
# A number left by an infusion that never ran is reused, so numbers stay the engine's count.
REUSABLE = (InfusionStatus.POSTPONED, InfusionStatus.CANCELLED)


@dataclass(frozen=True)
class Scheduled:
    infusion: Infusion
    plan: plan.PlanResult


def open_enrolment(patient: Patient) -> Enrolment | None:
    return Enrolment.objects.filter(patient=patient, ended_on__isnull=True).first()


def decide_plan(
    patient: Patient, on_date: date, infusion: Infusion | None = None
) -> plan.PlanResult:
    """Plan for `patient` on `on_date` (for `infusion` when it exists), without permission checks:
    callers have checked them."""
    enrolment = infusion.enrolment if infusion is not None else open_enrolment(patient)
    protocol_id = enrolment.protocol_id if enrolment is not None else ""
    request = engine_io.plan_request(patient, on_date, infusion, protocol_id)
    try:
        return plan.decide(request, protocol_of(request.protocol))
    except InputError as exc:
        raise from_input_error(exc) from None


def plan_next(user: User, patient_id: int, on_date: date) -> plan.PlanResult:
    """The engine's plan for the patient's next infusion on `on_date` (read only)."""
    patient = get_patient(user, patient_id, Action.VIEW_CLINICAL)
    return decide_plan(patient, on_date)


def plan_for_infusion(user: User, infusion_id: int) -> plan.PlanResult:
    """Plan for an infusion already scheduled, with its check results (the check-in list)."""
    infusion = get_infusion(user, infusion_id, Action.VIEW_CLINICAL)
    return decide_plan(infusion.patient, engine_io.infusion_day(infusion), infusion)


def schedule_infusion(
    user: User,
    patient_id: int,
    on_date: date,
    *,
    weight_kg: Decimal | None = None,
    source: Source = "app",
) -> Scheduled:
    """Schedule the patient's next infusion on `on_date`; refused when plan says not eligible."""
    patient = get_patient(user, patient_id, Action.RUN_INFUSION)
    enrolment = open_enrolment(patient)
    if enrolment is None:
        raise ServiceError("patient_id", "enrolment", "the patient has no open enrolment")
    if Infusion.objects.filter(patient=patient, status__in=OPEN).exists():
        raise Conflict(
            "patient_id", "schedule.one_open_infusion", "the patient already has an open infusion"
        )
    decision = decide_plan(patient, on_date)
    if not decision.eligible:
        first = decision.blockers[0]
        raise ServiceError("on_date", first.rule, f"not eligible: {first.text}")
    if decision.phase is None:
        raise ServiceError("on_date", "phases", "the protocol has no phase for this infusion")
    with writing(user, f"schedule infusion {decision.infusion_number}", source):
        infusion = Infusion.objects.filter(
            patient=patient, number=decision.infusion_number, status__in=REUSABLE
        ).first()
        if (
            infusion is None
            and Infusion.objects.filter(patient=patient, number=decision.infusion_number).exists()
        ):
            raise Conflict(
                "patient_id",
                "schedule.infusion_number",
                f"infusion {decision.infusion_number} already exists",
            )
        infusion = infusion or Infusion(patient=patient, number=decision.infusion_number)
        infusion.enrolment = enrolment
        infusion.phase = decision.phase
        infusion.protocol_id = decision.protocol
        infusion.protocol_version = decision.protocol_version
        infusion.planned_on = on_date
        infusion.status = InfusionStatus.PLANNED
        infusion.weight_kg = weight_kg if weight_kg is not None else patient.weight_kg
        infusion.save()
    return Scheduled(infusion, decision)
