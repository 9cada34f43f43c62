"""Who is acting, and why: set around every write to clinical data, read by the audit recorder.

Services wrap each change in `with audit_context(user, reason=...)`. A clinical write outside a
context is refused by the recorder, so nothing reaches the registry without an author.

The context is also a transaction (transaction.atomic): the rows written inside it and their
audit entries commit together or not at all. Nested contexts are savepoints. On PostgreSQL it
takes the audit chain's lock as it begins, as SQLite's BEGIN IMMEDIATE takes the write lock, so
clinical write transactions run one at a time (see kip.registry.audit.lock).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS

from kip.registry.audit.lock import locked_transaction

if TYPE_CHECKING:
    # Only for annotations: importing auth models needs a configured Django, and this module is
    # imported by command-line entry points before they set Django up.
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class AuditContext:
    user: User
    reason: str = ""
    source: str = "app"  # app, api, cli, import, demo


_current: ContextVar[AuditContext | None] = ContextVar("kip_audit_context", default=None)


@contextmanager
def audit_context(
    user: User, reason: str = "", source: str = "app", *, using: str = DEFAULT_DB_ALIAS
) -> Iterator[AuditContext]:
    ctx = AuditContext(user=user, reason=reason.strip(), source=source)
    with locked_transaction(using):
        token = _current.set(ctx)
        try:
            yield ctx
        finally:
            _current.reset(token)


def current_context() -> AuditContext | None:
    return _current.get()
