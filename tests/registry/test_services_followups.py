"""Follow-ups run the responder classification; a clinician confirms it, or overrides it with a
reason. Service interruptions postpone planned infusions and start the interruption calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pytest_django.fixtures import Settings

from kip.registry.models import FollowUp, ResponseDecision
from kip.registry.models.choices import Continuation, EndReason, FollowUpKind, InfusionStatus
from kip.registry.services import followups, planning, program, worklist
from kip.registry.services.errors import Conflict, NotFound, PermissionDenied, ServiceError
from kip.registry.services.followups import FollowUpAnswers
from service_world import DAY, FAST_HASHERS, World, build_world, checked_in, completed, responded

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Settings) -> World:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world()


@pytest.fixture
def call(world: World) -> FollowUp:
    return completed(world.nurse, world.patient).follow_ups.get(kind=FollowUpKind.CALL_24H)


NEXT_DAY = DAY + timedelta(days=1)


@pytest.mark.parametrize(
    ("answers", "responder", "continuation"),
    [
        # baseline NPRS 8 (check-in) -> 4: 50% with function improved, 24 h of relief
        (FollowUpAnswers(nprs=4, functional_improvement=True, relief_hours=24), True, "continue"),
        (FollowUpAnswers(nprs=7, functional_improvement=True, relief_hours=24), False, "stop"),
        (
            FollowUpAnswers(nprs=7, qualifier="excellent relief", analgesics_reduced=True),
            True,
            "pending",
        ),
        (FollowUpAnswers(nprs=4, functional_improvement=True, relief_hours=6), True, "stop"),
    ],
)
def test_a_recorded_call_is_classified_by_the_engine(
    world: World, call: FollowUp, answers: FollowUpAnswers, responder: bool, continuation: str
) -> None:
    done = followups.record_follow_up(world.nurse, call.pk, answers, done_on=NEXT_DAY)
    assert done.follow_up.status == "done" and done.follow_up.recorded_by == world.nurse
    assert done.classification is not None
    assert done.classification.responder is responder
    assert done.classification.continuation.decision == continuation


def test_recording_again_needs_a_reason(world: World, call: FollowUp) -> None:
    answers = FollowUpAnswers(nprs=4, functional_improvement=True, relief_hours=24)
    followups.record_follow_up(world.nurse, call.pk, answers, done_on=NEXT_DAY)
    with pytest.raises(ServiceError) as caught:
        followups.record_follow_up(world.nurse, call.pk, answers, done_on=NEXT_DAY)
    assert caught.value.field == "reason"
    followups.record_follow_up(
        world.nurse, call.pk, answers, done_on=NEXT_DAY, reason="patient called back"
    )


def test_the_clinician_agrees_or_overrides_with_a_reason(world: World, call: FollowUp) -> None:
    answers = FollowUpAnswers(nprs=7, functional_improvement=True, relief_hours=24)
    followups.record_follow_up(world.nurse, call.pk, answers, done_on=NEXT_DAY)
    with pytest.raises(PermissionDenied):
        followups.confirm_response(world.nurse, call.pk, agree=True)
    agreed, verdict = followups.confirm_response(world.physician, call.pk, agree=True)
    assert (agreed.responder, agreed.continuation, agreed.stop_reason) == (
        False,
        Continuation.STOP,
        EndReason.INADEQUATE_RELIEF,
    )
    assert agreed.engine_reasons == [r.model_dump() for r in verdict.reasons]
    with pytest.raises(Conflict) as repeated:
        followups.confirm_response(world.physician, call.pk, agree=True)
    assert (repeated.value.field, repeated.value.rule) == ("agree", "responder.confirmation")
    assert ResponseDecision.objects.filter(follow_up=call).count() == 1
    with pytest.raises(ServiceError) as caught:
        followups.confirm_response(world.physician, call.pk, agree=False, responder=True)
    assert (caught.value.field, caught.value.rule) == ("reason", "responder.override")
    with pytest.raises(ServiceError):
        followups.confirm_response(
            world.physician, call.pk, agree=False, responder=False, reason="same as engine"
        )
    override, _ = followups.confirm_response(
        world.physician,
        call.pk,
        agree=False,
        responder=True,
        continuation=Continuation.CONTINUE,
        reason="patient reports good function; NPRS taken during a flare",
    )
    stored = ResponseDecision.objects.get(pk=override.pk)
    assert (stored.engine_responder, stored.responder, stored.continuation) == (
        False,
        True,
        Continuation.CONTINUE,
    )
    assert stored.override_reason.startswith("patient reports")


def test_only_a_recorded_call_or_visit_is_confirmed(world: World, call: FollowUp) -> None:
    with pytest.raises(Conflict):
        followups.confirm_response(world.physician, call.pk, agree=True)


def test_an_interruption_postpones_planned_infusions_and_starts_calls(world: World) -> None:
    given = responded(world.nurse, world.patient)
    planned = checked_in(world.nurse, world.patient, DAY + timedelta(days=10))
    other = planning.schedule_infusion(world.other_nurse, world.other_patient.pk, DAY).infusion
    with pytest.raises(PermissionDenied):
        program.create_service_interruption(
            world.nurse, DAY + timedelta(days=8), "COVID-19", site_id=world.site.pk
        )
    with pytest.raises(NotFound):
        program.create_service_interruption(
            world.physician, DAY, "COVID-19", site_id=world.other_site.pk
        )
    done = program.create_service_interruption(
        world.physician, DAY + timedelta(days=8), "COVID-19", site_id=world.site.pk
    )
    planned.refresh_from_db()
    other.refresh_from_db()
    assert planned.status == InfusionStatus.POSTPONED
    assert other.status == InfusionStatus.PLANNED
    assert [c.infusion for c in done.calls] == [given]
    assert done.calls[0].kind == FollowUpKind.INTERRUPTION_CALL
    # The pause has no end: plan offers no date, and scheduling is refused.
    plan = planning.plan_next(world.nurse, world.patient.pk, DAY + timedelta(days=20))
    assert not plan.eligible and plan.earliest_date is None
    with pytest.raises(ServiceError) as caught:
        planning.schedule_infusion(world.nurse, world.patient.pk, DAY + timedelta(days=20))
    assert caught.value.rule == "service_interruptions"


def test_a_program_wide_pause_needs_the_right_at_every_site(world: World) -> None:
    with pytest.raises(PermissionDenied):
        program.create_service_interruption(world.physician, DAY, "COVID-19")


def test_ending_an_enrolment_cancels_what_was_planned(world: World) -> None:
    planned = planning.schedule_infusion(world.nurse, world.patient.pk, DAY).infusion
    with pytest.raises(PermissionDenied):
        program.end_enrolment(world.nurse, world.patient.pk, DAY, EndReason.PATIENT_CHOICE)
    program.end_enrolment(world.admin, world.patient.pk, DAY, EndReason.PATIENT_CHOICE)
    planned.refresh_from_db()
    assert planned.status == InfusionStatus.CANCELLED


def test_the_worklist_shows_only_the_users_sites(world: World) -> None:
    mine = completed(world.nurse, world.patient)
    completed(world.other_nurse, world.other_patient)
    due = worklist.worklist(world.nurse, DAY, days=2)
    assert [(f.infusion, f.kind) for f in due.calls] == [(mine, FollowUpKind.CALL_24H)]
    later = worklist.worklist(world.nurse, DAY, days=60)
    assert {f.kind for f in later.calls} == {FollowUpKind.CALL_24H, FollowUpKind.CLINIC_VISIT}
    assert worklist.worklist(world.researcher, DAY).calls == []


def test_another_sites_follow_up_is_not_found(world: World) -> None:
    call = completed(world.other_nurse, world.other_patient).follow_ups.get(kind="call_24h")
    with pytest.raises(NotFound):
        followups.record_follow_up(world.nurse, call.pk, FollowUpAnswers(), done_on=NEXT_DAY)
    with pytest.raises(NotFound):
        followups.confirm_response(world.physician, call.pk, agree=True)
