"""What every service shares: who may act on which object, and how a write is wrapped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, TypeVar

from django.contrib.auth.models import User
from django.db.models import Model, QuerySet

from kip.protocol import loader
from kip.protocol.errors import InputError
from kip.protocol.model import Protocol
from kip.registry import access
from kip.registry.access import Action
from kip.registry.audit import audit_context
from kip.registry.models import (
    AdverseEvent,
    DeviationRequest,
    FollowUp,
    Infusion,
    Patient,
    Site,
)
from kip.registry.prepared import Prepared
from kip.registry.services.errors import NotFound, PermissionDenied, from_input_error

Source = Literal["app", "api", "cli", "import", "demo"]
M = TypeVar("M", bound=Model)


def only_row(rows: QuerySet[M]) -> M | None:
    """The one row of a primary-key lookup, or None. Unlike first(), it asks for no sort: the
    models' default ordering would sort an infusion by its patient's name (a join and much of the
    query's build time) to choose among at most one row."""
    found = list(rows.order_by()[:1])
    return found[0] if found else None


def require(user: User, action: Action, site: Site, *, field: str) -> None:
    """Deny by default. A site the user has no role at is reported as not found, so an id from
    another site cannot be told apart from an id that does not exist."""
    roles = access.roles_at(user, site)
    if not roles:
        raise NotFound(field, "access.site", "not found")
    if not access.allows(roles, action):
        raise PermissionDenied(
            field, f"access.{action.value}", f"your role at this site does not allow {action.value}"
        )


@contextmanager
def writing(user: User, reason: str, source: Source) -> Iterator[None]:
    """One transaction with its author and reason, so the audit rows commit with the data.
    audit_context is itself the transaction (transaction.atomic, and the chain lock), so a write
    is one BEGIN ... COMMIT with no savepoint inside it."""
    with audit_context(user, reason=reason, source=source):
        yield


def protocol_of(protocol_id: str) -> Protocol:
    try:
        return loader.load(protocol_id)
    except InputError as exc:
        raise from_input_error(exc) from None


def get_patient(user: User, patient_id: int, action: Action) -> Patient:
    patient = only_row(Patient.objects.select_related("site").filter(pk=patient_id))
    if patient is None or patient.archived_at is not None:
        raise NotFound("patient_id", "registry.patient", "not found")
    require(user, action, patient.site, field="patient_id")
    return patient


# Every charting write starts here, so its SQL is built once (kip.registry.prepared).
_INFUSION = Prepared(
    lambda pk: (
        Infusion.objects.select_related("patient__site", "enrolment")
        .filter(pk=pk, patient__archived_at__isnull=True)
        .order_by()[:1]
    ),
    arity=1,
)


def get_infusion(user: User, infusion_id: int, action: Action) -> Infusion:
    found = _INFUSION(infusion_id)
    infusion = found[0] if found else None
    if infusion is None:
        raise NotFound("infusion_id", "registry.infusion", "not found")
    require(user, action, infusion.patient.site, field="infusion_id")
    return infusion


def get_adverse_event(user: User, event_id: int, action: Action) -> AdverseEvent:
    event = only_row(
        AdverseEvent.objects.select_related(
            "infusion__patient__site", "infusion__enrolment"
        ).filter(pk=event_id, infusion__patient__archived_at__isnull=True)
    )
    if event is None:
        raise NotFound("adverse_event_id", "registry.adverse_event", "not found")
    require(user, action, event.infusion.patient.site, field="adverse_event_id")
    return event


def get_follow_up(user: User, follow_up_id: int, action: Action) -> FollowUp:
    follow_up = only_row(
        FollowUp.objects.select_related("patient__site", "infusion__enrolment").filter(
            pk=follow_up_id, patient__archived_at__isnull=True
        )
    )
    if follow_up is None:
        raise NotFound("follow_up_id", "registry.follow_up", "not found")
    require(user, action, follow_up.patient.site, field="follow_up_id")
    return follow_up


def get_deviation_request(user: User, request_id: int, action: Action) -> DeviationRequest:
    row = only_row(
        DeviationRequest.objects.select_related(
            "infusion__patient__site", "infusion__enrolment"
        ).filter(pk=request_id, infusion__patient__archived_at__isnull=True)
    )
    if row is None:
        raise NotFound("request_id", "registry.deviation_request", "not found")
    require(user, action, row.infusion.patient.site, field="request_id")
    return row
