"""A form with several bad values comes back once with every one of them: the summary at the
form's top lists them all (read out as an alert), each stands beside its own field, each of those
fields is marked invalid and read with its own message, and what was typed is kept."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import reverse

from kip.clinic.forms import LABELS
from kip.registry.models import (
    AdverseEvent,
    FollowUp,
    Infusion,
    ServiceInterruption,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import FollowUpKind, InfusionStatus

from .conftest import Clinic
from .test_clinic_flow import post, start_running

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Case:
    name: str
    who: str
    # Brings the record to where the form applies; returns (url name, url args, the form's key).
    setup: Callable[[Clinic], tuple[str, list[int], str]]
    data: dict[str, str]
    refused: list[str]  # every field the refusal names beside it, in the form's order
    rules: list[str] = field(default_factory=list)  # rule codes the page shows
    nothing_written: Callable[[Clinic], bool] = lambda c: True


def _running(url: str, form: str) -> Callable[[Clinic], tuple[str, list[int], str]]:
    def setup(clinic: Clinic) -> tuple[str, list[int], str]:
        nurse = start_running(clinic)
        post(nurse, "infusion-rate", clinic.infusion.pk, minute="0", rate_mg_per_h="10")
        return url, [clinic.infusion.pk], form

    return setup


def _planned(url: str, form: str) -> Callable[[Clinic], tuple[str, list[int], str]]:
    return lambda clinic: (url, [clinic.infusion.pk], form)


def _call(clinic: Clinic) -> tuple[str, list[int], str]:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    post(nurse, "infusion-end", pk, confirm_end="on")
    call = FollowUp.objects.get(infusion=pk, kind=FollowUpKind.CALL_24H)
    return "follow-up", [call.pk], "record"


CASES = [
    Case(
        "vitals",
        "nurse",
        _running("infusion-vitals", "vitals"),
        {"minute": "5", "heart_rate_bpm": "x", "spo2_pct": "140", "temperature_c": "abc"},
        ["heart_rate_bpm", "spo2_pct", "temperature_c"],
        ["protocol.input"],
        lambda c: not VitalSigns.objects.exists(),
    ),
    Case(
        "rate",
        "nurse",
        _running("infusion-rate", "rate"),
        {"minute": "soon", "rate_mg_per_h": "12.25"},
        ["minute", "rate_mg_per_h"],
        ["limits.rate_increment_mg_per_h"],
        lambda c: TitrationStep.objects.count() == 1,
    ),
    Case(
        "check-in",
        "nurse",
        _planned("infusion-checkin", "checkin"),
        {"weight_kg": "heavy", "baseline_nprs": "15", "baseline_function": "walks"},
        ["weight_kg", "baseline_nprs"],
        ["nprs.range"],
        lambda c: Infusion.objects.get(pk=c.infusion.pk).status == InfusionStatus.PLANNED,
    ),
    Case(
        "adverse event",
        "nurse",
        _running("infusion-event", "events"),
        {"term": " ", "minute": "x"},
        ["term", "minute"],
        ["adverse_events.events"],
        lambda c: not AdverseEvent.objects.exists(),
    ),
    Case(
        "end",
        "nurse",
        _running("infusion-end", "end"),
        {"max_rate_tolerated": "lots"},
        ["max_rate_tolerated", "confirm_end"],
        [],
        lambda c: Infusion.objects.get(pk=c.infusion.pk).status == InfusionStatus.RUNNING,
    ),
    Case(
        "follow-up call",
        "nurse",
        _call,
        {"done_on": "", "nprs": "15", "functional_improvement": "maybe", "relief_hours": "long"},
        ["done_on", "nprs", "functional_improvement", "relief_hours"],
        ["nprs.range"],
        lambda c: not FollowUp.objects.filter(done_on__isnull=False).exists(),
    ),
    Case(
        "service interruption",
        "admin",
        lambda clinic: ("interruption-create", [], "create"),
        {"starts_on": "soon", "ends_on": "", "site_id": "", "reason": " "},
        ["starts_on", "site_id", "reason"],
        ["service_interruptions.reason"],
        lambda c: not ServiceInterruption.objects.exists(),
    ),
    Case(
        "new account",
        "admin",
        lambda clinic: ("staff-create", [], "create"),
        {"username": " ", "first_name": "Nia", "password": "1", "role": "nurse", "reason": ""},
        ["username", "password", "reason"],
        ["admin.username", "auth.password_validators", "admin.reason"],
    ),
]


def control(page: str, name: str) -> str:
    """The input or select named `name` (the first one on the page after the refused form's
    summary, which is the refused form's own)."""
    match = re.search(rf'<(?:input|select)\b[^>]*\bname="{name}"[^>]*>', page)
    assert match is not None, name
    return match.group(0)


def refused_page(clinic: Clinic, case: Case) -> tuple[str, str]:
    url, args, form = case.setup(clinic)
    data = dict(case.data)
    if case.name == "new account":
        data["site_id"] = str(clinic.main.pk)
    client: Client = clinic.client(case.who)
    response = client.post(reverse(url, args=args), data)
    assert response.status_code == 422, response.status_code
    page = response.content.decode()
    # From the refused form's summary on: earlier forms on the page share field names.
    start = page.index(f'id="error-{form}"')
    return form, page[page.rindex("<", 0, start) :]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_bad_field_is_shown_beside_itself_and_marked(clinic: Clinic, case: Case) -> None:
    form, page = refused_page(clinic, case)
    summary = page[: page.index("</div>")]
    assert 'role="alert"' in summary
    items = re.findall(r"<li>(.*?)</li>", summary)
    assert len(items) == len(case.refused), summary
    for name in case.refused:
        tag = control(page, name)
        message_id = f"error-{form}-{name}"
        assert 'aria-invalid="true"' in tag, tag
        assert f'aria-describedby="{message_id}"' in tag, tag
        beside = re.search(rf'<span class="field-error" id="{message_id}">([^<]+)</span>', page)
        assert beside is not None, message_id
        text = html.unescape(beside.group(1))
        assert text.startswith(f"{LABELS[name]}: "), text
        # The summary lists the same message, in the form's order.
        assert html.unescape(items[case.refused.index(name)]) == text
    for rule in case.rules:
        assert f"({rule})" in summary
    # What was typed comes back (a password never does).
    for name, typed in case.data.items():
        if typed.strip() and name != "password" and name in case.refused:
            tag = control(page, name)
            assert f'value="{typed}"' in tag or "<select" in tag, tag
    assert case.nothing_written(clinic)


def test_every_message_an_input_points_to_is_on_the_page(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    response = nurse.post(
        reverse("infusion-vitals", args=[pk]),
        {"minute": "x", "systolic_mmhg": "500", "diastolic_mmhg": "y", "respiratory_rate": "90"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    pointed = {i for ids in re.findall(r'aria-describedby="([^"]+)"', page) for i in ids.split()}
    assert {
        "error-vitals-minute",
        "error-vitals-systolic_mmhg",
        "error-vitals-diastolic_mmhg",
        "error-vitals-respiratory_rate",
    } <= pointed
    for element_id in pointed:
        assert page.count(f'id="{element_id}"') == 1, element_id


def test_one_bad_field_is_one_message_without_a_list(clinic: Clinic) -> None:
    nurse = start_running(clinic)
    page = post(nurse, "infusion-vitals", clinic.infusion.pk, minute="5", spo2_pct="140")
    summary = page[page.index('id="error-vitals"') :]
    summary = summary[: summary.index("</div>")]
    assert "<li>" not in summary and "SpO2 (%): " in summary
    assert 'aria-describedby="error-vitals-spo2_pct"' in control(page, "spo2_pct")


def test_a_state_refusal_is_one_message_whatever_the_values(clinic: Clinic) -> None:
    # Not running yet: the rate form's refusal is the infusion's state, told once.
    nurse = clinic.client("nurse")
    page = post(nurse, "infusion-rate", clinic.infusion.pk, minute="5", rate_mg_per_h="12")
    summary = page[page.index('id="error-rate"') :]
    summary = summary[: summary.index("</div>")]
    assert "infusion.status" in summary and "<li>" not in summary
