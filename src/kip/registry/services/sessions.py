"""An infusion session: check-in, pre-infusion checks, premedication, start, rates, vitals, end.

Rates are classified by kip.protocol.titrate (which uses kip.protocol.rate_check), the next step is
titrate.decide on the stored log, and the follow-ups come from the plan."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import User
from django.db.models import Max
from django.utils import timezone

from kip.protocol import check_in as check_in_rules
from kip.protocol import plan, titrate
from kip.protocol.common import Vitals
from kip.protocol.errors import InputError
from kip.protocol.model import FollowUpKind as ProtocolFollowUpKind
from kip.protocol.model import RecordedValue
from kip.protocol.rate_check import Classification, ProposedRate
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import (
    AdverseEvent,
    CheckResult,
    FollowUp,
    Infusion,
    MedicationDose,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import (
    CheckStatus,
    DoseKind,
    FollowUpKind,
    InfusionStatus,
    RateClassification,
)
from kip.registry.services import engine_io
from kip.registry.services.common import Source, get_infusion, protocol_of, writing
from kip.registry.services.errors import (
    Conflict,
    PermissionDenied,
    Refusals,
    ServiceError,
    from_input_error,
)
from kip.registry.services.planning import decide_plan

# Minutes are kept to a tenth (the registry's precision); a session is never longer than a day
# here, so a larger minute is a typing slip.
MAX_MINUTE = Decimal(1440)
BEFORE_START = (InfusionStatus.PLANNED, InfusionStatus.CHECKED_IN)
FOLLOW_UP_KIND = {
    ProtocolFollowUpKind.PHONE: FollowUpKind.CALL_24H,
    ProtocolFollowUpKind.CLINIC: FollowUpKind.CLINIC_VISIT,
}


@dataclass(frozen=True)
class RateRecorded:
    step: TitrationStep
    proposed: ProposedRate
    next: titrate.TitrateResult


@dataclass(frozen=True)
class VitalsRecorded:
    vitals: VitalSigns
    next: titrate.TitrateResult | None


@dataclass(frozen=True)
class Ended:
    infusion: Infusion
    follow_ups: list[FollowUp]


def tenths(value: float | Decimal, field: str, rule: str, low: Decimal, high: Decimal) -> Decimal:
    """`value` as a Decimal to one decimal place, or a ServiceError: rounding a rate or a minute
    silently would store a value the engine never checked."""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ServiceError(field, rule, "not a number") from None
    if not d.is_finite() or d != d.quantize(Decimal("0.1")):
        raise ServiceError(field, rule, "at most one decimal place")
    if not low <= d <= high:
        raise ServiceError(field, rule, f"must be between {low} and {high}")
    return d


def noted_tenths(
    found: Refusals,
    value: float | Decimal | None,
    field: str,
    rule: str,
    low: Decimal,
    high: Decimal,
) -> Decimal | None:
    """`tenths` for a value that may be absent: None when it is not given, or when it is refused
    (the refusal noted in `found`)."""
    if value is None:
        return None
    return found.check(lambda: tenths(value, field, rule, low, high))


def require_status(infusion: Infusion, allowed: tuple[InfusionStatus, ...], doing: str) -> None:
    if infusion.status not in allowed:
        raise Conflict(
            "status",
            "infusion.status",
            f"cannot {doing} an infusion that is {infusion.get_status_display().lower()}",
        )


def still(infusion: Infusion, allowed: tuple[InfusionStatus, ...], doing: str) -> None:
    """require_status on the status read again, inside the write that depends on it: another
    user may have started or ended the infusion since it was read."""
    infusion.refresh_from_db(fields=["status"])
    require_status(infusion, allowed, doing)


def recorded_values(infusion: Infusion) -> set[RecordedValue]:
    """The check-in values the infusion holds (blank text is not a value)."""
    held = {
        RecordedValue.WEIGHT_KG: infusion.weight_kg is not None,
        RecordedValue.BASELINE_NPRS: infusion.baseline_nprs is not None,
        RecordedValue.BASELINE_FUNCTION: bool(infusion.baseline_function.strip()),
        RecordedValue.BASELINE_SATISFACTION: bool(infusion.baseline_satisfaction.strip()),
        RecordedValue.BASELINE_ANALGESICS: bool(infusion.baseline_analgesics.strip()),
    }
    return {value for value, present in held.items() if present}


def _refuse(missing: list[check_in_rules.Missing], found: Refusals | None = None) -> None:
    """Every missing value refused at once, with the submission's other refusals (`found`)."""
    found = found if found is not None else Refusals()
    for m in missing:
        found.refuse(m.field, m.rule, m.text)
    found.raise_any()


def _passed_ids(infusion: Infusion) -> set[str]:
    return set(
        CheckResult.objects.filter(infusion=infusion, status=CheckStatus.PASSED).values_list(
            "check_id", flat=True
        )
    )


def check_baseline(
    found: Refusals, *, weight_kg: Decimal | None, baseline_nprs: int | None
) -> Decimal | None:
    """The baseline values' ranges, noted in `found` (no database read): the weight to a tenth,
    or None when it is not given or refused."""
    if baseline_nprs is not None and not 0 <= baseline_nprs <= 10:
        found.refuse("baseline_nprs", "nprs.range", "must be between 0 and 10")
    if weight_kg is None:
        return None
    weight = weight_kg
    return found.check(
        lambda: tenths(weight, "weight_kg", "patient.weight_kg", Decimal(20), Decimal(400))
    )


def check_in(
    user: User,
    infusion_id: int,
    *,
    weight_kg: Decimal | None = None,
    baseline_nprs: int | None = None,
    baseline_function: str = "",
    baseline_satisfaction: str = "",
    baseline_analgesics: str = "",
    source: Source = "app",
) -> Infusion:
    """Record the baseline parameters the nurse obtains before each infusion. Refused when the
    protocol's check-in rules are not met (kip.protocol.check_in): no baseline value at all, no
    weight for a weight-based protocol, or a value cleared under a check that has passed."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(infusion, BEFORE_START, "check in")
    found = Refusals()
    weight = check_baseline(found, weight_kg=weight_kg, baseline_nprs=baseline_nprs)
    if weight_kg is not None:
        # A refused weight still counts as given for the check-in rules below (the nurse typed
        # one, and corrects it); nothing is saved while anything is refused.
        infusion.weight_kg = weight if weight is not None else weight_kg
    infusion.baseline_nprs = baseline_nprs
    infusion.baseline_function = baseline_function.strip()
    infusion.baseline_satisfaction = baseline_satisfaction.strip()
    infusion.baseline_analgesics = baseline_analgesics.strip()
    protocol = protocol_of(infusion.protocol_id)
    missing = check_in_rules.at_check_in(protocol, recorded_values(infusion), _passed_ids(infusion))
    _refuse(missing, found)
    with writing(user, "check in", source):
        infusion.status = InfusionStatus.CHECKED_IN
        infusion.save()
    return infusion


def record_check(
    user: User,
    infusion_id: int,
    check_id: str,
    status: CheckStatus,
    *,
    note: str = "",
    reason: str = "",
    source: Source = "app",
) -> tuple[CheckResult, plan.PlanResult]:
    """A pre-infusion check from the plan's checklist; changing a result needs a reason, and a
    check that records a value cannot pass while the value is missing."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(infusion, BEFORE_START, "record a check for")
    listed = decide_plan(infusion.patient, engine_io.infusion_day(infusion), infusion).checklist
    if check_id not in {c.id for c in listed}:
        known = ", ".join(c.id for c in listed)
        raise ServiceError(
            "check_id",
            "eligibility.checks",
            f"{check_id!r} is not on this day's checklist ({known})",
        )
    if status == CheckStatus.PASSED:
        protocol = protocol_of(infusion.protocol_id)
        missing = check_in_rules.to_pass(protocol, check_id, recorded_values(infusion))
        _refuse([missing] if missing else [])
    existing = CheckResult.objects.filter(infusion=infusion, check_id=check_id).first()
    if existing is not None and existing.status != status and not reason.strip():
        raise ServiceError("reason", "audit.reason_for_change", "changing a result needs a reason")
    with writing(user, reason or f"record check {check_id}", source):
        result = existing or CheckResult(infusion=infusion, check_id=check_id, recorded_by=user)
        result.status = status
        result.note = note
        result.recorded_by = user
        result.save()
    return result, decide_plan(infusion.patient, engine_io.infusion_day(infusion), infusion)


def give_premedication(
    user: User, infusion_id: int, drug: str, *, minute: float = -30, source: Source = "app"
) -> MedicationDose:
    """One of the protocol's premedication doses, before (negative minute) or at the start."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(infusion, (*BEFORE_START, InfusionStatus.RUNNING), "premedicate")
    protocol = protocol_of(infusion.protocol_id)
    item = next((p for p in protocol.premedication if p.drug == drug), None)
    found = Refusals()
    if item is None:
        known = ", ".join(p.drug for p in protocol.premedication)
        found.refuse("drug", "premedication", f"{drug!r} is not premedication ({known})")
    at = found.check(
        lambda: tenths(minute, "minute", "premedication.minute", Decimal(-240), MAX_MINUTE)
    )
    found.raise_any()
    assert item is not None and at is not None
    if MedicationDose.objects.filter(
        infusion=infusion, kind=DoseKind.PREMEDICATION, drug=drug
    ).exists():
        raise Conflict("drug", "premedication", f"{drug} premedication is already recorded")
    with writing(user, f"premedication {drug}", source):
        return MedicationDose.objects.create(
            infusion=infusion,
            kind=DoseKind.PREMEDICATION,
            drug=item.drug,
            route=item.route.value,
            dose_mg=Decimal(str(item.dose_mg)),
            minute=at,
            given_by=user,
        )


def start_infusion(user: User, infusion_id: int, *, source: Source = "app") -> Infusion:
    """Start, only when plan says eligible and every required check on the day's list passed."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(infusion, BEFORE_START, "start")
    decision = decide_plan(infusion.patient, engine_io.infusion_day(infusion), infusion)
    for check in decision.checklist:
        if check.required and check.status is not plan.CheckStatus.PASSED:
            raise ServiceError(
                f"checks.{check.id}", check.rule, f"{check.label}: {check.status.value}"
            )
    # A result passed before its value was cleared, or before this rule, is not a pass.
    passed = {c.id for c in decision.checklist if c.status is plan.CheckStatus.PASSED}
    protocol = protocol_of(infusion.protocol_id)
    _refuse(check_in_rules.still_passed(protocol, passed, recorded_values(infusion)))
    if not decision.eligible:
        first = decision.blockers[0]
        raise ServiceError("infusion_id", first.rule, f"not eligible: {first.text}")
    with writing(user, "start infusion", source):
        still(infusion, BEFORE_START, "start")
        infusion.status = InfusionStatus.RUNNING
        infusion.started_at = timezone.now()
        infusion.save()
    return infusion


def _decide(request: titrate.TitrateRequest) -> titrate.TitrateResult:
    try:
        return titrate.decide(request, protocol_of(request.protocol))
    except InputError as exc:
        raise from_input_error(exc) from None


def _start_rate(infusion: Infusion, steps: list[TitrationStep]) -> float | None:
    """Plan's start rate, which titrate needs only before the first rate is set (`steps`: all of
    the infusion's rate changes, engine_io.steps_of)."""
    if steps:
        return None
    decision = decide_plan(infusion.patient, engine_io.infusion_day(infusion), infusion)
    return decision.start_rate_mg_per_h


def engine_next(
    infusion: Infusion, minute: float, rows: engine_io.SessionRows | None = None
) -> titrate.TitrateResult:
    """Titrate's next step at `minute`, on the stored session, or on `rows` when the caller has
    just read them (engine_io.session_rows at this minute, plus what it wrote since)."""
    if rows is None:
        rows = engine_io.session_rows(infusion, minute)
    request = engine_io.titrate_request(
        infusion, minute, start_rate=_start_rate(infusion, rows.steps), rows=rows
    )
    return _decide(request)


def elapsed_minutes(infusion: Infusion) -> float:
    """Minutes into the session: the clock while running, and never before the last entry."""
    stored = [
        TitrationStep.objects.filter(infusion=infusion).aggregate(m=Max("minute"))["m"],
        VitalSigns.objects.filter(infusion=infusion).aggregate(m=Max("minute"))["m"],
        AdverseEvent.objects.filter(infusion=infusion).aggregate(m=Max("onset_minute"))["m"],
        AdverseEvent.objects.filter(infusion=infusion).aggregate(m=Max("decided_minute"))["m"],
    ]
    latest = max((float(m) for m in stored if m is not None), default=0.0)
    clock = 0.0
    if infusion.started_at is not None and infusion.status == InfusionStatus.RUNNING:
        clock = (timezone.now() - infusion.started_at).total_seconds() / 60
    return round(max(latest, clock), 1)


def next_step(
    user: User, infusion_id: int, minute: float | None = None
) -> titrate.TitrateResult | None:
    """The engine's next step for a running infusion (None when it is not running)."""
    infusion = get_infusion(user, infusion_id, Action.VIEW_CLINICAL)
    if infusion.status != InfusionStatus.RUNNING:
        return None
    at = (
        float(tenths(minute, "minute", "session.minute", Decimal(0), MAX_MINUTE))
        if minute is not None
        else elapsed_minutes(infusion)
    )
    return engine_next(infusion, at)


def record_rate(
    user: User,
    infusion_id: int,
    minute: float,
    rate_mg_per_h: float,
    *,
    approved_by_id: int | None = None,
    reason: str = "",
    source: Source = "app",
) -> RateRecorded:
    """Set a rate: refused above the hard limit (for anyone), a soft-limit deviation only with a
    physician at this site approving and a reason, otherwise stored."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(infusion, (InfusionStatus.RUNNING,), "set a rate for")
    found = Refusals()
    at, rate = check_rate(found, minute, rate_mg_per_h)
    found.raise_any()
    assert at is not None and rate is not None
    # Classified inside the write, on the log as it stands while every other clinical write waits
    # (the chain lock): two rates set on one infusion at once are judged one after the other.
    with writing(user, reason.strip() or f"rate {rate} mg/h at minute {at}", source):
        still(infusion, (InfusionStatus.RUNNING,), "set a rate for")
        checked = classify_rate(infusion, minute, rate_mg_per_h)
        approver = _approver(infusion, checked.proposed, approved_by_id, reason)
        step = store_step(infusion, checked, entered_by=user, approver=approver, reason=reason)
    proposed = checked.proposed
    # The next step reads the log classify_rate read, plus the step just stored: it is at or
    # after every earlier step (classify_rate refuses an earlier minute) and has the highest pk,
    # so it sorts last; events and vitals are as read (this write changed neither).
    rows = checked.rows
    after = engine_io.SessionRows([*rows.steps, step], rows.events, rows.vitals)
    return RateRecorded(step, proposed, engine_next(infusion, float(at), after))


def _approver(
    infusion: Infusion, proposed: ProposedRate, approved_by_id: int | None, reason: str
) -> User | None:
    """The physician approving a soft-limit rate (None for a rate within the protocol); a
    soft-limit rate without an approving physician at this site, or without a reason, is refused."""
    if proposed.classification is not Classification.SOFT_LIMIT:
        return None
    first = proposed.reasons[0]
    if approved_by_id is None:
        raise PermissionDenied(
            "approved_by", first.rule, "a soft-limit deviation needs a physician's approval"
        )
    approver = User.objects.filter(pk=approved_by_id, is_active=True).first()
    if approver is None or not access.can(
        approver, Action.APPROVE_DEVIATION, infusion.patient.site
    ):
        raise PermissionDenied(
            "approved_by", first.rule, "the approver is not a physician at this site"
        )
    if not reason.strip():
        raise ServiceError("reason", first.rule, "a soft-limit deviation needs a reason")
    return approver


@dataclass(frozen=True)
class CheckedRate:
    """A rate the engine has classified (not refused) at a minute of a running infusion."""

    minute: Decimal
    rate: Decimal
    advice: titrate.TitrateResult
    proposed: ProposedRate
    rows: engine_io.SessionRows  # what the classification was made on


def check_rate(
    found: Refusals, minute: float | Decimal | None, rate_mg_per_h: float | Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """A rate's minute and value to a tenth and in range, noted in `found` (no database read);
    None for one not given or refused."""
    at = noted_tenths(found, minute, "minute", "session.minute", Decimal(0), MAX_MINUTE)
    rate = noted_tenths(
        found,
        rate_mg_per_h,
        "rate_mg_per_h",
        "limits.rate_increment_mg_per_h",
        Decimal(0),
        Decimal(9999),
    )
    return at, rate


def classify_rate(
    infusion: Infusion, minute: float | Decimal, rate_mg_per_h: float | Decimal
) -> CheckedRate:
    """Titrate's classification of a rate at a minute, on the log as stored now; a refused rate,
    or a minute before the last rate change, is a ServiceError."""
    found = Refusals()
    at, rate = check_rate(found, minute, rate_mg_per_h)
    found.raise_any()
    assert at is not None and rate is not None
    rows = engine_io.session_rows(infusion, float(at))
    # Steps are ordered by minute, so the last one has the latest minute.
    last = rows.steps[-1].minute if rows.steps else None
    if last is not None and at < last:
        raise ServiceError(
            "minute", "session.rate_order", f"is before the last rate change at minute {last}"
        )
    request = engine_io.titrate_request(
        infusion,
        float(at),
        proposed_rate=float(rate),
        start_rate=_start_rate(infusion, rows.steps),
        rows=rows,
    )
    advice = _decide(request)
    proposed = advice.proposed
    assert proposed is not None  # titrate classifies every proposed rate
    if proposed.classification is Classification.REFUSED:
        first = proposed.reasons[0]
        raise ServiceError("rate_mg_per_h", first.rule, f"refused: {first.text}")
    return CheckedRate(at, rate, advice, proposed, rows)


def store_step(
    infusion: Infusion,
    checked: CheckedRate,
    *,
    entered_by: User,
    approver: User | None,
    reason: str,
) -> TitrationStep:
    """The TitrationStep for a classified rate (inside the caller's audited transaction); a
    soft-limit one carries its approving physician and reason."""
    soft = checked.proposed.classification is Classification.SOFT_LIMIT
    advice = checked.advice
    return TitrationStep.objects.create(
        infusion=infusion,
        minute=checked.minute,
        rate_mg_per_h=checked.rate,
        classification=RateClassification.SOFT_LIMIT if soft else RateClassification.OK,
        engine_action=advice.action.value,
        engine_rate_mg_per_h=Decimal(str(advice.rate_mg_per_h)).quantize(Decimal("0.1")),
        deviation_reason=reason.strip() if soft else "",
        approved_by=approver,
        entered_by=entered_by,
    )


def check_vitals(
    found: Refusals,
    minute: float | None,
    *,
    temperature_c: float | None = None,
    systolic_mmhg: int | None = None,
    diastolic_mmhg: int | None = None,
    heart_rate_bpm: int | None = None,
    spo2_pct: int | None = None,
    respiratory_rate: int | None = None,
) -> tuple[Decimal | None, Decimal | None]:
    """A set of readings in the engine's ranges, every refused one noted in `found` (no database
    read): the minute and the temperature to a tenth, None for one not given or refused."""
    at = noted_tenths(found, minute, "minute", "session.minute", Decimal(0), MAX_MINUTE)
    temperature = noted_tenths(
        found, temperature_c, "temperature_c", "vitals.range", Decimal(25), Decimal(45)
    )
    found.check(
        lambda: engine_io.build(
            Vitals,
            minute=None if at is None else float(at),
            temperature_c=None if temperature is None else float(temperature),
            systolic_mmhg=systolic_mmhg,
            diastolic_mmhg=diastolic_mmhg,
            heart_rate_bpm=heart_rate_bpm,
            spo2_pct=spo2_pct,
            respiratory_rate=respiratory_rate,
        )
    )
    return at, temperature


def record_vitals(
    user: User,
    infusion_id: int,
    minute: float,
    *,
    temperature_c: float | None = None,
    systolic_mmhg: int | None = None,
    diastolic_mmhg: int | None = None,
    heart_rate_bpm: int | None = None,
    spo2_pct: int | None = None,
    respiratory_rate: int | None = None,
    source: Source = "app",
) -> VitalsRecorded:
    """A set of readings in the engine's ranges; the next step names events they trigger."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(
        infusion, (InfusionStatus.CHECKED_IN, InfusionStatus.RUNNING), "chart vitals for"
    )
    found = Refusals()
    at, temperature = check_vitals(
        found,
        minute,
        temperature_c=temperature_c,
        systolic_mmhg=systolic_mmhg,
        diastolic_mmhg=diastolic_mmhg,
        heart_rate_bpm=heart_rate_bpm,
        spo2_pct=spo2_pct,
        respiratory_rate=respiratory_rate,
    )
    found.raise_any()
    assert at is not None
    with writing(user, f"vitals at minute {at}", source):
        row = VitalSigns.objects.create(
            infusion=infusion,
            minute=at,
            temperature_c=temperature,
            systolic_mmhg=systolic_mmhg,
            diastolic_mmhg=diastolic_mmhg,
            heart_rate_bpm=heart_rate_bpm,
            spo2_pct=spo2_pct,
            respiratory_rate=respiratory_rate,
            recorded_by=user,
        )
    if infusion.status != InfusionStatus.RUNNING:
        return VitalsRecorded(row, None)
    # The row just stored is the latest set at its own minute (the highest pk among any others
    # at that minute), so the next step takes it instead of reading it back.
    rows = engine_io.SessionRows(
        engine_io.steps_of(infusion), engine_io.active_events(infusion), row
    )
    return VitalsRecorded(row, engine_next(infusion, float(at), rows))


def end_infusion(
    user: User,
    infusion_id: int,
    *,
    stopped_early: bool = False,
    max_rate_tolerated: float | None = None,
    note: str = "",
    source: Source = "app",
) -> Ended:
    """End the session, keep the maximum rate tolerated (the highest rate run unless the nurse
    gives a lower one) and schedule the plan's follow-ups."""
    infusion = get_infusion(user, infusion_id, Action.RUN_INFUSION)
    require_status(infusion, (InfusionStatus.RUNNING,), "end")
    decision = decide_plan(infusion.patient, engine_io.infusion_day(infusion), infusion)
    with writing(user, "end infusion", source):
        # Inside the write: of two users ending it at once, the second is told it has ended (and
        # its follow-ups are scheduled once); the highest rate is the last one set.
        still(infusion, (InfusionStatus.RUNNING,), "end")
        highest = TitrationStep.objects.filter(infusion=infusion).aggregate(m=Max("rate_mg_per_h"))[
            "m"
        ]
        tolerated = highest
        if max_rate_tolerated is not None:
            tolerated = tenths(
                max_rate_tolerated,
                "max_rate_tolerated",
                "session.max_rate_tolerated",
                Decimal(0),
                highest if highest is not None else Decimal(0),
            )
        infusion.status = InfusionStatus.STOPPED if stopped_early else InfusionStatus.COMPLETED
        infusion.ended_at = timezone.now()
        infusion.max_rate_mg_per_h = tolerated
        infusion.end_note = note
        infusion.save()
        follow_ups = [
            FollowUp.objects.create(
                patient=infusion.patient,
                infusion=infusion,
                kind=FOLLOW_UP_KIND[item_kind(item)],
                due_on=item.due_date,
            )
            for item in decision.follow_ups
        ]
    return Ended(infusion, follow_ups)


def item_kind(item: plan.FollowUpItem) -> ProtocolFollowUpKind:
    return ProtocolFollowUpKind(item.kind)
