"""The classify decision: was the infusion a response, how long did relief last, may the patient
go on.

Paper: "responders were defined as patients who reported >= 30% reduction in pain based on NPRS or
positive subjective qualifiers ... as well as functional improvements and/or a reduction in adjuvant
analgesics. Responders must have had >= 24 hours of pain relief after their first infusion or
>= 2 weeks of pain relief after their subsequent infusions to continue on the protocol."

Every number comes from the protocol's `[responder]` section; the helpers are pure so that `plan`
can ask the same questions `decide` asks; plan judges its `assessments` with `judge`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import Field

from kip.protocol.common import Decision, Input, Output, Reason, Request, stamp
from kip.protocol.model import Protocol, Responder, ShortFirstRelief

PainBy = Literal["nprs", "qualifier"]
ContinuationDecision = Literal["continue", "stop", "pending"]
ContinuationReason = Literal[
    "continue", "inadequate_relief", "adverse_events", "patient_choice", "death", "other"
]

# Stops the paper names but the protocol file cannot configure ("Patients continued the infusions
# until they discharged because of undesirable side effects or unsatisfactory pain relief or until
# death."), so their reasons cite these keys rather than a protocol entry.
RULE_DEATH = "continuation.death"
RULE_PATIENT_CHOICE = "continuation.patient_choice"
RULE_ADVERSE_EVENTS = "continuation.adverse_events"
RULE_OTHER = "continuation.other"

RULE_NPRS = "responder.nprs_reduction_pct"
RULE_QUALIFIERS = "responder.positive_qualifiers"
RULE_FUNCTION = "responder.requires_function_or_analgesic_reduction"
RULE_FIRST_HOURS = "responder.first_infusion_relief_hours"
RULE_SUBSEQUENT_DAYS = "responder.subsequent_relief_days"
RULE_CHECKED_FROM = "responder.subsequent_relief_checked_from_infusion"
RULE_SHORT_FIRST = "responder.first_infusion_short_relief"
RULE_BANDS = "responder.duration_bands"


class Assessment(Input):
    """What is known about one infusion's response; also the item of plan's `assessments`."""

    infusion_number: int = Field(ge=1, description="The infusion whose response is assessed.")
    baseline_nprs: int | None = Field(default=None, ge=0, le=10, description="NPRS before it.")
    nprs: int | None = Field(default=None, ge=0, le=10, description="NPRS after the infusion.")
    qualifier: str | None = Field(
        default=None, max_length=1000, description="The patient's words, e.g. 'good relief'."
    )
    functional_improvement: bool | None = None
    analgesics_reduced: bool | None = Field(
        default=None, description="Adjuvant analgesics reduced since the infusion."
    )
    relief_hours: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="How long the relief lasted."
    )
    relief_ongoing: bool = Field(
        default=False, description="Relief has not ended yet; relief_hours is the duration so far."
    )
    adverse_event_limited: bool = Field(
        default=False, description="Stopping because of infusion-related adverse events."
    )
    patient_choice: Literal["continue", "stop"] | None = None
    deceased: bool = False
    other_stop_reason: str | None = Field(default=None, min_length=1, pattern=r"\S")


class ClassifyRequest(Request, Assessment):
    """An assessment sent on its own, naming the protocol it is judged against."""


class Criteria(Output):
    pain: bool
    pain_by: PainBy | None
    function_or_analgesics: bool


class ReliefThreshold(Output):
    hours: float = Field(description="Relief needed after this infusion to continue.")
    met: bool | None = Field(description="None: relief unknown, or ongoing and not yet reached.")
    applies: bool = Field(
        description="False when the protocol does not hold this infusion to the threshold "
        "(responder.subsequent_relief_checked_from_infusion)."
    )


class Continuation(Output):
    decision: ContinuationDecision
    reason: ContinuationReason | None


class ClassifyResult(Decision):
    responder: bool
    nprs_reduction_pct: float | None
    criteria: Criteria
    relief_days: float | None
    duration_band: str | None
    band_final: bool = Field(description="False while the band may still move (relief ongoing).")
    relief_threshold: ReliefThreshold
    continuation: Continuation


@dataclass(frozen=True)
class ResponseCheck:
    """The responder criteria for one infusion, with a reason for each."""

    responder: bool
    nprs_reduction_pct: float | None
    criteria: Criteria
    reasons: tuple[Reason, ...]


# --- pain criterion ----------------------------------------------------------------------------


def _dec(x: float) -> Decimal:
    # Through str, so a bound written as 0.1 in the protocol means 0.1, not its binary neighbour.
    return Decimal(str(x))


def nprs_reduction_pct(baseline_nprs: int | None, nprs: int | None) -> float | None:
    """Percent fall in NPRS (one decimal; negative if pain rose); None if it cannot be computed."""
    if baseline_nprs is None or nprs is None or baseline_nprs == 0:
        return None
    return float(round(Fraction((baseline_nprs - nprs) * 100, baseline_nprs), 1))


def meets_nprs_reduction(responder: Responder, baseline_nprs: int | None, nprs: int | None) -> bool:
    """Whether the fall reaches `nprs_reduction_pct`, compared exactly (10 -> 7 is 30%)."""
    if baseline_nprs is None or nprs is None or baseline_nprs == 0:
        return False
    required = Fraction(_dec(responder.nprs_reduction_pct))
    return (baseline_nprs - nprs) * 100 >= required * baseline_nprs


_NEGATIONS = frozenset({"not", "no", "never", "cannot"})
# A negation reaches only this many words forward ("not very good", "never felt so good") and never
# across a clause ("no nausea, good relief"; "not great but good").
_NEGATION_WINDOW = 3
_CLAUSE_BREAK = re.compile(r"[.,;:!?()\[\]\"/]|\b(?:but|and|although|though|however)\b")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _negated(preceding: Sequence[str]) -> bool:
    window = preceding[-_NEGATION_WINDOW:]
    return any(w in _NEGATIONS or w.endswith(("n't", "n’t")) for w in window)


def qualifier_matches(responder: Responder, qualifier: str) -> tuple[list[str], list[str]]:
    """(positive, negated): the protocol qualifiers found as whole words, split by negation."""
    positive: list[str] = []
    negated: list[str] = []
    clauses = [_words(c) for c in _CLAUSE_BREAK.split(qualifier.lower())]
    for q in responder.positive_qualifiers:
        target = _words(q)
        if not target:
            continue
        for words in clauses:
            for i in range(len(words) - len(target) + 1):
                if words[i : i + len(target)] == target:
                    found = negated if _negated(words[:i]) else positive
                    if q not in found:
                        found.append(q)
    return positive, [q for q in negated if q not in positive]


def positive_qualifier(responder: Responder, qualifier: str | None) -> str | None:
    """The first of the protocol's positive qualifiers the patient used un-negated, if any."""
    if qualifier is None:
        return None
    positive, _ = qualifier_matches(responder, qualifier)
    return positive[0] if positive else None


def _missing(**fields: object) -> str:
    names = [name for name, value in fields.items() if value is None]
    return " and ".join(names)


def _nprs_reason(responder: Responder, baseline_nprs: int | None, nprs: int | None) -> Reason:
    need = f">= {responder.nprs_reduction_pct:g}%"
    if baseline_nprs is None or nprs is None:
        missing = _missing(baseline_nprs=baseline_nprs, nprs=nprs)
        return Reason(rule=RULE_NPRS, text=f"NPRS reduction not shown: {missing} not recorded")
    if baseline_nprs == 0:
        return Reason(rule=RULE_NPRS, text="NPRS reduction not shown: baseline NPRS is 0")
    pct = nprs_reduction_pct(baseline_nprs, nprs)
    verdict = "meets" if meets_nprs_reduction(responder, baseline_nprs, nprs) else "is below"
    return Reason(
        rule=RULE_NPRS,
        text=f"NPRS {baseline_nprs} -> {nprs}: {pct}% reduction {verdict} the {need} required",
    )


def _qualifier_reason(responder: Responder, qualifier: str | None) -> Reason:
    if qualifier is None:
        return Reason(rule=RULE_QUALIFIERS, text="no qualifier recorded")
    positive, negated = qualifier_matches(responder, qualifier)
    if positive:
        text = f"{qualifier!r} uses the positive qualifier {positive[0]!r}"
    elif negated:
        text = f"{qualifier!r}: {negated[0]!r} is negated, so it is not a positive qualifier"
    else:
        listed = ", ".join(repr(q) for q in responder.positive_qualifiers)
        text = f"{qualifier!r} uses none of the positive qualifiers ({listed})"
    return Reason(rule=RULE_QUALIFIERS, text=text)


def _function_reason(
    responder: Responder, functional_improvement: bool | None, analgesics_reduced: bool | None
) -> Reason:
    shown = [
        label
        for label, value in (
            ("functional improvement", functional_improvement),
            ("a reduction in adjuvant analgesics", analgesics_reduced),
        )
        if value is True
    ]
    if not responder.requires_function_or_analgesic_reduction:
        text = "this protocol does not require functional improvement or analgesic reduction"
    elif shown:
        text = " and ".join(shown) + " reported"
    else:
        text = "neither functional improvement nor a reduction in adjuvant analgesics shown"
        missing = _missing(
            functional_improvement=functional_improvement, analgesics_reduced=analgesics_reduced
        )
        if missing:
            text += f" ({missing} not recorded)"
    return Reason(rule=RULE_FUNCTION, text=text)


def assess_response(
    responder: Responder,
    *,
    baseline_nprs: int | None,
    nprs: int | None,
    qualifier: str | None = None,
    functional_improvement: bool | None = None,
    analgesics_reduced: bool | None = None,
) -> ResponseCheck:
    """The responder definition applied to one infusion; unknown data count as not shown."""
    by_nprs = meets_nprs_reduction(responder, baseline_nprs, nprs)
    # NPRS is named first when both hold: it is the measured criterion, the qualifier the fallback.
    pain_by: PainBy | None = (
        "nprs" if by_nprs else "qualifier" if positive_qualifier(responder, qualifier) else None
    )
    function_or_analgesics = functional_improvement is True or analgesics_reduced is True
    second_ok = function_or_analgesics or not responder.requires_function_or_analgesic_reduction
    return ResponseCheck(
        responder=pain_by is not None and second_ok,
        nprs_reduction_pct=nprs_reduction_pct(baseline_nprs, nprs),
        criteria=Criteria(
            pain=pain_by is not None,
            pain_by=pain_by,
            function_or_analgesics=function_or_analgesics,
        ),
        reasons=(
            _nprs_reason(responder, baseline_nprs, nprs),
            _qualifier_reason(responder, qualifier),
            _function_reason(responder, functional_improvement, analgesics_reduced),
        ),
    )


def is_responder(
    responder: Responder,
    *,
    baseline_nprs: int | None,
    nprs: int | None,
    qualifier: str | None = None,
    functional_improvement: bool | None = None,
    analgesics_reduced: bool | None = None,
) -> bool:
    return assess_response(
        responder,
        baseline_nprs=baseline_nprs,
        nprs=nprs,
        qualifier=qualifier,
        functional_improvement=functional_improvement,
        analgesics_reduced=analgesics_reduced,
    ).responder


# --- relief duration ---------------------------------------------------------------------------


def relief_threshold_rule(infusion_number: int) -> str:
    return RULE_FIRST_HOURS if infusion_number == 1 else RULE_SUBSEQUENT_DAYS


def _threshold(responder: Responder, infusion_number: int) -> Decimal:
    if infusion_number == 1:
        return _dec(responder.first_infusion_relief_hours)
    return _dec(responder.subsequent_relief_days) * 24


def relief_threshold_hours(responder: Responder, infusion_number: int) -> float:
    """Relief needed after this infusion: 24 h after the first, 2 weeks after later ones."""
    return float(_threshold(responder, infusion_number))


def relief_threshold_applies(responder: Responder, infusion_number: int) -> bool:
    """Whether continuation after this infusion depends on its relief threshold.

    `subsequent_relief_checked_from_infusion` names the first infusion planned with the 2-week rule,
    which is judged on the infusion before it (docs/protocol.md); the same test as plan's.
    """
    checked_from = responder.subsequent_relief_checked_from_infusion
    return infusion_number == 1 or infusion_number + 1 >= checked_from


def relief_threshold_met(
    responder: Responder, infusion_number: int, relief_hours: float | None, *, ongoing: bool = False
) -> bool | None:
    """True/False once known; None while relief is ongoing below the threshold, or not recorded."""
    if relief_hours is None:
        return None
    if _dec(relief_hours) >= _threshold(responder, infusion_number):
        return True
    return None if ongoing else False


def duration_band(responder: Responder, relief_hours: float) -> str:
    """The label of the first band whose (exclusive) upper bound lies above the relief; 14 days is
    '2-3 weeks', as in Table 3's <2, 2-3 and >=3 weeks."""
    if relief_hours < 0:
        raise ValueError(f"relief_hours must be >= 0, got {relief_hours}")
    hours = _dec(relief_hours)
    # The model guarantees the last band is open-ended, so this always finds one.
    return next(
        band.label
        for band in responder.duration_bands
        if band.below_days is None or hours < _dec(band.below_days) * 24
    )


def _band_is_open(responder: Responder, label: str) -> bool:
    return responder.duration_bands[-1].label == label


def _fmt_hours(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.4g} days ({hours:g} h)"
    return f"{hours:g} h"


def _threshold_reason(
    assessment: Assessment, threshold: ReliefThreshold, relief: str | None
) -> Reason:
    n = assessment.infusion_number
    rule = relief_threshold_rule(n)
    need = f"{_fmt_hours(threshold.hours)} of relief needed after infusion {n}"
    if threshold.met is None:
        if relief is None:
            text = f"relief duration not recorded; {need}"
        else:
            text = f"relief ongoing at {relief}; {need}, not reached yet"
    else:
        text = f"relief {relief}: {'meets' if threshold.met else 'short of'} the {need}"
    if not threshold.applies:
        text += " (not checked for this infusion)"
    return Reason(rule=rule, text=text)


def _band_reason(responder: Responder, assessment: Assessment, band: str | None) -> Reason:
    if band is None or assessment.relief_hours is None:
        return Reason(rule=RULE_BANDS, text="relief duration not recorded: no duration band")
    days = f"{assessment.relief_hours / 24:.4g} days"
    if assessment.relief_ongoing and not _band_is_open(responder, band):
        return Reason(rule=RULE_BANDS, text=f"relief so far {days}: band {band!r} until it ends")
    return Reason(rule=RULE_BANDS, text=f"relief {days}: band {band!r}")


# --- continuation ------------------------------------------------------------------------------


def _stop(reason: ContinuationReason, rule: str, text: str) -> tuple[Continuation, Reason]:
    return Continuation(decision="stop", reason=reason), Reason(rule=rule, text=text)


def continuation(
    assessment: Assessment,
    responder: Responder,
    check: ResponseCheck,
    threshold: ReliefThreshold,
) -> tuple[Continuation, Reason]:
    """Whether the patient goes on, in the order: death, the patient's choice, adverse events,
    another stated reason, response, then relief duration."""
    n = assessment.infusion_number
    if assessment.deceased:
        return _stop("death", RULE_DEATH, "stop: the patient has died")
    if assessment.patient_choice == "stop":
        return _stop("patient_choice", RULE_PATIENT_CHOICE, "stop: the patient chose to stop")
    if assessment.adverse_event_limited:
        return _stop(
            "adverse_events",
            RULE_ADVERSE_EVENTS,
            "stop: infusion-related adverse events (paper: discharged because of undesirable "
            "side effects)",
        )
    if assessment.other_stop_reason is not None:
        return _stop("other", RULE_OTHER, f"stop: {assessment.other_stop_reason}")
    if not check.responder:
        if not check.criteria.pain:
            rule, missing = RULE_NPRS, "pain reduction of the size required (NPRS or qualifier)"
        else:
            rule, missing = RULE_FUNCTION, "functional improvement or analgesic reduction"
        return _stop(
            "inadequate_relief", rule, f"stop: not a responder after infusion {n}: no {missing}"
        )
    if not threshold.applies:
        return Continuation(decision="continue", reason="continue"), Reason(
            rule=RULE_CHECKED_FROM,
            text=f"continue: responder; the {_fmt_hours(threshold.hours)} relief rule is first "
            f"checked before infusion {responder.subsequent_relief_checked_from_infusion}, so "
            f"relief after infusion {n} is not held to it",
        )
    rule = relief_threshold_rule(n)
    if threshold.met is None:
        return Continuation(decision="pending", reason=None), Reason(
            rule=rule,
            text="pending: decide once the relief ends or reaches "
            f"{_fmt_hours(threshold.hours)} (responder so far)",
        )
    if threshold.met:
        return Continuation(decision="continue", reason="continue"), Reason(
            rule=rule,
            text=f"continue: responder with >= {_fmt_hours(threshold.hours)} of relief after "
            f"infusion {n}",
        )
    if n == 1 and responder.first_infusion_short_relief == ShortFirstRelief.CONTINUE:
        return Continuation(decision="continue", reason="continue"), Reason(
            rule=RULE_SHORT_FIRST,
            text="continue: relief after the first infusion was under "
            f"{_fmt_hours(threshold.hours)}, but this protocol goes on; the paper also says "
            "all patients were eligible for a second and third infusion",
        )
    return _stop(
        "inadequate_relief",
        RULE_SHORT_FIRST if n == 1 else rule,
        f"stop: relief after infusion {n} was under {_fmt_hours(threshold.hours)}",
    )


# --- the decision ------------------------------------------------------------------------------


def judge(assessment: Assessment, protocol: Protocol) -> ClassifyResult:
    """The classify decision for one assessment; `decide` and plan both come here."""
    cfg = protocol.responder
    n = assessment.infusion_number
    check = assess_response(
        cfg,
        baseline_nprs=assessment.baseline_nprs,
        nprs=assessment.nprs,
        qualifier=assessment.qualifier,
        functional_improvement=assessment.functional_improvement,
        analgesics_reduced=assessment.analgesics_reduced,
    )
    hours = assessment.relief_hours
    threshold = ReliefThreshold(
        hours=relief_threshold_hours(cfg, n),
        met=relief_threshold_met(cfg, n, hours, ongoing=assessment.relief_ongoing),
        applies=relief_threshold_applies(cfg, n),
    )
    band = None if hours is None else duration_band(cfg, hours)
    # An ongoing relief can still move up a band, except out of the open-ended last one.
    band_final = band is not None and (not assessment.relief_ongoing or _band_is_open(cfg, band))
    decision, why = continuation(assessment, cfg, check, threshold)
    relief = None if hours is None else _fmt_hours(hours)
    return ClassifyResult(
        **stamp(protocol),
        responder=check.responder,
        nprs_reduction_pct=check.nprs_reduction_pct,
        criteria=check.criteria,
        relief_days=None if hours is None else hours / 24,
        duration_band=band,
        band_final=band_final,
        relief_threshold=threshold,
        continuation=decision,
        # In the order they are weighed; the continuation's own reason comes last.
        reasons=[
            *check.reasons,
            _threshold_reason(assessment, threshold, relief),
            _band_reason(cfg, assessment, band),
            why,
        ],
    )


def decide(request: ClassifyRequest, protocol: Protocol) -> ClassifyResult:
    return judge(request, protocol)
