"""An infusion session: detail with the engine's next step, check-in, checks, premedication,
start, rates, vitals, adverse events, PRN doses, physician decisions, end."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Router, Status

from kip.api.auth import user_of
from kip.api.routing import operation
from kip.api.schemas import (
    MAX_ID,
    CheckIn,
    CheckInIn,
    CheckOut,
    CheckRecordedOut,
    DecisionIn,
    DecisionOut,
    DeviationApprovedOut,
    DeviationDecisionIn,
    DeviationRequestedOut,
    DeviationRequestIn,
    DeviationRequestOut,
    DoseOut,
    EndIn,
    EndOut,
    EventIn,
    EventOut,
    EventReportedOut,
    FollowUpOut,
    InfusionDetail,
    InfusionSummary,
    PremedicationIn,
    PrnIn,
    PrnOut,
    RateIn,
    RateOut,
    ResolveIn,
    StepOut,
    VitalsIn,
    VitalsOut,
    VitalsRecordedOut,
)
from kip.protocol.plan import PlanResult
from kip.registry.access import Action
from kip.registry.models import (
    AdverseEvent,
    CheckResult,
    DeviationRequest,
    MedicationDose,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import CheckStatus
from kip.registry.services import deviations, events, planning, sessions
from kip.registry.services.common import get_infusion
from kip.registry.services.reads import log_view

router = Router(tags=["infusions"])
InfusionId = Annotated[int, Path(ge=1, le=MAX_ID)]
EventId = Annotated[int, Path(ge=1, le=MAX_ID)]
RequestId = Annotated[int, Path(ge=1, le=MAX_ID)]


def detail(request: HttpRequest, infusion_id: int) -> InfusionDetail:
    user = user_of(request)
    infusion = get_infusion(user, infusion_id, Action.VIEW_CLINICAL)
    out = InfusionDetail(
        infusion=InfusionSummary.of(infusion),
        checks=[CheckOut.of(c) for c in CheckResult.objects.filter(infusion=infusion)],
        steps=[StepOut.of(s) for s in TitrationStep.objects.filter(infusion=infusion)],
        deviation_requests=[
            DeviationRequestOut.of(r) for r in DeviationRequest.objects.filter(infusion=infusion)
        ],
        vitals=[VitalsOut.of(v) for v in VitalSigns.objects.filter(infusion=infusion)],
        adverse_events=[EventOut.of(e) for e in AdverseEvent.objects.filter(infusion=infusion)],
        doses=[DoseOut.of(d) for d in MedicationDose.objects.filter(infusion=infusion)],
        next_step=sessions.next_step(user, infusion.pk),
    )
    log_view(user, infusion, source="api")
    return out


@operation(
    router,
    "GET",
    "/infusions/{infusion_id}",
    name="api-infusion-detail",
    action=Action.VIEW_CLINICAL,
    response=InfusionDetail,
)
def infusion_detail(request: HttpRequest, infusion_id: InfusionId) -> InfusionDetail:
    return detail(request, infusion_id)


@operation(
    router,
    "GET",
    "/infusions/{infusion_id}/plan",
    name="api-infusion-plan",
    action=Action.VIEW_CLINICAL,
    response=PlanResult,
)
def infusion_plan(request: HttpRequest, infusion_id: InfusionId) -> PlanResult:
    user = user_of(request)
    plan = planning.plan_for_infusion(user, infusion_id)
    # The plan is read from the infusion's record (weight, checks, doses given).
    log_view(user, get_infusion(user, infusion_id, Action.VIEW_CLINICAL), source="api")
    return plan


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/check-in",
    name="api-infusion-check-in",
    action=Action.RUN_INFUSION,
    response=InfusionSummary,
)
def infusion_check_in(
    request: HttpRequest, infusion_id: InfusionId, data: CheckInIn
) -> InfusionSummary:
    weight = (
        None if data.weight_kg is None else Decimal(str(data.weight_kg)).quantize(Decimal("0.1"))
    )
    infusion = sessions.check_in(
        user_of(request),
        infusion_id,
        weight_kg=weight,
        baseline_nprs=data.baseline_nprs,
        baseline_function=data.baseline_function,
        baseline_satisfaction=data.baseline_satisfaction,
        baseline_analgesics=data.baseline_analgesics,
        source="api",
    )
    return InfusionSummary.of(infusion)


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/checks",
    name="api-infusion-check",
    action=Action.RUN_INFUSION,
    response=CheckRecordedOut,
)
def infusion_check(
    request: HttpRequest, infusion_id: InfusionId, data: CheckIn
) -> CheckRecordedOut:
    result, decision = sessions.record_check(
        user_of(request),
        infusion_id,
        data.check_id,
        CheckStatus(data.status),
        note=data.note,
        reason=data.reason,
        source="api",
    )
    return CheckRecordedOut(check=CheckOut.of(result), plan=decision)


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/premedication",
    name="api-infusion-premedication",
    action=Action.RUN_INFUSION,
    response={201: DoseOut},
)
def infusion_premedication(
    request: HttpRequest, infusion_id: InfusionId, data: PremedicationIn
) -> Status[DoseOut]:
    dose = sessions.give_premedication(
        user_of(request), infusion_id, data.drug, minute=data.minute, source="api"
    )
    return Status(201, DoseOut.of(dose))


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/start",
    name="api-infusion-start",
    action=Action.RUN_INFUSION,
    response=InfusionSummary,
)
def infusion_start(request: HttpRequest, infusion_id: InfusionId) -> InfusionSummary:
    return InfusionSummary.of(sessions.start_infusion(user_of(request), infusion_id, source="api"))


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/rates",
    name="api-infusion-rate",
    action=Action.RUN_INFUSION,
    response={201: RateOut},
)
def infusion_rate(request: HttpRequest, infusion_id: InfusionId, data: RateIn) -> Status[RateOut]:
    done = sessions.record_rate(
        user_of(request),
        infusion_id,
        data.minute,
        data.rate_mg_per_h,
        approved_by_id=data.approved_by,
        reason=data.reason,
        source="api",
    )
    out = RateOut(step=StepOut.of(done.step), classification=done.proposed, next_step=done.next)
    return Status(201, out)


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/vitals",
    name="api-infusion-vitals",
    action=Action.RUN_INFUSION,
    response={201: VitalsRecordedOut},
)
def infusion_vitals(
    request: HttpRequest, infusion_id: InfusionId, data: VitalsIn
) -> Status[VitalsRecordedOut]:
    done = sessions.record_vitals(
        user_of(request),
        infusion_id,
        data.minute,
        temperature_c=data.temperature_c,
        systolic_mmhg=data.systolic_mmhg,
        diastolic_mmhg=data.diastolic_mmhg,
        heart_rate_bpm=data.heart_rate_bpm,
        spo2_pct=data.spo2_pct,
        respiratory_rate=data.respiratory_rate,
        source="api",
    )
    return Status(201, VitalsRecordedOut(vitals=VitalsOut.of(done.vitals), next_step=done.next))


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/adverse-events",
    name="api-adverse-event-report",
    action=Action.RUN_INFUSION,
    response={201: EventReportedOut},
)
def adverse_event_report(
    request: HttpRequest, infusion_id: InfusionId, data: EventIn
) -> Status[EventReportedOut]:
    done = events.report_adverse_event(
        user_of(request),
        infusion_id,
        data.term,
        data.minute,
        can_take_oral=data.can_take_oral,
        self_resolved=data.self_resolved,
        note=data.note,
        source="api",
    )
    out = EventReportedOut(
        event=EventOut.of(done.event), response=done.response, next_step=done.next
    )
    return Status(201, out)


@operation(
    router,
    "POST",
    "/adverse-events/{event_id}/prn",
    name="api-adverse-event-prn",
    action=Action.RUN_INFUSION,
    response={201: PrnOut},
)
def adverse_event_prn(request: HttpRequest, event_id: EventId, data: PrnIn) -> Status[PrnOut]:
    done = events.give_prn(
        user_of(request),
        event_id,
        data.prn_id,
        data.minute,
        can_take_oral=data.can_take_oral,
        source="api",
    )
    return Status(201, PrnOut(dose=DoseOut.of(done.dose), option=done.option))


@operation(
    router,
    "POST",
    "/adverse-events/{event_id}/decision",
    name="api-adverse-event-decision",
    action=Action.APPROVE_DEVIATION,
    response=DecisionOut,
)
def adverse_event_decision(
    request: HttpRequest, event_id: EventId, data: DecisionIn
) -> DecisionOut:
    done = events.physician_decision(
        user_of(request), event_id, data.decision, minute=data.minute, note=data.note, source="api"
    )
    return DecisionOut(event=EventOut.of(done.event), next_step=done.next)


@operation(
    router,
    "POST",
    "/adverse-events/{event_id}/resolve",
    name="api-adverse-event-resolve",
    action=Action.RUN_INFUSION,
    response=EventOut,
)
def adverse_event_resolve(request: HttpRequest, event_id: EventId, data: ResolveIn) -> EventOut:
    event = events.resolve_adverse_event(
        user_of(request), event_id, data.minute, data.resolution, source="api"
    )
    return EventOut.of(event)


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/end",
    name="api-infusion-end",
    action=Action.RUN_INFUSION,
    response=EndOut,
)
def infusion_end(request: HttpRequest, infusion_id: InfusionId, data: EndIn) -> EndOut:
    done = sessions.end_infusion(
        user_of(request),
        infusion_id,
        stopped_early=data.stopped_early,
        max_rate_tolerated=data.max_rate_tolerated,
        note=data.note,
        source="api",
    )
    return EndOut(
        infusion=InfusionSummary.of(done.infusion),
        follow_ups=[FollowUpOut.of(f) for f in done.follow_ups],
    )


@operation(
    router,
    "POST",
    "/infusions/{infusion_id}/deviation-requests",
    name="api-deviation-request",
    action=Action.RUN_INFUSION,
    response={201: DeviationRequestedOut},
    summary="A nurse asks a physician to approve a soft-limit rate",
)
def deviation_request(
    request: HttpRequest, infusion_id: InfusionId, data: DeviationRequestIn
) -> Status[DeviationRequestedOut]:
    done = deviations.request_deviation(
        user_of(request),
        infusion_id,
        data.minute,
        data.rate_mg_per_h,
        reason=data.reason,
        source="api",
    )
    out = DeviationRequestedOut(
        request=DeviationRequestOut.of(done.request), classification=done.proposed
    )
    return Status(201, out)


@operation(
    router,
    "POST",
    "/deviation-requests/{request_id}/approval",
    name="api-deviation-approve",
    action=Action.APPROVE_DEVIATION,
    response={201: DeviationApprovedOut},
    summary="A physician at the site approves a requested soft-limit rate (stores the step)",
)
def deviation_approve(
    request: HttpRequest, request_id: RequestId, data: DeviationDecisionIn
) -> Status[DeviationApprovedOut]:
    done = deviations.approve_deviation(
        user_of(request), request_id, reason=data.reason, source="api"
    )
    out = DeviationApprovedOut(
        request=DeviationRequestOut.of(done.request),
        step=StepOut.of(done.step),
        classification=done.proposed,
        next_step=done.next,
    )
    return Status(201, out)


@operation(
    router,
    "POST",
    "/deviation-requests/{request_id}/decline",
    name="api-deviation-decline",
    action=Action.APPROVE_DEVIATION,
    response=DeviationRequestOut,
    summary="A physician at the site declines a requested soft-limit rate",
)
def deviation_decline(
    request: HttpRequest, request_id: RequestId, data: DeviationDecisionIn
) -> DeviationRequestOut:
    row = deviations.decline_deviation(
        user_of(request), request_id, reason=data.reason, source="api"
    )
    return DeviationRequestOut.of(row)
