"""Program-level changes: service interruptions (which postpone planned infusions and start the
interruption calls) and the end of a patient's enrolment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import Enrolment, FollowUp, Infusion, Patient, ServiceInterruption, Site
from kip.registry.models.choices import EndReason, FollowUpKind, InfusionStatus
from kip.registry.services import engine_io
from kip.registry.services.common import Source, get_patient, require, writing
from kip.registry.services.errors import NotFound, PermissionDenied, Refusals, ServiceError
from kip.registry.services.planning import open_enrolment

# Infusions not yet begun; a running one finishes (the pause is about the next ones).
NOT_BEGUN = (InfusionStatus.PLANNED, InfusionStatus.CHECKED_IN)


@dataclass(frozen=True)
class InterruptionCreated:
    interruption: ServiceInterruption
    postponed: list[Infusion]
    calls: list[FollowUp]


def interruptions(user: User) -> QuerySet[ServiceInterruption]:
    """Interruptions at the user's sites (clinical or program roles), and program-wide ones."""
    sites = access.sites_for(user, Action.VIEW_CLINICAL) | access.sites_for(
        user, Action.MANAGE_PROGRAM
    )
    return ServiceInterruption.objects.filter(Q(site__in=sites) | Q(site__isnull=True)).distinct()


def _sites(user: User, site_id: int | None) -> tuple[Site | None, list[Site]]:
    if site_id is not None:
        site = Site.objects.filter(pk=site_id).first()
        if site is None:
            raise NotFound("site_id", "registry.site", "not found")
        require(user, Action.MANAGE_PROGRAM, site, field="site_id")
        return site, [site]
    # A program-wide pause touches every site's patients, so it needs the right at every site.
    every = list(Site.objects.all())
    if not every or not all(access.can(user, Action.MANAGE_PROGRAM, s) for s in every):
        raise PermissionDenied(
            "site_id",
            "access.manage_program",
            "pausing every site needs the right at every site",
        )
    return None, every


def check_interruption(
    found: Refusals, starts_on: date | None, ends_on: date | None, reason: str
) -> None:
    """A pause's reason and dates, every refusal noted in `found` (no database read)."""
    if not reason.strip():
        found.refuse("reason", "service_interruptions.reason", "a pause needs a reason")
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        found.refuse("ends_on", "service_interruptions.end", "is before starts_on")


def create_service_interruption(
    user: User,
    starts_on: date,
    reason: str,
    *,
    ends_on: date | None = None,
    site_id: int | None = None,
    source: Source = "app",
) -> InterruptionCreated:
    """Pause infusions from `starts_on` to `ends_on` (open-ended when None): planned infusions
    inside it are postponed and each enrolled patient who has had an infusion gets a call."""
    site, sites = _sites(user, site_id)
    found = Refusals()
    check_interruption(found, starts_on, ends_on, reason)
    found.raise_any()
    inside = Q(planned_on__gte=starts_on)
    if ends_on is not None:
        inside &= Q(planned_on__lte=ends_on)
    with writing(user, reason.strip(), source):
        pause = ServiceInterruption.objects.create(
            site=site, starts_on=starts_on, ends_on=ends_on, reason=reason.strip()
        )
        postponed = list(
            Infusion.objects.filter(
                inside,
                status__in=NOT_BEGUN,
                patient__site__in=sites,
                patient__archived_at__isnull=True,
            )
        )
        for infusion in postponed:
            infusion.status = InfusionStatus.POSTPONED
            infusion.save()
        calls = []
        enrolled = Patient.objects.filter(
            site__in=sites, archived_at__isnull=True, enrolments__ended_on__isnull=True
        ).distinct()
        for patient in enrolled:
            given = engine_io.given_infusions(patient)
            # The call asks about the time since the last infusion; a patient waiting for a first
            # one is called too (pain, medication, function while the service is paused).
            calls.append(
                FollowUp.objects.create(
                    patient=patient,
                    infusion=given[-1] if given else None,
                    kind=FollowUpKind.INTERRUPTION_CALL,
                    due_on=starts_on,
                    interruption=pause,
                )
            )
    return InterruptionCreated(pause, postponed, calls)


def end_enrolment(
    user: User,
    patient_id: int,
    ended_on: date,
    end_reason: EndReason,
    *,
    note: str = "",
    source: Source = "app",
) -> Enrolment:
    """End the patient's open enrolment; infusions planned after it are cancelled."""
    patient = get_patient(user, patient_id, Action.MANAGE_PROGRAM)
    enrolment = open_enrolment(patient)
    if enrolment is None:
        raise ServiceError("patient_id", "enrolment", "the patient has no open enrolment")
    if ended_on < enrolment.started_on:
        raise ServiceError("ended_on", "enrolment.end", "is before the enrolment started")
    with writing(user, note.strip() or f"end enrolment: {end_reason.label}", source):
        enrolment.ended_on = ended_on
        enrolment.end_reason = end_reason
        enrolment.end_note = note
        enrolment.save()
        for infusion in Infusion.objects.filter(enrolment=enrolment, status__in=NOT_BEGUN):
            infusion.status = InfusionStatus.CANCELLED
            infusion.save()
    return enrolment
