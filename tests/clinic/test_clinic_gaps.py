"""The pages over the gaps closed in migration 0004: a nurse requests a soft-limit rate from the
flowsheet and a physician at the site approves it there; continuation inputs on the follow-up
form; a physician clears a soft exclusion from the patient page; an interruption call to a patient
who has had no infusion yet."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from kip.registry.models import DeviationRequest, ExclusionClearance, FollowUp, TitrationStep
from kip.registry.models.choices import FollowUpKind
from kip.registry.services import patients as patient_service
from kip.registry.services import program

from .conftest import Clinic
from .test_clinic_flow import flowsheet, post, start_running

pytestmark = pytest.mark.django_db


def test_nurse_requests_and_physician_approves_on_the_flowsheet(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    assert "Request a soft-limit rate" in flowsheet(nurse, pk)
    page = post(nurse, "infusion-deviation-request", pk, minute="10", rate_mg_per_h="15", reason="")
    assert "needs a reason" in page
    page = post(
        nurse,
        "infusion-deviation-request",
        pk,
        minute="10",
        rate_mg_per_h="15",
        reason="pain 9/10",
    )
    assert "waiting for a physician" in page
    request = DeviationRequest.objects.get(infusion=clinic.infusion)
    # The nurse sees it waiting, without approve buttons; her approval is refused.
    assert "Waiting for a physician at this site" in page
    assert (
        nurse.post(reverse("deviation-approve", args=[request.pk]), {"reason": "x"}).status_code
        == 403
    )
    other = clinic.client("other_physician")
    assert (
        other.post(reverse("deviation-approve", args=[request.pk]), {"reason": "x"}).status_code
        == 404
    )
    physician = clinic.client("physician")
    page = flowsheet(physician, pk)
    assert "pain 9/10" in page and reverse("deviation-approve", args=[request.pk]) in page
    # The 30-second poll brings the request to a flowsheet already open (htmx out-of-band).
    polled = physician.get(reverse("flowsheet-chart", args=[pk])).content.decode()
    assert 'id="deviations"' in polled and 'hx-swap-oob="true"' in polled
    page = post(physician, "deviation-approve", request.pk, reason="")
    assert "needs a reason" in page
    page = post(physician, "deviation-approve", request.pk, reason="reviewed at bedside")
    assert "soft-limit deviation, approved" in page
    step = TitrationStep.objects.get(infusion=clinic.infusion, minute=10)
    assert (step.approved_by, step.entered_by) == (clinic.users["physician"], clinic.users["nurse"])
    assert "approved by Physician: reviewed at bedside" in flowsheet(nurse, pk)


def test_physician_declines_a_request(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-deviation-request", pk, minute="10", rate_mg_per_h="15", reason="pain")
    request = DeviationRequest.objects.get(infusion=clinic.infusion)
    page = post(clinic.client("physician"), "deviation-decline", request.pk, reason="wait")
    assert "Declined" in page
    request.refresh_from_db()
    assert request.status == "declined"
    assert not TitrationStep.objects.filter(infusion=clinic.infusion, minute=10).exists()


def test_follow_up_form_records_the_continuation_inputs(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-end", pk, confirm_end="on")
    call = FollowUp.objects.get(infusion=clinic.infusion, kind=FollowUpKind.CALL_24H)
    page = nurse.get(reverse("follow-up", args=[call.pk])).content.decode()
    assert "Patient wants to" in page and "the patient has died" in page
    page = post(
        nurse,
        "follow-up",
        call.pk,
        done_on=timezone.localdate().isoformat(),
        nprs="3",
        qualifier="good relief",
        functional_improvement="yes",
        adverse_event_limited="on",
    )
    call.refresh_from_db()
    assert call.adverse_event_limited is True
    assert "adverse events" in page  # the engine's stop reason, shown
    page = post(
        clinic.client("physician"), "follow-up-decision", call.pk, agree="yes", confirm_agree="on"
    )
    decision = call.decisions.get()
    assert (decision.continuation, decision.stop_reason) == ("stop", "adverse_events")


def test_physician_clears_a_soft_exclusion_on_the_patient_page(clinic: Clinic) -> None:
    nurse_user = clinic.users["nurse"]
    patient = patient_service.create_patient(
        nurse_user,
        clinic.main.pk,
        {
            "mrn": "MRN-CRPS",
            "given_name": "Ida",
            "family_name": "Holm",
            "date_of_birth": date(1975, 1, 1),
            "sex": "male",
            "weight_kg": 70,
            "primary_cancer": "other",
            "etiology": "postsurgical",
            "other_conditions": ["active_psychosis"],
        },
        enrol_on=timezone.localdate(),
        protocol_id="schwartzman-2009",
    )
    nurse = clinic.client("nurse")
    page = nurse.get(reverse("patient", args=[patient.pk])).content.decode()
    assert "Active psychosis (needs a physician&#x27;s review)" in page
    assert "A physician at this site reviews and clears" in page
    url = reverse("patient-clearance", args=[patient.pk])
    assert nurse.post(url, {"exclusion_id": "active_psychosis", "reason": "x"}).status_code == 403
    physician = clinic.client("physician")
    page = physician.get(reverse("patient", args=[patient.pk])).content.decode()
    assert 'name="exclusion_id"' in page
    response = physician.post(
        url, {"exclusion_id": "active_psychosis", "reason": "psychiatry: in remission"}, follow=True
    )
    page = response.content.decode()
    assert "Exclusion cleared after review" in page
    assert "Eligible" in page and "needs a physician" not in page
    assert ExclusionClearance.objects.get(patient=patient).cleared_by == clinic.users["physician"]


def test_an_interruption_call_before_any_infusion_on_worklist_and_form(clinic: Clinic) -> None:
    today = timezone.localdate()
    done = program.create_service_interruption(
        clinic.users["physician"], today, "COVID-19", site_id=clinic.main.pk
    )
    call = next(c for c in done.calls if c.patient_id == clinic.patient.pk)
    assert call.infusion is None
    nurse = clinic.client("nurse")
    worklist = nurse.get(reverse("worklist")).content.decode()
    assert reverse("follow-up", args=[call.pk]) in worklist and "no infusion yet" in worklist
    page = nurse.get(reverse("follow-up", args=[call.pk])).content.decode()
    assert "no infusion yet" in page and "Pain back to baseline" in page
    post(nurse, "follow-up", call.pk, done_on=today.isoformat(), mood_worse="yes")
    call.refresh_from_db()
    assert (call.status, call.mood_worse) == ("done", True)
    patient_page = nurse.get(reverse("patient", args=[clinic.patient.pk])).content.decode()
    assert "Service-interruption call: done" in patient_page
    other = clinic.client("other_nurse")
    assert other.get(reverse("follow-up", args=[call.pk])).status_code == 404
