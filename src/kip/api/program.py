"""Service interruptions."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from kip.api.auth import user_of
from kip.api.routing import operation
from kip.api.schemas import InterruptionCreatedOut, InterruptionIn, InterruptionOut
from kip.registry.access import Action
from kip.registry.services import program

router = Router(tags=["program"])


@operation(
    router,
    "GET",
    "/service-interruptions",
    name="api-interruption-list",
    action=Action.VIEW_CLINICAL,
    response=list[InterruptionOut],
)
def interruption_list(request: HttpRequest) -> list[InterruptionOut]:
    return [InterruptionOut.of(s) for s in program.interruptions(user_of(request))]


@operation(
    router,
    "POST",
    "/service-interruptions",
    name="api-interruption-create",
    action=Action.MANAGE_PROGRAM,
    response={201: InterruptionCreatedOut},
)
def interruption_create(
    request: HttpRequest, data: InterruptionIn
) -> Status[InterruptionCreatedOut]:
    done = program.create_service_interruption(
        user_of(request),
        data.starts_on,
        data.reason,
        ends_on=data.ends_on,
        site_id=data.site_id,
        source="api",
    )
    out = InterruptionCreatedOut(
        interruption=InterruptionOut.of(done.interruption),
        postponed_infusion_ids=[i.pk for i in done.postponed],
        call_ids=[c.pk for c in done.calls],
    )
    return Status(201, out)
