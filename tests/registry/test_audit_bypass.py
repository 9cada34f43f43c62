"""No silent way around the audit trail: queryset writes that send no model signals (update(),
bulk_create(), bulk_update(), their async twins, a reverse relation's update() and add()) are
refused on every audited model before any SQL runs, even inside an audit context. The cases are
generated from `audited_models()`, so a new registry model is covered as soon as it exists."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Field, ForeignKey, Max, Model
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from kip.registry.audit import BulkWriteRefused
from kip.registry.audit.chain import verify
from kip.registry.audit.context import audit_context
from kip.registry.audit.errors import NoAuditContext, ReasonRequired
from kip.registry.audit.guard import RULE
from kip.registry.audit.models import AuditAction, AuditEntry
from kip.registry.audit.recorder import audited_models, snapshot
from kip.registry.models import (
    AdjuvantChange,
    AdjuvantMedication,
    AdverseEvent,
    CheckResult,
    DeviationRequest,
    Enrolment,
    ExclusionClearance,
    FollowUp,
    Infusion,
    MedicationDose,
    Membership,
    Patient,
    ResponseDecision,
    ServiceInterruption,
    Site,
    TitrationStep,
    VitalSigns,
)
from service_world import FAST_HASHERS

pytestmark = pytest.mark.django_db

DAY = date(2019, 3, 4)
MODELS = audited_models()
M = TypeVar("M", bound=Model)


@pytest.fixture(autouse=True)
def _fast_hashers(settings: Settings) -> None:
    # The author's password is never checked here; the production hasher costs each case time.
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def clinic(author: User) -> dict[type[Model], Model]:
    """One row of every audited model, written the audited way."""
    with audit_context(author, source="test"):
        site = Site.objects.create(code="main", name="Main infusion center")
        patient = Patient.objects.create(
            site=site,
            mrn="MRN001",
            given_name="Ana",
            family_name="Diaz",
            date_of_birth=date(1968, 5, 2),
            sex="female",
            primary_cancer="breast",
            etiology="cipn",
            cipn_regimen="paclitaxel",
        )
        enrolment = Enrolment.objects.create(
            patient=patient, protocol_id="mskcc-2021", protocol_version="1.0.0", started_on=DAY
        )
        medication = AdjuvantMedication.objects.create(
            patient=patient, drug_class="gabapentinoid", drug="gabapentin", dose="300 mg"
        )
        infusion = Infusion.objects.create(
            patient=patient,
            enrolment=enrolment,
            number=1,
            phase="initial",
            protocol_id="mskcc-2021",
            protocol_version="1.0.0",
            planned_on=DAY,
            baseline_nprs=8,
        )
        step = TitrationStep.objects.create(
            infusion=infusion,
            minute=0,
            rate_mg_per_h=10,
            classification="ok",
            entered_by=author,
        )
        event = AdverseEvent.objects.create(
            infusion=infusion,
            term="nausea",
            category="nausea_vomiting",
            onset_minute=45,
            recorded_by=author,
        )
        follow_up = FollowUp.objects.create(
            patient=patient, infusion=infusion, kind="call_24h", due_on=DAY + timedelta(days=1)
        )
        rows: list[Model] = [
            site,
            Membership.objects.create(user=author, site=site, role="nurse"),
            patient,
            enrolment,
            medication,
            AdjuvantChange.objects.create(medication=medication, changed_on=DAY, change="started"),
            ExclusionClearance.objects.create(
                patient=patient,
                exclusion_id="uncontrolled_hypertension",
                protocol_id="mskcc-2021",
                cleared_by=author,
                reason="controlled on treatment",
            ),
            infusion,
            CheckResult.objects.create(
                infusion=infusion, check_id="baseline_nprs", status="passed", recorded_by=author
            ),
            step,
            DeviationRequest.objects.create(
                infusion=infusion,
                minute=30,
                rate_mg_per_h=40,
                reason="pain not controlled",
                requested_by=author,
            ),
            VitalSigns.objects.create(
                infusion=infusion, minute=0, heart_rate_bpm=80, recorded_by=author
            ),
            event,
            MedicationDose.objects.create(
                infusion=infusion,
                kind="prn",
                drug="ondansetron",
                route="iv",
                dose_mg=Decimal("4"),
                minute=50,
                adverse_event=event,
                given_by=author,
            ),
            follow_up,
            ResponseDecision.objects.create(
                infusion=infusion,
                follow_up=follow_up,
                engine_responder=True,
                engine_continuation="continue",
                responder=True,
                continuation="continue",
                confirmed_by=author,
            ),
            ServiceInterruption.objects.create(site=site, starts_on=DAY, reason="pandemic"),
        ]
    return {type(row): row for row in rows}


def test_the_clinic_holds_a_row_of_every_audited_model(clinic: dict[type[Model], Model]) -> None:
    """Without a row, a model's cases below would prove nothing: add one to `clinic`."""
    assert sorted(m._meta.label for m in MODELS) == sorted(m._meta.label for m in clinic)


def _of(clinic: dict[type[Model], Model], model: type[M]) -> M:
    row = clinic[model]
    assert isinstance(row, model)
    return row


# --------------------------------------------------------------------------- the operations


def _field(model: type[Model], row: Model) -> Field[Any, Any]:
    """A plain column of the row holding a value, for the write attempts to change."""
    for field in model._meta.concrete_fields:
        auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        if field.primary_key or field.is_relation or auto or not field.editable:
            continue
        if field.value_from_object(row) is not None:
            return field
    raise AssertionError(f"{model._meta.label} has no plain column with a value")


def _another(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | Decimal):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, datetime | date):
        return value + timedelta(days=1)
    if isinstance(value, list):
        return [*value, "changed"]
    raise AssertionError(f"no other value for {value!r}")


def _changes(model: type[Model], row: Model) -> dict[str, Any]:
    field = _field(model, row)
    return {field.name: _another(field.value_from_object(row))}


def _copy(model: type[Model], row: Model) -> Model:
    """A new, unsaved row like the given one: what a script importing rows in bulk would write."""
    return model(
        **{
            f.attname: getattr(row, f.attname)
            for f in model._meta.concrete_fields
            if f is not model._meta.pk
        }
    )


def _changed(model: type[Model], row: Model) -> tuple[list[Model], list[str]]:
    """The row with a column changed in memory, and that column: bulk_update()'s arguments."""
    changes = _changes(model, row)
    for name, value in changes.items():
        setattr(row, name, value)
    return [row], list(changes)


def _parent_link(model: type[Model]) -> ForeignKey[Any, Any] | None:
    """The first foreign key to another audited model that has a reverse accessor."""
    for field in model._meta.concrete_fields:
        if (
            isinstance(field, ForeignKey)
            and field.related_model in MODELS
            and not field.remote_field.hidden
        ):
            return field
    return None


def _reverse(model: type[Model], row: Model) -> Any:
    """The parent's related manager holding this row (e.g. infusion.steps)."""
    link = _parent_link(model)
    assert link is not None
    parent = getattr(row, link.name)
    return getattr(parent, link.remote_field.get_accessor_name() or "")


def _related_add(model: type[Model], row: Model) -> None:
    # Django's add() reassigns the foreign key through the base manager's update().
    with transaction.atomic():
        _reverse(model, row).add(row)


Operation = Callable[[type[Model], Model], object]


def _update(model: type[Model], row: Model) -> int:
    return model._default_manager.filter(pk=row.pk).update(**_changes(model, row))


def _bulk_create(model: type[Model], row: Model) -> list[Model]:
    return model._default_manager.bulk_create([_copy(model, row)])


def _bulk_update(model: type[Model], row: Model) -> int:
    rows, fields = _changed(model, row)
    return model._default_manager.bulk_update(rows, fields)


def _aupdate(model: type[Model], row: Model) -> int:
    return asyncio.run(model._default_manager.filter(pk=row.pk).aupdate(**_changes(model, row)))


def _abulk_create(model: type[Model], row: Model) -> list[Model]:
    return asyncio.run(model._default_manager.abulk_create([_copy(model, row)]))


def _abulk_update(model: type[Model], row: Model) -> int:
    rows, fields = _changed(model, row)
    return asyncio.run(model._default_manager.abulk_update(rows, fields))


def _related_update(model: type[Model], row: Model) -> int:
    return int(_reverse(model, row).update(**_changes(model, row)))


OPERATIONS: dict[str, Operation] = {
    "update": _update,
    "bulk_create": _bulk_create,
    "bulk_update": _bulk_update,
    "aupdate": _aupdate,
    "abulk_create": _abulk_create,
    "abulk_update": _abulk_update,
}
REVERSE_OPERATIONS: dict[str, Operation] = {"update": _related_update, "add": _related_add}
# The refused operation as the message names it (the async twins call the sync ones).
REFUSED = {
    "update": "update()",
    "aupdate": "update()",
    "bulk_create": "bulk_create()",
    "abulk_create": "bulk_create()",
    "bulk_update": "bulk_update()",
    "abulk_update": "bulk_update()",
    "add": "update()",
}

CASES = [
    pytest.param(model, name, OPERATIONS[name], id=f"{model._meta.label}-{name}")
    for model in MODELS
    for name in OPERATIONS
] + [
    pytest.param(model, name, REVERSE_OPERATIONS[name], id=f"{model._meta.label}-reverse-{name}")
    for model in MODELS
    if _parent_link(model) is not None
    for name in REVERSE_OPERATIONS
]


# --------------------------------------------------------------------------- what must not move


def _state() -> dict[str, Any]:
    """Every audited row's stored values and the audit chain's entries."""
    rows = {
        model._meta.label: sorted(
            (snapshot(row) for row in model._base_manager.order_by("pk")), key=lambda s: s["id"]
        )
        for model in MODELS
    }
    chain = list(AuditEntry.objects.order_by("sequence").values_list("sequence", "hash"))
    return {"rows": rows, "chain": chain}


def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


@pytest.mark.parametrize(("model", "name", "operation"), CASES)
def test_bulk_writes_are_refused_and_write_nothing(
    clinic: dict[type[Model], Model],
    author: User,
    model: type[Model],
    name: str,
    operation: Operation,
) -> None:
    row = model._base_manager.get(pk=clinic[model].pk)
    before = _state()
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(BulkWriteRefused) as refused,
        audit_context(author, reason="correcting a batch", source="test"),
    ):
        operation(model, row)
    assert str(refused.value) == f"{model._meta.label}: {RULE} (refused: {REFUSED[name]})"
    assert _writes(queries) == []
    assert _state() == before
    assert verify().ok


def test_the_refusal_names_the_model_and_the_rule(clinic: dict[type[Model], Model]) -> None:
    with pytest.raises(BulkWriteRefused) as refused:
        Infusion.objects.filter(status="planned").update(status="cancelled")
    assert str(refused.value) == (
        "registry.Infusion: bulk writes bypass the audit trail; save each row inside "
        "audit_context (refused: update())"
    )


# --------------------------------------------------------------------------- what still works


def test_reads_and_row_by_row_writes_are_unaffected(
    clinic: dict[type[Model], Model], author: User
) -> None:
    infusion = _of(clinic, Infusion)
    with audit_context(author, reason="weight measured at check-in", source="test"):
        locked = Infusion.objects.select_for_update().get(pk=infusion.pk)
        assert locked.pk == infusion.pk
        assert Infusion.objects.filter(patient=_of(clinic, Patient)).count() == 1
        assert Infusion.objects.in_bulk([infusion.pk]) == {infusion.pk: infusion}
        assert list(_of(clinic, Patient).infusions.values_list("number", flat=True)) == [1]
        assert [s.pk for s in Infusion.objects.get(pk=infusion.pk).steps.iterator()] == [
            _of(clinic, TitrationStep).pk
        ]
        found, created = Site.objects.get_or_create(code="main")
        assert (found, created) == (_of(clinic, Site), False)
        entries = AuditEntry.objects.count()
        updated, created = Infusion.objects.update_or_create(
            pk=infusion.pk, defaults={"weight_kg": Decimal("71.5")}
        )
        assert (updated.weight_kg, created) == (Decimal("71.5"), False)
    entry = AuditEntry.objects.order_by("sequence").last()
    assert AuditEntry.objects.count() == entries + 1
    assert entry is not None
    assert (entry.action, entry.object_id, entry.new_values) == (
        AuditAction.UPDATE,
        str(infusion.pk),
        {"weight_kg": "71.5"},
    )


# --------------------------------------------------------------------------- delete


@pytest.fixture
def two_vitals(clinic: dict[type[Model], Model], author: User) -> list[VitalSigns]:
    with audit_context(author, source="test"):
        VitalSigns.objects.create(
            infusion=_of(clinic, Infusion), minute=30, heart_rate_bpm=92, recorded_by=author
        )
    return list(VitalSigns.objects.order_by("minute"))


def test_queryset_delete_is_audited_row_by_row(two_vitals: list[VitalSigns], author: User) -> None:
    last = AuditEntry.objects.aggregate(last=Max("sequence"))["last"]
    with audit_context(author, reason="entered on the wrong infusion", source="test"):
        deleted, _ = VitalSigns.objects.filter(pk__in=[v.pk for v in two_vitals]).delete()
    assert deleted == 2
    assert not VitalSigns.objects.exists()
    logged = AuditEntry.objects.filter(sequence__gt=last).order_by("object_id")
    assert [
        (e.action, e.model, e.object_id, e.reason, e.old_values["heart_rate_bpm"]) for e in logged
    ] == [
        (
            AuditAction.DELETE,
            "registry.vitalsigns",
            str(v.pk),
            "entered on the wrong infusion",
            v.heart_rate_bpm,
        )
        for v in sorted(two_vitals, key=lambda v: str(v.pk))
    ]
    assert verify().ok


@contextmanager
def _no_context(author: User) -> Iterator[None]:
    # Django deletes inside atomic(savepoint=False): the savepoint keeps the test's transaction.
    with transaction.atomic():
        yield


@contextmanager
def _no_reason(author: User) -> Iterator[None]:
    with audit_context(author, source="test"):
        yield


@pytest.mark.parametrize(
    ("around", "error"),
    [
        pytest.param(_no_context, NoAuditContext, id="without-an-author"),
        pytest.param(_no_reason, ReasonRequired, id="without-a-reason"),
    ],
)
def test_queryset_delete_is_refused_without_author_or_reason(
    two_vitals: list[VitalSigns],
    author: User,
    around: Callable[[User], AbstractContextManager[None]],
    error: type[Exception],
) -> None:
    before = _state()
    with pytest.raises(error), around(author):
        VitalSigns.objects.all().delete()
    assert _state() == before
