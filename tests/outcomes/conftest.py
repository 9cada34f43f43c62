"""Engines for the outcome tests. PostgreSQL is required, not optional: CI starts it, and a test
run that silently skipped it would claim cross-engine agreement it never checked."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

# The server CI starts (trust auth); override with libpq keywords for another one.
POSTGRES_ADMIN = os.environ.get(
    "KIP_OUTCOMES_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable ({POSTGRES_ADMIN}): {exc}".strip())


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database, dropped afterwards (FORCE closes the connection Ibis still holds)."""
    name = f"kip_outcomes_test_{secrets.token_hex(6)}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        info = admin.info
        url = f"postgresql://{info.user}@{info.host}:{info.port}/{name}"
    try:
        yield url
    finally:
        with _admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
