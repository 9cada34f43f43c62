"""Security middleware for every response: headers, no-store, and session timeouts.

Django 5.2 has no Content-Security-Policy of its own, and its SecurityMiddleware covers nosniff,
Referrer-Policy and HSTS; this module adds the rest (OWASP ASVS 5.0, shared reference).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# No inline script or style at all: htmx is configured by a <meta> tag, the chart is SVG with
# presentation attributes, so 'self' is enough and 'unsafe-inline' is never needed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

Handler = Callable[[HttpRequest], HttpResponse]

# Session keys: when the user signed in and when they last did something (Unix seconds).
AUTH_AT = "kip_auth_at"
SEEN_AT = "kip_seen_at"
# Requests that htmx makes on a timer (the live chart) carry this header; they must not count as
# activity, or a flowsheet left open would never time out.
POLL_HEADER = "X-KIP-Poll"


def is_static(request: HttpRequest) -> bool:
    return request.path.startswith("/" + settings.STATIC_URL.lstrip("/"))


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY or "")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if not is_static(request):
            # Every page and htmx fragment may carry patient data; the browser and any proxy
            # must not keep a copy (a shared infusion-bay computer, the back button after sign-out).
            response.headers["Cache-Control"] = "no-store"
            response.headers.setdefault("Pragma", "no-cache")
        return response


def now() -> float:
    return time.time()


class SessionTimeoutMiddleware:
    """Signs a user out after KIP_IDLE_TIMEOUT_SECONDS without activity, and in any case
    KIP_ABSOLUTE_TIMEOUT_SECONDS after signing in."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not is_static(request):
            session = request.session
            t = now()
            auth_at = float(session.setdefault(AUTH_AT, t))
            seen_at = float(session.get(SEEN_AT, t))
            expired = None
            if t - auth_at > settings.KIP_ABSOLUTE_TIMEOUT_SECONDS:
                expired = "absolute"
            elif t - seen_at > settings.KIP_IDLE_TIMEOUT_SECONDS:
                expired = "idle"
            if expired:
                logout(request)
                return signed_out(request, expired)
            if POLL_HEADER not in request.headers:
                session[SEEN_AT] = t
        return self.get_response(request)


def signed_out(request: HttpRequest, why: str) -> HttpResponse:
    query = {"expired": why}
    if request.method == "GET" and "HX-Request" not in request.headers:
        query["next"] = request.get_full_path()
    url = f"{reverse('login')}?{urlencode(query)}"
    if "HX-Request" in request.headers:
        # A fragment request: have htmx load the sign-in page instead of swapping it in.
        response = HttpResponse(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
