from __future__ import annotations

from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "kip.clinic"
    label = "clinic"
    verbose_name = "Clinic"
