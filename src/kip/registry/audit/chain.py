"""The hash chain: appending an entry after the current head, and walking the chain to verify it.

Each entry's hash is SHA-256 over a canonical JSON of its content and the previous entry's hash.
Appends are serialised so two writers never chain onto the same head (see kip.registry.audit.lock).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.utils import timezone

from kip.registry.audit.errors import NotInTransaction
from kip.registry.audit.lock import lock_chain
from kip.registry.audit.models import AuditEntry

GENESIS = "0" * 64

SEQUENCE_GAP = "sequence gap"
LINK_BROKEN = "previous-hash link broken"
HASH_MISMATCH = "hash mismatch"


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def payload_of(entry: AuditEntry) -> dict[str, Any]:
    """What the hash covers: every column but the hash itself (and the surrogate id)."""
    return {
        "sequence": entry.sequence,
        "timestamp": entry.timestamp.astimezone(UTC).isoformat(timespec="microseconds"),
        "user_id": entry.user_id,
        "username": entry.username,
        "source": entry.source,
        "action": entry.action,
        "model": entry.model,
        "object_id": entry.object_id,
        "research_id": entry.research_id,
        "old_values": entry.old_values,
        "new_values": entry.new_values,
        "reason": entry.reason,
        "previous_hash": entry.previous_hash,
    }


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical(payload_of(entry))).hexdigest()


def append(entry: AuditEntry, using: str = DEFAULT_DB_ALIAS) -> AuditEntry:
    """Give the entry the next sequence number, chain it to the head and insert it.

    Must run inside the transaction of the change it records, so both commit or neither does.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise NotInTransaction(
            "audit entries are written inside the transaction of the change they record "
            "(use audit_context(...), which opens one, or transaction.atomic())"
        )
    lock_chain(using)
    sql = _statements(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql.head)
        head = cursor.fetchone()
        entry.sequence, entry.previous_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
        entry.timestamp = timezone.now()
        entry.hash = compute_hash(entry)
        cursor.execute(
            sql.insert,
            [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in sql.fields],
        )
        (entry.pk,) = cursor.fetchone()
    entry._state.adding = False
    entry._state.db = using
    return entry


@dataclass(frozen=True)
class _Statements:
    head: str
    insert: str
    fields: tuple[Field[Any, Any], ...]


_STATEMENTS: dict[str, _Statements] = {}


def _statements(connection: BaseDatabaseWrapper) -> _Statements:
    """The head query and the insert, written once per database vendor: every clinical write
    appends an entry, and the ORM's building of these two queries cost more than running them.
    The insert writes exactly the columns save() would (every concrete field but the id) through
    each field's own conversion, and both vendors return the new id (SQLite >= 3.35)."""
    found = _STATEMENTS.get(connection.vendor)
    if found is not None:
        return found
    qn = connection.ops.quote_name
    meta = AuditEntry._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    pk = qn(str(meta.pk.column))
    found = _Statements(
        head=f"SELECT {qn('sequence')}, {qn('hash')} FROM {qn(meta.db_table)} "
        f"ORDER BY {qn('sequence')} DESC LIMIT 1",
        insert=f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(str(f.column)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {pk}",
        fields=fields,
    )
    _STATEMENTS[connection.vendor] = found
    return found


@dataclass(frozen=True)
class Break:
    """The first entry where the chain does not hold, and how."""

    sequence: int
    problem: str  # SEQUENCE_GAP, LINK_BROKEN or HASH_MISMATCH
    detail: str

    def __str__(self) -> str:
        return f"entry {self.sequence}: {self.problem}: {self.detail}"


@dataclass(frozen=True)
class Verification:
    entries: int
    head: str
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def check_entry(entry: AuditEntry, expected_sequence: int, previous_hash: str) -> Break | None:
    if entry.sequence != expected_sequence:
        missing = (
            f"entry {expected_sequence} is missing"
            if entry.sequence == expected_sequence + 1
            else f"entries {expected_sequence}..{entry.sequence - 1} are missing"
            if entry.sequence > expected_sequence
            else f"expected {expected_sequence}"
        )
        return Break(entry.sequence, SEQUENCE_GAP, missing)
    if entry.previous_hash != previous_hash:
        return Break(
            entry.sequence,
            LINK_BROKEN,
            f"previous_hash {entry.previous_hash[:16]}… is not the hash of the entry before "
            f"({previous_hash[:16]}…)",
        )
    recomputed = compute_hash(entry)
    if recomputed != entry.hash:
        return Break(
            entry.sequence,
            HASH_MISMATCH,
            f"stored {entry.hash[:16]}…, recomputed {recomputed[:16]}…: "
            "the entry was changed after it was written",
        )
    return None


def verify(using: str = DEFAULT_DB_ALIAS) -> Verification:
    """Walk the whole chain in sequence order and stop at the first entry that does not hold."""
    count = 0
    previous = GENESIS
    for entry in AuditEntry.objects.using(using).order_by("sequence").iterator(chunk_size=2000):
        broken = check_entry(entry, count + 1, previous)
        if broken:
            return Verification(entries=count, head=previous, broken=broken)
        count += 1
        previous = entry.hash
    return Verification(entries=count, head=previous, broken=None)
