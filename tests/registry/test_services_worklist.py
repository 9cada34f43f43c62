"""What waits for a physician on the worklist: soft-limit requests and responses to decide, at the
physician's own sites only, oldest first, and nothing of it for a nurse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.fixtures import Settings

from kip.protocol import titrate
from kip.registry.audit import audit_context
from kip.registry.models import DeviationRequest, Membership
from kip.registry.models.choices import FollowUpKind, Role
from kip.registry.services import deviations, followups, sessions, worklist
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
