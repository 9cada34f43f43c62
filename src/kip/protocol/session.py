"""The session so far, as titration and the rate check see it: this patient's rates for the phase
(in mg/h, rounded down to pump precision) and the rates the pump has run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field

from kip.protocol import units
from kip.protocol.common import Input
from kip.protocol.model import Phase, Protocol


class RateChange(Input):
    """A rate set on the pump at a minute of the session; 0 means the infusion was stopped."""

    minute: float = Field(ge=0, allow_inf_nan=False, description="Minutes since session start.")
    rate_mg_per_h: float = Field(ge=0, allow_inf_nan=False)


@dataclass(frozen=True)
class PatientRates:
    """This patient's rates for the phase, all in mg/h and rounded down to pump precision."""

    increment: float
    hard: float
    phase_max: float  # the phase's own cap, before the program's hard limit
    max: float  # what the engine never exceeds: min(phase_max, hard)
    start: float
    start_from_plan: bool
    step: float | None


@dataclass(frozen=True)
class Course:
    started: bool
    current: float
    last_change: float | None  # minute the current rate was set


def patient_rates(
    protocol: Protocol,
    phase: Phase,
    weight_kg: float | None,
    start_rate_mg_per_h: float | None = None,
) -> PatientRates:
    """The phase's rates for this patient; `start_rate_mg_per_h` is plan's start rate, if any.
    Raises units.WeightRequired for a per-kg rate without a weight."""
    inc = protocol.limits.rate_increment_mg_per_h
    hard = units.lowest_mg_per_h(protocol.limits.hard_max_rate, weight_kg, inc)
    phase_max = units.lowest_mg_per_h(phase.max_rate, weight_kg, inc)
    from_plan = start_rate_mg_per_h is not None
    start = (
        units.round_down(start_rate_mg_per_h, inc)
        if start_rate_mg_per_h is not None
        else units.to_mg_per_h(phase.start_rate, weight_kg, inc)
    )
    step = units.to_mg_per_h(phase.step, weight_kg, inc) if phase.step is not None else None
    return PatientRates(inc, hard, phase_max, min(phase_max, hard), start, from_plan, step)


def course_so_far(history: Sequence[RateChange]) -> Course:
    """The rate running now and since when, from the rates set so far (oldest first)."""
    if not history:
        return Course(started=False, current=0.0, last_change=None)
    current = history[-1].rate_mg_per_h
    # Repeated entries at the same rate (e.g. charted every 15 minutes) are not changes: the
    # interval before the next step counts from when this rate was first set.
    since = history[-1].minute
    for change in reversed(history):
        if change.rate_mg_per_h != current:
            break
        since = change.minute
    return Course(started=True, current=current, last_change=since)


def rate_at(history: Sequence[RateChange], minute: float) -> float:
    """The rate running at `minute` (0 before the first change)."""
    rate = 0.0
    for change in history:
        if change.minute > minute:
            break
        rate = change.rate_mg_per_h
    return rate
