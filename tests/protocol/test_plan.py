"""Planning the next infusion: scenario tables from the study's text, and invariants.

Each case names the sentence of the paper it comes from, or "kip choice: <key>" where the paper is
silent (see docs/protocol.md).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kip.protocol.common import parse_request
from kip.protocol.errors import InputError
from kip.protocol.loader import load, parse
from kip.protocol.model import Protocol, ShortFirstRelief
from kip.protocol.plan import PlanRequest, PlanResult, decide

MSKCC = load("mskcc-2021")
DAY0 = date(2019, 3, 4)

MAN = {"sex": "male", "age_years": 55, "weight_kg": 80}
WOMAN = {"sex": "female", "age_years": 40, "weight_kg": 65, "premenopausal": True}
GOOD = {"baseline_nprs": 8, "nprs": 4, "functional_improvement": True}


def day(n: int) -> str:
    return (DAY0 + timedelta(days=n)).isoformat()


def plan(using: Protocol = MSKCC, **fields: Any) -> PlanResult:
    body: dict[str, Any] = {"on_date": day(0), "patient": MAN, "protocol": using.id} | fields
    return decide(parse_request(PlanRequest, json.dumps(body)), using)


def after(*infusion_days: int, relief: list[float], on: int, **more: Any) -> PlanResult:
    """A plan after infusions on the given days, each assessed with `relief` hours of relief.

    A negative number is relief still going on after that many hours.
    """
    history = [{"date": day(d), "max_rate_mg_per_h": 25} for d in infusion_days]
    assessments = [
        GOOD | {"infusion_number": i + 1, "relief_hours": abs(h), "relief_ongoing": h < 0}
        for i, h in enumerate(relief)
    ]
    return plan(history=history, assessments=assessments, on_date=day(on), **more)


def rules(result: PlanResult) -> list[str]:
    return [b.rule for b in result.blockers]


# --- Dosing by phase --------------------------------------------------------------------------

PHASES = [
    # "The first ketamine infusion started at 10 mg/h and was titrated by 5 mg/h to a maximum of
    # 25 mg/h, as tolerated."
    pytest.param({}, (1, "first", 10, 5, 25), id="first-infusion-10-to-25"),
    # "All patients were eligible for a second and third infusion 1 week after the previous one,
    # starting at 25 mg/h and titrated by 5 mg/h to a maximum of 40 mg/h."
    pytest.param({"days": (0,), "relief": [48], "on": 7}, (2, "induction", 25, 5, 40), id="inf2"),
    pytest.param(
        {"days": (0, 7), "relief": [48, 336], "on": 21}, (3, "induction", 25, 5, 40), id="inf3"
    ),
    # "Responders continued with infusions roughly every 4 weeks and were titrated to a maximum
    # dose of 70 mg/h"; kip choice: phases.maintenance.start_rate = 25.
    pytest.param(
        {"days": (0, 7, 14), "relief": [48, 400, 600], "on": 42},
        (4, "maintenance", 25, 5, 70),
        id="maintenance-up-to-70",
    ),
]


@pytest.mark.parametrize(("case", "expected"), PHASES)
def test_phase_rates(case: dict[str, Any], expected: tuple[int, str, float, float, float]) -> None:
    result = after(*case["days"], relief=case["relief"], on=case["on"]) if case else plan()
    number, phase, start, step, maximum = expected
    assert result.eligible, result.blockers
    assert (result.infusion_number, result.phase) == (number, phase)
    assert (result.start_rate_mg_per_h, result.step_mg_per_h) == (start, step)
    assert result.max_rate_mg_per_h == maximum
    assert result.session_minutes == 240  # "a series of 4-hour infusion sessions"
    assert result.step_interval_minutes == 30  # kip choice: phases.*.step_interval_minutes
    assert result.hard_limit_mg_per_h == 70


def test_premedication_and_monitoring() -> None:
    # "All patients were premedicated with oral ondansetron 4 mg and oral lorazepam 0.5 mg."
    result = plan()
    assert [(p.drug, p.dose_mg, p.route.value) for p in result.premedication] == [
        ("ondansetron", 4.0, "oral"),
        ("lorazepam", 0.5, "oral"),
    ]
    # "body temperatures, blood pressures, pulse rates, and oxygen saturations were continuously
    # monitored"
    assert set(result.monitoring) == {
        "temperature_c",
        "systolic_mmhg",
        "diastolic_mmhg",
        "heart_rate_bpm",
        "spo2_pct",
    }


def test_rates_also_given_per_kg() -> None:
    result = plan(patient=MAN | {"weight_kg": 80})
    assert result.start_rate_mg_per_kg_per_h == 0.125
    assert result.max_rate_mg_per_kg_per_h == 0.312  # 25 / 80 = 0.3125, shown to 3 places


def test_follow_ups_are_scheduled_from_the_infusion_day() -> None:
    # "Twenty-four hours after infusion, patients were contacted"; clinic "on average 4 weeks
    # after infusion"; kip choice: windows of 24 h and one week.
    result = plan(on_date="2019-03-04")
    calls = {f.id: (f.due_date, f.window_start, f.window_end) for f in result.follow_ups}
    assert calls["call-24h"] == (date(2019, 3, 5), date(2019, 3, 4), date(2019, 3, 6))
    assert calls["clinic-visit"] == (date(2019, 4, 1), date(2019, 3, 25), date(2019, 4, 8))


# --- Eligibility --------------------------------------------------------------------------------

ELIGIBILITY = [
    # "Exclusion criteria included a concurrent diagnosis of diabetes mellitus or underlying
    # peripheral neuropathy before the onset of CNP."
    pytest.param(
        {"conditions": ["diabetes_mellitus"]},
        ["eligibility.exclusions.diabetes_mellitus"],
        id="diabetes",
    ),
    pytest.param(
        {"conditions": ["prior_peripheral_neuropathy"]},
        ["eligibility.exclusions.prior_peripheral_neuropathy"],
        id="neuropathy-before-cnp",
    ),
    pytest.param(
        {"conditions": ["diabetes_mellitus", "prior_peripheral_neuropathy"], "age_years": 17},
        [
            "eligibility.min_age_years",
            "eligibility.exclusions.diabetes_mellitus",
            "eligibility.exclusions.prior_peripheral_neuropathy",
        ],
        id="every-blocker-listed-at-once",
    ),
    # kip choice: eligibility.min_age_years = 18
    pytest.param({"age_years": 17}, ["eligibility.min_age_years"], id="age-17"),
    pytest.param({"age_years": 18}, [], id="age-18"),
    # A condition the protocol does not exclude changes nothing.
    pytest.param({"conditions": ["hypothyroidism"]}, [], id="other-condition"),
]


@pytest.mark.parametrize(("patient", "blocked_by"), ELIGIBILITY)
def test_eligibility(patient: dict[str, Any], blocked_by: list[str]) -> None:
    result = plan(patient=MAN | patient)
    assert rules(result) == blocked_by
    assert result.eligible is (not blocked_by)


CHECKS = [
    # "All premenopausal women had negative pregnancy tests before infusion."
    pytest.param(WOMAN, {}, True, False, id="premenopausal-untested-pending"),
    pytest.param(WOMAN, {"pregnancy_test": "failed"}, True, False, id="positive-test-blocks"),
    pytest.param(WOMAN | {"premenopausal": False}, {}, False, False, id="postmenopausal-no-test"),
    # kip choice: unknown menopausal status is treated as premenopausal.
    pytest.param(WOMAN | {"premenopausal": None}, {}, True, False, id="unknown-status-tested"),
    pytest.param(MAN, {}, False, False, id="man-no-test"),
]


@pytest.mark.parametrize(("patient", "results", "test_listed", "ready"), CHECKS)
def test_pregnancy_check(
    patient: dict[str, Any], results: dict[str, str], test_listed: bool, ready: bool
) -> None:
    result = plan(patient=patient, check_results=results)
    ids = [c.id for c in result.checklist]
    assert ("pregnancy_test" in ids) is test_listed
    assert result.ready_to_start is ready
    assert ("eligibility.checks.pregnancy_test" in rules(result)) is (results != {})


def test_ready_once_every_required_check_passes() -> None:
    # "the patient's baseline parameters, including pain via the numeric pain rating scale (NPRS),
    # function, satisfaction, and use of analgesics, were obtained by a registered nurse"
    baseline = ["baseline_nprs", "baseline_function", "baseline_satisfaction", "current_analgesics"]
    partial = plan(patient=WOMAN, check_results=dict.fromkeys(baseline, "passed"))
    assert partial.eligible and not partial.ready_to_start
    full = plan(patient=WOMAN, check_results=dict.fromkeys([*baseline, "pregnancy_test"], "passed"))
    assert full.ready_to_start
    assert {c.status.value for c in full.checklist} == {"passed"}


@pytest.mark.parametrize(
    ("on", "screened"),
    [
        # "all patients who have since received an infusion were tested for SARS-CoV-2 before
        # infusion"; kip choice: eligibility.periods.covid-19-screening from 2020-03-16.
        pytest.param("2020-03-15", False, id="before-pandemic-period"),
        pytest.param("2020-03-16", True, id="first-day-of-screening"),
        pytest.param("2021-01-10", True, id="still-screening"),
    ],
)
def test_sars_cov_2_screening_by_period(on: str, screened: bool) -> None:
    ids = [c.id for c in plan(on_date=on).checklist]
    assert ("sars_cov_2_test" in ids) is screened
    assert ("covid_symptoms" in ids) is screened


def test_positive_sars_cov_2_test_or_symptoms_block() -> None:
    # "If the test was positive or the patient had symptoms of the virus, the infusion was not
    # offered."
    result = plan(
        on_date="2020-07-01",
        check_results={"sars_cov_2_test": "failed", "covid_symptoms": "failed"},
    )
    assert rules(result) == [
        "eligibility.checks.sars_cov_2_test",
        "eligibility.checks.covid_symptoms",
    ]


# --- Schedule and continuation ---------------------------------------------------------------

SCHEDULE = [
    # "eligible for a second and third infusion 1 week after the previous one"
    pytest.param((0,), [48], 6, ["phases.induction.min_interval_days"], day(7), id="inf2-day-6"),
    pytest.param((0,), [48], 7, [], day(7), id="inf2-day-7"),
    pytest.param((0, 7), [48, -100], 13, ["phases.induction.min_interval_days"], day(14), id="d13"),
    pytest.param((0, 7), [48, -100], 14, [], day(14), id="d14-relief-ongoing"),
    # "Responders must have had >= 24 hours of pain relief after their first infusion ... to
    # continue"; kip choice: responder.first_infusion_short_relief = stop.
    pytest.param(
        (0,), [23], 7, ["responder.first_infusion_short_relief"], day(7), id="relief-23h-stops"
    ),
    pytest.param((0,), [24], 7, [], day(7), id="relief-24h-continues"),
    # "... or >= 2 weeks of pain relief after their subsequent infusions to continue"
    pytest.param(
        (0, 7), [48, 13 * 24], 21, ["responder.subsequent_relief_days"], day(14), id="13-days"
    ),
    pytest.param((0, 7), [48, 14 * 24], 21, [], day(14), id="14-days"),
    # "Responders continued with infusions roughly every 4 weeks"; kip choice:
    # phases.maintenance.min_interval_days = 21, target 28.
    pytest.param(
        (0, 7, 14),
        [48, 400, 480],
        34,
        ["phases.maintenance.min_interval_days"],
        day(35),
        id="maintenance-day-20",
    ),
    pytest.param((0, 7, 14), [48, 400, 480], 35, [], day(35), id="maintenance-day-21"),
]


@pytest.mark.parametrize(("days", "relief", "on", "blocked_by", "earliest"), SCHEDULE)
def test_schedule_and_continuation(
    days: tuple[int, ...], relief: list[float], on: int, blocked_by: list[str], earliest: str
) -> None:
    result = after(*days, relief=relief, on=on)
    assert rules(result) == blocked_by
    assert result.earliest_date == date.fromisoformat(earliest)


def test_maintenance_target_is_four_weeks() -> None:
    result = after(0, 7, 14, relief=[48, 400, 480], on=40)
    assert result.target_date == date.fromisoformat(day(42))


def test_short_first_relief_can_follow_all_patients_eligible_reading() -> None:
    # "All patients were eligible for a second and third infusion" -- the other reading, by setting.
    lenient = MSKCC.model_copy(
        update={
            "responder": MSKCC.responder.model_copy(
                update={"first_infusion_short_relief": ShortFirstRelief.CONTINUE}
            )
        }
    )
    assert after(0, relief=[23], on=7, using=lenient).eligible
    assert not after(0, relief=[23], on=7).eligible


def test_ongoing_relief_does_not_block_infusion_3() -> None:
    # Two weeks of relief cannot be known a week after infusion 2: relief still going on is no
    # reason to stop (kip choice: responder.subsequent_relief_checked_from_infusion).
    history = [{"date": day(0)}, {"date": day(7)}]
    assessments = [
        GOOD | {"infusion_number": 1, "relief_hours": 48},
        GOOD | {"infusion_number": 2, "relief_hours": 150, "relief_ongoing": True},
    ]
    result = plan(history=history, assessments=assessments, on_date=day(14))
    assert result.eligible, result.blockers


def test_maintenance_needs_established_relief() -> None:
    history = [{"date": day(0)}, {"date": day(7)}, {"date": day(14)}]
    assessments = [
        GOOD | {"infusion_number": 1, "relief_hours": 48},
        GOOD | {"infusion_number": 2, "relief_hours": 168, "relief_ongoing": True},
        GOOD | {"infusion_number": 3, "relief_hours": 200, "relief_ongoing": True},
    ]
    result = plan(history=history, assessments=assessments, on_date=day(35))
    assert rules(result) == ["responder.subsequent_relief_days"]


def test_nonresponder_cannot_enter_maintenance() -> None:
    # "Responders continued with infusions roughly every 4 weeks"
    history = [{"date": day(0)}, {"date": day(7)}, {"date": day(14)}]
    assessments = [
        GOOD | {"infusion_number": 1, "relief_hours": 48},
        GOOD | {"infusion_number": 2, "relief_hours": 400},
        {"infusion_number": 3, "baseline_nprs": 8, "nprs": 7, "relief_hours": 400},
    ]
    result = plan(history=history, assessments=assessments, on_date=day(40))
    assert rules(result) == ["responder.nprs_reduction_pct"]
    assert "not a responder" in result.blockers[0].text


def test_missing_follow_up_blocks_planning() -> None:
    result = plan(history=[{"date": day(0)}], on_date=day(7))
    assert rules(result) == ["follow_ups"]


def test_latest_assessment_of_an_infusion_wins() -> None:
    # The 24-hour call said relief was going on; the clinic visit says it lasted 10 hours.
    history = [{"date": day(0)}]
    assessments = [
        GOOD | {"infusion_number": 1, "relief_hours": 20, "relief_ongoing": True},
        GOOD | {"infusion_number": 1, "relief_hours": 10},
    ]
    result = plan(history=history, assessments=assessments, on_date=day(7))
    assert rules(result) == ["responder.first_infusion_short_relief"]


@pytest.mark.parametrize(
    ("assessment", "rule"),
    [
        # "Patients continued the infusions until they discharged because of undesirable side
        # effects or unsatisfactory pain relief or until death."
        pytest.param({"deceased": True}, "continuation.death", id="death"),
        pytest.param({"patient_choice": "stop"}, "continuation.patient_choice", id="choice"),
        pytest.param({"adverse_event_limited": True}, "continuation.adverse_events", id="ae"),
    ],
)
def test_stop_reasons_block(assessment: dict[str, Any], rule: str) -> None:
    history = [{"date": day(0)}]
    full = GOOD | {"infusion_number": 1, "relief_hours": 48} | assessment
    result = plan(history=history, assessments=[full], on_date=day(7))
    assert rules(result) == [rule]


def test_enrolment_end_blocks() -> None:
    result = plan(enrolment_end={"date": "2019-01-01", "reason": "social/transport"})
    assert rules(result) == ["enrolment_end"]
    assert "social/transport" in result.blockers[0].text


# --- Service interruptions ---------------------------------------------------------------------

PANDEMIC = {"start": "2020-03-16", "end": "2020-06-30", "reason": "COVID-19 pandemic"}


@pytest.mark.parametrize(
    ("pause", "on", "blocked", "earliest"),
    [
        # "14 patients on the IV ketamine protocol could not proceed with monthly infusions"
        pytest.param(PANDEMIC, "2020-04-01", True, date(2020, 7, 1), id="inside-pause"),
        pytest.param(PANDEMIC, "2020-07-01", False, date(2020, 7, 1), id="day-after-pause"),
        pytest.param(PANDEMIC | {"end": None}, "2020-04-01", True, None, id="open-ended"),
        pytest.param(PANDEMIC, "2020-03-15", False, date(2020, 3, 15), id="day-before"),
    ],
)
def test_service_interruption(
    pause: dict[str, Any], on: str, blocked: bool, earliest: date | None
) -> None:
    result = plan(on_date=on, service_interruptions=[pause])
    assert ("service_interruptions" in rules(result)) is blocked
    assert result.earliest_date == earliest


def test_interval_ending_inside_a_pause_moves_past_it() -> None:
    history = [{"date": "2020-03-10"}]
    assessments = [GOOD | {"infusion_number": 1, "relief_hours": 48}]
    result = plan(
        history=history,
        assessments=assessments,
        on_date="2020-03-12",
        service_interruptions=[PANDEMIC],
    )
    assert result.earliest_date == date(2020, 7, 1)
    assert rules(result) == ["phases.induction.min_interval_days"]


# --- Other protocols: weight-based caps, fixed courses, day-to-day titration -----------------

SCHWARTZMAN = load("schwartzman-2009")


@pytest.mark.parametrize(
    ("weight", "rate"),
    [
        # "up to 0.35 mg/kg/h, capped at 25 mg/h" (reference: Schwartzman 2009): the lower wins.
        pytest.param(60, 21.0, id="60kg-weight-based"),
        pytest.param(70, 24.5, id="70kg-exact-decimal"),
        pytest.param(71.5, 25.0, id="71.5kg-hits-cap"),
        pytest.param(100, 25.0, id="100kg-capped"),
    ],
)
def test_weight_based_rate_with_absolute_cap(weight: float, rate: float) -> None:
    result = plan(SCHWARTZMAN, patient=MAN | {"weight_kg": weight})
    assert result.start_rate_mg_per_h == rate
    assert result.max_rate_mg_per_h == rate
    assert result.step_mg_per_h is None


def test_weight_based_protocol_needs_weight() -> None:
    with pytest.raises(InputError, match=r"^patient\.weight_kg: required"):
        plan(SCHWARTZMAN, patient={"sex": "male", "age_years": 40})


def test_fixed_daily_course() -> None:
    patient = MAN | {"weight_kg": 60}
    history = [{"date": day(d)} for d in range(9)]
    ninth = plan(SCHWARTZMAN, patient=patient, history=history[:8], on_date=day(8))
    assert ninth.eligible and ninth.infusion_number == 9  # no relief rule inside a fixed course
    same_day = plan(SCHWARTZMAN, patient=patient, history=history[:8], on_date=day(7))
    assert rules(same_day) == ["phases.course.min_interval_days"]
    eleventh = plan(
        SCHWARTZMAN, patient=patient, history=[*history, {"date": day(9)}], on_date=day(10)
    )
    assert rules(eleventh) == ["eligibility.max_infusions"]
    assert eleventh.phase is None and eleventh.start_rate_mg_per_h is None


def test_soft_exclusion_needs_physician_clearance() -> None:
    patient = MAN | {"conditions": ["active_psychosis"]}
    blocked = plan(SCHWARTZMAN, patient=patient)
    assert rules(blocked) == ["eligibility.exclusions.active_psychosis"]
    assert "physician" in blocked.blockers[0].text
    cleared = plan(SCHWARTZMAN, patient=patient, cleared_by_physician=["active_psychosis"])
    assert cleared.eligible
    hard = plan(
        SCHWARTZMAN, patient=MAN | {"conditions": ["pregnancy"]}, cleared_by_physician=["pregnancy"]
    )
    assert rules(hard) == ["eligibility.exclusions.pregnancy"]


DAY_TO_DAY = """
schema_version = 1
id = "day-to-day"
version = "0"
title = "Day-to-day titration, 4 h a day"
source = "test"
[limits]
hard_max_rate = [{ value = 0.6, unit = "mg/kg/h" }]
[[phases]]
id = "daily"
name = "Daily"
first_infusion = 1
last_infusion = 5
min_interval_days = 1
continuation_check = false
session_minutes = 240
start_rate = { value = 0.2, unit = "mg/kg/h" }
titration = "between_sessions"
step = { value = 0.2, unit = "mg/kg/h" }
max_rate = [{ value = 0.6, unit = "mg/kg/h" }]
[[phases]]
id = "continuous"
name = "Continuous"
first_infusion = 6
last_infusion = 6
session_minutes = 6000
continuation_check = false
start_rate = { value = 5, unit = "mg/h/70kg" }
titration = "within_session"
step = { value = 5, unit = "mg/h/70kg" }
step_interval_minutes = 240
max_rate = [{ value = 22, unit = "mg/h/70kg" }]
[eligibility]
[monitoring]
vitals = ["spo2_pct"]
[adverse_events]
events = []
[responder]
duration_bands = [{ label = "any" }]
"""


@pytest.mark.parametrize(
    ("session", "rate"),
    [
        # "Rema 2012: 0.2 -> 0.4 -> 0.6 mg/kg/h, a step a day" (reference.md), for 50 kg.
        pytest.param(1, 10.0, id="day-1"),
        pytest.param(2, 20.0, id="day-2"),
        pytest.param(3, 30.0, id="day-3"),
        pytest.param(4, 30.0, id="day-4-held-at-max"),
    ],
)
def test_day_to_day_titration(session: int, rate: float) -> None:
    protocol = parse(DAY_TO_DAY, "test")
    history = [{"date": day(d)} for d in range(session - 1)]
    result = plan(
        protocol,
        patient=MAN | {"weight_kg": 50},
        history=history,
        on_date=day(session - 1),
    )
    assert result.start_rate_mg_per_h == rate
    assert result.max_rate_mg_per_h == 30.0


def test_per_70kg_continuous_infusion() -> None:
    # "Sigtermans 2009: continuous about 100 h, 5 mg/h per 70 kg" (reference.md), for 84 kg.
    protocol = parse(DAY_TO_DAY, "test")
    result = plan(
        protocol,
        patient=MAN | {"weight_kg": 84},
        history=[{"date": day(d)} for d in range(5)],
        on_date=day(5),
    )
    assert (result.start_rate_mg_per_h, result.step_mg_per_h) == (6.0, 6.0)
    assert result.max_rate_mg_per_h == 26.4
    assert result.session_minutes == 6000


# --- Bad input -----------------------------------------------------------------------------------

BAD = [
    pytest.param(
        {"history": [{"date": day(7)}, {"date": day(0)}], "on_date": day(14)},
        r"^history\[1\]\.date: ",
        id="history-out-of-order",
    ),
    pytest.param(
        {"history": [{"date": day(7)}], "on_date": day(3)}, r"^on_date: ", id="on-date-before"
    ),
    pytest.param(
        {"assessments": [GOOD | {"infusion_number": 1}]},
        r"^assessments\[0\]\.infusion_number: ",
        id="assessment-of-unknown-infusion",
    ),
    pytest.param(
        {
            "history": [{"date": day(0)}],
            "assessments": [GOOD | {"infusion_number": 1, "relief_hours": 400}],
            "on_date": day(7),
        },
        r"^assessments\[0\]\.relief_hours: 400 h of relief is longer",
        id="relief-longer-than-possible",
    ),
    pytest.param(
        {"service_interruptions": [PANDEMIC | {"end": "2020-01-01"}]},
        r"^service_interruptions\[0\]\.end: ",
        id="pause-ends-before-start",
    ),
    pytest.param({"patient": MAN | {"weight_kg": -70}}, r"^patient\.weight_kg: ", id="neg-weight"),
    pytest.param({"patient": MAN | {"weight_kg": "70"}}, r"^patient\.weight_kg: ", id="text"),
    pytest.param({"patient": {"sex": "male"}}, r"^patient\.age_years: is required", id="missing"),
    pytest.param({"on_date": "2019-02-30"}, r"^on_date: ", id="impossible-date"),
    pytest.param({"check_results": {"x": "maybe"}}, r"^check_results\.x: ", id="bad-status"),
]


@pytest.mark.parametrize(("fields", "message"), BAD)
def test_bad_input_names_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan(**fields)


# --- Invariants ----------------------------------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    gaps = draw(st.lists(st.integers(0, 40), max_size=6))
    days, at = [], 0
    for g in gaps:
        at += g
        days.append(at)
    on = at + draw(st.integers(0, 40))
    assessments = [
        {
            "infusion_number": i + 1,
            "baseline_nprs": draw(st.integers(0, 10)),
            "nprs": draw(st.integers(0, 10)),
            "functional_improvement": draw(st.booleans()),
            "relief_hours": draw(st.floats(0, 24 * (on - d + 1))),
            "relief_ongoing": draw(st.booleans()),
        }
        for i, d in enumerate(days)
        if draw(st.booleans())
    ]
    return {
        "history": [{"date": day(d)} for d in days],
        "assessments": assessments,
        "on_date": day(on),
        "patient": MAN | {"weight_kg": draw(st.floats(30, 200))},
    }


@settings(max_examples=300, deadline=None)
@given(histories())
def test_rates_never_exceed_phase_or_hard_limit(fields: dict[str, Any]) -> None:
    result = plan(**fields)
    if result.phase is None:
        return
    assert result.max_rate_mg_per_h is not None and result.start_rate_mg_per_h is not None
    assert result.start_rate_mg_per_h <= result.max_rate_mg_per_h <= result.hard_limit_mg_per_h
    phase = MSKCC.phase_for(result.infusion_number)
    assert phase is not None
    assert result.max_rate_mg_per_h <= phase.max_rate[0].value


@settings(max_examples=300, deadline=None)
@given(histories())
def test_never_eligible_before_the_minimum_interval(fields: dict[str, Any]) -> None:
    result = plan(**fields)
    if not fields["history"]:
        return
    last = date.fromisoformat(fields["history"][-1]["date"])
    phase = MSKCC.phase_for(result.infusion_number)
    assert phase is not None and phase.min_interval_days is not None
    assert result.earliest_date is not None
    assert result.earliest_date >= last + timedelta(days=phase.min_interval_days)
    if result.eligible:
        assert date.fromisoformat(fields["on_date"]) >= result.earliest_date
