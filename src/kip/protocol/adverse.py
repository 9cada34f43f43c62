"""The adverse-event decision: what the protocol says to do when an event is reported.

Pure: the caller passes the protocol and what was already given in the session (PRN doses and
premedication). Nothing is read or remembered here, so the same request always gets the same
answer, and a nurse always gets a next step: when no as-needed medication may be given, a physician
is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from kip.protocol.common import Decision, Input, Output, Reason, Request, stamp
from kip.protocol.errors import InputError
from kip.protocol.model import (
    AdverseEvents,
    Category,
    EventResponse,
    EventRule,
    InfusionAction,
    PhysicianOption,
    PrnMedication,
    Protocol,
    Route,
    normalise_term,
)

SELF_RESOLVED_SENTENCE = "If adverse events quickly self-resolved, no intervention was performed."


class AdverseResponse(StrEnum):
    """The response to this report; `none` is only reached through self-resolution."""

    PRN = "prn"
    PHYSICIAN_EVALUATION = "physician_evaluation"
    STOP = "stop"
    NONE = "none"


class GivenDose(Input):
    drug: str = Field(min_length=1)
    route: Route
    dose_mg: float = Field(gt=0, allow_inf_nan=False)
    minute: float = Field(
        allow_inf_nan=False,
        description="Minutes since infusion start; negative before it (premedication at -30).",
    )
    premedication: bool = False


class AdverseEventRequest(Request):
    event: str = Field(min_length=1, description="Adverse-event term, e.g. 'nausea'.")
    minute: float = Field(
        ge=0, allow_inf_nan=False, description="Minutes since infusion start, when assessed."
    )
    can_take_oral: bool = True
    self_resolved: bool = False
    given: list[GivenDose] = Field(
        default=[], description="Doses already given this session: PRN and premedication."
    )


class PrnOption(Output):
    id: str
    drug: str
    route: Route
    dose_mg: float
    allowed_now: bool
    next_allowed_minute: float | None = Field(
        description="`minute` when allowed now; None when waiting alone will not allow it."
    )
    given_mg: float = Field(description="Same drug, all routes, counted toward the cap window.")
    cap_mg: float | None
    remaining_mg: float | None
    doses_given: int = Field(description="PRN doses of this drug by this route in the session.")
    reasons: list[Reason]


class AdverseEventResult(Decision):
    event: str
    category: Category
    listed: bool
    response: AdverseResponse
    infusion_action: InfusionAction
    physician_evaluation_required: bool
    physician_options: list[PhysicianOption]
    prn: list[PrnOption]
    recommended_prn: str | None


# --- terms and categories --------------------------------------------------------------------


def is_listed(protocol: Protocol, term: str) -> bool:
    key = normalise_term(term)
    return any(rule.term == key for rule in protocol.adverse_events.events)


def category_of(protocol: Protocol, term: str) -> Category:
    """Table 5 category of a term; unlisted terms take the unknown-event rule's, else `other`."""
    rule = protocol.event_rule(normalise_term(term))
    return rule.category if rule is not None else Category.OTHER


# --- arithmetic ------------------------------------------------------------------------------


def _dec(x: float) -> Decimal:
    # Through str so 0.2 + 1.3 + 0.5 sums to exactly 2 and 300.7 - 60.7 to exactly 240.
    return Decimal(str(x))


def _fmt(x: Decimal) -> str:
    return f"{x.normalize():f}"


_SEVERITY = {InfusionAction.CONTINUE: 0, InfusionAction.HOLD: 1, InfusionAction.STOP: 2}


def _at_least(action: InfusionAction, floor: InfusionAction) -> InfusionAction:
    return action if _SEVERITY[action] >= _SEVERITY[floor] else floor


# --- input checks ----------------------------------------------------------------------------


def check_request(request: AdverseEventRequest) -> str:
    """The normalised event term; InputError for what the schema alone cannot refuse."""
    term = normalise_term(request.event)
    if not term:
        raise InputError("event: must name an adverse event")
    for i, dose in enumerate(request.given):
        if dose.minute > request.minute:
            raise InputError(
                f"given[{i}].minute: {dose.minute:g} is after the event minute {request.minute:g}"
                " (only doses already given can be counted)"
            )
    return term


# --- one PRN option --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    """One protocol condition on a PRN option: passed or not, and why."""

    ok: bool
    reason: Reason
    why: str = ""
    next_minute: Decimal | None = None  # set only when waiting until then lifts the block


def _same_drug(dose: GivenDose, drug: str) -> bool:
    return dose.drug.strip().lower() == drug.strip().lower()


def _key(med: PrnMedication, field: str) -> str:
    return f"adverse_events.prn.{med.id}.{field}"


def cap_total(
    med: PrnMedication, given: list[GivenDose], minute: float, settings: AdverseEvents
) -> Decimal:
    """Milligrams of the drug (all routes) in the closed window [minute - window, minute]."""
    start = _dec(minute) - _dec(med.cap_window_hours) * 60
    return sum(
        (
            _dec(d.dose_mg)
            for d in given
            if _same_drug(d, med.drug)
            and _dec(d.minute) >= start
            and (settings.premedication_counts_toward_cap or not d.premedication)
        ),
        Decimal(0),
    )


def _cap_check(
    med: PrnMedication, given: list[GivenDose], minute: float, settings: AdverseEvents
) -> list[_Check]:
    if med.cap_mg is None:
        return []
    total = cap_total(med, given, minute, settings)
    after = total + _dec(med.dose_mg)
    cap = _dec(med.cap_mg)
    premed = (
        "premedication included"
        if settings.premedication_counts_toward_cap
        else "premedication not counted"
    )
    window = f"{med.cap_window_hours} h"
    checks = [
        _Check(
            ok=after <= cap,
            reason=Reason(
                rule=_key(med, "cap_mg"),
                text=f"{med.drug}: {_fmt(total)} mg given in the last {window} ({premed}); "
                f"{_fmt(_dec(med.dose_mg))} mg more makes {_fmt(after)} mg, cap {_fmt(cap)} mg.",
            ),
            why=f"cap reached ({_fmt(total)} mg of {_fmt(cap)} mg {med.drug} in {window}; "
            f"another {_fmt(_dec(med.dose_mg))} mg would make {_fmt(after)} mg)",
        )
    ]
    counted_premed = [d for d in given if d.premedication and _same_drug(d, med.drug)]
    if counted_premed and settings.premedication_counts_toward_cap:
        checks.append(
            _Check(
                ok=True,
                reason=Reason(
                    rule="adverse_events.premedication_counts_toward_cap",
                    text=f"Premedication {med.drug} counts toward the {_fmt(cap)} mg cap.",
                ),
            )
        )
    return checks


def _interval_doses(
    med: PrnMedication, given: list[GivenDose], settings: AdverseEvents
) -> list[GivenDose]:
    return [
        d
        for d in given
        if _same_drug(d, med.drug)
        and (settings.interval_across_routes or d.route is med.route)
        and (settings.premedication_counts_toward_interval or not d.premedication)
    ]


def _interval_notes(
    med: PrnMedication, given: list[GivenDose], counted: list[GivenDose], settings: AdverseEvents
) -> list[_Check]:
    """Which settings decided the doses the interval is measured from, when they mattered."""
    notes = []
    premed = [d for d in given if d.premedication and _same_drug(d, med.drug)]
    if premed:
        counts = settings.premedication_counts_toward_interval
        notes.append(
            _Check(
                ok=True,
                reason=Reason(
                    rule="adverse_events.premedication_counts_toward_interval",
                    text=f"Premedication {med.drug} "
                    f"{'counts' if counts else 'does not count'} toward the interval.",
                ),
            )
        )
    if settings.interval_across_routes and any(d.route is not med.route for d in counted):
        notes.append(
            _Check(
                ok=True,
                reason=Reason(
                    rule="adverse_events.interval_across_routes",
                    text=f"{med.drug} by any route counts toward the interval.",
                ),
            )
        )
    return notes


def _interval_check(
    med: PrnMedication, given: list[GivenDose], minute: float, settings: AdverseEvents
) -> list[_Check]:
    if med.interval_minutes is None:
        return []
    doses = _interval_doses(med, given, settings)
    interval = Decimal(med.interval_minutes)
    notes = _interval_notes(med, given, doses, settings)
    if not doses:
        return [
            _Check(
                ok=True,
                reason=Reason(
                    rule=_key(med, "interval_minutes"),
                    text=f"No earlier {med.drug} counted toward the {med.interval_minutes}-minute "
                    "interval.",
                ),
            ),
            *notes,
        ]
    last = max(_dec(d.minute) for d in doses)
    elapsed = _dec(minute) - last
    nxt = last + interval
    return [
        *notes,
        _Check(
            ok=elapsed >= interval,
            reason=Reason(
                rule=_key(med, "interval_minutes"),
                text=f"Last {med.drug} at minute {_fmt(last)}, {_fmt(elapsed)} min ago; "
                f"every {med.interval_minutes} min, so next from minute {_fmt(nxt)}.",
            ),
            why=f"interval not elapsed (last {med.drug} at minute {_fmt(last)}; "
            f"next from minute {_fmt(nxt)})",
            next_minute=nxt,
        ),
    ]


def _route_check(med: PrnMedication, can_take_oral: bool) -> list[_Check]:
    checks = []
    # An oral drug needs a patient who can swallow and keep it, flagged or not.
    if med.only_if_oral_tolerated or med.route is Route.ORAL:
        field = "only_if_oral_tolerated" if med.only_if_oral_tolerated else "route"
        checks.append(
            _Check(
                ok=can_take_oral,
                reason=Reason(
                    rule=_key(med, field),
                    text=f"{med.id} is given by mouth; oral medication "
                    f"{'tolerated' if can_take_oral else 'not tolerated'}.",
                ),
                why="oral medication not tolerated",
            )
        )
    if med.only_if_oral_not_tolerated:
        checks.append(
            _Check(
                ok=not can_take_oral,
                reason=Reason(
                    rule=_key(med, "only_if_oral_not_tolerated"),
                    text=f"{med.id} is only for a patient who cannot take oral medication; oral "
                    f"medication {'tolerated' if can_take_oral else 'not tolerated'}.",
                ),
                why="oral medication is tolerated (the oral option comes first)",
            )
        )
    return checks


def prn_doses_given(med: PrnMedication, given: list[GivenDose]) -> int:
    return sum(
        1 for d in given if not d.premedication and d.route is med.route and _same_drug(d, med.drug)
    )


def _max_doses_check(med: PrnMedication, given: list[GivenDose]) -> list[_Check]:
    if med.max_doses is None:
        return []
    count = prn_doses_given(med, given)
    return [
        _Check(
            ok=count < med.max_doses,
            reason=Reason(
                rule=_key(med, "max_doses"),
                text=f"{count} {med.route.value} {med.drug} dose(s) given this session; "
                f"at most {med.max_doses}.",
            ),
            why=f"{med.route.value} {med.drug} already given {count} time(s) this session "
            f"(at most {med.max_doses})",
        )
    ]


def _next_allowed(checks: list[_Check], minute: float) -> float | None:
    failed = [c for c in checks if not c.ok]
    if not failed:
        return minute
    waits = [c.next_minute for c in failed]
    # Only an interval lifts by itself; cap, dose count and route need more than waiting.
    if any(w is None for w in waits):
        return None
    return float(max(w for w in waits if w is not None))


def evaluate_prn(
    med: PrnMedication, request: AdverseEventRequest, settings: AdverseEvents
) -> tuple[PrnOption, list[_Check]]:
    """One PRN option against what was given: allowed now or not, and every check's reason."""
    given, minute = request.given, request.minute
    checks = [
        *_route_check(med, request.can_take_oral),
        *_max_doses_check(med, given),
        *_interval_check(med, given, minute, settings),
        *_cap_check(med, given, minute, settings),
    ]
    total = cap_total(med, given, minute, settings)
    remaining = None if med.cap_mg is None else max(_dec(med.cap_mg) - total, Decimal(0))
    option = PrnOption(
        id=med.id,
        drug=med.drug,
        route=med.route,
        dose_mg=med.dose_mg,
        allowed_now=all(c.ok for c in checks),
        next_allowed_minute=_next_allowed(checks, minute),
        given_mg=float(total),
        cap_mg=med.cap_mg,
        remaining_mg=None if remaining is None else float(remaining),
        doses_given=prn_doses_given(med, given),
        reasons=[c.reason for c in checks],
    )
    return option, checks


# --- the decision ----------------------------------------------------------------------------


def _rule_key(rule: EventRule, listed: bool) -> str:
    return f"adverse_events.events.{rule.term}" if listed else "adverse_events.unknown_event"


def _fallback_rule() -> EventRule:
    # A protocol without an unknown_event rule must still give the nurse a next step.
    return EventRule(
        term="other",
        category=Category.OTHER,
        response=EventResponse.PHYSICIAN_EVALUATION,
    )


def _stop_options(options: list[PhysicianOption]) -> list[PhysicianOption]:
    # After a stop, continuing or reducing would be a new order, not an outcome of the evaluation.
    keep = {PhysicianOption.PRN_MEDICATION, PhysicianOption.STOP}
    return [o for o in options if o in keep]


@dataclass(frozen=True)
class _Outcome:
    response: AdverseResponse
    action: InfusionAction
    options: list[PhysicianOption]
    prn: list[PrnOption]
    recommended: str | None
    reasons: list[Reason]


def _stop(term: str, key: str, self_resolved: bool, settings: AdverseEvents) -> _Outcome:
    reasons = [
        Reason(rule=f"{key}.response", text=f"{term}: stop the infusion; a physician evaluates.")
    ]
    if self_resolved:
        # The stop events are the life-threatening categories; a report of self-resolution does not
        # make them safe to continue through.
        reasons.append(
            Reason(
                rule=f"{key}.response",
                text="Reported as self-resolved, but a stop event is never waived.",
            )
        )
    options = _stop_options(settings.physician_options)
    return _Outcome(AdverseResponse.STOP, InfusionAction.STOP, options, [], None, reasons)


def _self_resolved(key: str) -> _Outcome:
    text = f"Self-resolved: no intervention. Paper: {SELF_RESOLVED_SENTENCE}"
    reasons = [Reason(rule=key, text=text)]
    return _Outcome(AdverseResponse.NONE, InfusionAction.CONTINUE, [], [], None, reasons)


def _evaluation(
    key: str, rule: EventRule, settings: AdverseEvents, prn: list[PrnOption], why: list[Reason]
) -> _Outcome:
    # Pending the physician, the rate is at least held: titrating up through an unexplained event
    # is what the evaluation is meant to prevent.
    action = _at_least(rule.infusion_action, InfusionAction.HOLD)
    reasons = [
        *why,
        Reason(
            rule="adverse_events.physician_options",
            text="Physician evaluation: "
            + ", ".join(o.value for o in settings.physician_options)
            + ".",
        ),
        Reason(
            rule=f"{key}.infusion_action",
            text=f"Infusion: {action.value} (no rate increase) pending the physician's evaluation.",
        ),
    ]
    options = list(settings.physician_options)
    return _Outcome(AdverseResponse.PHYSICIAN_EVALUATION, action, options, prn, None, reasons)


def _give(
    term: str, key: str, rule: EventRule, prn: list[PrnOption], chosen: PrnOption
) -> _Outcome:
    reasons = [
        Reason(
            rule=f"adverse_events.prn.{chosen.id}",
            text=f"Give {chosen.drug} {_fmt(_dec(chosen.dose_mg))} mg {chosen.route.value}.",
        ),
        Reason(
            rule=f"{key}.infusion_action",
            text=f"Infusion: {rule.infusion_action.value} while {term} is active.",
        ),
    ]
    return _Outcome(AdverseResponse.PRN, rule.infusion_action, [], prn, chosen.id, reasons)


def _escalation_reasons(evaluated: list[tuple[PrnOption, list[_Check]]], key: str) -> list[Reason]:
    if not evaluated:
        return [Reason(rule=f"{key}.prn", text="No as-needed medication is listed for this event.")]
    return [
        Reason(
            rule=check.reason.rule,
            text=f"{option.id} not allowed now: {check.why}; physician evaluation required.",
        )
        for option, checks in evaluated
        for check in checks
        if not check.ok
    ]


def _outcome(
    request: AdverseEventRequest, protocol: Protocol, term: str, rule: EventRule, key: str
) -> _Outcome:
    settings = protocol.adverse_events
    if rule.response is EventResponse.STOP:
        return _stop(term, key, request.self_resolved, settings)
    if request.self_resolved:
        return _self_resolved(key)
    evaluated = [evaluate_prn(protocol.prn_medication(pid), request, settings) for pid in rule.prn]
    prn = [option for option, _ in evaluated]
    if rule.response is EventResponse.PHYSICIAN_EVALUATION:
        return _evaluation(key, rule, settings, prn, [])
    chosen = next((o for o in prn if o.allowed_now), None)
    if chosen is not None:
        return _give(term, key, rule, prn, chosen)
    # No PRN option is allowed: a nurse is never left without a next step.
    return _evaluation(key, rule, settings, prn, _escalation_reasons(evaluated, key))


def decide(request: AdverseEventRequest, protocol: Protocol) -> AdverseEventResult:
    """The protocol's response to one adverse event at `request.minute`."""
    term = check_request(request)
    listed = is_listed(protocol, term)
    rule = protocol.event_rule(term) or _fallback_rule()
    key = _rule_key(rule, listed)
    outcome = _outcome(request, protocol, term, rule, key)
    return AdverseEventResult(
        **stamp(protocol),
        reasons=[_event_reason(term, rule, listed, key, protocol), *outcome.reasons],
        event=term,
        category=rule.category,
        listed=listed,
        response=outcome.response,
        infusion_action=outcome.action,
        physician_evaluation_required=outcome.response
        in (AdverseResponse.PHYSICIAN_EVALUATION, AdverseResponse.STOP),
        physician_options=outcome.options,
        prn=outcome.prn,
        recommended_prn=outcome.recommended,
    )


_LABEL = {
    EventResponse.PRN: "as-needed medication",
    EventResponse.PHYSICIAN_EVALUATION: "physician evaluation",
    EventResponse.STOP: "stop the infusion",
}


def _event_reason(term: str, rule: EventRule, listed: bool, key: str, protocol: Protocol) -> Reason:
    if listed:
        text = f"{term}: {rule.category.value} event; protocol response: {_LABEL[rule.response]}."
    elif protocol.adverse_events.unknown_event is not None:
        text = (
            f"{term} is not listed in the protocol; the rule for unlisted events applies "
            f"({rule.category.value}, {_LABEL[rule.response]})."
        )
    else:
        text = (
            f"{term} is not listed and the protocol has no rule for unlisted events; "
            "a physician evaluates."
        )
    return Reason(rule=key, text=text)
