"""An infusion session as a nurse keeps it: checks, titration log, vitals, doses, adverse events."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from kip.registry.audit.guard import AuditedManager
from kip.registry.models.choices import (
    AdverseEventCategory,
    CheckStatus,
    DeviationStatus,
    DoseKind,
    InfusionStatus,
    PhysicianDecision,
    RateClassification,
    Resolution,
    Route,
)
from kip.registry.models.patients import Enrolment, Patient

NPRS = [MinValueValidator(0), MaxValueValidator(10)]
USER = settings.AUTH_USER_MODEL


class Infusion(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="infusions")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="infusions")
    number = models.PositiveSmallIntegerField()
    phase = models.CharField(max_length=32)
    protocol_id = models.CharField(max_length=64)
    protocol_version = models.CharField(max_length=32)
    planned_on = models.DateField()
    status = models.CharField(
        max_length=16, choices=InfusionStatus.choices, default=InfusionStatus.PLANNED
    )
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    # Baseline parameters obtained by the nurse before each infusion (Methods).
    baseline_nprs = models.PositiveSmallIntegerField(null=True, blank=True, validators=NPRS)
    baseline_function = models.CharField(max_length=200, blank=True)
    baseline_satisfaction = models.CharField(max_length=200, blank=True)
    baseline_analgesics = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    max_rate_mg_per_h = models.DecimalField(
        "maximum rate tolerated (mg/h)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    end_note = models.CharField(max_length=500, blank=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["patient", "number"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "number"], name="one_infusion_number"),
        ]

    def __str__(self) -> str:
        return f"infusion {self.number} of {self.patient.research_id}"


class CheckResult(models.Model):
    """A pre-infusion check (baseline NPRS, pregnancy test, SARS-CoV-2 test, ...)."""

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="checks")
    check_id = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=CheckStatus.choices)
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["infusion", "check_id"], name="one_result_per_check")
        ]


class TitrationStep(models.Model):
    """A rate set during the session; refused rates are never stored."""

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="steps")
    minute = models.DecimalField(max_digits=7, decimal_places=1, validators=[MinValueValidator(0)])
    rate_mg_per_h = models.DecimalField(
        max_digits=6, decimal_places=1, validators=[MinValueValidator(0)]
    )
    classification = models.CharField(max_length=16, choices=RateClassification.choices)
    engine_action = models.CharField(max_length=24, blank=True)
    engine_rate_mg_per_h = models.DecimalField(
        max_digits=6, decimal_places=1, null=True, blank=True
    )
    # A soft-limit deviation needs a physician and a reason (both audited).
    deviation_reason = models.CharField(max_length=500, blank=True)
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entered_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["infusion", "minute", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(classification="ok")
                | (models.Q(approved_by__isnull=False) & ~models.Q(deviation_reason="")),
                name="deviation_has_physician_and_reason",
            )
        ]


class DeviationRequest(models.Model):
    """A soft-limit rate a nurse asks for; a physician at the site approves it (and only then is
    the TitrationStep stored, classified again at approval time) or declines it."""

    infusion = models.ForeignKey(
        Infusion, on_delete=models.PROTECT, related_name="deviation_requests"
    )
    minute = models.DecimalField(max_digits=7, decimal_places=1, validators=[MinValueValidator(0)])
    rate_mg_per_h = models.DecimalField(
        max_digits=6, decimal_places=1, validators=[MinValueValidator(0)]
    )
    reason = models.CharField("the nurse's reason", max_length=500)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=8, choices=DeviationStatus.choices, default=DeviationStatus.PENDING
    )
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField("the physician's reason", max_length=500, blank=True)
    step = models.OneToOneField(
        TitrationStep,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deviation_request",
    )

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["infusion", "requested_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="pending", decided_by__isnull=True, step__isnull=True)
                | (
                    models.Q(status="declined", decided_by__isnull=False, step__isnull=True)
                    & ~models.Q(decision_reason="")
                )
                | (
                    models.Q(status="approved", decided_by__isnull=False, step__isnull=False)
                    & ~models.Q(decision_reason="")
                ),
                name="deviation_request_decided_with_reason",
            )
        ]


class VitalSigns(models.Model):
    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="vitals")
    minute = models.DecimalField(max_digits=7, decimal_places=1, validators=[MinValueValidator(0)])
    temperature_c = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    systolic_mmhg = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic_mmhg = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate_bpm = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["infusion", "minute", "id"]
        verbose_name_plural = "vital signs"


class AdverseEvent(models.Model):
    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="adverse_events")
    term = models.CharField(max_length=64)
    category = models.CharField(max_length=24, choices=AdverseEventCategory.choices)
    onset_minute = models.DecimalField(max_digits=7, decimal_places=1)
    resolved_minute = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    resolution = models.CharField(
        max_length=16, choices=Resolution.choices, default=Resolution.ONGOING
    )
    physician_evaluated = models.BooleanField(default=False)
    evaluated_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    physician_decision = models.CharField(
        max_length=16, choices=PhysicianDecision.choices, blank=True
    )
    # The session minute of the physician's decision: titrate measures a reduction from the rate
    # running then, so a reduction on the pump is not reduced again.
    decided_minute = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["infusion", "onset_minute", "id"]


class MedicationDose(models.Model):
    """Premedication and PRN doses given in a session; PRN doses beyond cap or interval are refused
    before they get here."""

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="doses")
    kind = models.CharField(max_length=16, choices=DoseKind.choices)
    drug = models.CharField(max_length=64)
    route = models.CharField(max_length=16, choices=Route.choices)
    dose_mg = models.DecimalField(max_digits=6, decimal_places=2)
    minute = models.DecimalField(max_digits=7, decimal_places=1)
    prn_id = models.CharField(max_length=64, blank=True)
    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="doses"
    )
    given_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["infusion", "minute", "id"]
