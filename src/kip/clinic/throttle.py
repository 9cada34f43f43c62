"""Login throttling: after KIP_LOGIN_MAX_FAILURES failed sign-ins for one username from one
address within KIP_LOGIN_FAILURE_WINDOW_SECONDS, sign-in is refused until the oldest failure
leaves the window (OWASP ASVS 5.0 V6.3).

Kept small on purpose: a list of failure times in the shared cache (the database cache, so every
server process sees it). A library such as django-axes brings its own models, admin and
migrations for what is twenty lines here.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def _key(username: str, address: str) -> str:
    # Hashed: cache keys must be short and plain, and the table should not list usernames.
    digest = hashlib.sha256(f"{username.casefold()}\0{address}".encode()).hexdigest()
    return f"kip-login-failures:{digest}"


def _recent(username: str, address: str, now: float) -> list[float]:
    window = settings.KIP_LOGIN_FAILURE_WINDOW_SECONDS
    stored: list[float] = cache.get(_key(username, address), [])
    return [t for t in stored if now - t < window]


def locked_for(username: str, address: str, now: float | None = None) -> int:
    """Seconds until sign-in is allowed again; 0 when it is allowed now."""
    now = time.time() if now is None else now
    recent = _recent(username, address, now)
    if len(recent) < settings.KIP_LOGIN_MAX_FAILURES:
        return 0
    window = settings.KIP_LOGIN_FAILURE_WINDOW_SECONDS
    oldest_counted = sorted(recent)[-settings.KIP_LOGIN_MAX_FAILURES]
    return max(1, math.ceil(oldest_counted + window - now))


def record_failure(username: str, address: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    recent = [*_recent(username, address, now), now]
    cache.set(_key(username, address), recent, settings.KIP_LOGIN_FAILURE_WINDOW_SECONDS)


def clear(username: str, address: str) -> None:
    cache.delete(_key(username, address))
