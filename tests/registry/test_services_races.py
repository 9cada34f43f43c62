"""Decisions taken on what is stored when the write commits: two users acting on one infusion at
the same moment are judged one after the other, not both on what was there before either wrote.

Each service reads what it decides on inside its write transaction, which every other clinical
write waits for (the chain lock on PostgreSQL). The tests make the race certain: another session
holds the chain lock while the two calls start, one after the other, so both have read whatever
they read outside the lock and queue on it in order; then the lock is let go.

The races run on PostgreSQL only: pytest-django's SQLite test database lives in memory, where
writers queue on SQLite's shared-cache locks rather than on the writer-lock file a real database
uses. On both databases, the last test checks where each decision's reads fall: between the
transaction's BEGIN (BEGIN IMMEDIATE on SQLite, then the chain lock on PostgreSQL) and its COMMIT.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext, override_settings

from kip.registry.audit.chain import verify
from kip.registry.audit.lock import CHAIN_LOCK
from kip.registry.models import (
    AdverseEvent,
    DeviationRequest,
    FollowUp,
    Infusion,
    MedicationDose,
    TitrationStep,
)
from kip.registry.models.choices import Resolution
from kip.registry.services import deviations, events, sessions
from kip.registry.services.errors import Conflict, ServiceError
from service_world import FAST_HASHERS, World, build_world, running

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is in memory; see the module's docstring")


@pytest.fixture
def world() -> Iterator[World]:
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        yield build_world()


@pytest.fixture
def started(world: World) -> Infusion:
    infusion = running(world.nurse, world.patient)
    sessions.record_rate(world.nurse, infusion.pk, 0, 10)
    return infusion


def _session() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    keys = ("dbname", "user", "host", "port", "password")
    return psycopg.connect(**{k: v for k, v in params.items() if k in keys})


def _waiting(observer: psycopg.Connection[Any]) -> int:
    """Sessions of this test database waiting for the chain lock (pg_locks lists every
    database's; a bigint key is split into classid, its high half, and objid, its low half)."""
    row = observer.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database() "
        "AND l.classid::bigint = %s AND l.objid::bigint = %s",
        [CHAIN_LOCK >> 32, CHAIN_LOCK & 0xFFFFFFFF],
    ).fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def chain_lock_held() -> Iterator[psycopg.Connection[Any]]:
    holder = _session()
    observer = _session()
    observer.autocommit = True
    try:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        yield observer
    finally:
        holder.rollback()
        holder.close()
        observer.close()


def queued(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads that queue on the chain lock in the order given; each one's
    result, or the exception it raised."""
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception as exc:  # the outcome under test
            results[index] = exc
        finally:
            connections.close_all()

    threads = []
    with chain_lock_held() as observer:
        for index in range(len(calls)):
            thread = threading.Thread(target=run, args=(index,))
            thread.start()
            threads.append(thread)
            deadline = time.monotonic() + 20
            while _waiting(observer) < index + 1:
                assert time.monotonic() < deadline, "a call never queued on the chain lock"
                time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.usefixtures("postgresql_only")
def test_two_physicians_approving_one_request_store_one_rate(
    world: World, started: Infusion
) -> None:
    asked = deviations.request_deviation(world.nurse, started.pk, 10, 15, reason="pain 9/10")
    request = asked.request.pk
    first, second = queued(
        lambda: deviations.approve_deviation(world.physician, request, reason="at the bedside"),
        lambda: deviations.approve_deviation(world.physician, request, reason="double click"),
    )
    assert isinstance(first, deviations.DeviationApproved), first
    assert isinstance(second, Conflict), second
    assert "already approved" in second.detail
    assert list(
        TitrationStep.objects.filter(infusion=started).values_list("minute", flat=True)
    ) == [
        Decimal("0.0"),
        Decimal("10.0"),
    ]
    assert verify().ok


@pytest.mark.usefixtures("postgresql_only")
def test_a_physician_declining_as_another_approves_leaves_one_decision(
    world: World, started: Infusion
) -> None:
    request = deviations.request_deviation(
        world.nurse, started.pk, 10, 15, reason="pain 9/10"
    ).request.pk
    first, second = queued(
        lambda: deviations.decline_deviation(world.physician, request, reason="wait for review"),
        lambda: deviations.approve_deviation(world.physician, request, reason="at the bedside"),
    )
    assert isinstance(first, DeviationRequest), first
    assert isinstance(second, Conflict), second
    assert DeviationRequest.objects.get(pk=request).status == "declined"
    assert TitrationStep.objects.filter(infusion=started).count() == 1


@pytest.mark.usefixtures("postgresql_only")
def test_two_nurses_asking_at_once_leave_one_request(world: World, started: Infusion) -> None:
    first, second = queued(
        lambda: deviations.request_deviation(world.nurse, started.pk, 10, 15, reason="pain 9"),
        lambda: deviations.request_deviation(world.nurse, started.pk, 10, 15, reason="pain 9"),
    )
    assert isinstance(first, deviations.DeviationRequested), first
    assert isinstance(second, Conflict), second
    assert DeviationRequest.objects.filter(infusion=started).count() == 1


@pytest.mark.usefixtures("postgresql_only")
def test_a_rate_set_as_a_later_one_is_stored_is_judged_on_the_later_one(
    world: World, started: Infusion
) -> None:
    """Each alone is a valid rate after 10 mg/h at minute 0; stored first, the rate at minute 40
    makes the one at minute 35 a change before the last, which the protocol's log refuses."""
    first, second = queued(
        lambda: sessions.record_rate(world.nurse, started.pk, 40, 15),
        lambda: sessions.record_rate(world.nurse, started.pk, 35, 15),
    )
    assert isinstance(first, sessions.RateRecorded), first
    assert isinstance(second, ServiceError), second
    assert second.rule == "session.rate_order"
    minutes = TitrationStep.objects.filter(infusion=started).values_list("minute", flat=True)
    assert sorted(minutes) == [Decimal("0.0"), Decimal("40.0")]


@pytest.mark.usefixtures("postgresql_only")
def test_a_second_dose_given_at_once_is_judged_on_the_first(
    world: World, started: Infusion
) -> None:
    """IV lorazepam is given once (max_doses 1): a double click gives it once."""
    event = events.report_adverse_event(world.nurse, started.pk, "restlessness", 15).event
    first, second = queued(
        lambda: events.give_prn(world.nurse, event.pk, "lorazepam-iv", 15, can_take_oral=False),
        lambda: events.give_prn(world.nurse, event.pk, "lorazepam-iv", 16, can_take_oral=False),
    )
    assert isinstance(first, events.PrnGiven), first
    assert isinstance(second, ServiceError), second
    assert second.rule == "adverse_events.prn.lorazepam-iv.max_doses"
    assert MedicationDose.objects.filter(infusion=started, kind="prn").count() == 1


@pytest.mark.usefixtures("postgresql_only")
def test_an_infusion_ended_twice_at_once_ends_once(world: World, started: Infusion) -> None:
    first, second = queued(
        lambda: sessions.end_infusion(world.nurse, started.pk),
        lambda: sessions.end_infusion(world.nurse, started.pk),
    )
    assert isinstance(first, sessions.Ended), first
    assert isinstance(second, ServiceError), second
    calls = FollowUp.objects.filter(infusion=started)
    assert calls.count() == len(first.follow_ups) > 0


@pytest.mark.usefixtures("postgresql_only")
def test_no_rate_is_set_on_an_infusion_that_ended_first(world: World, started: Infusion) -> None:
    """A rate is an order to the pump: refused once the infusion has ended. (Vitals and events
    charted as it ends are observations, and are kept.)"""
    ended, rate = queued(
        lambda: sessions.end_infusion(world.nurse, started.pk),
        lambda: sessions.record_rate(world.nurse, started.pk, 40, 15),
    )
    assert isinstance(ended, sessions.Ended), ended
    assert isinstance(rate, ServiceError), rate
    assert "completed" in rate.detail
    assert TitrationStep.objects.filter(infusion=started).count() == 1


@pytest.mark.usefixtures("postgresql_only")
def test_an_event_resolved_twice_at_once_keeps_the_first_resolution(
    world: World, started: Infusion
) -> None:
    event = events.report_adverse_event(world.nurse, started.pk, "nausea", 15).event
    first, second = queued(
        lambda: events.resolve_adverse_event(world.nurse, event.pk, 20, Resolution.PRN_MEDICATION),
        lambda: events.resolve_adverse_event(world.nurse, event.pk, 25, Resolution.SELF_RESOLVED),
    )
    assert isinstance(first, AdverseEvent), first
    assert isinstance(second, Conflict), second
    event.refresh_from_db()
    assert (event.resolution, event.resolved_minute) == (Resolution.PRN_MEDICATION, Decimal("20.0"))


def _request(w: World, infusion: Infusion) -> int:
    return deviations.request_deviation(w.nurse, infusion.pk, 10, 15, reason="pain 9").request.pk


def _restless(w: World, infusion: Infusion) -> int:
    return events.report_adverse_event(w.nurse, infusion.pk, "restlessness", 15).event.pk


def _none(w: World, infusion: Infusion) -> int:
    return 0


@dataclass(frozen=True)
class Decision:
    set_up: Callable[[World, Infusion], int]  # the id `act` acts on (a request, an event)
    act: Callable[[World, Infusion, int], object]
    read: str  # the start of the read the decision rests on


DECISIONS = {
    "rate": Decision(
        _none,
        lambda w, infusion, _: sessions.record_rate(w.nurse, infusion.pk, 40, 15),
        'SELECT "registry_titrationstep"',
    ),
    "rate status": Decision(
        _none,
        lambda w, infusion, _: sessions.record_rate(w.nurse, infusion.pk, 40, 15),
        'SELECT "registry_infusion"."id", "registry_infusion"."status" FROM',
    ),
    "request": Decision(
        _none,
        lambda w, infusion, _: deviations.request_deviation(
            w.nurse, infusion.pk, 10, 15, reason="pain 9"
        ),
        'SELECT 1 AS "a" FROM "registry_deviationrequest"',
    ),
    "approve": Decision(
        _request,
        lambda w, _, request: deviations.approve_deviation(w.physician, request, reason="ok"),
        'SELECT "registry_deviationrequest"."id", "registry_deviationrequest"."status" FROM',
    ),
    "prn": Decision(
        _restless,
        lambda w, _, event: events.give_prn(
            w.nurse, event, "lorazepam-iv", 15, can_take_oral=False
        ),
        'SELECT "registry_medicationdose"',
    ),
    "resolve": Decision(
        _restless,
        lambda w, _, event: events.resolve_adverse_event(
            w.nurse, event, 20, Resolution.SELF_RESOLVED
        ),
        'SELECT "registry_adverseevent"."id", "registry_adverseevent"."resolution" FROM',
    ),
    "end": Decision(
        _none,
        lambda w, infusion, _: sessions.end_infusion(w.nurse, infusion.pk),
        'SELECT "registry_infusion"."id", "registry_infusion"."status" FROM',
    ),
}


@pytest.mark.parametrize("name", DECISIONS)
def test_what_a_write_decides_on_is_read_inside_its_transaction(
    world: World, started: Infusion, name: str
) -> None:
    decision = DECISIONS[name]
    target = decision.set_up(world, started)
    with CaptureQueriesContext(connection) as captured:
        decision.act(world, started, target)
    sql = [q["sql"] for q in captured.captured_queries]
    begin = next(i for i, q in enumerate(sql) if q.startswith("BEGIN"))
    if connection.vendor == "postgresql":
        assert sql[begin + 1].startswith("SELECT pg_advisory_xact_lock("), sql
    commit = sql.index("COMMIT")
    reads = [i for i, q in enumerate(sql) if q.startswith(decision.read)]
    assert reads, sql
    assert all(begin < i < commit for i in reads), sql
