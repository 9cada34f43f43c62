"""Refusing the queryset writes that send no model signals, so no clinical row changes unaudited.

The recorder sees a write through pre/post_save and pre/post_delete. QuerySet.update(),
bulk_create() and bulk_update() (and their async twins, which call them) write rows without
those signals, so every audited model's manager hands out `AuditedQuerySet`, which refuses
them before any SQL runs. Each model also names that manager its base manager
(Meta.base_manager_name), because Django reaches for the base manager in writes of its own: a
reverse relation's add() moves rows with `_base_manager...update()`.

What stays allowed: every read (select_for_update included), save() and create(),
get_or_create() and update_or_create() (they save row by row), and QuerySet.delete(), which
sends pre/post_delete for each row and so is audited and refused outside a context like any
delete.

Data migrations get historical models with plain managers (this manager does not set
use_in_migrations): a migration that fills a derived column writes it without audit entries on
purpose, and says so.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, NoReturn, TypeVar

from django.db.models import Manager, Model, QuerySet

from kip.registry.audit.errors import BulkWriteRefused

__all__ = ["RULE", "AuditedManager", "AuditedQuerySet", "BulkWriteRefused"]

_M = TypeVar("_M", bound=Model)

RULE = "bulk writes bypass the audit trail; save each row inside audit_context"


class AuditedQuerySet(QuerySet[_M]):
    def _refuse(self, operation: str) -> NoReturn:
        raise BulkWriteRefused(f"{self.model._meta.label}: {RULE} (refused: {operation})")

    def update(self, **kwargs: Any) -> int:
        self._refuse("update()")

    def bulk_create(
        self,
        objs: Iterable[_M],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Collection[str] | None = None,
        unique_fields: Collection[str] | None = None,
    ) -> list[_M]:
        self._refuse("bulk_create()")

    def bulk_update(
        self, objs: Iterable[_M], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        self._refuse("bulk_update()")


# The default and base manager of every audited registry model.
AuditedManager = Manager.from_queryset(AuditedQuerySet)
