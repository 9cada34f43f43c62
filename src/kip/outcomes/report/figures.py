"""The report's figures, drawn with matplotlib from the report's cells (never from the engine).

Figures are built on `matplotlib.figure.Figure` directly, not pyplot: no global figure state and no
GUI backend, so drawing works in a server or CI as it does on a laptop; saving picks the Agg (PNG),
SVG or PDF canvas from the format. Colours are the Okabe-Ito palette, which stays distinguishable
for the common colour-vision deficiencies and in greyscale print.

- Response by etiology: responders as % of patients, exact 95% Clopper-Pearson interval.
- Duration of relief: Table 3's bands as shares of responders with >= 2 infusions.
- Adverse events by category: % of infusions with an event of the category (Table 5 counts per
  infusion), with Clopper-Pearson intervals.
- Adjuvants: odds ratio of response, users vs non-users, conditional MLE with its exact interval
  (kip.outcomes.report.odds), on a log axis.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.typing import RcKeyType

from kip.outcomes.cells import Count, OutcomeTable
from kip.outcomes.report.cell_text import COLUMN_LABELS
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import OddsRatio, adjuvant_odds_ratios, odds_ratio_text

__all__ = [
    "ReportFigure",
    "adverse_event_figure",
    "odds_ratio_figure",
    "png_bytes",
    "relief_figure",
    "report_figures",
    "response_figure",
    "svg_text",
]

# Okabe-Ito: blue, orange, bluish green, vermillion, grey.
BLUE, ORANGE, GREEN, VERMILLION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#999999"
BAND_COLOURS = (VERMILLION, ORANGE, GREEN)
_STYLE: dict[RcKeyType, Any] = {
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    # Text stays text in SVG and PDF: searchable, selectable, and smaller than glyph outlines.
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    # Same element ids on every run, so a report of the same data is the same file.
    "svg.hashsalt": "kip-report",
}


@dataclass(frozen=True, slots=True)
class ReportFigure:
    key: str
    title: str
    caption: str
    figure: Figure


def _figure(rows: int) -> tuple[Figure, Axes]:
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(7.5, 1.6 + 0.42 * rows), layout="constrained")
        axes = figure.add_subplot()
    return figure, axes


def _counts(table: OutcomeTable, row: str, columns: Sequence[str]) -> list[tuple[str, Count]]:
    out: list[tuple[str, Count]] = []
    for column in columns:
        cell = table.cell(row, column)
        if isinstance(cell, Count):
            out.append((column, cell))
    return out


def _interval_percent(cell: Count) -> tuple[float, float]:
    low, high = cell.interval if cell.interval is not None else (0.0, 0.0)
    return 100 * low, 100 * high


def _percent(cell: Count) -> float:
    return 0.0 if cell.percent is None else float(cell.percent)


def _proportion_axes(
    axes: Axes, labels: Sequence[str], cells: Sequence[Count], colours: Sequence[str]
) -> None:
    """Points with interval whiskers, one row per label, the count written beside each."""
    positions = list(range(len(cells)))[::-1]
    for y, cell, colour in zip(positions, cells, colours, strict=True):
        low, high = _interval_percent(cell)
        axes.plot([low, high], [y, y], color=colour, linewidth=2.2, solid_capstyle="butt")
        axes.plot([_percent(cell)], [y], "o", color=colour, markersize=7)
        axes.annotate(
            f"{cell.count}/{cell.denominator_n} ({cell.percent_text}%)",
            xy=(1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
        )
    axes.set_yticks(positions, labels)
    axes.set_xlim(0, 100)
    axes.set_ylim(-0.7, len(cells) - 0.3)
    axes.grid(axis="x", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)


def response_figure(t2: OutcomeTable) -> Figure:
    cells = _counts(t2, "responders", t2.columns)
    figure, axes = _figure(len(cells))
    with matplotlib.rc_context(_STYLE):
        _proportion_axes(
            axes,
            [COLUMN_LABELS[c] for c, _ in cells],
            [cell for _, cell in cells],
            [GREY if c == "total" else BLUE for c, _ in cells],
        )
        axes.set_xlabel("Responders, % of patients (point) with exact 95% CI (line)")
        axes.set_title("Response to IV ketamine by etiology")
    return figure


def relief_figure(t3: OutcomeTable) -> Figure:
    bands = (
        ("relief_lt_2wk", "<2 weeks"),
        ("relief_2_3wk", "2–3 weeks"),
        ("relief_ge_3wk", "≥3 weeks"),
    )
    columns = [c for c in t3.columns if isinstance(t3.cell("relief_lt_2wk", c), Count)]
    figure, axes = _figure(len(columns) + 1)
    with matplotlib.rc_context(_STYLE):
        positions = list(range(len(columns)))[::-1]
        left = [0.0] * len(columns)
        for (row, label), colour in zip(bands, BAND_COLOURS, strict=True):
            cells = [t3.cell(row, c) for c in columns]
            widths = [_percent(c) if isinstance(c, Count) else 0.0 for c in cells]
            axes.barh(positions, widths, left=left, color=colour, label=label, height=0.62)
            for y, x0, width, cell in zip(positions, left, widths, cells, strict=True):
                if isinstance(cell, Count) and cell.count and width >= 7:
                    axes.text(
                        x0 + width / 2, y, str(cell.count), ha="center", va="center",
                        color="white", fontsize=9, fontweight="bold",
                    )  # fmt: skip
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for y, column in zip(positions, columns, strict=True):
            cell = t3.cell("relief_lt_2wk", column)
            n = cell.denominator_n if isinstance(cell, Count) else 0
            axes.annotate(
                f"n = {n}", xy=(1.0, y), xycoords=("axes fraction", "data"),
                xytext=(6, 0), textcoords="offset points", va="center", fontsize=9,
            )  # fmt: skip
        axes.set_yticks(positions, [COLUMN_LABELS[c] for c in columns])
        axes.set_xlim(0, 100)
        axes.set_xlabel("% of responders with ≥2 infusions (numbers in bars: patients)")
        axes.set_title("Duration of pain relief after the last infusion")
        axes.legend(ncols=3, loc="upper left", bbox_to_anchor=(0, -0.2), frameon=False)
    return figure


def adverse_event_figure(t5: OutcomeTable) -> Figure:
    rows = [r for r in t5.rows if r.key.startswith("ae_type.") and r.key != "ae_type.any"]
    cells = [(r.label.split(": ", 1)[-1], r.cell("total")) for r in rows]
    counted = sorted(
        ((label, c) for label, c in cells if isinstance(c, Count)),
        key=lambda item: -item[1].count,
    )
    figure, axes = _figure(len(counted))
    with matplotlib.rc_context(_STYLE):
        _proportion_axes(
            axes, [label for label, _ in counted], [c for _, c in counted], [ORANGE] * len(counted)
        )
        top = max((_interval_percent(c)[1] for _, c in counted), default=0.0)
        axes.set_xlim(0, max(10.0, math.ceil(top / 5) * 5))
        axes.set_xlabel("% of infusions with an event of the category, exact 95% CI")
        axes.set_title("Adverse events by category, per infusion")
    return figure


def _edge(ratio: OddsRatio, low_edge: float, high_edge: float) -> tuple[float, float, float]:
    def clamp(value: float) -> float:
        return min(max(value, low_edge), high_edge)

    assert ratio.estimate is not None and ratio.low is not None and ratio.high is not None
    return clamp(ratio.estimate), clamp(ratio.low), clamp(ratio.high)


def odds_ratio_figure(ratios: Sequence[OddsRatio]) -> Figure:
    figure, axes = _figure(len(ratios))
    finite = [
        v for r in ratios for v in (r.low, r.high) if v is not None and v > 0 and not math.isinf(v)
    ]
    low_edge = min([0.1, *finite]) / 2
    high_edge = max([10.0, *finite]) * 2
    with matplotlib.rc_context(_STYLE):
        axes.set_xscale("log")
        axes.axvline(1.0, color="#555555", linewidth=1, linestyle="--")
        positions = list(range(len(ratios)))[::-1]
        for y, ratio in zip(positions, ratios, strict=True):
            text = odds_ratio_text(ratio)
            if ratio.estimate is not None:
                estimate, low, high = _edge(ratio, low_edge, high_edge)
                axes.plot([low, high], [y, y], color=BLUE, linewidth=2.2)
                axes.plot([estimate], [y], "s", color=BLUE, markersize=7)
                # An interval open at one end (a zero cell) runs to the edge with an arrow.
                for end, value, marker in ((low, ratio.low, "<"), (high, ratio.high, ">")):
                    if value is not None and (value <= low_edge or value >= high_edge):
                        axes.plot([end], [y], marker, color=BLUE, markersize=8)
            users = f"users {ratio.users[0]}/{sum(ratio.users)}"
            nonusers = f"non-users {ratio.nonusers[0]}/{sum(ratio.nonusers)}"
            axes.annotate(
                f"{text}\n{users} vs {nonusers}", xy=(1.0, y), xycoords=("axes fraction", "data"),
                xytext=(6, 0), textcoords="offset points", va="center", fontsize=8.5,
            )  # fmt: skip
        axes.set_yticks(positions, [r.label for r in ratios])
        axes.set_xlim(low_edge, high_edge)
        # Plain numbers (0.1, 1, 10), not powers of ten: how odds ratios are read in a paper.
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.set_ylim(-0.7, len(ratios) - 0.3)
        axes.set_xlabel(
            "Odds ratio of response, users vs non-users (log scale; >1 favours users)\n"
            "conditional MLE with exact 95% CI"
        )
        axes.set_title("Adjuvant medications and response")
    return figure


def report_figures(report: Report) -> tuple[ReportFigure, ...]:
    ratios = adjuvant_odds_ratios(report.table("T4"), "total")
    return (
        ReportFigure(
            "response",
            "Response by etiology",
            "Responders as % of patients per etiology; lines are exact 95% Clopper–Pearson "
            "intervals.",
            response_figure(report.table("T2")),
        ),
        ReportFigure(
            "relief",
            "Duration of relief",
            "Relief after the last infusion, responders who received ≥2 infusions (Table 3).",
            relief_figure(report.table("T3")),
        ),
        ReportFigure(
            "adverse_events",
            "Adverse events by category",
            "Infusions with an adverse event of each category, % of all infusions, with exact 95% "
            "Clopper–Pearson intervals (Table 5 counts per infusion).",
            adverse_event_figure(report.table("T5")),
        ),
        ReportFigure(
            "adjuvants",
            "Adjuvant comparisons",
            "Odds ratio of response for users vs non-users of each adjuvant class (Table 4, total "
            "column): conditional maximum-likelihood estimate with its exact 95% interval "
            "(scipy.stats.contingency.odds_ratio).",
            odds_ratio_figure(ratios),
        ),
    )


def svg_text(figure: Figure) -> str:
    """The figure as an <svg> element (no XML prolog), for inlining in HTML."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_STYLE):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def png_bytes(figure: Figure, dpi: int = 200) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
