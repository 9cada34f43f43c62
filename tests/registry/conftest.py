"""Registry test fixtures: an author for clinical writes, and scratch databases for tests that
run kip in other processes (the CLI, the crash test)."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import User

from kip.registry.audit.context import AuditContext, audit_context


@pytest.fixture
def author(db: None) -> User:
    return User.objects.create_user("author", password="x-unused-x")


@pytest.fixture
def audited(author: User) -> Iterator[AuditContext]:
    """Every clinical write needs an author: tests that set up rows do so under this context."""
    with audit_context(author, reason="test set-up", source="test") as ctx:
        yield ctx


@dataclass
class ScratchDatabase:
    """A database of the kind this test pass runs on, made for one test and not the test database
    pytest-django wraps in a transaction, so other processes can write to it."""

    url: str
    vendor: str
    dsn: str = ""
    path: Path | None = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.path is not None:
            with sqlite3.connect(self.path) as connection:
                return connection.execute(sql, params).fetchall()
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            cursor = connection.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def script(self, statements: Sequence[str]) -> None:
        """Run statements in one transaction (used to go around the triggers on purpose)."""
        if self.path is not None:
            connection = sqlite3.connect(self.path, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                for sql in statements:
                    connection.execute(sql)
                connection.execute("COMMIT")
            finally:
                connection.close()
            return
        with psycopg.connect(self.dsn) as connection:
            for sql in statements:
                connection.execute(sql)  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        return os.environ | {"KIP_DATABASE_URL": self.url, "KIP_SECRET_KEY": "scratch-test-key"}


@pytest.fixture
def scratch_database(tmp_path: Path) -> Iterator[ScratchDatabase]:
    default = settings.DATABASES["default"]
    if default["ENGINE"].endswith("sqlite3"):
        path = tmp_path / "scratch.sqlite3"
        yield ScratchDatabase(url=f"sqlite:///{path}", vendor="sqlite", path=path)
        return
    # PostgreSQL being down fails here, loudly: these tests are part of the PostgreSQL pass.
    name = f"kip_scratch_{secrets.token_hex(4)}"
    server = " ".join(
        f"{key}={value}"
        for key, value in {
            "host": default["HOST"],
            "port": default["PORT"],
            "user": default["USER"],
            "password": default["PASSWORD"],
        }.items()
        if value
    )
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    user, password = default["USER"], default["PASSWORD"]
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    url = f"postgresql://{credentials}{default['HOST']}:{default['PORT'] or 5432}/{name}"
    try:
        yield ScratchDatabase(url=url, vendor="postgresql", dsn=f"{server} dbname={name}")
    finally:
        with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
