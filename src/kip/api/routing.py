"""One declaration per route: its URL name and action go into access.ROUTES, and the same action
is what the route's auth checks, so the policy table and the check cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ninja import Router

from kip.api.auth import auth_for
from kip.api.errors import responses
from kip.registry import access
from kip.registry.access import Action

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def operation(
    router: Router,
    method: str,
    path: str,
    *,
    name: str,
    action: Action | None,
    response: Any,
    summary: str | None = None,
    public: bool = False,
) -> Decorator:
    """`public` routes take no credentials at all; others need a signed-in user, and the action
    (when not None) at one of the user's sites at least."""
    return router.api_operation(
        [method],
        path,
        url_name=access.route(name, action),
        # The OpenAPI operationId is the URL name, so the policy test can map one to the other.
        operation_id=name,
        auth=None if public else auth_for(action),
        # Basic credentials for a username locked out by the login throttle: 429.
        response=responses(response) if public else responses(response, 429),
        summary=summary,
    )
