"""Shared test setup. Database tests carry the `django_db` mark: `make test` runs them on SQLite,
then again on PostgreSQL (KIP_DATABASE_URL) with `-m django_db`."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any


def _lift_append_only_triggers_for_flush() -> None:
    """Transactional tests (live_server, django_db(transaction=True)) empty every table after each
    test, with DELETE on SQLite and TRUNCATE on PostgreSQL. The append-only triggers refuse both,
    as they must in production; here they are dropped for the flush only and put back."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    triggers = importlib.import_module("kip.registry.migrations.0003_append_only_triggers")
    flush = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: BaseDatabaseOperations, sql_list: Sequence[str]) -> None:
        create, drop = triggers.STATEMENTS[self.connection.vendor]
        with self.connection.cursor() as cursor:
            for sql in drop:
                cursor.execute(sql)
        try:
            flush(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                for sql in create:
                    cursor.execute(sql)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]


def pytest_configure(config: Any) -> None:
    _lift_append_only_triggers_for_flush()
