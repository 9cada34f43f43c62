"""Set-up for bench/api_load.py, run in a child process against the bench's own database.

    KIP_DATABASE_URL=... KIP_BENCH_PASSWORD=... python bench/api_world.py --infusions N

Makes one site, one nurse (password from KIP_BENCH_PASSWORD) and N patients, each enrolled with one
infusion checked in with every baseline check passed, premedicated and started, all through the
registry services (so the audit trail and the engine see a real clinic). Prints JSON:
{"nurse": username, "infusions": [id, ...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from decimal import Decimal


def build(count: int, password: str) -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kip.site.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User

    from kip.registry.audit import audit_context
    from kip.registry.models import Enrolment, Membership, Patient, Site
    from kip.registry.models.choices import CheckStatus, Role
    from kip.registry.services import planning, sessions

    # Before the COVID-19 screening period (2020-03-16): the checklist is the four baseline records.
    day = date(2019, 3, 4)
    checks = ("baseline_nprs", "baseline_function", "baseline_satisfaction", "current_analgesics")
    setup = User.objects.create_user("bench_setup")
    nurse = User.objects.create_user("bench_nurse", password=password)
    with audit_context(setup, reason="benchmark set-up", source="cli"):
        site = Site.objects.create(code="bench", name="Benchmark infusion center")
        Membership.objects.create(user=nurse, site=site, role=Role.NURSE)
        patients = []
        for i in range(count):
            patient = Patient.objects.create(
                site=site,
                mrn=f"BENCH{i:05d}",
                given_name="Ana",
                family_name=f"Bench{i}",
                date_of_birth=date(1968, 5, 2),
                sex="female",
                premenopausal=False,
                weight_kg=Decimal("70.0"),
                primary_cancer="breast",
                etiology="cipn",
                cipn_regimen="paclitaxel/carboplatin",
                diabetes_mellitus=False,
                prior_peripheral_neuropathy=False,
            )
            Enrolment.objects.create(
                patient=patient, protocol_id="mskcc-2021", protocol_version="1.0.0", started_on=day
            )
            patients.append(patient)
    infusions: list[int] = []
    for patient in patients:
        infusion = planning.schedule_infusion(nurse, patient.pk, day).infusion
        sessions.check_in(
            nurse,
            infusion.pk,
            baseline_nprs=8,
            baseline_function="limited",
            baseline_satisfaction="dissatisfied",
            baseline_analgesics="gabapentin",
        )
        for check in checks:
            sessions.record_check(nurse, infusion.pk, check, CheckStatus.PASSED)
        sessions.give_premedication(nurse, infusion.pk, "ondansetron")
        sessions.give_premedication(nurse, infusion.pk, "lorazepam")
        infusions.append(sessions.start_infusion(nurse, infusion.pk).pk)
    return {"nurse": nurse.username, "infusions": infusions}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--infusions", type=int, required=True)
    args = parser.parse_args()
    json.dump(build(args.infusions, os.environ["KIP_BENCH_PASSWORD"]), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
