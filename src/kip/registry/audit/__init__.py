"""The audit trail: who changed what, when, from which value to which, and why.

Services call `audit_context(user, reason=..., source=...)` around every clinical write (the
recorder does the rest through model signals), and `record_view` / `record_export` when a page or
API shows or exports patient data. `verify()` walks the hash chain (`kip audit verify`).

Only the context and the errors are imported here: the model, chain and recorder modules need
Django's app registry, so import them from their modules.
"""

from kip.registry.audit.context import AuditContext, audit_context, current_context
from kip.registry.audit.errors import (
    AuditError,
    BulkWriteRefused,
    NoAuditContext,
    NotInTransaction,
    PatientNotDeletable,
    ReasonRequired,
)

__all__ = [
    "AuditContext",
    "AuditError",
    "BulkWriteRefused",
    "NoAuditContext",
    "NotInTransaction",
    "PatientNotDeletable",
    "ReasonRequired",
    "audit_context",
    "current_context",
]
