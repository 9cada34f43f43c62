"""The adverse events active in an infusion session: vital-sign readings that count as events, and
each term with the protocol rule that governs it (stop, hold, physician evaluation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kip.protocol.common import Reason, Vitals
from kip.protocol.model import EventResponse, EventRule, InfusionAction, Protocol, normalise_term
from kip.protocol.units import num


def vital_events(vitals: Vitals | None, protocol: Protocol) -> tuple[list[str], list[Reason]]:
    """The event terms the readings count as under the protocol's alerts, with why."""
    if vitals is None:
        return [], []
    terms: list[str] = []
    reasons: list[Reason] = []
    for alert in protocol.monitoring.alerts:
        reading = vitals.reading(alert.vital)
        if reading is None or not alert.triggered(reading):
            continue
        bound = (
            f"above {num(alert.above)}"
            if alert.above is not None
            else f"below {num(alert.below or 0)}"
        )
        reasons.append(
            Reason(
                rule="monitoring.alerts",
                text=f"{alert.vital.value} {num(reading)} is {bound}: counts as {alert.event}.",
            )
        )
        if alert.event not in terms:
            terms.append(alert.event)
    return terms, reasons


@dataclass(frozen=True)
class ActiveEvent:
    """An event active in the session and the protocol rule that governs it."""

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


def active_events(terms: Iterable[str], protocol: Protocol) -> list[ActiveEvent]:
    """Each term once, normalised, with the protocol's rule for it (or for unlisted terms)."""
    listed = {e.term for e in protocol.adverse_events.events}
    seen: set[str] = set()
    events: list[ActiveEvent] = []
    for raw in terms:
        term = normalise_term(raw)
        if term in seen:
            continue
        seen.add(term)
        rule = protocol.event_rule(term)
        key = f"adverse_events.events.{term}" if term in listed else "adverse_events.unknown_event"
        events.append(ActiveEvent(term, rule, key))
    return events


def physician_reason(event: ActiveEvent) -> Reason:
    """Why this event waits for a physician."""
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
