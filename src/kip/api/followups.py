"""Follow-ups due, recording a call or visit, confirming the responder classification, and the
worklist."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from kip.api.auth import user_of
from kip.api.routing import operation
from kip.api.schemas import (
    MAX_ID,
    ConfirmIn,
    Day,
    FollowUpIn,
    FollowUpOut,
    FollowUpRecordedOut,
    InfusionSummary,
    ResponseDecisionOut,
    WorklistInfusion,
    WorklistOut,
)
from kip.registry.access import Action
from kip.registry.models.choices import Continuation, PatientChoice
from kip.registry.services import followups, worklist
from kip.registry.services.followups import FollowUpAnswers
from kip.registry.services.reads import FOLLOW_UPS_DUE, WORKLIST, log_export

router = Router(tags=["follow-ups"])
FollowUpId = Annotated[int, Path(ge=1, le=MAX_ID)]


class DueQuery(Schema):
    until: Day | None = None


class WorklistQuery(Schema):
    on_date: Day
    days: Annotated[int, Field(ge=0, le=366)] = 7


@operation(
    router,
    "GET",
    "/follow-ups",
    name="api-follow-up-list",
    action=Action.RUN_INFUSION,
    response=list[FollowUpOut],
)
def follow_up_list(request: HttpRequest, query: Query[DueQuery]) -> list[FollowUpOut]:
    user = user_of(request)
    rows = list(followups.due_follow_ups(user, query.until))
    due = [FollowUpOut.of(f) for f in rows]
    log_export(user, FOLLOW_UPS_DUE, len(due), (f.patient.research_id for f in rows), source="api")
    return due


@operation(
    router,
    "POST",
    "/follow-ups/{follow_up_id}",
    name="api-follow-up-record",
    action=Action.RUN_INFUSION,
    response=FollowUpRecordedOut,
)
def follow_up_record(
    request: HttpRequest, follow_up_id: FollowUpId, data: FollowUpIn
) -> FollowUpRecordedOut:
    fields = data.model_dump(exclude={"done_on", "reason", "patient_choice"})
    choice = None if data.patient_choice is None else PatientChoice(data.patient_choice)
    answers = FollowUpAnswers(**fields, patient_choice=choice)
    done = followups.record_follow_up(
        user_of(request),
        follow_up_id,
        answers,
        done_on=data.done_on,
        reason=data.reason,
        source="api",
    )
    return FollowUpRecordedOut(
        follow_up=FollowUpOut.of(done.follow_up), classification=done.classification
    )


@operation(
    router,
    "POST",
    "/follow-ups/{follow_up_id}/confirmation",
    name="api-response-confirm",
    action=Action.DECIDE_RESPONSE,
    response={201: ResponseDecisionOut},
)
def response_confirm(
    request: HttpRequest, follow_up_id: FollowUpId, data: ConfirmIn
) -> Status[ResponseDecisionOut]:
    decision, verdict = followups.confirm_response(
        user_of(request),
        follow_up_id,
        agree=data.agree,
        responder=data.responder,
        continuation=None if data.continuation is None else Continuation(data.continuation),
        stop_reason=data.stop_reason,
        reason=data.reason,
        source="api",
    )
    return Status(201, ResponseDecisionOut.of(decision, verdict))


@operation(
    router,
    "GET",
    "/worklist",
    name="api-worklist",
    action=Action.RUN_INFUSION,
    response=WorklistOut,
)
def worklist_view(request: HttpRequest, query: Query[WorklistQuery]) -> WorklistOut:
    user = user_of(request)
    due = worklist.worklist(user, query.on_date, query.days)
    out = WorklistOut(
        on_date=due.on_date,
        until=due.until,
        calls=[FollowUpOut.of(f) for f in due.calls],
        infusions=[
            WorklistInfusion(
                infusion=InfusionSummary.of(i),
                research_id=i.patient.research_id,
                patient_name=f"{i.patient.family_name}, {i.patient.given_name}",
            )
            for i in due.infusions
        ],
    )
    patients = [f.patient for f in due.calls] + [i.patient for i in due.infusions]
    count = len(out.calls) + len(out.infusions)
    log_export(user, WORKLIST, count, (p.research_id for p in patients), source="api")
    return out
