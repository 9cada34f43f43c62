"""The audit entry: one row per create, update, delete, view or export, chained by SHA-256.

Rows are append-only: database triggers (migration 0003) refuse UPDATE and DELETE, and each row's
hash covers its content and the previous row's hash, so an edit made around the triggers shows up
in `kip audit verify`.
"""

from __future__ import annotations

from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    VIEW = "view", "View"
    EXPORT = "export", "Export"


class AuditEntry(models.Model):
    sequence = models.PositiveBigIntegerField(unique=True)
    timestamp = models.DateTimeField()
    # A snapshot, not a foreign key: the entry must outlive the account and show who it was then.
    user_id = models.BigIntegerField(null=True)
    username = models.CharField(max_length=150)
    source = models.CharField(max_length=32)
    action = models.CharField(max_length=8, choices=AuditAction.choices)
    model = models.CharField(max_length=100, blank=True)  # app_label.ModelName
    object_id = models.CharField(max_length=64, blank=True)
    research_id = models.CharField(max_length=16, blank=True, db_index=True)
    old_values = models.JSONField(default=dict)
    new_values = models.JSONField(default=dict)
    reason = models.CharField(max_length=500, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = models.Manager()

    class Meta:
        ordering = ["sequence"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["model", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.model} {self.object_id} by {self.username}"
