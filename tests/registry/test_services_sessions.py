"""Session rules in the service layer: scheduling needs plan's eligibility, starting needs every
required check, rates are classified by the engine (hard limit refused for anyone, soft limit only
with a physician at the site and a reason), and the next step is titrate on the stored log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings

from kip.registry.audit import audit_context
from kip.registry.audit.models import AuditEntry
from kip.registry.models import FollowUp, Infusion, TitrationStep
from kip.registry.models.choices import CheckStatus, InfusionStatus
from kip.registry.services import planning, program, sessions
from kip.registry.services.errors import NotFound, PermissionDenied, ServiceError
from service_world import DAY, FAST_HASHERS, World, build_world, checked_in, responded, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Settings) -> World:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world()


def _diabetes(w: World) -> date:
    with audit_context(w.admin, reason="screening result"):
        w.patient.diabetes_mellitus = True
        w.patient.save()
    return DAY


def _paused(w: World) -> date:
    program.create_service_interruption(
        w.physician,
        DAY - timedelta(days=1),
        "COVID-19",
        ends_on=DAY + timedelta(days=30),
        site_id=w.site.pk,
    )
    return DAY


def _ended(w: World) -> date:
    program.end_enrolment(w.physician, w.patient.pk, DAY, program.EndReason.PATIENT_CHOICE)
    return DAY + timedelta(days=1)


def _too_soon(w: World) -> date:
    responded(w.nurse, w.patient)
    return DAY + timedelta(days=6)


@pytest.mark.parametrize(
    ("arrange", "rule"),
    [
        (_diabetes, "eligibility.exclusions.diabetes_mellitus"),
        (_paused, "service_interruptions"),
        (_too_soon, "phases.induction.min_interval_days"),
    ],
)
def test_an_infusion_plan_says_is_not_eligible_cannot_be_scheduled(
    world: World, arrange: Callable[[World], date], rule: str
) -> None:
    day = arrange(world)
    assert not planning.plan_next(world.nurse, world.patient.pk, day).eligible
    with pytest.raises(ServiceError) as caught:
        planning.schedule_infusion(world.nurse, world.patient.pk, day)
    assert (caught.value.field, caught.value.rule) == ("on_date", rule)
    assert not Infusion.objects.filter(patient=world.patient, status="planned").exists()


def test_an_ended_enrolment_blocks_scheduling(world: World) -> None:
    day = _ended(world)
    with pytest.raises(ServiceError) as caught:
        planning.schedule_infusion(world.nurse, world.patient.pk, day)
    assert caught.value.rule == "enrolment"


def test_scheduling_after_the_interval_takes_the_plans_phase(world: World) -> None:
    responded(world.nurse, world.patient)
    done = planning.schedule_infusion(world.nurse, world.patient.pk, DAY + timedelta(days=7))
    assert (done.infusion.number, done.infusion.phase) == (2, "induction")
    assert done.plan.start_rate_mg_per_h == 25


@pytest.mark.parametrize(
    ("check", "status", "day"),
    [
        ("baseline_nprs", None, DAY),  # missing
        ("current_analgesics", CheckStatus.FAILED, DAY),
        # Inside the COVID-19 screening period the SARS-CoV-2 test is on the list too.
        ("sars_cov_2_test", None, date(2021, 6, 1)),
        ("sars_cov_2_test", CheckStatus.FAILED, date(2021, 6, 1)),
    ],
)
def test_start_needs_every_required_check_passed(
    world: World, check: str, status: CheckStatus | None, day: date
) -> None:
    infusion = planning.schedule_infusion(world.nurse, world.patient.pk, day).infusion
    sessions.check_in(world.nurse, infusion.pk, **FULL_BASELINE)
    listed = [c.id for c in planning.plan_for_infusion(world.nurse, infusion.pk).checklist]
    assert check in listed
    for other in listed:
        if other != check:
            sessions.record_check(world.nurse, infusion.pk, other, CheckStatus.PASSED)
    if status is not None:
        sessions.record_check(world.nurse, infusion.pk, check, status)
    with pytest.raises(ServiceError) as caught:
        sessions.start_infusion(world.nurse, infusion.pk)
    assert (caught.value.field, caught.value.rule) == (
        f"checks.{check}",
        f"eligibility.checks.{check}",
    )
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.CHECKED_IN


FULL_BASELINE: dict[str, Any] = {
    "baseline_nprs": 8,
    "baseline_function": "limited",
    "baseline_satisfaction": "dissatisfied",
    "baseline_analgesics": "gabapentin",
}


@pytest.mark.parametrize(
    ("check_in", "check", "field", "rule"),
    [
        # An empty check-in: nothing of the baseline the Methods say the nurse obtains.
        ({}, None, "baseline", "eligibility.check_in_requires_baseline"),
        ({"baseline_function": "  "}, None, "baseline", "eligibility.check_in_requires_baseline"),
        # A check that records a value cannot pass without it.
        (
            {"baseline_function": "limited"},
            "baseline_nprs",
            "baseline_nprs",
            "eligibility.checks.baseline_nprs.records",
        ),
        (
            {"baseline_nprs": 8},
            "baseline_function",
            "baseline_function",
            "eligibility.checks.baseline_function.records",
        ),
        (
            {"baseline_nprs": 8},
            "baseline_satisfaction",
            "baseline_satisfaction",
            "eligibility.checks.baseline_satisfaction.records",
        ),
        (
            {"baseline_nprs": 8, "baseline_analgesics": " "},
            "current_analgesics",
            "baseline_analgesics",
            "eligibility.checks.current_analgesics.records",
        ),
        # A check-in cannot clear a value under a check that has passed.
        (
            FULL_BASELINE | {"baseline_nprs": None},
            "after:baseline_nprs",
            "baseline_nprs",
            "eligibility.checks.baseline_nprs.records",
        ),
    ],
)
def test_a_check_in_or_a_passed_check_needs_its_recorded_value(
    world: World, check_in: dict[str, Any], check: str | None, field: str, rule: str
) -> None:
    infusion = planning.schedule_infusion(world.nurse, world.patient.pk, DAY).infusion
    if check is None:
        refuse = partial(sessions.check_in, world.nurse, infusion.pk, **check_in)
    elif check.startswith("after:"):
        sessions.check_in(world.nurse, infusion.pk, **FULL_BASELINE)
        sessions.record_check(world.nurse, infusion.pk, check[6:], CheckStatus.PASSED)
        refuse = partial(sessions.check_in, world.nurse, infusion.pk, **check_in)
    else:
        sessions.check_in(world.nurse, infusion.pk, **check_in)
        refuse = partial(sessions.record_check, world.nurse, infusion.pk, check, CheckStatus.PASSED)
    before = infusion.checks.filter(status=CheckStatus.PASSED).count()
    with pytest.raises(ServiceError) as caught:
        refuse()
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert infusion.checks.filter(status=CheckStatus.PASSED).count() == before
    infusion.refresh_from_db()
    assert infusion.status == (
        InfusionStatus.PLANNED if check is None else InfusionStatus.CHECKED_IN
    )
    if check is not None and check.startswith("after:"):
        assert infusion.baseline_nprs == 8


def test_a_check_without_a_value_may_fail_and_a_recorded_one_may_pass(world: World) -> None:
    infusion = planning.schedule_infusion(world.nurse, world.patient.pk, DAY).infusion
    sessions.check_in(world.nurse, infusion.pk, baseline_function="bed-bound today")
    failed, _ = sessions.record_check(world.nurse, infusion.pk, "baseline_nprs", CheckStatus.FAILED)
    assert failed.status == CheckStatus.FAILED
    passed, _ = sessions.record_check(
        world.nurse, infusion.pk, "baseline_function", CheckStatus.PASSED
    )
    assert passed.status == CheckStatus.PASSED


def test_start_refuses_a_check_passed_before_its_value_was_required(world: World) -> None:
    """A result stored before this rule (or by an import) passed with no NPRS: start refuses."""
    infusion = checked_in(world.nurse, world.patient)
    infusion.refresh_from_db()
    with audit_context(world.admin, reason="imported record without NPRS", source="test"):
        infusion.baseline_nprs = None
        infusion.save()
    with pytest.raises(ServiceError) as caught:
        sessions.start_infusion(world.nurse, infusion.pk)
    assert (caught.value.field, caught.value.rule) == (
        "baseline_nprs",
        "eligibility.checks.baseline_nprs.records",
    )
    infusion.refresh_from_db()
    assert infusion.status == InfusionStatus.CHECKED_IN
    sessions.check_in(world.nurse, infusion.pk, **FULL_BASELINE)
    assert sessions.start_infusion(world.nurse, infusion.pk).status == InfusionStatus.RUNNING


def test_changing_a_check_result_needs_a_reason(world: World) -> None:
    infusion = checked_in(world.nurse, world.patient)
    with pytest.raises(ServiceError) as caught:
        sessions.record_check(world.nurse, infusion.pk, "baseline_nprs", CheckStatus.FAILED)
    assert caught.value.field == "reason"
    sessions.record_check(
        world.nurse, infusion.pk, "baseline_nprs", CheckStatus.FAILED, reason="entered wrongly"
    )


def _approver(w: World, who: str) -> User | None:
    return {
        "none": None,
        "nurse": w.nurse,
        "physician": w.physician,
        "researcher": w.researcher,
        "other-site physician": w.other_physician,
    }[who]


@pytest.mark.parametrize(
    ("actor", "rate", "approver", "reason", "error", "rule"),
    [
        # The program's hard limit (70 mg/h) has no override, not even by a physician.
        ("nurse", 80, "physician", "tolerating well", ServiceError, "limits.hard_max_rate"),
        ("physician", 70.1, "physician", "tolerating well", ServiceError, "limits.hard_max_rate"),
        # Starting above the start rate is a soft-limit deviation.
        ("nurse", 20, "none", "tolerating well", PermissionDenied, "phases.first.start_rate"),
        ("nurse", 20, "nurse", "tolerating well", PermissionDenied, "phases.first.start_rate"),
        ("nurse", 20, "researcher", "tolerating well", PermissionDenied, "phases.first.start_rate"),
        (
            "nurse",
            20,
            "other-site physician",
            "tolerating well",
            PermissionDenied,
            "phases.first.start_rate",
        ),
        ("nurse", 20, "physician", "  ", ServiceError, "phases.first.start_rate"),
        ("physician", 20, "none", "tolerating well", PermissionDenied, "phases.first.start_rate"),
        # Pump precision is 0.1 mg/h: a rate the engine never saw is not stored rounded.
        ("nurse", 10.05, "none", "", ServiceError, "limits.rate_increment_mg_per_h"),
    ],
)
def test_refused_rates_store_nothing(
    world: World,
    actor: str,
    rate: float,
    approver: str,
    reason: str,
    error: type[ServiceError],
    rule: str,
) -> None:
    infusion = running(world.nurse, world.patient)
    approved = _approver(world, approver)
    with pytest.raises(error) as caught:
        sessions.record_rate(
            world.users()[actor],
            infusion.pk,
            0,
            rate,
            approved_by_id=approved.pk if approved else None,
            reason=reason,
        )
    assert type(caught.value) is error
    assert caught.value.rule == rule
    assert not TitrationStep.objects.filter(infusion=infusion).exists()


def test_a_soft_limit_deviation_is_stored_with_its_physician_and_reason(world: World) -> None:
    infusion = running(world.nurse, world.patient)
    done = sessions.record_rate(
        world.nurse,
        infusion.pk,
        0,
        20,
        approved_by_id=world.physician.pk,
        reason="tolerated 20 mg/h at an outside center",
    )
    assert done.proposed.classification == "soft_limit"
    step = TitrationStep.objects.get(pk=done.step.pk)
    assert (step.classification, step.approved_by, step.entered_by) == (
        "soft_limit",
        world.physician,
        world.nurse,
    )
    assert step.deviation_reason == "tolerated 20 mg/h at an outside center"
    entry = AuditEntry.objects.get(model="registry.titrationstep", object_id=str(step.pk))
    assert entry.reason == "tolerated 20 mg/h at an outside center"
    assert entry.username == "nurse"


def test_a_rate_within_limits_is_stored_and_the_next_step_comes_from_the_log(
    world: World,
) -> None:
    infusion = running(world.nurse, world.patient)
    done = sessions.record_rate(world.nurse, infusion.pk, 0, 10)
    assert done.proposed.classification == "ok"
    assert (done.step.classification, done.step.approved_by) == ("ok", None)
    assert done.step.engine_action == "start"
    early = sessions.next_step(world.nurse, infusion.pk, minute=10)
    due = sessions.next_step(world.nurse, infusion.pk, minute=30)
    assert early is not None and due is not None
    assert (early.action, early.rate_mg_per_h, early.next_review_minute) == ("hold", 10, 30)
    assert (due.action, due.rate_mg_per_h) == ("step_up", 15)


def test_a_rate_before_the_last_change_is_refused(world: World) -> None:
    infusion = running(world.nurse, world.patient)
    sessions.record_rate(world.nurse, infusion.pk, 30, 10)
    with pytest.raises(ServiceError) as caught:
        sessions.record_rate(world.nurse, infusion.pk, 20, 10)
    assert caught.value.rule == "session.rate_order"


def test_vitals_beyond_an_alert_show_in_the_next_step(world: World) -> None:
    infusion = running(world.nurse, world.patient)
    sessions.record_rate(world.nurse, infusion.pk, 0, 10)
    done = sessions.record_vitals(world.nurse, infusion.pk, 15, heart_rate_bpm=130)
    assert done.next is not None
    assert done.next.events_triggered_by_vitals == ["tachycardia"]
    assert done.next.action == "await_physician"
    with pytest.raises(ServiceError) as caught:
        sessions.record_vitals(world.nurse, infusion.pk, 20, spo2_pct=120)
    assert caught.value.field == "spo2_pct"


def test_ending_stores_the_maximum_rate_and_schedules_the_plans_follow_ups(world: World) -> None:
    infusion = running(world.nurse, world.patient)
    for minute, rate in ((0, 10), (30, 15), (60, 20)):
        sessions.record_rate(world.nurse, infusion.pk, minute, rate)
    with pytest.raises(ServiceError):
        sessions.end_infusion(world.nurse, infusion.pk, max_rate_tolerated=25)
    done = sessions.end_infusion(world.nurse, infusion.pk)
    assert done.infusion.status == InfusionStatus.COMPLETED
    assert done.infusion.max_rate_mg_per_h == Decimal("20.0")
    due = {f.kind: f.due_on for f in FollowUp.objects.filter(infusion=infusion)}
    assert due == {"call_24h": DAY + timedelta(days=1), "clinic_visit": DAY + timedelta(days=28)}


def test_researchers_and_admins_cannot_run_infusions(world: World) -> None:
    infusion = checked_in(world.nurse, world.patient)
    for user in (world.researcher, world.admin):
        with pytest.raises(PermissionDenied):
            sessions.start_infusion(user, infusion.pk)


def test_another_sites_infusion_is_not_found(world: World) -> None:
    infusion = running(world.other_nurse, world.other_patient)
    calls: list[Callable[[], object]] = [
        lambda: sessions.next_step(world.physician, infusion.pk),
        lambda: sessions.record_rate(world.physician, infusion.pk, 0, 10),
        lambda: sessions.record_vitals(world.nurse, infusion.pk, 0, heart_rate_bpm=80),
        lambda: sessions.end_infusion(world.nurse, infusion.pk),
        lambda: planning.plan_next(world.nurse, world.other_patient.pk, DAY),
        lambda: planning.schedule_infusion(world.nurse, world.other_patient.pk, DAY),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
