"""URL map of the web app."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

from kip.clinic import throttle


class AdminSignInForm(AdminAuthenticationForm):
    """Django admin's sign-in, saying why a locked username is refused (the throttled backend
    refuses it; Django's own message would only say the password is wrong)."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            wait = throttle.locked_wait(self.request) if self.request is not None else 0
            if not wait:
                raise
            username = str(self.cleaned_data.get("username", ""))
            raise ValidationError(throttle.locked_message(username, wait), code="locked") from None


admin.site.login_form = AdminSignInForm


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """Django admin's sign-in page; a refusal by the lock is 429 with Retry-After, as on the
    clinic's sign-in and the API, so a script or a proxy can tell it from a wrong password."""
    response = admin.site.login(request)
    if wait := throttle.locked_wait(request):
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response


urlpatterns: list[URLPattern | URLResolver] = [
    # Before admin's own URLs, so this one answers /admin/login/.
    path("admin/login/", admin_sign_in, name="admin-sign-in"),
    path("admin/", admin.site.urls),
    path("api/", include("kip.api.urls")),
    path("", include("kip.clinic.urls")),
]
