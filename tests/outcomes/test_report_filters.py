"""Report filters: counted in the engine, the same on DuckDB and SQLite, checked against plain
Python counts of the cohort's rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import ibis
import pytest

from kip.outcomes import engines
from kip.outcomes.cells import COLUMNS, Count, GroupSize
from kip.outcomes.engines import AnalysisTables
from kip.outcomes.report.filters import ReportFilter, apply_filter
from kip.outcomes.report.model import EmptyReportError, Report, build_report
from kip.synth.study import study_cohort

COHORT = study_cohort()
SPRING_2019 = ReportFilter(date_from=dt.date(2019, 3, 1), date_to=dt.date(2019, 6, 30))


@pytest.fixture(scope="module", params=["duckdb://", "sqlite://"])
def tables(request: pytest.FixtureRequest) -> Iterator[AnalysisTables]:
    yield engines.load_dataset(engines.connect(request.param), COHORT)


def _report(tables: AnalysisTables, filters: ReportFilter) -> Report:
    return build_report(tables, filters, source="test", engine="test")


def _count(report: Report, table: str, row: str, column: str = "total") -> int:
    cell = report.table(table).cell(row, column)
    if isinstance(cell, GroupSize):
        return cell.n
    assert isinstance(cell, Count)
    return cell.count


def _in_spring(day: object) -> bool:
    assert isinstance(day, dt.date)
    return dt.date(2019, 3, 1) <= day <= dt.date(2019, 6, 30)


def test_date_range_keeps_patients_treated_in_it_and_their_infusions_in_it(
    tables: AnalysisTables,
) -> None:
    infusions = [i for i in COHORT["infusions"] if _in_spring(i["date"])]
    patients = {i["patient_id"] for i in infusions}
    events = {
        (e["patient_id"], e["infusion_number"])
        for e in COHORT["adverse_events"]
        if (e["patient_id"], e["infusion_number"])
        in {(i["patient_id"], i["infusion_number"]) for i in infusions}
    }
    responders = [p for p in COHORT["patients"] if p["patient_id"] in patients and p["responder"]]
    report = _report(tables, SPRING_2019)
    assert 0 < len(patients) < 57 and 0 < len(infusions) < 192
    assert _count(report, "T2", "patients") == len(patients)
    assert _count(report, "T2", "responders") == len(responders)
    assert _count(report, "T5", "infusions") == len(infusions)
    assert _count(report, "T5", "ae_type.any") == len(events)


def test_etiology_filter_keeps_its_column_and_the_total(tables: AnalysisTables) -> None:
    full = _report(tables, ReportFilter())
    cipn = _report(tables, ReportFilter(etiologies=("cipn",)))
    assert cipn.columns == ("cipn", "total")
    for key in ("T2", "T3", "T5", "T6"):
        for row in full.table(key).rows:
            assert cipn.table(key).cell(row.key, "total") == row.cell("cipn")


def test_site_filter(tables: AnalysisTables) -> None:
    full = _report(tables, ReportFilter())
    assert _report(tables, ReportFilter(sites=("mskcc",))).tables == full.tables
    with pytest.raises(EmptyReportError, match=r"^filters: no patient matches .*mskcc"):
        _report(tables, ReportFilter(sites=("nyu",)))


def test_a_range_with_no_infusion_is_a_clear_error(tables: AnalysisTables) -> None:
    with pytest.raises(EmptyReportError, match="no patient matches"):
        _report(tables, ReportFilter(date_from=dt.date(2030, 1, 1)))


def test_duckdb_and_sqlite_give_identical_filtered_tables() -> None:
    filters = ReportFilter(date_from=dt.date(2019, 1, 1), etiologies=("cipn", "postsurgical"))
    reports = [
        _report(engines.load_dataset(engines.connect(url), COHORT), filters).tables
        for url in ("duckdb://", "sqlite://")
    ]
    assert reports[0] == reports[1]
    assert (
        reports[0]
        != _report(
            engines.load_dataset(engines.connect("duckdb://"), COHORT), ReportFilter()
        ).tables
    )


def test_filters_are_engine_expressions(tables: AnalysisTables) -> None:
    filtered = apply_filter(tables, ReportFilter(date_to=dt.date(2019, 6, 30), sites=("mskcc",)))
    sql = str(ibis.to_sql(filtered.infusions))
    # The range and the site are in the query the engine runs, not applied to fetched rows.
    assert '"date" <=' in sql and "'mskcc'" in sql


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"date_from": dt.date(2020, 1, 2), "date_to": dt.date(2020, 1, 1)}, "is after --to"),
        ({"etiologies": ("gout",)}, "--etiology: gout not one of"),
    ],
)
def test_inconsistent_filters_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReportFilter(**kwargs)  # type: ignore[arg-type]


def test_columns_are_the_papers_without_filters(tables: AnalysisTables) -> None:
    assert _report(tables, ReportFilter()).columns == COLUMNS
