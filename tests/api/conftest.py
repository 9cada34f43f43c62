"""API test set-up: the service world, and clients that call as one of its users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from kip.api.auth import make_token
from service_world import FAST_HASHERS, World, build_world


@pytest.fixture
def world(settings: Settings) -> World:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world()


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")

    return make
