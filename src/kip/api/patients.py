"""Patients, enrolment and planning."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from kip.api.auth import user_of
from kip.api.routing import operation
from kip.api.schemas import (
    MAX_ID,
    NO_NUL,
    ClearanceIn,
    ClearanceOut,
    Day,
    EnrolIn,
    EnrolmentEndIn,
    EnrolmentOut,
    InfusionSummary,
    PatientCreate,
    PatientOut,
    PatientUpdate,
    ScheduledOut,
    ScheduleIn,
)
from kip.protocol.plan import PlanResult
from kip.registry.access import Action
from kip.registry.services import clearances, patients, planning, program
from kip.registry.services.reads import PATIENT_LIST, log_export, log_view

router = Router(tags=["patients"])
PatientId = Annotated[int, Path(ge=1, le=MAX_ID)]


class PatientSearch(Schema):
    search: Annotated[str, Field(max_length=100, pattern=NO_NUL)] = ""
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class PlanQuery(Schema):
    on_date: Day


@operation(
    router,
    "GET",
    "/patients",
    name="api-patient-list",
    action=Action.VIEW_CLINICAL,
    response=list[PatientOut],
)
def patient_list(request: HttpRequest, filters: Query[PatientSearch]) -> list[PatientOut]:
    user = user_of(request)
    rows = patients.list_patients(user, filters.search)
    page = [PatientOut.of(p) for p in rows[filters.offset : filters.offset + filters.limit]]
    # Whole identified records of up to 500 patients a call: data taken out, not one record read.
    log_export(user, PATIENT_LIST, len(page), (p.research_id for p in page), source="api")
    return page


@operation(
    router,
    "POST",
    "/patients",
    name="api-patient-create",
    action=Action.EDIT_PATIENT,
    response={201: PatientOut},
)
def patient_create(request: HttpRequest, data: PatientCreate) -> Status[PatientOut]:
    fields = data.changes()
    fields.pop("site_id", None)
    fields.pop("enrol_on", None)
    patient = patients.create_patient(
        user_of(request), data.site_id, fields, enrol_on=data.enrol_on, source="api"
    )
    return Status(201, PatientOut.of(patient))


@operation(
    router,
    "GET",
    "/patients/{patient_id}",
    name="api-patient-detail",
    action=Action.VIEW_CLINICAL,
    response=PatientOut,
)
def patient_detail(request: HttpRequest, patient_id: PatientId) -> PatientOut:
    user = user_of(request)
    patient = patients.patient_detail(user, patient_id)
    out = PatientOut.of(patient)
    log_view(user, patient, source="api")
    return out


@operation(
    router,
    "PATCH",
    "/patients/{patient_id}",
    name="api-patient-update",
    action=Action.EDIT_PATIENT,
    response=PatientOut,
)
def patient_update(request: HttpRequest, patient_id: PatientId, data: PatientUpdate) -> PatientOut:
    changes = data.changes()
    reason = str(changes.pop("reason"))
    patient = patients.update_patient(
        user_of(request), patient_id, changes, reason=reason, source="api"
    )
    return PatientOut.of(patient)


@operation(
    router,
    "POST",
    "/patients/{patient_id}/enrolment",
    name="api-patient-enrol",
    action=Action.EDIT_PATIENT,
    response={201: EnrolmentOut},
)
def patient_enrol(
    request: HttpRequest, patient_id: PatientId, data: EnrolIn
) -> Status[EnrolmentOut]:
    enrolment = patients.enrol_patient(
        user_of(request), patient_id, data.started_on, protocol_id=data.protocol_id, source="api"
    )
    return Status(201, EnrolmentOut.of(enrolment))


@operation(
    router,
    "POST",
    "/patients/{patient_id}/enrolment/end",
    name="api-enrolment-end",
    action=Action.MANAGE_PROGRAM,
    response=EnrolmentOut,
)
def enrolment_end(
    request: HttpRequest, patient_id: PatientId, data: EnrolmentEndIn
) -> EnrolmentOut:
    enrolment = program.end_enrolment(
        user_of(request), patient_id, data.ended_on, data.end_reason, note=data.note, source="api"
    )
    return EnrolmentOut.of(enrolment)


@operation(
    router,
    "GET",
    "/patients/{patient_id}/plan",
    name="api-patient-plan",
    action=Action.VIEW_CLINICAL,
    response=PlanResult,
)
def patient_plan(
    request: HttpRequest, patient_id: PatientId, query: Query[PlanQuery]
) -> PlanResult:
    user = user_of(request)
    plan = planning.plan_next(user, patient_id, query.on_date)
    # The plan is read from the patient's record (weight, conditions, infusions so far).
    log_view(user, patients.patient_detail(user, patient_id), source="api")
    return plan


@operation(
    router,
    "POST",
    "/patients/{patient_id}/infusions",
    name="api-infusion-schedule",
    action=Action.RUN_INFUSION,
    response={201: ScheduledOut},
)
def infusion_schedule(
    request: HttpRequest, patient_id: PatientId, data: ScheduleIn
) -> Status[ScheduledOut]:
    weight = (
        None if data.weight_kg is None else Decimal(str(data.weight_kg)).quantize(Decimal("0.1"))
    )
    done = planning.schedule_infusion(
        user_of(request), patient_id, data.on_date, weight_kg=weight, source="api"
    )
    return Status(201, ScheduledOut(infusion=InfusionSummary.of(done.infusion), plan=done.plan))


@operation(
    router,
    "POST",
    "/patients/{patient_id}/clearances",
    name="api-exclusion-clear",
    action=Action.APPROVE_DEVIATION,
    response={201: ClearanceOut},
    summary="A physician clears one of the patient's soft exclusions after review",
)
def exclusion_clear(
    request: HttpRequest, patient_id: PatientId, data: ClearanceIn
) -> Status[ClearanceOut]:
    cleared = clearances.clear_exclusion(
        user_of(request), patient_id, data.exclusion_id, reason=data.reason, source="api"
    )
    return Status(201, ClearanceOut.of(cleared))
