"""Who is calling: a signed token, HTTP Basic, or the browser's session (with CSRF). Each route's
auth also carries the action the route needs (from access.ROUTES), so an authenticated user who
holds that action at no site is refused with 403 before the route runs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core import signing
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBasicAuth, HttpBearer
from ninja.utils import check_csrf

from kip.clinic import throttle
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import Membership
from kip.registry.prepared import Prepared
from kip.registry.services.errors import ServiceError

TOKEN_SALT = "kip.api.token"
TOKEN_MAX_AGE_SECONDS = 8 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class Forbidden(HttpError):
    def __init__(self, action: Action) -> None:
        super().__init__(403, f"your role allows {action.value} at none of your sites")
        self.action = action


def make_token(user: User) -> str:
    # The session hash changes with the password, so a new password voids old tokens.
    return signing.dumps({"u": user.pk, "h": user.get_session_auth_hash()}, salt=TOKEN_SALT)


def user_from_token(token: str) -> User | None:
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = _active_user_with_roles(data["u"])
    if user is None or not constant_time_compare(str(data.get("h")), user.get_session_auth_hash()):
        return None
    return user


# Every API request with a token asks this, so its SQL is built once (kip.registry.prepared).
_MEMBERSHIPS_WITH_USER = Prepared(
    lambda user_id: (
        Membership.objects.select_related("user")
        .filter(user_id=user_id, user__is_active=True)
        .order_by()
    ),
    arity=1,
)


def _active_user_with_roles(user_id: int) -> User | None:
    """The active user, with their memberships read in the same query and kept on this fresh
    instance for the request (access.remember_roles). A user without any membership is not in
    that join, so a second query fetches them (the route then refuses them with 403)."""
    memberships = _MEMBERSHIPS_WITH_USER(user_id)
    if memberships:
        user = memberships[0].user
        access.remember_roles(user, [(m.site_id, m.role) for m in memberships])
        return user
    found = list(User.objects.filter(pk=user_id, is_active=True)[:1])
    if not found:
        return None
    access.remember_roles(found[0], [])
    return found[0]


def _permit(user: User | None, action: Action | None, *, roles_read: bool = False) -> User | None:
    """The user, when the route's action is theirs at one site at least. Their memberships are
    read once (here, or with the user when `roles_read`) and kept on this request's user
    instance, so the route's own site checks (services.common.require) ask no more queries."""
    if user is None or action is None:
        return user
    if not roles_read:
        access.remember_roles(user)
    if not access.acts_anywhere(user, action):
        raise Forbidden(action)
    return user


class TokenAuth(HttpBearer):
    def __init__(self, action: Action | None) -> None:
        super().__init__()
        self.action = action

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return _permit(user_from_token(token), self.action, roles_read=True)


class LoginThrottled(ServiceError):
    """Basic credentials for a username locked at this address (kip.clinic.throttle)."""

    status = 429

    def __init__(self, wait: int) -> None:
        self.wait = wait  # seconds, sent as Retry-After
        super().__init__(
            "authorization",
            "auth.throttled",
            f"too many failed sign-ins for this username from here; try again in {wait} s",
        )


class BasicAuth(HttpBasicAuth):
    def __init__(self, action: Action | None) -> None:
        super().__init__()
        self.action = action

    def authenticate(self, request: HttpRequest, username: str, password: str) -> Any:
        user = authenticate(request, username=username, password=password)
        if wait := throttle.locked_wait(request):
            raise LoginThrottled(wait)
        return _permit(user if isinstance(user, User) else None, self.action)


class SessionAuth(APIKeyCookie):
    """The browser's Django session; CSRF is checked only once the session is known to be
    signed in, so an anonymous call gets 401, not a CSRF 403."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, action: Action | None) -> None:
        super().__init__(csrf=False)
        self.action = action

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed")
        return _permit(user, self.action)


def auth_for(action: Action | None) -> list[Any]:
    return [TokenAuth(action), BasicAuth(action), SessionAuth(action)]


def user_of(request: HttpRequest) -> User:
    """The user the route's auth accepted."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise HttpError(401, "not signed in")
    return user
