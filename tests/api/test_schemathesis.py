"""Schemathesis against the API's own OpenAPI schema, in-process over WSGI, as a signed-in
physician with seeded data: no 5xx, and every response matches the schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import Case

from kip.api.auth import make_token
from kip.api.main import api
from service_world import World, responded, running

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api_only_urls")]

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = WSGIHandler()


@pytest.fixture
def token(world: World) -> Iterator[str]:
    # Django closes "old" connections at each request's start and end; inside the test's
    # transaction that would drop it, so the test client's own switch-off is copied here.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        responded(world.nurse, world.patient)
        running(world.other_nurse, world.other_patient)
        yield make_token(world.physician)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
    derandomize=True,
)
def test_the_api_conforms_to_its_schema(case: Case, token: str) -> None:
    # A request can be schema-valid and still refused by a clinical rule (a rate above the hard
    # limit, a second open infusion): 422/409 with field and rule is the right answer there, so
    # schemathesis' "valid data must be accepted" check does not apply; every other check does.
    # Schemathesis also sends bad credentials on purpose (expecting 401): each case starts with
    # none counted, or the login throttle would answer a later case 429.
    cache.clear()
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
