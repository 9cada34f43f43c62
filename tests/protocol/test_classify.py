"""The classify decision against the paper's responder definition, Table 3 and kip's choices.

Every scenario names its source: a sentence of Oh et al. 2021, or "kip choice: <protocol key>".
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kip.protocol.classify import (
    Assessment,
    ClassifyRequest,
    ClassifyResult,
    decide,
    duration_band,
    is_responder,
    judge,
    meets_nprs_reduction,
    nprs_reduction_pct,
    positive_qualifier,
    relief_threshold_applies,
    relief_threshold_hours,
)
from kip.protocol.common import parse_request
from kip.protocol.errors import InputError
from kip.protocol.loader import load
from kip.protocol.model import Protocol, ShortFirstRelief

RESPONDER_DEF = (
    "paper: 'responders were defined as patients who reported >= 30% reduction in pain based on "
    'NPRS or positive subjective qualifiers, including but not limited to "good," "excellent," '
    'or "significant" pain relief, as well as functional improvements and/or a reduction in '
    "adjuvant analgesics.'"
)
RELIEF_RULE = (
    "paper: 'Responders must have had >= 24 hours of pain relief after their first infusion or "
    ">= 2 weeks of pain relief after their subsequent infusions to continue on the protocol.'"
)
DISCHARGE = (
    "paper: 'Patients continued the infusions until they discharged because of undesirable side "
    "effects or unsatisfactory pain relief or until death.'"
)
TABLE_3 = "paper, Table 3 (duration of response): '<2 weeks', '2-3 weeks', '>=3 weeks'"
ELIGIBLE_2_3 = (
    "paper: 'All patients were eligible for a second and third infusion 1 week after the "
    "previous one'"
)

RULE_KEYS = {
    "responder.nprs_reduction_pct",
    "responder.positive_qualifiers",
    "responder.requires_function_or_analgesic_reduction",
    "responder.first_infusion_relief_hours",
    "responder.subsequent_relief_days",
    "responder.subsequent_relief_checked_from_infusion",
    "responder.first_infusion_short_relief",
    "responder.duration_bands",
    "continuation.death",
    "continuation.patient_choice",
    "continuation.adverse_events",
    "continuation.other",
}

DAY = 24.0

# A clear responder (8 -> 4 is 50%, with functional improvement); scenarios vary one thing.
RESPONDER: dict[str, Any] = {"baseline_nprs": 8, "nprs": 4, "functional_improvement": True}
SHORT_CONTINUE: dict[str, Any] = {"first_infusion_short_relief": ShortFirstRelief.CONTINUE}
CHECK_FROM_4: dict[str, Any] = {"subsequent_relief_checked_from_infusion": 4}
CHECKED_FROM = (
    "kip choice: responder.subsequent_relief_checked_from_infusion (3: checked before infusion 3, "
    "against infusion 2; relief still going on does not stop)"
)
PENDING = "kip choice: responder (ongoing relief below threshold is pending)"


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load("mskcc-2021")


def variant(protocol: Protocol, **responder: Any) -> Protocol:
    return protocol.model_copy(
        update={"responder": protocol.responder.model_copy(update=responder)}
    )


def classify(protocol: Protocol, **fields: Any) -> ClassifyResult:
    return decide(ClassifyRequest(**fields), protocol)


def cites(source: str) -> None:
    assert source.startswith(("paper", "kip choice: ")), source


# --- responder definition ----------------------------------------------------------------------

R = pytest.param


@pytest.mark.parametrize(
    ("fields", "responder", "pct", "pain_by", "source"),
    [
        R(dict(baseline_nprs=10, nprs=7, functional_improvement=True), True, 30.0, "nprs",
          RESPONDER_DEF, id="30pct-exactly-10-to-7"),
        R(dict(baseline_nprs=7, nprs=5, functional_improvement=True), False, 28.6, None,
          RESPONDER_DEF, id="28.6pct-7-to-5"),
        R(dict(baseline_nprs=10, nprs=8, functional_improvement=True), False, 20.0, None,
          RESPONDER_DEF, id="20pct"),
        R(dict(baseline_nprs=3, nprs=2, analgesics_reduced=True), True, 33.3, "nprs",
          RESPONDER_DEF, id="33.3pct-with-analgesics-only"),
        R(dict(baseline_nprs=10, nprs=7, functional_improvement=False, analgesics_reduced=False),
          False, 30.0, "nprs", RESPONDER_DEF, id="30pct-without-function-or-analgesics"),
        R(dict(baseline_nprs=10, nprs=7), False, 30.0, "nprs",
          RESPONDER_DEF, id="30pct-function-and-analgesics-unknown"),
        R(dict(qualifier="excellent", functional_improvement=True), True, None, "qualifier",
          RESPONDER_DEF, id="excellent-with-function"),
        R(dict(qualifier="Significant relief", analgesics_reduced=True), True, None, "qualifier",
          RESPONDER_DEF, id="qualifier-case-insensitive"),
        R(dict(qualifier="excellent", functional_improvement=False), False, None, "qualifier",
          RESPONDER_DEF, id="excellent-without-function"),
        R(dict(qualifier="not good", functional_improvement=True), False, None, None,
          "kip choice: responder.positive_qualifiers (negation)", id="not-good"),
        R(dict(qualifier="no significant change", functional_improvement=True), False, None,
          None, "kip choice: responder.positive_qualifiers (negation)", id="no-significant"),
        R(dict(qualifier="never felt good", functional_improvement=True), False, None, None,
          "kip choice: responder.positive_qualifiers (negation)", id="never-felt-good"),
        R(dict(qualifier="not very good", functional_improvement=True), False, None, None,
          "kip choice: responder.positive_qualifiers (negation)", id="not-very-good"),
        R(dict(qualifier="it wasn't good", functional_improvement=True), False, None, None,
          "kip choice: responder.positive_qualifiers (negation)", id="wasnt-good"),
        R(dict(qualifier="not great, but good", functional_improvement=True), True, None,
          "qualifier", "kip choice: responder.positive_qualifiers (negation)",
          id="negation-stops-at-clause"),
        R(dict(qualifier="no nausea and good sleep", functional_improvement=True), True, None,
          "qualifier", "kip choice: responder.positive_qualifiers (negation)",
          id="negation-of-other-words"),
        R(dict(qualifier="significantly better", functional_improvement=True), False, None,
          None, "kip choice: responder.positive_qualifiers (whole words)", id="not-whole-word"),
        R(dict(qualifier="very good", analgesics_reduced=True), True, None, "qualifier",
          "kip choice: responder.positive_qualifiers", id="very-good"),
        R(dict(baseline_nprs=10, nprs=7, qualifier="good", functional_improvement=True), True,
          30.0, "nprs", "kip choice: criteria.pain_by (NPRS named first)", id="both-nprs-first"),
        R(dict(baseline_nprs=0, nprs=0, functional_improvement=True), False, None, None,
          "kip choice: responder.nprs_reduction_pct (baseline 0)", id="baseline-0"),
        R(dict(baseline_nprs=5, nprs=6, functional_improvement=True), False, -20.0, None,
          RESPONDER_DEF, id="pain-rose"),
        R(dict(baseline_nprs=10, nprs=None, functional_improvement=True), False, None, None,
          "kip choice: responder (unknown counts as not shown)", id="nprs-missing"),
    ],
)  # fmt: skip
def test_responder_definition(
    protocol: Protocol,
    fields: dict[str, Any],
    responder: bool,
    pct: float | None,
    pain_by: str | None,
    source: str,
) -> None:
    cites(source)
    result = classify(protocol, infusion_number=1, relief_hours=48.0, **fields)
    assert result.responder is responder
    assert result.nprs_reduction_pct == pct
    assert result.criteria.pain_by == pain_by
    assert result.criteria.pain is (pain_by is not None)
    assert is_responder(protocol.responder, **{"baseline_nprs": None, "nprs": None, **fields}) is (
        responder
    )
    if not responder:
        assert result.continuation.decision == "stop"
        assert result.continuation.reason == "inadequate_relief"


def test_reasons_name_the_missing_data(protocol: Protocol) -> None:
    # RESPONDER_DEF, with kip's rule that unknown data count as not shown.
    result = classify(protocol, infusion_number=1, baseline_nprs=10, relief_hours=30.0)
    texts = {r.rule: r.text for r in result.reasons[:-1]}
    assert "nprs not recorded" in texts["responder.nprs_reduction_pct"]
    assert "baseline_nprs" not in texts["responder.nprs_reduction_pct"]
    assert texts["responder.positive_qualifiers"] == "no qualifier recorded"
    assert (
        "functional_improvement and analgesics_reduced not recorded"
        in (texts["responder.requires_function_or_analgesic_reduction"])
    )
    assert result.reasons[-1].rule == "responder.nprs_reduction_pct"
    assert result.reasons[-1].text.startswith("stop: not a responder after infusion 1")


def test_negated_qualifier_reason(protocol: Protocol) -> None:
    # kip choice: responder.positive_qualifiers (negation)
    result = classify(
        protocol, infusion_number=1, qualifier="not good", functional_improvement=True
    )
    text = next(r.text for r in result.reasons if r.rule == "responder.positive_qualifiers")
    assert "'good' is negated" in text
    assert positive_qualifier(protocol.responder, "not good") is None
    assert positive_qualifier(protocol.responder, "pretty GOOD relief") == "good"


def test_function_requirement_can_be_switched_off(protocol: Protocol) -> None:
    # kip choice: responder.requires_function_or_analgesic_reduction (the protocol may drop it)
    relaxed = variant(protocol, requires_function_or_analgesic_reduction=False)
    fields: dict[str, Any] = dict(infusion_number=1, baseline_nprs=10, nprs=7, relief_hours=30.0)
    assert classify(protocol, **fields).responder is False
    result = classify(relaxed, **fields)
    assert result.responder is True
    assert result.criteria.function_or_analgesics is False
    assert result.continuation.decision == "continue"


@pytest.mark.parametrize(
    ("baseline", "nprs", "pct", "meets"),
    [
        R(10, 7, 30.0, True, id="10-7"),
        R(7, 5, 28.6, False, id="7-5"),
        R(6, 4, 33.3, True, id="6-4"),
        R(6, 5, 16.7, False, id="6-5"),
        R(10, 0, 100.0, True, id="10-0"),
        R(0, 0, None, False, id="baseline-0"),
        R(None, 3, None, False, id="baseline-unknown"),
    ],
)  # fmt: skip
def test_nprs_helpers(
    protocol: Protocol, baseline: int | None, nprs: int, pct: float | None, meets: bool
) -> None:
    # RESPONDER_DEF: ">= 30% reduction in pain based on NPRS", computed exactly.
    assert nprs_reduction_pct(baseline, nprs) == pct
    assert meets_nprs_reduction(protocol.responder, baseline, nprs) is meets


def test_pct_threshold_compared_as_written(protocol: Protocol) -> None:
    # kip choice: responder.nprs_reduction_pct is read as the decimal written in the file:
    # 3 -> 2 is 33.33...%, which meets 33.3 but not 33.4.
    assert meets_nprs_reduction(variant(protocol, nprs_reduction_pct=33.3).responder, 3, 2)
    assert not meets_nprs_reduction(variant(protocol, nprs_reduction_pct=33.4).responder, 3, 2)


# --- relief threshold and continuation -------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "update", "decision", "reason", "met", "rule", "source"),
    [
        R(dict(infusion_number=1, relief_hours=23.0), {}, "stop", "inadequate_relief", False,
          "responder.first_infusion_short_relief",
          RELIEF_RULE + " + kip choice: responder.first_infusion_short_relief", id="inf1-23h"),
        R(dict(infusion_number=1, relief_hours=24.0), {}, "continue", "continue", True,
          "responder.first_infusion_relief_hours", RELIEF_RULE, id="inf1-24h"),
        R(dict(infusion_number=1, relief_hours=23.0), SHORT_CONTINUE,
          "continue", "continue", False, "responder.first_infusion_short_relief",
          "kip choice: responder.first_infusion_short_relief; " + ELIGIBLE_2_3,
          id="inf1-23h-short-relief-continue"),
        R(dict(infusion_number=3, relief_hours=13 * DAY), SHORT_CONTINUE, "stop",
          "inadequate_relief", False, "responder.subsequent_relief_days", RELIEF_RULE,
          id="short-relief-continue-is-for-infusion-1-only"),
        R(dict(infusion_number=2, relief_hours=13 * DAY), {}, "stop", "inadequate_relief", False,
          "responder.subsequent_relief_days", RELIEF_RULE + " + " + CHECKED_FROM, id="inf2-13d"),
        R(dict(infusion_number=2, relief_hours=14 * DAY), {}, "continue", "continue", True,
          "responder.subsequent_relief_days", RELIEF_RULE + " + " + CHECKED_FROM, id="inf2-14d"),
        R(dict(infusion_number=2, relief_hours=13 * DAY), CHECK_FROM_4, "continue", "continue",
          False, "responder.subsequent_relief_checked_from_infusion", CHECKED_FROM,
          id="inf2-13d-not-checked-when-checked-from-4"),
        R(dict(infusion_number=3, relief_hours=13 * DAY), CHECK_FROM_4, "stop",
          "inadequate_relief", False, "responder.subsequent_relief_days", CHECKED_FROM,
          id="inf3-13d-checked-from-4"),
        R(dict(infusion_number=2, relief_hours=5 * DAY, relief_ongoing=True), {}, "pending",
          None, None, "responder.subsequent_relief_days", CHECKED_FROM,
          id="inf2-ongoing-5d-before-infusion-3"),
        R(dict(infusion_number=3, relief_hours=13 * DAY), {}, "stop", "inadequate_relief", False,
          "responder.subsequent_relief_days", RELIEF_RULE, id="inf3-13d"),
        R(dict(infusion_number=3, relief_hours=14 * DAY), {}, "continue", "continue", True,
          "responder.subsequent_relief_days", RELIEF_RULE, id="inf3-14d"),
        R(dict(infusion_number=7, relief_hours=13.99 * DAY), {}, "stop", "inadequate_relief",
          False, "responder.subsequent_relief_days", RELIEF_RULE, id="maintenance-13.99d"),
        R(dict(infusion_number=1, relief_hours=20.0, relief_ongoing=True), {}, "pending", None,
          None, "responder.first_infusion_relief_hours",
          PENDING, id="inf1-ongoing-20h"),
        R(dict(infusion_number=1, relief_hours=30.0, relief_ongoing=True), {}, "continue",
          "continue", True, "responder.first_infusion_relief_hours", RELIEF_RULE,
          id="inf1-ongoing-past-24h"),
        R(dict(infusion_number=4, relief_hours=10 * DAY, relief_ongoing=True), {}, "pending",
          None, None, "responder.subsequent_relief_days",
          PENDING, id="inf4-ongoing-10d"),
        R(dict(infusion_number=1), {}, "pending", None, None,
          "responder.first_infusion_relief_hours",
          "kip choice: responder (unknown relief duration is pending)", id="inf1-relief-unknown"),
    ],
)  # fmt: skip
def test_relief_threshold_and_continuation(
    protocol: Protocol,
    fields: dict[str, Any],
    update: dict[str, Any],
    decision: str,
    reason: str | None,
    met: bool | None,
    rule: str,
    source: str,
) -> None:
    cites(source)
    result = classify(variant(protocol, **update), **RESPONDER, **fields)
    assert result.responder is True
    assert result.relief_threshold.met is met
    assert result.continuation.decision == decision
    assert result.continuation.reason == reason
    assert result.reasons[-1].rule == rule
    assert result.reasons[-1].text.startswith(decision)


def test_short_first_relief_continue_cites_eligibility(protocol: Protocol) -> None:
    # kip choice: responder.first_infusion_short_relief; ELIGIBLE_2_3
    lenient = variant(protocol, first_infusion_short_relief=ShortFirstRelief.CONTINUE)
    result = classify(lenient, infusion_number=1, relief_hours=23.0, **RESPONDER)
    assert "all patients were eligible for a second and third infusion" in result.reasons[-1].text


@pytest.mark.parametrize(
    ("infusion", "hours", "applies"),
    [R(1, 24.0, True, id="first"), R(2, 336.0, True, id="second"), R(3, 336.0, True, id="third"),
     R(12, 336.0, True, id="maintenance")],
)  # fmt: skip
def test_threshold_reported(protocol: Protocol, infusion: int, hours: float, applies: bool) -> None:
    # RELIEF_RULE; kip choice: responder.subsequent_relief_checked_from_infusion = 3
    assert relief_threshold_hours(protocol.responder, infusion) == hours
    result = classify(protocol, infusion_number=infusion, relief_hours=400.0, **RESPONDER)
    assert result.relief_threshold.hours == hours
    assert result.relief_threshold.applies is applies


@pytest.mark.parametrize(
    ("checked_from", "infusion", "applies"),
    [R(4, 1, True, id="first-always"), R(4, 2, False, id="before-3"), R(4, 3, True, id="before-4"),
     R(5, 3, False, id="5-skips-3"), R(2, 2, True, id="2-checks-all")],
)  # fmt: skip
def test_checked_from_shifts_the_rule(
    protocol: Protocol, checked_from: int, infusion: int, applies: bool
) -> None:
    # CHECKED_FROM: the key names the first infusion planned under the rule (judged on the one
    # before it).
    custom = variant(protocol, subsequent_relief_checked_from_infusion=checked_from)
    assert relief_threshold_applies(custom.responder, infusion) is applies
    result = classify(custom, infusion_number=infusion, relief_hours=1.0, **RESPONDER)
    assert result.relief_threshold.applies is applies
    assert result.continuation.decision == ("stop" if applies else "continue")


STRONG: dict[str, Any] = {**RESPONDER, "infusion_number": 4, "relief_hours": 30 * DAY}


@pytest.mark.parametrize(
    ("fields", "reason", "rule"),
    [
        R(dict(deceased=True, patient_choice="stop", adverse_event_limited=True,
               other_stop_reason="moved away"), "death", "continuation.death", id="death-first"),
        R(dict(patient_choice="stop", adverse_event_limited=True, other_stop_reason="moved"),
          "patient_choice", "continuation.patient_choice", id="choice-before-adverse-events"),
        R(dict(adverse_event_limited=True, other_stop_reason="transport"), "adverse_events",
          "continuation.adverse_events", id="adverse-events-before-other"),
        R(dict(other_stop_reason="transport", nprs=8), "other", "continuation.other",
          id="other-before-nonresponse"),
        R(dict(deceased=True, nprs=8), "death", "continuation.death",
          id="death-before-nonresponse"),
        R(dict(nprs=8, relief_hours=2 * DAY, relief_ongoing=True), "inadequate_relief",
          "responder.nprs_reduction_pct", id="nonresponse-before-pending"),
        R(dict(patient_choice="continue", relief_hours=13 * DAY), "inadequate_relief",
          "responder.subsequent_relief_days", id="wish-to-continue-does-not-override-relief"),
        R(dict(adverse_event_limited=True), "adverse_events", "continuation.adverse_events",
          id="adverse-events-despite-relief"),
    ],
)  # fmt: skip
def test_stop_precedence(
    protocol: Protocol, fields: dict[str, Any], reason: str, rule: str
) -> None:
    # DISCHARGE; Table 2: "came off the IV ketamine program, despite pain relief, because of an
    # infusion-related adverse event"; the order among stops is kip choice: continuation.
    result = classify(protocol, **{**STRONG, **fields})
    assert result.continuation.decision == "stop"
    assert result.continuation.reason == reason
    assert result.reasons[-1].rule == rule


def test_patient_choice_continue_with_good_relief(protocol: Protocol) -> None:
    # RELIEF_RULE
    result = classify(protocol, **STRONG, patient_choice="continue")
    assert (result.continuation.decision, result.continuation.reason) == ("continue", "continue")


def test_other_stop_reason_is_quoted(protocol: Protocol) -> None:
    # kip choice: continuation.other
    result = classify(protocol, **STRONG, other_stop_reason="difficulty arranging transport")
    assert result.reasons[-1].text == "stop: difficulty arranging transport"


# --- duration bands ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "band"),
    [
        R(0.0, "<2 weeks", id="0d"),
        R(13.99, "<2 weeks", id="13.99d"),
        R(14.0, "2-3 weeks", id="14d"),
        R(20.99, "2-3 weeks", id="20.99d"),
        R(21.0, ">=3 weeks", id="21d"),
        R(100.0, ">=3 weeks", id="100d"),
    ],
)  # fmt: skip
def test_duration_bands(protocol: Protocol, days: float, band: str) -> None:
    # TABLE_3; bounds are exclusive above (kip choice: responder.duration_bands), so 14 days is 2-3.
    assert duration_band(protocol.responder, days * DAY) == band
    result = classify(protocol, **{**STRONG, "relief_hours": days * DAY})
    assert result.duration_band == band
    assert result.band_final is True
    assert result.relief_days == pytest.approx(days)


def test_band_boundary_in_hours(protocol: Protocol) -> None:
    # TABLE_3: one hour short of two weeks is still under two weeks.
    assert duration_band(protocol.responder, 335.0) == "<2 weeks"
    assert duration_band(protocol.responder, 336.0) == "2-3 weeks"
    assert duration_band(protocol.responder, 503.999) == "2-3 weeks"
    assert duration_band(protocol.responder, 504.0) == ">=3 weeks"


def test_negative_relief_refused_by_helper(protocol: Protocol) -> None:
    with pytest.raises(ValueError, match="relief_hours must be >= 0"):
        duration_band(protocol.responder, -1.0)


@pytest.mark.parametrize(
    ("hours", "ongoing", "band", "final"),
    [
        R(10 * DAY, True, "<2 weeks", False, id="ongoing-10d"),
        R(15 * DAY, True, "2-3 weeks", False, id="ongoing-15d"),
        R(22 * DAY, True, ">=3 weeks", True, id="ongoing-open-band"),
        R(10 * DAY, False, "<2 weeks", True, id="ended-10d"),
        R(None, True, None, False, id="ongoing-unknown"),
        R(None, False, None, False, id="unknown"),
    ],
)  # fmt: skip
def test_band_while_relief_ongoing(
    protocol: Protocol, hours: float | None, ongoing: bool, band: str | None, final: bool
) -> None:
    # kip choice: responder.duration_bands (ongoing relief is banded by its duration so far; only
    # the open-ended last band cannot move)
    result = classify(protocol, **{**STRONG, "relief_hours": hours, "relief_ongoing": ongoing})
    assert result.duration_band == band
    assert result.band_final is final
    assert result.relief_days == (None if hours is None else hours / DAY)


def test_decision_shape(protocol: Protocol) -> None:
    # engine conventions: protocol stamp, and every reason cites a known key.
    result = classify(protocol, **STRONG)
    assert (result.protocol, result.protocol_version) == ("mskcc-2021", protocol.version)
    assert [r.rule for r in result.reasons] == [
        "responder.nprs_reduction_pct",
        "responder.positive_qualifiers",
        "responder.requires_function_or_analgesic_reduction",
        "responder.subsequent_relief_days",
        "responder.duration_bands",
        "responder.subsequent_relief_days",
    ]
    assert (
        result.reasons[-1].text
        == "continue: responder with >= 14 days (336 h) of relief after infusion 4"
    )


def test_judge_takes_plans_assessment(protocol: Protocol) -> None:
    # engine conventions: plan judges its `assessments` items (no protocol id) the same way.
    fields: dict[str, Any] = {**STRONG, "relief_hours": 13 * DAY}
    assert judge(Assessment(**fields), protocol) == decide(ClassifyRequest(**fields), protocol)
    with pytest.raises(InputError, match=r"^protocol: is not a field here"):
        parse_request(Assessment, '{"infusion_number": 2, "protocol": "mskcc-2021"}')


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        R('{"infusion_number": 1, "nprs": 11}', "nprs: must be between 0 and 10",
          id="nprs-11"),
        R('{"infusion_number": 1, "nprs": "7"}', "nprs: must be a whole number",
          id="nprs-as-text"),
        R('{"infusion_number": 1, "nprs_after": 3}', "nprs_after: is not a field here",
          id="unknown"),
        R('{"infusion_number": 0}', "infusion_number: must be at least 1",
          id="infusion-0"),
        R("{}", "infusion_number: is required", id="infusion-missing"),
        R('{"infusion_number": 1, "baseline_nprs": -1}', "baseline_nprs: must be between 0 and 10",
          id="baseline-negative"),
        R('{"infusion_number": 1, "relief_hours": -1}', "relief_hours: must be at least 0",
          id="relief-negative"),
        R('{"infusion_number": 1, "patient_choice": "maybe"}',
          "patient_choice: must be one of: continue, stop", id="choice-unknown"),
        R('{"infusion_number": 1, "deceased": "yes"}', "deceased: must be true or false",
          id="deceased-as-text"),
        R('{"infusion_number": 1, "other_stop_reason": "  "}',
          "other_stop_reason: must not be blank", id="blank-other-reason"),
    ],
)  # fmt: skip
def test_bad_input(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_request(ClassifyRequest, text)
    assert str(caught.value).startswith(message)


def test_json_request_round_trip(protocol: Protocol) -> None:
    # RESPONDER_DEF and RELIEF_RULE through the JSON entry point.
    request = parse_request(
        ClassifyRequest,
        '{"infusion_number": 1, "baseline_nprs": 10, "nprs": 7, "analgesics_reduced": true,'
        ' "relief_hours": 24}',
    )
    result = decide(request, protocol)
    assert result.responder is True
    assert result.continuation.decision == "continue"
    assert result.relief_threshold.hours == 24.0


# --- invariants --------------------------------------------------------------------------------

PROTOCOL = load("mskcc-2021")
VARIANTS = [
    PROTOCOL,
    variant(PROTOCOL, first_infusion_short_relief=ShortFirstRelief.CONTINUE),
    variant(PROTOCOL, subsequent_relief_checked_from_infusion=4),
    variant(PROTOCOL, requires_function_or_analgesic_reduction=False),
]
nprs_values = st.integers(min_value=0, max_value=10)
maybe_bool = st.none() | st.booleans()
qualifiers = (
    st.none()
    | st.sampled_from(
        [
            "good",
            "not good",
            "excellent relief",
            "no significant change",
            "meh",
            "not great, but good",
        ]
    )
    | st.text(max_size=30)
)
hours = (
    st.none()
    | st.floats(min_value=0, max_value=24 * 120, allow_nan=False)
    | st.sampled_from([23.0, 24.0, 335.0, 336.0, 504.0])
)


@given(
    baseline=nprs_values,
    data=st.data(),
    qualifier=qualifiers,
    function=maybe_bool,
    analgesics=maybe_bool,
)
def test_more_reduction_never_loses_response(
    baseline: int,
    data: st.DataObject,
    qualifier: str | None,
    function: bool | None,
    analgesics: bool | None,
) -> None:
    after = data.draw(nprs_values, label="nprs")
    lower = data.draw(st.integers(min_value=0, max_value=after), label="lower nprs")
    common: dict[str, Any] = dict(
        baseline_nprs=baseline,
        qualifier=qualifier,
        functional_improvement=function,
        analgesics_reduced=analgesics,
    )
    if is_responder(PROTOCOL.responder, nprs=after, **common):
        assert is_responder(PROTOCOL.responder, nprs=lower, **common)


@given(
    a=st.floats(min_value=0, max_value=24 * 120, allow_nan=False),
    b=st.floats(min_value=0, max_value=24 * 120, allow_nan=False),
)
def test_band_monotone_in_hours(a: float, b: float) -> None:
    labels = [band.label for band in PROTOCOL.responder.duration_bands]
    low, high = sorted((a, b))
    assert labels.index(duration_band(PROTOCOL.responder, low)) <= labels.index(
        duration_band(PROTOCOL.responder, high)
    )


requests = st.builds(
    ClassifyRequest,
    infusion_number=st.integers(min_value=1, max_value=12),
    baseline_nprs=st.none() | nprs_values,
    nprs=st.none() | nprs_values,
    qualifier=qualifiers,
    functional_improvement=maybe_bool,
    analgesics_reduced=maybe_bool,
    relief_hours=hours,
    relief_ongoing=st.booleans(),
    adverse_event_limited=st.booleans(),
    patient_choice=st.sampled_from([None, "continue", "stop"]),
    deceased=st.booleans(),
    other_stop_reason=st.sampled_from([None, "moved away"]),
)


@given(request=requests, protocol=st.sampled_from(VARIANTS))
def test_continuation_invariants(request: ClassifyRequest, protocol: Protocol) -> None:
    result = decide(request, protocol)
    decision, reason = result.continuation.decision, result.continuation.reason
    if not result.responder:
        assert decision != "continue"
    assert (decision == "pending") == (reason is None)
    assert (decision == "continue") == (reason == "continue")
    if request.deceased:
        assert reason == "death"
    assert {r.rule for r in result.reasons} <= RULE_KEYS
    assert result.reasons[-1].text.startswith(decision)
