"""The administrator's job: accounts and roles at the sites they administer.

An administrator sees and changes only the memberships at sites where they hold ADMINISTER;
anything elsewhere is reported as not found. Accounts are never deleted, only deactivated (an
inactive user signs in nowhere and holds no role, see access.roles_at). Every write runs in one
audited transaction with a reason: memberships are registry rows the recorder audits; the
account itself (django.contrib.auth) is audited here, without its password hash."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import QuerySet

from kip.registry import access
from kip.registry.access import Action
from kip.registry.audit import current_context
from kip.registry.audit.chain import append
from kip.registry.audit.models import AuditAction, AuditEntry
from kip.registry.models import Membership, Site
from kip.registry.models.choices import Role
from kip.registry.services.common import Source, writing
from kip.registry.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Refusals,
    ServiceError,
)

LAST_ADMIN_RULE = "admin.own_last_admin_membership"
SELF_RULE = "admin.own_account"
# What the audit trail keeps of an account: never the password hash.
USER_FIELDS = ("username", "first_name", "last_name", "is_active")


@dataclass(frozen=True)
class StaffMember:
    user: User
    memberships: list[Membership]  # at the administrator's sites only


def admin_sites(actor: User) -> QuerySet[Site]:
    return access.sites_for(actor, Action.ADMINISTER)


def staff(actor: User) -> list[StaffMember]:
    """Every user with a role at one of the actor's sites, with their roles there."""
    rows = (
        Membership.objects.filter(site__in=admin_sites(actor))
        .select_related("user", "site")
        .order_by("user__username", "site__code")
    )
    by_user: dict[int, StaffMember] = {}
    for m in rows:
        by_user.setdefault(m.user_id, StaffMember(m.user, [])).memberships.append(m)
    return list(by_user.values())


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ServiceError("reason", "admin.reason", "an account or role change needs a reason")
    return reason


def _role(role: str) -> Role:
    if role not in Role.values:
        raise ServiceError("role", "admin.role", "choose nurse, physician, researcher or admin")
    return Role(role)


def check_role_and_reason(
    found: Refusals, reason: str, role: str
) -> tuple[str | None, Role | None]:
    """The reason and the role, each refusal noted in `found` (no database read): a form
    refuses them together with its own fields that do not parse."""
    return found.check(lambda: _reason(reason)), found.check(lambda: _role(role))


def _checked(found: Refusals, reason: str, role: str) -> tuple[str, Role]:
    """The reason and the role, refused together with the submission's other refusals."""
    why, the_role = check_role_and_reason(found, reason, role)
    found.raise_any()
    assert why is not None and the_role is not None
    return why, the_role


def _site(actor: User, site_id: int) -> Site:
    site = admin_sites(actor).filter(pk=site_id).first()
    if site is None:
        raise NotFound("site_id", "access.site", "not found")
    return site


def _membership(actor: User, membership_id: int) -> Membership:
    row = (
        Membership.objects.select_related("user", "site")
        .filter(pk=membership_id, site__in=admin_sites(actor))
        .first()
    )
    if row is None:
        raise NotFound("membership_id", "registry.membership", "not found")
    return row


def _audit_user(action: AuditAction, user: User, old: dict[str, object]) -> None:
    ctx = current_context()
    assert ctx is not None, "inside writing()"
    new = {f: getattr(user, f) for f in USER_FIELDS}
    if action == AuditAction.UPDATE:
        new = {f: v for f, v in new.items() if old.get(f) != v}
        old = {f: old[f] for f in new}
    append(
        AuditEntry(
            user_id=ctx.user.pk,
            username=ctx.user.get_username(),
            source=ctx.source,
            action=action,
            model=user._meta.label_lower,
            object_id=str(user.pk),
            old_values=old,
            new_values=new,
            reason=ctx.reason,
        )
    )


def _keeps_admin(actor: User, membership: Membership) -> None:
    """An administrator cannot take away their own last admin role: nobody could give it back
    at that site through the app, and they would lock themselves out of this page."""
    if membership.user_id != actor.pk or membership.role != Role.ADMIN:
        return
    others = Membership.objects.filter(user=actor, role=Role.ADMIN).exclude(pk=membership.pk)
    if not others.exists():
        raise ServiceError(
            "membership_id", LAST_ADMIN_RULE, "you cannot remove your own last admin role"
        )


def create_user(
    actor: User,
    site_id: int,
    *,
    username: str,
    first_name: str,
    last_name: str,
    password: str,
    role: str,
    reason: str,
    source: Source = "app",
) -> Membership:
    """A new account with one role at one of the actor's sites."""
    site = _site(actor, site_id)
    found = Refusals()
    username = username.strip()
    if not username or len(username) > 150:
        found.refuse("username", "admin.username", "1 to 150 characters")
    user = User(username=username, first_name=first_name.strip(), last_name=last_name.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        found.refuse("password", "auth.password_validators", " ".join(exc.messages))
    why, the_role = _checked(found, reason, role)
    # A taken username is the registry's state, not a value to correct: asked once the values
    # pass.
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("username", "admin.username_taken", "this username is taken")
    user.set_password(password)
    with writing(actor, why, source):
        user.save()
        _audit_user(AuditAction.CREATE, user, {})
        membership = Membership.objects.create(user=user, site=site, role=the_role)
    return membership


def add_membership(
    actor: User,
    user_id: int,
    site_id: int,
    role: str,
    *,
    reason: str,
    source: Source = "app",
) -> Membership:
    """A role at one of the actor's sites for an account that already works at one of them (a
    nurse of site A becomes a physician at site B too). An account the actor cannot see is not
    found, like one that does not exist; one role per account and site, so a second is 409."""
    user = User.objects.filter(pk=user_id, memberships__site__in=admin_sites(actor)).first()
    if user is None:
        raise NotFound("user_id", "auth.user", "not found")
    site = _site(actor, site_id)
    why, the_role = _checked(Refusals(), reason, role)
    held = Membership.objects.filter(user=user, site=site).first()
    taken = Conflict(
        "site_id",
        "admin.membership_exists",
        f"{user.username} already has a role at {site.code}: change that role instead",
    )
    if held is not None:
        raise taken
    try:
        with writing(actor, why, source):
            return Membership.objects.create(user=user, site=site, role=the_role)
    except IntegrityError:
        # Another administrator gave a role there between the check and the write.
        raise taken from None


def change_role(
    actor: User, membership_id: int, role: str, *, reason: str, source: Source = "app"
) -> Membership:
    membership = _membership(actor, membership_id)
    why, the_role = _checked(Refusals(), reason, role)
    if the_role != Role.ADMIN:
        _keeps_admin(actor, membership)
    with writing(actor, why, source):
        membership.role = the_role
        membership.save()
    return membership


def remove_membership(
    actor: User, membership_id: int, *, reason: str, source: Source = "app"
) -> None:
    membership = _membership(actor, membership_id)
    why = _reason(reason)
    _keeps_admin(actor, membership)
    with writing(actor, why, source):
        membership.delete()


def set_active(
    actor: User, user_id: int, active: bool, *, reason: str, source: Source = "app"
) -> User:
    """Deactivate or reactivate an account (never deleted). The account must hold a role at one
    of the actor's sites (else 404), and at no site the actor does not administer (403): an
    account is one for every site it works at."""
    user = User.objects.filter(pk=user_id, memberships__site__in=admin_sites(actor)).first()
    if user is None:
        raise NotFound("user_id", "auth.user", "not found")
    why = _reason(reason)
    if user.pk == actor.pk:
        raise ServiceError("user_id", SELF_RULE, "you cannot deactivate your own account")
    elsewhere = Membership.objects.filter(user=user).exclude(site__in=admin_sites(actor))
    if elsewhere.exists():
        raise PermissionDenied(
            "user_id",
            "admin.user_at_other_sites",
            "the account also works at a site you do not administer",
        )
    if user.is_active == active:
        return user
    old: dict[str, object] = {f: getattr(user, f) for f in USER_FIELDS}
    with writing(actor, why, source):
        user.is_active = active
        user.save(update_fields=["is_active"])
        _audit_user(AuditAction.UPDATE, user, old)
    return user
