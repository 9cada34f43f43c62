from __future__ import annotations

from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "kip.clinic"
    label = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        # A mistyped KIP_TRUSTED_PROXIES stops the app as it starts, naming the entry, rather
        # than at the first sign-in.
        from django.conf import settings

        from kip.site.client_address import trusted_networks

        trusted_networks(tuple(settings.KIP_TRUSTED_PROXIES))
