"""Who may do what, where. Deny by default: a user acts only at sites where they hold a role, and
only with the actions that role grants. Views and API routes declare the action they need;
`ROUTES` maps every URL name to it, and a test walks every route x role x site against it."""

from __future__ import annotations

from collections.abc import Iterable
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


# The attribute a request's user instance keeps its memberships under (see remember_roles).
_ROLES_MEMO = "_kip_roles_by_site"


def remember_roles(
    user: AuthUser, memberships: Iterable[tuple[int, str]] | None = None
) -> dict[int, frozenset[Role]]:
    """Every role the user holds, by site id, read in one query and kept on this user instance
    (`memberships`: the user's (site id, role) pairs, when the caller read them with the user).

    Only the API's authentication calls this, on the user instance it has just loaded for the
    request (a token's or Basic credentials' fresh instance, or the session's per-request user),
    so the memo lives exactly as long as the request and belongs to one user. Nothing in a
    request changes memberships. Callers that hold a user across requests (the CLI, tests,
    services called directly) never set it, so they keep reading the table each time."""
    if memberships is None:
        memberships = Membership.objects.filter(user=user).values_list("site_id", "role")
    by_site: dict[int, set[Role]] = {}
    for site_id, role in memberships:
        by_site.setdefault(site_id, set()).add(Role(role))
    memo = {site_id: frozenset(roles) for site_id, roles in by_site.items()}
    setattr(user, _ROLES_MEMO, memo)
    return memo


def allows(roles: Iterable[Role], action: Action) -> bool:
    return any(action in GRANTS[role] for role in roles)


def roles_at(user: User, site: Site) -> set[Role]:
    if not user.is_authenticated or not user.is_active:
        return set()
    memo: dict[int, frozenset[Role]] | None = getattr(user, _ROLES_MEMO, None)
    if memo is not None:
        return set(memo.get(site.pk, ()))
    return {Role(m.role) for m in Membership.objects.filter(user=user, site=site)}


def can(user: User, action: Action, site: Site) -> bool:
    return allows(roles_at(user, site), action)


def acts_anywhere(user: User, action: Action) -> bool:
    """Whether the user may take this action at one site at least: `sites_for(...).exists()`,
    answered from the request's memo when the API's authentication has set it."""
    if not user.is_authenticated or not user.is_active:
        return False
    memo: dict[int, frozenset[Role]] | None = getattr(user, _ROLES_MEMO, None)
    if memo is not None:
        return any(allows(roles, action) for roles in memo.values())
    return sites_for(user, action).exists()


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
