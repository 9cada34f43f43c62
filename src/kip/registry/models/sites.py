"""Sites and who works at them in which role. Access is granted per site, denied by default."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kip.registry.audit.guard import AuditedManager
from kip.registry.models.choices import Role


class Site(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role at one site; a user sees only the sites they belong to."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="one_role_per_user_and_site")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} at {self.site.code}"
