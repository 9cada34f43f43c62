"""The infusion flowsheet a nurse keeps open for the four hours, and its live chart."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kip.clinic import chart, guards
from kip.protocol import adverse, loader, titrate
from kip.protocol.errors import InputError
from kip.protocol.units import WeightRequired, lowest_mg_per_h
from kip.registry.access import Action
from kip.registry.models import Infusion
from kip.registry.models.choices import DoseKind, InfusionStatus, Resolution
from kip.registry.services import deviations, engine_io, planning, sessions
from kip.registry.services.errors import ServiceError
from kip.registry.services.reads import log_view

VITAL_FIELDS = (
    "minute",
    "temperature_c",
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_pct",
    "respiratory_rate",
)


@dataclass(frozen=True)
class Session:
    """What the flowsheet reads about one infusion, gathered once per request."""

    infusion: Infusion
    steps: list[Any]
    vitals: list[Any]
    doses: list[Any]
    events: list[Any]
    checks: dict[str, Any]
    now_minute: float | None
    open_events: list[Any]
    session_minutes: int
    phase_max: float


def _phase_limits(infusion: Infusion) -> tuple[int, float]:
    """Session length and phase maximum (mg/h) for the chart's scale, from the protocol."""
    try:
        protocol = loader.load(infusion.protocol_id)
        phase = next(p for p in protocol.phases if p.id == infusion.phase)
        weight = float(infusion.weight_kg) if infusion.weight_kg is not None else None
        return phase.session_minutes, lowest_mg_per_h(phase.max_rate, weight)
    except (InputError, StopIteration, WeightRequired):
        # Only the chart's scale depends on it; the flowsheet must still open.
        return 240, 70.0


def load_session(infusion: Infusion) -> Session:
    session_minutes, phase_max = _phase_limits(infusion)
    adverse_events = list(infusion.adverse_events.select_related("evaluated_by").all())
    return Session(
        infusion=infusion,
        steps=list(infusion.steps.select_related("entered_by", "approved_by").all()),
        vitals=list(infusion.vitals.all()),
        doses=list(infusion.doses.select_related("adverse_event").all()),
        events=adverse_events,
        open_events=[e for e in adverse_events if e.resolution == Resolution.ONGOING],
        checks={c.check_id: c for c in infusion.checks.select_related("recorded_by").all()},
        now_minute=sessions.elapsed_minutes(infusion)
        if infusion.status == InfusionStatus.RUNNING
        else None,
        session_minutes=session_minutes,
        phase_max=phase_max,
    )


def build_chart(s: Session) -> chart.Chart:
    return chart.build(
        session_minutes=s.session_minutes,
        rate_max=s.phase_max,
        steps=[(st.minute, st.rate_mg_per_h) for st in s.steps],
        vitals=[{f: getattr(v, f) for f in VITAL_FIELDS} for v in s.vitals],
        events=[(e.onset_minute, e.term) for e in s.events],
        doses=[(d.minute, f"{d.drug} {d.dose_mg:g} mg") for d in s.doses if d.kind == "prn"],
        now_minute=s.now_minute,
    )


def current_rate(s: Session) -> Decimal | None:
    return s.steps[-1].rate_mg_per_h if s.steps else None


@dataclass(frozen=True)
class OngoingEvent:
    event: Any
    response: adverse.AdverseEventResult | None
    error: str


def _responses(infusion: Infusion, s: Session, minute: float) -> list[OngoingEvent]:
    """The protocol's response to each event still ongoing, with the PRN doses allowed now.

    A read only: the same engine question the events service asks when the event is reported,
    asked again at the current minute so intervals and caps are current.
    """
    out = []
    for ev in s.events:
        if ev.resolution != Resolution.ONGOING:
            continue
        at = max(minute, float(ev.onset_minute))
        try:
            request = engine_io.build(
                adverse.AdverseEventRequest,
                protocol=infusion.protocol_id,
                event=ev.term,
                minute=at,
                given=engine_io.given_doses(infusion, at),
            )
            response = adverse.decide(request, loader.load(infusion.protocol_id))
        except (ServiceError, InputError) as exc:
            out.append(OngoingEvent(ev, None, str(exc)))
            continue
        out.append(OngoingEvent(ev, response, ""))
    return out


def prompt_headline(
    prompt: titrate.TitrateResult, minute_now: float, events_active: bool
) -> tuple[str, str]:
    """The engine's next step in the words a nurse acts on, and a css tone."""
    rate = f"{prompt.rate_mg_per_h:g} mg/h"
    due = prompt.next_review_minute
    wait = f" (in {due - minute_now:.0f} min)" if due is not None and due > minute_now else ""
    action = prompt.action
    if action is titrate.Action.START:
        return f"Start at {rate}", "go"
    if action is titrate.Action.STEP_UP:
        return f"Increase to {rate} now", "go"
    if action is titrate.Action.HOLD:
        if due is None and events_active:
            return f"Keep {rate}: titration held while an adverse event is active", "warn"
        if due is None:
            return f"Keep {rate}: no further step this session", "hold"
        return f"Keep {rate}; next step due at minute {due:g}{wait}", "hold"
    if action is titrate.Action.REDUCE:
        return f"Reduce to {rate} now", "warn"
    if action is titrate.Action.STOP:
        return "Stop the infusion (rate 0)", "stop"
    if action is titrate.Action.END_SESSION:
        return "Session time reached: end the infusion", "warn"
    return f"Keep {rate}: a physician must evaluate before titration continues", "warn"


def flowsheet_context(request: HttpRequest, infusion: Infusion) -> dict[str, Any]:
    s = load_session(infusion)
    patient = infusion.patient
    user = guards.user_of(request)
    status = InfusionStatus(infusion.status)
    before_start = status in (InfusionStatus.PLANNED, InfusionStatus.CHECKED_IN)
    running = status == InfusionStatus.RUNNING
    plan = None
    plan_error = ""
    if before_start or running:
        try:
            plan = planning.plan_for_infusion(user, infusion.pk)
        except ServiceError as exc:
            plan_error = exc.detail
    prompt = None
    prompt_error = ""
    minute = sessions.elapsed_minutes(infusion) if running else 0.0
    if running:
        try:
            prompt = sessions.next_step(user, infusion.pk)
        except ServiceError as exc:
            prompt_error = exc.detail
    given_premeds = {d.drug: d for d in s.doses if d.kind == DoseKind.PREMEDICATION}
    premeds = [
        {"item": p, "given": given_premeds.get(p.drug)}
        for p in (plan.premedication if plan else [])
    ]
    checklist = [
        {"item": c, "result": s.checks.get(c.id)} for c in (plan.checklist if plan else [])
    ]
    every = plan.vitals_every_minutes if plan else 15
    last_vitals = float(s.vitals[-1].minute) if s.vitals else None
    vitals_due = (last_vitals if last_vitals is not None else 0.0) + every if running else None
    return {
        "infusion": infusion,
        "patient": patient,
        "age": patient.age_on(timezone.localdate()),
        "s": s,
        "vitals_every": every,
        "last_vitals": last_vitals,
        "vitals_due": vitals_due,
        "vitals_overdue": vitals_due is not None and minute > vitals_due,
        "chart": build_chart(s),
        "current_rate": current_rate(s),
        "status": status,
        "before_start": before_start,
        "running": running,
        "finished": not before_start and not running,
        "plan": plan,
        "plan_error": plan_error,
        "prompt": prompt,
        "prompt_headline": prompt_headline(prompt, minute, bool(s.open_events)) if prompt else None,
        "prompt_error": prompt_error,
        "minute_now": int(minute),
        "premeds": premeds,
        "checklist": checklist,
        "ongoing": _responses(infusion, s, minute) if running else [],
        "event_terms": _event_terms(infusion),
        "resolutions": [c for c in Resolution.choices if c[0] != Resolution.ONGOING],
        "can_run": guards.can_at(request, Action.RUN_INFUSION, patient),
        "can_approve": guards.can_at(request, Action.APPROVE_DEVIATION, patient),
        "deviation_requests": list(deviations.pending(infusion)) if running else [],
        "errors": {},
        "posted": {},
    }


def _event_terms(infusion: Infusion) -> list[str]:
    """The protocol's named events, offered as suggestions in the event form."""
    try:
        protocol = loader.load(infusion.protocol_id)
    except InputError:
        return []
    return sorted({rule.term for rule in protocol.adverse_events.events})


@require_GET
def flowsheet(request: HttpRequest, pk: int) -> HttpResponse:
    infusion = guards.infusion_or_404(request, pk, Action.VIEW_CLINICAL)
    context = flowsheet_context(request, infusion)
    log_view(guards.user_of(request), infusion, source="app")
    return render(request, "clinic/flowsheet.html", context)


@require_GET
def flowsheet_chart(request: HttpRequest, pk: int) -> HttpResponse:
    """The chart, with the engine's prompt and the minute swapped in beside it (htmx out-of-band),
    fetched every 30 seconds while the infusion runs: the page stays current for four hours.

    The page's own timer (X-KIP-Poll) is not logged: the flowsheet's load was, and a view every
    30 seconds for four hours would bury the trail. A fetch without the header is not that
    timer, so it is logged as a view of the infusion like the page."""
    infusion = guards.infusion_or_404(request, pk, Action.VIEW_CLINICAL)
    context = flowsheet_context(request, infusion)
    context["poll"] = True
    if "X-KIP-Poll" not in request.headers:
        log_view(guards.user_of(request), infusion, source="app")
    return render(request, "clinic/_chart.html", context)
