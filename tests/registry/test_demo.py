"""`kip demo`: the study cohort in the registry, read back through the analysis views."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from kip.outcomes.dataset import TABLES, validate_dataset
from kip.registry.audit.chain import verify
from kip.registry.demo import DemoRefused, load_demo
from kip.registry.models import AdverseEvent, FollowUp, Infusion, Patient
from kip.registry.models.choices import FollowUpKind, FollowUpStatus, InfusionStatus
from kip.synth.study import study_cohort

PASSWORD = "demo-test-Pw-4821"
STUDY_END = dt.date(2020, 12, 31)


def _view_rows(table: str) -> list[dict[str, Any]]:
    """A view's rows as the dataset's Python types (booleans and dates typed as declared)."""
    columns = TABLES[table].columns
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM analysis_{table}")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    out = []
    for raw in rows:
        row = dict(zip(names, raw, strict=True))
        for c in columns:
            v = row[c.name]
            if v is None:
                continue
            if c.type == "boolean":
                row[c.name] = bool(v)
            elif c.type == "number":
                row[c.name] = float(v)
            elif c.type == "date" and isinstance(v, str):
                row[c.name] = dt.date.fromisoformat(v)
        out.append(row)
    return out


@pytest.mark.django_db(transaction=True)
def test_demo_loads_the_study_and_the_views_give_the_cohort_back() -> None:
    result = load_demo(seed=2021, password=PASSWORD)
    assert result.seconds < 60
    study = Patient.objects.filter(site__code="main", infusions__planned_on__lte=STUDY_END)
    assert study.distinct().count() == 57
    given = Infusion.objects.filter(
        planned_on__lte=STUDY_END, status__in=(InfusionStatus.COMPLETED, InfusionStatus.STOPPED)
    )
    assert given.count() == 192
    assert AdverseEvent.objects.filter(infusion__planned_on__lte=STUDY_END).count() == 34
    assert FollowUp.objects.filter(kind=FollowUpKind.INTERRUPTION_CALL).count() == 14
    today = dt.date.today()
    assert Infusion.objects.filter(planned_on=today, status=InfusionStatus.PLANNED).count() >= 2
    assert Infusion.objects.filter(status=InfusionStatus.RUNNING).count() == 1
    assert FollowUp.objects.filter(status=FollowUpStatus.DUE, due_on__lte=today).exists()
    assert verify().ok

    views = {t: _view_rows(t) for t in TABLES}
    ids = {p.research_id for p in study.distinct()}
    dataset = {
        t: [r for r in rows if r["patient_id"] in ids and r.get("date", STUDY_END) <= STUDY_END]
        for t, rows in views.items()
    }
    assert validate_dataset(dataset) == []
    assert not any(
        set(r) & {"mrn", "given_name", "family_name", "date_of_birth"}
        for rows in views.values()
        for r in rows
    )
    cohort = study_cohort(2021)
    # The same rows but for the identifiers and maximum rates (the registry's titration log
    # reaches what the protocol's steps reach in 4 hours, the cohort a phase's maximum).
    skip = {"patient_id", "site", "max_rate_mg_per_h"}

    def shape(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
        return Counter(tuple(sorted((k, v) for k, v in r.items() if k not in skip)) for r in rows)

    for table in ("patients", "adverse_events", "adjuvants", "pandemic_followups"):
        assert shape(dataset[table]) == shape(cohort[table]), table
    assert len(dataset["infusions"]) == 192

    with pytest.raises(DemoRefused, match="already loaded"):
        load_demo(seed=2021, password=PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_demo_refuses_a_database_with_other_users() -> None:
    from django.contrib.auth.models import User

    User.objects.create_user("dr.real", password=PASSWORD)
    with pytest.raises(DemoRefused, match="other than the demo accounts"):
        load_demo(seed=2021, password=PASSWORD)


def test_cli_demo_then_reproduce_from_the_views(tmp_path: Path) -> None:
    kip = str(Path(sys.executable).with_name("kip"))
    db = tmp_path / "demo.sqlite3"
    env = {**os.environ, "KIP_DEMO_PASSWORD": PASSWORD}
    env.pop("KIP_DATABASE_URL", None)
    url = f"sqlite:///{db}"
    first = subprocess.run(
        [kip, "demo", "--database-url", url], env=env, capture_output=True, text=True, check=False
    )
    assert first.returncode == 0, first.stderr
    assert "nurse" in first.stdout and PASSWORD in first.stdout
    again = subprocess.run(
        [kip, "demo", "--database-url", url], env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "already loaded" in again.stderr
    audit = subprocess.run(
        [kip, "audit", "verify", "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0 and audit.stdout.startswith("ok")
    reproduced = subprocess.run(
        [
            kip,
            "reproduce",
            "--engine",
            f"{url}?prefix=analysis_",
            "--site",
            "main",
            "--to",
            "2020-12-31",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert reproduced.returncode == 0, reproduced.stdout[-2000:] + reproduced.stderr
    assert reproduced.stdout.strip().splitlines()[-1].endswith(" 0 unexplained")
