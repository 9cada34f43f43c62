"""Reads the audit trail records: a clinical record opened (VIEW), a data set handed out (EXPORT).

Pages and API routes call these once the access check has passed (a 403 or 404 shows nothing, so
it logs nothing) and before the response is rendered. The entry is written in its own transaction
and a failure raises: the request ends in an error page, never in the record shown unlogged.

The "what" of an export names the data set, and whether it carries identifiers, the same way from
the clinic and the API, so the trail can be searched for one kind of export.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db.models import Model

from kip.registry.audit.recorder import record_export, record_view
from kip.registry.services.common import Source

RESEARCH_COHORT = "research cohort, de-identified"
PATIENT_LIST = "patient list, identified"
FOLLOW_UPS_DUE = "follow-ups due, identified"
WORKLIST = "worklist, identified"


def log_view(user: User, record: Model, *, source: Source) -> None:
    """One VIEW entry: who opened which record (model, id and the patient's research id)."""
    record_view(user, record, source=source)


def log_export(
    user: User, what: str, count: int, research_ids: Iterable[str], *, source: Source
) -> None:
    """One EXPORT entry: who took which data set out, how many rows it held, and the research
    ids of the patients in it (each once)."""
    record_export(user, what, count, research_ids=research_ids, source=source)
