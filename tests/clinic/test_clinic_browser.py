"""The clinic in a real browser (Debian's chromium through Playwright) against a live server: a
nurse runs a first infusion with nausea, a physician finds a nurse's soft-limit request on the
worklist and approves it, then sets a soft-limit step, a physician evaluates an adverse event
from the worklist, a researcher is kept out of a patient page, an administrator adds a nurse,
gives a nurse a role at another site and records a service interruption."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse

from kip.registry.audit.context import audit_context
from kip.registry.models import FollowUp, MedicationDose, Membership, TitrationStep
from kip.registry.models.choices import InfusionStatus, Role
from kip.registry.services import deviations, events, sessions

from .conftest import PASSWORD, Clinic
from .test_clinic_flow import start_running

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/kip-flowsheet.png")
STAFF_SCREENSHOT = Path("/tmp/kip-staff.png")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)"
    ),
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous and safe, so Django's async guard is lifted for these tests only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
            # Django keeps connections per context, and Playwright's loop gives this test its
            # own: close them here, or PostgreSQL cannot drop the test database at the end.
            connections.close_all()


def signed_in(browser: Any, live_server: Any, username: str, password: str = PASSWORD) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(worklist|research|staff)/$"))
    return page


def flash(page: Any) -> str:
    return str(page.locator(".messages").inner_text())


def test_nurse_runs_a_first_infusion_with_nausea(
    browser: Any, live_server: Any, clinic: Clinic
) -> None:
    page = signed_in(browser, live_server, "nurse")
    page.click("text=Open flowsheet")
    page.fill("#ci-nprs", "7")
    page.fill("#ci-function", "walks with a cane")
    page.fill("#ci-satisfaction", "dissatisfied")
    page.fill("#ci-analgesics", "gabapentin 300 mg tid")
    page.click("#checkin button[type=submit]")
    assert "Checked in" in flash(page)
    # Every check on the day's list, from the plan: pass them one by one, with the keyboard.
    while page.locator("#checks tr:not(.passed) button[value=passed]").count():
        page.locator("#checks tr:not(.passed) button[value=passed]").first.click()
    for drug in ("ondansetron", "lorazepam"):
        page.locator("#premedication li", has_text=drug).locator("button").click()
    page.click("#start button")
    assert "Infusion started" in flash(page)
    assert "Start at 10 mg/h" in page.locator("#prompt").inner_text()
    page.click("#rate button[type=submit]")  # the engine's rate is filled in
    page.fill("#vitals input[name=minute]", "15")
    page.fill("#vitals input[name=systolic_mmhg]", "132")
    page.fill("#vitals input[name=diastolic_mmhg]", "84")
    page.fill("#vitals input[name=heart_rate_bpm]", "78")
    page.fill("#vitals input[name=spo2_pct]", "98")
    page.click("#vitals button[type=submit]")
    page.fill("#rate-minute", "30")
    page.fill("#rate-value", "15")
    page.click("#rate button[type=submit]")
    assert "Rate 15 mg/h from minute 30" in flash(page)
    page.fill("#ev-term", "nausea")
    page.fill("#ev-minute", "45")
    page.click("#events form.grid-form button[type=submit]")
    card = page.locator(".event-card")
    assert "Nausea" in card.inner_text() and "ondansetron" in card.inner_text()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    card.locator("button", has_text="Give now").first.click()
    assert "PRN given: ondansetron 4 mg" in flash(page)
    page.locator(".event-card select[name=resolution]").select_option("prn_medication")
    page.locator(".event-card button", has_text="Resolved").click()
    # Ending cannot be undone: the button does nothing until the nurse ticks the confirmation.
    page.click("#end button[type=submit]")
    assert page.locator("#end input[name=confirm_end]:invalid").count() == 1
    assert "Infusion ended" not in page.inner_text("main")
    page.check("#end input[name=confirm_end]")
    page.click("#end button[type=submit]")
    assert "Infusion ended" in flash(page) and "24-hour call" in flash(page)
    clinic.infusion.refresh_from_db()
    assert clinic.infusion.status == InfusionStatus.COMPLETED
    assert MedicationDose.objects.filter(infusion=clinic.infusion, kind="prn").count() == 1
    # The chart drew the session: a rate line and the vital signs.
    assert page.locator("polyline.s-rate").count() == 1
    assert page.locator("polyline.s-hr").count() == 1


def test_physician_approves_a_soft_limit_step(
    browser: Any, live_server: Any, clinic: Clinic
) -> None:
    start_running(clinic)
    nurse = clinic.users["nurse"]
    sessions.record_rate(nurse, clinic.infusion.pk, 0, 10)
    deviations.request_deviation(nurse, clinic.infusion.pk, 10, 15, reason="pain 9/10")
    # The nurse's request waits on the worklist the physician lands on, not only on the flowsheet.
    page = signed_in(browser, live_server, "physician")
    waiting = page.locator("#waiting-for-physician")
    assert "15 mg/h from minute 10" in waiting.inner_text()
    assert (
        "pain 9/10" in waiting.inner_text() and "Engine now: Keep 10 mg/h" in waiting.inner_text()
    )
    waiting.locator("a", has_text="Approve or decline").click()
    card = page.locator("#deviations .deviation-request")
    card.locator("form", has_text="Approve").locator("input[name=reason]").fill("severe pain")
    card.locator("button", has_text="Approve").click()
    assert "Approved: rate 15 mg/h from minute 10" in flash(page)
    approved = TitrationStep.objects.get(infusion=clinic.infusion, minute=10)
    assert approved.approved_by == clinic.users["physician"] and approved.entered_by == nurse
    page.click("nav >> text=Worklist")
    assert "Nothing waits for a physician." in page.locator("#waiting-for-physician").inner_text()
    # The physician's own soft-limit rate: ticked and with a reason, from the flowsheet.
    page.goto(live_server.url + reverse("flowsheet", args=[clinic.infusion.pk]))
    page.fill("#rate-minute", "30")
    page.fill("#rate-value", "30")
    page.click("#rate button[type=submit]")
    assert "needs a physician's approval" in page.locator("#rate .error").inner_text()
    page.check("#rate input[name=approve]")
    page.fill("#rate-reason", "severe pain, tolerating 10 mg/h without effects")
    page.click("#rate button[type=submit]")
    assert "soft-limit deviation, approved" in flash(page)
    step = TitrationStep.objects.filter(infusion=clinic.infusion).last()
    assert step is not None and step.approved_by == clinic.users["physician"]


def test_physician_evaluates_an_adverse_event_from_the_worklist(
    browser: Any, live_server: Any, clinic: Clinic
) -> None:
    start_running(clinic)
    nurse = clinic.users["nurse"]
    sessions.record_rate(nurse, clinic.infusion.pk, 0, 10)
    events.report_adverse_event(nurse, clinic.infusion.pk, "headache", 20)
    page = signed_in(browser, live_server, "physician")
    waiting = page.locator("#waiting-for-physician")
    assert "Headache (neurological) since minute 20" in waiting.inner_text()
    assert "Protocol now: physician evaluation" in waiting.inner_text()
    waiting.locator("a", has_text="Evaluate and decide").click()
    assert page.url.endswith("#events")
    card = page.locator("#events .event-card", has_text="Headache")
    card.locator("select[name=decision]").select_option("continue")
    card.locator("button", has_text="Record decision").click()
    assert "Physician decision for headache: continue" in flash(page)
    page.click("nav >> text=Worklist")
    assert "Nothing waits for a physician." in page.locator("#waiting-for-physician").inner_text()


def test_researcher_cannot_open_a_patient_page(
    browser: Any, live_server: Any, clinic: Clinic
) -> None:
    page = signed_in(browser, live_server, "researcher")
    assert page.url.endswith("/research/")
    response = page.goto(live_server.url + reverse("patient", args=[clinic.patient.pk]))
    assert response.status == 403
    assert "Not allowed" in page.inner_text("main")
    assert clinic.patient.family_name not in page.content()


def test_admin_adds_a_nurse_and_records_a_service_interruption(
    browser: Any, live_server: Any, clinic: Clinic
) -> None:
    page = signed_in(browser, live_server, "admin")
    assert page.url.endswith("/staff/")
    page.fill("#su-username", "nia")
    page.fill("#su-first", "Nia")
    page.fill("#su-last", "Moss")
    page.fill("#su-password", "123")
    page.select_option("#su-site", str(clinic.main.pk))
    page.select_option("#su-role", "nurse")
    page.fill("#su-reason", "new starter")
    page.click("#add-user button[type=submit]")
    assert "too short" in page.locator("#add-user .error").inner_text()
    page.fill("#su-password", "quiet river lantern 42")
    page.click("#add-user button[type=submit]")
    assert "Account nia created: Nurse at main" in flash(page)
    assert "nia" in page.locator("#staff").inner_text()
    made = Membership.objects.get(user__username="nia")
    assert (made.site, made.role) == (clinic.main, Role.NURSE)

    # Administrator of the other site too: the main site's nurse gets a physician role there.
    with audit_context(clinic.users["admin"], reason="test set-up", source="test"):
        Membership.objects.create(user=clinic.users["admin"], site=clinic.other, role=Role.ADMIN)
    page.reload()
    add = page.locator("#user-nurse form.add-role")
    add.locator("select[name=role]").select_option("physician")
    add.locator("select[name=site_id]").select_option(str(clinic.other.pk))
    add.locator("input[name=reason]").fill("covers the other site on Fridays")
    add.locator("button[type=submit]").click()
    assert "nurse is now also Physician at other" in flash(page)
    roles = page.locator("#user-nurse .membership").all_inner_texts()
    assert any("Nurse · main" in r for r in roles) and any("Physician · other" in r for r in roles)
    page.screenshot(path=str(STAFF_SCREENSHOT), full_page=True)
    assert (
        Membership.objects.get(user=clinic.users["nurse"], site=clinic.other).role == Role.PHYSICIAN
    )

    # The new nurse signs in and has the day's work in front of her.
    nurse = signed_in(browser, live_server, "nia", "quiet river lantern 42")
    assert nurse.url.endswith("/worklist/")
    assert "Diaz" in nurse.inner_text("main")
    assert nurse.locator("nav a", has_text="Staff").count() == 0

    # The administrator pauses the service at the site from today.
    page.click("nav >> text=Service interruptions")
    page.fill("#si-start", clinic.infusion.planned_on.isoformat())
    page.fill("#si-reason", "COVID-19")
    page.click("#add-interruption button[type=submit]")
    assert "1 planned infusion(s) postponed" in flash(page)
    assert "COVID-19" in page.locator("#interruptions").inner_text()
    clinic.infusion.refresh_from_db()
    assert clinic.infusion.status == InfusionStatus.POSTPONED
    assert FollowUp.objects.filter(patient=clinic.patient, kind="interruption_call").exists()
