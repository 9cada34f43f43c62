"""Adverse events take the protocol's category and response; PRN doses beyond their cap, interval,
dose count or route rule are refused; physician decisions need the physician role."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from kip.protocol.model import PhysicianOption
from kip.registry.models import AdverseEvent, Infusion, MedicationDose
from kip.registry.models.choices import Resolution
from kip.registry.services import events, sessions
from kip.registry.services.errors import Conflict, NotFound, PermissionDenied, ServiceError
from service_world import FAST_HASHERS, World, build_world, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Settings) -> World:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world()


@pytest.fixture
def infusion(world: World) -> Infusion:
    infusion = running(world.nurse, world.patient)
    sessions.record_rate(world.nurse, infusion.pk, 0, 10)
    return infusion


@pytest.mark.parametrize(
    ("term", "category", "response", "action"),
    [
        ("nausea", "gastrointestinal", "prn", "hold"),
        ("Restlessness", "psychiatric", "prn", "hold"),
        ("headache", "neurological", "physician_evaluation", "await_physician"),
        ("hypoxemia", "respiratory", "stop", "stop"),
        ("itching", "other", "physician_evaluation", "await_physician"),
    ],
)
def test_an_event_is_stored_with_the_protocols_category_and_response(
    world: World, infusion: Infusion, term: str, category: str, response: str, action: str
) -> None:
    done = events.report_adverse_event(world.nurse, infusion.pk, term, 12)
    stored = AdverseEvent.objects.get(pk=done.event.pk)
    assert (stored.term, stored.category, stored.resolution) == (
        term.lower(),
        category,
        Resolution.ONGOING,
    )
    assert done.response.response == response
    assert done.next.action == action


def test_a_self_resolved_event_is_closed_and_does_not_hold_titration(
    world: World, infusion: Infusion
) -> None:
    done = events.report_adverse_event(
        world.nurse, infusion.pk, "dizziness", 31, self_resolved=True
    )
    assert done.event.resolution == Resolution.SELF_RESOLVED
    assert done.next.action == "step_up"


# (prn id, minutes of oral lorazepam PRN doses given before, minute of this dose, can take oral,
# refused by rule or None). Premedication lorazepam 0.5 mg at minute -30 counts toward the 2 mg
# cap, not toward the 4-hour interval.
PRN_CASES = [
    ("lorazepam-oral", [], 20, True, None),
    ("lorazepam-oral", [20], 200, True, "adverse_events.prn.lorazepam-oral.interval_minutes"),
    ("lorazepam-oral", [20], 260, True, None),
    # the fourth oral PRN dose: 0.5 premedication + 3 x 0.5 = 2 mg already given
    ("lorazepam-oral", [20, 260, 500], 740, True, "adverse_events.prn.lorazepam-oral.cap_mg"),
    ("lorazepam-oral", [], 20, False, "adverse_events.prn.lorazepam-oral.only_if_oral_tolerated"),
    ("lorazepam-iv", [], 20, True, "adverse_events.prn.lorazepam-iv.only_if_oral_not_tolerated"),
    ("lorazepam-iv", [], 20, False, None),
    ("ondansetron-oral", [], 20, True, "adverse_events.events.restlessness.prn"),
    ("no-such-drug", [], 20, True, "adverse_events.prn"),
]


@pytest.mark.parametrize(("prn_id", "before", "at", "oral", "rule"), PRN_CASES)
def test_prn_doses_follow_the_protocol(
    world: World,
    infusion: Infusion,
    prn_id: str,
    before: list[int],
    at: int,
    oral: bool,
    rule: str | None,
) -> None:
    event = events.report_adverse_event(world.nurse, infusion.pk, "restlessness", 15).event
    for minute in before:
        events.give_prn(world.nurse, event.pk, "lorazepam-oral", minute)
    if rule is None:
        done = events.give_prn(world.nurse, event.pk, prn_id, at, can_take_oral=oral)
        assert done.dose.prn_id == prn_id and done.dose.kind == "prn"
        return
    with pytest.raises(ServiceError) as caught:
        events.give_prn(world.nurse, event.pk, prn_id, at, can_take_oral=oral)
    assert (caught.value.field, caught.value.rule) == ("prn_id", rule)
    assert prn_id in caught.value.message
    assert MedicationDose.objects.filter(infusion=infusion, kind="prn").count() == len(before)


def test_iv_lorazepam_is_given_once(world: World, infusion: Infusion) -> None:
    event = events.report_adverse_event(world.nurse, infusion.pk, "restlessness", 15).event
    events.give_prn(world.nurse, event.pk, "lorazepam-iv", 15, can_take_oral=False)
    with pytest.raises(ServiceError) as caught:
        events.give_prn(world.nurse, event.pk, "lorazepam-iv", 300, can_take_oral=False)
    assert caught.value.rule == "adverse_events.prn.lorazepam-iv.max_doses"


def test_a_physician_decision_needs_the_physician_role(world: World, infusion: Infusion) -> None:
    event = events.report_adverse_event(world.nurse, infusion.pk, "headache", 12).event
    with pytest.raises(PermissionDenied):
        events.physician_decision(world.nurse, event.pk, PhysicianOption.REDUCE)
    with pytest.raises(NotFound):
        events.physician_decision(world.other_physician, event.pk, PhysicianOption.REDUCE)
    done = events.physician_decision(world.physician, event.pk, PhysicianOption.CONTINUE)
    assert (done.event.physician_decision, done.event.evaluated_by) == ("continue", world.physician)
    assert done.next is not None and done.next.action == "hold"


def test_reduce_is_applied_once_from_the_rate_at_the_event(
    world: World, infusion: Infusion
) -> None:
    sessions.record_rate(world.nurse, infusion.pk, 30, 15)
    event = events.report_adverse_event(world.nurse, infusion.pk, "headache", 40).event
    done = events.physician_decision(world.physician, event.pk, PhysicianOption.REDUCE)
    assert done.next is not None and (done.next.action, done.next.rate_mg_per_h) == ("reduce", 10)
    sessions.record_rate(world.nurse, infusion.pk, 45, 10)
    later = sessions.next_step(world.nurse, infusion.pk, minute=60)
    assert later is not None and (later.action, later.rate_mg_per_h) == ("hold", 10)


def test_an_event_reported_after_a_decision_waits_for_its_own(
    world: World, infusion: Infusion
) -> None:
    # PHYSICIAN: "a physician evaluation was performed" for each such event: a decision taken on
    # headache does not cover hallucinations reported afterwards.
    headache = events.report_adverse_event(world.nurse, infusion.pk, "headache", 12).event
    decided = events.physician_decision(world.physician, headache.pk, PhysicianOption.CONTINUE)
    assert decided.next is not None and decided.next.action == "hold"
    later = events.report_adverse_event(world.nurse, infusion.pk, "hallucinations", 20)
    assert later.next.action == "await_physician"
    assert "hallucinations, which waits for its own evaluation" in later.next.reasons[-1].text
    done = events.physician_decision(world.physician, later.event.pk, PhysicianOption.CONTINUE)
    assert done.next is not None and done.next.action == "hold"


def test_after_a_stop_event_only_prn_or_stop_may_be_decided(
    world: World, infusion: Infusion
) -> None:
    event = events.report_adverse_event(world.nurse, infusion.pk, "hypoxemia", 12).event
    with pytest.raises(ServiceError) as caught:
        events.physician_decision(world.physician, event.pk, PhysicianOption.CONTINUE)
    assert caught.value.rule == "adverse_events.physician_options"
    events.physician_decision(world.physician, event.pk, PhysicianOption.STOP)


def test_a_resolved_event_no_longer_holds_titration(world: World, infusion: Infusion) -> None:
    event = events.report_adverse_event(world.nurse, infusion.pk, "nausea", 12).event
    held = sessions.next_step(world.nurse, infusion.pk, minute=30)
    assert held is not None and held.action == "hold"
    events.resolve_adverse_event(world.nurse, event.pk, 20, Resolution.PRN_MEDICATION)
    after = sessions.next_step(world.nurse, infusion.pk, minute=30)
    assert after is not None and after.action == "step_up"
    with pytest.raises(Conflict):
        events.resolve_adverse_event(world.nurse, event.pk, 25, Resolution.SELF_RESOLVED)


def test_another_sites_event_is_not_found(world: World) -> None:
    infusion = running(world.other_nurse, world.other_patient)
    event = events.report_adverse_event(world.other_nurse, infusion.pk, "nausea", 5).event
    with pytest.raises(NotFound):
        events.give_prn(world.nurse, event.pk, "ondansetron-oral", 10)
    with pytest.raises(NotFound):
        events.report_adverse_event(world.nurse, infusion.pk, "nausea", 5)
    with pytest.raises(NotFound):
        events.resolve_adverse_event(world.nurse, event.pk, 10, Resolution.SELF_RESOLVED)
