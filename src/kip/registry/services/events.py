"""Adverse events (classified by kip.protocol.adverse), PRN doses and physician decisions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User

from kip.protocol import adverse, titrate
from kip.protocol.errors import InputError
from kip.protocol.model import PhysicianOption, normalise_term
from kip.registry.access import Action
from kip.registry.models import AdverseEvent, Infusion, MedicationDose
from kip.registry.models.choices import DoseKind, InfusionStatus, Resolution
from kip.registry.services import engine_io
from kip.registry.services.common import (
    Source,
    get_adverse_event,
    get_infusion,
    protocol_of,
    writing,
)
from kip.registry.services.errors import Conflict, Refusals, ServiceError, from_input_error
from kip.registry.services.sessions import (
    MAX_MINUTE,
    elapsed_minutes,
    engine_next,
    noted_tenths,
    require_status,
    tenths,
)

DURING = (InfusionStatus.RUNNING,)


@dataclass(frozen=True)
class EventReported:
    event: AdverseEvent
    response: adverse.AdverseEventResult
    next: titrate.TitrateResult


@dataclass(frozen=True)
class PrnGiven:
    dose: MedicationDose
    option: adverse.PrnOption


@dataclass(frozen=True)
class Decided:
    event: AdverseEvent
    next: titrate.TitrateResult | None


def _request(
    infusion: Infusion, term: str, minute: Decimal, can_take_oral: bool, self_resolved: bool
) -> adverse.AdverseEventRequest:
    return engine_io.build(
        adverse.AdverseEventRequest,
        protocol=infusion.protocol_id,
        event=term,
        minute=float(minute),
        can_take_oral=can_take_oral,
        self_resolved=self_resolved,
        given=engine_io.given_doses(infusion, float(minute)),
    )


def _respond(
    infusion: Infusion, request: adverse.AdverseEventRequest
) -> adverse.AdverseEventResult:
    try:
        return adverse.decide(request, protocol_of(infusion.protocol_id))
    except InputError as exc:
        raise from_input_error(exc) from None


def _still_ongoing(event: AdverseEvent, *, fresh: bool = False) -> None:
    """Refuse acting on a resolved event; `fresh` reads its resolution again (inside the write:
    of two users resolving it at once, the second is told it is resolved)."""
    if fresh:
        event.refresh_from_db(fields=["resolution"])
    if event.resolution != Resolution.ONGOING:
        raise Conflict("adverse_event_id", "adverse_events.resolution", "already resolved")


def check_event(found: Refusals, term: str, minute: float | None) -> Decimal | None:
    """An event's term and onset minute, every refusal noted in `found` (no database read): the
    minute to a tenth, None when it is not given or refused."""
    if not normalise_term(term):
        found.refuse("term", "adverse_events.events", "must name an adverse event")
    return noted_tenths(found, minute, "minute", "session.minute", Decimal(0), MAX_MINUTE)


def report_adverse_event(
    user: User,
    infusion_id: int,
    term: str,
    minute: float,
    *,
    can_take_oral: bool = True,
    self_resolved: bool = False,
    note: str = "",
    source: Source = "app",
) -> EventReported:
    """Store the event with the protocol's category and return the protocol's response."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(infusion, DURING, "report an adverse event for")
    found = Refusals()
    at = check_event(found, term, minute)
    found.raise_any()
    assert at is not None
    response = _respond(infusion, _request(infusion, term, at, can_take_oral, self_resolved))
    resolved = response.response is adverse.AdverseResponse.NONE
    with writing(user, f"adverse event {response.event}", source):
        event = AdverseEvent.objects.create(
            infusion=infusion,
            term=response.event,
            category=response.category.value,
            onset_minute=at,
            resolved_minute=at if resolved else None,
            resolution=Resolution.SELF_RESOLVED if resolved else Resolution.ONGOING,
            note=note,
            recorded_by=user,
        )
    return EventReported(event, response, engine_next(infusion, float(at)))


def give_prn(
    user: User,
    adverse_event_id: int,
    prn_id: str,
    minute: float,
    *,
    can_take_oral: bool = True,
    source: Source = "app",
) -> PrnGiven:
    """A PRN dose for an event: refused beyond its cap, interval, dose count or route rule, and
    when neither the event's rule nor a physician's decision calls for it."""
    event = get_adverse_event(user, adverse_event_id, Action.RUN_INFUSION)
    infusion = event.infusion
    require_status(infusion, DURING, "give a PRN dose during")
    protocol = protocol_of(infusion.protocol_id)
    med = next((p for p in protocol.adverse_events.prn if p.id == prn_id), None)
    if med is None:
        known = ", ".join(p.id for p in protocol.adverse_events.prn)
        raise ServiceError("prn_id", "adverse_events.prn", f"{prn_id!r} is unknown ({known})")
    rule = protocol.event_rule(event.term)
    listed = rule is not None and prn_id in rule.prn
    ordered = event.physician_decision == PhysicianOption.PRN_MEDICATION.value
    if not listed and not ordered:
        raise ServiceError(
            "prn_id",
            f"adverse_events.events.{event.term}.prn",
            f"{prn_id} is not listed for {event.term} and no physician ordered PRN medication",
        )
    at = tenths(minute, "minute", "session.minute", event.onset_minute, MAX_MINUTE)
    with writing(user, f"PRN {prn_id} for {event.term}", source):
        # Judged on the doses as stored while every other clinical write waits: a dose given at
        # the same moment (a double click, a colleague) counts towards the cap and the interval.
        request = _request(infusion, event.term, at, can_take_oral, self_resolved=False)
        option, checks = adverse.evaluate_prn(med, request, protocol.adverse_events)
        failed = [c for c in checks if not c.ok]
        if failed:
            first = failed[0]
            raise ServiceError("prn_id", first.reason.rule, f"{prn_id} refused: {first.why}")
        dose = MedicationDose.objects.create(
            infusion=infusion,
            kind=DoseKind.PRN,
            drug=med.drug,
            route=med.route.value,
            dose_mg=Decimal(str(med.dose_mg)),
            minute=at,
            prn_id=med.id,
            adverse_event=event,
            given_by=user,
        )
    return PrnGiven(dose, option)


def physician_decision(
    user: User,
    adverse_event_id: int,
    decision: PhysicianOption,
    *,
    minute: float | None = None,
    note: str = "",
    source: Source = "app",
) -> Decided:
    """A physician's decision after evaluating the event: one of the options the protocol gives
    for it (after a stop event, only PRN medication or stop). The session minute of the decision
    (now, unless given) is kept: titrate measures a reduction from the rate running then."""
    event = get_adverse_event(user, adverse_event_id, Action.APPROVE_DEVIATION)
    infusion = event.infusion
    require_status(infusion, DURING, "decide on an event during")
    _still_ongoing(event)
    response = _respond(
        infusion, _request(infusion, event.term, event.onset_minute, True, self_resolved=False)
    )
    if decision not in response.physician_options:
        known = ", ".join(o.value for o in response.physician_options) or "none"
        raise ServiceError(
            "decision",
            "adverse_events.physician_options",
            f"{decision.value!r} is not an option for {event.term} ({known})",
        )
    at = tenths(
        minute if minute is not None else max(elapsed_minutes(infusion), float(event.onset_minute)),
        "minute",
        "session.minute",
        event.onset_minute,
        MAX_MINUTE,
    )
    with writing(user, note.strip() or f"physician decision {decision.value}", source):
        _still_ongoing(event, fresh=True)
        event.decided_minute = at
        event.physician_evaluated = True
        event.evaluated_by = user
        event.physician_decision = decision.value
        if note:
            event.note = note
        event.save()
    return Decided(event, engine_next(infusion, max(elapsed_minutes(infusion), float(at))))


def resolve_adverse_event(
    user: User,
    adverse_event_id: int,
    minute: float,
    resolution: Resolution,
    *,
    source: Source = "app",
) -> AdverseEvent:
    """Close an event: titration is no longer held for it."""
    event = get_adverse_event(user, adverse_event_id, Action.RUN_INFUSION)
    if resolution == Resolution.ONGOING:
        raise ServiceError("resolution", "adverse_events.resolution", "must resolve the event")
    _still_ongoing(event)
    at = tenths(minute, "minute", "session.minute", event.onset_minute, MAX_MINUTE)
    with writing(user, f"resolve {event.term}", source):
        _still_ongoing(event, fresh=True)
        event.resolution = resolution
        event.resolved_minute = at
        event.save()
    return event
