"""Registry integrity rules that live in the database itself, so no code path can skip them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kip.registry.models import (
    Enrolment,
    Infusion,
    Patient,
    ResponseDecision,
    Site,
    TitrationStep,
)
from kip.registry.models.followups import FollowUp

# Every clinical write needs an author (the audit trail refuses one without): tests write as one.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("audited")]


@pytest.fixture
def site(audited: object) -> Site:
    return Site.objects.create(code="main", name="Main infusion center")


@pytest.fixture
def nurse() -> User:
    return User.objects.create_user("nurse", password="x-unused-x")


def make_patient(site: Site, **fields: object) -> Patient:
    base: dict[str, object] = {
        "site": site,
        "mrn": "MRN001",
        "given_name": "Ana",
        "family_name": "Diaz",
        "date_of_birth": date(1968, 5, 2),
        "sex": "female",
        "premenopausal": False,
        "primary_cancer": "breast",
        "etiology": "cipn",
        "cipn_regimen": "AC-T",
    }
    return Patient.objects.create(**(base | fields))


def make_infusion(patient: Patient) -> Infusion:
    enrolment = Enrolment.objects.create(
        patient=patient,
        protocol_id="mskcc-2021",
        protocol_version="1.0.0",
        started_on=date(2019, 1, 7),
    )
    return Infusion.objects.create(
        patient=patient,
        enrolment=enrolment,
        number=1,
        phase="first",
        protocol_id="mskcc-2021",
        protocol_version="1.0.0",
        planned_on=date(2019, 1, 7),
    )


def test_research_id_is_random_not_derived(site: Site) -> None:
    a = make_patient(site)
    b = make_patient(site, mrn="MRN002")
    assert a.research_id != b.research_id
    assert a.mrn not in a.research_id and a.research_id.startswith("R-")


def test_mrn_is_unique_within_a_site(site: Site) -> None:
    make_patient(site)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_patient(site)


def test_age_on_a_day(site: Site) -> None:
    patient = make_patient(site)
    assert patient.age_on(date(2019, 5, 1)) == 50
    assert patient.age_on(date(2019, 5, 2)) == 51


def test_etiology_detail_must_match_etiology(site: Site) -> None:
    patient = make_patient(site, etiology="postradiation", radiation_site="spine", cipn_regimen="")
    patient.clean()
    patient.surgery_type = "postmastectomy"
    with pytest.raises(ValidationError) as caught:
        patient.clean()
    assert "surgery_type" in caught.value.message_dict


def test_exclusion_conditions_as_the_engine_names_them(site: Site) -> None:
    patient = make_patient(site, diabetes_mellitus=True, prior_peripheral_neuropathy=False)
    assert patient.conditions == ["diabetes_mellitus"]


def test_one_open_enrolment_per_patient(site: Site) -> None:
    patient = make_patient(site)
    make_infusion(patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(
            patient=patient, protocol_id="mskcc-2021", protocol_version="1", started_on=date.today()
        )


def test_ended_enrolment_needs_a_reason(site: Site) -> None:
    patient = make_patient(site)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(
            patient=patient,
            protocol_id="mskcc-2021",
            protocol_version="1",
            started_on=date(2019, 1, 1),
            ended_on=date(2019, 6, 1),
        )


def test_soft_limit_step_needs_physician_and_reason(site: Site, nurse: User) -> None:
    infusion = make_infusion(make_patient(site))
    step = {"infusion": infusion, "minute": Decimal(90), "entered_by": nurse}
    TitrationStep.objects.create(**step, rate_mg_per_h=Decimal(25), classification="ok")
    with pytest.raises(IntegrityError), transaction.atomic():
        TitrationStep.objects.create(**step, rate_mg_per_h=Decimal(30), classification="soft_limit")
    physician = User.objects.create_user("doc", password="x-unused-x")
    with pytest.raises(IntegrityError), transaction.atomic():
        TitrationStep.objects.create(
            **step, rate_mg_per_h=Decimal(30), classification="soft_limit", approved_by=physician
        )
    TitrationStep.objects.create(
        **step,
        rate_mg_per_h=Decimal(30),
        classification="soft_limit",
        approved_by=physician,
        deviation_reason="tolerating well, pain 8/10",
    )
    assert infusion.steps.count() == 2


def test_override_of_engine_needs_reason(site: Site, nurse: User) -> None:
    infusion = make_infusion(make_patient(site))
    follow_up = FollowUp.objects.create(
        patient=infusion.patient, infusion=infusion, kind="call_24h", due_on=date(2019, 1, 8)
    )
    agreed = {
        "infusion": infusion,
        "follow_up": follow_up,
        "engine_responder": True,
        "engine_continuation": "continue",
        "confirmed_by": nurse,
    }
    ResponseDecision.objects.create(**agreed, responder=True, continuation="continue")
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponseDecision.objects.create(**agreed, responder=False, continuation="stop")
    ResponseDecision.objects.create(
        **agreed, responder=False, continuation="stop", override_reason="relief only 6 h per diary"
    )
