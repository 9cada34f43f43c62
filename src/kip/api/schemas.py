"""The API's request and response shapes. Every input is bounded (length, range, no NUL
characters, dates 1900-2100) so that no value a client can send reaches the database as an error;
outputs are built explicitly from the models so the identifiers shown are the ones chosen here."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field, Strict

from kip.protocol.adverse import AdverseEventResult, PrnOption
from kip.protocol.classify import ClassifyResult
from kip.protocol.model import PhysicianOption
from kip.protocol.plan import PlanResult
from kip.protocol.rate_check import ProposedRate
from kip.protocol.titrate import TitrateResult
from kip.registry.models import (
    AdverseEvent,
    CheckResult,
    DeviationRequest,
    Enrolment,
    ExclusionClearance,
    FollowUp,
    Infusion,
    MedicationDose,
    Membership,
    Patient,
    ResponseDecision,
    ServiceInterruption,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import (
    CompressionLocation,
    EndReason,
    Etiology,
    MedicationChange,
    PrimaryCancer,
    RadiationSite,
    Resolution,
    Sex,
    SurgeryType,
)

# Ids fit a JavaScript number and both databases' 64-bit keys.
MAX_ID = 2**53
NO_NUL = r"^[^\x00]*$"  # PostgreSQL refuses NUL in text

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_day(value: object) -> object:
    # pydantic would read 0 or "0" as 1970-01-01 (a Unix time); a date is sent as YYYY-MM-DD.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.match(value)):
        return value
    raise ValueError("must be a date, YYYY-MM-DD")


class In(Schema):
    """A request body: strict, so 1.5 is not an id and "yes" is not true."""

    model_config = ConfigDict(strict=True)


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Day = Annotated[
    date,
    Strict(False),
    BeforeValidator(_iso_day),
    Field(ge=date(1900, 1, 1), le=date(2100, 12, 31)),
]
Minute = Annotated[float, Field(ge=0, le=1440, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
Nprs = Annotated[int, Field(ge=0, le=10)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
Text32 = Annotated[str, Field(max_length=32, pattern=NO_NUL)]
Text64 = Annotated[str, Field(max_length=64, pattern=NO_NUL)]
Text100 = Annotated[str, Field(max_length=100, pattern=NO_NUL)]
Text200 = Annotated[str, Field(max_length=200, pattern=NO_NUL)]
Text500 = Annotated[str, Field(max_length=500, pattern=NO_NUL)]
Text1000 = Annotated[str, Field(max_length=1000, pattern=NO_NUL)]
Reason = Annotated[str, Field(max_length=500, pattern=NO_NUL, description="Why (audited).")]


def num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# --- patients ------------------------------------------------------------------------------


class PatientFields(In):
    """Editable patient fields; on update, only those sent change."""

    mrn: Annotated[str, Field(min_length=1, max_length=32, pattern=NO_NUL)] | None = None
    given_name: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)] | None = None
    family_name: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)] | None = None
    date_of_birth: Day | None = None
    sex: Annotated[Sex, Strict(False)] | None = None
    premenopausal: bool | None = None
    weight_kg: Annotated[float, Field(ge=20, le=400, allow_inf_nan=False)] | None = None
    primary_cancer: Annotated[PrimaryCancer, Strict(False)] | None = None
    metastases: bool | None = None
    etiology: Annotated[Etiology, Strict(False)] | None = None
    compression_location: Annotated[CompressionLocation, Strict(False)] | None = None
    cipn_regimen: Text64 | None = None
    surgery_type: Annotated[SurgeryType, Strict(False)] | None = None
    radiation_site: Annotated[RadiationSite, Strict(False)] | None = None
    diabetes_mellitus: bool | None = None
    prior_peripheral_neuropathy: bool | None = None
    other_conditions: Annotated[list[Code], Field(max_length=20)] | None = Field(
        default=None,
        description="Further exclusion conditions found at screening, by the protocol's "
        "exclusion ids (e.g. active_psychosis).",
    )

    def changes(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, value in self.model_dump(exclude_unset=True).items():
            if name == "weight_kg" and value is not None:
                value = Decimal(str(value)).quantize(Decimal("0.1"))
            # Blank text fields are stored as "" (Django's convention), never NULL.
            if value is None and name in BLANK_TEXT:
                value = ""
            out[name] = value
        return out


BLANK_TEXT = frozenset({"compression_location", "cipn_regimen", "surgery_type", "radiation_site"})


class PatientCreate(PatientFields):
    """A new patient: the fields the registry cannot do without are required here."""

    site_id: Id
    mrn: Annotated[str, Field(min_length=1, max_length=32, pattern=NO_NUL)]
    given_name: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]
    family_name: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]
    date_of_birth: Day
    sex: Annotated[Sex, Strict(False)]
    primary_cancer: Annotated[PrimaryCancer, Strict(False)]
    etiology: Annotated[Etiology, Strict(False)]
    enrol_on: Day | None = Field(default=None, description="Enrol in the program on this day.")


class PatientUpdate(PatientFields):
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]


class PatientOut(Schema):
    id: int
    research_id: str
    site_id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    premenopausal: bool | None
    weight_kg: float | None
    primary_cancer: str
    metastases: bool | None
    etiology: str
    compression_location: str
    cipn_regimen: str
    surgery_type: str
    radiation_site: str
    diabetes_mellitus: bool | None
    prior_peripheral_neuropathy: bool | None
    other_conditions: list[str]
    cleared_exclusions: list[str] = Field(description="Soft exclusions a physician has cleared.")
    enrolled: bool

    @staticmethod
    def of(p: Patient) -> PatientOut:
        return PatientOut(
            id=p.pk,
            research_id=p.research_id,
            site_id=p.site_id,
            mrn=p.mrn,
            given_name=p.given_name,
            family_name=p.family_name,
            date_of_birth=p.date_of_birth,
            sex=p.sex,
            premenopausal=p.premenopausal,
            weight_kg=num(p.weight_kg),
            primary_cancer=p.primary_cancer,
            metastases=p.metastases,
            etiology=p.etiology,
            compression_location=p.compression_location,
            cipn_regimen=p.cipn_regimen,
            surgery_type=p.surgery_type,
            radiation_site=p.radiation_site,
            diabetes_mellitus=p.diabetes_mellitus,
            prior_peripheral_neuropathy=p.prior_peripheral_neuropathy,
            other_conditions=list(p.other_conditions or []),
            cleared_exclusions=sorted(p.clearances.values_list("exclusion_id", flat=True)),
            enrolled=p.enrolments.filter(ended_on__isnull=True).exists(),
        )


class ResearchPatientOut(Schema):
    """De-identified: no name, MRN, date of birth or database id."""

    research_id: str
    sex: str
    primary_cancer: str
    metastases: bool | None
    etiology: str
    compression_location: str
    cipn_regimen: str
    surgery_type: str
    radiation_site: str
    infusions_given: int

    @staticmethod
    def of(p: Patient, given: int) -> ResearchPatientOut:
        return ResearchPatientOut(
            research_id=p.research_id,
            sex=p.sex,
            primary_cancer=p.primary_cancer,
            metastases=p.metastases,
            etiology=p.etiology,
            compression_location=p.compression_location,
            cipn_regimen=p.cipn_regimen,
            surgery_type=p.surgery_type,
            radiation_site=p.radiation_site,
            infusions_given=given,
        )


class EnrolIn(In):
    started_on: Day
    protocol_id: Code = "mskcc-2021"


class EnrolmentEndIn(In):
    ended_on: Day
    end_reason: Annotated[EndReason, Strict(False)]
    note: Text500 = ""


class EnrolmentOut(Schema):
    id: int
    patient_id: int
    protocol_id: str
    protocol_version: str
    started_on: date
    ended_on: date | None
    end_reason: str

    @staticmethod
    def of(e: Enrolment) -> EnrolmentOut:
        return EnrolmentOut(
            id=e.pk,
            patient_id=e.patient_id,
            protocol_id=e.protocol_id,
            protocol_version=e.protocol_version,
            started_on=e.started_on,
            ended_on=e.ended_on,
            end_reason=e.end_reason,
        )


# --- infusions -----------------------------------------------------------------------------


class ScheduleIn(In):
    on_date: Day
    weight_kg: Annotated[float, Field(ge=20, le=400, allow_inf_nan=False)] | None = None


class InfusionSummary(Schema):
    id: int
    patient_id: int
    number: int
    phase: str
    protocol_id: str
    protocol_version: str
    planned_on: date
    status: str
    weight_kg: float | None
    baseline_nprs: int | None
    baseline_function: str
    baseline_satisfaction: str
    baseline_analgesics: str
    started_at: datetime | None
    ended_at: datetime | None
    max_rate_mg_per_h: float | None
    end_note: str

    @staticmethod
    def of(i: Infusion) -> InfusionSummary:
        return InfusionSummary(
            id=i.pk,
            patient_id=i.patient_id,
            number=i.number,
            phase=i.phase,
            protocol_id=i.protocol_id,
            protocol_version=i.protocol_version,
            planned_on=i.planned_on,
            status=i.status,
            weight_kg=num(i.weight_kg),
            baseline_nprs=i.baseline_nprs,
            baseline_function=i.baseline_function,
            baseline_satisfaction=i.baseline_satisfaction,
            baseline_analgesics=i.baseline_analgesics,
            started_at=i.started_at,
            ended_at=i.ended_at,
            max_rate_mg_per_h=num(i.max_rate_mg_per_h),
            end_note=i.end_note,
        )


class ScheduledOut(Schema):
    infusion: InfusionSummary
    plan: PlanResult


class CheckInIn(In):
    weight_kg: Annotated[float, Field(ge=20, le=400, allow_inf_nan=False)] | None = None
    baseline_nprs: Nprs | None = None
    baseline_function: Text200 = ""
    baseline_satisfaction: Text200 = ""
    baseline_analgesics: Text500 = ""


class CheckIn(In):
    check_id: Code
    status: Literal["passed", "failed"]
    note: Text200 = ""
    reason: Reason = ""


class CheckOut(Schema):
    id: int
    check_id: str
    status: str
    note: str
    recorded_by: int
    recorded_at: datetime

    @staticmethod
    def of(c: CheckResult) -> CheckOut:
        return CheckOut(
            id=c.pk,
            check_id=c.check_id,
            status=c.status,
            note=c.note,
            recorded_by=c.recorded_by_id,
            recorded_at=c.recorded_at,
        )


class CheckRecordedOut(Schema):
    check: CheckOut
    plan: PlanResult


class PremedicationIn(In):
    drug: Code
    minute: Annotated[float, Field(ge=-240, le=1440, allow_inf_nan=False)] = -30


class StepOut(Schema):
    id: int
    minute: float
    rate_mg_per_h: float
    classification: str
    engine_action: str
    engine_rate_mg_per_h: float | None
    deviation_reason: str
    approved_by: int | None
    entered_by: int

    @staticmethod
    def of(s: TitrationStep) -> StepOut:
        return StepOut(
            id=s.pk,
            minute=float(s.minute),
            rate_mg_per_h=float(s.rate_mg_per_h),
            classification=s.classification,
            engine_action=s.engine_action,
            engine_rate_mg_per_h=num(s.engine_rate_mg_per_h),
            deviation_reason=s.deviation_reason,
            approved_by=s.approved_by_id,
            entered_by=s.entered_by_id,
        )


class RateIn(In):
    minute: Minute
    rate_mg_per_h: Rate
    approved_by: Id | None = Field(
        default=None, description="User id of the physician approving a soft-limit deviation."
    )
    reason: Reason = ""


class RateOut(Schema):
    step: StepOut
    classification: ProposedRate
    next_step: TitrateResult


class VitalsIn(In):
    minute: Minute
    temperature_c: Annotated[float, Field(ge=25, le=45, allow_inf_nan=False)] | None = None
    systolic_mmhg: Annotated[int, Field(ge=30, le=300)] | None = None
    diastolic_mmhg: Annotated[int, Field(ge=10, le=200)] | None = None
    heart_rate_bpm: Annotated[int, Field(ge=10, le=300)] | None = None
    spo2_pct: Annotated[int, Field(ge=30, le=100)] | None = None
    respiratory_rate: Annotated[int, Field(ge=0, le=80)] | None = None


class VitalsOut(Schema):
    id: int
    minute: float
    temperature_c: float | None
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    spo2_pct: int | None
    respiratory_rate: int | None

    @staticmethod
    def of(v: VitalSigns) -> VitalsOut:
        return VitalsOut(
            id=v.pk,
            minute=float(v.minute),
            temperature_c=num(v.temperature_c),
            systolic_mmhg=v.systolic_mmhg,
            diastolic_mmhg=v.diastolic_mmhg,
            heart_rate_bpm=v.heart_rate_bpm,
            spo2_pct=v.spo2_pct,
            respiratory_rate=v.respiratory_rate,
        )


class VitalsRecordedOut(Schema):
    vitals: VitalsOut
    next_step: TitrateResult | None


class EventIn(In):
    term: Code
    minute: Minute
    can_take_oral: bool = True
    self_resolved: bool = False
    note: Text500 = ""


class EventOut(Schema):
    id: int
    infusion_id: int
    term: str
    category: str
    onset_minute: float
    resolved_minute: float | None
    resolution: str
    physician_evaluated: bool
    evaluated_by: int | None
    physician_decision: str
    decided_minute: float | None
    note: str

    @staticmethod
    def of(e: AdverseEvent) -> EventOut:
        return EventOut(
            id=e.pk,
            infusion_id=e.infusion_id,
            term=e.term,
            category=e.category,
            onset_minute=float(e.onset_minute),
            resolved_minute=num(e.resolved_minute),
            resolution=e.resolution,
            physician_evaluated=e.physician_evaluated,
            evaluated_by=e.evaluated_by_id,
            physician_decision=e.physician_decision,
            decided_minute=num(e.decided_minute),
            note=e.note,
        )


class EventReportedOut(Schema):
    event: EventOut
    response: AdverseEventResult
    next_step: TitrateResult


class PrnIn(In):
    prn_id: Code
    minute: Minute
    can_take_oral: bool = True


class DoseOut(Schema):
    id: int
    kind: str
    drug: str
    route: str
    dose_mg: float
    minute: float
    prn_id: str
    adverse_event_id: int | None

    @staticmethod
    def of(d: MedicationDose) -> DoseOut:
        return DoseOut(
            id=d.pk,
            kind=d.kind,
            drug=d.drug,
            route=d.route,
            dose_mg=float(d.dose_mg),
            minute=float(d.minute),
            prn_id=d.prn_id,
            adverse_event_id=d.adverse_event_id,
        )


class PrnOut(Schema):
    dose: DoseOut
    option: PrnOption


class DecisionIn(In):
    decision: Annotated[PhysicianOption, Strict(False)]
    minute: Minute | None = Field(
        default=None, description="Session minute of the decision; default: now."
    )
    note: Text500 = ""


class DecisionOut(Schema):
    event: EventOut
    next_step: TitrateResult | None


class ResolveIn(In):
    minute: Minute
    resolution: Annotated[Resolution, Strict(False)]


class EndIn(In):
    stopped_early: bool = False
    max_rate_tolerated: Rate | None = None
    note: Text500 = ""


class FollowUpOut(Schema):
    id: int
    infusion_id: int | None = Field(description="None: an interruption call before any infusion.")
    patient_id: int
    kind: str
    due_on: date
    status: str
    done_on: date | None
    interruption_id: int | None
    nprs: int | None
    qualifier: str
    functional_improvement: bool | None
    analgesics_reduced: bool | None
    relief_hours: float | None
    relief_ongoing: bool
    satisfaction: str
    adverse_events_reported: str
    pain_returned_to_baseline: bool | None
    medication_change: str
    function_worse: bool | None
    mobility_worse: bool | None
    mood_worse: bool | None
    appetite_worse: bool | None
    note: str
    patient_choice: str
    adverse_event_limited: bool
    deceased: bool
    other_stop_reason: str

    @staticmethod
    def of(f: FollowUp) -> FollowUpOut:
        return FollowUpOut(
            id=f.pk,
            infusion_id=f.infusion_id,
            patient_id=f.patient_id,
            kind=f.kind,
            due_on=f.due_on,
            status=f.status,
            done_on=f.done_on,
            interruption_id=f.interruption_id,
            nprs=f.nprs,
            qualifier=f.qualifier,
            functional_improvement=f.functional_improvement,
            analgesics_reduced=f.analgesics_reduced,
            relief_hours=num(f.relief_hours),
            relief_ongoing=f.relief_ongoing,
            satisfaction=f.satisfaction,
            adverse_events_reported=f.adverse_events_reported,
            pain_returned_to_baseline=f.pain_returned_to_baseline,
            medication_change=f.medication_change,
            function_worse=f.function_worse,
            mobility_worse=f.mobility_worse,
            mood_worse=f.mood_worse,
            appetite_worse=f.appetite_worse,
            note=f.note,
            patient_choice=f.patient_choice,
            adverse_event_limited=f.adverse_event_limited,
            deceased=f.deceased,
            other_stop_reason=f.other_stop_reason,
        )


class EndOut(Schema):
    infusion: InfusionSummary
    follow_ups: list[FollowUpOut]


class DeviationRequestIn(In):
    minute: Minute
    rate_mg_per_h: Rate
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]


class DeviationDecisionIn(In):
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]


class DeviationRequestOut(Schema):
    id: int
    infusion_id: int
    minute: float
    rate_mg_per_h: float
    reason: str
    requested_by: int
    requested_at: datetime
    status: str
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str
    step_id: int | None

    @staticmethod
    def of(r: DeviationRequest) -> DeviationRequestOut:
        return DeviationRequestOut(
            id=r.pk,
            infusion_id=r.infusion_id,
            minute=float(r.minute),
            rate_mg_per_h=float(r.rate_mg_per_h),
            reason=r.reason,
            requested_by=r.requested_by_id,
            requested_at=r.requested_at,
            status=r.status,
            decided_by=r.decided_by_id,
            decided_at=r.decided_at,
            decision_reason=r.decision_reason,
            step_id=r.step_id,
        )


class DeviationRequestedOut(Schema):
    request: DeviationRequestOut
    classification: ProposedRate


class DeviationApprovedOut(Schema):
    request: DeviationRequestOut
    step: StepOut
    classification: ProposedRate = Field(description="As classified again at approval.")
    next_step: TitrateResult


class InfusionDetail(Schema):
    infusion: InfusionSummary
    checks: list[CheckOut]
    steps: list[StepOut]
    deviation_requests: list[DeviationRequestOut]
    vitals: list[VitalsOut]
    adverse_events: list[EventOut]
    doses: list[DoseOut]
    next_step: TitrateResult | None = Field(description="The engine's next step while running.")


class FollowUpIn(In):
    done_on: Day
    nprs: Nprs | None = None
    qualifier: Text200 = ""
    functional_improvement: bool | None = None
    analgesics_reduced: bool | None = None
    relief_hours: Annotated[float, Field(ge=0, le=99999, allow_inf_nan=False)] | None = None
    relief_ongoing: bool = False
    satisfaction: Text200 = ""
    adverse_events_reported: Text500 = ""
    pain_returned_to_baseline: bool | None = None
    medication_change: Annotated[MedicationChange, Strict(False)] | None = None
    function_worse: bool | None = None
    mobility_worse: bool | None = None
    mood_worse: bool | None = None
    appetite_worse: bool | None = None
    note: Text1000 = ""
    # Continuation inputs: each is a reason to stop whatever the response.
    patient_choice: Literal["continue", "stop"] | None = Field(
        default=None, description="What the patient wants; None: not said."
    )
    adverse_event_limited: bool = Field(
        default=False, description="Infusion-related adverse events limit going on."
    )
    deceased: bool = False
    other_stop_reason: Text200 = Field(default="", description="Another reason to stop.")
    reason: Reason = Field(default="", description="Required when the follow-up is already done.")


class FollowUpRecordedOut(Schema):
    follow_up: FollowUpOut
    classification: ClassifyResult | None


class ConfirmIn(In):
    agree: bool
    responder: bool | None = None
    continuation: Literal["continue", "stop", "pending"] | None = None
    stop_reason: Annotated[EndReason, Strict(False)] | None = None
    reason: Reason = ""


class ResponseDecisionOut(Schema):
    id: int
    infusion_id: int
    follow_up_id: int
    engine_responder: bool
    engine_continuation: str
    engine_duration_band: str
    responder: bool
    continuation: str
    stop_reason: str
    override_reason: str
    confirmed_by: int
    classification: ClassifyResult

    @staticmethod
    def of(d: ResponseDecision, verdict: ClassifyResult) -> ResponseDecisionOut:
        return ResponseDecisionOut(
            id=d.pk,
            infusion_id=d.infusion_id,
            follow_up_id=d.follow_up_id,
            engine_responder=d.engine_responder,
            engine_continuation=d.engine_continuation,
            engine_duration_band=d.engine_duration_band,
            responder=d.responder,
            continuation=d.continuation,
            stop_reason=d.stop_reason,
            override_reason=d.override_reason,
            confirmed_by=d.confirmed_by_id,
            classification=verdict,
        )


# --- program -------------------------------------------------------------------------------


class InterruptionIn(In):
    starts_on: Day
    ends_on: Day | None = None
    reason: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    site_id: Id | None = Field(default=None, description="None: every site.")


class InterruptionOut(Schema):
    id: int
    site_id: int | None
    starts_on: date
    ends_on: date | None
    reason: str

    @staticmethod
    def of(s: ServiceInterruption) -> InterruptionOut:
        return InterruptionOut(
            id=s.pk, site_id=s.site_id, starts_on=s.starts_on, ends_on=s.ends_on, reason=s.reason
        )


class InterruptionCreatedOut(Schema):
    interruption: InterruptionOut
    postponed_infusion_ids: list[int]
    call_ids: list[int]


class WorklistInfusion(Schema):
    infusion: InfusionSummary
    research_id: str
    patient_name: str


class WorklistOut(Schema):
    on_date: date
    until: date
    calls: list[FollowUpOut]
    infusions: list[WorklistInfusion]


class ClearanceIn(In):
    exclusion_id: Code
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]


class ClearanceOut(Schema):
    id: int
    patient_id: int
    exclusion_id: str
    protocol_id: str
    cleared_by: int
    reason: str
    cleared_at: datetime

    @staticmethod
    def of(c: ExclusionClearance) -> ClearanceOut:
        return ClearanceOut(
            id=c.pk,
            patient_id=c.patient_id,
            exclusion_id=c.exclusion_id,
            protocol_id=c.protocol_id,
            cleared_by=c.cleared_by_id,
            reason=c.reason,
            cleared_at=c.cleared_at,
        )


class TokenOut(Schema):
    token: str
    expires_in_seconds: int


class HealthOut(Schema):
    status: str


# --- administration ------------------------------------------------------------------------

RoleName = Literal["nurse", "physician", "researcher", "admin"]
AdminReason = Annotated[
    str, Field(min_length=1, max_length=500, pattern=NO_NUL, description="Why (audited).")
]
Name150 = Annotated[str, Field(max_length=150, pattern=NO_NUL)]


class AccountCreateIn(In):
    username: Annotated[str, Field(min_length=1, max_length=150, pattern=NO_NUL)]
    first_name: Name150 = ""
    last_name: Name150 = ""
    password: Annotated[
        str,
        Field(
            min_length=1,
            max_length=1000,
            pattern=NO_NUL,
            description="Initial password; the site's password rules apply.",
        ),
    ]
    site_id: Id
    role: RoleName
    reason: AdminReason


class MembershipIn(In):
    site_id: Id
    role: RoleName
    reason: AdminReason


class RoleIn(In):
    role: RoleName
    reason: AdminReason


class ReasonIn(In):
    reason: AdminReason


class ActiveIn(In):
    active: bool
    reason: AdminReason


class MembershipOut(Schema):
    id: int
    user_id: int
    username: str
    site_id: int
    site_code: str
    role: str = Field(description="nurse, physician, researcher or admin")

    @staticmethod
    def of(m: Membership) -> MembershipOut:
        return MembershipOut(
            id=m.pk,
            user_id=m.user_id,
            username=m.user.username,
            site_id=m.site_id,
            site_code=m.site.code,
            role=m.role,
        )


class AccountOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    is_active: bool


class StaffOut(AccountOut):
    memberships: list[MembershipOut] = Field(description="Roles at the caller's sites only.")
