"""Every figure Oh et al. 2021 printed, set beside kip's recomputation, with a reason per mismatch.

`reproduce(tables)` looks up, for each record of kip.outcomes.published, the cell of the
recomputed tables that holds the same figure (a text figure repeats a table cell, or one of the
text-only counts of table "S"), formats it the way the paper printed that figure, and compares.

A mismatch is explained only by something written down beforehand (kip.outcomes.paper_errata) or,
for a P value, by finding which test gives the printed value from the printed counts: a mismatch
nothing accounts for is reported as unexplained, so a regression in kip cannot hide among the
paper's own errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from kip.outcomes.cells import Cell, Count, GroupSize, MeanSD, OutcomeTable, PValue
from kip.outcomes.paper_errata import (
    NO_TEST_REPRODUCES,
    NOT_IN_DATASET,
    NOT_PRINTED,
    inconsistencies_for,
    matches,
)
from kip.outcomes.published import BLANK, Kind, PublishedFigure, by_id, load
from kip.outcomes.stats import TestResult, fisher, format_p, goodness_of_fit, pearson, yates

__all__ = [
    "TEXT_P_SOURCES",
    "TEXT_SOURCES",
    "FigureCheck",
    "Reproduction",
    "Status",
    "reproduce",
    "source_of",
]


class Status(StrEnum):
    MATCH = "match"
    EXPLAINED = "explained"
    UNEXPLAINED = "unexplained"


@dataclass(frozen=True, slots=True)
class FigureCheck:
    """One printed figure against kip's value. `why` explains a mismatch; on a match it carries
    any documented caveat (e.g. a printed denominator that is not the one the value uses)."""

    figure: PublishedFigure
    recomputed: str | None
    status: Status
    source: str | None
    why: str

    @property
    def figure_id(self) -> str:
        return self.figure.figure_id


@dataclass(frozen=True, slots=True)
class Reproduction:
    engine: str
    checks: tuple[FigureCheck, ...]

    def count(self, status: Status) -> int:
        return sum(c.status is status for c in self.checks)

    @property
    def summary(self) -> Mapping[str, int]:
        return {"figures": len(self.checks), **{s.value: self.count(s) for s in Status}}

    @property
    def ok(self) -> bool:
        return self.count(Status.UNEXPLAINED) == 0


# Text rows (kip.outcomes.published's `row` of a "text" figure) -> the (table, row) whose cell in
# the figure's own column holds the same figure.
TEXT_SOURCES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "abstract.patients": ("T1", "patients"),
        "abstract.infusions": ("T5", "infusions"),
        "abstract.pandemic_patients": ("T6", "patients"),
        "abstract.responders": ("T2", "responders"),
        "abstract.relief_gt_3wk": ("T3", "relief_ge_3wk"),
        "abstract.ae_infusions": ("T5", "ae_type.any"),
        # Every pandemic follow-up row is a patient whose infusions were postponed.
        "abstract.pandemic_no_infusion": ("T6", "patients"),
        "abstract.pandemic_pain_returned": ("S", "pandemic_pain_returned"),
        "abstract.pandemic_medication_increased": ("S", "pandemic_medication_increased"),
        "results.demographics.patients": ("T1", "patients"),
        "results.demographics.age_years": ("T1", "age_years"),
        "results.demographics.cancer_breast": ("T1", "cancer.breast"),
        "results.demographics.cancer_nerve_sheath": ("T1", "cancer.nerve_sheath"),
        "results.demographics.metastases": ("T1", "metastases.yes"),
        "results.demographics.nerve_root_compression": ("T1", "compression_site.nerve_roots"),
        "results.demographics.somatostatin_analog": ("T1", "cipn_regimen.octreotide"),
        "results.demographics.thoracotomy_or_mastectomy": ("S", "thoracotomy_or_mastectomy"),
        "results.demographics.radiation_head_and_neck": ("T1", "radiation_site.head_and_neck"),
        "results.demographics.radiation_spine": ("T1", "radiation_site.spine"),
        "results.response.responders": ("T2", "responders"),
        "results.response.pae_limited": ("T2", "pae_limited"),
        "results.response.relief_lt_2wk": ("T3", "relief_lt_2wk"),
        "results.response.relief_2_3wk": ("T3", "relief_2_3wk"),
        "results.response.relief_gt_3wk": ("T3", "relief_ge_3wk"),
        "results.duration.responders_ge2_infusions": ("T3", "responders_ge2_infusions"),
        "results.duration.relief_ge_3wk": ("T3", "relief_ge_3wk"),
        "results.duration.relief_2_3wk": ("T3", "relief_2_3wk"),
        "results.duration.relief_lt_2wk": ("T3", "relief_lt_2wk"),
        "results.duration.relief_gt_3wk": ("T3", "relief_ge_3wk"),
        "results.adjuvant.other_anticonvulsants": ("S", "other_anticonvulsant_users"),
        "results.adjuvant.snris.responders_nonusers": ("T4", "snris.responders_nonusers"),
        "results.adjuvant.snris.responders_users": ("T4", "snris.responders_users"),
        "results.adverse.patients": ("T5", "patients"),
        "results.adverse.infusions": ("T5", "infusions"),
        "results.adverse.any_ae_patients": ("T5", "any_ae.yes"),
        "results.adverse.any_ae_infusions": ("T5", "ae_type.any"),
        "results.adverse.neurological": ("T5", "ae_type.neurological"),
        "results.adverse.gastrointestinal": ("T5", "ae_type.gastrointestinal"),
        "results.adverse.cardiovascular": ("T5", "ae_type.cardiovascular"),
        "results.adverse.self_resolved": ("T5", "resolution.self_resolved"),
        "results.adverse.intervention": ("T5", "resolution.intervention"),
        "results.pandemic.patients": ("T6", "patients"),
        "results.pandemic.responders": ("T6", "responders"),
        "results.pandemic.relief_gt_3wk": ("T6", "relief_ge_3wk"),
        "results.pandemic.sustained_relief_3mo": ("S", "pandemic_pain_not_returned"),
        "results.pandemic.pain_returned": ("S", "pandemic_pain_returned"),
        "results.pandemic.no_ae": ("T6", "ae.none"),
        "results.pandemic.neurological": ("T6", "ae.neurological"),
        "results.pandemic.opioids_increased": ("T6", "medication_change.opioids"),
        "results.pandemic.gabapentinoids_increased": ("T6", "medication_change.gabapentinoids"),
        "results.pandemic.cannabis_started": ("T6", "medication_change.cannabis"),
        "results.pandemic.no_change": ("T6", "medication_change.no_change"),
        "discussion.patients": ("T1", "patients"),
        "discussion.responders": ("T2", "responders"),
        "discussion.responders_ge2_infusions": ("T3", "responders_ge2_infusions"),
        "discussion.relief_gt_3wk": ("T3", "relief_ge_3wk"),
        "discussion.relief_gt_3wk_restated": ("T3", "relief_ge_3wk"),
        "discussion.pae_limited": ("T2", "pae_limited"),
        "discussion.snris.responders_users": ("T4", "snris.responders_users"),
        "discussion.snris.nonresponders_nonusers": ("S", "snri_nonresponders_nonusers"),
        "discussion.opioids.responders_users": ("T4", "opioids.responders_users"),
        "discussion.opioids.responders_nonusers": ("T4", "opioids.responders_nonusers"),
        "discussion.no_adjuvant_responders": ("S", "no_adjuvant_responders"),
        "discussion.any_ae_infusions": ("T5", "ae_type.any"),
        "discussion.self_resolved": ("T5", "resolution.self_resolved"),
        "discussion.intervention": ("T5", "resolution.intervention"),
        "discussion.pandemic_patients": ("T6", "patients"),
        "discussion.pandemic_sustained_relief_3mo": ("S", "pandemic_pain_not_returned"),
        "discussion.pandemic_pain_returned": ("S", "pandemic_pain_returned"),
        "discussion.pandemic_responders": ("T6", "responders"),
        "discussion.pandemic_medication_increased": ("S", "pandemic_medication_increased"),
    }
)

# The same for the text's P values, which sit beside a count but test a table's P value row.
TEXT_P_SOURCES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "abstract.snris": ("T4", "snris.p_value"),
        # Inconsistency 9: printed beside the 12 pain/AE-limited, it is Table 2's P value.
        "results.response.pae_limited": ("T2", "p_value"),
        "results.response.responders": ("T2", "p_value"),
        "results.response.relief_duration": ("T3", "p_value"),
        "results.duration.relief_duration": ("T3", "p_value"),
        "results.adjuvant.opioids": ("T4", "opioids.p_value"),
        "results.adjuvant.tcas": ("T4", "tcas.p_value"),
        "results.adjuvant.gabapentinoids": ("T4", "gabapentinoids.p_value"),
        "results.adjuvant.snris": ("T4", "snris.p_value"),
        "discussion.relief_duration": ("T3", "p_value"),
        "discussion.snris": ("T4", "snris.p_value"),
    }
)

_PRECISE = re.compile(r"<?0\.\d{4}")


def source_of(figure: PublishedFigure) -> tuple[str, str, str] | None:
    """(table, row, column) of the recomputed cell that holds this printed figure."""
    if figure.table != "text":
        return figure.table, figure.row, figure.column.value
    sources = TEXT_P_SOURCES if figure.kind is Kind.P_VALUE else TEXT_SOURCES
    found = sources.get(figure.row)
    return None if found is None else (found[0], found[1], figure.column.value)


def _p_style(printed: str) -> Literal["table", "precise"]:
    # The text prints four decimals ("P = 0.0007"), the tables two ("0.17", "<0.01").
    return "precise" if _PRECISE.fullmatch(printed) else "table"


def render(cell: Cell, figure: PublishedFigure) -> str | None:
    """The cell's value as the paper prints a figure of this kind; None if the kinds differ."""
    kind = figure.kind
    if isinstance(cell, GroupSize) and kind in (Kind.N, Kind.COUNT):
        return str(cell.n)
    if isinstance(cell, Count) and kind in (Kind.N, Kind.COUNT):
        return str(cell.count)
    if isinstance(cell, Count) and kind is Kind.PERCENT:
        return cell.percent_text
    if isinstance(cell, MeanSD) and kind in (Kind.MEAN, Kind.SD):
        return cell.text("mean" if kind is Kind.MEAN else "sd")
    if isinstance(cell, PValue) and kind is Kind.P_VALUE:
        return cell.text(_p_style(figure.value))
    return None


def _same(figure: PublishedFigure, recomputed: str) -> bool:
    # Tables 1, 4 and 5 print "–" for a count of no patients.
    if figure.is_blank and figure.kind is Kind.COUNT:
        return recomputed == "0"
    return figure.value == recomputed


def _labels(figure_id: str) -> str:
    return "; ".join(i.label for i in inconsistencies_for(figure_id))


def _printed(figure_id: str) -> int | None:
    figure = by_id().get(figure_id)
    return None if figure is None or figure.is_blank else figure.integer


def _printed_counts(table: str, row: str, column: str) -> tuple[tuple[int, ...], ...] | None:
    """The printed counts a printed P value was computed from, as the test's input."""
    if table in ("T2", "T3", "T5"):
        parts = {
            "T2": ("responders", "nonresponders"),
            "T3": ("relief_lt_2wk", "relief_2_3wk", "relief_ge_3wk"),
            "T5": ("any_ae.yes", "any_ae.no"),
        }[table]
        values = [_printed(f"{table}.{part}.{column}.count") for part in parts]
        return None if None in values else (tuple(v for v in values if v is not None),)
    if table == "T4":
        drug = row.removesuffix(".p_value")
        names = ("users", "responders_users", "nonusers", "responders_nonusers")
        u, ru, v, rv = (_printed(f"T4.{drug}.{name}.{column}.count") for name in names)
        if u is None or ru is None or v is None or rv is None:
            return None
        return ((ru, u - ru), (rv, v - rv))
    return None


def _candidate_tests(
    counts: tuple[tuple[int, ...], ...],
) -> list[tuple[str, Callable[[], TestResult]]]:
    if len(counts) == 1:
        return [("goodness-of-fit", lambda: goodness_of_fit(counts[0]))]
    return [
        ("Pearson", lambda: pearson(counts)),
        ("Yates", lambda: yates(counts)),
        ("Fisher", lambda: fisher(counts)),
    ]


def _trace_p(figure: PublishedFigure, source: tuple[str, str, str]) -> tuple[bool, str]:
    """Which test gives the printed P from the printed counts: (found or documented, why)."""
    counts = _printed_counts(*source)
    if counts is None:
        return False, "the printed counts behind this P value are not all printed"
    style = _p_style(figure.value)
    results: list[tuple[str, str]] = []
    for name, run in _candidate_tests(counts):
        try:
            results.append((name, format_p(run().p_value, style)))
        except ValueError:
            continue
    found = [name for name, value in results if value == figure.value]
    tried = ", ".join(f"{name} {value}" for name, value in results)
    if found:
        verb = "gives" if len(found) == 1 else "give"
        return True, f"{', '.join(found)} on the printed counts {counts} {verb} {figure.value}"
    documented = matches(figure.figure_id, NO_TEST_REPRODUCES)
    return documented, f"no test gives {figure.value} from the printed counts {counts} ({tried})"


def _check(figure: PublishedFigure, cells: Mapping[tuple[str, str, str], Cell]) -> FigureCheck:
    source = source_of(figure)
    where = None if source is None else ".".join(source)
    if figure.figure_id in NOT_IN_DATASET:
        return FigureCheck(figure, None, Status.EXPLAINED, where, NOT_IN_DATASET[figure.figure_id])
    cell = None if source is None else cells.get(source)
    if source is None or cell is None:
        why = "no recomputed cell holds this figure"
        return FigureCheck(figure, None, Status.UNEXPLAINED, where, why)
    recomputed = render(cell, figure)
    if recomputed is None:
        why = f"cell {where} is a {type(cell).__name__}, not a {figure.kind.value}"
        return FigureCheck(figure, None, Status.UNEXPLAINED, where, why)
    labels = _labels(figure.figure_id)
    if _same(figure, recomputed):
        return FigureCheck(figure, recomputed, Status.MATCH, where, labels)
    if isinstance(cell, PValue):
        traced, how = _trace_p(figure, source)
        ran = "no comparison" if cell.result is None else cell.reason
        why = f"{how}; kip ran {ran} on the data's counts {cell.counts}"
        status = Status.EXPLAINED if traced else Status.UNEXPLAINED
        return FigureCheck(
            figure, recomputed, status, where, "; ".join(filter(None, [why, labels]))
        )
    if figure.is_blank and matches(figure.figure_id, NOT_PRINTED):
        why = f"the paper prints '{BLANK}' (not reported) here; the data hold {recomputed}"
        return FigureCheck(figure, recomputed, Status.EXPLAINED, where, why)
    if labels:
        return FigureCheck(figure, recomputed, Status.EXPLAINED, where, labels)
    why = f"printed {figure.value}, recomputed {recomputed}: nothing documented accounts for it"
    return FigureCheck(figure, recomputed, Status.UNEXPLAINED, where, why)


def reproduce(
    tables: Sequence[OutcomeTable],
    figures: Sequence[PublishedFigure] | None = None,
    *,
    engine: str = "",
) -> Reproduction:
    """Check every printed figure (all of kip.outcomes.published by default) against `tables`."""
    cells = {
        (table.key, row.key, column): cell
        for table in tables
        for row in table.rows
        for column, cell in row.cells
    }
    pool = load() if figures is None else figures
    return Reproduction(engine=engine, checks=tuple(_check(f, cells) for f in pool))
