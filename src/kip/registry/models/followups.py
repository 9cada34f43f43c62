"""Follow-ups after an infusion, responder decisions, and program-wide service interruptions."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from kip.registry.audit.guard import AuditedManager
from kip.registry.models.choices import (
    Continuation,
    EndReason,
    FollowUpKind,
    FollowUpStatus,
    MedicationChange,
    PatientChoice,
)
from kip.registry.models.infusions import Infusion
from kip.registry.models.patients import Patient
from kip.registry.models.sites import Site

NPRS = [MinValueValidator(0), MaxValueValidator(10)]
USER = settings.AUTH_USER_MODEL


class ServiceInterruption(models.Model):
    """A pause of all infusions (e.g. the COVID-19 pandemic); site None means every site."""

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="interruptions"
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["-starts_on"]

    def clean(self) -> None:
        if self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "must not be before starts_on"})


class FollowUp(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="follow_ups")
    # The infusion followed up; None only for a service-interruption call to an enrolled patient
    # who has had no infusion yet.
    infusion = models.ForeignKey(
        Infusion, on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    kind = models.CharField(max_length=24, choices=FollowUpKind.choices)
    due_on = models.DateField()
    status = models.CharField(
        max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.DUE
    )
    done_on = models.DateField(null=True, blank=True)
    interruption = models.ForeignKey(
        ServiceInterruption,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    # Pain and response, as the responder definition needs them.
    nprs = models.PositiveSmallIntegerField(null=True, blank=True, validators=NPRS)
    qualifier = models.CharField("patient's words about relief", max_length=200, blank=True)
    functional_improvement = models.BooleanField(null=True, blank=True)
    analgesics_reduced = models.BooleanField(null=True, blank=True)
    relief_hours = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    relief_ongoing = models.BooleanField(default=False)
    satisfaction = models.CharField(max_length=200, blank=True)
    adverse_events_reported = models.CharField(max_length=500, blank=True)
    # Continuation inputs for the engine (kip.protocol.classify): reasons to stop whatever the
    # response.
    patient_choice = models.CharField(max_length=8, choices=PatientChoice.choices, blank=True)
    adverse_event_limited = models.BooleanField(
        default=False, help_text="Infusion-related adverse events limit going on."
    )
    deceased = models.BooleanField(default=False)
    other_stop_reason = models.CharField(max_length=200, blank=True)
    # Service-interruption calls (Table 6).
    pain_returned_to_baseline = models.BooleanField(null=True, blank=True)
    medication_change = models.CharField(
        max_length=24, choices=MedicationChange.choices, blank=True
    )
    function_worse = models.BooleanField(null=True, blank=True)
    mobility_worse = models.BooleanField(null=True, blank=True)
    mood_worse = models.BooleanField(null=True, blank=True)
    appetite_worse = models.BooleanField(null=True, blank=True)
    note = models.CharField(max_length=1000, blank=True)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(infusion__isnull=False) | models.Q(kind="interruption_call"),
                name="follow_up_has_infusion_unless_interruption_call",
            )
        ]


class ResponseDecision(models.Model):
    """The engine's classification of an infusion's response, and the clinician's confirmation."""

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="decisions")
    follow_up = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="decisions")
    engine_responder = models.BooleanField()
    engine_duration_band = models.CharField(max_length=32, blank=True)
    engine_continuation = models.CharField(max_length=8, choices=Continuation.choices)
    engine_reason = models.CharField(max_length=24, blank=True)
    engine_reasons = models.JSONField(default=list)
    responder = models.BooleanField(help_text="As confirmed by the clinician.")
    continuation = models.CharField(max_length=8, choices=Continuation.choices)
    stop_reason = models.CharField(max_length=24, choices=EndReason.choices, blank=True)
    override_reason = models.CharField(
        max_length=500, blank=True, help_text="Required when the clinician differs from the engine."
    )
    confirmed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["infusion", "confirmed_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(responder=models.F("engine_responder"))
                    & models.Q(continuation=models.F("engine_continuation"))
                )
                | ~models.Q(override_reason=""),
                name="override_has_reason",
            )
        ]
