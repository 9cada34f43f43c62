"""Planning the next infusion: may this patient have it on this date, and how is it run.

The answer lists every blocker at once (a nurse fixes them all in one pass, not one per try) and,
whatever the blockers, the schedule the protocol gives: earliest date, rates, checks, follow-ups.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from pydantic import Field

from kip.protocol import classify
from kip.protocol.common import (
    Decision,
    Input,
    Output,
    Patient,
    Reason,
    Request,
    stamp,
)
from kip.protocol.errors import InputError
from kip.protocol.model import (
    Check,
    CheckKind,
    LimitKind,
    Phase,
    Protocol,
    Rate,
    Route,
    StartRule,
    TitrationMode,
)
from kip.protocol.units import lowest_mg_per_h, needs_weight, per_kg, to_mg_per_h


class PriorInfusion(Input):
    date: date
    max_rate_mg_per_h: float | None = Field(
        default=None, ge=0, description="Highest rate tolerated in that infusion."
    )


class CheckStatus(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


class ServiceInterruption(Input):
    """A program-wide pause (e.g. the COVID-19 pandemic) during which no infusion is given."""

    start: date
    end: date | None = Field(default=None, description="Last day of the pause; None: ongoing.")
    reason: str = Field(min_length=1)


class EnrolmentEnd(Input):
    date: date
    reason: str = Field(min_length=1)


class PlanRequest(Request):
    on_date: date = Field(description="The day the plan is made for (the proposed infusion day).")
    patient: Patient
    history: list[PriorInfusion] = Field(default=[], description="Earlier infusions, oldest first.")
    assessments: list[classify.Assessment] = Field(
        default=[], description="Follow-up assessments of earlier infusions (24-h call, clinic)."
    )
    check_results: dict[str, CheckStatus] = Field(
        default={}, description="Pre-infusion check id -> passed / failed; absent = pending."
    )
    cleared_by_physician: list[str] = Field(
        default=[], description="Ids of soft exclusions a physician has reviewed and cleared."
    )
    service_interruptions: list[ServiceInterruption] = []
    enrolment_end: EnrolmentEnd | None = None


class PremedicationItem(Output):
    drug: str
    dose_mg: float
    route: Route
    minutes_before_start: int


class ChecklistItem(Output):
    id: str
    label: str
    kind: CheckKind
    required: bool
    status: CheckStatus
    rule: str


class FollowUpItem(Output):
    id: str
    label: str
    kind: str
    due_date: date
    window_start: date
    window_end: date
    assesses: list[str]


class PlanResult(Decision):
    eligible: bool = Field(description="No blocker stands on on_date.")
    ready_to_start: bool = Field(description="Eligible and every required check passed.")
    blockers: list[Reason]
    infusion_number: int
    phase: str | None
    phase_name: str | None
    earliest_date: date | None = Field(description="None when no date would do (e.g. ended).")
    target_date: date | None
    start_rate_mg_per_h: float | None
    start_rate_mg_per_kg_per_h: float | None
    step_mg_per_h: float | None
    step_mg_per_kg_per_h: float | None
    step_interval_minutes: int | None
    titration: TitrationMode | None
    max_rate_mg_per_h: float | None
    max_rate_mg_per_kg_per_h: float | None
    hard_limit_mg_per_h: float
    session_minutes: int | None
    premedication: list[PremedicationItem]
    checklist: list[ChecklistItem]
    monitoring: list[str]
    vitals_every_minutes: int
    follow_ups: list[FollowUpItem]


def decide(request: PlanRequest, protocol: Protocol) -> PlanResult:
    _check_order(request)
    patient = request.patient
    number = len(request.history) + 1
    phase = protocol.phase_for(number)
    weight = patient.weight_kg
    if weight is None and needs_weight(_all_rates(protocol)):
        raise InputError(
            f"patient.weight_kg: required, protocol {protocol.id} doses by body weight"
        )
    inc = protocol.limits.rate_increment_mg_per_h
    hard = lowest_mg_per_h(protocol.limits.hard_max_rate, weight, inc)
    reasons: list[Reason] = []
    blockers: list[Reason] = []

    blockers += _patient_blockers(request, protocol)
    blockers += _program_blockers(request, protocol, number, phase)
    response_blockers, response_reasons = _response_blockers(request, protocol, number, phase)
    blockers += response_blockers
    reasons += response_reasons

    earliest, target, timing = _schedule(request, phase, number)
    blockers += timing
    infusion_day = max(request.on_date, earliest) if earliest else request.on_date
    checklist = _checklist(request, protocol, infusion_day)
    blockers += [
        Reason(rule=c.rule, text=f"{c.label}: result is positive / failed")
        for c in checklist
        if c.required and c.status is CheckStatus.FAILED
    ]

    result: dict[str, object] = {
        "eligible": not blockers,
        "ready_to_start": not blockers
        and all(c.status is CheckStatus.PASSED for c in checklist if c.required),
        "blockers": blockers,
        "infusion_number": number,
        "earliest_date": earliest,
        "target_date": target,
        "hard_limit_mg_per_h": hard,
        "premedication": [PremedicationItem(**p.model_dump()) for p in protocol.premedication],
        "checklist": checklist,
        "monitoring": [v.value for v in protocol.monitoring.vitals],
        "vitals_every_minutes": protocol.monitoring.record_every_minutes,
        "follow_ups": _follow_ups(protocol, infusion_day) if phase else [],
    }
    if phase is None:
        result |= dict.fromkeys(_PHASE_FIELDS)
    else:
        rates, rate_reasons = _rates(request, protocol, phase, number, hard)
        result |= rates
        reasons += rate_reasons
    reasons += blockers
    if not blockers:
        reasons.append(
            Reason(
                rule=f"phases.{phase.id}" if phase else "phases",
                text=f"infusion {number} may be given from {earliest}",
            )
        )
    return PlanResult(**stamp(protocol), reasons=reasons, **result)


_PHASE_FIELDS = (
    "phase",
    "phase_name",
    "start_rate_mg_per_h",
    "start_rate_mg_per_kg_per_h",
    "step_mg_per_h",
    "step_mg_per_kg_per_h",
    "step_interval_minutes",
    "titration",
    "max_rate_mg_per_h",
    "max_rate_mg_per_kg_per_h",
    "session_minutes",
)


def _all_rates(protocol: Protocol) -> list[Rate]:
    rates: list[Rate] = list(protocol.limits.hard_max_rate)
    for p in protocol.phases:
        rates += [p.start_rate, *p.max_rate, *([p.step] if p.step else [])]
    return rates


def _check_order(request: PlanRequest) -> None:
    days = [h.date for h in request.history]
    for i in range(1, len(days)):
        if days[i] < days[i - 1]:
            raise InputError(
                f"history[{i}].date: {days[i]} is before history[{i - 1}].date {days[i - 1]} "
                "(list earlier infusions oldest first)"
            )
    if days and request.on_date < days[-1]:
        raise InputError(
            f"on_date: {request.on_date} is before the last infusion ({days[-1]}, "
            f"history[{len(days) - 1}].date)"
        )
    for i, a in enumerate(request.assessments):
        if a.infusion_number > len(days):
            raise InputError(
                f"assessments[{i}].infusion_number: infusion {a.infusion_number} is not in "
                f"history ({len(days)} earlier infusion(s))"
            )
        # Dates carry no time of day, so allow one day of slack before calling it impossible.
        since = (request.on_date - days[a.infusion_number - 1]).days + 1
        if a.relief_hours is not None and a.relief_hours > since * 24:
            raise InputError(
                f"assessments[{i}].relief_hours: {a.relief_hours:g} h of relief is longer than "
                f"the time from infusion {a.infusion_number} to on_date ({since - 1} days)"
            )
    for i, s in enumerate(request.service_interruptions):
        if s.end is not None and s.end < s.start:
            raise InputError(f"service_interruptions[{i}].end: {s.end} is before start {s.start}")


def _patient_blockers(request: PlanRequest, protocol: Protocol) -> list[Reason]:
    patient, rules = request.patient, protocol.eligibility
    out: list[Reason] = []
    if patient.age_years < rules.min_age_years:
        out.append(
            Reason(
                rule="eligibility.min_age_years",
                text=f"age {patient.age_years} is under the minimum of {rules.min_age_years}",
            )
        )
    conditions = set(patient.conditions)
    for exclusion in rules.exclusions:
        if exclusion.id not in conditions:
            continue
        if exclusion.kind is LimitKind.SOFT and exclusion.id in request.cleared_by_physician:
            continue
        review = " (needs a physician's review)" if exclusion.kind is LimitKind.SOFT else ""
        out.append(
            Reason(
                rule=f"eligibility.exclusions.{exclusion.id}",
                text=f"excluded: {exclusion.label}{review}",
            )
        )
    return out


def _program_blockers(
    request: PlanRequest, protocol: Protocol, number: int, phase: Phase | None
) -> list[Reason]:
    out: list[Reason] = []
    if request.enrolment_end is not None:
        end = request.enrolment_end
        out.append(
            Reason(
                rule="enrolment_end",
                text=f"enrolment ended on {end.date} ({end.reason})",
            )
        )
    cap = protocol.eligibility.max_infusions
    if phase is None or (cap is not None and number > cap):
        out.append(
            Reason(
                rule="eligibility.max_infusions",
                text=f"the protocol has no infusion {number}: the course is complete",
            )
        )
    return out


def _assessment_of(request: PlanRequest, infusion: int) -> classify.Assessment | None:
    """The latest assessment of that infusion (a clinic visit supersedes the 24-hour call)."""
    found = [a for a in request.assessments if a.infusion_number == infusion]
    return found[-1] if found else None


def _response_blockers(
    request: PlanRequest, protocol: Protocol, number: int, phase: Phase | None
) -> tuple[list[Reason], list[Reason]]:
    """Blockers from the previous infusion's assessment, and the reasons when it allows going on."""
    if number == 1 or phase is None:
        return [], []
    previous = number - 1
    rules = protocol.responder
    checked = phase.continuation_check and (
        previous == 1 or number >= rules.subsequent_relief_checked_from_infusion
    )
    if not checked and not phase.requires_responder:
        return [], []
    assessment = _assessment_of(request, previous)
    if assessment is None:
        missing = Reason(
            rule="follow_ups",
            text=f"no follow-up assessment of infusion {previous} is recorded: record the "
            "24-hour call or clinic visit (relief, pain, function) before planning",
        )
        return [missing], []
    verdict = classify.judge(assessment, protocol)
    out: list[Reason] = []
    decision = verdict.continuation.decision
    deciding = verdict.reasons[-1]  # classify puts the continuation reason last
    if checked and decision == "stop":
        out.append(
            Reason(rule=deciding.rule, text=f"infusion {previous} assessment: {deciding.text}")
        )
    if phase.requires_responder and not out:
        if not verdict.responder:
            out.append(
                Reason(
                    rule=f"phases.{phase.id}.requires_responder",
                    text=f"{phase.name} is for responders; infusion {previous} did not meet "
                    "the responder definition",
                )
            )
        elif decision == "pending":
            out.append(
                Reason(
                    rule="responder.subsequent_relief_days",
                    text=f"{phase.name} needs relief of at least {rules.subsequent_relief_days:g} "
                    f"days after infusion {previous}; not yet established",
                )
            )
    return out, (
        []
        if out
        else [Reason(rule=deciding.rule, text=f"infusion {previous} assessment: {deciding.text}")]
    )


def _schedule(
    request: PlanRequest, phase: Phase | None, number: int
) -> tuple[date | None, date | None, list[Reason]]:
    """Earliest and target dates from the phase's interval, moved past service interruptions."""
    if phase is None:
        return None, None, []
    last = request.history[-1].date if request.history else None
    earliest = request.on_date if last is None else last
    target = None
    if last is not None and phase.min_interval_days is not None:
        earliest = last + timedelta(days=phase.min_interval_days)
    if last is not None and phase.target_interval_days is not None:
        target = last + timedelta(days=phase.target_interval_days)
    out: list[Reason] = []
    if request.on_date < earliest:
        out.append(
            Reason(
                rule=f"phases.{phase.id}.min_interval_days",
                text=f"infusion {number} is not before {earliest} "
                f"({phase.min_interval_days} days after the previous infusion on {last})",
            )
        )
    paused = [s for s in request.service_interruptions if _within(s, request.on_date)]
    for s in paused:
        until = f"until {s.end}" if s.end else "with no end date yet"
        out.append(
            Reason(
                rule="service_interruptions",
                text=f"infusions are paused from {s.start} {until}: {s.reason}",
            )
        )
    # Inside a pause the useful answer is the first day after it, not a day already past.
    start_from = request.on_date if paused else earliest
    return _after_interruptions(start_from, request.service_interruptions), target, out


def _within(pause: ServiceInterruption, day: date) -> bool:
    return pause.start <= day and (pause.end is None or day <= pause.end)


def _after_interruptions(day: date, pauses: list[ServiceInterruption]) -> date | None:
    """The first day on or after `day` outside every pause; None if a pause has no end."""
    moved = True
    while moved:
        moved = False
        for s in pauses:
            if _within(s, day):
                if s.end is None:
                    return None
                day, moved = s.end + timedelta(days=1), True
    return day


def _applies(check: Check, request: PlanRequest, protocol: Protocol, day: date) -> bool:
    if check.only_female_premenopausal and not request.patient.needs_pregnancy_test:
        return False
    if check.period is not None:
        period = next(p for p in protocol.eligibility.periods if p.id == check.period)
        return period.contains(day)
    return True


def _checklist(request: PlanRequest, protocol: Protocol, day: date) -> list[ChecklistItem]:
    return [
        ChecklistItem(
            id=c.id,
            label=c.label,
            kind=c.kind,
            required=c.required,
            status=request.check_results.get(c.id, CheckStatus.PENDING),
            rule=f"eligibility.checks.{c.id}",
        )
        for c in protocol.eligibility.checks
        if _applies(c, request, protocol, day)
    ]


def _follow_ups(protocol: Protocol, day: date) -> list[FollowUpItem]:
    out = []
    for f in protocol.follow_ups:
        due = day + timedelta(hours=f.after_hours)
        window = timedelta(hours=f.window_hours)
        out.append(
            FollowUpItem(
                id=f.id,
                label=f.label,
                kind=f.kind.value,
                due_date=due,
                window_start=max(day, due - window),
                window_end=due + window,
                assesses=f.assesses,
            )
        )
    return out


def _rates(
    request: PlanRequest, protocol: Protocol, phase: Phase, number: int, hard: float
) -> tuple[dict[str, object], list[Reason]]:
    weight = request.patient.weight_kg
    inc = protocol.limits.rate_increment_mg_per_h
    maximum = min(lowest_mg_per_h(phase.max_rate, weight, inc), hard)
    step = to_mg_per_h(phase.step, weight, inc) if phase.step else None
    start = to_mg_per_h(phase.start_rate, weight, inc)
    key = f"phases.{phase.id}"
    reasons = [
        Reason(rule=f"{key}.start_rate", text=f"infusion {number} is in phase '{phase.name}'"),
        Reason(rule=f"{key}.max_rate", text=f"phase maximum {maximum:g} mg/h"),
    ]
    if phase.start_rule is StartRule.PREVIOUS_MAX_TOLERATED and request.history:
        tolerated = request.history[-1].max_rate_mg_per_h
        if tolerated is not None:
            start = tolerated
            reasons.append(
                Reason(
                    rule=f"{key}.start_rule",
                    text=f"starts at the previous infusion's tolerated {tolerated:g} mg/h",
                )
            )
    if phase.titration is TitrationMode.BETWEEN_SESSIONS and step is not None:
        # Day-to-day titration: each session of the phase starts one step above the last.
        start += step * (number - phase.first_infusion)
        reasons.append(
            Reason(
                rule=f"{key}.titration",
                text=f"session {number - phase.first_infusion + 1} of the phase: "
                f"{number - phase.first_infusion} step(s) above the phase start",
            )
        )
    if start > maximum:
        reasons.append(
            Reason(rule=f"{key}.max_rate", text=f"start {start:g} mg/h capped at {maximum:g}")
        )
        start = maximum
    if maximum < lowest_mg_per_h(phase.max_rate, weight, inc):
        reasons.append(
            Reason(rule="limits.hard_max_rate", text=f"program hard limit {hard:g} mg/h applies")
        )
    return {
        "phase": phase.id,
        "phase_name": phase.name,
        "start_rate_mg_per_h": start,
        "start_rate_mg_per_kg_per_h": per_kg(start, weight),
        "step_mg_per_h": step,
        "step_mg_per_kg_per_h": per_kg(step, weight) if step is not None else None,
        "step_interval_minutes": phase.step_interval_minutes,
        "titration": phase.titration,
        "max_rate_mg_per_h": maximum,
        "max_rate_mg_per_kg_per_h": per_kg(maximum, weight),
        "session_minutes": phase.session_minutes,
    }, reasons
