"""Opening a clinical record in the clinic leaves a VIEW entry in the audit trail, and the
researcher's cohort table an EXPORT entry: who, when, which record (and the research id).

Only a full page load counts: not the chart's 30-second poll, not a refused form shown again, not
a POST, not a 403 or 404."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError
from django.db.models import Model
from django.urls import reverse

from kip.registry.audit.chain import verify
from kip.registry.audit.models import AuditAction, AuditEntry
from kip.registry.models import FollowUp, Infusion, Patient
from kip.registry.services import reads
from service_world import entries_after, head

from .conftest import Clinic, run_to_end

pytestmark = pytest.mark.django_db


def views_after(sequence: int) -> list[AuditEntry]:
    return [e for e in entries_after(sequence) if e.action == AuditAction.VIEW]


@dataclass(frozen=True)
class Calls:
    """The 24-hour call due after an infusion run to its end, at each site."""

    own: FollowUp
    other: FollowUp


@dataclass(frozen=True)
class Page:
    url_name: str
    model: str
    # The page's record at the main site and at the other site.
    own: Callable[[Clinic, Calls], Model]
    other: Callable[[Clinic, Calls], Model]


PAGES = [
    Page("patient", "registry.patient", lambda c, f: c.patient, lambda c, f: c.other_patient),
    Page("flowsheet", "registry.infusion", lambda c, f: c.infusion, lambda c, f: c.other_infusion),
    Page("follow-up", "registry.followup", lambda c, f: f.own, lambda c, f: f.other),
]


@pytest.fixture
def calls(clinic: Clinic) -> Calls:
    return Calls(
        own=run_to_end(clinic.users["nurse"], clinic.infusion)[1],
        other=run_to_end(clinic.users["other_nurse"], clinic.other_infusion)[1],
    )


@pytest.fixture
def follow_up(calls: Calls) -> FollowUp:
    return calls.own


def research_id(record: Model) -> str:
    if isinstance(record, Patient):
        return record.research_id
    assert isinstance(record, Infusion | FollowUp)
    return record.patient.research_id


@pytest.mark.parametrize("page", PAGES, ids=[p.url_name for p in PAGES])
def test_a_page_load_is_one_view_of_its_record(clinic: Clinic, calls: Calls, page: Page) -> None:
    record = page.own(clinic, calls)
    nurse: User = clinic.users["nurse"]
    before = head()
    response = clinic.client("nurse").get(reverse(page.url_name, args=[record.pk]))
    assert response.status_code == 200
    [entry] = entries_after(before)
    assert (entry.action, entry.model, entry.object_id) == ("view", page.model, str(record.pk))
    assert (entry.user_id, entry.username, entry.source) == (nurse.pk, "nurse", "app")
    assert entry.research_id == research_id(record) != ""
    assert (entry.old_values, entry.new_values, entry.reason) == ({}, {}, "")
    assert verify().ok


@pytest.mark.parametrize("page", PAGES, ids=[p.url_name for p in PAGES])
def test_another_sites_record_is_a_404_and_no_view(
    clinic: Clinic, calls: Calls, page: Page
) -> None:
    record = page.other(clinic, calls)
    before = head()
    response = clinic.client("nurse").get(reverse(page.url_name, args=[record.pk]))
    assert response.status_code == 404
    assert entries_after(before) == []


def test_a_role_without_the_pages_action_is_a_403_and_no_view(clinic: Clinic) -> None:
    before = head()
    response = clinic.client("researcher").get(reverse("patient", args=[clinic.patient.pk]))
    assert response.status_code == 403
    assert entries_after(before) == []


def test_htmx_headers_do_not_hide_a_full_page_from_the_trail(clinic: Clinic) -> None:
    """The headers are the client's to set; a page that renders the whole record is logged."""
    before = head()
    response = clinic.client("nurse").get(
        reverse("patient", args=[clinic.patient.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert [(e.model, e.object_id) for e in views_after(before)] == [
        ("registry.patient", str(clinic.patient.pk))
    ]


def test_the_charts_poll_is_not_a_view_but_a_fetch_of_the_chart_is(clinic: Clinic) -> None:
    nurse = clinic.client("nurse")
    url = reverse("flowsheet-chart", args=[clinic.infusion.pk])
    before = head()
    for _ in range(3):
        assert nurse.get(url, HTTP_HX_REQUEST="true", HTTP_X_KIP_POLL="1").status_code == 200
    assert entries_after(before) == []
    assert nurse.get(url).status_code == 200
    [entry] = entries_after(before)
    assert (entry.action, entry.model, entry.object_id, entry.source) == (
        "view",
        "registry.infusion",
        str(clinic.infusion.pk),
        "app",
    )


def test_a_refused_form_shown_again_is_no_view(clinic: Clinic, follow_up: FollowUp) -> None:
    refusals = [
        # The flowsheet again, with the check-in's refusal beside the form.
        ("nurse", reverse("infusion-checkin", args=[clinic.infusion.pk]), {"baseline_nprs": ""}),
        # The follow-up page again: a call needs the day it was made.
        ("nurse", reverse("follow-up", args=[follow_up.pk]), {"nprs": "3"}),
        # The follow-up page again: agreeing with the engine takes the tick.
        ("physician", reverse("follow-up-decision", args=[follow_up.pk]), {"agree": "yes"}),
    ]
    before = head()
    for who, url, form in refusals:
        response = clinic.client(who).post(url, form)
        assert response.status_code == 422, (url, response.status_code)
    assert entries_after(before) == []


def test_a_recorded_post_writes_its_changes_and_no_view(
    clinic: Clinic, follow_up: FollowUp
) -> None:
    nurse = clinic.client("nurse")
    before = head()
    response = nurse.post(
        reverse("follow-up", args=[follow_up.pk]),
        {"done_on": follow_up.due_on.isoformat(), "nprs": "4", "relief_hours": "24"},
    )
    assert response.status_code == 302
    written = entries_after(before)
    assert written and {e.action for e in written} == {"update"}
    # The redirect is a page load of its own, and that one is a view.
    assert nurse.get(response["Location"]).status_code == 200
    assert [(e.model, e.object_id) for e in views_after(before)] == [
        ("registry.followup", str(follow_up.pk))
    ]


def test_the_research_page_is_an_export_with_its_row_count(clinic: Clinic) -> None:
    researcher: User = clinic.users["researcher"]
    before = head()
    response = clinic.client("researcher").get(reverse("research"))
    assert response.status_code == 200
    [entry] = entries_after(before)
    assert (entry.action, entry.source, entry.user_id) == ("export", "app", researcher.pk)
    # The researcher's cohort: every patient at the sites where they hold the research role.
    cohort = Patient.objects.filter(site=clinic.main, archived_at__isnull=True)
    assert cohort.exists()
    assert entry.new_values == {
        "what": reads.RESEARCH_COHORT,
        "count": cohort.count(),
        "research_ids": sorted(p.research_id for p in cohort),
    }
    assert (entry.model, entry.object_id, entry.research_id) == ("", "", "")
    assert response.content.decode().count(clinic.patient.research_id) >= 1
    assert verify().ok


def test_a_view_that_cannot_be_logged_is_an_error_not_the_record(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(reads, "record_view", refuse)
    client = clinic.client("nurse")
    client.raise_request_exception = False
    response = client.get(reverse("patient", args=[clinic.patient.pk]))
    assert response.status_code == 500
    assert clinic.patient.mrn not in response.content.decode()
