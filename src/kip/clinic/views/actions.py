"""The flowsheet's and the patient page's write forms. Each calls one service; the services apply
the protocol (hard and soft limits, PRN caps, required checks) and write the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from kip.clinic import forms, guards
from kip.clinic.views.flowsheet import flowsheet_context
from kip.clinic.views.patients import patient_context
from kip.protocol.model import PhysicianOption
from kip.registry.access import Action
from kip.registry.models import AdverseEvent, DeviationRequest
from kip.registry.models.choices import CheckStatus, Resolution
from kip.registry.services import clearances, deviations, events, planning, sessions
from kip.registry.services.errors import NotFound, ServiceError

Outcome = str  # the message shown after a successful write
T = TypeVar("T")


def _flowsheet_after(
    request: HttpRequest,
    infusion_pk: int,
    form: str,
    write: Callable[[User], Outcome],
    *,
    section: str = "",
    row_shown: Callable[[dict[str, Any]], bool] = lambda context: True,
) -> HttpResponse:
    """Run one write; on success back to the flowsheet (post/redirect/get) at the form's
    `section` (its own name unless given: a row's form is named by its row), on refusal the
    flowsheet again with the service's reasons beside the form's fields and the values as
    typed. A row's refusal whose row the page no longer shows (`row_shown` is false: the event
    was resolved from another screen meanwhile) is told at the top of its section instead."""
    user = guards.user_of(request)
    # Another site's id is a 404 before any field is read, whatever the form holds.
    guards.infusion_or_404(request, infusion_pk, Action.VIEW_CLINICAL)
    try:
        outcome = write(user)
    except NotFound:
        raise Http404("no such record at your sites") from None
    except forms.Refused as exc:
        infusion = guards.infusion_or_404(request, infusion_pk, Action.VIEW_CLINICAL)
        context = flowsheet_context(request, infusion)
        context |= forms.refused_context(exc, form, request.POST)
        if section and not row_shown(context):
            # Only the summary moves: posted_form stays the row's, so no other form's fields
            # are marked or filled with this one's values.
            context["errors"][section] = context["errors"][form]
        return render(request, "clinic/flowsheet.html", context, status=422)
    messages.success(request, outcome)
    return HttpResponseRedirect(reverse("flowsheet", args=[infusion_pk]) + f"#{section or form}")


def _n(value: Any) -> str:
    """10.0 as 10, 12.5 as 12.5: numbers as a nurse writes them."""
    return f"{float(value):g}"


def _given(value: T | None) -> T:
    """A required value once Form.check has passed (it is None only when refused)."""
    assert value is not None
    return value


@require_POST
def check_in(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        weight = f.decimal("weight_kg")
        nprs = f.integer("baseline_nprs")
        f.check(lambda found: sessions.check_baseline(found, weight_kg=weight, baseline_nprs=nprs))
        sessions.check_in(
            user,
            pk,
            weight_kg=weight,
            baseline_nprs=nprs,
            baseline_function=f.text("baseline_function", 200),
            baseline_satisfaction=f.text("baseline_satisfaction", 200),
            baseline_analgesics=f.text("baseline_analgesics"),
        )
        return "Checked in: baseline recorded."

    return _flowsheet_after(request, pk, "checkin", write)


@require_POST
def record_check(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(user: User) -> Outcome:
        status = data.get("status", "")
        if status not in CheckStatus.values:
            raise forms.FieldError("status", "passed or failed")
        check_id = forms.text(data, "check_id", 64)
        sessions.record_check(
            user,
            pk,
            check_id,
            CheckStatus(status),
            note=forms.text(data, "note", 200),
            reason=forms.text(data, "reason"),
        )
        return f"Check recorded: {check_id} {status}."

    return _flowsheet_after(request, pk, "checks", write)


@require_POST
def premedicate(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    # One form per premedication drug: a refusal is shown in that drug's row.
    drug = forms.text(data, "drug", 64)
    form = forms.row_form("premedication", drug)

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        minute = f.number("minute", required=True)
        f.check()
        dose = sessions.give_premedication(user, pk, drug, minute=_given(minute))
        return f"Premedication given: {dose.drug} {_n(dose.dose_mg)} mg {dose.route}."

    def row_shown(context: dict[str, Any]) -> bool:
        return any(p["item"].drug == drug and not p["given"] for p in context["premeds"])

    return _flowsheet_after(request, pk, form, write, section="premedication", row_shown=row_shown)


@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    def write(user: User) -> Outcome:
        sessions.start_infusion(user, pk)
        return "Infusion started: minute 0 is now. Set the start rate."

    return _flowsheet_after(request, pk, "rate", write)


@require_POST
def set_rate(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        minute = f.number("minute", required=True)
        rate = f.number("rate_mg_per_h", required=True)
        infusion = guards.infusion_or_404(request, pk, Action.RUN_INFUSION)
        approving = f.checkbox("approve")
        if approving and not guards.can_at(request, Action.APPROVE_DEVIATION, infusion.patient):
            f.refuse("approve", "only a physician at this site can approve")
        f.check(lambda found: sessions.check_rate(found, minute, rate))
        recorded = sessions.record_rate(
            user,
            pk,
            _given(minute),
            _given(rate),
            # The approver is the signed-in physician, never a name picked from a list.
            approved_by_id=user.pk if approving else None,
            reason=f.text("reason"),
        )
        step = recorded.step
        note = " (soft-limit deviation, approved)" if step.approved_by_id else ""
        return f"Rate {_n(step.rate_mg_per_h)} mg/h from minute {_n(step.minute)}{note}."

    return _flowsheet_after(request, pk, "rate", write)


@require_POST
def vitals(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        minute = f.number("minute", required=True)
        readings: dict[str, Any] = {
            "temperature_c": f.number("temperature_c"),
            "systolic_mmhg": f.integer("systolic_mmhg"),
            "diastolic_mmhg": f.integer("diastolic_mmhg"),
            "heart_rate_bpm": f.integer("heart_rate_bpm"),
            "spo2_pct": f.integer("spo2_pct"),
            "respiratory_rate": f.integer("respiratory_rate"),
        }
        f.check(lambda found: sessions.check_vitals(found, minute, **readings))
        recorded = sessions.record_vitals(user, pk, _given(minute), **readings)
        triggered = recorded.next.events_triggered_by_vitals if recorded.next else []
        alert = f" Alert: {', '.join(triggered)}: report the event." if triggered else ""
        return f"Vitals at minute {_n(recorded.vitals.minute)} recorded.{alert}"

    return _flowsheet_after(request, pk, "vitals", write)


@require_POST
def adverse_event(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        term = f.text("term", 64)
        minute = f.number("minute", required=True)
        f.check(lambda found: events.check_event(found, term, minute))
        reported = events.report_adverse_event(
            user,
            pk,
            term,
            _given(minute),
            can_take_oral=not f.checkbox("cannot_take_oral"),
            self_resolved=f.checkbox("self_resolved"),
            note=f.text("note"),
        )
        r = reported.response
        said = {
            "prn": "give the as-needed medication below",
            "physician_evaluation": "a physician must evaluate",
            "stop": "stop the infusion",
            "none": "self-resolved, no intervention",
        }[r.response.value]
        titration = {"continue": "continues", "hold": "on hold", "stop": "stopped"}.get(
            r.infusion_action.value, r.infusion_action.value
        )
        return f"{r.event.capitalize()} recorded. Protocol: {said}; titration {titration}."

    return _flowsheet_after(request, pk, "events", write)


def _event_infusion(request: HttpRequest, event_pk: int, action: Action) -> int:
    """The infusion of an event at the user's sites (404 otherwise)."""
    event = (
        AdverseEvent.objects.filter(
            pk=event_pk, infusion__patient__in=guards.patients(request, action)
        )
        .values_list("infusion_id", flat=True)
        .first()
    )
    if event is None:
        raise Http404("no such adverse event at your sites")
    return event


def _card_shown(event_pk: int) -> Callable[[dict[str, Any]], bool]:
    """Whether the flowsheet shows the event's card (it does while the event is ongoing)."""
    return lambda context: any(o.event.pk == event_pk for o in context["ongoing"])


@require_POST
def give_prn(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST
    infusion_pk = _event_infusion(request, pk, Action.RUN_INFUSION)

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        minute = f.number("minute", required=True)
        f.check()
        given = events.give_prn(
            user,
            pk,
            f.text("prn_id", 64),
            _given(minute),
            can_take_oral=not f.checkbox("cannot_take_oral"),
        )
        d = given.dose
        return f"PRN given: {d.drug} {_n(d.dose_mg)} mg {d.route} at minute {_n(d.minute)}."

    # The forms of an event's card are named by the event: the refusal shows in its card.
    form = forms.row_form("prn", pk)
    return _flowsheet_after(
        request, infusion_pk, form, write, section="events", row_shown=_card_shown(pk)
    )


@require_POST
def decide_event(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST
    infusion_pk = _event_infusion(request, pk, Action.APPROVE_DEVIATION)

    def write(user: User) -> Outcome:
        raw = data.get("decision", "")
        if raw not in {o.value for o in PhysicianOption}:
            raise forms.FieldError("decision", "choose one of the options")
        decided = events.physician_decision(
            user, pk, PhysicianOption(raw), note=forms.text(data, "note")
        )
        return f"Physician decision for {decided.event.term}: {raw.replace('_', ' ')}."

    form = forms.row_form("decision", pk)
    return _flowsheet_after(
        request, infusion_pk, form, write, section="events", row_shown=_card_shown(pk)
    )


@require_POST
def resolve_event(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST
    infusion_pk = _event_infusion(request, pk, Action.RUN_INFUSION)

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        raw = data.get("resolution", "")
        if raw not in Resolution.values or raw == Resolution.ONGOING:
            f.refuse("resolution", "choose how it resolved")
        minute = f.number("minute", required=True)
        f.check()
        event = events.resolve_adverse_event(user, pk, _given(minute), Resolution(raw))
        return f"{event.term.capitalize()} resolved: {event.get_resolution_display().lower()}."

    form = forms.row_form("resolve", pk)
    return _flowsheet_after(
        request, infusion_pk, form, write, section="events", row_shown=_card_shown(pk)
    )


@require_POST
def end(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        max_rate = f.number("max_rate_tolerated")
        # Ending cannot be undone: the form asks for a tick, and a post without it is refused.
        f.confirmed("confirm_end", "ending the infusion")
        f.check()
        ended = sessions.end_infusion(
            user,
            pk,
            stopped_early=f.checkbox("stopped_early"),
            max_rate_tolerated=max_rate,
            note=f.text("note"),
        )
        calls = ", ".join(f"{f.get_kind_display()} {f.due_on:%Y-%m-%d}" for f in ended.follow_ups)
        return f"Infusion ended. Follow-ups scheduled: {calls or 'none'}."

    return _flowsheet_after(request, pk, "end", write)


def _patient_refused(
    request: HttpRequest,
    pk: int,
    form: str,
    exc: ServiceError | forms.FieldError | forms.FieldErrors,
) -> HttpResponse:
    """The patient page again with the refusal beside the form's fields and the values as
    typed (like the flowsheet's forms, rather than a message after a redirect)."""
    patient = guards.patient_or_404(request, pk, Action.VIEW_CLINICAL)
    context = patient_context(request, patient) | forms.refused_context(exc, form, request.POST)
    return render(request, "clinic/patient.html", context, status=422)


@require_POST
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Schedule the patient's next infusion on a date, when the plan allows it."""
    data = request.POST
    user = guards.user_of(request)
    guards.patient_or_404(request, pk, Action.RUN_INFUSION)  # before reading the form
    try:
        f = forms.Form(data)
        on_date = f.day("on_date", required=True)
        weight = f.decimal("weight_kg")
        f.check()
        scheduled = planning.schedule_infusion(user, pk, _given(on_date), weight_kg=weight)
    except NotFound:
        raise Http404("no such patient at your sites") from None
    except forms.Refused as exc:
        return _patient_refused(request, pk, "schedule", exc)
    inf = scheduled.infusion
    messages.success(request, f"Infusion {inf.number} scheduled for {inf.planned_on:%Y-%m-%d}.")
    return HttpResponseRedirect(reverse("flowsheet", args=[inf.pk]))


@require_POST
def request_deviation(request: HttpRequest, pk: int) -> HttpResponse:
    """A nurse asks a physician at the site to approve a soft-limit rate."""
    data = request.POST

    def write(user: User) -> Outcome:
        f = forms.Form(data)
        minute = f.number("minute", required=True)
        rate = f.number("rate_mg_per_h", required=True)
        f.check(lambda found: sessions.check_rate(found, minute, rate))
        done = deviations.request_deviation(
            user, pk, _given(minute), _given(rate), reason=f.text("reason")
        )
        r = done.request
        return (
            f"Requested {_n(r.rate_mg_per_h)} mg/h from minute {_n(r.minute)}: "
            "waiting for a physician's approval."
        )

    return _flowsheet_after(request, pk, "deviations", write)


def _request_infusion(request: HttpRequest, request_pk: int, action: Action) -> int:
    """The infusion of a deviation request at the user's sites (404 otherwise)."""
    infusion = (
        DeviationRequest.objects.filter(
            pk=request_pk, infusion__patient__in=guards.patients(request, action)
        )
        .values_list("infusion_id", flat=True)
        .first()
    )
    if infusion is None:
        raise Http404("no such request at your sites")
    return infusion


@require_POST
def approve_deviation(request: HttpRequest, pk: int) -> HttpResponse:
    """The signed-in physician approves a requested soft-limit rate with their reason."""
    data = request.POST
    infusion_pk = _request_infusion(request, pk, Action.APPROVE_DEVIATION)

    def write(user: User) -> Outcome:
        done = deviations.approve_deviation(user, pk, reason=forms.text(data, "reason"))
        step = done.step
        return (
            f"Approved: rate {_n(step.rate_mg_per_h)} mg/h from minute {_n(step.minute)} "
            "(soft-limit deviation, approved)."
        )

    return _flowsheet_after(request, infusion_pk, "deviations", write)


@require_POST
def decline_deviation(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST
    infusion_pk = _request_infusion(request, pk, Action.APPROVE_DEVIATION)

    def write(user: User) -> Outcome:
        row = deviations.decline_deviation(user, pk, reason=forms.text(data, "reason"))
        return f"Declined: {_n(row.rate_mg_per_h)} mg/h. Keep the current rate."

    return _flowsheet_after(request, infusion_pk, "deviations", write)


@require_POST
def clear_exclusion(request: HttpRequest, pk: int) -> HttpResponse:
    """A physician clears one of the patient's soft exclusions after review, with a reason."""
    data = request.POST
    user = guards.user_of(request)
    guards.patient_or_404(request, pk, Action.APPROVE_DEVIATION)  # before reading the form
    try:
        exclusion_id = forms.text(data, "exclusion_id", 64)
        cleared = clearances.clear_exclusion(
            user, pk, exclusion_id, reason=forms.text(data, "reason")
        )
    except NotFound:
        raise Http404("no such patient at your sites") from None
    except ServiceError as exc:
        return _patient_refused(request, pk, "clearance", exc)
    messages.success(request, f"Exclusion cleared after review: {cleared.exclusion_id}.")
    return HttpResponseRedirect(reverse("patient", args=[pk]) + "#plan")
