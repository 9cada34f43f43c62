"""Checking a rate the nurse proposes, the way a smart pump does (ISMP 2020): within limits, a soft
limit that needs a physician and a reason, or refused.

A rate above the program's hard limit is always refused, whatever the protocol file says, so the
form and the API can call `check_proposed_rate` and refuse it alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from kip.protocol.common import Output, Reason
from kip.protocol.model import LimitKind, Phase, Protocol, TitrationMode
from kip.protocol.session import Course, PatientRates
from kip.protocol.units import dec, mg, num


class Classification(StrEnum):
    """Smart-pump style; declared from best to worst so the worst of several is the max index."""

    OK = "ok"
    SOFT_LIMIT = "soft_limit"
    REFUSED = "refused"


class ProposedRate(Output):
    rate_mg_per_h: float
    classification: Classification
    reasons: list[Reason]


@dataclass(frozen=True)
class EventCap:
    """The rate the active adverse-event rules allow, and the keys of those rules."""

    rate: float
    rules: Sequence[str]


_Flag = tuple[Classification, Reason]


def _flag(kind: LimitKind | Classification, rule: str, text: str) -> _Flag:
    level = kind if isinstance(kind, Classification) else _LEVEL[kind]
    return level, Reason(rule=rule, text=text)


_LEVEL = {LimitKind.SOFT: Classification.SOFT_LIMIT, LimitKind.HARD: Classification.REFUSED}


def _kind_text(kind: LimitKind) -> str:
    if kind is LimitKind.HARD:
        return "hard limit, refused"
    return "soft limit: needs a physician's acknowledgement and a reason"


def check_proposed_rate(
    proposed: float,
    *,
    protocol: Protocol,
    phase: Phase,
    rates: PatientRates,
    course: Course,
    elapsed_minutes: float,
    event_cap: EventCap | None = None,
) -> ProposedRate:
    """Classify a proposed rate (mg/h) for this patient and session; pure, no I/O.

    `rates` and `course` come from `kip.protocol.session`; `event_cap` is what the active adverse
    events allow, when titration is held back by them.
    """
    flags = [
        *_above_caps(proposed, protocol, phase, rates),
        *_against_titration(proposed, elapsed_minutes, protocol, phase, rates, course, event_cap),
        *_against_session(proposed, elapsed_minutes, phase),
    ]
    worst = max((level for level, _ in flags), key=list(Classification).index, default=None)
    reasons = [reason for _, reason in flags] or [
        Reason(rule=phase.rule_key("max_rate"), text=f"{mg(proposed)} is within limits.")
    ]
    return ProposedRate(
        rate_mg_per_h=proposed,
        classification=worst or Classification.OK,
        reasons=reasons,
    )


def _above_caps(
    proposed: float, protocol: Protocol, phase: Phase, rates: PatientRates
) -> list[_Flag]:
    flags: list[_Flag] = []
    if proposed > rates.hard:
        # Never taken from the file's LimitKind: the program maximum has no override.
        flags.append(
            _flag(
                Classification.REFUSED,
                "limits.hard_max_rate",
                f"{mg(proposed)} is above the program's hard limit of {mg(rates.hard)}: "
                "refused, no override.",
            )
        )
    kind = protocol.limits.phase_max
    if proposed > rates.phase_max:
        flags.append(
            _flag(
                kind,
                "limits.phase_max",
                f"{mg(proposed)} is above the {phase.name.lower()} maximum of "
                f"{mg(rates.phase_max)} ({phase.rule_key('max_rate')}); {_kind_text(kind)}.",
            )
        )
    return flags


def _against_titration(
    proposed: float,
    elapsed_minutes: float,
    protocol: Protocol,
    phase: Phase,
    rates: PatientRates,
    course: Course,
    event_cap: EventCap | None,
) -> list[_Flag]:
    flags: list[_Flag] = []
    p, current = dec(proposed), dec(course.current)
    if not course.started:
        start = min(rates.start, rates.max)
        if proposed > start:
            flags.append(
                _flag(
                    Classification.SOFT_LIMIT,
                    phase.rule_key("start_rate"),
                    f"Starting at {mg(proposed)} is above the start rate of {mg(start)}.",
                )
            )
    elif p > current:
        flags += _increase(p, elapsed_minutes, protocol, phase, rates, course)
    tenfold = protocol.limits.tenfold_change
    # Stopping (0) is never a decimal slip, so it is not a tenfold change.
    if course.current > 0 and proposed > 0 and (p >= 10 * current or p * 10 <= current):
        flags.append(
            _flag(
                tenfold,
                "limits.tenfold_change",
                f"{mg(proposed)} is a tenfold change from {mg(course.current)} (a decimal "
                f"slip?); {_kind_text(tenfold)}.",
            )
        )
    if event_cap is not None and event_cap.rules and proposed > event_cap.rate:
        flags.append(
            _flag(
                Classification.SOFT_LIMIT,
                event_cap.rules[0],
                f"{mg(proposed)} is above the {mg(event_cap.rate)} the active adverse-event rules "
                f"allow ({', '.join(event_cap.rules)}).",
            )
        )
    return flags


def _increase(
    p: Decimal,
    elapsed_minutes: float,
    protocol: Protocol,
    phase: Phase,
    rates: PatientRates,
    course: Course,
) -> list[_Flag]:
    limits = protocol.limits
    flags: list[_Flag] = []
    current = dec(course.current)
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
                phase.rule_key("titration"),
                f"This phase does not titrate within a session ({phase.titration.value}).",
            )
        )
    step_kind = limits.step_above_protocol_step
    if rates.step is not None and p - current > dec(rates.step):
        flags.append(
            _flag(
                step_kind,
                "limits.step_above_protocol_step",
                f"An increase of {mg(float(p - current))} is larger than the protocol step of "
                f"{mg(rates.step)} ({phase.rule_key('step')}); {_kind_text(step_kind)}.",
            )
        )
    interval = phase.step_interval_minutes
    interval_kind = limits.step_before_interval
    if interval is not None and course.last_change is not None:
        due = dec(course.last_change) + interval
        if dec(elapsed_minutes) < due:
            flags.append(
                _flag(
                    interval_kind,
                    "limits.step_before_interval",
                    f"An increase before minute {num(float(due))}, {interval} minutes after the "
                    f"last change ({phase.rule_key('step_interval_minutes')}); "
                    f"{_kind_text(interval_kind)}.",
                )
            )
    return flags


def _against_session(proposed: float, elapsed_minutes: float, phase: Phase) -> list[_Flag]:
    if elapsed_minutes < phase.session_minutes or proposed <= 0:
        return []
    return [
        _flag(
            Classification.SOFT_LIMIT,
            phase.rule_key("session_minutes"),
            f"The session ends at minute {phase.session_minutes}; running longer is a deviation.",
        )
    ]
