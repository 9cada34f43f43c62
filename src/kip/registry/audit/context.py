"""Who is acting, and why: set around every write to clinical data, read by the audit recorder.

Services wrap each change in `with audit_context(user, reason=...)`. A clinical write outside a
context is refused by the recorder, so nothing reaches the registry without an author.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth.models import User


@dataclass(frozen=True)
class AuditContext:
    user: User
    reason: str = ""
    source: str = "app"  # app, api, cli, import, demo


_current: ContextVar[AuditContext | None] = ContextVar("kip_audit_context", default=None)


@contextmanager
def audit_context(user: User, reason: str = "", source: str = "app") -> Iterator[AuditContext]:
    ctx = AuditContext(user=user, reason=reason.strip(), source=source)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def current_context() -> AuditContext | None:
    return _current.get()
