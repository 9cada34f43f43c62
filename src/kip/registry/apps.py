from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "kip.registry"
    label = "registry"
    verbose_name = "kip registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kip.registry.audit import recorder

        recorder.connect()
