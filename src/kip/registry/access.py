"""Who may do what, where. Deny by default: a user acts only at sites where they hold a role, and
only with the actions that role grants. Views and API routes declare the action they need;
`ROUTES` maps every URL name to it, and a test walks every route x role x site against it."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db.models import QuerySet

from kip.registry.models import Membership, Patient, Site
from kip.registry.models.choices import Role


class Action(StrEnum):
    VIEW_CLINICAL = "view_clinical"  # patient pages with identifiers
    EDIT_PATIENT = "edit_patient"
    RUN_INFUSION = "run_infusion"  # check-in, rates, vitals, PRN, adverse events, follow-ups
    APPROVE_DEVIATION = "approve_deviation"  # soft-limit rates, physician decisions
    DECIDE_RESPONSE = "decide_response"  # confirm or override responder / continuation
    MANAGE_PROGRAM = "manage_program"  # service interruptions, enrolment end
    VIEW_RESEARCH = "view_research"  # de-identified data and outcomes
    ADMINISTER = "administer"  # users, sites, audit verification


GRANTS: dict[Role, frozenset[Action]] = {
    Role.NURSE: frozenset({Action.VIEW_CLINICAL, Action.EDIT_PATIENT, Action.RUN_INFUSION}),
    Role.PHYSICIAN: frozenset(
        {
            Action.VIEW_CLINICAL,
            Action.EDIT_PATIENT,
            Action.RUN_INFUSION,
            Action.APPROVE_DEVIATION,
            Action.DECIDE_RESPONSE,
            Action.MANAGE_PROGRAM,
        }
    ),
    # Researchers see no identifiers: no clinical action at all.
    Role.RESEARCHER: frozenset({Action.VIEW_RESEARCH}),
    Role.ADMIN: frozenset({Action.ADMINISTER, Action.MANAGE_PROGRAM, Action.VIEW_RESEARCH}),
}

User = AuthUser | AnonymousUser


def roles_at(user: User, site: Site) -> set[Role]:
    if not user.is_authenticated or not user.is_active:
        return set()
    return {Role(m.role) for m in Membership.objects.filter(user=user, site=site)}


def can(user: User, action: Action, site: Site) -> bool:
    return any(action in GRANTS[role] for role in roles_at(user, site))


def sites_for(user: User, action: Action) -> QuerySet[Site]:
    """The sites where the user may take this action (none for anonymous or inactive users)."""
    if not user.is_authenticated or not user.is_active:
        return Site.objects.none()
    roles = [role for role, actions in GRANTS.items() if action in actions]
    return Site.objects.filter(memberships__user=user, memberships__role__in=roles).distinct()


def patients_for(user: User, action: Action) -> QuerySet[Patient]:
    """Patients at the user's sites for this action; archived patients are left out."""
    return Patient.objects.filter(site__in=sites_for(user, action), archived_at__isnull=True)


# URL name -> the action it needs. Every route of the app must appear here (a test enforces it);
# None marks a public route (sign-in, health check, OpenAPI description).
ROUTES: dict[str, Action | None] = {}


def route(name: str, action: Action | None) -> str:
    """Declare a route's action where the route is defined; returns the name for `path(name=)`."""
    if name in ROUTES and ROUTES[name] != action:
        raise ValueError(f"route {name!r} declared twice with different actions")
    ROUTES[name] = action
    return name
