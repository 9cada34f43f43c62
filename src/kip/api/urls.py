"""The API's URL patterns, for `include("kip.api.urls")` under /api/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from kip.api.main import api

app_name = "api"
urlpatterns: list[URLPattern | URLResolver] = api.urls[0]
