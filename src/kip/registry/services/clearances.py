"""Physician-cleared soft exclusions. A protocol's soft exclusion (a relative contraindication,
e.g. active psychosis under schwartzman-2009) blocks infusions until a physician has reviewed the
patient and cleared it with a reason; plan then receives it in `cleared_by_physician`. Hard
exclusions cannot be cleared."""

from __future__ import annotations

from django.contrib.auth.models import User

from kip.protocol.model import LimitKind
from kip.registry.access import Action
from kip.registry.models import ExclusionClearance
from kip.registry.services.common import Source, get_patient, protocol_of, writing
from kip.registry.services.errors import Conflict, Refusals, ServiceError
from kip.registry.services.planning import open_enrolment


def clear_exclusion(
    user: User, patient_id: int, exclusion_id: str, *, reason: str, source: Source = "app"
) -> ExclusionClearance:
    """Clear one of the patient's soft exclusions under their open enrolment's protocol."""
    patient = get_patient(user, patient_id, Action.APPROVE_DEVIATION)
    enrolment = open_enrolment(patient)
    if enrolment is None:
        raise ServiceError("patient_id", "enrolment", "the patient has no open enrolment")
    protocol = protocol_of(enrolment.protocol_id)
    exclusion = next((e for e in protocol.eligibility.exclusions if e.id == exclusion_id), None)
    rule = f"eligibility.exclusions.{exclusion_id}"
    # The exclusion and the reason are refused together: the physician corrects both at once.
    found = Refusals()
    if exclusion is None:
        known = ", ".join(e.id for e in protocol.eligibility.exclusions) or "none"
        found.refuse(
            "exclusion_id",
            "eligibility.exclusions",
            f"{exclusion_id!r} is not an exclusion of {protocol.id} ({known})",
        )
    elif exclusion.kind is not LimitKind.SOFT:
        found.refuse("exclusion_id", rule, "a hard exclusion cannot be cleared")
    elif exclusion_id not in patient.conditions:
        found.refuse("exclusion_id", rule, f"the patient has no recorded {exclusion.label.lower()}")
    text = reason.strip()
    if not text:
        found.refuse("reason", rule, "clearing an exclusion needs a reason")
    elif len(text) > 500:
        found.refuse("reason", rule, "at most 500 characters")
    found.raise_any()
    if ExclusionClearance.objects.filter(patient=patient, exclusion_id=exclusion_id).exists():
        raise Conflict("exclusion_id", rule, "already cleared")
    with writing(user, f"clear exclusion {exclusion_id}: {text}", source):
        return ExclusionClearance.objects.create(
            patient=patient,
            exclusion_id=exclusion_id,
            protocol_id=protocol.id,
            cleared_by=user,
            reason=text,
        )
