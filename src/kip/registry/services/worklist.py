"""What is due: calls and infusions at the user's sites, and what waits for a physician there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from kip.protocol import adverse, titrate
from kip.protocol.adverse import GivenDose
from kip.protocol.errors import InputError
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import (
    AdverseEvent,
    DeviationRequest,
    FollowUp,
    Infusion,
    ResponseDecision,
    Site,
)
from kip.registry.models.choices import DeviationStatus, FollowUpStatus, InfusionStatus, Resolution
from kip.registry.services import engine_io, sessions
from kip.registry.services.common import protocol_of
from kip.registry.services.errors import ServiceError, from_input_error
from kip.registry.services.followups import due_follow_ups

UPCOMING = (InfusionStatus.PLANNED, InfusionStatus.CHECKED_IN, InfusionStatus.RUNNING)


@dataclass(frozen=True)
class Worklist:
    on_date: date
    until: date
    calls: list[FollowUp]
    infusions: list[Infusion]


def worklist(user: User, on_date: date, days: int = 7) -> Worklist:
    """Follow-ups due by `on_date + days` (overdue included) and infusions planned in that time."""
    if not 0 <= days <= 366:
        raise ServiceError("days", "worklist.days", "must be between 0 and 366")
    until = on_date + timedelta(days=days)
    sites = access.sites_for(user, Action.RUN_INFUSION)
    infusions = Infusion.objects.select_related("patient").filter(
        patient__site__in=sites,
        patient__archived_at__isnull=True,
        status__in=UPCOMING,
        planned_on__lte=until,
    )
    return Worklist(
        on_date,
        until,
        list(due_follow_ups(user, until)),
        list(infusions.order_by("planned_on", "pk")),
    )


@dataclass(frozen=True)
class WaitingRequest:
    """A nurse's soft-limit request, with the engine's next step as it stands now: the physician
    decides with it in view (a pending stop or hold matters more than the request)."""

    request: DeviationRequest
    waited: timedelta
    minute: float
    next: titrate.TitrateResult | None
    events_active: bool
    engine_error: str


@dataclass(frozen=True)
class WaitingDecision:
    """A recorded 24-hour call or clinic visit whose response no physician has decided yet."""

    follow_up: FollowUp
    waited: timedelta


@dataclass(frozen=True)
class WaitingEvent:
    """An ongoing adverse event on a running infusion that no physician has decided on, and the
    protocol's response to it now: a physician evaluates (its rule says so, it is a stop event, or
    no as-needed medication is allowed any more). `response` is None when the engine cannot read
    the record; such an event is listed, with the error, rather than hidden."""

    event: AdverseEvent
    waited: timedelta
    minute: float
    response: adverse.AdverseEventResult | None
    engine_error: str


@dataclass(frozen=True)
class PhysicianQueue:
    requests: list[WaitingRequest]
    decisions: list[WaitingDecision]
    events: list[WaitingEvent]

    def __len__(self) -> int:
        return len(self.requests) + len(self.decisions) + len(self.events)


def _engine_now(infusion: Infusion) -> tuple[float, titrate.TitrateResult | None, str]:
    minute = sessions.elapsed_minutes(infusion)
    try:
        return minute, sessions.engine_next(infusion, minute), ""
    except ServiceError as exc:
        # One record the engine cannot read must not hide the rest of the queue.
        return minute, None, exc.detail


def _session_now(infusion: Infusion) -> tuple[float, list[GivenDose]]:
    """The session's current minute and the doses given by then: the same for every event of the
    infusion, since the minute is never before an event's onset."""
    minute = sessions.elapsed_minutes(infusion)
    return minute, engine_io.given_doses(infusion, minute)


def _event_response(
    event: AdverseEvent, minute: float, given: list[GivenDose]
) -> adverse.AdverseEventResult:
    """The question the flowsheet's event card asks, at the session's current minute, so that a
    PRN cap or interval reached since the report counts."""
    protocol_id = event.infusion.protocol_id
    request = engine_io.build(
        adverse.AdverseEventRequest,
        protocol=protocol_id,
        event=event.term,
        minute=minute,
        given=given,
    )
    try:
        return adverse.decide(request, protocol_of(protocol_id))
    except InputError as exc:
        raise from_input_error(exc) from None


def _waiting_events(sites: QuerySet[Site], now: datetime) -> list[WaitingEvent]:
    candidates = (
        AdverseEvent.objects.select_related("infusion__patient")
        .filter(
            resolution=Resolution.ONGOING,
            physician_decision="",
            # A decision is recorded during the session only; an ended one's event is moot.
            infusion__status=InfusionStatus.RUNNING,
            infusion__patient__site__in=sites,
            infusion__patient__archived_at__isnull=True,
        )
        .order_by("recorded_at", "pk")
    )
    now_of: dict[int, tuple[float, list[GivenDose]]] = {}
    waiting = []
    for event in candidates:
        waited = now - event.recorded_at
        try:
            if event.infusion_id not in now_of:
                now_of[event.infusion_id] = _session_now(event.infusion)
            minute, given = now_of[event.infusion_id]
            response = _event_response(event, minute, given)
        except ServiceError as exc:
            # Listed, not hidden: an event the engine cannot read is a physician's call.
            at = now_of.get(event.infusion_id, (float(event.onset_minute), []))[0]
            waiting.append(WaitingEvent(event, waited, at, None, exc.detail))
            continue
        if response.physician_evaluation_required:
            waiting.append(WaitingEvent(event, waited, minute, response, ""))
    return waiting


def waiting_for_physician(user: User, now: datetime) -> PhysicianQueue | None:
    """Soft-limit requests and adverse events that need a physician's evaluation, on running
    infusions at the sites where the user approves deviations, and recorded assessments with no
    response decision at the sites where the user decides responses; oldest first. None for a user
    who holds neither action anywhere."""
    approve_sites = access.sites_for(user, Action.APPROVE_DEVIATION)
    decide_sites = access.sites_for(user, Action.DECIDE_RESPONSE)
    if not approve_sites.exists() and not decide_sites.exists():
        return None
    pending = (
        DeviationRequest.objects.select_related("infusion__patient", "requested_by")
        .filter(
            status=DeviationStatus.PENDING,
            # Only a running infusion's request can be approved; an ended one is moot.
            infusion__status=InfusionStatus.RUNNING,
            infusion__patient__site__in=approve_sites,
            infusion__patient__archived_at__isnull=True,
        )
        .order_by("requested_at", "pk")
    )
    requests = []
    for row in pending:
        infusion = row.infusion
        minute, nxt, error = _engine_now(infusion)
        active = infusion.adverse_events.filter(resolution=Resolution.ONGOING).exists()
        requests.append(WaitingRequest(row, now - row.requested_at, minute, nxt, active, error))
    undecided = (
        FollowUp.objects.select_related("patient", "infusion")
        .filter(
            status=FollowUpStatus.DONE,
            kind__in=engine_io.ASSESSING,
            infusion__isnull=False,
            patient__site__in=decide_sites,
            patient__archived_at__isnull=True,
        )
        .exclude(Exists(ResponseDecision.objects.filter(follow_up=OuterRef("pk"))))
        .order_by("done_on", "pk")
    )
    today = timezone.localdate(now)
    decisions = [
        WaitingDecision(fu, timedelta(days=(today - (fu.done_on or today)).days))
        for fu in undecided
    ]
    return PhysicianQueue(requests, decisions, _waiting_events(approve_sites, now))
