"""A form with several bad values comes back once with every one of them: the summary at the
form's top lists them all (read out as an alert), each stands beside its own field, each of those
fields is marked invalid and read with its own message, and what was typed is kept."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kip.clinic.forms import LABELS
from kip.registry.audit.context import audit_context
from kip.registry.models import (
    AdverseEvent,
    ExclusionClearance,
    FollowUp,
    Infusion,
    MedicationDose,
    Membership,
    Patient,
    ServiceInterruption,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import FollowUpKind, InfusionStatus, Role
from kip.registry.services import patients as patient_service

from .conftest import Clinic
from .test_clinic_flow import BASELINE, post, start_running

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


def enrolled(
    clinic: Clinic, mrn: str, protocol_id: str = "mskcc-2021", **fields: object
) -> Patient:
    """A patient on the program at the main site with no infusion scheduled yet."""
    base: dict[str, object] = {
        "mrn": mrn,
        "given_name": "Ida",
        "family_name": "Holm",
        "date_of_birth": date(1975, 1, 1),
        "sex": "male",
        "weight_kg": 70,
        "primary_cancer": "breast",
        "etiology": "cipn",
        "cipn_regimen": "AC-T",
    }
    return patient_service.create_patient(
        clinic.users["nurse"],
        clinic.main.pk,
        base | fields,
        enrol_on=timezone.localdate(),
        protocol_id=protocol_id,
    )


def _schedule(clinic: Clinic) -> tuple[str, list[int], str]:
    return "patient-schedule", [enrolled(clinic, "MRN-NEXT").pk], "schedule"


def _clearance(clinic: Clinic) -> tuple[str, list[int], str]:
    # A soft exclusion of schwartzman-2009 that a physician may clear after review.
    patient = enrolled(
        clinic,
        "MRN-CRPS",
        "schwartzman-2009",
        primary_cancer="other",
        etiology="postsurgical",
        cipn_regimen="",
        other_conditions=["active_psychosis"],
    )
    return "patient-clearance", [patient.pk], "clearance"


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
    Case(
        "schedule the next infusion",
        "nurse",
        _schedule,
        {"on_date": "soon", "weight_kg": "heavy"},
        ["on_date", "weight_kg"],
        [],
        lambda c: Infusion.objects.count() == 2,  # the fixture's two, no third
    ),
    Case(
        "clear a soft exclusion",
        "physician",
        _clearance,
        # A hard exclusion (the form offers none; a stale or forged post may hold one).
        {"exclusion_id": "pregnancy", "reason": " "},
        ["exclusion_id", "reason"],
        ["eligibility.exclusions.pregnancy"],
        lambda c: not ExclusionClearance.objects.exists(),
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


def assert_marked(markup: str, form: str, name: str) -> str:
    """`name`'s input in `markup` is marked invalid and described by its own message, which sits
    beside it and names the field by its label; the message's text."""
    tag = control(markup, name)
    message_id = f"error-{form}-{name}"
    assert 'aria-invalid="true"' in tag, tag
    assert f'aria-describedby="{message_id}"' in tag, tag
    beside = re.search(rf'<span class="field-error" id="{message_id}">([^<]+)</span>', markup)
    assert beside is not None, message_id
    text = html.unescape(beside.group(1))
    assert text.startswith(f"{LABELS[name]}: "), text
    return text


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_bad_field_is_shown_beside_itself_and_marked(clinic: Clinic, case: Case) -> None:
    form, page = refused_page(clinic, case)
    summary = page[: page.index("</div>")]
    assert 'role="alert"' in summary
    items = re.findall(r"<li>(.*?)</li>", summary)
    assert len(items) == len(case.refused), summary
    for name in case.refused:
        text = assert_marked(page, form, name)
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


# --------------------------------------------------------------------------- forms per row
# A form repeated per row or card (a role per membership, a resolution per adverse event) is
# named by its row: a refusal is shown in the row that was submitted, with its values, and every
# other row stays as it was.


@dataclass(frozen=True)
class Row:
    """The submitted copy of a row's form and another copy of the same form, each found by a
    piece of markup inside it (its action, or a hidden field when the copies share one)."""

    at: str
    form: str  # the submitted copy's name on the page (kip.clinic.forms.row_form)
    other: str
    action: str  # where the submitted copy posts
    data: dict[str, str] = field(default_factory=dict)  # values known once set up (ids)
    kept: list[str] = field(default_factory=list)  # markup the copy holds again, as typed


def stored() -> object:
    """What a refusal must leave as it was: the records the row forms write."""
    return (
        sorted(Membership.objects.values_list("pk", "user_id", "site_id", "role")),
        sorted(User.objects.values_list("pk", "is_active")),
        sorted(
            AdverseEvent.objects.values_list(
                "pk", "resolution", "resolved_minute", "physician_decision", "note"
            )
        ),
        sorted(MedicationDose.objects.values_list("pk", "kind", "drug", "minute")),
        sorted(Infusion.objects.values_list("pk", "status")),
    )


def by_action(name: str, pk: int, other_pk: int, form: str, **more: Any) -> Row:
    at = reverse(name, args=[pk])
    other = reverse(name, args=[other_pk])
    return Row(f'action="{at}"', form, f'action="{other}"', at, **more)


def on_main(clinic: Clinic, who: str) -> int:
    return Membership.objects.get(user=clinic.users[who], site=clinic.main).pk


def _role_rows(clinic: Clinic) -> Row:
    nurse, physician = on_main(clinic, "nurse"), on_main(clinic, "physician")
    return by_action("staff-role", nurse, physician, f"role-{nurse}")


def _add_role_rows(clinic: Clinic) -> Row:
    # The administrator of both sites: each account at main may get a role at the other.
    with audit_context(clinic.users["admin"], reason="test set-up", source="test"):
        Membership.objects.create(user=clinic.users["admin"], site=clinic.other, role=Role.ADMIN)
    nurse, physician = clinic.users["nurse"].pk, clinic.users["physician"].pk
    site = str(clinic.other.pk)
    return by_action(
        "staff-add-role",
        nurse,
        physician,
        f"add-{nurse}",
        data={"site_id": site},
        kept=[f'<option value="{site}" selected>'],
    )


def two_events(clinic: Clinic, *terms: str) -> tuple[AdverseEvent, AdverseEvent]:
    nurse = start_running(clinic)
    pk = clinic.infusion.pk
    post(nurse, "infusion-rate", pk, minute="0", rate_mg_per_h="10")
    for term in terms:
        post(nurse, "infusion-event", pk, term=term, minute="0")
    first, second = AdverseEvent.objects.order_by("pk")
    return first, second


def _event_cards(name: str, prefix: str) -> Callable[[Clinic], Row]:
    def setup(clinic: Clinic) -> Row:
        # Both call for a physician's evaluation: each card has a decision and a resolution.
        first, second = two_events(clinic, "headache", "dizziness")
        return by_action(name, first.pk, second.pk, f"{prefix}-{first.pk}")

    return setup


def _premedication_rows(clinic: Clinic) -> Row:
    post(clinic.client("nurse"), "infusion-checkin", clinic.infusion.pk, **BASELINE)
    at = reverse("infusion-premedication", args=[clinic.infusion.pk])
    mine, other = 'name="drug" value="ondansetron"', 'name="drug" value="lorazepam"'
    return Row(mine, "premedication-ondansetron", other, at, data={"drug": "ondansetron"})


@dataclass(frozen=True)
class RowCase:
    name: str
    who: str
    setup: Callable[[Clinic], Row]
    data: dict[str, str]
    refused: list[str]  # every field the refusal names beside it, in the form's order
    kept: list[str] = field(default_factory=list)


ROW_CASES = [
    RowCase(
        "change a role", "admin", _role_rows, {"role": "boss", "reason": " "}, ["role", "reason"]
    ),
    RowCase(
        "add a role at another site",
        "admin",
        _add_role_rows,
        {"role": "boss", "reason": ""},
        ["role", "reason"],
    ),
    RowCase(
        "resolve an adverse event",
        "nurse",
        _event_cards("event-resolve", "resolve"),
        {"minute": "soon", "resolution": "ongoing"},
        ["minute", "resolution"],
        ['value="soon"'],
    ),
    # The decision's note takes any text: the choice is the one value that can be refused.
    RowCase(
        "physician decision on an adverse event",
        "physician",
        _event_cards("event-decision", "decision"),
        {"decision": "wait_and_see", "note": "seen at the bedside"},
        ["decision"],
        ['value="seen at the bedside"'],
    ),
    # One input per drug (the drug is the row's hidden field): the minute.
    RowCase(
        "premedication",
        "nurse",
        _premedication_rows,
        {"minute": "soon"},
        ["minute"],
        ['value="soon"'],
    ),
]


def form_around(page: str, marker: str) -> str:
    """The form holding `marker`, with the messages beside its fields."""
    inside = page.index(marker)
    start = page.rindex("<form", 0, inside)
    return page[start : page.index("</form>", inside)]


def summaries(page: str) -> list[str]:
    """The ids of every refusal summary on the page (clinic/_error.html)."""
    return re.findall(r'<div class="error" role="alert" id="([^"]+)">', page)


@pytest.mark.parametrize("case", ROW_CASES, ids=[c.name for c in ROW_CASES])
def test_a_rows_refusal_is_shown_beside_that_rows_fields_only(
    clinic: Clinic, case: RowCase
) -> None:
    row = case.setup(clinic)
    before = stored()
    response = clinic.client(case.who).post(row.action, case.data | row.data)
    assert response.status_code == 422, response.status_code
    page = response.content.decode()
    mine, other = form_around(page, row.at), form_around(page, row.other)
    # One summary on the page, just above the submitted copy: not at the section's top.
    assert summaries(page) == [f"error-{row.form}"]
    start = page.index(f'id="error-{row.form}"')
    assert "<form" not in page[start : page.index(mine)]
    summary = page[start : page.index("</div>", start)]
    items = re.findall(r"<li>(.*?)</li>", summary)
    assert len(items) == (len(case.refused) if len(case.refused) > 1 else 0), summary
    for name in case.refused:
        assert_marked(mine, row.form, name)
        assert page.count(f'id="error-{row.form}-{name}"') == 1
    for markup in [*case.kept, *row.kept]:
        assert markup in mine, markup
    # The other row: no mark, no message, none of the values typed into the refused row.
    assert "aria-invalid" not in other and "field-error" not in other, other
    for name in case.refused:
        typed = case.data[name]
        if typed.strip():
            assert f'value="{typed}"' not in other, other
    assert stored() == before


def test_a_state_refusal_of_a_role_keeps_the_rows_choice_and_reason(clinic: Clinic) -> None:
    # The administrator's own last admin role: refused whatever the values, which come back.
    own, physician = on_main(clinic, "admin"), on_main(clinic, "physician")
    row = by_action("staff-role", own, physician, f"role-{own}")
    before = stored()
    response = clinic.client("admin").post(row.action, {"role": "nurse", "reason": "handing over"})
    assert response.status_code == 422
    page = response.content.decode()
    assert summaries(page) == [f"error-role-{own}"]
    mine, other = form_around(page, row.at), form_around(page, row.other)
    assert '<option value="nurse" selected>' in mine and 'value="handing over"' in mine
    assert '<option value="admin" selected>' not in mine
    assert '<option value="physician" selected>' in other and "handing over" not in other
    # The same row's other form (remove the role) keeps its own, empty, reason.
    remove = form_around(page, f'action="{reverse("staff-remove", args=[own])}"')
    assert "handing over" not in remove
    assert stored() == before


def _card(page: str, event: AdverseEvent) -> str:
    """The card of an ongoing event on the flowsheet."""
    resolve = f'action="{reverse("event-resolve", args=[event.pk])}"'
    return next(c for c in page.split('<div class="event-card">') if resolve in c)


def test_a_refused_prn_dose_is_told_in_its_events_card(clinic: Clinic) -> None:
    # The PRN form is a button (its drug and minute are hidden): the summary is its message.
    nausea, vomiting = two_events(clinic, "nausea", "vomiting")
    nurse = clinic.client("nurse")
    post(nurse, "event-prn", nausea.pk, prn_id="ondansetron-oral", minute="1")
    before = stored()
    # Ondansetron is every 6 hours: a second dose a minute later is refused.
    response = nurse.post(
        reverse("event-prn", args=[nausea.pk]), {"prn_id": "ondansetron-oral", "minute": "2"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert summaries(page) == [f"error-prn-{nausea.pk}"]
    assert f'id="error-prn-{nausea.pk}"' in _card(page, nausea)
    assert "refused" in _card(page, nausea)
    assert 'role="alert"' not in _card(page, vomiting)
    # The form reporting a new event shares the field `minute`: it is neither marked nor filled.
    report = form_around(page, f'action="{reverse("infusion-event", args=[clinic.infusion.pk])}"')
    assert "aria-invalid" not in report and 'value="2"' not in report
    assert stored() == before


def test_a_refusal_for_a_card_no_longer_shown_is_told_at_its_sections_top(
    clinic: Clinic,
) -> None:
    # Resolved from another screen meanwhile: the card is gone, the refusal still shows.
    headache, _ = two_events(clinic, "headache", "dizziness")
    nurse = clinic.client("nurse")
    post(nurse, "event-resolve", headache.pk, minute="1", resolution="self_resolved")
    before = stored()
    response = nurse.post(
        reverse("event-resolve", args=[headache.pk]),
        {"minute": "7.5", "resolution": "self_resolved"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert summaries(page) == ["error-events"]
    summary = page[page.index('id="error-events"') :]
    assert "already resolved" in summary[: summary.index("</div>")]
    # Only the summary moved: the report form's own fields are neither marked nor filled.
    assert "aria-invalid" not in page and 'value="7.5"' not in page
    assert stored() == before
