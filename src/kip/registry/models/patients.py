"""Patients and what the study recorded about their cancer, pain and analgesics."""

from __future__ import annotations

import secrets
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from kip.registry.audit.guard import AuditedManager
from kip.registry.models.choices import (
    AdjuvantClass,
    CompressionLocation,
    DoseChange,
    EndReason,
    Etiology,
    PrimaryCancer,
    RadiationSite,
    Sex,
    SurgeryType,
)
from kip.registry.models.sites import Site


def new_research_id() -> str:
    """Random, never derived from patient data (HIPAA 164.514(c)); the key stays in the registry."""
    return f"R-{secrets.token_hex(5).upper()}"


class Patient(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    research_id = models.CharField(max_length=16, unique=True, default=new_research_id)
    # Identifiers: never shown to researchers, never exported in research data.
    mrn = models.CharField("medical record number", max_length=32)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()

    sex = models.CharField(max_length=8, choices=Sex.choices)
    premenopausal = models.BooleanField(null=True, blank=True)
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(400)],
    )
    primary_cancer = models.CharField(max_length=24, choices=PrimaryCancer.choices)
    metastases = models.BooleanField(null=True, blank=True)
    etiology = models.CharField(max_length=24, choices=Etiology.choices)
    compression_location = models.CharField(
        max_length=16, choices=CompressionLocation.choices, blank=True
    )
    cipn_regimen = models.CharField("CIPN causative regimen", max_length=64, blank=True)
    surgery_type = models.CharField(max_length=24, choices=SurgeryType.choices, blank=True)
    radiation_site = models.CharField(max_length=16, choices=RadiationSite.choices, blank=True)

    # Exclusion screening ("a concurrent diagnosis of diabetes mellitus or underlying peripheral
    # neuropathy before the onset of CNP"); None means not yet screened.
    diabetes_mellitus = models.BooleanField(null=True, blank=True)
    prior_peripheral_neuropathy = models.BooleanField(null=True, blank=True)
    # Further exclusion conditions found at screening, by the protocol's exclusion ids (e.g.
    # active_psychosis); None or [] means none recorded. Nullable so that adding it never rebuilds
    # the patient table on SQLite (which would drop its no-delete trigger).
    other_conditions = models.JSONField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Patients are never deleted; a record entered in error is archived with a reason.
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "mrn"], name="one_patient_per_mrn_and_site")
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def conditions(self) -> list[str]:
        """Exclusion condition ids, as the protocol engine names them."""
        flags = {
            "diabetes_mellitus": self.diabetes_mellitus,
            "prior_peripheral_neuropathy": self.prior_peripheral_neuropathy,
        }
        listed = [name for name, present in flags.items() if present]
        return listed + [c for c in self.other_conditions or [] if c not in listed]

    def clean(self) -> None:
        detail = {
            Etiology.TUMOR_COMPRESSION: ("compression_location", self.compression_location),
            Etiology.CIPN: ("cipn_regimen", self.cipn_regimen),
            Etiology.POSTSURGICAL: ("surgery_type", self.surgery_type),
            Etiology.POSTRADIATION: ("radiation_site", self.radiation_site),
        }
        errors = {
            name: f"only recorded for {Etiology(etiology).label.lower()} pain"
            for etiology, (name, value) in detail.items()
            if value and etiology != self.etiology
        }
        if self.sex != Sex.FEMALE and self.premenopausal:
            errors["premenopausal"] = "only recorded for women"
        if errors:
            raise ValidationError(errors)


class AdjuvantMedication(models.Model):
    """An adjuvant analgesic over a period; dose changes are recorded as AdjuvantChange rows."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adjuvants")
    drug_class = models.CharField(max_length=24, choices=AdjuvantClass.choices)
    drug = models.CharField(max_length=100)
    dose = models.CharField(max_length=100, blank=True)
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["patient", "drug_class", "drug"]

    def __str__(self) -> str:
        return f"{self.drug} ({self.get_drug_class_display()})"

    def clean(self) -> None:
        if self.started_on and self.stopped_on and self.stopped_on < self.started_on:
            raise ValidationError({"stopped_on": "must not be before started_on"})

    def in_use_on(self, day: date) -> bool:
        started = self.started_on is None or self.started_on <= day
        return started and (self.stopped_on is None or day <= self.stopped_on)


class AdjuvantChange(models.Model):
    medication = models.ForeignKey(
        AdjuvantMedication, on_delete=models.PROTECT, related_name="changes"
    )
    changed_on = models.DateField()
    change = models.CharField(max_length=16, choices=DoseChange.choices)
    dose = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["changed_on"]


class ExclusionClearance(models.Model):
    """A physician has reviewed a soft exclusion (a relative contraindication) and cleared the
    patient for infusions despite it; plan receives it as `cleared_by_physician`."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clearances")
    exclusion_id = models.CharField(max_length=64)
    protocol_id = models.CharField(max_length=64)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500)
    cleared_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["patient", "cleared_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "exclusion_id"], name="one_clearance_per_exclusion"
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="clearance_has_reason"),
        ]


class Enrolment(models.Model):
    """A patient's time on the program under one protocol, and why it ended."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrolments")
    protocol_id = models.CharField(max_length=64)
    protocol_version = models.CharField(max_length=32)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=24, choices=EndReason.choices, blank=True)
    end_note = models.CharField(max_length=500, blank=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["patient", "started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(ended_on__isnull=True),
                name="one_open_enrolment_per_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True) | ~models.Q(end_reason=""),
                name="ended_enrolment_has_reason",
            ),
        ]

    def clean(self) -> None:
        if self.ended_on and self.ended_on < self.started_on:
            raise ValidationError({"ended_on": "must not be before started_on"})
