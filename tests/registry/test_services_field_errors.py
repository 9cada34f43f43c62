"""A refused submission names every refused value at once: the nurse who typed three bad vital
signs corrects all three after one refusal, not one per resubmission. The first error stays on the
exception (field, rule, message), `errors` lists them all, nothing is written, and a refusal of
the record's state or of the user's rights stays single."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings

from kip.protocol.common import Vitals
from kip.registry.models import (
    AdverseEvent,
    FollowUp,
    Infusion,
    Membership,
    Patient,
    ServiceInterruption,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import FollowUpKind, InfusionStatus
from kip.registry.services import (
    admin,
    engine_io,
    events,
    followups,
    patients,
    planning,
    program,
    sessions,
)
from kip.registry.services.errors import (
    Conflict,
    NotFound,
    Refusals,
    ServiceError,
    together,
)
from service_world import DAY, FAST_HASHERS, World, build_world, completed, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Settings) -> World:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world()


def _vitals(w: World) -> None:
    infusion = running(w.nurse, w.patient)
    sessions.record_vitals(
        w.nurse, infusion.pk, 5, temperature_c=50.0, spo2_pct=140, heart_rate_bpm=5
    )


def _vitals_minute(w: World) -> None:
    infusion = running(w.nurse, w.patient)
    sessions.record_vitals(w.nurse, infusion.pk, -1, systolic_mmhg=500, respiratory_rate=90)


def _rate(w: World) -> None:
    infusion = running(w.nurse, w.patient)
    sessions.record_rate(w.nurse, infusion.pk, 5000, 10.25)


def _check_in(w: World) -> None:
    infusion = planning.schedule_infusion(w.nurse, w.patient.pk, DAY).infusion
    sessions.check_in(
        w.nurse,
        infusion.pk,
        weight_kg=Decimal("5"),
        baseline_nprs=15,
        baseline_function="limited",
    )


def _adverse_event(w: World) -> None:
    infusion = running(w.nurse, w.patient)
    events.report_adverse_event(w.nurse, infusion.pk, "  ", -5)


def _follow_up(w: World) -> None:
    infusion = completed(w.nurse, w.patient)
    call = infusion.follow_ups.get(kind=FollowUpKind.CALL_24H)
    answers = followups.FollowUpAnswers(
        nprs=15, relief_hours=1.25, other_stop_reason="moved away " * 20
    )
    followups.record_follow_up(w.nurse, call.pk, answers, done_on=DAY - timedelta(days=1))


def _create_patient(w: World) -> None:
    fields = {
        "mrn": "M-2",
        "given_name": "",
        "family_name": "Roe",
        "date_of_birth": DAY,
        "sex": "unknown",
        "primary_cancer": "lung",
        "etiology": "cipn",
    }
    patients.create_patient(w.nurse, w.site.pk, fields)


def _update_patient(w: World) -> None:
    patients.update_patient(w.nurse, w.patient.pk, {"mrn": "", "family_name": ""}, reason=" ")


def _create_user(w: World) -> None:
    admin.create_user(
        w.admin,
        w.site.pk,
        username=" ",
        first_name="Nia",
        last_name="Moss",
        password="123",
        role="boss",
        reason="",
    )


def _interruption(w: World) -> None:
    program.create_service_interruption(
        w.physician, DAY, " ", ends_on=DAY - timedelta(days=1), site_id=w.site.pk
    )


def _engine_model(w: World) -> None:
    engine_io.build(Vitals, minute=-1, spo2_pct=140, heart_rate_bpm=5)


@dataclass(frozen=True)
class Case:
    name: str
    submit: Callable[[World], None]
    refused: list[tuple[str, str]]  # (field, rule), in the order the service checks them
    nothing_written: Callable[[World], bool] = lambda w: True


CASES = [
    Case(
        "vitals",
        _vitals,
        [
            ("temperature_c", "vitals.range"),
            ("heart_rate_bpm", "protocol.input"),
            ("spo2_pct", "protocol.input"),
        ],
        lambda w: not VitalSigns.objects.exists(),
    ),
    Case(
        "vitals with a bad minute",
        _vitals_minute,
        [
            ("minute", "session.minute"),
            ("systolic_mmhg", "protocol.input"),
            ("respiratory_rate", "protocol.input"),
        ],
        lambda w: not VitalSigns.objects.exists(),
    ),
    Case(
        "rate",
        _rate,
        [("minute", "session.minute"), ("rate_mg_per_h", "limits.rate_increment_mg_per_h")],
        lambda w: not TitrationStep.objects.exists(),
    ),
    Case(
        "check-in",
        _check_in,
        [("baseline_nprs", "nprs.range"), ("weight_kg", "patient.weight_kg")],
        lambda w: not Infusion.objects.filter(status=InfusionStatus.CHECKED_IN).exists(),
    ),
    Case(
        "adverse event",
        _adverse_event,
        [("term", "adverse_events.events"), ("minute", "session.minute")],
        lambda w: not AdverseEvent.objects.exists(),
    ),
    Case(
        "follow-up",
        _follow_up,
        [
            ("done_on", "follow_ups.order"),
            ("nprs", "nprs.range"),
            ("other_stop_reason", "follow_ups.other_stop_reason"),
            ("relief_hours", "relief.hours"),
        ],
        lambda w: not FollowUp.objects.filter(done_on__isnull=False).exists(),
    ),
    Case(
        "new patient",
        _create_patient,
        [("given_name", "patient.given_name"), ("sex", "patient.sex")],
        lambda w: not Patient.objects.filter(mrn="M-2").exists(),
    ),
    Case(
        "patient change",
        _update_patient,
        [
            ("reason", "audit.reason_for_change"),
            ("mrn", "patient.mrn"),
            ("family_name", "patient.family_name"),
        ],
        lambda w: Patient.objects.get(pk=w.patient.pk).mrn == "MRN001",
    ),
    Case(
        "new account",
        _create_user,
        [
            ("username", "admin.username"),
            ("password", "auth.password_validators"),
            ("reason", "admin.reason"),
            ("role", "admin.role"),
        ],
        lambda w: not User.objects.filter(first_name="Nia").exists(),
    ),
    Case(
        "service interruption",
        _interruption,
        [("reason", "service_interruptions.reason"), ("ends_on", "service_interruptions.end")],
        lambda w: not ServiceInterruption.objects.exists(),
    ),
    Case(
        "engine model",
        _engine_model,
        [
            ("minute", "protocol.input"),
            ("heart_rate_bpm", "protocol.input"),
            ("spo2_pct", "protocol.input"),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_refused_value_is_named_at_once(world: World, case: Case) -> None:
    with pytest.raises(ServiceError) as refused:
        case.submit(world)
    exc = refused.value
    assert exc.status == 422
    assert [(e.field, e.rule) for e in exc.errors] == case.refused
    # Callers that read one error read the first.
    first = exc.errors[0]
    assert (exc.field, exc.rule, exc.message) == (first.field, first.rule, first.message)
    assert all(e.message for e in exc.errors) and not any(e.further for e in exc.errors[1:])
    assert case.nothing_written(world)


def test_one_refused_value_is_a_list_of_one(world: World) -> None:
    infusion = running(world.nurse, world.patient)
    with pytest.raises(ServiceError) as refused:
        sessions.record_vitals(world.nurse, infusion.pk, 5, spo2_pct=140)
    assert [(e.field, e.rule) for e in refused.value.errors] == [("spo2_pct", "protocol.input")]
    assert refused.value.further == ()
    # Both bounds, as the clinic's own range checks word them (pydantic's text names one).
    assert refused.value.message == "must be between 30 and 100"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"spo2_pct": 29}, ("spo2_pct", "must be between 30 and 100")),
        ({"heart_rate_bpm": 301}, ("heart_rate_bpm", "must be between 10 and 300")),
        ({"temperature_c": 24.5}, ("temperature_c", "must be between 25 and 45")),
        ({"minute": -1}, ("minute", "must be at least 0")),
        # Not a bound: kip's words for the type.
        ({"spo2_pct": "high"}, ("spo2_pct", "must be a number")),
    ],
)
def test_engine_range_refusals_name_both_bounds(
    fields: dict[str, object], expected: tuple[str, str]
) -> None:
    with pytest.raises(ServiceError) as refused:
        engine_io.build(Vitals, **fields)
    assert (refused.value.field, refused.value.message) == expected


def test_the_records_state_is_refused_before_the_values_and_alone(world: World) -> None:
    infusion = completed(world.nurse, world.patient)
    with pytest.raises(Conflict) as refused:
        sessions.record_vitals(world.nurse, infusion.pk, -1, spo2_pct=140, heart_rate_bpm=5)
    assert [e.field for e in refused.value.errors] == ["status"]


def test_another_sites_record_is_not_found_whatever_its_values(world: World) -> None:
    infusion = running(world.other_nurse, world.other_patient)
    with pytest.raises(NotFound) as refused:
        sessions.record_vitals(world.nurse, infusion.pk, -1, spo2_pct=140, heart_rate_bpm=5)
    assert len(refused.value.errors) == 1


def test_a_taken_username_is_a_conflict_once_the_values_pass(world: World) -> None:
    def create(password: str) -> Membership:
        return admin.create_user(
            world.admin,
            world.site.pk,
            username="NURSE",
            first_name="",
            last_name="",
            password=password,
            role="nurse",
            reason="new starter",
        )

    with pytest.raises(ServiceError) as refused:
        create("123")
    assert [e.field for e in refused.value.errors] == ["password"]
    with pytest.raises(Conflict):
        create("quiet river lantern 42")


def test_refusals_keep_one_error_per_field_and_let_state_refusals_through() -> None:
    found = Refusals()
    found.refuse("spo2_pct", "protocol.input", "at most 100")
    found.refuse("spo2_pct", "vitals.range", "said again in other words")
    assert found.check(lambda: Decimal("1.5")) == Decimal("1.5")

    def refuse(error: ServiceError) -> Decimal:
        raise error

    assert found.check(lambda: refuse(ServiceError("minute", "session.minute", "x"))) is None
    with pytest.raises(Conflict):
        found.check(lambda: refuse(Conflict("status", "infusion.status", "ended")))
    assert [(e.field, e.rule) for e in found.found] == [
        ("spo2_pct", "protocol.input"),
        ("minute", "session.minute"),
    ]
    with pytest.raises(ServiceError) as refused:
        found.raise_any()
    assert [e.field for e in refused.value.errors] == ["spo2_pct", "minute"]
    Refusals().raise_any()  # nothing refused, nothing raised


def test_together_spreads_errors_that_already_hold_several() -> None:
    first = together([ServiceError("a", "r.a", "x"), ServiceError("b", "r.b", "y")])
    combined = together([first, ServiceError("c", "r.c", "z")])
    assert [e.field for e in combined.errors] == ["a", "b", "c"]
    assert all(not e.further for e in combined.errors[1:])
    assert combined.detail == "a: x (r.a)"
    with pytest.raises(ValueError):
        together([])
