"""Titration: the next action for the nurse during an infusion session.

Given the session so far (rates run, minutes elapsed, active adverse events, the physician's
decision, the latest vitals), say what to run now and why, and classify a rate the nurse proposes
the way a smart pump does (ISMP 2020): within limits, a soft limit that needs a physician and a
reason, or refused.

The one property that must hold for any input: the recommended rate is never above the phase maximum
for this patient, and that maximum is never above the program's hard limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, NoReturn

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from kip.protocol import units
from kip.protocol.common import Decision, Input, Output, Reason, Request, Vitals, stamp
from kip.protocol.errors import InputError
from kip.protocol.model import (
    EventResponse,
    EventRule,
    InfusionAction,
    LimitKind,
    Phase,
    PhysicianOption,
    Protocol,
    TitrationMode,
)

# --------------------------------------------------------------------------------------------------
# Request and result


class RateChange(Input):
    """A rate set on the pump at a minute of the session; 0 means the infusion was stopped."""

    minute: float = Field(ge=0, allow_inf_nan=False, description="Minutes since session start.")
    rate_mg_per_h: float = Field(ge=0, allow_inf_nan=False)


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
                    f"is before the previous entry's minute ({_num(previous)}); "
                    "list rate changes oldest first",
                    change.minute,
                )
            if change.minute > self.elapsed_minutes:
                _field_error(
                    ("rate_history", i, "minute"),
                    f"is after elapsed_minutes ({_num(self.elapsed_minutes)})",
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
                    f"is after elapsed_minutes ({_num(self.elapsed_minutes)})",
                    self.physician_decision_minute,
                )
        if (
            self.vitals is not None
            and self.vitals.minute is not None
            and self.vitals.minute > self.elapsed_minutes
        ):
            _field_error(
                ("vitals", "minute"),
                f"is after elapsed_minutes ({_num(self.elapsed_minutes)})",
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


class Classification(StrEnum):
    """Smart-pump style; declared from best to worst so the worst of several is the max index."""

    OK = "ok"
    SOFT_LIMIT = "soft_limit"
    REFUSED = "refused"


class ProposedRate(Output):
    rate_mg_per_h: float
    classification: Classification
    reasons: list[Reason]


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


def _dec(x: float) -> Decimal:
    # Through str so 0.1 is 0.1, not its binary neighbour.
    return Decimal(str(x))


def _num(x: float) -> str:
    return f"{_dec(x).normalize():f}"


def _mg(x: float) -> str:
    return f"{_num(x)} mg/h"


def _rule(phase: Phase, key: str) -> str:
    return f"phases.{phase.id}.{key}"


# --------------------------------------------------------------------------------------------------
# The patient's limits and the session so far


@dataclass(frozen=True)
class _Rates:
    """This patient's rates for the phase, all in mg/h and rounded down to pump precision."""

    increment: float
    hard: float
    phase_max: float  # the phase's own cap, before the program's hard limit
    max: float  # what the engine never exceeds: min(phase_max, hard)
    start: float
    start_from_plan: bool
    step: float | None


@dataclass(frozen=True)
class _Course:
    started: bool
    current: float
    last_change: float | None  # minute the current rate was set


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
        (_rule(phase, "start_rate"), [phase.start_rate]),
        (_rule(phase, "step"), [phase.step] if phase.step is not None else []),
        (_rule(phase, "max_rate"), phase.max_rate),
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


def _rates(request: TitrateRequest, protocol: Protocol, phase: Phase) -> _Rates:
    inc = protocol.limits.rate_increment_mg_per_h
    weight = request.patient_weight_kg
    hard = units.lowest_mg_per_h(protocol.limits.hard_max_rate, weight, inc)
    phase_max = units.lowest_mg_per_h(phase.max_rate, weight, inc)
    from_plan = request.start_rate_mg_per_h is not None
    start = (
        units.round_down(request.start_rate_mg_per_h, inc)
        if request.start_rate_mg_per_h is not None
        else units.to_mg_per_h(phase.start_rate, weight, inc)
    )
    step = units.to_mg_per_h(phase.step, weight, inc) if phase.step is not None else None
    return _Rates(inc, hard, phase_max, min(phase_max, hard), start, from_plan, step)


def _course(request: TitrateRequest) -> _Course:
    history = request.rate_history
    if not history:
        return _Course(started=False, current=0.0, last_change=None)
    current = history[-1].rate_mg_per_h
    # Repeated entries at the same rate (e.g. charted every 15 minutes) are not changes: the
    # interval before the next step counts from when this rate was first set.
    since = history[-1].minute
    for change in reversed(history):
        if change.rate_mg_per_h != current:
            break
        since = change.minute
    return _Course(started=True, current=current, last_change=since)


def _rate_at(request: TitrateRequest, minute: float) -> float:
    rate = 0.0
    for change in request.rate_history:
        if change.minute > minute:
            break
        rate = change.rate_mg_per_h
    return rate


# --------------------------------------------------------------------------------------------------
# Vitals and adverse events


def _vital_events(vitals: Vitals | None, protocol: Protocol) -> tuple[list[str], list[Reason]]:
    if vitals is None:
        return [], []
    terms: list[str] = []
    reasons: list[Reason] = []
    for alert in protocol.monitoring.alerts:
        reading = vitals.reading(alert.vital)
        if reading is None or not alert.triggered(reading):
            continue
        bound = (
            f"above {_num(alert.above)}"
            if alert.above is not None
            else f"below {_num(alert.below or 0)}"
        )
        reasons.append(
            Reason(
                rule="monitoring.alerts",
                text=f"{alert.vital.value} {_num(reading)} is {bound}: counts as {alert.event}.",
            )
        )
        if alert.event not in terms:
            terms.append(alert.event)
    return terms, reasons


@dataclass(frozen=True)
class _Event:
    term: str
    rule: EventRule | None
    key: str  # dotted key of the rule, e.g. adverse_events.events.nausea

    @property
    def stops(self) -> bool:
        # A rule that says "stop" in either field stops: the safer reading of a contradictory file.
        return self.rule is not None and (
            self.rule.infusion_action is InfusionAction.STOP
            or self.rule.response is EventResponse.STOP
        )

    @property
    def needs_physician(self) -> bool:
        # An event nobody wrote a rule for is a physician's call, never silently ignored.
        return self.rule is None or self.rule.response is EventResponse.PHYSICIAN_EVALUATION

    @property
    def holds(self) -> bool:
        return self.rule is not None and self.rule.infusion_action is InfusionAction.HOLD


def _normalise(term: str) -> str:
    return term.strip().lower().replace(" ", "_")


def _events(terms: Iterable[str], protocol: Protocol) -> list[_Event]:
    listed = {e.term for e in protocol.adverse_events.events}
    seen: set[str] = set()
    events: list[_Event] = []
    for raw in terms:
        term = _normalise(raw)
        if term in seen:
            continue
        seen.add(term)
        rule = protocol.event_rule(term)
        key = f"adverse_events.events.{term}" if term in listed else "adverse_events.unknown_event"
        events.append(_Event(term, rule, key))
    return events


def _event_advice(
    events: list[_Event],
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: _Rates,
    course: _Course,
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
        eval_reasons = [_physician_reason(e) for e in physician]
        in_force = [r.rule for r in eval_reasons] + [r.rule for r in hold_reasons]
        reasons = eval_reasons + hold_reasons
        if decision is None:
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


def _physician_reason(event: _Event) -> Reason:
    if event.rule is None:
        return Reason(
            rule="adverse_events.unknown_event",
            text=f"{event.term}: not listed and the protocol has no rule for unlisted events; "
            "treated as needing a physician evaluation.",
        )
    return Reason(
        rule=f"{event.key}.response",
        text=f"{event.term}: a physician evaluates (as-needed medication, continue, reduce or "
        "stop); no step-up meanwhile.",
    )


def _hold(
    action: Action,
    now: float,
    rates: _Rates,
    phase: Phase,
    course: _Course,
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
                rule=reasons[0].rule if reasons else _rule(phase, "start_rate"),
                text="Not started: do not start while the event is active.",
            ),
        ]
    return _Advice(action, min(course.current, rates.max), now, None, reasons, in_force)


def _reduce(
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: _Rates,
    course: _Course,
    reasons: list[Reason],
    in_force: list[str],
) -> _Advice:
    now = request.elapsed_minutes
    steps = protocol.adverse_events.reduce_by_steps
    # A phase without a step still has to be reducible: going down to 0 (stop) is always safe.
    step = rates.step if rates.step else rates.max
    decided_at = request.physician_decision_minute
    base = _rate_at(request, decided_at) if decided_at is not None else course.current
    target = units.round_down(max(_dec(base) - steps * _dec(step), Decimal(0)), rates.increment)
    target = min(target, rates.max)
    reasons = [
        *reasons,
        Reason(
            rule="adverse_events.reduce_by_steps",
            text=f"Physician decided: reduce by {steps} step(s) of {_mg(step)} from "
            f"{_mg(base)} to {_mg(target)}.",
        ),
    ]
    if target <= 0:
        return _Advice(Action.STOP, 0.0, now, None, reasons, in_force)
    if course.current <= target:
        # The reduction is already on the pump; reducing again would ratchet down on every ask.
        return _Advice(Action.HOLD, course.current, now, None, reasons, in_force)
    return _Advice(Action.REDUCE, target, now, None, reasons, in_force)


def _cap_reason(rate: float, rates: _Rates, phase: Phase) -> Reason:
    if rates.hard < rates.phase_max:
        return Reason(
            rule="limits.hard_max_rate",
            text=f"{_mg(rate)} is above the program's hard limit of {_mg(rates.hard)}.",
        )
    return Reason(
        rule=_rule(phase, "max_rate"),
        text=f"{_mg(rate)} is above the {phase.name.lower()} maximum of {_mg(rates.max)}.",
    )


# --------------------------------------------------------------------------------------------------
# Titration proper


def _next_step_due(minute: float, rate: float, rates: _Rates, phase: Phase) -> float | None:
    """The minute the next step-up becomes due after setting `rate` at `minute`, if it falls
    inside the session."""
    if (
        phase.titration is not TitrationMode.WITHIN_SESSION
        or phase.step_interval_minutes is None
        or rate >= rates.max
    ):
        return None
    due = _dec(minute) + phase.step_interval_minutes
    return float(due) if due < phase.session_minutes else None


def _start(request: TitrateRequest, phase: Phase, rates: _Rates) -> _Advice:
    now = request.elapsed_minutes
    source = "plan's start rate" if rates.start_from_plan else "start rate"
    rule = _rule(phase, "start_rule" if rates.start_from_plan else "start_rate")
    reasons = [Reason(rule=rule, text=f"Start at the {source}, {_mg(rates.start)}.")]
    rate = rates.start
    if rate > rates.max:
        reasons.append(_cap_reason(rate, rates, phase))
        rate = rates.max
    return _Advice(Action.START, rate, now, _next_step_due(now, rate, rates, phase), reasons)


def _titrate(request: TitrateRequest, phase: Phase, rates: _Rates, course: _Course) -> _Advice:
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
                    rule=_rule(phase, "titration"),
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
            [Reason(rule=_rule(phase, "max_rate"), text=f"At phase maximum, {_mg(rates.max)}.")],
        )
    return _step(request, phase, rates, course)


def _step(request: TitrateRequest, phase: Phase, rates: _Rates, course: _Course) -> _Advice:
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
            [Reason(rule=_rule(phase, "step"), text="The step rounds to 0 mg/h for this patient.")],
        )
    due = _dec(course.last_change) + phase.step_interval_minutes
    if due >= phase.session_minutes:
        return _Advice(
            Action.HOLD,
            current,
            now,
            None,
            [
                Reason(
                    rule=_rule(phase, "session_minutes"),
                    text=f"The next step would be due at minute {_num(float(due))}, not before the "
                    f"session ends at minute {phase.session_minutes}: hold until the end.",
                )
            ],
        )
    interval_rule = _rule(phase, "step_interval_minutes")
    if _dec(now) < due:
        return _Advice(
            Action.HOLD,
            current,
            float(due),
            float(due),
            [
                Reason(
                    rule=interval_rule,
                    text=f"Next step due at minute {_num(float(due))}, "
                    f"{phase.step_interval_minutes} minutes after the last change.",
                )
            ],
        )
    target = min(units.round_down(_dec(current) + _dec(rates.step), rates.increment), rates.max)
    reasons = [
        Reason(
            rule=interval_rule,
            text=f"{phase.step_interval_minutes} minutes since the last change at minute "
            f"{_num(course.last_change)}.",
        ),
        Reason(
            rule=_rule(phase, "step"),
            text=f"Step up by {_mg(rates.step)} from {_mg(current)} to {_mg(target)}.",
        ),
    ]
    if target >= rates.max:
        reasons.append(
            Reason(rule=_rule(phase, "max_rate"), text=f"Phase maximum {_mg(rates.max)} reached.")
        )
    return _Advice(Action.STEP_UP, target, now, _next_step_due(now, target, rates, phase), reasons)


def _advise(
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: _Rates,
    course: _Course,
    events: list[_Event],
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
                    rule=_rule(phase, "session_minutes"),
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


# --------------------------------------------------------------------------------------------------
# Classifying a proposed rate


_Flag = tuple[Classification, Reason]


def _flag(kind: LimitKind | Classification, rule: str, text: str) -> _Flag:
    level = kind if isinstance(kind, Classification) else _LEVEL[kind]
    return level, Reason(rule=rule, text=text)


_LEVEL = {LimitKind.SOFT: Classification.SOFT_LIMIT, LimitKind.HARD: Classification.REFUSED}


def _kind_text(kind: LimitKind) -> str:
    if kind is LimitKind.HARD:
        return "hard limit, refused"
    return "soft limit: needs a physician's acknowledgement and a reason"


def _classify(
    proposed: float,
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: _Rates,
    course: _Course,
    advice: _Advice,
) -> ProposedRate:
    flags = [
        *_above_caps(proposed, protocol, phase, rates),
        *_against_titration(proposed, request, protocol, phase, rates, course, advice),
        *_against_session(proposed, request, phase),
    ]
    worst = max((level for level, _ in flags), key=list(Classification).index, default=None)
    reasons = [reason for _, reason in flags] or [
        Reason(rule=_rule(phase, "max_rate"), text=f"{_mg(proposed)} is within limits.")
    ]
    return ProposedRate(
        rate_mg_per_h=proposed,
        classification=worst or Classification.OK,
        reasons=reasons,
    )


def _above_caps(proposed: float, protocol: Protocol, phase: Phase, rates: _Rates) -> list[_Flag]:
    flags: list[_Flag] = []
    if proposed > rates.hard:
        # Never taken from the file's LimitKind: the program maximum has no override.
        flags.append(
            _flag(
                Classification.REFUSED,
                "limits.hard_max_rate",
                f"{_mg(proposed)} is above the program's hard limit of {_mg(rates.hard)}: "
                "refused, no override.",
            )
        )
    kind = protocol.limits.phase_max
    if proposed > rates.phase_max:
        flags.append(
            _flag(
                kind,
                "limits.phase_max",
                f"{_mg(proposed)} is above the {phase.name.lower()} maximum of "
                f"{_mg(rates.phase_max)} ({_rule(phase, 'max_rate')}); {_kind_text(kind)}.",
            )
        )
    return flags


def _against_titration(
    proposed: float,
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: _Rates,
    course: _Course,
    advice: _Advice,
) -> list[_Flag]:
    flags: list[_Flag] = []
    p, current = _dec(proposed), _dec(course.current)
    if not course.started:
        start = min(rates.start, rates.max)
        if proposed > start:
            flags.append(
                _flag(
                    Classification.SOFT_LIMIT,
                    _rule(phase, "start_rate"),
                    f"Starting at {_mg(proposed)} is above the start rate of {_mg(start)}.",
                )
            )
    elif p > current:
        flags += _increase(p, request, protocol, phase, rates, course)
    tenfold = protocol.limits.tenfold_change
    # Stopping (0) is never a decimal slip, so it is not a tenfold change.
    if course.current > 0 and proposed > 0 and (p >= 10 * current or p * 10 <= current):
        flags.append(
            _flag(
                tenfold,
                "limits.tenfold_change",
                f"{_mg(proposed)} is a tenfold change from {_mg(course.current)} (a decimal "
                f"slip?); {_kind_text(tenfold)}.",
            )
        )
    if advice.in_force and proposed > advice.rate:
        flags.append(
            _flag(
                Classification.SOFT_LIMIT,
                advice.in_force[0],
                f"{_mg(proposed)} is above the {_mg(advice.rate)} the active adverse-event rules "
                f"allow ({', '.join(advice.in_force)}).",
            )
        )
    return flags


def _increase(
    p: Decimal,
    request: TitrateRequest,
    protocol: Protocol,
    phase: Phase,
    rates: _Rates,
    course: _Course,
) -> list[_Flag]:
    limits = protocol.limits
    flags: list[_Flag] = []
    current = _dec(course.current)
    if course.current <= 0:
        flags.append(
            _flag(
                Classification.SOFT_LIMIT,
                "adverse_events.physician_options",
                "Restarting a stopped infusion is a physician's decision.",
            )
        )
    if phase.titration is not TitrationMode.WITHIN_SESSION:
        flags.append(
            _flag(
                Classification.SOFT_LIMIT,
                _rule(phase, "titration"),
                f"This phase does not titrate within a session ({phase.titration.value}).",
            )
        )
    step_kind = limits.step_above_protocol_step
    if rates.step is not None and p - current > _dec(rates.step):
        flags.append(
            _flag(
                step_kind,
                "limits.step_above_protocol_step",
                f"An increase of {_mg(float(p - current))} is larger than the protocol step of "
                f"{_mg(rates.step)} ({_rule(phase, 'step')}); {_kind_text(step_kind)}.",
            )
        )
    interval = phase.step_interval_minutes
    interval_kind = limits.step_before_interval
    if interval is not None and course.last_change is not None:
        due = _dec(course.last_change) + interval
        if _dec(request.elapsed_minutes) < due:
            flags.append(
                _flag(
                    interval_kind,
                    "limits.step_before_interval",
                    f"An increase before minute {_num(float(due))}, {interval} minutes after the "
                    f"last change ({_rule(phase, 'step_interval_minutes')}); "
                    f"{_kind_text(interval_kind)}.",
                )
            )
    return flags


def _against_session(proposed: float, request: TitrateRequest, phase: Phase) -> list[_Flag]:
    if request.elapsed_minutes < phase.session_minutes or proposed <= 0:
        return []
    return [
        _flag(
            Classification.SOFT_LIMIT,
            _rule(phase, "session_minutes"),
            f"The session ends at minute {phase.session_minutes}; running longer is a deviation.",
        )
    ]


# --------------------------------------------------------------------------------------------------
# The decision


def decide(request: TitrateRequest, protocol: Protocol) -> TitrateResult:
    """The next action for the nurse; pure, no I/O."""
    phase = _phase(request, protocol)
    _require_weight(request, protocol, phase)
    _check_decision(request, protocol)
    rates = _rates(request, protocol, phase)
    course = _course(request)
    by_vitals, vital_reasons = _vital_events(request.vitals, protocol)
    events = _events([*request.active_adverse_events, *by_vitals], protocol)
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
        _classify(request.proposed_rate_mg_per_h, request, protocol, phase, rates, course, advice)
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
