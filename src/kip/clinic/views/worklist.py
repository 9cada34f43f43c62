"""Today's work: infusions due or under way, and follow-up calls due, at the user's sites."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kip.clinic import guards
from kip.registry.models.choices import InfusionStatus
from kip.registry.services import worklist as service

LOOK_AHEAD_DAYS = 7


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    work = service.worklist(guards.user_of(request), today, LOOK_AHEAD_DAYS)
    infusions = work.infusions
    # Calls a day ahead only: a week of calls would bury today's.
    calls = [c for c in work.calls if (c.due_on - today).days <= 1]
    return render(
        request,
        "clinic/worklist.html",
        {
            "today": today,
            "running": [i for i in infusions if i.status == InfusionStatus.RUNNING],
            "today_infusions": [
                i for i in infusions if i.status != InfusionStatus.RUNNING and i.planned_on <= today
            ],
            "upcoming": [i for i in infusions if i.planned_on > today],
            "overdue_calls": [c for c in calls if c.due_on < today],
            "calls": [c for c in calls if c.due_on >= today],
            "look_ahead": LOOK_AHEAD_DAYS,
        },
    )
