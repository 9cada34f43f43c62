"""Prepared queries return what iterating the queryset returns: the same rows, the same field
values, the same related objects already loaded. The hot-path queries are compared with the ORM
on a world with real rows, on whichever database this pass runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kip.api import auth
from kip.registry.audit import audit_context
from kip.registry.models import (
    AdverseEvent,
    CheckResult,
    Enrolment,
    ExclusionClearance,
    FollowUp,
    Infusion,
    Membership,
    ServiceInterruption,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import FollowUpStatus, InfusionStatus, Resolution
from kip.registry.prepared import NotPreparable, Prepared
from kip.registry.services import common, engine_io, events, sessions
from service_world import DAY, World, build_world, responded, running

pytestmark = pytest.mark.django_db


def values(obj: Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def loaded(obj: Model, path: str) -> Any:
    """The related object `path` (a__b) as cached on obj, without a query (None if not cached)."""
    target: Any = obj
    for name in path.split("__"):
        field = target._meta.get_field(name)
        if not field.is_cached(target):
            return None
        target = field.get_cached_value(target)
    return target


@pytest.fixture
def world() -> World:
    world = build_world()
    # A first infusion with its 24-hour call, a second one running; a cleared exclusion; a
    # program-wide interruption, one at this site and one at the other site.
    responded(world.nurse, world.patient)
    infusion = running(world.nurse, world.patient, DAY + timedelta(days=7))
    with audit_context(world.admin, reason="test set-up", source="test"):
        ExclusionClearance.objects.create(
            patient=world.patient,
            exclusion_id="diabetes_mellitus",
            protocol_id="mskcc-2021",
            cleared_by=world.physician,
            reason="reviewed: controlled",
        )
        for site, start in ((None, date(2020, 3, 16)), (world.site, date(2019, 12, 23))):
            ServiceInterruption.objects.create(site=site, starts_on=start, reason="closed")
        ServiceInterruption.objects.create(
            site=world.other_site, starts_on=date(2019, 1, 1), reason="elsewhere"
        )
    for minute, rate in ((0, 10), (30, 15), (60, 20)):
        sessions.record_rate(world.nurse, infusion.pk, minute, rate)
    for at, spo2 in ((20.0, 97), (20.0, 96), (45.5, 98), (50.0, 99)):
        sessions.record_vitals(world.nurse, infusion.pk, at, spo2_pct=spo2)
    events.report_adverse_event(world.nurse, infusion.pk, "nausea", 65)
    events.report_adverse_event(world.nurse, infusion.pk, "dizziness", 66)
    return world


def infusion_id(world: World) -> tuple[int]:
    return (Infusion.objects.get(patient=world.patient, status=InfusionStatus.RUNNING).pk,)


def patient_id(world: World) -> tuple[int]:
    return (world.patient.pk,)


# (name, prepared query, the ORM queryset for the same arguments, related paths, the arguments)
CASES: list[
    tuple[
        str,
        Prepared[Any],
        Callable[..., Iterable[Any]],
        tuple[str, ...],
        Callable[[World], tuple[Any, ...]],
    ]
] = [
    (
        "infusion with patient, site and enrolment",
        common._INFUSION,
        lambda pk: Infusion.objects.select_related("patient__site", "enrolment").filter(
            pk=pk, patient__archived_at__isnull=True
        ),
        ("patient", "patient__site", "enrolment"),
        infusion_id,
    ),
    (
        "rate log in titrate's order",
        engine_io._STEPS,
        lambda pk: TitrationStep.objects.filter(infusion_id=pk).order_by("minute", "pk"),
        (),
        infusion_id,
    ),
    (
        "ongoing adverse events in onset order",
        engine_io._ONGOING_EVENTS,
        lambda pk: AdverseEvent.objects.filter(
            infusion_id=pk, resolution=Resolution.ONGOING
        ).order_by("onset_minute", "pk"),
        (),
        infusion_id,
    ),
    (
        "a token user's memberships with the user",
        auth._MEMBERSHIPS_WITH_USER,
        lambda pk: Membership.objects.select_related("user").filter(
            user_id=pk, user__is_active=True
        ),
        ("user",),
        lambda world: (world.nurse.pk,),
    ),
    *[
        (
            f"latest vitals at or before minute {minute}",
            engine_io._LATEST_VITALS,
            lambda pk, minute: VitalSigns.objects.filter(
                infusion_id=pk, minute__lte=minute
            ).order_by("-minute", "-pk")[:1],
            (),
            lambda world, minute=minute: (*infusion_id(world), Decimal(minute)),
        )
        # Two sets at minute 20 (the later one wins), one at 45.5; 20.0 and 45.5 are exact hits.
        for minute in ("20", "20.0", "44.9", "45.5", "300")
    ],
    (
        "infusions given, oldest first",
        engine_io._GIVEN,
        lambda pk: Infusion.objects.filter(patient_id=pk, status__in=engine_io.GIVEN).order_by(
            "number"
        ),
        (),
        patient_id,
    ),
    (
        "infusions given before the second",
        engine_io._GIVEN_BEFORE,
        lambda pk, number: Infusion.objects.filter(
            patient_id=pk, status__in=engine_io.GIVEN, number__lt=number
        ).order_by("number"),
        (),
        lambda world: (world.patient.pk, 2),
    ),
    (
        "assessing follow-ups with their infusion",
        engine_io._ASSESSING_FOLLOW_UPS,
        lambda pk: (
            FollowUp.objects.select_related("infusion")
            .filter(
                infusion__patient_id=pk,
                status=FollowUpStatus.DONE,
                kind__in=engine_io.ASSESSING,
            )
            .order_by()
        ),
        ("infusion",),
        patient_id,
    ),
    (
        "check results of an infusion",
        engine_io._CHECK_RESULTS,
        lambda pk: CheckResult.objects.filter(infusion_id=pk).order_by("pk"),
        (),
        infusion_id,
    ),
    (
        "cleared exclusions",
        engine_io._CLEARANCES,
        lambda pk: ExclusionClearance.objects.filter(patient_id=pk).order_by("exclusion_id"),
        (),
        patient_id,
    ),
    (
        "interruptions of the program and of this site, not another's",
        engine_io._INTERRUPTIONS,
        lambda pk: sorted(
            [
                *ServiceInterruption.objects.filter(site__isnull=True),
                *ServiceInterruption.objects.filter(site_id=pk),
            ],
            key=lambda s: (s.starts_on, s.pk),
        ),
        (),
        lambda world: (world.site.pk,),
    ),
    (
        "enrolments, latest first",
        engine_io._ENROLMENTS_LATEST_FIRST,
        lambda pk: Enrolment.objects.filter(patient_id=pk).order_by("-started_on", "-pk"),
        (),
        patient_id,
    ),
]


@pytest.mark.parametrize(
    ("name", "prepared", "orm", "related", "arg"), CASES, ids=[c[0] for c in CASES]
)
def test_prepared_query_returns_what_the_orm_returns(
    world: World,
    name: str,
    prepared: Prepared[Any],
    orm: Callable[..., Iterable[Any]],
    related: tuple[str, ...],
    arg: Callable[[World], tuple[Any, ...]],
) -> None:
    args = arg(world)
    expected = list(orm(*args))
    got = prepared(*args)
    assert expected, "the world has rows for this query"
    assert [type(o) for o in got] == [type(o) for o in expected]
    assert [values(o) for o in got] == [values(o) for o in expected]
    for obj, reference in zip(got, expected, strict=True):
        assert obj._state.adding is False
        assert obj._state.db == reference._state.db
        for path in related:
            cached = loaded(obj, path)
            assert cached is not None, f"{path} is loaded with the row"
            assert values(cached) == values(loaded(reference, path) or next(iter(orm(*args))))
    # Run again: the second call uses the kept SQL and asks exactly one query.
    with CaptureQueriesContext(connection) as queries:
        assert [values(o) for o in prepared(*args)] == [values(o) for o in expected]
    assert len(queries) == 1


def test_no_vitals_before_the_first_set(world: World) -> None:
    (pk,) = infusion_id(world)
    assert engine_io._LATEST_VITALS(pk, Decimal("19.9")) == []
    latest = engine_io._LATEST_VITALS(pk, Decimal("20"))
    assert [v.spo2_pct for v in latest] == [96]  # the later of the two sets at minute 20


def test_a_number_that_is_not_finite_is_refused(world: World) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        engine_io._LATEST_VITALS(1, Decimal("NaN"))


@pytest.mark.parametrize("pk", [0, -1, 10**9, 2**63, -(2**63) - 1, 10**30])
def test_an_id_nothing_has_finds_nothing(world: World, pk: int) -> None:
    assert common._INFUSION(pk) == []
    assert engine_io._STEPS(pk) == []


def test_an_archived_patients_infusion_is_not_found_as_before(world: World) -> None:
    (pk,) = infusion_id(world)
    infusion = Infusion.objects.get(pk=pk)
    assert common._INFUSION(infusion.pk)
    # The filter on archived_at is part of the kept SQL.
    with audit_context(world.admin, reason="archived for the test", source="test"):
        world.patient.archived_at = timezone.now()
        world.patient.save()
    assert common._INFUSION(infusion.pk) == []


@pytest.mark.parametrize(
    ("build", "arity", "message"),
    [
        (lambda pk: Infusion.objects.filter(pk=pk).values("id"), 1, "whole model instances"),
        (
            lambda pk: Infusion.objects.filter(pk=pk).extra(select={"x": "1"}),
            1,
            "annotations or extra columns",
        ),
        (lambda pk: Infusion.objects.filter(pk=1), 1, "do not reach the SQL"),
        (
            lambda pk: (
                Infusion.objects.filter(pk=pk) if pk < 2000 else Infusion.objects.filter(pk__gt=pk)
            ),
            1,
            "SQL changes with its arguments",
        ),
        (lambda pk: Infusion.objects.filter(pk=pk + 1), 1, "other than by value"),
        (lambda n: Infusion.objects.filter(number__lt=-n), 1, "make Django drop a condition"),
    ],
    ids=[
        "values",
        "extra select",
        "unused argument",
        "shape depends on the value",
        "computed parameter",
        "impossible stand-in",
    ],
)
def test_a_query_it_cannot_keep_is_refused(build: Any, arity: int, message: str) -> None:
    with pytest.raises(NotPreparable, match=message):
        Prepared(build, arity=arity)(1)


def test_the_wrong_number_of_arguments_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected 1 arguments, got 2"):
        common._INFUSION(1, 2)
