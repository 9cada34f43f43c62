"""Only the API's routes: API tests run even while another app's URL module is being edited.
The policy walk (test_policy.py) uses the project's real URL map."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [path("api/", include("kip.api.urls"))]
