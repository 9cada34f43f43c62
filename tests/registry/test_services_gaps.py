"""The gaps the first registry step left: continuation inputs on follow-ups, the physician's
decision minute, interruption calls before any infusion, physician-cleared soft exclusions and the
nurse's soft-limit request a physician co-signs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from kip.protocol import loader
from kip.protocol.model import PhysicianOption, Rate
from kip.registry.audit import audit_context
from kip.registry.models import (
    AuditEntry,
    DeviationRequest,
    ExclusionClearance,
    FollowUp,
    Infusion,
    Patient,
    TitrationStep,
)
from kip.registry.models.choices import EndReason, FollowUpKind, PatientChoice
from kip.registry.services import (
    clearances,
    deviations,
    events,
    followups,
    patients,
    planning,
    program,
    sessions,
    worklist,
)
from kip.registry.services.errors import Conflict, NotFound, PermissionDenied, ServiceError
from kip.registry.services.followups import FollowUpAnswers
from service_world import DAY, FAST_HASHERS, World, build_world, completed, make_patient, running

pytestmark = pytest.mark.django_db

GOOD_RESPONSE: dict[str, Any] = {
    "nprs": 3,
    "qualifier": "good relief",
    "functional_improvement": True,
    "relief_hours": 24,
}


@pytest.fixture
def world(settings: Settings) -> World:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world()


# --- 1. continuation inputs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "engine_reason", "stop_reason"),
    [
        ({"patient_choice": PatientChoice.STOP}, "patient_choice", EndReason.PATIENT_CHOICE),
        ({"adverse_event_limited": True}, "adverse_events", EndReason.ADVERSE_EVENTS),
        ({"deceased": True}, "death", EndReason.DEATH),
        ({"other_stop_reason": "moved abroad"}, "other", EndReason.OTHER),
    ],
)
def test_each_continuation_input_gives_the_engines_stop_reason_and_is_confirmed(
    world: World, inputs: dict[str, Any], engine_reason: str, stop_reason: EndReason
) -> None:
    infusion = completed(world.nurse, world.patient)
    call = infusion.follow_ups.get(kind=FollowUpKind.CALL_24H)
    answers = FollowUpAnswers(**GOOD_RESPONSE, **inputs)
    done = followups.record_follow_up(world.nurse, call.pk, answers, done_on=DAY)
    verdict = done.classification
    assert verdict is not None
    # A responder all the same: the stop comes from the continuation input alone.
    assert verdict.responder is True
    assert (verdict.continuation.decision, verdict.continuation.reason) == ("stop", engine_reason)
    stored = FollowUp.objects.get(pk=call.pk)
    for name, value in inputs.items():
        assert getattr(stored, name) == value
    decision, _ = followups.confirm_response(world.physician, call.pk, agree=True)
    decision.refresh_from_db()
    assert (decision.engine_reason, decision.continuation, decision.stop_reason) == (
        engine_reason,
        "stop",
        stop_reason,
    )


def test_a_patient_who_wants_to_continue_is_classified_on_the_response(world: World) -> None:
    infusion = completed(world.nurse, world.patient)
    call = infusion.follow_ups.get(kind=FollowUpKind.CALL_24H)
    answers = FollowUpAnswers(**GOOD_RESPONSE, patient_choice=PatientChoice.CONTINUE)
    verdict = followups.record_follow_up(world.nurse, call.pk, answers, done_on=DAY).classification
    assert verdict is not None and verdict.continuation.decision == "continue"


# --- 2. the physician's decision minute ------------------------------------------------------


def test_a_reduction_counts_from_the_rate_at_the_decision_and_is_applied_once(
    world: World,
) -> None:
    infusion = running(world.nurse, world.patient)
    for minute, rate in ((0, 10), (30, 15), (60, 20)):
        sessions.record_rate(world.nurse, infusion.pk, minute, rate)
    event = events.report_adverse_event(world.nurse, infusion.pk, "headache", 65).event
    # The nurse lowers the rate while waiting for the physician.
    sessions.record_rate(world.nurse, infusion.pk, 66, 15)
    decided = events.physician_decision(
        world.physician, event.pk, PhysicianOption.REDUCE, minute=70
    )
    assert decided.event.decided_minute == Decimal("70.0")
    assert decided.next is not None
    # From the 15 mg/h running at minute 70 (not the 20 at onset): one step of 5 down.
    assert (decided.next.action, decided.next.rate_mg_per_h) == ("reduce", 10)
    after = sessions.record_rate(world.nurse, infusion.pk, 71, 10)
    assert (after.next.action, after.next.rate_mg_per_h) == ("hold", 10)
    later = sessions.next_step(world.nurse, infusion.pk, 100)
    assert later is not None and (later.action, later.rate_mg_per_h) == ("hold", 10)


def test_the_decision_minute_defaults_to_now_and_not_before_onset(world: World) -> None:
    infusion = running(world.nurse, world.patient)
    sessions.record_rate(world.nurse, infusion.pk, 0, 10)
    event = events.report_adverse_event(world.nurse, infusion.pk, "headache", 12).event
    decided = events.physician_decision(world.physician, event.pk, PhysicianOption.CONTINUE)
    assert decided.event.decided_minute is not None
    assert decided.event.decided_minute >= Decimal(12)
    other = events.report_adverse_event(world.nurse, infusion.pk, "itching", 20).event
    with pytest.raises(ServiceError) as refused:
        events.physician_decision(world.physician, other.pk, PhysicianOption.CONTINUE, minute=5)
    assert refused.value.field == "minute"


# --- 3. interruption calls before any infusion -----------------------------------------------


def test_an_enrolled_patient_without_an_infusion_gets_an_interruption_call(world: World) -> None:
    given = completed(world.nurse, world.patient)
    with audit_context(world.nurse, reason="test set-up", source="test"):
        waiting = make_patient(world.site, "MRN003", given_name="Eva")
    start = DAY + timedelta(days=30)
    done = program.create_service_interruption(
        world.physician, start, "COVID-19", site_id=world.site.pk
    )
    by_patient = {c.patient_id: c for c in done.calls}
    assert set(by_patient) == {world.patient.pk, waiting.pk}
    assert by_patient[world.patient.pk].infusion_id == given.pk
    call = by_patient[waiting.pk]
    assert (call.infusion_id, call.kind, call.interruption_id) == (
        None,
        FollowUpKind.INTERRUPTION_CALL,
        done.interruption.pk,
    )
    assert call in worklist.worklist(world.nurse, start).calls
    answers = FollowUpAnswers(pain_returned_to_baseline=True, mood_worse=True)
    recorded = followups.record_follow_up(world.nurse, call.pk, answers, done_on=start)
    assert recorded.classification is None
    assert FollowUp.objects.get(pk=call.pk).mood_worse is True
    with pytest.raises(Conflict):
        followups.confirm_response(world.physician, call.pk, agree=True)
    # Another site's nurse cannot see it.
    with pytest.raises(NotFound):
        followups.record_follow_up(world.other_nurse, call.pk, answers, done_on=start)


def test_every_follow_up_belongs_to_its_patient(world: World) -> None:
    infusion = completed(world.nurse, world.patient)
    assert {f.patient_id for f in infusion.follow_ups.all()} == {world.patient.pk}


# --- 4. physician-cleared soft exclusions ----------------------------------------------------


def schwartzman_patient(world: World) -> Patient:
    patient = patients.create_patient(
        world.nurse,
        world.site.pk,
        {
            "mrn": "MRN-CRPS",
            "given_name": "Ida",
            "family_name": "Holm",
            "date_of_birth": DAY.replace(year=1975),
            "sex": "male",
            "weight_kg": Decimal("70.0"),
            "primary_cancer": "other",
            "etiology": "postsurgical",
            "other_conditions": ["active_psychosis"],
        },
        enrol_on=DAY,
        protocol_id="schwartzman-2009",
    )
    return patient


def test_a_soft_exclusion_blocks_until_a_physician_clears_it(world: World) -> None:
    patient = schwartzman_patient(world)
    assert patient.conditions == ["active_psychosis"]
    blocked = planning.plan_next(world.nurse, patient.pk, DAY)
    assert not blocked.eligible
    assert [b.rule for b in blocked.blockers] == ["eligibility.exclusions.active_psychosis"]
    with pytest.raises(ServiceError):
        planning.schedule_infusion(world.nurse, patient.pk, DAY)
    with pytest.raises(PermissionDenied):
        clearances.clear_exclusion(world.nurse, patient.pk, "active_psychosis", reason="seen")
    with pytest.raises(NotFound):
        clearances.clear_exclusion(
            world.other_physician, patient.pk, "active_psychosis", reason="seen"
        )
    with pytest.raises(ServiceError) as no_reason:
        clearances.clear_exclusion(world.physician, patient.pk, "active_psychosis", reason=" ")
    assert no_reason.value.field == "reason"
    cleared = clearances.clear_exclusion(
        world.physician, patient.pk, "active_psychosis", reason="psychiatry: in remission"
    )
    assert (cleared.cleared_by, cleared.protocol_id) == (world.physician, "schwartzman-2009")
    entry = AuditEntry.objects.get(model="registry.exclusionclearance", object_id=str(cleared.pk))
    assert "psychiatry: in remission" in entry.reason
    assert planning.plan_next(world.nurse, patient.pk, DAY).eligible
    scheduled = planning.schedule_infusion(world.nurse, patient.pk, DAY)
    assert scheduled.infusion.protocol_id == "schwartzman-2009"
    with pytest.raises(Conflict):
        clearances.clear_exclusion(world.physician, patient.pk, "active_psychosis", reason="x")


def test_hard_unknown_or_unrecorded_exclusions_are_not_cleared(world: World) -> None:
    patient = schwartzman_patient(world)
    for exclusion, rule in (
        ("pregnancy", "eligibility.exclusions.pregnancy"),
        ("no_such_thing", "eligibility.exclusions"),
        ("poorly_controlled_cardiovascular_disease", "eligibility.exclusions.poorly_"),
    ):
        with pytest.raises(ServiceError) as refused:
            clearances.clear_exclusion(world.physician, patient.pk, exclusion, reason="seen")
        assert refused.value.rule.startswith(rule), exclusion
    assert not ExclusionClearance.objects.exists()


def test_other_conditions_are_validated(world: World) -> None:
    with pytest.raises(ServiceError) as refused:
        patients.update_patient(
            world.nurse, world.patient.pk, {"other_conditions": ["Bad Id"]}, reason="screening"
        )
    assert refused.value.field == "other_conditions"
    updated = patients.update_patient(
        world.nurse,
        world.patient.pk,
        {"other_conditions": ["active_psychosis", "active_psychosis"]},
        reason="screening",
    )
    assert updated.other_conditions == ["active_psychosis"]


# --- 5. soft-limit co-sign -------------------------------------------------------------------


@pytest.fixture
def started(world: World) -> Infusion:
    infusion = running(world.nurse, world.patient)
    sessions.record_rate(world.nurse, infusion.pk, 0, 10)
    return infusion


def test_a_nurse_requests_and_a_physician_at_the_site_approves(
    world: World, started: Infusion
) -> None:
    # An increase before the 30-minute interval is a soft-limit deviation.
    asked = deviations.request_deviation(
        world.nurse, started.pk, 10, 15, reason="pain 9/10, no side effects"
    )
    assert asked.proposed.classification == "soft_limit"
    row = asked.request
    assert (row.status, row.requested_by) == ("pending", world.nurse)
    assert not TitrationStep.objects.filter(infusion=started, minute=10).exists()
    assert list(deviations.pending(started)) == [row]
    with pytest.raises(PermissionDenied):
        deviations.approve_deviation(world.nurse, row.pk, reason="fine")
    with pytest.raises(NotFound):
        deviations.approve_deviation(world.other_physician, row.pk, reason="fine")
    with pytest.raises(ServiceError):
        deviations.approve_deviation(world.physician, row.pk, reason="  ")
    done = deviations.approve_deviation(
        world.physician, row.pk, reason="reviewed at bedside, tolerating well"
    )
    step = done.step
    assert (step.rate_mg_per_h, step.minute, step.classification) == (
        Decimal("15.0"),
        Decimal("10.0"),
        "soft_limit",
    )
    assert (step.approved_by, step.entered_by) == (world.physician, world.nurse)
    assert step.deviation_reason == "reviewed at bedside, tolerating well"
    row.refresh_from_db()
    assert (row.status, row.decided_by, row.step) == ("approved", world.physician, step)
    for model, pk in (("registry.deviationrequest", row.pk), ("registry.titrationstep", step.pk)):
        entry = AuditEntry.objects.filter(model=model, object_id=str(pk)).last()
        assert entry is not None and entry.username == "physician", model
        assert "reviewed at bedside, tolerating well" in entry.reason, model
    with pytest.raises(Conflict):
        deviations.approve_deviation(world.physician, row.pk, reason="again")


def test_a_declined_request_stores_no_rate(world: World, started: Infusion) -> None:
    row = deviations.request_deviation(world.nurse, started.pk, 10, 15, reason="pain").request
    with pytest.raises(Conflict):
        deviations.request_deviation(world.nurse, started.pk, 11, 15, reason="pain")
    with pytest.raises(PermissionDenied):
        deviations.decline_deviation(world.nurse, row.pk, reason="no")
    declined = deviations.decline_deviation(world.physician, row.pk, reason="wait for 30 min")
    assert (declined.status, declined.decision_reason) == ("declined", "wait for 30 min")
    assert list(
        TitrationStep.objects.filter(infusion=started).values_list("minute", flat=True)
    ) == [Decimal("0.0")]


def test_only_soft_limit_rates_are_requested(world: World, started: Infusion) -> None:
    with pytest.raises(ServiceError) as within:
        deviations.request_deviation(world.nurse, started.pk, 30, 15, reason="due step")
    assert within.value.rule == "limits.soft_deviation"
    with pytest.raises(ServiceError) as refused:
        deviations.request_deviation(world.nurse, started.pk, 30, 80, reason="more")
    assert refused.value.rule == "limits.hard_max_rate"
    with pytest.raises(ServiceError):
        deviations.request_deviation(world.nurse, started.pk, 10, 15, reason="")
    assert not DeviationRequest.objects.exists()


def test_a_rate_refused_by_approval_time_is_never_stored(
    world: World, started: Infusion, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = deviations.request_deviation(world.nurse, started.pk, 10, 15, reason="pain").request
    # The protocol is revised before the physician answers: the hard limit drops to 12 mg/h.
    original = loader.load

    def revised(protocol_id: str) -> Any:
        protocol = original(protocol_id)
        limits = protocol.limits.model_copy(update={"hard_max_rate": [Rate(value=12)]})
        return protocol.model_copy(update={"limits": limits})

    monkeypatch.setattr(loader, "load", revised)
    with pytest.raises(ServiceError) as refused:
        deviations.approve_deviation(world.physician, row.pk, reason="fine")
    assert refused.value.rule == "limits.hard_max_rate"
    row.refresh_from_db()
    assert row.status == "pending" and row.step is None
    assert not TitrationStep.objects.filter(infusion=started, minute=10).exists()


def test_a_request_overtaken_by_the_log_or_the_end_is_not_stored(
    world: World, started: Infusion
) -> None:
    row = deviations.request_deviation(world.nurse, started.pk, 10, 15, reason="pain").request
    sessions.record_rate(world.nurse, started.pk, 30, 15)
    with pytest.raises(ServiceError) as late:
        deviations.approve_deviation(world.physician, row.pk, reason="fine")
    assert late.value.rule == "session.rate_order"
    sessions.end_infusion(world.nurse, started.pk)
    with pytest.raises(Conflict):
        deviations.approve_deviation(world.physician, row.pk, reason="fine")
    assert TitrationStep.objects.filter(infusion=started).count() == 2
