"""The audit trail: every clinical write leaves who, when, what, old and new values and why, in
the same transaction; the database refuses to rewrite it; the hash chain exposes what gets past."""

from __future__ import annotations

import importlib
import itertools
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from kip.registry.audit.chain import (
    GENESIS,
    HASH_MISMATCH,
    LINK_BROKEN,
    SEQUENCE_GAP,
    compute_hash,
    payload_of,
    verify,
)
from kip.registry.audit.context import AuditContext, _current, audit_context
from kip.registry.audit.errors import (
    NoAuditContext,
    NotInTransaction,
    PatientNotDeletable,
    ReasonRequired,
)
from kip.registry.audit.models import AuditEntry
from kip.registry.audit.recorder import REASON_RULE, record_export, record_view
from kip.registry.models import Enrolment, Infusion, Patient, Site, VitalSigns

if TYPE_CHECKING:
    from tests.registry.conftest import ScratchDatabase

pytestmark = pytest.mark.django_db

KIP = Path(sys.executable).parent / "kip"
TRIGGERS = importlib.import_module("kip.registry.migrations.0003_append_only_triggers")


@pytest.fixture
def nurse() -> User:
    return User.objects.create_user("nurse.kim", password="x-unused-x")


@pytest.fixture
def site(nurse: User) -> Site:
    with audit_context(nurse):
        return Site.objects.create(code="main", name="Main infusion center")


def make_patient(site: Site, **fields: Any) -> Patient:
    base: dict[str, Any] = {
        "site": site,
        "mrn": "MRN001",
        "given_name": "Ana",
        "family_name": "Diaz",
        "date_of_birth": date(1968, 5, 2),
        "sex": "female",
        "primary_cancer": "breast",
        "etiology": "cipn",
        "cipn_regimen": "AC-T",
        "weight_kg": Decimal("70.0"),
    }
    return Patient.objects.create(**(base | fields))


def make_infusion(patient: Patient) -> Infusion:
    enrolment = Enrolment.objects.create(
        patient=patient, protocol_id="mskcc-2021", protocol_version="1.0.0", started_on=date.today()
    )
    return Infusion.objects.create(
        patient=patient,
        enrolment=enrolment,
        number=1,
        phase="first",
        protocol_id="mskcc-2021",
        protocol_version="1.0.0",
        planned_on=date.today(),
    )


def last_entry() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-sequence").first()
    assert entry is not None
    return entry


def execute_sql(sql: str, params: list[Any] | None = None) -> None:
    """Raw SQL in a savepoint, so a refused statement does not spoil the test's transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def around_triggers(statements: list[str]) -> None:
    """Run SQL with the append-only triggers lifted, as someone holding the database could."""
    create, drop = TRIGGERS.STATEMENTS[connection.vendor]
    with connection.cursor() as cursor:
        for sql in [*drop, *statements, *create]:
            cursor.execute(sql)


# --------------------------------------------------------------------------- what is recorded


def test_create_records_who_when_and_every_value(site: Site, nurse: User) -> None:
    before = datetime.now(UTC)
    with audit_context(nurse, source="api"):
        patient = make_patient(site)
    entry = last_entry()
    assert (entry.action, entry.model, entry.object_id) == (
        "create",
        "registry.patient",
        str(patient.pk),
    )
    assert (entry.user_id, entry.username, entry.source) == (nurse.pk, "nurse.kim", "api")
    assert entry.research_id == patient.research_id
    assert before - timedelta(seconds=1) <= entry.timestamp <= datetime.now(UTC)
    assert entry.timestamp.utcoffset() == timedelta(0)
    assert entry.old_values == {}
    assert entry.new_values["mrn"] == "MRN001"
    assert entry.new_values["site_id"] == site.pk
    assert entry.new_values["date_of_birth"] == "1968-05-02"
    assert entry.new_values["weight_kg"] == "70"


def test_rows_below_a_patient_carry_its_research_id(site: Site, nurse: User) -> None:
    with audit_context(nurse):
        infusion = make_infusion(make_patient(site))
        VitalSigns.objects.create(infusion=infusion, minute=0, heart_rate_bpm=72, recorded_by=nurse)
    assert last_entry().model == "registry.vitalsigns"
    assert last_entry().research_id == infusion.patient.research_id
    site_entry = AuditEntry.objects.get(model="registry.site")
    assert site_entry.research_id == ""


def test_update_records_only_changed_fields_and_the_reason(site: Site, nurse: User) -> None:
    with audit_context(nurse):
        patient = make_patient(site)
    with audit_context(nurse, reason="weighed on admission"):
        patient.weight_kg = Decimal("72.5")
        patient.given_name = "Ana María"
        patient.save()
    entry = last_entry()
    assert entry.action == "update"
    assert entry.old_values == {"weight_kg": "70", "given_name": "Ana"}
    assert entry.new_values == {"weight_kg": "72.5", "given_name": "Ana María"}
    assert entry.reason == "weighed on admission"


def test_update_without_reason_is_refused_and_nothing_changes(site: Site, nurse: User) -> None:
    with audit_context(nurse):
        patient = make_patient(site)
    entries = AuditEntry.objects.count()
    with pytest.raises(ReasonRequired, match=REASON_RULE) as refused, audit_context(nurse):
        patient.weight_kg = Decimal("80")
        patient.save()
    assert "weight_kg" in str(refused.value)
    assert Patient.objects.get(pk=patient.pk).weight_kg == Decimal("70.0")
    assert AuditEntry.objects.count() == entries


def test_only_the_fields_a_save_writes_are_recorded(site: Site, nurse: User) -> None:
    with audit_context(nurse):
        patient = make_patient(site)
    with audit_context(nurse, reason="weighed again"):
        patient.weight_kg = Decimal("71")
        patient.given_name = "typed, never saved"
        patient.save(update_fields=["weight_kg"])
    assert (last_entry().old_values, last_entry().new_values) == (
        {"weight_kg": "70"},
        {"weight_kg": "71"},
    )
    assert Patient.objects.get(pk=patient.pk).given_name == "Ana"


def test_system_fields_need_no_reason_and_an_unchanged_save_logs_nothing(
    site: Site, nurse: User
) -> None:
    with audit_context(nurse):
        patient = make_patient(site)
    entries = AuditEntry.objects.count()
    with audit_context(nurse):
        # Same values, differently typed, as a form would hand them over: not a change.
        patient.weight_kg = "70.00"  # type: ignore[assignment]
        patient.save()  # updated_at moves; nothing a person entered did
    assert AuditEntry.objects.count() == entries


def test_delete_records_old_values_and_needs_a_reason(site: Site, nurse: User) -> None:
    with audit_context(nurse):
        infusion = make_infusion(make_patient(site))
        vitals = VitalSigns.objects.create(
            infusion=infusion, minute=30, heart_rate_bpm=130, recorded_by=nurse
        )
    vitals_id = vitals.pk
    with pytest.raises(ReasonRequired, match=REASON_RULE), audit_context(nurse):
        vitals.delete()
    assert VitalSigns.objects.filter(pk=vitals_id).exists()
    with audit_context(nurse, reason="entered on the wrong patient"):
        vitals.delete()
    entry = last_entry()
    assert (entry.action, entry.object_id, entry.reason) == (
        "delete",
        str(vitals_id),
        "entered on the wrong patient",
    )
    assert entry.old_values["heart_rate_bpm"] == 130
    assert entry.new_values == {}


def test_a_write_without_an_author_is_refused(site: Site) -> None:
    with pytest.raises(NoAuditContext, match="audit_context"):
        make_patient(site)
    assert not Patient.objects.exists()


def test_a_failing_transaction_leaves_neither_row_nor_entry(site: Site, nurse: User) -> None:
    entries = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), audit_context(nurse):
        make_patient(site)
        assert AuditEntry.objects.count() == entries + 1  # written, inside the transaction
        raise RuntimeError("the infusion pump disconnected")
    assert not Patient.objects.exists()
    assert AuditEntry.objects.count() == entries


def test_views_and_exports_are_logged(site: Site, nurse: User) -> None:
    with audit_context(nurse):
        patient = make_patient(site)
    record_view(nurse, patient)
    view = last_entry()
    assert (view.action, view.model, view.object_id, view.research_id) == (
        "view",
        "registry.patient",
        str(patient.pk),
        patient.research_id,
    )
    record_export(nurse, "research dataset (de-identified)", 12, source="cli")
    export = last_entry()
    assert (export.action, export.source, export.username) == ("export", "cli", "nurse.kim")
    assert export.new_values == {"what": "research dataset (de-identified)", "count": 12}
    # With the patients named: each research id once, sorted, so the trail can be searched.
    record_export(nurse, "patient list", 3, research_ids=["R-2", "R-1", "R-2"], source="api")
    assert last_entry().new_values == {
        "what": "patient list",
        "count": 3,
        "research_ids": ["R-1", "R-2"],
    }
    assert verify().ok
    assert verify().ok


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the chain's advisory lock is PostgreSQL's"
)
def test_the_chain_lock_is_asked_for_once_per_transaction(site: Site, nurse: User) -> None:
    """audit_context takes the lock as it begins, and its appends know it is held. A transaction
    of its own (record_view outside any context, or a later context) asks for it again."""
    with CaptureQueriesContext(connection) as captured:
        with audit_context(nurse):
            patient = make_patient(site)
            make_infusion(patient)  # an enrolment and an infusion: two appends more
        record_view(nurse, patient)
        with audit_context(nurse, reason="weight corrected"):
            patient.weight_kg = Decimal("71.0")
            patient.save()
    locks = [q["sql"] for q in captured.captured_queries if "pg_advisory_xact_lock" in q["sql"]]
    assert len(locks) == 3, locks
    assert AuditEntry.objects.filter(action="view", object_id=str(patient.pk)).count() == 1
    assert verify().ok


# ------------------------------------------------------------------------- refused by the database


def test_the_database_refuses_to_update_or_delete_audit_entries(site: Site) -> None:
    sequence = last_entry().sequence
    for sql in [
        "UPDATE registry_auditentry SET reason = 'nothing happened' WHERE sequence = %s",
        "DELETE FROM registry_auditentry WHERE sequence = %s",
    ]:
        with pytest.raises(IntegrityError, match="append-only"):
            execute_sql(sql, [sequence])
    assert AuditEntry.objects.filter(sequence=sequence, reason="").exists()


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="TRUNCATE is PostgreSQL's; SQLite has none"
)
def test_postgresql_refuses_truncate(site: Site) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        execute_sql("TRUNCATE registry_auditentry")


def test_patients_are_never_deleted(site: Site, nurse: User) -> None:
    with audit_context(nurse):
        patient = make_patient(site)
    with (
        pytest.raises(PatientNotDeletable, match="archived"),
        audit_context(nurse, reason="duplicate record"),
    ):
        patient.delete()
    with pytest.raises(IntegrityError, match="never deleted"):
        execute_sql("DELETE FROM registry_patient WHERE id = %s", [patient.pk])
    assert Patient.objects.filter(pk=patient.pk).exists()


# --------------------------------------------------------------------------- the hash chain


def test_entries_form_a_chain(site: Site, nurse: User) -> None:
    with audit_context(nurse):
        make_infusion(make_patient(site))
    entries = list(AuditEntry.objects.order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].previous_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.previous_hash == before.hash
    result = verify()
    assert (result.ok, result.entries, result.head) == (True, len(entries), entries[-1].hash)


def _altered(value: Any) -> Any:
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, str):
        return f"{value}x"
    if isinstance(value, dict):
        return {**value, "x": 1}
    return (value or 0) + 1


def test_the_hash_covers_every_column(site: Site) -> None:
    columns = {f.attname for f in AuditEntry._meta.concrete_fields} - {"id", "hash"}
    entry = last_entry()
    assert set(payload_of(entry)) == columns
    original = compute_hash(entry)
    for column in columns:
        altered = AuditEntry.objects.get(pk=entry.pk)
        value = getattr(altered, column)
        changed = _altered(value)
        setattr(altered, column, changed)
        assert compute_hash(altered) != original, column


@pytest.fixture
def chain(site: Site, nurse: User) -> list[AuditEntry]:
    with audit_context(nurse):
        infusion = make_infusion(make_patient(site))
        for minute in (0, 15, 30):
            VitalSigns.objects.create(infusion=infusion, minute=minute, recorded_by=nurse)
    entries = list(AuditEntry.objects.order_by("sequence"))
    assert len(entries) >= 6 and verify().ok
    return entries


def test_verify_names_an_altered_entry(chain: list[AuditEntry]) -> None:
    around_triggers(
        [
            "UPDATE registry_auditentry SET new_values = '{\"heart_rate_bpm\": 60}' "
            f"WHERE sequence = {chain[3].sequence}"
        ]
    )
    broken = verify().broken
    assert broken is not None
    assert (broken.sequence, broken.problem) == (chain[3].sequence, HASH_MISMATCH)


def test_verify_names_the_entry_after_a_removed_one(chain: list[AuditEntry]) -> None:
    around_triggers([f"DELETE FROM registry_auditentry WHERE sequence = {chain[2].sequence}"])
    result = verify()
    assert result.broken is not None
    assert (result.broken.sequence, result.broken.problem) == (chain[3].sequence, SEQUENCE_GAP)
    assert result.entries == 2


def test_verify_names_an_entry_rehashed_onto_a_forged_link(chain: list[AuditEntry]) -> None:
    forged = chain[4]
    forged.previous_hash = "f" * 64
    forged.hash = compute_hash(forged)  # internally consistent, no longer linked
    around_triggers(
        [
            f"UPDATE registry_auditentry SET previous_hash = '{forged.previous_hash}', "
            f"hash = '{forged.hash}' WHERE sequence = {forged.sequence}"
        ]
    )
    broken = verify().broken
    assert broken is not None
    assert (broken.sequence, broken.problem) == (forged.sequence, LINK_BROKEN)


# --------------------------------------------------------------------------- outside a transaction


@pytest.mark.django_db(transaction=True)
def test_a_write_outside_a_transaction_is_refused() -> None:
    """Outside audit_context's transaction the row would commit before its entry is written."""
    author = User.objects.create_user("outside", password="x-unused-x")
    token = _current.set(AuditContext(user=author))  # an author, but no transaction
    try:
        with pytest.raises(NotInTransaction):
            Site.objects.create(code="loose", name="Written without a transaction")
    finally:
        _current.reset(token)
    assert not Site.objects.exists()
    # Teardown empties the tables past the append-only triggers (tests/conftest.py): leave rows.
    with audit_context(author):
        make_patient(Site.objects.create(code="kept", name="Kept until teardown"))


# --------------------------------------------------------------------------- the command line


def run_kip(*args: str, scratch: ScratchDatabase, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KIP), *args],
        env=scratch.env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_verify_passes_a_good_chain_and_names_a_broken_row(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    # The crash harness with a couple of kills: a migrated database with a real chain in it.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "kip.registry.audit.crash",
            "--database-url",
            scratch_database.url,
            "--kills",
            "2",
            "--seed",
            "7",
        ],
        env=scratch_database.env(),
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    (count,) = scratch_database.query("SELECT COUNT(*) FROM registry_auditentry")[0]
    assert count >= 4  # site, patient, enrolment, infusion at least

    good = run_kip("audit", "verify", scratch=scratch_database, cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines()[0] == f"ok: {count} entries, chain intact"

    create, drop = TRIGGERS.STATEMENTS[scratch_database.vendor]
    scratch_database.script(
        [
            *drop,
            "UPDATE registry_auditentry SET reason = 'nothing to see' WHERE sequence = 2",
            *create,
        ]
    )
    bad = run_kip(
        "audit",
        "verify",
        "--database-url",
        scratch_database.url,
        scratch=scratch_database,
        cwd=tmp_path,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: audit chain broken at entry 2: hash mismatch")
    assert len(bad.stderr.strip().splitlines()) == 1

    shown = run_kip("audit", "show", "--last", "2", scratch=scratch_database, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.splitlines()) == 2
