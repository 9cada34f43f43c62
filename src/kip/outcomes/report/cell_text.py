"""Cells as people read them: every percent with its denominator, every P value with its test.

Shared by the terminal, Markdown, HTML and PDF renderers so that a cell reads the same in each.
"""

from __future__ import annotations

from kip.outcomes.cells import BLANK, Cell, Count, GroupSize, MeanSD, PValue, TableRow
from kip.outcomes.stats import StatTest, format_p

__all__ = [
    "COLUMN_LABELS",
    "DENOMINATOR_LABELS",
    "TEST_LABELS",
    "cell_text",
    "p_text",
    "row_unit",
]

COLUMN_LABELS = {
    "tumor_compression": "Tumor compression",
    "cipn": "CIPN",
    "postsurgical": "Postsurgical",
    "postradiation": "Postradiation",
    "total": "Total",
}

# Count.denominator names (kip.outcomes.published.DENOMINATORS) as a reader says them.
DENOMINATOR_LABELS = {
    "patients": "patients",
    "responders": "responders",
    "responders_ge2_infusions": "responders with ≥2 infusions",
    "infusions": "infusions",
    "users": "users",
    "nonusers": "non-users",
    "adverse_events": "infusions with an adverse event",
    "pandemic_patients": "patients enrolled at the COVID-19 pause",
    "pandemic_pain_returned": "patients whose pain returned",
}

# Short enough for a table cell; the report's legend spells each one out.
TEST_LABELS = {
    StatTest.GOODNESS_OF_FIT: "χ² goodness-of-fit",
    StatTest.PEARSON: "Pearson χ²",
    StatTest.YATES: "Yates χ²",
    StatTest.FISHER: "Fisher exact",
}


def p_text(cell: PValue) -> tuple[str, str]:
    """(P value, test) — four decimals, as the paper's text prints them; "–" when not tested."""
    if cell.result is None:
        return BLANK, "not tested"
    return format_p(cell.result.p_value, "precise"), TEST_LABELS[cell.result.test]


def cell_text(cell: Cell | None) -> str:
    if cell is None:
        return ""
    if isinstance(cell, GroupSize):
        return str(cell.n)
    if isinstance(cell, Count):
        percent = cell.percent_text
        suffix = "" if cell.percent is None else "%"
        return f"{cell.count}/{cell.denominator_n} ({percent}{suffix})"
    if isinstance(cell, MeanSD):
        return f"{cell.text('mean')} ± {cell.text('sd')}"
    value, test = p_text(cell)
    return f"P {value} ({test})" if cell.result is None else f"P = {value} ({test})"


def row_unit(row: TableRow) -> str | None:
    """The denominator a row's percents are of, when the row holds counts."""
    for _, cell in row.cells:
        if isinstance(cell, Count):
            return DENOMINATOR_LABELS.get(cell.denominator, cell.denominator)
    return None
