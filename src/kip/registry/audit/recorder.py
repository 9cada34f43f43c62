"""Recording every clinical write, automatically, through Django's model signals.

Every model of the registry app (Site and Membership included: they decide who sees what) is
audited. A save or delete is refused unless it runs inside `audit_context(user, reason=...)`:

- create: the entry holds every field's new value; no reason needed (first entry).
- update: the entry holds only the changed fields, old and new. A reason is required ("a change
  after first entry needs a reason"). Fields the system sets itself (auto_now / auto_now_add, such
  as updated_at) are neither compared nor recorded; a save that changes nothing else writes no
  entry. Routine workflow transitions (an infusion starting, a follow-up call recorded) are
  updates like any other: the service passes a reason naming the step.
- delete: the entry holds every field's old value; a reason is required. Patients are never
  deleted (refused here with a clear message, and by a database trigger underneath).

The entry is written in the same transaction as the change: `audit_context` opens one, and a
write outside any transaction is refused rather than risking a row without its entry (Django
sends post_save after the row's own autocommit).

QuerySet.update(), bulk_create() and bulk_update() send no signals, so this recorder would never
see them: every audited model's manager (default and base) refuses them before any SQL runs
(kip.registry.audit.guard), naming the model and the rule. QuerySet.delete() sends pre/post_delete
for each row and is recorded like delete(). Data migrations use historical models with plain
managers and write without entries; each one says so. Raw SQL is outside the recorder's reach.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import DateField, Field, ForeignKey, Model
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from kip.registry.audit.chain import append
from kip.registry.audit.context import AuditContext, current_context
from kip.registry.audit.errors import (
    NoAuditContext,
    NotInTransaction,
    PatientNotDeletable,
    ReasonRequired,
)
from kip.registry.audit.lock import locked_transaction
from kip.registry.audit.models import AuditAction, AuditEntry

APP_LABEL = "registry"
REASON_RULE = "a change after first entry needs a reason"
_OLD = "_kip_audit_old"  # the row as the database held it, captured before an update or delete


def audited_models() -> list[type[Model]]:
    return [m for m in apps.get_app_config(APP_LABEL).get_models() if m is not AuditEntry]


def connect() -> None:
    """Called once from the app's ready(); dispatch_uid keeps a second call harmless."""
    for model in audited_models():
        label = model._meta.label
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"kip-audit-pre-save-{label}")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"kip-audit-post-save-{label}")
        pre_delete.connect(
            _before_delete, sender=model, dispatch_uid=f"kip-audit-pre-delete-{label}"
        )
        post_delete.connect(
            _after_delete, sender=model, dispatch_uid=f"kip-audit-post-delete-{label}"
        )


# --------------------------------------------------------------------------- values


def to_json(value: Any) -> Any:
    """A JSON value that reads back unchanged from either database, so hashes recompute exactly."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        # 25, 25.0 and 25.00 are one dose: compare and record them alike.
        return format(value.normalize(), "f")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return str(value)


@functools.cache
def _system_fields(model: type[Model]) -> frozenset[str]:
    return frozenset(
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, DateField) and (f.auto_now or f.auto_now_add)
    )


def _python(field: Field[Any, Any], value: Any) -> Any:
    # An unsaved instance may hold "3" where the database hands back 3; compare them as equal.
    try:
        return field.to_python(value)
    except ValidationError:
        return value


def snapshot(instance: Model) -> dict[str, Any]:
    """Every stored column, keyed by attname (foreign keys as `<name>_id`)."""
    return {
        f.attname: to_json(_python(f, f.value_from_object(instance)))
        for f in instance._meta.concrete_fields
    }


def _attname(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    return field.attname if isinstance(field, Field) else name


def changes(
    model: type[Model],
    old: dict[str, Any],
    new: dict[str, Any],
    update_fields: frozenset[str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changed columns, old and new. With save(update_fields=...) only those are written, so
    other attributes changed in memory are not changes to the record."""
    system = _system_fields(model)
    written = None if update_fields is None else {_attname(model, name) for name in update_fields}
    changed = [
        k
        for k in new
        if k not in system and (written is None or k in written) and old.get(k) != new[k]
    ]
    return {k: old.get(k) for k in changed}, {k: new[k] for k in changed}


@functools.cache
def _patient_path(model: type[Model]) -> tuple[str, ...] | None:
    """Foreign-key names leading from this model to its Patient, or None if it has none."""
    patient = apps.get_model(APP_LABEL, "Patient")
    frontier: list[tuple[type[Model], tuple[str, ...]]] = [(model, ())]
    for _depth in range(4):
        following = []
        for current, path in frontier:
            if current is patient:
                return path
            for field in current._meta.concrete_fields:
                related = field.related_model
                if (
                    isinstance(field, ForeignKey)
                    and isinstance(related, type)
                    and related._meta.app_label == APP_LABEL
                ):
                    following.append((related, (*path, field.name)))
        frontier = following
    return None


def research_id_of(instance: Model) -> str:
    path = _patient_path(type(instance))
    if path is None:
        return ""
    target: Any = instance
    for name in path:
        target = getattr(target, name)
        if target is None:
            return ""
    return str(target.research_id)


# --------------------------------------------------------------------------- writing


def _require_context(instance: Model, using: str, verb: str) -> AuditContext:
    ctx = current_context()
    label = instance._meta.label
    if ctx is None:
        raise NoAuditContext(
            f"{verb} {label}: clinical writes need an author "
            "(wrap the write in audit_context(user, reason=...))"
        )
    if not connections[using].in_atomic_block:
        raise NotInTransaction(
            f"{verb} {label}: clinical writes run inside a transaction so the row and its "
            "audit entry commit together (audit_context opens one)"
        )
    return ctx


def _write(
    ctx: AuditContext,
    *,
    action: AuditAction,
    instance: Model,
    old: dict[str, Any],
    new: dict[str, Any],
    using: str,
) -> None:
    append(
        AuditEntry(
            user_id=ctx.user.pk,
            username=ctx.user.get_username(),
            source=ctx.source,
            action=action,
            model=instance._meta.label_lower,
            object_id=str(instance.pk),
            research_id=research_id_of(instance),
            old_values=old,
            new_values=new,
            reason=ctx.reason,
        ),
        using=using,
    )


def _before_save(
    sender: type[Model],
    instance: Model,
    using: str,
    update_fields: frozenset[str] | None = None,
    **_: Any,
) -> None:
    ctx = _require_context(instance, using, "save")
    old_row = None
    if not instance._state.adding and instance.pk is not None:
        # Locks the row on PostgreSQL so the old values recorded are the ones this write replaces.
        old_row = (
            sender._base_manager.using(using).select_for_update().filter(pk=instance.pk).first()
        )
    if old_row is None:
        setattr(instance, _OLD, None)
        return
    old = snapshot(old_row)
    old_changed, _ = changes(sender, old, snapshot(instance), update_fields)
    if old_changed and not ctx.reason:
        raise ReasonRequired(
            f"{REASON_RULE}: {instance._meta.label} {instance.pk} "
            f"({', '.join(sorted(old_changed))})"
        )
    setattr(instance, _OLD, old)


def _after_save(
    sender: type[Model],
    instance: Model,
    created: bool,
    using: str,
    update_fields: frozenset[str] | None = None,
    **_: Any,
) -> None:
    ctx = _require_context(instance, using, "save")
    old: dict[str, Any] | None = getattr(instance, _OLD, None)
    new = snapshot(instance)
    if created or old is None:
        _write(ctx, action=AuditAction.CREATE, instance=instance, old={}, new=new, using=using)
        return
    old_changed, new_changed = changes(sender, old, new, update_fields)
    if new_changed:
        _write(
            ctx,
            action=AuditAction.UPDATE,
            instance=instance,
            old=old_changed,
            new=new_changed,
            using=using,
        )
    setattr(instance, _OLD, None)


def _before_delete(sender: type[Model], instance: Model, using: str, **_: Any) -> None:
    if sender._meta.model_name == "patient":
        raise PatientNotDeletable(
            f"patient {instance.pk} cannot be deleted: patients are archived (archived_at), "
            "never deleted"
        )
    ctx = _require_context(instance, using, "delete")
    if not ctx.reason:
        raise ReasonRequired(f"{REASON_RULE}: deleting {instance._meta.label} {instance.pk}")


def _after_delete(sender: type[Model], instance: Model, using: str, **_: Any) -> None:
    ctx = _require_context(instance, using, "delete")
    _write(
        ctx,
        action=AuditAction.DELETE,
        instance=instance,
        old=snapshot(instance),
        new={},
        using=using,
    )


# --------------------------------------------------------------------------- reads


def _source(source: str | None) -> str:
    if source:
        return source
    ctx = current_context()
    return ctx.source if ctx else "app"


def record_view(
    user: User, obj: Model, *, source: str | None = None, using: str = DEFAULT_DB_ALIAS
) -> AuditEntry:
    """Log that the user opened this record (a patient page, an infusion flowsheet, ...).

    Its own transaction, taken like a clinical write's (locked_transaction): page loads now
    write, and on SQLite they should wait for the writer-lock file in the kernel, not poll
    BEGIN IMMEDIATE in SQLite's busy handler."""
    with locked_transaction(using):
        return append(
            AuditEntry(
                user_id=user.pk,
                username=user.get_username(),
                source=_source(source),
                action=AuditAction.VIEW,
                model=obj._meta.label_lower,
                object_id=str(obj.pk),
                research_id=research_id_of(obj),
            ),
            using=using,
        )


def record_export(
    user: User,
    what: str,
    count: int,
    *,
    research_ids: Iterable[str] = (),
    source: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> AuditEntry:
    """Log an export: what was exported (e.g. "research dataset, de-identified"), how many
    records it held, and whose (the patients' research ids, each once, sorted), so that the
    trail answers "who has had this patient's data" for lists as it does for opened records.
    Its own transaction, as record_view's."""
    new_values: dict[str, Any] = {"what": what, "count": count}
    patients = sorted(set(research_ids))
    if patients:
        new_values["research_ids"] = patients
    with locked_transaction(using):
        return append(
            AuditEntry(
                user_id=user.pk,
                username=user.get_username(),
                source=_source(source),
                action=AuditAction.EXPORT,
                new_values=new_values,
            ),
            using=using,
        )
