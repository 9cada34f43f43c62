"""Report filters, applied to the analysis tables inside the engine before anything is counted.

Semantics (docs/report.md):

- `sites`, `etiologies`: the patients whose `site` / `etiology` is one of those given.
- `date_from`, `date_to` (inclusive, either may be open): the patients with at least one infusion
  dated in the range, and of their infusions only those in the range. Adverse events follow their
  infusion. A patient's program-wide attributes (responder, pain/AE-limited, relief after the last
  infusion, `n_infusions`, any adverse event during the program) are kept as recorded: the dataset
  has them once per patient, not per infusion, so a date range chooses who is reported, while the
  per-infusion counts of Table 5 count only infusions in the range.
- Adjuvants and pandemic follow-ups are those of the patients kept.

Every filter is an Ibis expression (filter, semi-join), so the engine does the work and only the
counts come back, as for the unfiltered tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kip.outcomes.cells import COLUMNS
from kip.outcomes.dataset import ETIOLOGIES
from kip.outcomes.engines import AnalysisTables

__all__ = ["ReportFilter", "apply_filter", "visible_columns"]


@dataclass(frozen=True, slots=True)
class ReportFilter:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sites: tuple[str, ...] = ()
    etiologies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(
                f"--from: {self.date_from.isoformat()} is after --to {self.date_to.isoformat()}"
            )
        unknown = [e for e in self.etiologies if e not in ETIOLOGIES]
        if unknown:
            raise ValueError(f"--etiology: {', '.join(unknown)} not one of {', '.join(ETIOLOGIES)}")

    @property
    def by_date(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    @property
    def active(self) -> bool:
        return self.by_date or bool(self.sites) or bool(self.etiologies)

    def describe(self) -> str:
        """One line for a report's header, e.g. "infusions 2019-01-01 to 2019-12-31; site mskcc"."""
        parts: list[str] = []
        if self.by_date:
            start = self.date_from.isoformat() if self.date_from else "the first"
            end = self.date_to.isoformat() if self.date_to else "the last"
            parts.append(f"patients with an infusion from {start} to {end} (inclusive)")
        if self.sites:
            parts.append(f"site {', '.join(self.sites)}")
        if self.etiologies:
            parts.append(f"etiology {', '.join(self.etiologies)}")
        return "; ".join(parts) if parts else "none (all patients)"


def _in_range(infusions: Any, f: ReportFilter) -> Any:
    if f.date_from is not None:
        infusions = infusions.filter(infusions.date >= f.date_from)
    if f.date_to is not None:
        infusions = infusions.filter(infusions.date <= f.date_to)
    return infusions


def apply_filter(tables: AnalysisTables, f: ReportFilter) -> AnalysisTables:
    """The tables restricted as the filter says, still as unexecuted engine expressions."""
    if not f.active:
        return tables
    patients = tables.patients
    if f.sites:
        patients = patients.filter(patients.site.isin(list(f.sites)))
    if f.etiologies:
        patients = patients.filter(patients.etiology.isin(list(f.etiologies)))
    infusions = _in_range(tables.infusions, f)
    if f.by_date:
        patients = patients.semi_join(infusions, "patient_id")
    infusions = infusions.semi_join(patients, "patient_id")
    return AnalysisTables(
        patients=patients,
        infusions=infusions,
        adverse_events=tables.adverse_events.semi_join(
            infusions, ["patient_id", "infusion_number"]
        ),
        adjuvants=tables.adjuvants.semi_join(patients, "patient_id"),
        pandemic_followups=tables.pandemic_followups.semi_join(patients, "patient_id"),
    )


def visible_columns(f: ReportFilter) -> tuple[str, ...]:
    """The table columns worth printing: an etiology filtered out would be a column of zeros."""
    if not f.etiologies:
        return COLUMNS
    return tuple(c for c in COLUMNS if c in f.etiologies or c == "total")
