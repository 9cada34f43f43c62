"""What a nurse sees when a form comes back refused: the field the rule names is marked, what was
typed is kept in that form only, and no other form on the flowsheet is rewritten with it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kip.registry.models import FollowUp
from kip.registry.models.choices import FollowUpKind

from .conftest import Clinic
from .test_clinic_flow import post, start_running

pytestmark = pytest.mark.django_db


def input_tag(page: str, element_id: str) -> str:
    match = re.search(rf'<input id="{element_id}"[^>]*>', page)
    assert match is not None, element_id
    return match.group(0)


def test_a_refused_rate_marks_the_rate_field_and_keeps_other_forms_clean(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    page = post(nurse, "infusion-rate", pk, minute="7", rate_mg_per_h="500")
    assert "limits.hard_max_rate" in page
    rate = input_tag(page, "rate-value")
    # Read with the message beside it; the summary at the form's top lists it too.
    assert 'aria-invalid="true"' in rate
    assert 'aria-describedby="error-rate-rate_mg_per_h"' in rate
    assert 'value="500"' in rate and 'id="error-rate"' in page
    assert 'id="error-rate-rate_mg_per_h">Rate (mg/h): refused' in page
    assert 'aria-invalid="true"' not in input_tag(page, "rate-minute")
    assert 'value="7"' in input_tag(page, "rate-minute")
    # The soft-limit request and the event form keep their own defaults, not the refused values.
    assert 'value=""' in input_tag(page, "dev-rate")
    assert 'value="7"' not in input_tag(page, "ev-minute")


def test_a_refused_vital_sign_leaves_the_rate_form_alone(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    page = post(nurse, "infusion-vitals", pk, minute="-9", spo2_pct="abc")
    assert "spo2_pct" in page
    spo2 = re.search(r'<input name="spo2_pct"[^>]*>', page)
    assert spo2 is not None and 'aria-invalid="true"' in spo2.group(0)
    assert 'value="abc"' in spo2.group(0)
    assert 'value="-9"' not in input_tag(page, "rate-minute")
    assert 'value="-9"' not in input_tag(page, "ev-minute")


def test_a_refused_follow_up_keeps_the_answers_given(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-end", pk, confirm_end="on")
    call = FollowUp.objects.get(infusion=pk, kind=FollowUpKind.CALL_24H)
    response = nurse.post(
        reverse("follow-up", args=[call.pk]),
        {
            "done_on": call.due_on.isoformat(),
            "nprs": "15",
            "functional_improvement": "yes",
            "analgesics_reduced": "no",
            "relief_ongoing": "on",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'aria-invalid="true"' in input_tag(page, "fu-nprs")
    assert re.search(r'name="functional_improvement">.*?<option value="yes" selected>', page)
    assert re.search(r'name="analgesics_reduced">.*?<option value="no" selected>', page)
    assert re.search(r'<input type="checkbox" name="relief_ongoing" checked>', page)


def test_no_overdue_calls_is_not_shown_as_an_alarm(clinic: Clinic) -> None:
    page = clinic.client("nurse").get(reverse("worklist")).content.decode()
    assert "None overdue." in page
    assert re.search(r'Calls overdue <span class="count">0</span>', page)


def test_a_soft_limit_request_shows_the_physician_the_engines_prompt(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-deviation-request", pk, minute="5", rate_mg_per_h="30", reason="pain 8")
    page = clinic.client("physician").get(reverse("flowsheet", args=[pk])).content.decode()
    panel = page.split('id="deviations"', 1)[1].split("</section>", 1)[0]
    assert "30 mg/h" in panel and re.search(r"Engine now: <strong>[^<]+</strong>", panel)
    assert "running 10 mg/h" in panel
