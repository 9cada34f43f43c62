"""The NinjaAPI instance: routers, error handlers, health, tokens, research views."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest
from ninja import Router

from kip.api import admin, errors, followups, infusions, patients, program
from kip.api.auth import TOKEN_MAX_AGE_SECONDS, make_token, user_of
from kip.api.routing import operation
from kip.api.schemas import HealthOut, ResearchPatientOut, TokenOut
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models.choices import InfusionStatus
from kip.registry.services import patients as patient_services
from kip.registry.services.reads import RESEARCH_COHORT, log_export

api = errors.KipNinjaAPI(
    title="kip API",
    version="1",
    description=(
        "IV ketamine infusion program. Authenticate with a Bearer token (POST /api/auth/token), "
        "HTTP Basic, or a signed-in session (send X-CSRFToken on unsafe methods)."
    ),
    urls_namespace="api",
)
errors.install(api)

# ninja's own views: the schema and its viewer are public (they describe, never show, data).
access.route("openapi-json", None)
access.route("openapi-view", None)
access.route("api-root", None)

meta = Router(tags=["meta"])


@operation(meta, "GET", "/health", name="api-health", action=None, response=HealthOut, public=True)
def health(request: HttpRequest) -> HealthOut:
    # No database and no session: the floor the benchmark compares the API against.
    return HealthOut(status="ok")


@operation(meta, "POST", "/auth/token", name="api-token", action=None, response=TokenOut)
def token(request: HttpRequest) -> TokenOut:
    return TokenOut(token=make_token(user_of(request)), expires_in_seconds=TOKEN_MAX_AGE_SECONDS)


research = Router(tags=["research"])


@operation(
    research,
    "GET",
    "/research/patients",
    name="api-research-patients",
    action=Action.VIEW_RESEARCH,
    response=list[ResearchPatientOut],
)
def research_patients(request: HttpRequest) -> list[ResearchPatientOut]:
    user = user_of(request)
    given = (InfusionStatus.COMPLETED, InfusionStatus.STOPPED)
    rows = patient_services.research_patients(user).annotate(
        given=Count("infusions", filter=Q(infusions__status__in=given))
    )
    cohort = [ResearchPatientOut.of(p, p.given) for p in rows.order_by("research_id")]
    log_export(user, RESEARCH_COHORT, len(cohort), (p.research_id for p in cohort), source="api")
    return cohort


api.add_router("", meta)
api.add_router("", patients.router)
api.add_router("", infusions.router)
api.add_router("", followups.router)
api.add_router("", program.router)
api.add_router("", research)
api.add_router("", admin.router)
