"""The registry's models, one module per concern (the audit entry lives with the audit trail)."""

from kip.registry.audit.models import AuditEntry
from kip.registry.models.followups import FollowUp, ResponseDecision, ServiceInterruption
from kip.registry.models.infusions import (
    AdverseEvent,
    CheckResult,
    DeviationRequest,
    Infusion,
    MedicationDose,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.patients import (
    AdjuvantChange,
    AdjuvantMedication,
    Enrolment,
    ExclusionClearance,
    Patient,
)
from kip.registry.models.sites import Membership, Site

__all__ = [
    "AdjuvantChange",
    "AdjuvantMedication",
    "AdverseEvent",
    "AuditEntry",
    "CheckResult",
    "DeviationRequest",
    "Enrolment",
    "ExclusionClearance",
    "FollowUp",
    "Infusion",
    "MedicationDose",
    "Membership",
    "Patient",
    "ResponseDecision",
    "ServiceInterruption",
    "Site",
    "TitrationStep",
    "VitalSigns",
]
