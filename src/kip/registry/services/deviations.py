"""Soft-limit co-sign: a nurse requests a rate beyond a soft limit, a physician at the site approves
or declines it from their own sign-in. Only an approval stores the TitrationStep, and only after
titrate has classified the rate again on the log as it stands then: a rate that has since become
refused (or a minute now before the last rate change) is never stored."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from kip.protocol import titrate
from kip.protocol.rate_check import Classification, ProposedRate
from kip.registry.access import Action
from kip.registry.models import DeviationRequest, Infusion, TitrationStep
from kip.registry.models.choices import DeviationStatus, InfusionStatus
from kip.registry.services.common import Source, get_deviation_request, get_infusion, writing
from kip.registry.services.errors import Conflict, Refusals, ServiceError
from kip.registry.services.sessions import classify_rate, engine_next, require_status, store_step

RUNNING = (InfusionStatus.RUNNING,)


@dataclass(frozen=True)
class DeviationRequested:
    request: DeviationRequest
    proposed: ProposedRate


@dataclass(frozen=True)
class DeviationApproved:
    request: DeviationRequest
    step: TitrationStep
    proposed: ProposedRate
    next: titrate.TitrateResult


def pending(infusion: Infusion) -> QuerySet[DeviationRequest]:
    """Requests still waiting for a physician (callers have checked access to the infusion)."""
    return (
        DeviationRequest.objects.filter(infusion=infusion, status=DeviationStatus.PENDING)
        .select_related("requested_by")
        .order_by("requested_at", "pk")
    )


def _reason(reason: str, field: str = "reason") -> str:
    text = reason.strip()
    if not text:
        raise ServiceError(field, "limits.soft_deviation", "a soft-limit deviation needs a reason")
    if len(text) > 500:
        raise ServiceError(field, "limits.soft_deviation", "at most 500 characters")
    return text


def _still_pending(row: DeviationRequest, *, fresh: bool = False) -> None:
    """Refuse a request already decided; `fresh` reads its status again from the database."""
    if fresh:
        row.refresh_from_db(fields=["status"])
    if row.status != DeviationStatus.PENDING:
        raise Conflict("request_id", "limits.soft_deviation", f"already {row.status}")


def request_deviation(
    user: User,
    infusion_id: int,
    minute: float,
    rate_mg_per_h: float,
    *,
    reason: str,
    source: Source = "app",
) -> DeviationRequested:
    """A nurse asks a physician to approve a soft-limit rate. A refused rate is refused here too;
    a rate within the protocol needs no approval (set it directly)."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(infusion, RUNNING, "request a rate for")
    found = Refusals()
    checked = found.check(lambda: classify_rate(infusion, minute, rate_mg_per_h))
    if checked is not None and checked.proposed.classification is not Classification.SOFT_LIMIT:
        found.refuse(
            "rate_mg_per_h", "limits.soft_deviation", "within the protocol: set the rate directly"
        )
    text = found.check(lambda: _reason(reason))
    found.raise_any()
    assert checked is not None and text is not None
    at, rate = checked.minute, checked.rate
    with writing(user, f"request soft-limit rate {rate} mg/h at minute {at}: {text}", source):
        # Asked inside the write, which other clinical writes wait for: two nurses asking at once
        # leave one request, not two.
        if pending(infusion).exists():
            raise Conflict(
                "infusion_id",
                "limits.soft_deviation",
                "a request is already waiting for a physician: approve or decline it first",
            )
        row = DeviationRequest.objects.create(
            infusion=infusion, minute=at, rate_mg_per_h=rate, reason=text, requested_by=user
        )
    return DeviationRequested(row, checked.proposed)


def approve_deviation(
    user: User, request_id: int, *, reason: str, source: Source = "app"
) -> DeviationApproved:
    """A physician at the infusion's site approves a pending request with their own reason; the
    rate is classified again now and stored only if it is still not refused."""
    row = get_deviation_request(user, request_id, Action.APPROVE_DEVIATION)
    _still_pending(row)
    infusion = row.infusion
    require_status(infusion, RUNNING, "approve a rate for")
    text = _reason(reason)
    with writing(user, f"approve soft-limit rate {row.rate_mg_per_h} mg/h: {text}", source):
        # Read again inside the write, which other clinical writes wait for: of two physicians
        # approving at once, the second finds the request decided and stores no second rate.
        _still_pending(row, fresh=True)
        checked = classify_rate(infusion, row.minute, row.rate_mg_per_h)
        step = store_step(
            infusion, checked, entered_by=row.requested_by, approver=user, reason=text
        )
        row.status = DeviationStatus.APPROVED
        row.decided_by = user
        row.decided_at = timezone.now()
        row.decision_reason = text
        row.step = step
        row.save()
    return DeviationApproved(row, step, checked.proposed, engine_next(infusion, float(row.minute)))


def decline_deviation(
    user: User, request_id: int, *, reason: str, source: Source = "app"
) -> DeviationRequest:
    """A physician at the infusion's site declines a pending request, with a reason."""
    row = get_deviation_request(user, request_id, Action.APPROVE_DEVIATION)
    _still_pending(row)
    text = _reason(reason)
    with writing(user, f"decline soft-limit rate {row.rate_mg_per_h} mg/h: {text}", source):
        _still_pending(row, fresh=True)
        row.status = DeviationStatus.DECLINED
        row.decided_by = user
        row.decided_at = timezone.now()
        row.decision_reason = text
        row.save()
    return row
