"""The adverse-event decision against the study's protocol (Oh et al., Pain Med 2021).

Each scenario cites the paper sentence it comes from, or "kip choice: <key>" when the paper leaves
the value open and the shipped protocol file fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kip.protocol.adverse import (
    AdverseEventRequest,
    AdverseEventResult,
    AdverseResponse,
    GivenDose,
    PrnOption,
    category_of,
    decide,
)
from kip.protocol.common import parse_request
from kip.protocol.errors import InputError
from kip.protocol.loader import load
from kip.protocol.model import Category, InfusionAction, PhysicianOption, Protocol, Route

PROTOCOL = load("mskcc-2021")

PAPER_PREMED = (
    "All patients were premedicated with oral ondansetron 4 mg and oral lorazepam 0.5 mg."
)
PAPER_RESTLESS = (
    "If patients developed restlessness, they were given oral lorazepam 0.5 mg every 4 hours up to "
    "2 mg as needed"
)
PAPER_IV = (
    "or if they were unable to tolerate oral medications, they were given IV lorazepam 0.5 mg once."
)
PAPER_NAUSEA = (
    "If they developed nausea, they were given oral ondansetron 4 mg every 6 hours as needed."
)
PAPER_OTHER = (
    "If they developed other side effects, such as tachycardia, hypertension, somnolence, "
    "headache, or hallucinations, a physician evaluation was performed, which led to "
    "administration of as-needed medications, continuing with the infusion, or "
    "decreasing/discontinuing the infusion."
)
PAPER_SELF = "If adverse events quickly self-resolved, no intervention was performed."

ALL_OPTIONS = [
    PhysicianOption.PRN_MEDICATION,
    PhysicianOption.CONTINUE,
    PhysicianOption.REDUCE,
    PhysicianOption.STOP,
]
DEFAULT_MG = {"lorazepam": 0.5, "ondansetron": 4.0}


def dose(
    drug: str,
    minute: float,
    route: Route = Route.ORAL,
    mg: float | None = None,
    premed: bool = False,
) -> GivenDose:
    return GivenDose(
        drug=drug,
        route=route,
        dose_mg=DEFAULT_MG[drug] if mg is None else mg,
        minute=minute,
        premedication=premed,
    )


PREMED_ONDANSETRON = dose("ondansetron", -30, premed=True)
PREMED_LORAZEPAM = dose("lorazepam", -30, premed=True)
PREMEDS = [PREMED_ONDANSETRON, PREMED_LORAZEPAM]


def variant(**changes: Any) -> Protocol:
    """The shipped protocol with some adverse_events settings changed."""
    adverse = PROTOCOL.adverse_events.model_copy(update=changes)
    return PROTOCOL.model_copy(update={"adverse_events": adverse})


def ask(
    event: str,
    minute: float,
    given_doses: list[GivenDose] | None = None,
    protocol: Protocol = PROTOCOL,
    can_take_oral: bool = True,
    self_resolved: bool = False,
) -> AdverseEventResult:
    request = AdverseEventRequest(
        event=event,
        minute=minute,
        given=given_doses or [],
        can_take_oral=can_take_oral,
        self_resolved=self_resolved,
    )
    return decide(request, protocol)


def option(result: AdverseEventResult, prn_id: str) -> PrnOption:
    return next(o for o in result.prn if o.id == prn_id)


def rules(result: AdverseEventResult) -> set[str]:
    return {r.rule for r in result.reasons}


# --- PRN scenarios ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PrnCase:
    source: str
    event: str
    minute: float
    given: list[GivenDose]
    prn_id: str
    allowed: bool
    next_allowed: float | None
    given_mg: float
    remaining_mg: float
    response: AdverseResponse
    recommended: str | None
    blocked_by: list[str] = field(default_factory=list)  # rule keys named in the escalation
    can_take_oral: bool = True
    protocol: Protocol = PROTOCOL


LZ_PRN = [dose("lorazepam", 0), dose("lorazepam", 240), dose("lorazepam", 480)]

PRN_CASES = {
    "nausea-after-premed-ondansetron-allowed": PrnCase(
        source=f"{PAPER_PREMED} {PAPER_NAUSEA} kip choice: "
        "adverse_events.prn.ondansetron-oral.cap_mg (8 mg including premedication: 4 + 4 = 8)",
        event="nausea",
        minute=60,
        given=PREMEDS,
        prn_id="ondansetron-oral",
        allowed=True,
        next_allowed=60,
        given_mg=4,
        remaining_mg=4,
        response=AdverseResponse.PRN,
        recommended="ondansetron-oral",
    ),
    "nausea-second-prn-after-interval-refused-by-cap": PrnCase(
        source=f"{PAPER_NAUSEA} kip choice: adverse_events.prn.ondansetron-oral.cap_mg",
        event="nausea",
        minute=420,
        given=[*PREMEDS, dose("ondansetron", 60)],
        prn_id="ondansetron-oral",
        allowed=False,
        next_allowed=None,
        given_mg=8,
        remaining_mg=0,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=["adverse_events.prn.ondansetron-oral.cap_mg"],
    ),
    "vomiting-second-prn-before-interval-refused-by-interval-and-cap": PrnCase(
        source=f"{PAPER_NAUSEA} kip choice: adverse_events.prn.ondansetron-oral.cap_mg",
        event="vomiting",
        minute=120,
        given=[*PREMEDS, dose("ondansetron", 60)],
        prn_id="ondansetron-oral",
        allowed=False,
        next_allowed=None,
        given_mg=8,
        remaining_mg=0,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=[
            "adverse_events.prn.ondansetron-oral.interval_minutes",
            "adverse_events.prn.ondansetron-oral.cap_mg",
        ],
    ),
    "nausea-premed-not-counted-second-prn-allowed": PrnCase(
        source="kip choice: adverse_events.premedication_counts_toward_cap (set to false here)",
        event="nausea",
        minute=420,
        given=[*PREMEDS, dose("ondansetron", 60)],
        prn_id="ondansetron-oral",
        allowed=True,
        next_allowed=420,
        given_mg=4,
        remaining_mg=4,
        response=AdverseResponse.PRN,
        recommended="ondansetron-oral",
        protocol=variant(premedication_counts_toward_cap=False),
    ),
    "nausea-premed-not-counted-interval-one-minute-short": PrnCase(
        source=f"{PAPER_NAUSEA} ('every 6 hours')",
        event="nausea",
        minute=419,
        given=[*PREMEDS, dose("ondansetron", 60)],
        prn_id="ondansetron-oral",
        allowed=False,
        next_allowed=420,
        given_mg=4,
        remaining_mg=4,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=["adverse_events.prn.ondansetron-oral.interval_minutes"],
        protocol=variant(premedication_counts_toward_cap=False),
    ),
    "vomiting-oral-not-tolerated-escalates": PrnCase(
        source=f"{PAPER_NAUSEA} (oral only; the paper names no IV antiemetic)",
        event="vomiting",
        minute=60,
        given=PREMEDS,
        prn_id="ondansetron-oral",
        allowed=False,
        next_allowed=None,
        given_mg=4,
        remaining_mg=4,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=["adverse_events.prn.ondansetron-oral.route"],
        can_take_oral=False,
    ),
    "restlessness-oral-lorazepam-allowed": PrnCase(
        source=f"{PAPER_PREMED} {PAPER_RESTLESS}",
        event="restlessness",
        minute=60,
        given=PREMEDS,
        prn_id="lorazepam-oral",
        allowed=True,
        next_allowed=60,
        given_mg=0.5,
        remaining_mg=1.5,
        response=AdverseResponse.PRN,
        recommended="lorazepam-oral",
    ),
    "restlessness-second-oral-at-239-min-refused": PrnCase(
        source=f"{PAPER_RESTLESS} ('every 4 hours')",
        event="restlessness",
        minute=299,
        given=[*PREMEDS, dose("lorazepam", 60)],
        prn_id="lorazepam-oral",
        allowed=False,
        next_allowed=300,
        given_mg=1.0,
        remaining_mg=1.0,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=[
            "adverse_events.prn.lorazepam-oral.interval_minutes",
            "adverse_events.prn.lorazepam-iv.only_if_oral_not_tolerated",
        ],
    ),
    "restlessness-second-oral-at-240-min-allowed": PrnCase(
        source=f"{PAPER_RESTLESS} ('every 4 hours')",
        event="restlessness",
        minute=300,
        given=[*PREMEDS, dose("lorazepam", 60)],
        prn_id="lorazepam-oral",
        allowed=True,
        next_allowed=300,
        given_mg=1.0,
        remaining_mg=1.0,
        response=AdverseResponse.PRN,
        recommended="lorazepam-oral",
    ),
    "restlessness-fourth-lorazepam-reaches-cap-exactly": PrnCase(
        source=f"{PAPER_RESTLESS} ('up to 2 mg'); kip choice: "
        "adverse_events.premedication_counts_toward_cap (0.5 + 0.5 + 0.5 + 0.5 = 2.0)",
        event="restlessness",
        minute=480,
        given=[PREMED_LORAZEPAM, *LZ_PRN[:2]],
        prn_id="lorazepam-oral",
        allowed=True,
        next_allowed=480,
        given_mg=1.5,
        remaining_mg=0.5,
        response=AdverseResponse.PRN,
        recommended="lorazepam-oral",
    ),
    "restlessness-other-lorazepam-doses-sum-exactly-to-cap": PrnCase(
        source=f"{PAPER_RESTLESS} ('up to 2 mg'); 0.2 + 1.3 + 0.5 is exactly 2 mg in decimal",
        event="restlessness",
        minute=300,
        given=[dose("lorazepam", 0, mg=0.2), dose("lorazepam", 10, mg=1.3)],
        prn_id="lorazepam-oral",
        allowed=True,
        next_allowed=300,
        given_mg=1.5,
        remaining_mg=0.5,
        response=AdverseResponse.PRN,
        recommended="lorazepam-oral",
    ),
    "restlessness-interval-exact-with-fractional-minutes": PrnCase(
        source=f"{PAPER_RESTLESS} ('every 4 hours': 300.7 - 60.7 is exactly 240)",
        event="restlessness",
        minute=300.7,
        given=[*PREMEDS, dose("lorazepam", 60.7)],
        prn_id="lorazepam-oral",
        allowed=True,
        next_allowed=300.7,
        given_mg=1.0,
        remaining_mg=1.0,
        response=AdverseResponse.PRN,
        recommended="lorazepam-oral",
    ),
    "restlessness-premed-plus-three-prn-next-refused-by-cap": PrnCase(
        source=f"{PAPER_RESTLESS} ('up to 2 mg'); kip choice: "
        "adverse_events.premedication_counts_toward_cap",
        event="restlessness",
        minute=720,
        given=[PREMED_LORAZEPAM, *LZ_PRN],
        prn_id="lorazepam-oral",
        allowed=False,
        next_allowed=None,
        given_mg=2.0,
        remaining_mg=0,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=[
            "adverse_events.prn.lorazepam-oral.cap_mg",
            "adverse_events.prn.lorazepam-iv.cap_mg",
        ],
    ),
    "restlessness-premed-not-counted-fourth-prn-allowed": PrnCase(
        source=f"{PAPER_RESTLESS}; adverse_events.premedication_counts_toward_cap set to false",
        event="restlessness",
        minute=720,
        given=[PREMED_LORAZEPAM, *LZ_PRN],
        prn_id="lorazepam-oral",
        allowed=True,
        next_allowed=720,
        given_mg=1.5,
        remaining_mg=0.5,
        response=AdverseResponse.PRN,
        recommended="lorazepam-oral",
        protocol=variant(premedication_counts_toward_cap=False),
    ),
    "restlessness-premed-not-counted-fifth-prn-refused-by-cap": PrnCase(
        source=f"{PAPER_RESTLESS} ('up to 2 mg'); premedication_counts_toward_cap set to false",
        event="restlessness",
        minute=960,
        given=[PREMED_LORAZEPAM, *LZ_PRN, dose("lorazepam", 720)],
        prn_id="lorazepam-oral",
        allowed=False,
        next_allowed=None,
        given_mg=2.0,
        remaining_mg=0,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=["adverse_events.prn.lorazepam-oral.cap_mg"],
        protocol=variant(premedication_counts_toward_cap=False),
    ),
    "restlessness-oral-not-tolerated-iv-lorazepam-once": PrnCase(
        source=PAPER_IV,
        event="restlessness",
        minute=60,
        given=PREMEDS,
        prn_id="lorazepam-iv",
        allowed=True,
        next_allowed=60,
        given_mg=0.5,
        remaining_mg=1.5,
        response=AdverseResponse.PRN,
        recommended="lorazepam-iv",
        can_take_oral=False,
    ),
    "restlessness-second-iv-lorazepam-refused": PrnCase(
        source=f"{PAPER_IV} ('once')",
        event="restlessness",
        minute=120,
        given=[*PREMEDS, dose("lorazepam", 60, route=Route.IV)],
        prn_id="lorazepam-iv",
        allowed=False,
        next_allowed=None,
        given_mg=1.0,
        remaining_mg=1.0,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=[
            "adverse_events.prn.lorazepam-oral.only_if_oral_tolerated",
            "adverse_events.prn.lorazepam-iv.max_doses",
        ],
        can_take_oral=False,
    ),
    "restlessness-oral-after-iv-waits-the-interval-across-routes": PrnCase(
        source="kip choice: adverse_events.interval_across_routes",
        event="restlessness",
        minute=200,
        given=[*PREMEDS, dose("lorazepam", 60, route=Route.IV)],
        prn_id="lorazepam-oral",
        allowed=False,
        next_allowed=300,
        given_mg=1.0,
        remaining_mg=1.0,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=["adverse_events.prn.lorazepam-oral.interval_minutes"],
    ),
    "restlessness-oral-after-iv-allowed-when-routes-apart": PrnCase(
        source="kip choice: adverse_events.interval_across_routes (set to false here)",
        event="restlessness",
        minute=200,
        given=[*PREMEDS, dose("lorazepam", 60, route=Route.IV)],
        prn_id="lorazepam-oral",
        allowed=True,
        next_allowed=200,
        given_mg=1.0,
        remaining_mg=1.0,
        response=AdverseResponse.PRN,
        recommended="lorazepam-oral",
        protocol=variant(interval_across_routes=False),
    ),
    "restlessness-premed-counts-toward-interval": PrnCase(
        source="kip choice: adverse_events.premedication_counts_toward_interval (set to true here)",
        event="restlessness",
        minute=60,
        given=PREMEDS,
        prn_id="lorazepam-oral",
        allowed=False,
        next_allowed=210,
        given_mg=0.5,
        remaining_mg=1.5,
        response=AdverseResponse.PHYSICIAN_EVALUATION,
        recommended=None,
        blocked_by=["adverse_events.prn.lorazepam-oral.interval_minutes"],
        protocol=variant(premedication_counts_toward_interval=True),
    ),
}


@pytest.mark.parametrize("case", PRN_CASES.values(), ids=PRN_CASES.keys())
def test_prn_scenarios(case: PrnCase) -> None:
    result = ask(
        case.event,
        case.minute,
        case.given,
        protocol=case.protocol,
        can_take_oral=case.can_take_oral,
    )
    opt = option(result, case.prn_id)
    assert opt.allowed_now is case.allowed
    assert opt.next_allowed_minute == case.next_allowed
    assert opt.given_mg == case.given_mg
    assert opt.remaining_mg == case.remaining_mg
    assert result.response is case.response
    assert result.recommended_prn == case.recommended
    assert result.infusion_action is InfusionAction.HOLD
    escalated = case.response is AdverseResponse.PHYSICIAN_EVALUATION
    assert result.physician_evaluation_required is escalated
    assert result.physician_options == (ALL_OPTIONS if escalated else [])
    assert set(case.blocked_by) <= rules(result)
    if escalated:
        # The nurse is told why the as-needed medication was not given.
        assert any("not allowed now" in r.text for r in result.reasons)


def test_prn_options_follow_the_rule_order_and_flags() -> None:
    # paper: oral lorazepam first; IV "if they were unable to tolerate oral medications".
    oral_ok = ask("restlessness", 60, PREMEDS)
    assert [o.id for o in oral_ok.prn] == ["lorazepam-oral", "lorazepam-iv"]
    assert [o.allowed_now for o in oral_ok.prn] == [True, False]
    no_oral = ask("restlessness", 60, PREMEDS, can_take_oral=False)
    assert [o.allowed_now for o in no_oral.prn] == [False, True]


def test_prn_option_reports_route_doses_and_cap() -> None:
    result = ask("restlessness", 720, [PREMED_LORAZEPAM, *LZ_PRN])
    oral, iv = option(result, "lorazepam-oral"), option(result, "lorazepam-iv")
    assert (oral.drug, oral.route, oral.dose_mg, oral.cap_mg) == ("lorazepam", Route.ORAL, 0.5, 2.0)
    # Premedication is not a PRN dose; only the three PRN oral doses are counted per route.
    assert (oral.doses_given, iv.doses_given) == (3, 0)
    cap_reason = next(r for r in oral.reasons if r.rule.endswith("lorazepam-oral.cap_mg"))
    assert "2 mg" in cap_reason.text and "2.5 mg" in cap_reason.text


def test_drug_names_match_case_insensitively() -> None:
    # kip choice: given[].drug is compared case-insensitively, so "Lorazepam" counts as lorazepam.
    shouted = [dose("lorazepam", -30, premed=True), *LZ_PRN]
    shouted = [d.model_copy(update={"drug": "  LORAZEPAM "}) for d in shouted]
    assert option(ask("restlessness", 720, shouted), "lorazepam-oral").given_mg == 2.0


def test_doses_older_than_the_cap_window_drop_out() -> None:
    # kip choice: adverse_events.prn.*.cap_window_hours = 24, the closed window
    # [minute - 24 h, minute]: a dose exactly 24 h old still counts.
    old = [dose("ondansetron", 0), dose("ondansetron", 360)]
    at_24h = option(ask("nausea", 1440, old), "ondansetron-oral")
    assert (at_24h.allowed_now, at_24h.given_mg) == (False, 8)
    after = option(ask("nausea", 1440.5, old), "ondansetron-oral")
    assert (after.allowed_now, after.given_mg) == (True, 4)


# --- physician evaluation, self-resolution, stop, unlisted ---------------------------------------


@pytest.mark.parametrize(
    "term", ["tachycardia", "hypertension", "somnolence", "headache", "hallucinations"]
)
def test_other_side_effects_need_a_physician_evaluation(term: str) -> None:
    assert term in PAPER_OTHER  # the paper names each of these terms
    result = ask(term, 90, PREMEDS)
    assert result.response is AdverseResponse.PHYSICIAN_EVALUATION
    assert result.physician_evaluation_required is True
    assert result.infusion_action is InfusionAction.HOLD
    assert result.physician_options == ALL_OPTIONS
    assert result.prn == []
    assert result.recommended_prn is None
    assert result.listed is True
    assert f"adverse_events.events.{term}" in rules(result)
    assert "adverse_events.physician_options" in rules(result)


SELF_RESOLVED = {
    "headache": (PAPER_SELF, "headache", Category.NEUROLOGICAL),
    "nausea-no-prn": (PAPER_SELF, "nausea", Category.GASTROINTESTINAL),
    "tachycardia": (PAPER_SELF, "tachycardia", Category.CARDIOVASCULAR),
}


@pytest.mark.parametrize(("source", "term", "category"), SELF_RESOLVED.values(), ids=SELF_RESOLVED)
def test_self_resolved_needs_no_intervention(source: str, term: str, category: Category) -> None:
    result = ask(term, 45, PREMEDS, self_resolved=True)
    assert result.response is AdverseResponse.NONE
    assert result.infusion_action is InfusionAction.CONTINUE
    assert result.physician_evaluation_required is False
    assert (result.prn, result.physician_options, result.recommended_prn) == ([], [], None)
    assert result.category is category
    assert any(source in r.text for r in result.reasons)


STOPS = {
    "anaphylaxis": ("kip choice: adverse_events.events.anaphylaxis.response", "anaphylaxis", False),
    "laryngospasm": (
        "kip choice: adverse_events.events.laryngospasm.response",
        "laryngospasm",
        False,
    ),
    "respiratory-depression": (
        "kip choice: adverse_events.events.respiratory_depression.response",
        "Respiratory Depression",
        False,
    ),
    "anaphylaxis-self-resolved-still-stops": (
        "kip choice: a stop event is not waived by self_resolved",
        "anaphylaxis",
        True,
    ),
}


@pytest.mark.parametrize(("source", "term", "self_resolved"), STOPS.values(), ids=STOPS)
def test_life_threatening_events_stop_the_infusion(
    source: str, term: str, self_resolved: bool
) -> None:
    result = ask(term, 30, PREMEDS, self_resolved=self_resolved)
    assert result.response is AdverseResponse.STOP
    assert result.infusion_action is InfusionAction.STOP
    assert result.physician_evaluation_required is True
    # kip choice: after a stop the evaluation cannot lead to "continue" or "reduce".
    assert result.physician_options == [PhysicianOption.PRN_MEDICATION, PhysicianOption.STOP]
    assert f"adverse_events.events.{result.event}.response" in rules(result)


def test_unlisted_term_is_other_and_needs_a_physician() -> None:
    # kip choice: adverse_events.unknown_event (the paper's list is "such as ...", not closed).
    result = ask("Tinnitus", 100, PREMEDS)
    assert (result.event, result.category, result.listed) == ("tinnitus", Category.OTHER, False)
    assert result.response is AdverseResponse.PHYSICIAN_EVALUATION
    assert result.physician_evaluation_required is True
    assert result.infusion_action is InfusionAction.HOLD
    assert result.physician_options == ALL_OPTIONS
    assert "adverse_events.unknown_event" in rules(result)


def test_unlisted_term_without_an_unknown_event_rule_still_gets_a_physician() -> None:
    # kip choice: a nurse is never left without a next step, even if the protocol omits the rule.
    result = ask("tinnitus", 100, protocol=variant(unknown_event=None))
    assert result.category is Category.OTHER
    assert result.response is AdverseResponse.PHYSICIAN_EVALUATION
    assert result.physician_evaluation_required is True


def test_terms_are_normalised() -> None:
    result = ask("  Respiratory   depression ", 10)
    assert (result.event, result.listed) == ("respiratory_depression", True)


# --- Table 5 categories ----------------------------------------------------------------------

TABLE_5 = {
    "hypertension": Category.CARDIOVASCULAR,
    "tachycardia": Category.CARDIOVASCULAR,
    "nausea": Category.GASTROINTESTINAL,
    "vomiting": Category.GASTROINTESTINAL,
    "stiffness": Category.MUSCULAR,
    "spasms": Category.MUSCULAR,
    "headache": Category.NEUROLOGICAL,
    "dizziness": Category.NEUROLOGICAL,
    "somnolence": Category.NEUROLOGICAL,
    "diplopia": Category.OPHTHALMOLOGIC,
    "anxiety": Category.PSYCHIATRIC,
    "depression": Category.PSYCHIATRIC,
    "dissociation": Category.PSYCHIATRIC,
    "hallucinations": Category.PSYCHIATRIC,
    "laryngospasm": Category.RESPIRATORY,
    "respiratory depression": Category.RESPIRATORY,
    "rash": Category.SKIN,
    "anaphylaxis": Category.ANAPHYLAXIS,
}


@pytest.mark.parametrize(("term", "category"), TABLE_5.items(), ids=TABLE_5)
def test_table_5_categories(term: str, category: Category) -> None:
    # paper, Table 5: "Type of adverse events" rows and the terms listed in each.
    assert category_of(PROTOCOL, term) is category
    result = ask(term, 30)
    assert (result.category, result.listed) == (category, True)


def test_category_of_unlisted_term_is_other() -> None:
    assert category_of(PROTOCOL, "tinnitus") is Category.OTHER
    assert category_of(variant(unknown_event=None), "tinnitus") is Category.OTHER


# --- bad input -------------------------------------------------------------------------------


def test_dose_after_the_event_minute_is_refused() -> None:
    late = [PREMED_ONDANSETRON, dose("ondansetron", 61)]
    with pytest.raises(InputError, match=r"^given\[1\]\.minute: 61 is after the event minute 60"):
        ask("nausea", 60, late)


def test_dose_at_the_event_minute_is_accepted() -> None:
    assert option(ask("nausea", 60, [dose("ondansetron", 60)]), "ondansetron-oral").given_mg == 4


BAD_JSON = {
    "dose-as-text": (
        '{"event": "nausea", "minute": 60, "given": '
        '[{"drug": "ondansetron", "route": "oral", "dose_mg": "4", "minute": -30}]}',
        r"^given\[0\]\.dose_mg: ",
    ),
    "negative-minute": ('{"event": "nausea", "minute": -1}', r"^minute: "),
    "unknown-route": (
        '{"event": "nausea", "minute": 60, "given": '
        '[{"drug": "ondansetron", "route": "patch", "dose_mg": 4, "minute": -30}]}',
        r"^given\[0\]\.route: ",
    ),
    "misspelt-field": (
        '{"event": "nausea", "minute": 60, "given": '
        '[{"drug": "ondansetron", "route": "oral", "dose": 4, "minute": -30}]}',
        r"^given\[0\]\.",
    ),
    "zero-dose": (
        '{"event": "nausea", "minute": 60, "given": '
        '[{"drug": "ondansetron", "route": "oral", "dose_mg": 0, "minute": -30}]}',
        r"^given\[0\]\.dose_mg: ",
    ),
    "minute-as-text": ('{"event": "nausea", "minute": "60"}', r"^minute: "),
    "missing-event": ('{"minute": 60}', r"^event: is required$"),
}


@pytest.mark.parametrize(("text", "pattern"), BAD_JSON.values(), ids=BAD_JSON)
def test_strict_parsing_names_the_field(text: str, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern):
        parse_request(AdverseEventRequest, text)


def test_late_dose_in_parsed_json_is_refused_by_decide() -> None:
    request = parse_request(
        AdverseEventRequest,
        '{"event": "restlessness", "minute": 60, "given": ['
        '{"drug": "lorazepam", "route": "oral", "dose_mg": 0.5, "minute": -30, '
        '"premedication": true},'
        '{"drug": "lorazepam", "route": "iv", "dose_mg": 0.5, "minute": 90}]}',
    )
    assert request.given[1].route is Route.IV
    with pytest.raises(InputError, match=r"^given\[1\]\.minute: "):
        decide(request, PROTOCOL)


def test_blank_event_is_refused() -> None:
    with pytest.raises(InputError, match=r"^event: "):
        ask("   ", 10)


def test_result_is_stamped_with_the_protocol() -> None:
    result = ask("nausea", 60, PREMEDS)
    assert (result.protocol, result.protocol_version) == ("mskcc-2021", PROTOCOL.version)


# --- invariant: caps and intervals hold for any sequence of requests ----------------------------

# Minutes between requests: near the 240/360-minute intervals often, anything in between too.
DELTA = st.one_of(
    st.sampled_from([0.0, 1.0, 119.0, 120.0, 239.0, 240.0, 359.0, 360.0]),
    st.floats(min_value=0, max_value=600, allow_nan=False, allow_infinity=False),
)
# What the caller asks for: the recommended option (the usual nurse) or a given option index
# (a caller that insists); oral intake is mostly tolerated, so doses pile up toward the caps.
PICK = st.sampled_from(["recommended", "recommended", 0, 1])
STEP = st.tuples(DELTA, PICK, st.sampled_from([True, True, True, False]))


def _dec(x: float) -> Decimal:
    return Decimal(str(x))


@settings(max_examples=500, deadline=None)
@given(
    event=st.sampled_from(["restlessness", "nausea", "vomiting"]),
    steps=st.lists(STEP, max_size=25),
    premedicated=st.booleans(),
    premed_counts_toward_cap=st.booleans(),
    premed_counts_toward_interval=st.booleans(),
    across_routes=st.booleans(),
)
def test_doses_given_only_when_allowed_never_break_caps_or_intervals(
    event: str,
    steps: list[tuple[float, str | int, bool]],
    premedicated: bool,
    premed_counts_toward_cap: bool,
    premed_counts_toward_interval: bool,
    across_routes: bool,
) -> None:
    protocol = variant(
        premedication_counts_toward_cap=premed_counts_toward_cap,
        premedication_counts_toward_interval=premed_counts_toward_interval,
        interval_across_routes=across_routes,
    )
    # Each dose with the PRN option it was given as (None for premedication), in order given.
    history: list[tuple[GivenDose, str | None]] = (
        [(d, None) for d in PREMEDS] if premedicated else []
    )
    minute = 0.0
    for delta, pick, can_take_oral in steps:
        minute += delta
        given_so_far = [d for d, _ in history]
        result = ask(event, minute, given_so_far, protocol=protocol, can_take_oral=can_take_oral)
        for opt in result.prn:
            if opt.allowed_now:
                assert opt.cap_mg is not None
                assert _dec(opt.given_mg) + _dec(opt.dose_mg) <= _dec(opt.cap_mg)
        # Never without a next step: a PRN to give, or a physician.
        assert (result.recommended_prn is not None) or result.physician_evaluation_required
        if pick == "recommended":
            wanted = option(result, result.recommended_prn) if result.recommended_prn else None
        else:
            wanted = result.prn[int(pick) % len(result.prn)]
        if wanted is not None and wanted.allowed_now:
            given_dose = dose(wanted.drug, minute, route=wanted.route, mg=wanted.dose_mg)
            history.append((given_dose, wanted.id))

    for i, (d, prn_id) in enumerate(history):
        if prn_id is None:
            continue
        med = protocol.prn_medication(prn_id)
        assert med.cap_mg is not None
        # Any closed window of cap_window_hours ending at this dose (later doses at the same
        # minute included) holds at most cap_mg.
        window_start = _dec(d.minute) - med.cap_window_hours * 60
        in_window = [
            x.dose_mg
            for x, _ in history
            if x.drug == med.drug
            and window_start <= _dec(x.minute) <= _dec(d.minute)
            and (premed_counts_toward_cap or not x.premedication)
        ]
        assert sum((_dec(mg) for mg in in_window), Decimal(0)) <= _dec(med.cap_mg)
        if med.interval_minutes is not None:
            for x, _ in history[:i]:
                if (
                    x.drug == med.drug
                    and (across_routes or x.route is d.route)
                    and (premed_counts_toward_interval or not x.premedication)
                ):
                    assert _dec(d.minute) - _dec(x.minute) >= med.interval_minutes
        if med.max_doses is not None:
            same_route = [
                x for x, pid in history[: i + 1] if pid is not None and x.route is d.route
            ]
            assert len([x for x in same_route if x.drug == med.drug]) <= med.max_doses
