"""The audit trail: who changed what, when, from which value to which, and why."""

from kip.registry.audit.context import AuditContext, audit_context, current_context

__all__ = ["AuditContext", "audit_context", "current_context"]
