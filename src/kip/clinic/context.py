"""What every page's header needs: which sections the user may open, and who they are where."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import Membership


def clinic(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {}
    memberships = Membership.objects.filter(user=user).select_related("site").order_by("site")
    return {
        "nav_clinical": access.sites_for(user, Action.VIEW_CLINICAL).exists(),
        "nav_research": access.sites_for(user, Action.VIEW_RESEARCH).exists(),
        "nav_program": access.sites_for(user, Action.MANAGE_PROGRAM).exists(),
        "nav_admin": access.sites_for(user, Action.ADMINISTER).exists(),
        "user_roles": ", ".join(f"{m.get_role_display()} · {m.site.code}" for m in memberships),
    }
