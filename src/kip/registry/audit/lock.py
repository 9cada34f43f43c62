"""The chain lock: one appender at a time, so no two entries chain onto the same head.

SQLite needs nothing here: its write transactions are BEGIN IMMEDIATE, one writer at a time. On
PostgreSQL a transaction-scoped advisory lock plays that part. It is taken when a clinical
transaction begins (audit_context), not just before the head is read: Django's foreign keys are
checked at COMMIT, and a writer that took the lock only at its first append could hold row locks
another writer's COMMIT waits for while itself waiting for the lock (a deadlock the crash test
found with two writers).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

# Any constant works as long as nothing else in the database uses it; this one spells "kipaudit".
CHAIN_LOCK = 0x6B69706175646974


def lock_chain(using: str = DEFAULT_DB_ALIAS) -> None:
    """Hold the chain lock until the current transaction ends (re-taking it is harmless)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
