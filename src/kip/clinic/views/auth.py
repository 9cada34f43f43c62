"""Sign-in, sign-out, the landing redirect, and the app's own static files."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kip.clinic import throttle
from kip.clinic.security import AUTH_AT, SEEN_AT, now
from kip.registry import access
from kip.registry.access import Action

EXPIRED = {
    "idle": "You were signed out after {minutes} minutes without activity.",
    "absolute": "Your session reached its {hours}-hour limit; please sign in again.",
}


def _expired_message(why: str | None) -> str:
    if why not in EXPIRED:
        return ""
    return EXPIRED[why].format(
        minutes=settings.KIP_IDLE_TIMEOUT_SECONDS // 60,
        hours=settings.KIP_ABSOLUTE_TIMEOUT_SECONDS // 3600,
    )


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url or "home")
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    locked = ""
    status = 200
    if request.method == "POST":
        # The backend (throttle.ThrottledModelBackend) counts failures and refuses a locked
        # username before reading the password; a refusal leaves its wait on the request.
        if form.is_valid():
            login(request, form.get_user())  # rotates the session id
            t = now()
            request.session[AUTH_AT] = t
            request.session[SEEN_AT] = t
            return HttpResponseRedirect(next_url or reverse("home"))
        if wait := throttle.locked_wait(request):
            locked = throttle.locked_message(request.POST.get("username", "")[:150], wait)
            status = 429
    context = {
        "form": form,
        "next": next_url,
        "locked": locked,
        "expired": _expired_message(request.GET.get("expired")),
        "idle_minutes": settings.KIP_IDLE_TIMEOUT_SECONDS // 60,
    }
    response = render(request, "clinic/login.html", context, status=status)
    if status == 429:
        response["Retry-After"] = str(throttle.locked_wait(request))
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands where its work is (administrators on the staff page); researchers never
    on a clinical page."""
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if access.sites_for(user, Action.VIEW_CLINICAL).exists():
        return redirect("worklist")
    if access.sites_for(user, Action.ADMINISTER).exists():
        return redirect("staff")
    if access.sites_for(user, Action.VIEW_RESEARCH).exists():
        return redirect("research")
    return render(request, "clinic/no_access.html", status=403)


@require_GET
def static_file(request: HttpRequest, path: str) -> FileResponse:
    """The app's few static files (stylesheet, htmx), found where the installed package keeps
    them: no collectstatic step and no extra dependency for `kip serve`."""
    if any(part in {"", ".", ".."} for part in path.split("/")):
        raise Http404("no such file")
    found = finders.find(path)
    if not isinstance(found, str):
        raise Http404("no such file")
    file = Path(found)
    content_type, _ = mimetypes.guess_type(file.name)
    response = FileResponse(file.open("rb"), content_type=content_type or "text/plain")
    # File names carry their version (htmx-2.0.11.min.js) or change rarely; an hour is plenty.
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
