"""What is due: calls and infusions at the user's sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import User

from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import FollowUp, Infusion
from kip.registry.models.choices import InfusionStatus
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
