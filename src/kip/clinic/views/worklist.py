"""Today's work: infusions due or under way, follow-up calls due, and what waits for a physician,
at the user's sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kip.clinic import guards
from kip.clinic.views.flowsheet import prompt_headline
from kip.registry.models.choices import InfusionStatus
from kip.registry.services import worklist as service

LOOK_AHEAD_DAYS = 7


@dataclass(frozen=True)
class RequestRow:
    item: service.WaitingRequest
    waited: str
    engine_now: str


def waited_words(waited: timedelta, *, days_only: bool = False) -> str:
    """How long something has waited, as a ward clock reads: minutes, hours, then days."""
    minutes = int(waited.total_seconds() // 60)
    if days_only or minutes >= 24 * 60:
        days = waited.days
        return "since today" if days <= 0 else f"{days} day{'s' if days != 1 else ''}"
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{max(minutes, 0)} min"


@dataclass(frozen=True)
class EventRow:
    item: service.WaitingEvent
    waited: str


def _request_row(item: service.WaitingRequest) -> RequestRow:
    if item.next is not None:
        engine_now = prompt_headline(item.next, item.minute, item.events_active)[0]
    else:
        engine_now = f"unavailable: {item.engine_error}"
    return RequestRow(item, waited_words(item.waited), engine_now)


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    user = guards.user_of(request)
    work = service.worklist(user, today, LOOK_AHEAD_DAYS)
    queue = service.waiting_for_physician(user, timezone.now())
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
            "physician_queue": queue,
            "waiting_requests": [_request_row(r) for r in queue.requests] if queue else [],
            "waiting_events": [EventRow(e, waited_words(e.waited)) for e in queue.events]
            if queue
            else [],
            "waiting_decisions": [
                (d, waited_words(d.waited, days_only=True)) for d in queue.decisions
            ]
            if queue
            else [],
        },
    )
