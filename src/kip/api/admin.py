"""The administrator's job: accounts and roles at the sites they administer, through
kip.registry.services.admin (which checks the sites and writes the audit trail). An account,
membership or site outside the caller's sites is 404, like one that does not exist."""

from __future__ import annotations

from typing import Annotated

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Path, Router, Status

from kip.api.auth import user_of
from kip.api.routing import operation
from kip.api.schemas import (
    MAX_ID,
    AccountCreateIn,
    AccountOut,
    ActiveIn,
    MembershipIn,
    MembershipOut,
    ReasonIn,
    RoleIn,
    StaffOut,
)
from kip.registry.access import Action
from kip.registry.services import admin

router = Router(tags=["administration"])
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
MembershipId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _account(user: User) -> AccountOut:
    return AccountOut(
        id=user.pk,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        is_active=user.is_active,
    )


@operation(
    router,
    "GET",
    "/staff",
    name="api-staff-list",
    action=Action.ADMINISTER,
    response=list[StaffOut],
)
def staff_list(request: HttpRequest) -> list[StaffOut]:
    return [
        StaffOut(
            **_account(s.user).model_dump(),
            memberships=[MembershipOut.of(m) for m in s.memberships],
        )
        for s in admin.staff(user_of(request))
    ]


@operation(
    router,
    "POST",
    "/staff/accounts",
    name="api-account-create",
    action=Action.ADMINISTER,
    response={201: MembershipOut},
    summary="Create an account with a role at one of my sites",
)
def account_create(request: HttpRequest, data: AccountCreateIn) -> Status[MembershipOut]:
    made = admin.create_user(
        user_of(request),
        data.site_id,
        username=data.username,
        first_name=data.first_name,
        last_name=data.last_name,
        password=data.password,
        role=data.role,
        reason=data.reason,
        source="api",
    )
    return Status(201, MembershipOut.of(made))


@operation(
    router,
    "POST",
    "/staff/accounts/{user_id}/memberships",
    name="api-membership-create",
    action=Action.ADMINISTER,
    response={201: MembershipOut},
    summary="Give an existing account a role at another of my sites",
)
def membership_create(
    request: HttpRequest, user_id: UserId, data: MembershipIn
) -> Status[MembershipOut]:
    made = admin.add_membership(
        user_of(request), user_id, data.site_id, data.role, reason=data.reason, source="api"
    )
    return Status(201, MembershipOut.of(made))


@operation(
    router,
    "POST",
    "/staff/accounts/{user_id}/active",
    name="api-account-active",
    action=Action.ADMINISTER,
    response=AccountOut,
    summary="Deactivate or reactivate an account",
)
def account_active(request: HttpRequest, user_id: UserId, data: ActiveIn) -> AccountOut:
    user = admin.set_active(
        user_of(request), user_id, data.active, reason=data.reason, source="api"
    )
    return _account(user)


@operation(
    router,
    "PATCH",
    "/staff/memberships/{membership_id}",
    name="api-membership-update",
    action=Action.ADMINISTER,
    response=MembershipOut,
    summary="Change a role",
)
def membership_update(
    request: HttpRequest, membership_id: MembershipId, data: RoleIn
) -> MembershipOut:
    changed = admin.change_role(
        user_of(request), membership_id, data.role, reason=data.reason, source="api"
    )
    return MembershipOut.of(changed)


@operation(
    router,
    "POST",
    "/staff/memberships/{membership_id}/removal",
    name="api-membership-remove",
    action=Action.ADMINISTER,
    response={204: None},
    summary="Remove a role (the account stays)",
)
def membership_remove(
    request: HttpRequest, membership_id: MembershipId, data: ReasonIn
) -> Status[None]:
    admin.remove_membership(user_of(request), membership_id, reason=data.reason, source="api")
    return Status(204, None)
