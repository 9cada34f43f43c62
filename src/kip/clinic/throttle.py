"""Login throttling: after KIP_LOGIN_MAX_FAILURES failed sign-ins for one username from one
address within KIP_LOGIN_FAILURE_WINDOW_SECONDS, sign-in is refused until the oldest failure
leaves the window (OWASP ASVS 5.0 V6.3).

Enforced in the authentication backend, the one place every password check of a request goes
through: the clinic's sign-in, Django admin's, and the API's Basic credentials (and so its token
endpoint). A locked attempt is refused before the password is read, whether or not the username
exists, and the wait is left on the request for the page or the API to show.

Kept small on purpose: a list of failure times in the shared cache (the database cache, so every
server process sees it). A library such as django-axes brings its own models, admin and
migrations for what is twenty lines here.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from kip.site.client_address import client_address

# The attribute a refused request keeps its wait in seconds under (see locked_wait).
_LOCKED_FOR = "_kip_login_locked_for"


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


def locked_wait(request: HttpRequest) -> int:
    """Seconds the request's sign-in was refused for by the lock; 0 when it was not."""
    wait: int = getattr(request, _LOCKED_FOR, 0)
    return wait


def locked_message(username: str, wait: int) -> str:
    minutes = math.ceil(wait / 60)
    return (
        f"Too many failed sign-ins for {username} from this computer. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator."
    )


class ThrottledModelBackend(ModelBackend):
    """Django's username and password check, counted per username and client address.

    A check without a request (the command line, a test client's login()) comes from no client
    and is not counted."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if request is None or username is None or password is None:
            return super().authenticate(request, username, password, **kwargs)
        name = str(username)[:150]
        address = client_address(request)
        wait = locked_for(name, address)
        if wait:
            setattr(request, _LOCKED_FOR, wait)
            # Tells django.contrib.auth.authenticate to stop here, trying no other backend.
            raise PermissionDenied(locked_message(name, wait))
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            record_failure(name, address)
        else:
            clear(name, address)
        return user

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        # ModelBackend's own async check would pass the throttle by; the app is served over WSGI,
        # so the sync one in a thread is all an async caller needs.
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)
