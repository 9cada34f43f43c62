"""The chain lock on PostgreSQL in real transactions (kip.registry.audit.lock): each clinical
write takes the advisory lock once, as it begins, and every entry chains onto the one committed
before it, with writers racing, with savepoints rolled back, and when a lock wait gives up.

These tests commit for real (transaction=True): under pytest-django's usual wrapping transaction
every write would be a savepoint of one transaction that already holds the lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext

from kip.registry.audit.chain import GENESIS, verify
from kip.registry.audit.context import audit_context
from kip.registry.audit.lock import CHAIN_LOCK
from kip.registry.audit.models import AuditEntry
from kip.registry.models import Site

pytestmark = pytest.mark.django_db(transaction=True)

LOCK = "SELECT pg_advisory_xact_lock("  # as logged, with its value
HEAD_READ = 'SELECT "sequence", "hash" FROM "registry_auditentry"'


@pytest.fixture(autouse=True)
def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the advisory chain lock is PostgreSQL's; SQLite writes one at a time")


@pytest.fixture
def author() -> Iterator[User]:
    yield User.objects.create_user("author", password="x-unused-x")


def add_site(author: User, code: str) -> Site:
    with audit_context(author, source="test"):
        return Site.objects.create(code=code, name=f"Site {code}")


def entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("sequence"))


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


def test_a_write_takes_the_lock_once_and_chains_onto_the_last_entry(author: User) -> None:
    first = add_site(author, "a")
    with CaptureQueriesContext(connection) as captured:
        add_site(author, "b")
    sql = statements(captured)
    assert sum(s.startswith(LOCK) for s in sql) == 1, sql
    assert sum(s.startswith(HEAD_READ) for s in sql) == 1, sql
    assert sql.index(next(s for s in sql if s.startswith(LOCK))) < sql.index(
        next(s for s in sql if s.startswith(HEAD_READ))
    )
    before, after = entries()[-2:]
    assert before.object_id == str(first.pk)
    assert (after.sequence, after.previous_hash) == (before.sequence + 1, before.hash)
    assert verify().ok


def test_the_first_entry_of_an_empty_chain_follows_genesis(author: User) -> None:
    assert not AuditEntry.objects.exists()  # transactional tests start from emptied tables
    add_site(author, "first")
    (entry,) = entries()
    assert (entry.sequence, entry.previous_hash) == (1, GENESIS)
    assert verify().ok


@pytest.mark.parametrize("outer_first", [True, False], ids=["outer-appends-first", "inner-first"])
def test_an_append_after_a_rolled_back_savepoint_chains_onto_what_was_kept(
    author: User, outer_first: bool
) -> None:
    """An append inside a savepoint that is rolled back leaves no later append chained onto the
    lost entry."""
    add_site(author, "before")
    with audit_context(author, source="test"):
        if outer_first:
            Site.objects.create(code="kept-1", name="Kept")
        with pytest.raises(RuntimeError), audit_context(author, source="test"):
            Site.objects.create(code="lost", name="Rolled back")
            raise RuntimeError("undo the savepoint")
        Site.objects.create(code="kept-2", name="Kept")
    assert not Site.objects.filter(code="lost").exists()
    chain = entries()
    assert [e.sequence for e in chain] == list(range(1, len(chain) + 1))
    assert verify().ok


def test_a_lock_wait_that_times_out_is_a_database_error_and_stores_nothing(author: User) -> None:
    add_site(author, "a")
    dsn = connection.get_connection_params()
    holder = psycopg.connect(
        **{k: v for k, v in dsn.items() if k in ("dbname", "user", "host", "port", "password")}
    )
    try:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])  # held until rollback
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        with pytest.raises(DatabaseError, match="lock timeout"):
            add_site(author, "blocked")
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    add_site(author, "after")  # the connection is usable again
    assert sorted(Site.objects.values_list("code", flat=True)) == ["a", "after"]
    assert verify().ok


def test_concurrent_writers_each_chain_onto_the_entry_committed_before(author: User) -> None:
    writers, writes = 4, 8
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(index: int) -> None:
        try:
            start.wait()
            for n in range(writes):
                add_site(author, f"w{index}-{n}")
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    chain = entries()
    assert len(chain) == writers * writes
    assert [e.sequence for e in chain] == list(range(1, writers * writes + 1))
    assert verify().ok
