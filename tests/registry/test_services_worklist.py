"""What waits for a physician on the worklist: soft-limit requests, adverse events to evaluate and
responses to decide, at the physician's own sites only, oldest first, and nothing of it for a
nurse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.fixtures import Settings

from kip.protocol import adverse, titrate
from kip.protocol.model import PhysicianOption
from kip.registry.audit import audit_context
from kip.registry.models import AdverseEvent, DeviationRequest, Membership
from kip.registry.models.choices import FollowUpKind, Resolution, Role
from kip.registry.services import deviations, events, followups, sessions, worklist
from kip.registry.services.followups import FollowUpAnswers
from service_world import DAY, FAST_HASHERS, World, build_world, completed, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Settings) -> World:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world()


def asked(world: World, *, other: bool = False) -> int:
    """A running first infusion at 10 mg/h with the nurse's request for 15 mg/h at minute 10."""
    nurse = world.other_nurse if other else world.nurse
    infusion = running(nurse, world.other_patient if other else world.patient)
    sessions.record_rate(nurse, infusion.pk, 0, 10)
    return deviations.request_deviation(nurse, infusion.pk, 10, 15, reason="pain 9/10").request.pk


def recorded_call(world: World) -> int:
    infusion = completed(world.nurse, world.patient)
    call = infusion.follow_ups.get(kind=FollowUpKind.CALL_24H)
    answers = FollowUpAnswers(nprs=3, qualifier="good relief", functional_improvement=True)
    followups.record_follow_up(world.nurse, call.pk, answers, done_on=DAY + timedelta(days=1))
    return call.pk


def test_physician_sees_the_request_with_the_engines_step(world: World) -> None:
    request_id = asked(world)
    queue = worklist.waiting_for_physician(world.physician, timezone.now())
    assert queue is not None and len(queue) == 1
    [item] = queue.requests
    assert item.request.pk == request_id and float(item.request.rate_mg_per_h) == 15
    assert item.waited >= timedelta(0) and item.engine_error == ""
    # The engine's step is the one the flowsheet shows: hold 10 mg/h until the 30-minute step.
    assert item.next is not None and item.next.action is titrate.Action.HOLD
    assert item.next.rate_mg_per_h == 10


def test_site_isolation_and_no_section_for_nurse_or_researcher(world: World) -> None:
    asked(world, other=True)
    now = timezone.now()
    # The request is at the other site: the main site's physician has a queue, but empty.
    queue = worklist.waiting_for_physician(world.physician, now)
    assert queue is not None and queue.requests == [] and len(queue) == 0
    other = worklist.waiting_for_physician(world.other_physician, now)
    assert other is not None and len(other.requests) == 1
    for user in (world.nurse, world.other_nurse, world.researcher, world.admin):
        assert worklist.waiting_for_physician(user, now) is None


def requests_for(user: User) -> list[int]:
    queue = worklist.waiting_for_physician(user, timezone.now())
    assert queue is not None
    return [item.request.pk for item in queue.requests]


def test_a_decided_or_ended_request_no_longer_waits(world: World) -> None:
    request_id = asked(world)
    infusion_id = DeviationRequest.objects.get(pk=request_id).infusion_id
    deviations.decline_deviation(world.physician, request_id, reason="keep 10 mg/h")
    assert requests_for(world.physician) == []
    again = deviations.request_deviation(world.nurse, infusion_id, 10, 15, reason="still 9/10")
    assert requests_for(world.physician) == [again.request.pk]
    sessions.end_infusion(world.nurse, infusion_id)
    # An ended infusion's request cannot be approved any more: it is not a physician's task.
    assert requests_for(world.physician) == []


def test_recorded_response_waits_until_decided(world: World) -> None:
    call_id = recorded_call(world)
    now = timezone.now()
    queue = worklist.waiting_for_physician(world.physician, now)
    assert queue is not None
    assert [d.follow_up.pk for d in queue.decisions] == [call_id]
    assert queue.decisions[0].waited.days == (timezone.localdate(now) - DAY).days - 1
    # The other site's physician and the nurse see none of it.
    other = worklist.waiting_for_physician(world.other_physician, now)
    assert other is not None and other.decisions == []
    followups.confirm_response(world.physician, call_id, agree=True)
    queue = worklist.waiting_for_physician(world.physician, now)
    assert queue is not None and queue.decisions == []


def test_a_physician_at_two_sites_gets_both_oldest_first(world: World) -> None:
    with audit_context(world.admin, reason="test set-up", source="test"):
        Membership.objects.create(user=world.physician, site=world.other_site, role=Role.PHYSICIAN)
    first = asked(world, other=True)
    second = asked(world)
    queue = worklist.waiting_for_physician(world.physician, timezone.now())
    assert queue is not None
    assert [r.request.pk for r in queue.requests] == [first, second]


def reported(world: World, term: str, *, other: bool = False, minute: float = 20) -> int:
    """A running first infusion at 10 mg/h with the nurse's report of `term` at `minute`."""
    nurse = world.other_nurse if other else world.nurse
    infusion = running(nurse, world.other_patient if other else world.patient)
    sessions.record_rate(nurse, infusion.pk, 0, 10)
    return events.report_adverse_event(nurse, infusion.pk, term, minute).event.pk


def events_for(user: User) -> list[int]:
    queue = worklist.waiting_for_physician(user, timezone.now())
    assert queue is not None
    return [item.event.pk for item in queue.events]


def test_an_event_for_physician_evaluation_waits_with_the_protocols_response(world: World) -> None:
    event_id = reported(world, "headache")
    queue = worklist.waiting_for_physician(world.physician, timezone.now())
    assert queue is not None and len(queue) == 1
    [item] = queue.events
    assert item.event.pk == event_id and item.event.term == "headache"
    assert item.engine_error == "" and item.waited >= timedelta(0) and item.minute == 20
    assert item.response is not None
    assert item.response.response is adverse.AdverseResponse.PHYSICIAN_EVALUATION
    assert item.response.physician_options == list(PhysicianOption)


def test_site_isolation_of_events_both_ways(world: World) -> None:
    main = reported(world, "headache")
    other = reported(world, "hallucinations", other=True)
    assert events_for(world.physician) == [main]
    assert events_for(world.other_physician) == [other]
    for user in (world.nurse, world.other_nurse, world.researcher, world.admin):
        assert worklist.waiting_for_physician(user, timezone.now()) is None


def test_an_event_the_nurse_treats_waits_only_once_no_prn_is_allowed(world: World) -> None:
    event_id = reported(world, "nausea")
    # Ondansetron by mouth is allowed: the nurse gives it, no physician is needed yet.
    assert events_for(world.physician) == []
    events.give_prn(world.nurse, event_id, "ondansetron-oral", 20)
    # Premedication 4 mg and this 4 mg reach the 8 mg cap: now a physician evaluates.
    queue = worklist.waiting_for_physician(world.physician, timezone.now())
    assert queue is not None and [e.event.pk for e in queue.events] == [event_id]
    response = queue.events[0].response
    assert response is not None and response.physician_evaluation_required
    assert any("cap reached" in r.text for r in response.reasons)


def test_a_decided_resolved_or_ended_event_no_longer_waits(world: World) -> None:
    first = reported(world, "headache")
    infusion_id = AdverseEvent.objects.get(pk=first).infusion_id
    events.physician_decision(world.physician, first, PhysicianOption.CONTINUE)
    assert events_for(world.physician) == []
    second = events.report_adverse_event(world.nurse, infusion_id, "dizziness", 30).event.pk
    third = events.report_adverse_event(world.nurse, infusion_id, "somnolence", 31).event.pk
    assert events_for(world.physician) == [second, third]
    events.resolve_adverse_event(world.nurse, second, 35, Resolution.SELF_RESOLVED)
    assert events_for(world.physician) == [third]
    sessions.end_infusion(world.nurse, infusion_id)
    assert events_for(world.physician) == []


def test_a_stop_event_waits_and_events_come_oldest_first_across_sites(world: World) -> None:
    with audit_context(world.admin, reason="test set-up", source="test"):
        Membership.objects.create(user=world.physician, site=world.other_site, role=Role.PHYSICIAN)
    first = reported(world, "anaphylaxis", other=True)
    second = reported(world, "headache")
    queue = worklist.waiting_for_physician(world.physician, timezone.now())
    assert queue is not None and [e.event.pk for e in queue.events] == [first, second]
    stop = queue.events[0].response
    assert stop is not None and stop.response is adverse.AdverseResponse.STOP
