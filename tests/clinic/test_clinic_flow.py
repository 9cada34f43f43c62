"""A first infusion through the pages, as a nurse and a physician run it: every write goes through
the forms to the services, and the pages show what the engine says."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kip.registry.audit.context import audit_context
from kip.registry.models import AdverseEvent, FollowUp, MedicationDose, TitrationStep
from kip.registry.models.choices import FollowUpKind, InfusionStatus
from kip.registry.services import planning

from .conftest import Clinic

pytestmark = pytest.mark.django_db


def post(client: Client, name: str, pk: int, **data: object) -> str:
    response = client.post(reverse(name, args=[pk]), data, follow=True)
    assert response.status_code in (200, 422), response.status_code
    return response.content.decode()


def flowsheet(client: Client, pk: int) -> str:
    return client.get(reverse("flowsheet", args=[pk])).content.decode()


BASELINE = {
    "baseline_nprs": "7",
    "baseline_function": "walks with a cane",
    "baseline_satisfaction": "dissatisfied",
    "baseline_analgesics": "gabapentin",
}


def start_running(clinic: Clinic) -> Client:
    nurse = clinic.client("nurse")
    pk = clinic.infusion.pk
    post(nurse, "infusion-checkin", pk, weight_kg="70", **BASELINE)
    # Whatever the day's list holds (from 2020-03-16 it includes SARS-CoV-2 screening).
    for check in planning.plan_for_infusion(clinic.users["nurse"], pk).checklist:
        post(nurse, "infusion-check", pk, check_id=check.id, status="passed")
    for drug in ("ondansetron", "lorazepam"):
        post(nurse, "infusion-premedication", pk, drug=drug, minute="-30")
    page = post(nurse, "infusion-start", pk)
    assert "Infusion started" in page
    return nurse


def test_check_in_list_comes_from_the_plan_and_start_needs_every_check(clinic: Clinic) -> None:
    nurse = clinic.client("nurse")
    pk = clinic.infusion.pk
    page = flowsheet(nurse, pk)
    assert "Baseline pain, NPRS 0-10" in page and "Current analgesics reviewed" in page
    page = post(nurse, "infusion-start", pk)
    assert "baseline_nprs" in page and "pending" in page  # the service's refusal, shown
    clinic.infusion.refresh_from_db()
    assert clinic.infusion.status == InfusionStatus.PLANNED


def test_an_empty_check_in_and_a_baseline_check_without_its_value_are_refused_by_the_field(
    clinic: Clinic,
) -> None:
    nurse = clinic.client("nurse")
    pk = clinic.infusion.pk
    url = reverse("infusion-checkin", args=[pk])
    refused = nurse.post(url, {"weight_kg": "", "baseline_nprs": "", "baseline_function": " "})
    assert refused.status_code == 422
    page = refused.content.decode()
    assert "eligibility.check_in_requires_baseline" in page
    for name in ("baseline_nprs", "baseline_function", "baseline_analgesics"):
        assert re.search(
            rf'name="{name}"[^>]*aria-invalid="true" aria-describedby="error-checkin"', page
        )
    clinic.infusion.refresh_from_db()
    assert clinic.infusion.status == InfusionStatus.PLANNED

    post(nurse, "infusion-checkin", pk, baseline_function="walks with a cane")
    refused = nurse.post(
        reverse("infusion-check", args=[pk]), {"check_id": "baseline_nprs", "status": "passed"}
    )
    assert refused.status_code == 422
    page = refused.content.decode()
    assert "eligibility.checks.baseline_nprs.records" in page
    # The NPRS input of the check-in form is marked, and read with the refusal beside it.
    assert re.search(
        r'name="baseline_nprs"[^>]*aria-invalid="true"'
        r' aria-describedby="error-checks-baseline_nprs"',
        page,
    )
    assert re.search(r'<span class="field-error" id="error-checks-baseline_nprs">', page)
    assert not clinic.infusion.checks.filter(check_id="baseline_nprs").exists()


def test_nurse_runs_first_infusion_with_nausea(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    page = flowsheet(nurse, pk)
    assert "Start at 10 mg/h" in page
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(
        nurse,
        "infusion-vitals",
        pk,
        minute="15",
        systolic_mmhg="128",
        diastolic_mmhg="80",
        heart_rate_bpm="76",
        spo2_pct="98",
    )
    page = post(nurse, "infusion-rate", pk, minute="30", rate_mg_per_h="15")
    assert "Rate 15 mg/h from minute 30" in page
    page = post(nurse, "infusion-event", pk, term="nausea", minute="40")
    assert "Nausea recorded" in page
    assert "ondansetron 4 mg oral" in page
    event = AdverseEvent.objects.get(infusion=clinic.infusion)
    page = post(nurse, "event-prn", event.pk, prn_id="ondansetron-oral", minute="41")
    assert "PRN given: ondansetron 4 mg" in page
    # Ondansetron is every 6 hours: a second dose a minute later is refused.
    page = post(nurse, "event-prn", event.pk, prn_id="ondansetron-oral", minute="42")
    assert "refused" in page
    assert MedicationDose.objects.filter(infusion=clinic.infusion, kind="prn").count() == 1
    post(nurse, "event-resolve", event.pk, minute="60", resolution="prn_medication")
    page = post(nurse, "infusion-end", pk, confirm_end="on")
    assert "Follow-ups scheduled" in page
    clinic.infusion.refresh_from_db()
    assert clinic.infusion.status == InfusionStatus.COMPLETED
    assert FollowUp.objects.filter(infusion=clinic.infusion, kind=FollowUpKind.CALL_24H).exists()


def test_hard_limit_is_refused_for_everyone(clinic: Clinic) -> None:
    start_running(clinic)
    physician = clinic.client("physician")
    page = post(
        physician,
        "infusion-rate",
        clinic.infusion.pk,
        minute="0",
        rate_mg_per_h="80",
        approve="on",
        reason="trying",
    )
    assert "hard limit" in page and "refused" in page
    assert not TitrationStep.objects.filter(infusion=clinic.infusion).exists()


def test_soft_limit_needs_the_physician_and_a_reason(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    page = post(nurse, "infusion-rate", pk, minute="30", rate_mg_per_h="30")
    assert "physician" in page and TitrationStep.objects.filter(infusion=pk).count() == 1
    # A nurse cannot tick the physician's box.
    page = post(
        nurse, "infusion-rate", pk, minute="30", rate_mg_per_h="30", approve="on", reason="pain"
    )
    assert "only a physician" in page
    physician = clinic.client("physician")
    page = post(physician, "infusion-rate", pk, minute="30", rate_mg_per_h="30", approve="on")
    assert "needs a reason" in page
    page = post(
        physician,
        "infusion-rate",
        pk,
        minute="30",
        rate_mg_per_h="30",
        approve="on",
        reason="tolerating well, severe pain",
    )
    assert "soft-limit deviation, approved" in page
    step = TitrationStep.objects.filter(infusion=pk).last()
    assert step is not None and step.approved_by == clinic.users["physician"]


def test_follow_up_call_and_physician_confirmation(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-end", pk, confirm_end="on")
    call = FollowUp.objects.get(infusion=pk, kind=FollowUpKind.CALL_24H)
    assert "24-hour call" in clinic.client("nurse").get(reverse("worklist")).content.decode()
    response = nurse.post(
        reverse("follow-up", args=[call.pk]),
        {
            "done_on": call.due_on.isoformat(),
            "nprs": "3",
            "qualifier": "good relief",
            "functional_improvement": "yes",
            "relief_hours": "30",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "24-hour call recorded" in page and "Engine: responder" in page
    # Nurses see the classification but cannot confirm it.
    assert reverse("follow-up-decision", args=[call.pk]) not in page
    physician = clinic.client("physician")
    response = physician.post(
        reverse("follow-up-decision", args=[call.pk]),
        {"agree": "no", "continuation": "stop"},
        follow=True,
    )
    assert "an override needs a reason" in response.content.decode()
    response = physician.post(
        reverse("follow-up-decision", args=[call.pk]),
        {"agree": "yes", "confirm_agree": "on"},
        follow=True,
    )
    assert "Response decision confirmed" in response.content.decode()
    page = physician.get(reverse("patient", args=[clinic.patient.pk])).content.decode()
    assert re.search(r"<strong>Responder</strong>", page)


def test_patient_page_shows_the_plan_and_every_blocker(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    page = nurse.get(reverse("patient", args=[clinic.patient.pk])).content.decode()
    assert "is running" in page and reverse("flowsheet", args=[clinic.infusion.pk]) in page
    post(nurse, "infusion-rate", clinic.infusion.pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-end", clinic.infusion.pk, confirm_end="on")
    page = nurse.get(reverse("patient", args=[clinic.patient.pk])).content.decode()
    # Infusion 2: both of the engine's blockers at once, each with its rule.
    assert "Infusion 2" in page and "Not eligible now" in page
    assert "phases.induction.min_interval_days" in page
    assert "no follow-up assessment of infusion 1 is recorded" in page


def test_the_chart_poll_also_refreshes_the_prompt_and_minute(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    post(nurse, "infusion-rate", clinic.infusion.pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-vitals", clinic.infusion.pk, minute="5", heart_rate_bpm="80")
    fragment = nurse.get(
        reverse("flowsheet-chart", args=[clinic.infusion.pk]),
        headers={"HX-Request": "true", "X-KIP-Poll": "1"},
    ).content.decode()
    assert "<html" not in fragment
    assert 'class="s-rate" points=' in fragment and 'class="s-hr" points=' in fragment
    assert re.search(r'id="prompt"[^>]*hx-swap-oob="true"', fragment)
    assert "next step due at minute 30" in fragment
    assert re.search(r'id="now"[^>]*hx-swap-oob="true"', fragment)
    # The page polls only while the infusion runs.
    page = flowsheet(nurse, clinic.infusion.pk)
    assert 'hx-trigger="every 30s"' in page
    post(nurse, "infusion-end", clinic.infusion.pk, confirm_end="on")
    assert 'hx-trigger="every 30s"' not in flowsheet(nurse, clinic.infusion.pk)


def test_interruption_call_form_asks_the_table_6_questions(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    post(nurse, "infusion-rate", clinic.infusion.pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-end", clinic.infusion.pk, confirm_end="on")
    call = FollowUp.objects.get(infusion=clinic.infusion, kind=FollowUpKind.CALL_24H)
    page = nurse.get(reverse("follow-up", args=[call.pk])).content.decode()
    assert "Pain back to baseline" not in page
    with audit_context(clinic.users["nurse"], reason="test set-up", source="test"):
        pause = FollowUp.objects.create(
            patient=clinic.patient,
            infusion=clinic.infusion,
            kind=FollowUpKind.INTERRUPTION_CALL,
            due_on=call.due_on,
        )
    page = nurse.get(reverse("follow-up", args=[pause.pk])).content.decode()
    for question in ("Pain back to baseline", "Pain medication change", "Mood worse"):
        assert question in page
    response = nurse.post(
        reverse("follow-up", args=[pause.pk]),
        {
            "done_on": call.due_on.isoformat(),
            "pain_returned_to_baseline": "yes",
            "medication_change": "opioid_increase",
            "mood_worse": "yes",
        },
    )
    assert response.status_code == 302
    pause.refresh_from_db()
    assert pause.pain_returned_to_baseline is True and pause.medication_change == "opioid_increase"
