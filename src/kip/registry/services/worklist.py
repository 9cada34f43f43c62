"""What is due: calls and infusions at the user's sites, and what waits for a physician there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef
from django.utils import timezone

from kip.protocol import titrate
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import DeviationRequest, FollowUp, Infusion, ResponseDecision
from kip.registry.models.choices import DeviationStatus, FollowUpStatus, InfusionStatus, Resolution
from kip.registry.services import engine_io, sessions
from kip.registry.services.errors import ServiceError
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
class PhysicianQueue:
    requests: list[WaitingRequest]
    decisions: list[WaitingDecision]

    def __len__(self) -> int:
        return len(self.requests) + len(self.decisions)


def _engine_now(infusion: Infusion) -> tuple[float, titrate.TitrateResult | None, str]:
    minute = sessions.elapsed_minutes(infusion)
    try:
        return minute, sessions.engine_next(infusion, minute), ""
    except ServiceError as exc:
        # One record the engine cannot read must not hide the rest of the queue.
        return minute, None, exc.detail


def waiting_for_physician(user: User, now: datetime) -> PhysicianQueue | None:
    """Soft-limit requests on running infusions at the sites where the user approves deviations,
    and recorded assessments with no response decision at the sites where the user decides
    responses; oldest first. None for a user who holds neither action anywhere."""
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
    return PhysicianQueue(requests, decisions)
