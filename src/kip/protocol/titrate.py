"""Titration: the next action for the nurse during an infusion session.

Given the session so far (rates run, minutes elapsed, active adverse events, the physician's
decision, the latest vitals), say what to run now and why, and classify a rate the nurse proposes
the way a smart pump does (ISMP 2020): within limits, a soft limit that needs a physician and a
reason, or refused (`kip.protocol.rate_check`). The patient's rates and the course of the session
come from `kip.protocol.session`, the active events from `kip.protocol.active_events`.

The one property that must hold for any input: the recommended rate is never above the phase maximum
for this patient, and that maximum is never above the program's hard limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, NoReturn

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from kip.protocol import units
from kip.protocol.active_events import ActiveEvent, active_events, physician_reason, vital_events
from kip.protocol.common import Decision, Reason, Request, Vitals, stamp
from kip.protocol.errors import InputError
from kip.protocol.model import Phase, PhysicianOption, Protocol, TitrationMode, normalise_term
from kip.protocol.rate_check import Classification, EventCap, ProposedRate, check_proposed_rate
from kip.protocol.session import (
    Course,
    PatientRates,
    RateChange,
    course_so_far,
    patient_rates,
    rate_at,
)
from kip.protocol.units import dec, mg, num

__all__ = [
    "Action",
    "Classification",
    "ProposedRate",
    "RateChange",
    "TitrateRequest",
    "TitrateResult",
    "decide",
]

# --------------------------------------------------------------------------------------------------
# Request and result


class TitrateRequest(Request):
    infusion_number: int = Field(ge=1, description="1 for the first infusion; selects the phase.")
    patient_weight_kg: float | None = Field(
        default=None, gt=0, le=400, description="Required when the protocol states rates per kg."
    )
    elapsed_minutes: float = Field(ge=0, allow_inf_nan=False)
    rate_history: list[RateChange] = Field(
        default=[], description="Rates set so far, oldest first; empty: not started."
    )
    active_adverse_events: list[Annotated[str, Field(min_length=1)]] = Field(
        default=[], description="Event terms currently active (not self-resolved)."
    )
    physician_decision: PhysicianOption | None = Field(
        default=None, description="The physician's decision after evaluating the active events."
    )
    physician_decision_minute: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="When the physician decided. With it, 'reduce' counts from the rate running "
        "then, so asking again once the reduction is on the pump does not reduce a second time.",
    )
    undecided_adverse_events: list[Annotated[str, Field(min_length=1)]] = Field(
        default=[],
        description="Active event terms the physician_decision does not cover (reported after "
        "it, or not yet evaluated). One that needs a physician is awaited whatever the decision, "
        "unless the decision is to stop.",
    )
    vitals: Vitals | None = None
    start_rate_mg_per_h: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Start rate decided by plan (e.g. the previous maximum tolerated).",
    )
    proposed_rate_mg_per_h: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="A rate the nurse wants to set now."
    )

    @model_validator(mode="after")
    def _timeline(self) -> TitrateRequest:
        previous: float | None = None
        for i, change in enumerate(self.rate_history):
            if previous is not None and change.minute < previous:
                _field_error(
                    ("rate_history", i, "minute"),
                    f"is before the previous entry's minute ({num(previous)}); "
                    "list rate changes oldest first",
                    change.minute,
                )
            if change.minute > self.elapsed_minutes:
                _field_error(
                    ("rate_history", i, "minute"),
                    f"is after elapsed_minutes ({num(self.elapsed_minutes)})",
                    change.minute,
                )
            previous = change.minute
        if self.physician_decision_minute is not None:
            if self.physician_decision is None:
                _field_error(
                    ("physician_decision_minute",),
                    "given without a physician_decision",
                    self.physician_decision_minute,
                )
            if self.physician_decision_minute > self.elapsed_minutes:
                _field_error(
                    ("physician_decision_minute",),
                    f"is after elapsed_minutes ({num(self.elapsed_minutes)})",
                    self.physician_decision_minute,
                )
        active = {normalise_term(term) for term in self.active_adverse_events}
        for i, term in enumerate(self.undecided_adverse_events):
            if normalise_term(term) not in active:
                _field_error(
                    ("undecided_adverse_events", i),
                    "is not one of active_adverse_events",
                    term,
                )
        if (
            self.vitals is not None
            and self.vitals.minute is not None
            and self.vitals.minute > self.elapsed_minutes
        ):
            _field_error(
                ("vitals", "minute"),
                f"is after elapsed_minutes ({num(self.elapsed_minutes)})",
                self.vitals.minute,
            )
        return self


class Action(StrEnum):
    START = "start"
    STEP_UP = "step_up"
    HOLD = "hold"
    REDUCE = "reduce"
    STOP = "stop"
    END_SESSION = "end_session"
    AWAIT_PHYSICIAN = "await_physician"


class TitrateResult(Decision):
    action: Action
    rate_mg_per_h: float = Field(description="The rate to run now (or keep running), mg/h.")
    rate_mg_per_kg_per_h: float | None
    at_minute: float = Field(
        description="When the action applies: now, or for a hold the minute the next step is due."
    )
    next_review_minute: float | None = Field(
        description="When the next step-up is due; None if none is due in this session."
    )
    phase: str
    max_rate_mg_per_h: float = Field(description="Phase maximum for this patient, mg/h.")
    hard_limit_mg_per_h: float
    events_triggered_by_vitals: list[str]
    proposed: ProposedRate | None


# --------------------------------------------------------------------------------------------------
# Small helpers


def _field_error(loc: tuple[str | int, ...], message: str, value: Any) -> NoReturn:
    """Raise a validation error located at a nested field, so the user sees e.g.
    'rate_history[3].minute: ...' rather than an error on the request as a whole."""
    detail = InitErrorDetails(type=PydanticCustomError("kip_input", message), loc=loc, input=value)
    raise ValidationError.from_exception_data("TitrateRequest", [detail])


# --------------------------------------------------------------------------------------------------
# The advice and the request's checks


@dataclass(frozen=True)
class _Advice:
    action: Action
    rate: float
    at_minute: float
    next_review: float | None
    reasons: list[Reason]
    # Event rules holding the rate down; a proposal above `rate` goes against them.
    in_force: list[str] = field(default_factory=list)


def _phase(request: TitrateRequest, protocol: Protocol) -> Phase:
    phase = protocol.phase_for(request.infusion_number)
    if phase is None:
        raise InputError(
            f"infusion_number: protocol {protocol.id} has no phase for infusion "
            f"{request.infusion_number}"
        )
    return phase


def _require_weight(request: TitrateRequest, protocol: Protocol, phase: Phase) -> None:
    keyed = [
        (phase.rule_key("start_rate"), [phase.start_rate]),
        (phase.rule_key("step"), [phase.step] if phase.step is not None else []),
        (phase.rule_key("max_rate"), phase.max_rate),
        ("limits.hard_max_rate", protocol.limits.hard_max_rate),
    ]
    for key, rates in keyed:
        if request.patient_weight_kg is None and units.needs_weight(rates):
            raise InputError(
                f"patient_weight_kg: required, protocol {protocol.id} gives a rate per kg ({key})"
            )


def _check_decision(request: TitrateRequest, protocol: Protocol) -> None:
    options = protocol.adverse_events.physician_options
    decision = request.physician_decision
    if decision is not None and decision not in options:
        known = ", ".join(o.value for o in options)
        raise InputError(
            f"physician_decision: {decision.value!r} is not an option of protocol {protocol.id} "
            f"(options: {known})"
        )


# --------------------------------------------------------------------------------------------------
# What the active adverse events require


def _event_advice(
    events: list[ActiveEvent],
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: PatientRates,
    course: Course,
) -> _Advice | None:
    """What the active events require, or None when none of them holds titration back."""
    now = request.elapsed_minutes
    stopping = [e for e in events if e.stops]
    if stopping:
        reasons = [
            Reason(rule=f"{e.key}.infusion_action", text=f"{e.term}: stop the infusion now.")
            for e in stopping
        ]
        return _Advice(Action.STOP, 0.0, now, None, reasons, [r.rule for r in reasons])

    physician = [e for e in events if e.needs_physician]
    decision = request.physician_decision
    if decision is PhysicianOption.STOP and not physician:
        # A physician's stop is always safe to follow, even once the event that prompted it is gone.
        reason = Reason(rule="adverse_events.physician_options", text="Physician decided: stop.")
        return _Advice(Action.STOP, 0.0, now, None, [reason], [reason.rule])
    holding = [e for e in events if e.holds and not e.needs_physician]
    hold_reasons = [
        Reason(
            rule=f"{e.key}.infusion_action",
            text=f"{e.term}: give the as-needed medication; no step-up while it is active.",
        )
        for e in holding
    ]

    if physician:
        eval_reasons = [physician_reason(e) for e in physician]
        in_force = [r.rule for r in eval_reasons] + [r.rule for r in hold_reasons]
        reasons = eval_reasons + hold_reasons
        if decision is None:
            return _hold(Action.AWAIT_PHYSICIAN, now, rates, phase, course, reasons, in_force)
        # A decision covers the events the physician evaluated; one reported since waits for its
        # own evaluation (a stop needs none: it is always safe to follow).
        undecided = {normalise_term(t) for t in request.undecided_adverse_events}
        uncovered = [e.term for e in physician if e.term in undecided]
        if uncovered and decision is not PhysicianOption.STOP:
            reasons.append(
                Reason(
                    rule="adverse_events.physician_options",
                    text=f"The physician's decision ({decision.value}) came before "
                    f"{', '.join(uncovered)}, which waits for its own evaluation.",
                )
            )
            return _hold(Action.AWAIT_PHYSICIAN, now, rates, phase, course, reasons, in_force)
        if decision is PhysicianOption.STOP:
            reasons.append(
                Reason(rule="adverse_events.physician_options", text="Physician decided: stop.")
            )
            return _Advice(Action.STOP, 0.0, now, None, reasons, in_force)
        if decision is PhysicianOption.REDUCE:
            return _reduce(request, protocol, phase, rates, course, reasons, in_force)
        reasons.append(
            Reason(
                rule="adverse_events.physician_options",
                text=f"Physician decided: {decision.value}; keep the rate, no step-up while the "
                "event is active.",
            )
        )
        return _hold(Action.HOLD, now, rates, phase, course, reasons, in_force)

    if holding:
        return _hold(
            Action.HOLD, now, rates, phase, course, hold_reasons, [r.rule for r in hold_reasons]
        )
    return None


def _hold(
    action: Action,
    now: float,
    rates: PatientRates,
    phase: Phase,
    course: Course,
    reasons: list[Reason],
    in_force: list[str],
) -> _Advice:
    """Keep the current rate, unless it is above the maximum: holding must never run above it."""
    if course.current > rates.max:
        reasons = [*reasons, _cap_reason(course.current, rates, phase)]
        if action is Action.HOLD:
            action = Action.REDUCE
    if not course.started:
        reasons = [
            *reasons,
            Reason(
                rule=reasons[0].rule if reasons else phase.rule_key("start_rate"),
                text="Not started: do not start while the event is active.",
            ),
        ]
    return _Advice(action, min(course.current, rates.max), now, None, reasons, in_force)


def _reduce(
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: PatientRates,
    course: Course,
    reasons: list[Reason],
    in_force: list[str],
) -> _Advice:
    now = request.elapsed_minutes
    steps = protocol.adverse_events.reduce_by_steps
    # A phase without a step still has to be reducible: going down to 0 (stop) is always safe.
    step = rates.step if rates.step else rates.max
    decided_at = request.physician_decision_minute
    base = rate_at(request.rate_history, decided_at) if decided_at is not None else course.current
    target = units.round_down(max(dec(base) - steps * dec(step), Decimal(0)), rates.increment)
    target = min(target, rates.max)
    reasons = [
        *reasons,
        Reason(
            rule="adverse_events.reduce_by_steps",
            text=f"Physician decided: reduce by {steps} step(s) of {mg(step)} from "
            f"{mg(base)} to {mg(target)}.",
        ),
    ]
    if target <= 0:
        return _Advice(Action.STOP, 0.0, now, None, reasons, in_force)
    if course.current <= target:
        # The reduction is already on the pump; reducing again would ratchet down on every ask.
        return _Advice(Action.HOLD, course.current, now, None, reasons, in_force)
    return _Advice(Action.REDUCE, target, now, None, reasons, in_force)


def _cap_reason(rate: float, rates: PatientRates, phase: Phase) -> Reason:
    if rates.hard < rates.phase_max:
        return Reason(
            rule="limits.hard_max_rate",
            text=f"{mg(rate)} is above the program's hard limit of {mg(rates.hard)}.",
        )
    return Reason(
        rule=phase.rule_key("max_rate"),
        text=f"{mg(rate)} is above the {phase.name.lower()} maximum of {mg(rates.max)}.",
    )


# --------------------------------------------------------------------------------------------------
# Titration proper


def _next_step_due(minute: float, rate: float, rates: PatientRates, phase: Phase) -> float | None:
    """The minute the next step-up becomes due after setting `rate` at `minute`, if it falls
    inside the session."""
    if (
        phase.titration is not TitrationMode.WITHIN_SESSION
        or phase.step_interval_minutes is None
        or rate >= rates.max
    ):
        return None
    due = dec(minute) + phase.step_interval_minutes
    return float(due) if due < phase.session_minutes else None


def _start(request: TitrateRequest, phase: Phase, rates: PatientRates) -> _Advice:
    now = request.elapsed_minutes
    source = "plan's start rate" if rates.start_from_plan else "start rate"
    rule = phase.rule_key("start_rule" if rates.start_from_plan else "start_rate")
    reasons = [Reason(rule=rule, text=f"Start at the {source}, {mg(rates.start)}.")]
    rate = rates.start
    if rate > rates.max:
        reasons.append(_cap_reason(rate, rates, phase))
        rate = rates.max
    return _Advice(Action.START, rate, now, _next_step_due(now, rate, rates, phase), reasons)


def _titrate(request: TitrateRequest, phase: Phase, rates: PatientRates, course: Course) -> _Advice:
    now = request.elapsed_minutes
    current = course.current
    if current > rates.max:
        return _Advice(Action.REDUCE, rates.max, now, None, [_cap_reason(current, rates, phase)])
    if current <= 0:
        # kip choice: a stopped infusion is not restarted by the engine; that is a physician's call.
        return _Advice(
            Action.HOLD,
            0.0,
            now,
            None,
            [
                Reason(
                    rule="adverse_events.physician_options",
                    text="The infusion is stopped; restarting it is a physician's decision.",
                )
            ],
        )
    if phase.titration is not TitrationMode.WITHIN_SESSION:
        return _Advice(
            Action.HOLD,
            current,
            now,
            None,
            [
                Reason(
                    rule=phase.rule_key("titration"),
                    text=f"No titration within a session in this phase ({phase.titration.value}).",
                )
            ],
        )
    if current >= rates.max:
        return _Advice(
            Action.HOLD,
            current,
            now,
            None,
            [Reason(rule=phase.rule_key("max_rate"), text=f"At phase maximum, {mg(rates.max)}.")],
        )
    return _step(request, phase, rates, course)


def _step(request: TitrateRequest, phase: Phase, rates: PatientRates, course: Course) -> _Advice:
    now = request.elapsed_minutes
    current = course.current
    assert phase.step_interval_minutes is not None  # the model requires it for within_session
    assert course.last_change is not None
    if not rates.step:
        # A per-kg step can round down to nothing for a very light patient: no step to take.
        return _Advice(
            Action.HOLD,
            current,
            now,
            None,
            [
                Reason(
                    rule=phase.rule_key("step"), text="The step rounds to 0 mg/h for this patient."
                )
            ],
        )
    due = dec(course.last_change) + phase.step_interval_minutes
    if due >= phase.session_minutes:
        return _Advice(
            Action.HOLD,
            current,
            now,
            None,
            [
                Reason(
                    rule=phase.rule_key("session_minutes"),
                    text=f"The next step would be due at minute {num(float(due))}, not before the "
                    f"session ends at minute {phase.session_minutes}: hold until the end.",
                )
            ],
        )
    interval_rule = phase.rule_key("step_interval_minutes")
    if dec(now) < due:
        return _Advice(
            Action.HOLD,
            current,
            float(due),
            float(due),
            [
                Reason(
                    rule=interval_rule,
                    text=f"Next step due at minute {num(float(due))}, "
                    f"{phase.step_interval_minutes} minutes after the last change.",
                )
            ],
        )
    target = min(units.round_down(dec(current) + dec(rates.step), rates.increment), rates.max)
    reasons = [
        Reason(
            rule=interval_rule,
            text=f"{phase.step_interval_minutes} minutes since the last change at minute "
            f"{num(course.last_change)}.",
        ),
        Reason(
            rule=phase.rule_key("step"),
            text=f"Step up by {mg(rates.step)} from {mg(current)} to {mg(target)}.",
        ),
    ]
    if target >= rates.max:
        reasons.append(
            Reason(rule=phase.rule_key("max_rate"), text=f"Phase maximum {mg(rates.max)} reached.")
        )
    return _Advice(Action.STEP_UP, target, now, _next_step_due(now, target, rates, phase), reasons)


def _advise(
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: PatientRates,
    course: Course,
    events: list[ActiveEvent],
) -> _Advice:
    now = request.elapsed_minutes
    if now >= phase.session_minutes:
        return _Advice(
            Action.END_SESSION,
            0.0,
            now,
            None,
            [
                Reason(
                    rule=phase.rule_key("session_minutes"),
                    text=f"The session lasts {phase.session_minutes} minutes: end the infusion.",
                )
            ],
        )
    by_events = _event_advice(events, request, protocol, phase, rates, course)
    if by_events is not None:
        return by_events
    advice = (
        _start(request, phase, rates)
        if not course.started
        else _titrate(request, phase, rates, course)
    )
    # Events whose rule lets titration continue are still named, so the nurse sees them weighed.
    noted = [
        Reason(rule=f"{e.key}.infusion_action", text=f"{e.term}: titration continues.")
        for e in events
    ]
    return replace(advice, reasons=[*noted, *advice.reasons])


# The decision


def decide(request: TitrateRequest, protocol: Protocol) -> TitrateResult:
    """The next action for the nurse; pure, no I/O."""
    phase = _phase(request, protocol)
    _require_weight(request, protocol, phase)
    _check_decision(request, protocol)
    rates = patient_rates(protocol, phase, request.patient_weight_kg, request.start_rate_mg_per_h)
    course = course_so_far(request.rate_history)
    by_vitals, vital_reasons = vital_events(request.vitals, protocol)
    events = active_events([*request.active_adverse_events, *by_vitals], protocol)
    advice = _advise(request, protocol, phase, rates, course, events)
    reasons = [*vital_reasons, *advice.reasons]
    rate = advice.rate
    if rate > rates.max:
        # Every path above already caps; this is the last guard of the invariant, not a rule.
        reasons.append(_cap_reason(rate, rates, phase))
        rate = rates.max
    if (
        request.physician_decision not in (None, PhysicianOption.STOP)
        and not any(e.needs_physician for e in events)
        and advice.action is not Action.END_SESSION
    ):
        reasons.append(
            Reason(
                rule="adverse_events.physician_options",
                text=f"The physician's decision ({request.physician_decision.value}) is not "
                "applied: no active event needs a physician evaluation.",
            )
        )
    proposed = (
        check_proposed_rate(
            request.proposed_rate_mg_per_h,
            protocol=protocol,
            phase=phase,
            rates=rates,
            course=course,
            elapsed_minutes=request.elapsed_minutes,
            event_cap=EventCap(advice.rate, advice.in_force) if advice.in_force else None,
        )
        if request.proposed_rate_mg_per_h is not None
        else None
    )
    return TitrateResult(
        **stamp(protocol),
        action=advice.action,
        rate_mg_per_h=rate,
        rate_mg_per_kg_per_h=units.per_kg(rate, request.patient_weight_kg),
        at_minute=advice.at_minute,
        next_review_minute=advice.next_review,
        phase=phase.id,
        max_rate_mg_per_h=rates.max,
        hard_limit_mg_per_h=rates.hard,
        events_triggered_by_vitals=by_vitals,
        proposed=proposed,
        reasons=reasons,
    )
