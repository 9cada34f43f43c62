"""Patients: search, create, update with a reason, enrol; and the de-identified research view."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import Enrolment, Patient, Site
from kip.registry.services.common import Source, get_patient, protocol_of, require, writing
from kip.registry.services.errors import Conflict, NotFound, Refusals, ServiceError
from kip.registry.services.planning import open_enrolment

EDITABLE = frozenset(
    {
        "mrn",
        "given_name",
        "family_name",
        "date_of_birth",
        "sex",
        "premenopausal",
        "weight_kg",
        "primary_cancer",
        "metastases",
        "etiology",
        "compression_location",
        "cipn_regimen",
        "surgery_type",
        "radiation_site",
        "diabetes_mellitus",
        "prior_peripheral_neuropathy",
        "other_conditions",
    }
)
# A protocol's exclusion id: lower-case words joined by underscores or hyphens.
CONDITION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _conditions(value: object) -> list[str] | None:
    """Further exclusion conditions as a sorted list of ids without repeats (None: none)."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ServiceError("other_conditions", "patient.other_conditions", "a list of ids")
    bad = [v for v in value if not CONDITION_ID.match(v)]
    if bad:
        raise ServiceError(
            "other_conditions",
            "patient.other_conditions",
            f"{bad[0]!r} is not an exclusion id (lower case, digits, _ or -)",
        )
    return sorted(set(value)) or None


def list_patients(user: User, search: str = "") -> QuerySet[Patient]:
    """Patients at the user's sites, optionally matching a name, MRN or research id."""
    rows = access.patients_for(user, Action.VIEW_CLINICAL).select_related("site")
    if term := search.strip():
        rows = rows.filter(
            Q(given_name__icontains=term)
            | Q(family_name__icontains=term)
            | Q(mrn__icontains=term)
            | Q(research_id__icontains=term)
        )
    return rows


def research_patients(user: User) -> QuerySet[Patient]:
    """Patients for de-identified views; callers must show only non-identifying fields."""
    return access.patients_for(user, Action.VIEW_RESEARCH).select_related("site")


def patient_detail(user: User, patient_id: int) -> Patient:
    return get_patient(user, patient_id, Action.VIEW_CLINICAL)


def _apply(patient: Patient, fields: Mapping[str, object], found: Refusals | None = None) -> None:
    """Set the fields on the patient, or refuse every field that is not editable or not valid,
    with the submission's other refusals (`found`)."""
    found = found if found is not None else Refusals()
    unknown = sorted(set(fields) - EDITABLE)
    for name in unknown:
        found.refuse(name, "patient.fields", "not an editable patient field")
    if unknown:
        # An unknown name is a caller's slip, not a value to correct: the values are not read.
        found.raise_any()
    for name, value in fields.items():
        if name == "other_conditions":
            try:
                value = _conditions(value)
            except ServiceError as exc:
                found.add(exc)
                value = None
        setattr(patient, name, value)
    try:
        patient.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            name = "patient" if field == "__all__" else field
            found.refuse(name, f"patient.{name}", "; ".join(messages))
    found.raise_any()


def create_patient(
    user: User,
    site_id: int,
    fields: Mapping[str, object],
    *,
    enrol_on: date | None = None,
    protocol_id: str = "mskcc-2021",
    source: Source = "app",
) -> Patient:
    """A new patient at a site the user may edit patients at; enrolled when `enrol_on` is given."""
    site = Site.objects.filter(pk=site_id).first()
    if site is None:
        raise NotFound("site_id", "registry.site", "not found")
    require(user, Action.EDIT_PATIENT, site, field="site_id")
    patient = Patient(site=site)
    _apply(patient, fields)
    protocol = protocol_of(protocol_id) if enrol_on is not None else None
    with writing(user, "new patient", source):
        patient.save()
        if enrol_on is not None and protocol is not None:
            Enrolment.objects.create(
                patient=patient,
                protocol_id=protocol.id,
                protocol_version=protocol.version,
                started_on=enrol_on,
            )
    return patient


def update_patient(
    user: User,
    patient_id: int,
    changes: Mapping[str, object],
    *,
    reason: str,
    source: Source = "app",
) -> Patient:
    """Change a patient's record; every change after first entry carries a reason."""
    patient = get_patient(user, patient_id, Action.EDIT_PATIENT)
    found = Refusals()
    if not reason.strip():
        found.refuse("reason", "audit.reason_for_change", "a change needs a reason")
    _apply(patient, changes, found)
    with writing(user, reason.strip(), source):
        patient.save()
    return patient


def enrol_patient(
    user: User,
    patient_id: int,
    started_on: date,
    *,
    protocol_id: str = "mskcc-2021",
    source: Source = "app",
) -> Enrolment:
    patient = get_patient(user, patient_id, Action.EDIT_PATIENT)
    if open_enrolment(patient) is not None:
        raise Conflict("patient_id", "enrolment", "the patient is already enrolled")
    protocol = protocol_of(protocol_id)
    with writing(user, "enrol", source):
        return Enrolment.objects.create(
            patient=patient,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            started_on=started_on,
        )
