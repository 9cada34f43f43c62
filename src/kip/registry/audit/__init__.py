"""The audit trail: who changed what, when, from which value to which, and why.

Services call `audit_context(user, reason=..., source=...)` around every clinical write (the
recorder does the rest through model signals). Reads go through `kip.registry.services.reads`,
which calls the recorder's `record_view` / `record_export`:

- VIEW, source "app": a full load of the patient page, the infusion flowsheet or the follow-up
  page (not the chart's X-KIP-Poll refresh, a refused form shown again, or a POST).
- VIEW, source "api": GET of one patient or one infusion, and of the plan read from either.
- EXPORT (what, count): the researcher's cohort page ("app") and `GET /api/research/patients`,
  and the API's lists of many patients' records (patients, follow-ups due, worklist) ("api").

Each is written after the access check and before the response is rendered, in its own
transaction; a failure is an error, never the record shown unlogged. `verify()` walks the hash
chain (`kip audit verify`).

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
