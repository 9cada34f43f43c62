"""The titrate decision against the paper's infusion and adverse-event protocol and kip's choices.

Every scenario names its source: a sentence of Oh et al. 2021 (quoted once below and cited by name),
the ISMP 2020 smart-pump guidance as summarised in the project's reference notes ("Dose limits as
smart pumps do them"), or "kip choice: <protocol key>" for a setting the paper leaves open.
"""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kip.protocol.common import Vitals, parse_request
from kip.protocol.errors import InputError
from kip.protocol.loader import load, parse
from kip.protocol.model import (
    InfusionAction,
    LimitKind,
    PhysicianOption,
    Protocol,
    Rate,
    RateUnit,
    TitrationMode,
)
from kip.protocol.titrate import (
    Action,
    Classification,
    RateChange,
    TitrateRequest,
    TitrateResult,
    decide,
)

MSKCC = load("mskcc-2021")

FIRST = (
    "paper: 'The first ketamine infusion started at 10 mg/h and was titrated by 5 mg/h to a "
    "maximum of 25 mg/h, as tolerated.'"
)
SECOND_THIRD = (
    "paper: 'All patients were eligible for a second and third infusion 1 week after the previous "
    "one, starting at 25 mg/h and titrated by 5 mg/h to a maximum of 40 mg/h.'"
)
MAINTENANCE = (
    "paper: 'Responders continued with infusions roughly every 4 weeks and were titrated to a "
    "maximum dose of 70 mg/h, as tolerated.'"
)
FOUR_HOURS = "paper: 'The IV ketamine protocol consists of a series of 4-hour infusion sessions.'"
NAUSEA = "paper: 'If they developed nausea, they were given oral ondansetron 4 mg every 6 hours'"
RESTLESS = (
    "paper: 'If patients developed restlessness, they were given oral lorazepam 0.5 mg every 4 "
    "hours up to 2 mg as needed'"
)
PHYSICIAN = (
    "paper: 'If they developed other side effects, such as tachycardia, hypertension, "
    "somnolence, headache, or hallucinations, a physician evaluation was performed, which led to "
    "administration of as-needed medications, continuing with the infusion, or "
    "decreasing/discontinuing the infusion.'"
)
MONITORED = (
    "paper: 'Patients' body temperatures, blood pressures, pulse rates, and oxygen saturations "
    "were continuously monitored during each infusion session.'"
)
ISMP_HARD = "reference.md (ISMP): 'the program maximum is a hard limit' (refused, no override)"
ISMP_STEP = (
    "reference.md (ISMP): 'a step larger than the protocol's step is a soft-limit deviation'"
)
ISMP_PHASE = "reference.md (ISMP): 'the phase maximum (25, 40, 70 mg/h) is the natural limit'"
ISMP_TENFOLD = "reference.md (ISMP): 'flag a tenfold change from the previous rate'"


def ask(
    infusion: int = 1,
    elapsed: float = 0,
    history: tuple[tuple[float, float], ...] = (),
    events: tuple[str, ...] = (),
    decision: PhysicianOption | None = None,
    decision_minute: float | None = None,
    vitals: Vitals | None = None,
    proposed: float | None = None,
    weight: float | None = None,
    start: float | None = None,
    protocol: Protocol = MSKCC,
) -> TitrateResult:
    request = TitrateRequest(
        infusion_number=infusion,
        elapsed_minutes=elapsed,
        rate_history=[RateChange(minute=m, rate_mg_per_h=r) for m, r in history],
        active_adverse_events=list(events),
        physician_decision=decision,
        physician_decision_minute=decision_minute,
        vitals=vitals,
        proposed_rate_mg_per_h=proposed,
        patient_weight_kg=weight,
        start_rate_mg_per_h=start,
    )
    return decide(request, protocol)


def rules(result: TitrateResult) -> list[str]:
    return [r.rule for r in result.reasons]


def with_phase(protocol: Protocol, index: int, **update: Any) -> Protocol:
    phases = list(protocol.phases)
    phases[index] = phases[index].model_copy(update=update)
    return protocol.model_copy(update={"phases": phases})


# The first infusion capped at 0.35 mg/kg/h as well as 25 mg/h (the lower wins), with a per-kg
# program maximum: a small weight-based variant of the study's protocol.
WEIGHT_BASED = with_phase(
    MSKCC.model_copy(
        update={
            "limits": MSKCC.limits.model_copy(
                update={"hard_max_rate": [Rate(value=1.0, unit=RateUnit.MG_PER_KG_PER_H)]}
            )
        }
    ),
    0,
    max_rate=[Rate(value=0.35, unit=RateUnit.MG_PER_KG_PER_H), Rate(value=25)],
)

# A per-kg step of 0.1 mg/kg/h: 0.1 * 70 is 7.000000000000001 in binary floating point.
PER_KG_STEP = with_phase(
    MSKCC,
    0,
    start_rate=Rate(value=0.1, unit=RateUnit.MG_PER_KG_PER_H),
    step=Rate(value=0.1, unit=RateUnit.MG_PER_KG_PER_H),
)


# --------------------------------------------------------------------------------------------------
# The recommended action


ACTION_CASES = [
    # FIRST: "started at 10 mg/h"
    pytest.param(dict(infusion=1, elapsed=0), Action.START, 10.0, 0.0, 30.0, id="first-starts-10"),
    # FIRST: "titrated by 5 mg/h"; kip choice: phases.first.step_interval_minutes = 30
    pytest.param(
        dict(infusion=1, elapsed=29, history=((0, 10),)),
        Action.HOLD,
        10.0,
        30.0,
        30.0,
        id="first-no-step-at-29",
    ),
    pytest.param(
        dict(infusion=1, elapsed=30, history=((0, 10),)),
        Action.STEP_UP,
        15.0,
        30.0,
        60.0,
        id="first-steps-to-15-at-30",
    ),
    # kip choice: phases.first.step_interval_minutes counts from the last change, not the last
    # charted entry (the same rate charted at 15 is not a change)
    pytest.param(
        dict(infusion=1, elapsed=45, history=((0, 10), (15, 10), (30, 15), (45, 15))),
        Action.HOLD,
        15.0,
        60.0,
        60.0,
        id="first-interval-from-last-change",
    ),
    # FIRST: "to a maximum of 25 mg/h" — 20 + 5 reaches it, no further step is due
    pytest.param(
        dict(infusion=1, elapsed=90, history=((0, 10), (30, 15), (60, 20))),
        Action.STEP_UP,
        25.0,
        90.0,
        None,
        id="first-steps-to-max-25",
    ),
    pytest.param(
        dict(infusion=1, elapsed=150, history=((0, 10), (30, 15), (60, 20), (90, 25))),
        Action.HOLD,
        25.0,
        150.0,
        None,
        id="first-holds-at-max-25",
    ),
    # FIRST: "to a maximum of 25 mg/h" — an off-protocol 22 steps only to the maximum
    pytest.param(
        dict(infusion=1, elapsed=60, history=((0, 22),)),
        Action.STEP_UP,
        25.0,
        60.0,
        None,
        id="first-step-capped-at-25",
    ),
    # FIRST: a rate above the maximum is brought back to it
    pytest.param(
        dict(infusion=1, elapsed=60, history=((0, 30),)),
        Action.REDUCE,
        25.0,
        60.0,
        None,
        id="first-above-max-reduced",
    ),
    # SECOND_THIRD: "starting at 25 mg/h ... to a maximum of 40 mg/h"
    pytest.param(dict(infusion=2, elapsed=0), Action.START, 25.0, 0.0, 30.0, id="second-starts-25"),
    pytest.param(dict(infusion=3, elapsed=0), Action.START, 25.0, 0.0, 30.0, id="third-starts-25"),
    pytest.param(
        dict(infusion=2, elapsed=120, history=((0, 25), (30, 30), (60, 35), (90, 40))),
        Action.HOLD,
        40.0,
        120.0,
        None,
        id="second-caps-at-40",
    ),
    pytest.param(
        dict(infusion=3, elapsed=100, history=((0, 25), (30, 30), (60, 35))),
        Action.STEP_UP,
        40.0,
        100.0,
        None,
        id="third-steps-to-40",
    ),
    # MAINTENANCE: "titrated to a maximum dose of 70 mg/h";
    # kip choice: phases.maintenance.start_rate
    pytest.param(dict(infusion=4, elapsed=0), Action.START, 25.0, 0.0, 30.0, id="fourth-starts-25"),
    pytest.param(
        dict(infusion=9, elapsed=200, history=((0, 60), (170, 65))),
        Action.STEP_UP,
        70.0,
        200.0,
        None,
        id="maintenance-steps-to-70",
    ),
    pytest.param(
        dict(infusion=9, elapsed=200, history=((0, 70),)),
        Action.HOLD,
        70.0,
        200.0,
        None,
        id="maintenance-caps-at-70",
    ),
    # kip choice: phases.*.start_rule — plan's start rate (e.g. previous maximum tolerated) is used,
    # but never above the phase maximum
    pytest.param(dict(infusion=4, start=45.0), Action.START, 45.0, 0.0, 30.0, id="plan-start-45"),
    pytest.param(
        dict(infusion=1, start=40.0), Action.START, 25.0, 0.0, None, id="plan-start-capped"
    ),
    # FOUR_HOURS: the session is 240 minutes
    pytest.param(
        dict(infusion=1, elapsed=240, history=((0, 10), (30, 15))),
        Action.END_SESSION,
        0.0,
        240.0,
        None,
        id="session-ends-at-240",
    ),
    pytest.param(
        dict(infusion=1, elapsed=239, history=((0, 10), (30, 15))),
        Action.STEP_UP,
        20.0,
        239.0,
        None,
        id="step-at-239-still-in-session",
    ),
    # FOUR_HOURS: a step due at minute 240 would fall at the session's end, so it is not offered
    pytest.param(
        dict(infusion=1, elapsed=220, history=((0, 10), (210, 15))),
        Action.HOLD,
        15.0,
        220.0,
        None,
        id="no-step-due-at-session-end",
    ),
    # kip choice: adverse_events.physician_options — a stopped infusion is not restarted by kip
    pytest.param(
        dict(infusion=1, elapsed=120, history=((0, 10), (30, 0))),
        Action.HOLD,
        0.0,
        120.0,
        None,
        id="stopped-stays-stopped",
    ),
]


@pytest.mark.parametrize(("kwargs", "action", "rate", "at_minute", "next_review"), ACTION_CASES)
def test_action(
    kwargs: dict[str, Any],
    action: Action,
    rate: float,
    at_minute: float,
    next_review: float | None,
) -> None:
    result = ask(**kwargs)
    assert result.action is action
    assert result.rate_mg_per_h == rate
    assert result.at_minute == at_minute
    assert result.next_review_minute == next_review
    assert result.protocol == "mskcc-2021"
    assert result.reasons, "every decision gives its reasons"


@pytest.mark.parametrize(
    ("infusion", "phase", "max_rate"),
    [
        pytest.param(1, "first", 25.0, id="first-max-25"),  # FIRST
        pytest.param(2, "induction", 40.0, id="second-max-40"),  # SECOND_THIRD
        pytest.param(3, "induction", 40.0, id="third-max-40"),  # SECOND_THIRD
        pytest.param(4, "maintenance", 70.0, id="fourth-max-70"),  # MAINTENANCE
        pytest.param(40, "maintenance", 70.0, id="fortieth-max-70"),  # MAINTENANCE
    ],
)
def test_phase_and_limits(infusion: int, phase: str, max_rate: float) -> None:
    result = ask(infusion=infusion)
    assert result.phase == phase
    assert result.max_rate_mg_per_h == max_rate
    # ISMP_HARD: the highest rate the paper uses anywhere, 70 mg/h, is the program's hard limit
    assert result.hard_limit_mg_per_h == 70.0


def test_reason_keys_for_a_step() -> None:
    # FIRST; kip choice: phases.first.step_interval_minutes
    result = ask(infusion=1, elapsed=30, history=((0, 10),))
    assert rules(result) == ["phases.first.step_interval_minutes", "phases.first.step"]


def test_session_end_reason() -> None:
    # FOUR_HOURS
    result = ask(infusion=2, elapsed=250, history=((0, 25),))
    assert rules(result) == ["phases.induction.session_minutes"]
    assert result.rate_mg_per_kg_per_h is None


def test_hold_at_max_says_so() -> None:
    # FIRST: "to a maximum of 25 mg/h"
    result = ask(infusion=1, elapsed=150, history=((0, 10), (30, 15), (60, 20), (90, 25)))
    assert rules(result) == ["phases.first.max_rate"]
    assert "maximum" in result.reasons[0].text


# --------------------------------------------------------------------------------------------------
# Adverse events


EVENT_CASES = [
    # NAUSEA: treated with ondansetron; kip choice: adverse_events.events.nausea.infusion_action
    pytest.param(
        dict(events=("nausea",)),
        Action.HOLD,
        20.0,
        ["adverse_events.events.nausea.infusion_action"],
        id="nausea-holds",
    ),
    # RESTLESS; kip choice: adverse_events.events.restlessness.infusion_action
    pytest.param(
        dict(events=("Restlessness ",)),
        Action.HOLD,
        20.0,
        ["adverse_events.events.restlessness.infusion_action"],
        id="restlessness-holds-term-normalised",
    ),
    # PHYSICIAN: "a physician evaluation was performed"
    pytest.param(
        dict(events=("tachycardia",)),
        Action.AWAIT_PHYSICIAN,
        20.0,
        ["adverse_events.events.tachycardia.response"],
        id="tachycardia-awaits-physician",
    ),
    # PHYSICIAN: "decreasing ... the infusion"; kip choice: adverse_events.reduce_by_steps = 1
    pytest.param(
        dict(events=("tachycardia",), decision=PhysicianOption.REDUCE),
        Action.REDUCE,
        15.0,
        ["adverse_events.events.tachycardia.response", "adverse_events.reduce_by_steps"],
        id="tachycardia-reduce-by-5",
    ),
    # PHYSICIAN: "discontinuing the infusion"
    pytest.param(
        dict(events=("tachycardia",), decision=PhysicianOption.STOP),
        Action.STOP,
        0.0,
        ["adverse_events.events.tachycardia.response", "adverse_events.physician_options"],
        id="tachycardia-stop",
    ),
    # PHYSICIAN: "continuing with the infusion" — continued, but not stepped up while active
    pytest.param(
        dict(events=("hallucinations",), decision=PhysicianOption.CONTINUE),
        Action.HOLD,
        20.0,
        ["adverse_events.events.hallucinations.response", "adverse_events.physician_options"],
        id="hallucinations-continue-holds",
    ),
    # PHYSICIAN: "administration of as-needed medications"
    pytest.param(
        dict(events=("headache",), decision=PhysicianOption.PRN_MEDICATION),
        Action.HOLD,
        20.0,
        ["adverse_events.events.headache.response", "adverse_events.physician_options"],
        id="headache-prn-holds",
    ),
    # kip choice: adverse_events.unknown_event — an unlisted term goes to a physician
    pytest.param(
        dict(events=("sneezing",)),
        Action.AWAIT_PHYSICIAN,
        20.0,
        ["adverse_events.unknown_event.response"],
        id="unlisted-event-awaits-physician",
    ),
    # kip choice: adverse_events.events.hypoxemia.infusion_action = stop
    pytest.param(
        dict(events=("hypoxemia", "nausea")),
        Action.STOP,
        0.0,
        ["adverse_events.events.hypoxemia.infusion_action"],
        id="hypoxemia-stops-whatever-else",
    ),
    # MONITORED: SpO2 88 is below kip's alert of 92 (kip choice: monitoring.alerts) → hypoxemia
    pytest.param(
        dict(vitals=Vitals(spo2_pct=88)),
        Action.STOP,
        0.0,
        ["monitoring.alerts", "adverse_events.events.hypoxemia.infusion_action"],
        id="spo2-88-stops",
    ),
    # MONITORED: pulse 130 above kip's alert of 120 → tachycardia → PHYSICIAN
    pytest.param(
        dict(vitals=Vitals(heart_rate_bpm=130, spo2_pct=97)),
        Action.AWAIT_PHYSICIAN,
        20.0,
        ["monitoring.alerts", "adverse_events.events.tachycardia.response"],
        id="pulse-130-awaits-physician",
    ),
    # MONITORED: normal readings trigger nothing, titration goes on (FIRST)
    pytest.param(
        dict(vitals=Vitals(heart_rate_bpm=80, spo2_pct=97, systolic_mmhg=120)),
        Action.STEP_UP,
        25.0,
        ["phases.first.step_interval_minutes", "phases.first.step", "phases.first.max_rate"],
        id="normal-vitals-step-up",
    ),
    # PHYSICIAN: a physician's stop is followed even if the event has since resolved
    pytest.param(
        dict(decision=PhysicianOption.STOP),
        Action.STOP,
        0.0,
        ["adverse_events.physician_options"],
        id="physician-stop-always-stops",
    ),
]


@pytest.mark.parametrize(("kwargs", "action", "rate", "rule_keys"), EVENT_CASES)
def test_adverse_events(
    kwargs: dict[str, Any], action: Action, rate: float, rule_keys: list[str]
) -> None:
    # Infusion 1 at 20 mg/h since minute 60; at minute 100 a step to 25 would be due.
    result = ask(infusion=1, elapsed=100, history=((0, 10), (30, 15), (60, 20)), **kwargs)
    assert result.action is action
    assert result.rate_mg_per_h == rate
    assert rules(result) == rule_keys


def test_vitals_name_the_events_they_trigger() -> None:
    # MONITORED; kip choice: monitoring.alerts (systolic > 180 and diastolic > 110 → hypertension)
    result = ask(
        infusion=2,
        elapsed=45,
        history=((0, 25),),
        vitals=Vitals(systolic_mmhg=190, diastolic_mmhg=115, temperature_c=38.5),
    )
    assert result.events_triggered_by_vitals == ["hypertension", "fever"]
    assert result.action is Action.AWAIT_PHYSICIAN
    assert result.rate_mg_per_h == 25.0


def test_reduce_from_5_stops() -> None:
    # PHYSICIAN: "decreasing/discontinuing"; 5 - 5 leaves nothing to run
    result = ask(
        infusion=1,
        elapsed=20,
        history=((0, 5),),
        events=("somnolence",),
        decision=PhysicianOption.REDUCE,
    )
    assert result.action is Action.STOP
    assert result.rate_mg_per_h == 0.0


def test_reduce_is_not_repeated_once_applied() -> None:
    # kip choice: adverse_events.reduce_by_steps counts from the rate at physician_decision_minute
    before = ask(
        infusion=2,
        elapsed=70,
        history=((0, 25), (30, 30), (60, 35)),
        events=("dizziness",),
        decision=PhysicianOption.REDUCE,
        decision_minute=70,
    )
    assert (before.action, before.rate_mg_per_h) == (Action.REDUCE, 30.0)
    after = ask(
        infusion=2,
        elapsed=80,
        history=((0, 25), (30, 30), (60, 35), (72, 30)),
        events=("dizziness",),
        decision=PhysicianOption.REDUCE,
        decision_minute=70,
    )
    assert (after.action, after.rate_mg_per_h) == (Action.HOLD, 30.0)


def test_event_before_start_does_not_start() -> None:
    # NAUSEA; kip choice: adverse_events.events.nausea.infusion_action — no start while it lasts
    result = ask(infusion=1, elapsed=0, events=("nausea",))
    assert (result.action, result.rate_mg_per_h) == (Action.HOLD, 0.0)


def test_hold_above_max_comes_down_to_max() -> None:
    # FIRST: "to a maximum of 25 mg/h" holds even while an event holds titration
    result = ask(infusion=1, elapsed=60, history=((0, 30),), events=("nausea",))
    assert (result.action, result.rate_mg_per_h) == (Action.REDUCE, 25.0)
    waiting = ask(infusion=1, elapsed=60, history=((0, 30),), events=("headache",))
    assert (waiting.action, waiting.rate_mg_per_h) == (Action.AWAIT_PHYSICIAN, 25.0)


def test_unlisted_event_without_a_rule_needs_physician() -> None:
    # kip choice: adverse_events.unknown_event — absent, an unlisted term still goes to a physician
    bare = MSKCC.model_copy(
        update={"adverse_events": MSKCC.adverse_events.model_copy(update={"unknown_event": None})}
    )
    result = ask(infusion=1, elapsed=40, history=((0, 10),), events=("sneezing",), protocol=bare)
    assert result.action is Action.AWAIT_PHYSICIAN
    assert rules(result) == ["adverse_events.unknown_event"]


def test_event_that_lets_titration_continue_is_named() -> None:
    # kip choice: adverse_events.events.*.infusion_action = continue lets titration go on
    events = [
        e.model_copy(update={"infusion_action": InfusionAction.CONTINUE})
        if e.term == "nausea"
        else e
        for e in MSKCC.adverse_events.events
    ]
    lenient = MSKCC.model_copy(
        update={"adverse_events": MSKCC.adverse_events.model_copy(update={"events": events})}
    )
    result = ask(infusion=1, elapsed=30, history=((0, 10),), events=("nausea",), protocol=lenient)
    assert (result.action, result.rate_mg_per_h) == (Action.STEP_UP, 15.0)
    assert rules(result)[0] == "adverse_events.events.nausea.infusion_action"


def test_physician_decision_without_events_is_not_applied() -> None:
    # PHYSICIAN: the decision follows an evaluation of events; with none active, titration goes on
    result = ask(infusion=1, elapsed=30, history=((0, 10),), decision=PhysicianOption.REDUCE)
    assert (result.action, result.rate_mg_per_h) == (Action.STEP_UP, 15.0)
    assert rules(result)[-1] == "adverse_events.physician_options"


# PHYSICIAN: each event is evaluated; a decision covers the events evaluated, not one reported after
COVERAGE_CASES = [
    pytest.param(
        ("headache", "hallucinations"),
        PhysicianOption.CONTINUE,
        ("hallucinations",),
        Action.AWAIT_PHYSICIAN,
        10.0,
        id="new-event-after-continue-awaits",
    ),
    pytest.param(
        ("headache", "hallucinations"),
        PhysicianOption.REDUCE,
        ("hallucinations",),
        Action.AWAIT_PHYSICIAN,
        10.0,
        id="new-event-after-reduce-awaits",
    ),
    pytest.param(
        ("headache", "hallucinations"),
        PhysicianOption.CONTINUE,
        (),
        Action.HOLD,
        10.0,
        id="both-decided-hold",
    ),
    pytest.param(
        ("headache", "nausea"),
        PhysicianOption.CONTINUE,
        ("nausea",),
        Action.HOLD,
        10.0,
        id="undecided-prn-event-needs-no-physician",
    ),
    pytest.param(
        ("headache", "hallucinations"),
        PhysicianOption.STOP,
        ("hallucinations",),
        Action.STOP,
        0.0,
        id="a-stop-needs-no-second-evaluation",
    ),
]


@pytest.mark.parametrize(("events", "decision", "undecided", "action", "rate"), COVERAGE_CASES)
def test_a_decision_covers_only_the_events_evaluated(
    events: tuple[str, ...],
    decision: PhysicianOption,
    undecided: tuple[str, ...],
    action: Action,
    rate: float,
) -> None:
    request = TitrateRequest(
        infusion_number=1,
        elapsed_minutes=60,
        rate_history=[RateChange(minute=0, rate_mg_per_h=10)],
        active_adverse_events=list(events),
        physician_decision=decision,
        physician_decision_minute=40,
        undecided_adverse_events=list(undecided),
    )
    result = decide(request, MSKCC)
    assert (result.action, result.rate_mg_per_h) == (action, rate)
    if action is Action.AWAIT_PHYSICIAN:
        assert "adverse_events.events.hallucinations.response" in rules(result)
        assert "waits for its own evaluation" in result.reasons[-1].text


def test_undecided_events_must_be_active() -> None:
    with pytest.raises(InputError, match=r"^undecided_adverse_events\[0\]: is not one of active"):
        parse_request(
            TitrateRequest,
            '{"infusion_number": 1, "elapsed_minutes": 0, "active_adverse_events": ["headache"], '
            '"undecided_adverse_events": ["nausea"]}',
        )


# --------------------------------------------------------------------------------------------------
# Classifying a proposed rate


PROPOSED_CASES = [
    # ISMP_PHASE + FIRST: 30 is above the first infusion's 25; kip choice: limits.phase_max = soft
    pytest.param(
        dict(infusion=1, elapsed=150, history=((0, 10), (30, 15), (60, 20), (90, 25)), proposed=30),
        Classification.SOFT_LIMIT,
        ["limits.phase_max"],
        id="first-30-soft-phase-max",
    ),
    # ISMP_HARD: 75 is above the program's 70 — refused
    pytest.param(
        dict(infusion=1, elapsed=150, history=((0, 10), (30, 15), (60, 20), (90, 25)), proposed=75),
        Classification.REFUSED,
        ["limits.hard_max_rate", "limits.phase_max", "limits.step_above_protocol_step"],
        id="first-75-refused-hard-limit",
    ),
    # ISMP_HARD: 70.1 is above 70 even in maintenance
    pytest.param(
        dict(infusion=6, elapsed=150, history=((0, 70),), proposed=70.1),
        Classification.REFUSED,
        ["limits.hard_max_rate", "limits.phase_max"],
        id="maintenance-70.1-refused",
    ),
    # MAINTENANCE + ISMP_PHASE: 70 is within the maintenance maximum
    pytest.param(
        dict(infusion=6, elapsed=150, history=((0, 65),), proposed=70),
        Classification.OK,
        ["phases.maintenance.max_rate"],
        id="maintenance-70-ok",
    ),
    # ISMP_STEP: 25 → 35 is a 10 mg/h step where the protocol steps by 5 (MAINTENANCE)
    pytest.param(
        dict(infusion=5, elapsed=60, history=((0, 25),), proposed=35),
        Classification.SOFT_LIMIT,
        ["limits.step_above_protocol_step"],
        id="step-25-to-35-soft",
    ),
    # FIRST: a 5 mg/h step after 30 minutes is the protocol itself
    pytest.param(
        dict(infusion=1, elapsed=30, history=((0, 10),), proposed=15),
        Classification.OK,
        ["phases.first.max_rate"],
        id="step-10-to-15-at-30-ok",
    ),
    # kip choice: phases.first.step_interval_minutes, limits.step_before_interval = soft
    pytest.param(
        dict(infusion=1, elapsed=20, history=((0, 10),), proposed=15),
        Classification.SOFT_LIMIT,
        ["limits.step_before_interval"],
        id="step-before-30-min-soft",
    ),
    # ISMP_TENFOLD; kip choice: limits.tenfold_change = soft (a decrease to a tenth)
    pytest.param(
        dict(infusion=2, elapsed=60, history=((0, 30),), proposed=3),
        Classification.SOFT_LIMIT,
        ["limits.tenfold_change"],
        id="tenfold-decrease-soft",
    ),
    # ISMP_TENFOLD: 5 → 50 is both tenfold and more than a step
    pytest.param(
        dict(infusion=5, elapsed=60, history=((0, 5),), proposed=50),
        Classification.SOFT_LIMIT,
        ["limits.step_above_protocol_step", "limits.tenfold_change"],
        id="tenfold-increase-soft",
    ),
    # PHYSICIAN ("decreasing/discontinuing"): decreases and stopping are within limits
    pytest.param(
        dict(infusion=5, elapsed=60, history=((0, 40),), proposed=30),
        Classification.OK,
        ["phases.maintenance.max_rate"],
        id="decrease-ok",
    ),
    pytest.param(
        dict(infusion=5, elapsed=60, history=((0, 40),), proposed=0),
        Classification.OK,
        ["phases.maintenance.max_rate"],
        id="stop-is-not-tenfold",
    ),
    # NAUSEA; kip choice: adverse_events.events.nausea.infusion_action — no increase while active
    pytest.param(
        dict(infusion=1, elapsed=60, history=((0, 10),), events=("nausea",), proposed=15),
        Classification.SOFT_LIMIT,
        ["adverse_events.events.nausea.infusion_action"],
        id="increase-during-nausea-soft",
    ),
    # PHYSICIAN: no increase while the physician has not yet evaluated
    pytest.param(
        dict(infusion=1, elapsed=60, history=((0, 10),), events=("headache",), proposed=15),
        Classification.SOFT_LIMIT,
        ["adverse_events.events.headache.response"],
        id="increase-awaiting-physician-soft",
    ),
    # FIRST: "started at 10 mg/h"; kip choice: phases.first.start_rate — starting higher is soft
    pytest.param(
        dict(infusion=1, elapsed=0, proposed=15),
        Classification.SOFT_LIMIT,
        ["phases.first.start_rate"],
        id="start-above-start-rate-soft",
    ),
    # FOUR_HOURS; kip choice: phases.first.session_minutes — running past 240 is a deviation
    pytest.param(
        dict(infusion=1, elapsed=245, history=((0, 10),), proposed=10),
        Classification.SOFT_LIMIT,
        ["phases.first.session_minutes"],
        id="running-past-session-soft",
    ),
]


@pytest.mark.parametrize(("kwargs", "classification", "rule_keys"), PROPOSED_CASES)
def test_proposed_rate(
    kwargs: dict[str, Any], classification: Classification, rule_keys: list[str]
) -> None:
    result = ask(**kwargs)
    assert result.proposed is not None
    assert result.proposed.rate_mg_per_h == kwargs["proposed"]
    assert result.proposed.classification is classification
    assert [r.rule for r in result.proposed.reasons] == rule_keys


def test_no_proposal_no_classification() -> None:
    assert ask(infusion=1).proposed is None


def test_hard_phase_max_refuses() -> None:
    # kip choice: limits.phase_max — set to "hard", a rate above the phase maximum is refused
    strict = MSKCC.model_copy(
        update={"limits": MSKCC.limits.model_copy(update={"phase_max": LimitKind.HARD})}
    )
    result = ask(infusion=1, elapsed=150, history=((0, 25),), proposed=30, protocol=strict)
    assert result.proposed is not None
    assert result.proposed.classification is Classification.REFUSED


# --------------------------------------------------------------------------------------------------
# Weight-based protocols and exact arithmetic


def test_weight_based_cap_lower_wins() -> None:
    # kip choice (format): max_rate caps apply together and the lowest wins; 0.35 x 60 kg = 21 mg/h
    result = ask(
        infusion=1,
        elapsed=100,
        history=((0, 10), (30, 15), (60, 20)),
        weight=60,
        protocol=WEIGHT_BASED,
    )
    assert result.max_rate_mg_per_h == 21.0
    assert result.hard_limit_mg_per_h == 60.0
    assert (result.action, result.rate_mg_per_h) == (Action.STEP_UP, 21.0)
    assert result.rate_mg_per_kg_per_h == 0.35
    heavy = ask(infusion=1, weight=100, protocol=WEIGHT_BASED)
    assert heavy.max_rate_mg_per_h == 25.0  # 35 mg/h by weight, 25 mg/h absolute: 25 wins


def test_weight_based_hard_limit_refuses() -> None:
    # ISMP_HARD: limits on rate, absolute and weight-based; 1 mg/kg/h x 50 kg = 50 mg/h
    result = ask(
        infusion=5, elapsed=60, history=((0, 40),), weight=50, proposed=55, protocol=WEIGHT_BASED
    )
    assert result.hard_limit_mg_per_h == 50.0
    assert result.max_rate_mg_per_h == 50.0  # maintenance 70 mg/h, never above the hard limit
    assert result.proposed is not None
    assert result.proposed.classification is Classification.REFUSED


def test_per_kg_step_is_exact() -> None:
    # kip choice: limits.rate_increment_mg_per_h — 0.1 mg/kg/h x 70 kg is 7 mg/h, not
    # 7.000000000000001
    start = ask(infusion=1, weight=70, protocol=PER_KG_STEP)
    assert start.rate_mg_per_h == 7.0
    step = ask(infusion=1, elapsed=30, history=((0, 7.0),), weight=70, protocol=PER_KG_STEP)
    assert step.rate_mg_per_h == 14.0
    odd = ask(infusion=1, elapsed=30, history=((0, 10.3),), weight=70, protocol=PER_KG_STEP)
    assert odd.rate_mg_per_h == 17.3


def test_step_rounds_down_to_pump_increment() -> None:
    # kip choice: limits.rate_increment_mg_per_h = 0.1 — computed rates round down, never up
    result = ask(infusion=4, elapsed=30, history=((0, 12.37),))
    assert result.rate_mg_per_h == 17.3


# --------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(
            '{"infusion_number": 0, "elapsed_minutes": 0}',
            "infusion_number: must be at least 1",
            id="infusion-0",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 50, "rate_history": ['
            '{"minute": 0, "rate_mg_per_h": 10}, {"minute": 30, "rate_mg_per_h": 15}, '
            '{"minute": 40, "rate_mg_per_h": 15}, {"minute": 20, "rate_mg_per_h": 15}]}',
            "rate_history[3].minute: is before the previous entry's minute (40)",
            id="history-out-of-order",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 20, "rate_history": ['
            '{"minute": 0, "rate_mg_per_h": 10}, {"minute": 30, "rate_mg_per_h": 15}]}',
            "rate_history[1].minute: is after elapsed_minutes (20)",
            id="history-after-elapsed",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 0, "rate_history": ['
            '{"minute": 0, "rate_mg_per_h": -1}]}',
            "rate_history[0].rate_mg_per_h: must be at least 0",
            id="negative-rate",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 0, "proposed_rate_mg_per_h": -5}',
            "proposed_rate_mg_per_h: must be at least 0",
            id="negative-proposal",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 0, "proposed_rate_mg_per_h": "10"}',
            "proposed_rate_mg_per_h: must be a number",
            id="rate-as-text",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 0, "physician_decision": "pause"}',
            "physician_decision: must be one of: prn_medication, continue, reduce, stop",
            id="unknown-decision",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 0, "physician_decision_minute": 0}',
            "physician_decision_minute: given without a physician_decision",
            id="decision-minute-alone",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 10, "vitals": {"minute": 12}}',
            "vitals.minute: is after elapsed_minutes (10)",
            id="vitals-from-the-future",
        ),
        pytest.param(
            '{"infusion_number": 1, "elapsed_minutes": 0, "rate": 10}',
            "rate: is not a field here",
            id="unknown-field",
        ),
    ],
)
def test_bad_request(payload: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_request(TitrateRequest, payload)
    assert str(info.value).startswith(message)


def test_no_phase_for_infusion() -> None:
    # SECOND_THIRD: a protocol that ends after the third infusion has nothing for the fourth
    short = MSKCC.model_copy(update={"phases": MSKCC.phases[:2]})
    with pytest.raises(InputError, match=r"^infusion_number: protocol mskcc-2021 has no phase"):
        ask(infusion=4, protocol=short)


def test_weight_missing_for_weight_based_protocol() -> None:
    with pytest.raises(InputError, match=r"^patient_weight_kg: required.*phases\.first\.max_rate"):
        ask(infusion=1, protocol=WEIGHT_BASED)
    # The weight-based program maximum alone also needs it.
    with pytest.raises(InputError, match=r"^patient_weight_kg: required.*limits\.hard_max_rate"):
        ask(infusion=5, protocol=WEIGHT_BASED)


def test_weight_not_needed_for_mg_per_h() -> None:
    # The study's rates are all mg/h: no weight needed, and with one the mg/kg/h is shown beside.
    assert ask(infusion=1).rate_mg_per_kg_per_h is None
    assert ask(infusion=1, weight=80).rate_mg_per_kg_per_h == 0.125


def test_decision_not_offered_by_protocol() -> None:
    narrow = MSKCC.model_copy(
        update={
            "adverse_events": MSKCC.adverse_events.model_copy(
                update={"physician_options": [PhysicianOption.CONTINUE, PhysicianOption.STOP]}
            )
        }
    )
    with pytest.raises(InputError, match=r"^physician_decision: 'reduce' is not an option"):
        ask(events=("headache",), decision=PhysicianOption.REDUCE, protocol=narrow)


def test_weight_based_protocol_from_toml() -> None:
    # The same rules read from a protocol file (loader.parse), not only from model_copy.
    text = load_text().replace(
        'max_rate = [{ value = 25, unit = "mg/h" }]',
        'max_rate = [{ value = 0.3, unit = "mg/kg/h" }, { value = 25, unit = "mg/h" }]',
    )
    protocol = parse(text, "weight-based.toml")
    assert ask(infusion=1, weight=50, protocol=protocol).max_rate_mg_per_h == 15.0
    with pytest.raises(InputError, match=r"^patient_weight_kg"):
        ask(infusion=1, protocol=protocol)


def load_text() -> str:
    return (resources.files("kip.protocol") / "protocols" / "mskcc-2021.toml").read_text("utf-8")


def test_titration_none_holds() -> None:
    # kip choice: phases.*.titration — a phase without in-session titration keeps its rate
    fixed = with_phase(
        MSKCC, 0, titration=TitrationMode.NONE, step=None, step_interval_minutes=None
    )
    result = ask(infusion=1, elapsed=60, history=((0, 10),), proposed=15, protocol=fixed)
    assert (result.action, result.rate_mg_per_h) == (Action.HOLD, 10.0)
    assert rules(result) == ["phases.first.titration"]
    assert result.proposed is not None
    assert result.proposed.classification is Classification.SOFT_LIMIT
    # With no step, a physician's "reduce" has nothing to step down by: it stops.
    reduced = ask(
        infusion=1,
        elapsed=60,
        history=((0, 10),),
        events=("headache",),
        decision=PhysicianOption.REDUCE,
        protocol=fixed,
    )
    assert reduced.action is Action.STOP


# --------------------------------------------------------------------------------------------------
# Invariants, for any input


EVENT_TERMS = ["nausea", "restlessness", "tachycardia", "hypoxemia", "headache", "sneezing"]


@st.composite
def requests(draw: st.DrawFn) -> tuple[TitrateRequest, Protocol]:
    protocol = draw(st.sampled_from([MSKCC, WEIGHT_BASED, PER_KG_STEP]))
    weight: float | None = draw(st.floats(min_value=20, max_value=250, allow_nan=False))
    if protocol is MSKCC and draw(st.booleans()):
        weight = None
    elapsed = draw(st.floats(min_value=0, max_value=300, allow_nan=False))
    minutes = sorted(
        draw(st.lists(st.floats(min_value=0, max_value=elapsed, allow_nan=False), max_size=8))
    )
    rates = st.one_of(
        st.sampled_from([0.0, 5.0, 10.0, 25.0, 40.0, 70.0, 75.0]),
        st.floats(min_value=0, max_value=500, allow_nan=False),
    )
    history = [RateChange(minute=m, rate_mg_per_h=draw(rates)) for m in minutes]
    decision = draw(st.one_of(st.none(), st.none(), st.sampled_from(list(PhysicianOption))))
    vitals = draw(
        st.none()
        | st.none()
        | st.builds(
            Vitals,
            heart_rate_bpm=st.floats(min_value=30, max_value=200),
            spo2_pct=st.floats(min_value=86, max_value=100),
        )
    )
    request = TitrateRequest(
        infusion_number=draw(st.integers(min_value=1, max_value=12)),
        patient_weight_kg=weight,
        elapsed_minutes=elapsed,
        rate_history=history,
        active_adverse_events=draw(
            st.one_of(st.just([]), st.just([]), st.lists(st.sampled_from(EVENT_TERMS), max_size=3))
        ),
        physician_decision=decision,
        physician_decision_minute=draw(st.none() | st.just(elapsed)) if decision else None,
        vitals=vitals,
        start_rate_mg_per_h=draw(st.none() | st.floats(min_value=0.1, max_value=300)),
        proposed_rate_mg_per_h=draw(st.none() | rates),
    )
    return request, protocol


@settings(max_examples=400, deadline=None)
@given(requests())
def test_never_above_phase_max_or_hard_limit(case: tuple[TitrateRequest, Protocol]) -> None:
    request, protocol = case
    result = decide(request, protocol)
    assert 0 <= result.rate_mg_per_h <= result.max_rate_mg_per_h <= result.hard_limit_mg_per_h
    if result.action in (Action.STOP, Action.END_SESSION):
        assert result.rate_mg_per_h == 0
    if result.action in (Action.START, Action.STEP_UP, Action.REDUCE):
        # Computed rates sit on the pump's 0.1 mg/h grid: no 30.000000004.
        assert Decimal(str(result.rate_mg_per_h)) % Decimal("0.1") == 0
    if result.next_review_minute is not None:
        assert request.elapsed_minutes < result.next_review_minute < 240


@settings(max_examples=300, deadline=None)
@given(requests(), st.floats(min_value=0.01, max_value=1000))
def test_above_hard_limit_always_refused(
    case: tuple[TitrateRequest, Protocol], excess: float
) -> None:
    request, protocol = case
    hard = decide(request, protocol).hard_limit_mg_per_h
    proposing = request.model_copy(update={"proposed_rate_mg_per_h": hard + excess})
    proposed = decide(proposing, protocol).proposed
    assert proposed is not None
    assert proposed.classification is Classification.REFUSED
    assert "limits.hard_max_rate" in [r.rule for r in proposed.reasons]
