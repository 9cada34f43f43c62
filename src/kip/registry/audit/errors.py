"""Why the audit trail refuses a write; services may catch `AuditError` to show the rule."""

from __future__ import annotations


class AuditError(Exception):
    """A write the audit trail cannot record as the rules require; nothing was written."""


class NoAuditContext(AuditError):
    """A clinical write with no author: it must run inside `audit_context(user, ...)`."""


class ReasonRequired(AuditError):
    """An update or delete of clinical data without a reason (21 CFR Part 11: why it changed)."""


class NotInTransaction(AuditError):
    """A clinical write outside transaction.atomic: its row and audit entry could commit apart."""


class PatientNotDeletable(AuditError):
    """Patients are never hard-deleted; a record entered in error is archived (archived_at)."""


class BulkWriteRefused(AuditError):
    """A queryset write that sends no model signals (update(), bulk_create(), bulk_update()),
    so it would leave no audit entry (kip.registry.audit.guard)."""
