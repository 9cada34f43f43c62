"""Follow-ups: the 24-hour call, the clinic visit and service-interruption calls; the engine's
responder classification (kip.protocol.classify) and the clinician's confirmation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import QuerySet

from kip.protocol import classify
from kip.protocol.errors import InputError
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import FollowUp, ResponseDecision
from kip.registry.models.choices import (
    Continuation,
    EndReason,
    FollowUpStatus,
    MedicationChange,
    PatientChoice,
)
from kip.registry.services import engine_io
from kip.registry.services.common import Source, get_follow_up, protocol_of, writing
from kip.registry.services.errors import Conflict, Refusals, from_input_error
from kip.registry.services.sessions import tenths

# classify's stop reasons as the registry's enrolment end reasons.
STOP_REASON = {
    "inadequate_relief": EndReason.INADEQUATE_RELIEF,
    "adverse_events": EndReason.ADVERSE_EVENTS,
    "patient_choice": EndReason.PATIENT_CHOICE,
    "death": EndReason.DEATH,
    "other": EndReason.OTHER,
}


@dataclass(frozen=True)
class FollowUpRecorded:
    follow_up: FollowUp
    classification: classify.ClassifyResult | None


@dataclass(frozen=True)
class FollowUpAnswers:
    """What a call or visit records; None leaves a value unrecorded."""

    nprs: int | None = None
    qualifier: str = ""
    functional_improvement: bool | None = None
    analgesics_reduced: bool | None = None
    relief_hours: float | None = None
    relief_ongoing: bool = False
    satisfaction: str = ""
    adverse_events_reported: str = ""
    pain_returned_to_baseline: bool | None = None
    medication_change: MedicationChange | None = None
    function_worse: bool | None = None
    mobility_worse: bool | None = None
    mood_worse: bool | None = None
    appetite_worse: bool | None = None
    note: str = ""
    # Continuation inputs: reasons to stop whatever the response (kip.protocol.classify).
    patient_choice: PatientChoice | None = None
    adverse_event_limited: bool = False
    deceased: bool = False
    other_stop_reason: str = ""


def due_follow_ups(user: User, until: date | None = None) -> QuerySet[FollowUp]:
    """Follow-ups still due at the user's sites, earliest first (up to `until` when given)."""
    sites = access.sites_for(user, Action.RUN_INFUSION)
    rows = FollowUp.objects.select_related("patient", "infusion").filter(
        status=FollowUpStatus.DUE,
        patient__site__in=sites,
        patient__archived_at__isnull=True,
    )
    if until is not None:
        rows = rows.filter(due_on__lte=until)
    return rows.order_by("due_on", "pk")


def classification_of(follow_up: FollowUp) -> classify.ClassifyResult | None:
    """The engine's verdict on the infusion a done 24-hour call or clinic visit assesses."""
    infusion = follow_up.infusion
    if (
        infusion is None
        or follow_up.kind not in engine_io.ASSESSING
        or follow_up.status != FollowUpStatus.DONE
    ):
        return None
    history = engine_io.given_infusions(infusion.patient)
    position = next((i + 1 for i, inf in enumerate(history) if inf.pk == infusion.pk), None)
    assessment = engine_io.assessment_of(follow_up, position or infusion.number)
    try:
        return classify.judge(assessment, protocol_of(infusion.protocol_id))
    except InputError as exc:
        raise from_input_error(exc) from None


def check_answers(found: Refusals, answers: FollowUpAnswers) -> Decimal | None:
    """The answers' ranges and lengths, every refusal noted in `found` (no database read): the
    relief hours to a tenth, None when not given or refused."""
    if answers.nprs is not None and not 0 <= answers.nprs <= 10:
        found.refuse("nprs", "nprs.range", "must be between 0 and 10")
    if len(answers.other_stop_reason.strip()) > 200:
        found.refuse("other_stop_reason", "follow_ups.other_stop_reason", "at most 200")
    hours = answers.relief_hours
    if hours is None:
        return None
    return found.check(
        lambda: tenths(hours, "relief_hours", "relief.hours", Decimal(0), Decimal(99999))
    )


def record_follow_up(
    user: User,
    follow_up_id: int,
    answers: FollowUpAnswers,
    *,
    done_on: date,
    reason: str = "",
    source: Source = "app",
) -> FollowUpRecorded:
    """Record a call or visit and classify the response; a second entry needs a reason."""
    follow_up = get_follow_up(user, follow_up_id, Action.RUN_INFUSION)
    found = Refusals()
    if follow_up.status == FollowUpStatus.DONE and not reason.strip():
        found.refuse("reason", "audit.reason_for_change", "changing a record needs a reason")
    if follow_up.infusion is not None and done_on < follow_up.infusion.planned_on:
        found.refuse("done_on", "follow_ups.order", "is before the infusion")
    relief = check_answers(found, answers)
    found.raise_any()
    other_stop = answers.other_stop_reason.strip()
    with writing(user, reason.strip() or f"record {follow_up.get_kind_display()}", source):
        follow_up.nprs = answers.nprs
        follow_up.qualifier = answers.qualifier
        follow_up.functional_improvement = answers.functional_improvement
        follow_up.analgesics_reduced = answers.analgesics_reduced
        follow_up.relief_hours = relief
        follow_up.relief_ongoing = answers.relief_ongoing
        follow_up.satisfaction = answers.satisfaction
        follow_up.adverse_events_reported = answers.adverse_events_reported
        follow_up.pain_returned_to_baseline = answers.pain_returned_to_baseline
        follow_up.medication_change = answers.medication_change or ""
        follow_up.function_worse = answers.function_worse
        follow_up.mobility_worse = answers.mobility_worse
        follow_up.mood_worse = answers.mood_worse
        follow_up.appetite_worse = answers.appetite_worse
        follow_up.note = answers.note
        follow_up.patient_choice = answers.patient_choice or ""
        follow_up.adverse_event_limited = answers.adverse_event_limited
        follow_up.deceased = answers.deceased
        follow_up.other_stop_reason = other_stop
        follow_up.status = FollowUpStatus.DONE
        follow_up.done_on = done_on
        follow_up.recorded_by = user
        follow_up.save()
        # Classified inside the transaction: a record the engine cannot read is not kept.
        verdict = classification_of(follow_up)
    return FollowUpRecorded(follow_up, verdict)


def confirm_response(
    user: User,
    follow_up_id: int,
    *,
    agree: bool,
    responder: bool | None = None,
    continuation: Continuation | None = None,
    stop_reason: EndReason | None = None,
    reason: str = "",
    source: Source = "app",
) -> tuple[ResponseDecision, classify.ClassifyResult]:
    """The clinician agrees with the engine, or overrides responder / continuation with a reason."""
    follow_up = get_follow_up(user, follow_up_id, Action.DECIDE_RESPONSE)
    verdict = classification_of(follow_up)
    if verdict is None:
        raise Conflict(
            "follow_up_id",
            "responder",
            "only a recorded 24-hour call or clinic visit is classified",
        )
    engine_continuation = Continuation(verdict.continuation.decision)
    found = Refusals()
    if agree:
        if responder is not None or continuation is not None:
            found.refuse(
                "agree", "responder.confirmation", "agreeing takes the engine's values as they are"
            )
        final_responder, final_continuation = verdict.responder, engine_continuation
    else:
        final_responder = verdict.responder if responder is None else responder
        final_continuation = engine_continuation if continuation is None else continuation
        if (final_responder, final_continuation) == (verdict.responder, engine_continuation):
            found.refuse(
                "agree", "responder.confirmation", "an override must differ from the engine"
            )
        if not reason.strip():
            found.refuse("reason", "responder.override", "an override needs a reason")
    engine_reason = verdict.continuation.reason or ""
    stop: EndReason | None = None
    if final_continuation == Continuation.STOP:
        stop = stop_reason or STOP_REASON.get(engine_reason, EndReason.OTHER)
    elif stop_reason is not None:
        found.refuse("stop_reason", "responder.confirmation", "only for a stop")
    found.raise_any()
    infusion = follow_up.infusion
    assert infusion is not None  # classified follow-ups follow an infusion
    # Decisions are a history (a later one supersedes), but repeating the standing one adds
    # nothing: a second click or a resent form would read as a second clinician's decision.
    standing = follow_up.decisions.order_by("-confirmed_at", "-pk").first()
    if standing is not None and (
        standing.responder,
        standing.continuation,
        standing.stop_reason,
    ) == (final_responder, final_continuation, stop or ""):
        raise Conflict(
            "agree",
            "responder.confirmation",
            "this is already the decision for this follow-up: an override must change it",
        )
    with writing(user, reason.strip() or "confirm responder classification", source):
        decision = ResponseDecision.objects.create(
            infusion=infusion,
            follow_up=follow_up,
            engine_responder=verdict.responder,
            engine_duration_band=verdict.duration_band or "",
            engine_continuation=engine_continuation,
            engine_reason=engine_reason,
            engine_reasons=[r.model_dump() for r in verdict.reasons],
            responder=final_responder,
            continuation=final_continuation,
            stop_reason=stop or "",
            override_reason="" if agree else reason.strip(),
            confirmed_by=user,
        )
    return decision, verdict
