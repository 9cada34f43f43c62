"""The chain lock: one appender at a time, so no two entries chain onto the same head.

On SQLite the write transactions are BEGIN IMMEDIATE, one writer at a time, which is the chain
lock. A writer that finds the database locked is put to sleep by SQLite's busy handler in steps
of 1, 2, 5, 10 ... 100 ms and retries, so under load writers idle while the database is free.
`locked_transaction` therefore first takes an exclusive flock on a file beside the database
(`<database>.writer-lock`): a waiting writer sleeps in the kernel and wakes the moment the other
commits, and only then issues its BEGIN IMMEDIATE. The flock is released after COMMIT (or
ROLLBACK), and by the kernel when a process dies. Writers that do not come through here (the
login throttle's cache, sessions, the CLI's own writes outside audit_context) still queue on
BEGIN IMMEDIATE as before; nothing waits for the flock while holding SQLite's write lock, since
it is only taken by a transaction that has not begun. A writer stuck holding it also holds
SQLite's lock; gunicorn's worker timeout ends such a worker, which releases both.

On PostgreSQL a transaction-scoped advisory lock plays that part. It is taken when a clinical
transaction begins (audit_context, through `locked_transaction`), not just before the head is
read: Django's foreign keys are checked at COMMIT, and a writer that took the lock only at its
first append could hold row locks another writer's COMMIT waits for while itself waiting for the
lock (a deadlock the crash test found with two writers). Checking the foreign keys at once (SET
CONSTRAINTS ALL IMMEDIATE) would not make a later lock safe either: a transaction that writes a
second row after its first append still takes that row's locks while holding the chain lock.

The append then knows the lock is held and asks for it no more: `locked_transaction` marks its
own atomic block on the connection as the holder, and the lock is held exactly as long as that
block is on the connection's stack. Leaving the block ends the transaction or rolls back to the
savepoint the lock was taken in, and either releases the lock; the mark is cleared there too.
A block is a fresh object per transaction and the mark keeps it alive, so a later block can never
be taken for it. Appends outside it (record_view, record_export) take the lock themselves.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# Any constant works as long as nothing else in the database uses it; this one spells "kipaudit".
CHAIN_LOCK = 0x6B69706175646974
_HOLDER = "_kip_chain_lock_holder"  # the connection attribute naming the block that holds it
_WRITER_FILE = "_kip_writer_lock_file"  # the connection attribute keeping (pid, fd)


def _held(connection: BaseDatabaseWrapper) -> bool:
    holder = getattr(connection, _HOLDER, None)
    return holder is not None and any(block is holder for block in connection.atomic_blocks)


def _take(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])


def lock_chain(using: str = DEFAULT_DB_ALIAS) -> None:
    """Hold the chain lock until the current transaction ends (a no-op when it is held)."""
    connection = connections[using]
    if connection.vendor == "postgresql" and not _held(connection):
        _take(connection)


def _writer_file(connection: BaseDatabaseWrapper) -> int | None:
    """This thread's descriptor of the SQLite database's writer-lock file (None in memory).

    A flock belongs to an open file description, so each process (gunicorn forks its workers)
    and each thread (each has its own connection object) opens the file itself."""
    if connection.is_in_memory_db():  # type: ignore[attr-defined]
        return None
    pid = os.getpid()
    kept: tuple[int, int] | None = getattr(connection, _WRITER_FILE, None)
    if kept is not None and kept[0] == pid:
        return kept[1]
    path = f"{connection.settings_dict['NAME']}.writer-lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    setattr(connection, _WRITER_FILE, (pid, fd))
    return fd


@contextmanager
def locked_transaction(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """transaction.atomic() that holds the chain lock from its start (on SQLite, after waiting
    for the writer-lock file when it begins a transaction rather than a savepoint)."""
    connection = connections[using]
    writer = (
        _writer_file(connection)
        if connection.vendor == "sqlite"
        and not connection.in_atomic_block
        and connection.get_autocommit()
        else None
    )
    if writer is None:
        with _chain_locked(connection, using):
            yield
        return
    fcntl.flock(writer, fcntl.LOCK_EX)
    try:
        with transaction.atomic(using=using):
            yield
    finally:
        fcntl.flock(writer, fcntl.LOCK_UN)


@contextmanager
def _chain_locked(connection: BaseDatabaseWrapper, using: str) -> Iterator[None]:
    block = transaction.atomic(using=using)
    with block:
        if connection.vendor != "postgresql" or _held(connection):
            yield
            return
        _take(connection)
        setattr(connection, _HOLDER, block)
        try:
            yield
        finally:
            setattr(connection, _HOLDER, None)
