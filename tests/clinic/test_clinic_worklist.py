"""The physician's part of the worklist, the confirmation asked before an action that cannot be
undone, and refusals that name the field by its label on the form."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from kip.registry.models import AdverseEvent, FollowUp, ResponseDecision
from kip.registry.models.choices import FollowUpKind, InfusionStatus
from kip.registry.services import deviations, sessions

from .conftest import Clinic
from .test_clinic_flow import post, start_running

pytestmark = pytest.mark.django_db


def worklist(clinic: Clinic, who: str) -> str:
    response = clinic.client(who).get(reverse("worklist"))
    assert response.status_code == 200
    return response.content.decode()


def requested(clinic: Clinic) -> int:
    """The main site's infusion running at 10 mg/h, and the nurse's request for 15 at minute 10."""
    start_running(clinic)
    nurse = clinic.users["nurse"]
    sessions.record_rate(nurse, clinic.infusion.pk, 0, 10)
    asked = deviations.request_deviation(nurse, clinic.infusion.pk, 10, 15, reason="pain 9/10")
    return asked.request.pk


def recorded_call(clinic: Clinic) -> FollowUp:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-end", pk, confirm_end="on")
    call = FollowUp.objects.get(infusion=pk, kind=FollowUpKind.CALL_24H)
    post(
        nurse,
        "follow-up",
        call.pk,
        done_on=timezone.localdate().isoformat(),
        nprs="3",
        qualifier="good relief",
        functional_improvement="yes",
        relief_hours="30",
    )
    return call


def section(page: str) -> str:
    match = re.search(r'<section id="waiting-for-physician">.*?</section>', page, re.S)
    assert match is not None, "no physician section"
    return match.group(0)


def test_physician_sees_the_nurses_request_with_the_engines_step(clinic: Clinic) -> None:
    requested(clinic)
    page = worklist(clinic, "physician")
    waiting = section(page)
    assert "15 mg/h</strong> from minute 10" in waiting and "pain 9/10" in waiting
    assert "Engine now: Keep 10 mg/h; next step due at minute 30" in waiting
    assert reverse("flowsheet", args=[clinic.infusion.pk]) + "#deviations" in waiting
    assert re.search(r"<td class=\"nowrap\">\d+ min</td>", waiting)
    assert "Waiting for a physician: <strong>1</strong> (1 soft-limit request, 0 responses" in page


def test_other_site_physician_and_nurse_do_not_get_it(clinic: Clinic) -> None:
    requested(clinic)
    other = section(worklist(clinic, "other_physician"))
    assert "Nothing waits for a physician." in other and "pain 9/10" not in other
    nurse = worklist(clinic, "nurse")
    assert 'id="waiting-for-physician"' not in nurse and "Waiting for a physician" not in nurse


def test_an_event_to_evaluate_waits_with_a_link_to_the_flowsheets_events(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-event", pk, term="headache", minute="20")
    post(nurse, "infusion-event", pk, term="nausea", minute="21")
    event = AdverseEvent.objects.get(infusion=pk, term="headache")
    link = reverse("flowsheet", args=[pk]) + "#events"
    page = worklist(clinic, "physician")
    waiting = section(page)
    assert "<strong>Headache</strong> (neurological) since minute 20" in waiting
    assert "Protocol now: physician evaluation, titration on hold" in waiting
    assert "options: prn medication, continue, reduce, stop" in waiting
    assert link in waiting and re.search(r"<td class=\"nowrap\">\d+ min</td>", waiting)
    # Nausea has its as-needed medication: the nurse gives it, no physician is waited for.
    assert "Nausea" not in waiting
    assert "0 responses to decide, 1 adverse event to evaluate)" in page
    assert link not in section(worklist(clinic, "other_physician"))
    assert "Headache" not in worklist(clinic, "nurse")
    post(clinic.client("physician"), "event-decision", event.pk, decision="continue")
    assert link not in section(worklist(clinic, "physician"))


def test_a_recorded_call_waits_for_the_decision_then_leaves(clinic: Clinic) -> None:
    call = recorded_call(clinic)
    link = reverse("follow-up", args=[call.pk]) + "#decision"
    waiting = section(worklist(clinic, "physician"))
    assert link in waiting and "24-hour call recorded" in waiting and "since today" in waiting
    assert link not in section(worklist(clinic, "other_physician"))
    physician = clinic.client("physician")
    page = post(physician, "follow-up-decision", call.pk, agree="yes", confirm_agree="on")
    assert "Response decision confirmed" in page
    # Decided: the Confirm button is gone (an override stays possible) and so is the entry.
    assert "Confirm the engine&#x27;s classification</button>" not in page
    assert 'name="agree" value="no"' in page
    assert link not in section(worklist(clinic, "physician"))


def test_end_infusion_without_the_tick_is_refused(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    response = nurse.post(reverse("infusion-end", args=[pk]), {"note": "done"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Confirm ending the infusion: tick the box to confirm ending the infusion" in page
    assert re.search(r'name="confirm_end" required aria-invalid="true"', page)
    clinic.infusion.refresh_from_db()
    assert clinic.infusion.status == InfusionStatus.RUNNING
    page = post(nurse, "infusion-end", pk, confirm_end="on")
    assert "Infusion ended" in page


def test_confirming_the_classification_without_the_tick_is_refused(clinic: Clinic) -> None:
    call = recorded_call(clinic)
    physician = clinic.client("physician")
    page = physician.get(reverse("follow-up", args=[call.pk])).content.decode()
    assert 'name="confirm_agree" required' in page
    response = physician.post(reverse("follow-up-decision", args=[call.pk]), {"agree": "yes"})
    assert response.status_code == 422
    assert "Confirm the engine&#x27;s classification: tick the box" in response.content.decode()
    assert not ResponseDecision.objects.filter(follow_up=call).exists()


def test_refusals_name_the_field_by_its_label(clinic: Clinic) -> None:
    nurse = clinic.client("nurse")
    pk = clinic.infusion.pk
    response = nurse.post(reverse("infusion-checkin", args=[pk]), {"baseline_nprs": "11"})
    page = response.content.decode()
    assert response.status_code == 422
    assert "Baseline pain (NPRS 0–10): must be between 0 and 10 (nprs.range)" in page
    assert "baseline_nprs: must" not in page
    start_running(clinic)
    post(nurse, "infusion-rate", pk, minute="30", rate_mg_per_h="10")
    page = post(nurse, "infusion-rate", pk, minute="20", rate_mg_per_h="10")
    assert "Minute: is before the last rate change at minute 30" in page
    page = post(nurse, "infusion-vitals", pk, minute="40", spo2_pct="abc")
    assert "SpO2 (%): &#x27;abc&#x27; is not a number" in page and "spo2_pct: " not in page
