"""The clinic's routes. Each is declared once with its action (see guards.clinic_path)."""

from __future__ import annotations

from django.urls import URLPattern

from kip.clinic.guards import clinic_path
from kip.clinic.views import (
    actions,
    auth,
    flowsheet,
    followups,
    patients,
    program,
    research,
    staff,
    worklist,
)
from kip.registry.access import Action

urlpatterns: list[URLPattern] = [
    clinic_path("login/", auth.sign_in, "login", None),
    clinic_path("logout/", auth.sign_out, "logout", None),
    clinic_path("", auth.home, "home", None),
    clinic_path("static/<path:path>", auth.static_file, "static", None),
    clinic_path("worklist/", worklist.worklist, "worklist", Action.VIEW_CLINICAL),
    clinic_path("patients/", patients.patient_list, "patients", Action.VIEW_CLINICAL),
    clinic_path("patients/<int:pk>/", patients.patient_detail, "patient", Action.VIEW_CLINICAL),
    clinic_path("infusions/<int:pk>/", flowsheet.flowsheet, "flowsheet", Action.VIEW_CLINICAL),
    clinic_path(
        "infusions/<int:pk>/chart/",
        flowsheet.flowsheet_chart,
        "flowsheet-chart",
        Action.VIEW_CLINICAL,
    ),
    clinic_path("research/", research.research, "research", Action.VIEW_RESEARCH),
    # Writes: each calls one service (kip.registry.services), which applies the protocol.
    clinic_path(
        "patients/<int:pk>/schedule/", actions.schedule, "patient-schedule", Action.RUN_INFUSION
    ),
    clinic_path(
        "infusions/<int:pk>/check-in/", actions.check_in, "infusion-checkin", Action.RUN_INFUSION
    ),
    clinic_path(
        "infusions/<int:pk>/checks/", actions.record_check, "infusion-check", Action.RUN_INFUSION
    ),
    clinic_path(
        "infusions/<int:pk>/premedication/",
        actions.premedicate,
        "infusion-premedication",
        Action.RUN_INFUSION,
    ),
    clinic_path("infusions/<int:pk>/start/", actions.start, "infusion-start", Action.RUN_INFUSION),
    clinic_path("infusions/<int:pk>/rate/", actions.set_rate, "infusion-rate", Action.RUN_INFUSION),
    clinic_path(
        "infusions/<int:pk>/vitals/", actions.vitals, "infusion-vitals", Action.RUN_INFUSION
    ),
    clinic_path(
        "infusions/<int:pk>/events/", actions.adverse_event, "infusion-event", Action.RUN_INFUSION
    ),
    clinic_path("infusions/<int:pk>/end/", actions.end, "infusion-end", Action.RUN_INFUSION),
    clinic_path("events/<int:pk>/prn/", actions.give_prn, "event-prn", Action.RUN_INFUSION),
    clinic_path(
        "events/<int:pk>/decision/",
        actions.decide_event,
        "event-decision",
        Action.APPROVE_DEVIATION,
    ),
    clinic_path(
        "events/<int:pk>/resolve/", actions.resolve_event, "event-resolve", Action.RUN_INFUSION
    ),
    clinic_path(
        "infusions/<int:pk>/deviation-requests/",
        actions.request_deviation,
        "infusion-deviation-request",
        Action.RUN_INFUSION,
    ),
    clinic_path(
        "deviation-requests/<int:pk>/approve/",
        actions.approve_deviation,
        "deviation-approve",
        Action.APPROVE_DEVIATION,
    ),
    clinic_path(
        "deviation-requests/<int:pk>/decline/",
        actions.decline_deviation,
        "deviation-decline",
        Action.APPROVE_DEVIATION,
    ),
    clinic_path(
        "patients/<int:pk>/clearances/",
        actions.clear_exclusion,
        "patient-clearance",
        Action.APPROVE_DEVIATION,
    ),
    clinic_path("follow-ups/<int:pk>/", followups.follow_up, "follow-up", Action.RUN_INFUSION),
    clinic_path(
        "follow-ups/<int:pk>/decision/",
        followups.decide,
        "follow-up-decision",
        Action.DECIDE_RESPONSE,
    ),
    # The program and the administrator's pages: service interruptions, staff and roles.
    clinic_path("interruptions/", program.interruptions, "interruptions", Action.MANAGE_PROGRAM),
    clinic_path(
        "interruptions/new/",
        program.create_interruption,
        "interruption-create",
        Action.MANAGE_PROGRAM,
    ),
    clinic_path("staff/", staff.staff, "staff", Action.ADMINISTER),
    clinic_path("staff/users/", staff.create_user, "staff-create", Action.ADMINISTER),
    clinic_path(
        "staff/users/<int:pk>/active/", staff.set_active, "staff-active", Action.ADMINISTER
    ),
    clinic_path("staff/users/<int:pk>/roles/", staff.add_role, "staff-add-role", Action.ADMINISTER),
    clinic_path(
        "staff/memberships/<int:pk>/role/", staff.change_role, "staff-role", Action.ADMINISTER
    ),
    clinic_path(
        "staff/memberships/<int:pk>/remove/",
        staff.remove_membership,
        "staff-remove",
        Action.ADMINISTER,
    ),
]
