"""The write path's query budget: a rate and a set of vitals through the API each cost a fixed,
small number of SQL queries (token, memberships, infusion, the engine's reads, the audited
write). A regression here shows up in bench/api_profile.py and bench/api_load.py as lost
throughput, so the counts are pinned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import Infusion, Membership, TitrationStep, VitalSigns
from kip.registry.models.choices import Role
from kip.registry.services import admin, sessions
from service_world import World, running

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api_only_urls")]

# The token's user with their memberships (one join, for the route's check and the site check),
# the infusion; the engine's reads (rate log, ongoing events, and for a rate the latest vitals);
# the row, the audit chain head and the audit row. Rates read the infusion's status again and the
# log once, inside the write, and hand the log on to the next step; vitals hand on the row just
# written. Transaction control is not
# counted here: savepoints inside a test's transaction; see the committed test below for
# production's.
RATE_QUERIES = 9
VITALS_QUERIES = 7
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")
# PostgreSQL takes the audit chain's advisory lock once, as the write begins; the append knows it
# is held (kip.registry.audit.lock). SQLite's BEGIN IMMEDIATE needs no lock query.
CHAIN_LOCKS = {"postgresql": 1}


def post(client: Client, url: str, body: dict[str, Any]) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, body, content_type="application/json")
    assert response.status_code == 201, response.content
    sql = [q["sql"] for q in captured.captured_queries]
    return response.json(), [q for q in sql if not q.startswith(TRANSACTION_CONTROL)]


def charting(world: World, client_for: Callable[[User], Client]) -> tuple[Infusion, Client, str]:
    """A running infusion at 10 mg/h from minute 0, its nurse's API client and its API path."""
    infusion = running(world.nurse, world.patient)
    nurse = client_for(world.nurse)
    url = f"/api/infusions/{infusion.pk}"
    post(nurse, f"{url}/rates", {"minute": 0, "rate_mg_per_h": 10})
    return infusion, nurse, url


def test_a_rate_and_vitals_write_stay_within_their_query_budget(
    world: World, client_for: Callable[[User], Client]
) -> None:
    infusion, nurse, url = charting(world, client_for)
    post(nurse, f"{url}/vitals", {"minute": 15, "heart_rate_bpm": 80})
    rate, rate_sql = post(nurse, f"{url}/rates", {"minute": 30, "rate_mg_per_h": 15})
    vitals, vitals_sql = post(nurse, f"{url}/vitals", {"minute": 31, "heart_rate_bpm": 82})
    locks = CHAIN_LOCKS.get(connection.vendor, 0)
    assert len(rate_sql) == RATE_QUERIES + locks, rate_sql
    assert len(vitals_sql) == VITALS_QUERIES + locks, vitals_sql
    assert rate["classification"]["classification"] == "ok"
    # The next steps handed on from the write are the ones a fresh read of the session gives.
    for answer, minute in ((rate, 30), (vitals, 31)):
        fresh = sessions.next_step(world.nurse, infusion.pk, minute)
        assert fresh is not None
        assert answer["next_step"] == fresh.model_dump(mode="json")
    assert vitals["next_step"]["rate_mg_per_h"] == 15
    assert TitrationStep.objects.filter(infusion=infusion).count() == 2
    assert VitalSigns.objects.filter(infusion=infusion).count() == 2


def test_memberships_are_read_again_for_every_request(
    world: World, client_for: Callable[[User], Client]
) -> None:
    """The memberships the API's authentication reads are kept for one request only: a role
    taken away between two requests refuses the second one."""
    infusion = running(world.nurse, world.patient)
    nurse = client_for(world.nurse)
    url = f"/api/infusions/{infusion.pk}/vitals"
    post(nurse, url, {"minute": 5, "heart_rate_bpm": 80})
    membership = Membership.objects.get(user=world.nurse, site=world.site)
    admin.change_role(world.admin, membership.pk, Role.RESEARCHER, reason="moved to research")
    response = nurse.post(url, {"minute": 6}, content_type="application/json")
    assert response.status_code == 403, response.content
    assert not access.can(world.nurse, Action.RUN_INFUSION, world.site)
    admin.change_role(world.admin, membership.pk, Role.NURSE, reason="back on the unit")
    post(nurse, url, {"minute": 7, "heart_rate_bpm": 81})
    assert access.can(world.nurse, Action.RUN_INFUSION, world.site)


# In production each write is its own transaction, which the tests above never see (pytest-django
# wraps them in one). Django logs BEGIN as the transaction opens (SQLite's BEGIN IMMEDIATE takes
# the write lock; on PostgreSQL psycopg sends BEGIN with the next statement, the chain lock) and
# COMMIT as it ends.
COMMITTED_VITALS = {
    "postgresql": [
        *("memberships", "infusion", "BEGIN", "lock", "insert", "head", "audit", "COMMIT"),
        *("steps", "events"),
    ],
    "sqlite": [
        *("memberships", "infusion", "BEGIN IMMEDIATE", "insert", "head", "audit", "COMMIT"),
        *("steps", "events"),
    ],
}


def kind_of(sql: str) -> str:
    """What a logged statement asks, by its start."""
    kinds = (
        ("SELECT pg_advisory_xact_lock(", "lock"),
        ('SELECT "registry_membership"', "memberships"),
        ('SELECT "registry_infusion"', "infusion"),
        ('INSERT INTO "registry_vitalsigns"', "insert"),
        ('SELECT "sequence", "hash" FROM "registry_auditentry"', "head"),
        ('INSERT INTO "registry_auditentry"', "audit"),
        ('SELECT "registry_titrationstep"', "steps"),
        ('SELECT "registry_adverseevent"', "events"),
    )
    return next((kind for prefix, kind in kinds if sql.startswith(prefix)), sql)


@pytest.mark.django_db(transaction=True)
def test_a_committed_vitals_write_sends_the_statements_production_sends(
    world: World, client_for: Callable[[User], Client]
) -> None:
    infusion, nurse, url = charting(world, client_for)
    with CaptureQueriesContext(connection) as captured:
        response = nurse.post(
            f"{url}/vitals", {"minute": 1, "heart_rate_bpm": 80}, content_type="application/json"
        )
    assert response.status_code == 201, response.content
    sent = [kind_of(q["sql"]) for q in captured.captured_queries]
    assert sent == COMMITTED_VITALS[connection.vendor]
    assert VitalSigns.objects.filter(infusion=infusion).count() == 1
