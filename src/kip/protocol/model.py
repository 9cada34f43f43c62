"""The protocol file format: a versioned description of an IV ketamine program.

A protocol is data, not code, so that other published protocols fit the same engine. Every rule that
a decision can cite has a stable key (``Rule`` names below); decisions carry those keys as reasons.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


def normalise_term(term: str) -> str:
    """The protocol's spelling of an event term: trimmed, lower case, runs of spaces/underscores
    as one '_' (so "  Respiratory   depression " is `respiratory_depression`)."""
    return "_".join(term.replace("_", " ").lower().split())


class Frozen(BaseModel):
    """Base for protocol parts: immutable and strict about unknown keys, so a typo is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RateUnit(StrEnum):
    MG_PER_H = "mg/h"
    MG_PER_KG_PER_H = "mg/kg/h"
    MG_PER_H_PER_70KG = "mg/h/70kg"


class Rate(Frozen):
    """An infusion rate in a stated unit; weight-based units need the patient's weight."""

    value: float = Field(ge=0, description="Rate value in `unit`.")
    unit: RateUnit = RateUnit.MG_PER_H


class Route(StrEnum):
    ORAL = "oral"
    IV = "iv"
    SUBLINGUAL = "sublingual"


class Dose(Frozen):
    drug: str = Field(min_length=1)
    dose_mg: float = Field(gt=0)
    route: Route


class Premedication(Dose):
    minutes_before_start: int = Field(
        default=30, ge=0, description="When it is given before the infusion starts."
    )


class Category(StrEnum):
    """The adverse-event categories of the study's Table 5."""

    ANAPHYLAXIS = "anaphylaxis"
    CARDIOVASCULAR = "cardiovascular"
    GASTROINTESTINAL = "gastrointestinal"
    MUSCULAR = "muscular"
    NEUROLOGICAL = "neurological"
    OPHTHALMOLOGIC = "ophthalmologic"
    PSYCHIATRIC = "psychiatric"
    RESPIRATORY = "respiratory"
    SKIN = "skin"
    OTHER = "other"  # outside Table 5 (e.g. fever); reported apart


class LimitKind(StrEnum):
    SOFT = "soft"
    HARD = "hard"


class Limits(Frozen):
    hard_max_rate: list[Rate] = Field(
        min_length=1,
        description="Program maximum; a rate above the lowest of these is refused, no override.",
    )
    phase_max: LimitKind = Field(
        default=LimitKind.SOFT,
        description="Whether a rate above the phase maximum (but within the program maximum) is a "
        "soft-limit deviation (physician and reason) or refused.",
    )
    step_above_protocol_step: LimitKind = LimitKind.SOFT
    step_before_interval: LimitKind = LimitKind.SOFT
    tenfold_change: LimitKind = LimitKind.SOFT
    rate_increment_mg_per_h: float = Field(
        default=0.1, gt=0, description="Pump precision; computed rates are rounded down to it."
    )


class TitrationMode(StrEnum):
    WITHIN_SESSION = "within_session"
    BETWEEN_SESSIONS = "between_sessions"
    NONE = "none"


class StartRule(StrEnum):
    FIXED = "fixed"
    PREVIOUS_MAX_TOLERATED = "previous_max_tolerated"


class Phase(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    first_infusion: int = Field(ge=1)
    last_infusion: int | None = Field(default=None, ge=1, description="None: open-ended.")
    min_interval_days: int | None = Field(
        default=None, ge=0, description="Earliest start after the previous infusion."
    )
    target_interval_days: int | None = Field(default=None, ge=0)
    requires_responder: bool = Field(
        default=False, description="Only patients classified as responders enter this phase."
    )
    continuation_check: bool = Field(
        default=True,
        description="The previous infusion's follow-up assessment must allow continuation "
        "(responder relief rules) before an infusion of this phase; off for fixed courses.",
    )
    session_minutes: int = Field(gt=0)
    start_rate: Rate
    start_rule: StartRule = StartRule.FIXED
    titration: TitrationMode = TitrationMode.WITHIN_SESSION
    step: Rate | None = None
    step_interval_minutes: int | None = Field(
        default=None, gt=0, description="Minimum minutes between step-ups within a session."
    )
    max_rate: list[Rate] = Field(
        min_length=1, description="Caps; after conversion the lowest wins."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Phase:
        if self.last_infusion is not None and self.last_infusion < self.first_infusion:
            raise ValueError(f"phase {self.id}: last_infusion is before first_infusion")
        if self.titration is not TitrationMode.NONE and self.step is None:
            raise ValueError(f"phase {self.id}: titration needs a step")
        if self.titration is TitrationMode.WITHIN_SESSION and self.step_interval_minutes is None:
            raise ValueError(
                f"phase {self.id}: within-session titration needs step_interval_minutes"
            )
        return self

    def rule_key(self, key: str) -> str:
        """The dotted key of one of this phase's entries, e.g. `phases.first.max_rate`."""
        return f"phases.{self.id}.{key}"

    def covers(self, infusion_number: int) -> bool:
        upper = self.last_infusion if self.last_infusion is not None else infusion_number
        return self.first_infusion <= infusion_number <= upper


class Exclusion(Frozen):
    id: str
    label: str
    kind: LimitKind = Field(
        default=LimitKind.HARD,
        description="hard: not eligible. soft: eligible only with a physician's review.",
    )


class Period(Frozen):
    """A dated program period during which some checks apply (e.g. infection screening)."""

    id: str
    label: str
    start: date
    end: date | None = None

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class CheckKind(StrEnum):
    RECORD = "record"
    NEGATIVE_RESULT = "negative_result"
    ATTESTATION = "attestation"


class RecordedValue(StrEnum):
    """A value the nurse records at check-in, which a `record` check may stand on."""

    WEIGHT_KG = "weight_kg"
    BASELINE_NPRS = "baseline_nprs"
    BASELINE_FUNCTION = "baseline_function"
    BASELINE_SATISFACTION = "baseline_satisfaction"
    BASELINE_ANALGESICS = "baseline_analgesics"


BASELINE_VALUES = (
    RecordedValue.BASELINE_NPRS,
    RecordedValue.BASELINE_FUNCTION,
    RecordedValue.BASELINE_SATISFACTION,
    RecordedValue.BASELINE_ANALGESICS,
)


class Check(Frozen):
    id: str
    label: str
    kind: CheckKind
    required: bool = True
    only_female_premenopausal: bool = False
    period: str | None = Field(default=None, description="Applies only during this period id.")
    records: RecordedValue | None = Field(
        default=None,
        description="The check-in value this check records: it cannot pass while that value is "
        "missing (a `record` check only).",
    )

    @model_validator(mode="after")
    def _records_on_record_checks(self) -> Check:
        if self.records is not None and self.kind is not CheckKind.RECORD:
            raise ValueError(f"check {self.id}: only a 'record' check can name `records`")
        return self


class Eligibility(Frozen):
    min_age_years: int = Field(default=18, ge=0)
    exclusions: list[Exclusion] = []
    checks: list[Check] = []
    check_in_requires_baseline: bool = Field(
        default=True,
        description="A check-in records at least one baseline value (NPRS, function, "
        "satisfaction, analgesics); an empty check-in is refused.",
    )
    periods: list[Period] = []
    max_infusions: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _periods_known(self) -> Eligibility:
        known = {p.id for p in self.periods}
        for check in self.checks:
            if check.period is not None and check.period not in known:
                raise ValueError(f"check {check.id}: unknown period {check.period!r}")
        return self


class VitalSign(StrEnum):
    TEMPERATURE_C = "temperature_c"
    SYSTOLIC_MMHG = "systolic_mmhg"
    DIASTOLIC_MMHG = "diastolic_mmhg"
    HEART_RATE_BPM = "heart_rate_bpm"
    SPO2_PCT = "spo2_pct"
    RESPIRATORY_RATE = "respiratory_rate"


class VitalAlert(Frozen):
    vital: VitalSign
    above: float | None = None
    below: float | None = None
    event: str = Field(description="The adverse-event term this reading counts as.")

    @model_validator(mode="after")
    def _one_bound(self) -> VitalAlert:
        if (self.above is None) == (self.below is None):
            raise ValueError(f"alert on {self.vital}: give exactly one of above / below")
        return self

    def triggered(self, reading: float) -> bool:
        if self.above is not None:
            return reading > self.above
        assert self.below is not None
        return reading < self.below


class Monitoring(Frozen):
    vitals: list[VitalSign]
    continuous: bool = True
    record_every_minutes: int = Field(default=15, gt=0)
    alerts: list[VitalAlert] = []


class PrnMedication(Dose):
    id: str
    interval_minutes: int | None = Field(default=None, gt=0)
    cap_mg: float | None = Field(default=None, gt=0, description="Cumulative cap for this drug.")
    cap_window_hours: int = Field(default=24, gt=0)
    max_doses: int | None = Field(default=None, ge=1, description="Per session, this route.")
    only_if_oral_not_tolerated: bool = False
    only_if_oral_tolerated: bool = False


class EventResponse(StrEnum):
    PRN = "prn"
    PHYSICIAN_EVALUATION = "physician_evaluation"
    STOP = "stop"


class InfusionAction(StrEnum):
    CONTINUE = "continue"
    HOLD = "hold"
    STOP = "stop"


class EventRule(Frozen):
    term: str
    category: Category
    response: EventResponse
    prn: list[str] = Field(default=[], description="PRN medication ids, in order of preference.")
    infusion_action: InfusionAction = Field(
        default=InfusionAction.HOLD, description="What happens to titration while it is active."
    )


class PhysicianOption(StrEnum):
    PRN_MEDICATION = "prn_medication"
    CONTINUE = "continue"
    REDUCE = "reduce"
    STOP = "stop"


class AdverseEvents(Frozen):
    prn: list[PrnMedication] = []
    events: list[EventRule]
    unknown_event: EventRule | None = Field(
        default=None, description="Rule for a term the protocol does not list (term ignored)."
    )
    physician_options: list[PhysicianOption] = list(PhysicianOption)
    premedication_counts_toward_cap: bool = True
    premedication_counts_toward_interval: bool = False
    interval_across_routes: bool = True
    reduce_by_steps: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _prn_known(self) -> AdverseEvents:
        ids = {p.id for p in self.prn}
        rules = [*self.events, *([self.unknown_event] if self.unknown_event else [])]
        for rule in rules:
            for pid in rule.prn:
                if pid not in ids:
                    raise ValueError(f"event {rule.term}: unknown PRN medication {pid!r}")
        return self


class FollowUpKind(StrEnum):
    PHONE = "phone"
    CLINIC = "clinic"


class FollowUp(Frozen):
    id: str
    label: str
    kind: FollowUpKind
    after_hours: int = Field(ge=0)
    window_hours: int = Field(default=0, ge=0)
    assesses: list[str] = []


class ShortFirstRelief(StrEnum):
    STOP = "stop"
    CONTINUE = "continue"


class DurationBand(Frozen):
    label: str
    below_days: float | None = Field(default=None, description="Upper bound, exclusive.")


class Responder(Frozen):
    nprs_reduction_pct: float = Field(default=30, gt=0, le=100)
    positive_qualifiers: list[str] = ["good", "excellent", "significant"]
    requires_function_or_analgesic_reduction: bool = True
    first_infusion_relief_hours: float = Field(default=24, ge=0)
    subsequent_relief_days: float = Field(default=14, ge=0)
    subsequent_relief_checked_from_infusion: int = Field(default=3, ge=2)
    first_infusion_short_relief: ShortFirstRelief = ShortFirstRelief.STOP
    duration_bands: list[DurationBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands_ordered(self) -> Responder:
        bounds = [b.below_days for b in self.duration_bands]
        if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise ValueError("duration_bands: only the last band is open-ended")
        finite = [b for b in bounds if b is not None]
        if finite != sorted(finite):
            raise ValueError("duration_bands: bounds must increase")
        return self


class Protocol(Frozen):
    schema_version: Literal[1] = 1
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str
    title: str
    source: str
    notes: str = ""
    drug: str = "ketamine"
    delivery: Literal["intermittent", "continuous"] = "intermittent"
    premedication: list[Premedication] = []
    limits: Limits
    phases: list[Phase] = Field(min_length=1)
    eligibility: Eligibility
    monitoring: Monitoring
    adverse_events: AdverseEvents
    follow_ups: list[FollowUp] = []
    responder: Responder

    @model_validator(mode="after")
    def _phases_contiguous(self) -> Protocol:
        expected = 1
        for i, phase in enumerate(self.phases):
            if phase.first_infusion != expected:
                raise ValueError(
                    f"phases[{i}] ({phase.id}): starts at infusion {phase.first_infusion}, "
                    f"expected {expected} (phases must cover infusions 1, 2, ... without gaps)"
                )
            if phase.last_infusion is None:
                if i != len(self.phases) - 1:
                    raise ValueError(f"phases[{i}] ({phase.id}): only the last phase is open-ended")
                break
            expected = phase.last_infusion + 1
        return self

    def phase_for(self, infusion_number: int) -> Phase | None:
        return next((p for p in self.phases if p.covers(infusion_number)), None)

    def event_rule(self, term: str) -> EventRule | None:
        """The rule for a listed term, or the protocol's rule for unlisted terms (if any)."""
        key = normalise_term(term)
        listed = next((e for e in self.adverse_events.events if e.term == key), None)
        return listed or self.adverse_events.unknown_event

    def prn_medication(self, prn_id: str) -> PrnMedication:
        return next(p for p in self.adverse_events.prn if p.id == prn_id)
