"""A report: Tables 1-6 counted in the engine after the filters, with what they were counted on.

Every renderer takes a `Report`, so all formats show the same cells, the same filters and the same
data source line; none of them talks to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from kip.outcomes.cells import OutcomeTable, TableRow
from kip.outcomes.engines import AnalysisTables
from kip.outcomes.report.filters import ReportFilter, apply_filter, visible_columns
from kip.outcomes.tables import study_tables

__all__ = ["PAPER_TABLES", "EmptyReportError", "Report", "build_report", "restrict"]

PAPER_TABLES: tuple[str, ...] = ("T1", "T2", "T3", "T4", "T5", "T6")
"""The tables a report holds; table "S" (figures of the text) belongs to `kip reproduce`."""


class EmptyReportError(ValueError):
    """No patient matches the filters: there is nothing to count."""


@dataclass(frozen=True, slots=True)
class Report:
    tables: tuple[OutcomeTable, ...]
    source: str
    """Where the data came from, e.g. "seeded study cohort (seed 2021; synthetic)"."""
    engine: str
    filters: ReportFilter

    def table(self, key: str) -> OutcomeTable:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.tables[0].columns


def restrict(table: OutcomeTable, columns: tuple[str, ...]) -> OutcomeTable:
    """The table with only `columns`, in the table's own order."""
    rows = tuple(
        TableRow(key=r.key, label=r.label, cells=tuple((c, v) for c, v in r.cells if c in columns))
        for r in table.rows
    )
    kept = tuple(c for c in table.columns if c in columns)
    return OutcomeTable(key=table.key, title=table.title, rows=rows, columns=kept)


def _known_sites(tables: AnalysisTables) -> list[str]:
    query = tables.patients.select("site").distinct().order_by("site")
    return [str(r["site"]) for r in query.to_pyarrow().to_pylist()]


def build_report(
    tables: AnalysisTables, filters: ReportFilter, *, source: str, engine: str
) -> Report:
    """Filter in the engine, count Tables 1-6 there, and keep the columns the filters leave."""
    filtered = apply_filter(tables, filters)
    if int(filtered.patients.count().to_pyarrow().as_py()) == 0:
        sites = ", ".join(_known_sites(tables)) or "none"
        raise EmptyReportError(
            f"filters: no patient matches ({filters.describe()}); sites in the data: {sites}"
        )
    columns = visible_columns(filters)
    counted = {t.key: t for t in study_tables(filtered)}
    return Report(
        tables=tuple(restrict(counted[k], columns) for k in PAPER_TABLES),
        source=source,
        engine=engine,
        filters=filters,
    )
