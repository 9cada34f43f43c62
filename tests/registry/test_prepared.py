"""Prepared queries return what iterating the queryset returns: the same rows, the same field
values, the same related objects already loaded. The hot-path queries are compared with the ORM
on a world with real rows, on whichever database this pass runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model, QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.service_world import World, build_world, running

from kip.api import auth
from kip.registry.audit import audit_context
from kip.registry.models import AdverseEvent, Infusion, Membership, TitrationStep
from kip.registry.models.choices import Resolution
from kip.registry.prepared import NotPreparable, Prepared
from kip.registry.services import common, engine_io, events, sessions

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
    infusion = running(world.nurse, world.patient)
    for minute, rate in ((0, 10), (30, 15), (60, 20)):
        sessions.record_rate(world.nurse, infusion.pk, minute, rate)
    events.report_adverse_event(world.nurse, infusion.pk, "nausea", 65)
    events.report_adverse_event(world.nurse, infusion.pk, "dizziness", 66)
    return world


# (name, prepared query, the ORM queryset for an argument, related paths, argument of the world)
CASES: list[tuple[str, Prepared[Any], Callable[[int], QuerySet[Any]], tuple[str, ...], str]] = [
    (
        "infusion with patient, site and enrolment",
        common._INFUSION,
        lambda pk: Infusion.objects.select_related("patient__site", "enrolment").filter(
            pk=pk, patient__archived_at__isnull=True
        ),
        ("patient", "patient__site", "enrolment"),
        "infusion",
    ),
    (
        "rate log in titrate's order",
        engine_io._STEPS,
        lambda pk: TitrationStep.objects.filter(infusion_id=pk).order_by("minute", "pk"),
        (),
        "infusion",
    ),
    (
        "ongoing adverse events in onset order",
        engine_io._ONGOING_EVENTS,
        lambda pk: AdverseEvent.objects.filter(
            infusion_id=pk, resolution=Resolution.ONGOING
        ).order_by("onset_minute", "pk"),
        (),
        "infusion",
    ),
    (
        "a token user's memberships with the user",
        auth._MEMBERSHIPS_WITH_USER,
        lambda pk: Membership.objects.select_related("user").filter(
            user_id=pk, user__is_active=True
        ),
        ("user",),
        "nurse",
    ),
]


def argument(world: World, name: str) -> int:
    if name == "nurse":
        return world.nurse.pk
    return Infusion.objects.get(patient=world.patient).pk


@pytest.mark.parametrize(
    ("name", "prepared", "orm", "related", "arg"), CASES, ids=[c[0] for c in CASES]
)
def test_prepared_query_returns_what_the_orm_returns(
    world: World,
    name: str,
    prepared: Prepared[Any],
    orm: Callable[[int], QuerySet[Any]],
    related: tuple[str, ...],
    arg: str,
) -> None:
    pk = argument(world, arg)
    expected = list(orm(pk))
    got = prepared(pk)
    assert expected, "the world has rows for this query"
    assert [type(o) for o in got] == [type(o) for o in expected]
    assert [values(o) for o in got] == [values(o) for o in expected]
    for obj, reference in zip(got, expected, strict=True):
        assert obj._state.adding is False
        assert obj._state.db == reference._state.db
        for path in related:
            cached = loaded(obj, path)
            assert cached is not None, f"{path} is loaded with the row"
            assert values(cached) == values(loaded(reference, path) or orm(pk)[0])
    # Run again: the second call uses the kept SQL and asks exactly one query.
    with CaptureQueriesContext(connection) as queries:
        assert [values(o) for o in prepared(pk)] == [values(o) for o in expected]
    assert len(queries) == 1


@pytest.mark.parametrize("pk", [0, -1, 10**9, 2**63, -(2**63) - 1, 10**30])
def test_an_id_nothing_has_finds_nothing(world: World, pk: int) -> None:
    assert common._INFUSION(pk) == []
    assert engine_io._STEPS(pk) == []


def test_an_archived_patients_infusion_is_not_found_as_before(world: World) -> None:
    infusion = Infusion.objects.get(patient=world.patient)
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
    ],
    ids=["values", "extra select", "unused argument"],
)
def test_a_query_it_cannot_keep_is_refused(build: Any, arity: int, message: str) -> None:
    with pytest.raises(NotPreparable, match=message):
        Prepared(build, arity=arity)(1)


def test_the_wrong_number_of_arguments_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected 1 arguments, got 2"):
        common._INFUSION(1, 2)
