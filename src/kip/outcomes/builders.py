"""Builders of table cells from engine counts, one function of the column each.

A table row is the same question asked of every column (four etiologies and the total), so a row
is built from functions of the column: `where(tally, responder=True)` counts a group,
`share(numerator, "patients", denominator)` makes the count-over-denominator cell, `gof` and
`comparison_cell` make P value cells that name their test. kip.outcomes.tables lays the rows out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kip.outcomes.cells import COLUMNS, Cell, GroupSize, PValue, TableRow, count
from kip.outcomes.counts import Tally
from kip.outcomes.stats import compare, fisher, goodness_of_fit

__all__ = [
    "ColumnCount",
    "comparison_cell",
    "gof",
    "gof_cell",
    "row",
    "share",
    "size",
    "slug_label",
    "total_of",
    "where",
]

ColumnCount = Callable[[str], int]
"""A count per column (an etiology or "total")."""


def slug_label(slug: str) -> str:
    return slug.replace("_", " ").capitalize()


def row(key: str, label: str, make: Callable[[str], Cell]) -> TableRow:
    return TableRow(key=key, label=label, cells=tuple((c, make(c)) for c in COLUMNS))


def where(tally: Tally, **conditions: object) -> ColumnCount:
    return lambda column: tally.get(column, **conditions)


def total_of(*parts: ColumnCount) -> ColumnCount:
    return lambda column: sum(part(column) for part in parts)


def share(numerator: ColumnCount, denominator: str, of: ColumnCount) -> Callable[[str], Cell]:
    return lambda column: count(numerator(column), denominator, of(column))


def size(of: ColumnCount) -> Callable[[str], Cell]:
    return lambda column: GroupSize(of(column))


def gof(parts: Sequence[ColumnCount], what: str) -> Callable[[str], Cell]:
    return lambda column: gof_cell([part(column) for part in parts], what)


def gof_cell(counts: Sequence[int], what: str) -> PValue:
    values = tuple(counts)
    if sum(values) == 0:
        return PValue(counts=(values,), result=None, reason=f"no {what} to test")
    return PValue(
        counts=(values,),
        result=goodness_of_fit(values),
        reason=f"one distribution ({what}) against equal counts: goodness-of-fit",
    )


def comparison_cell(users: tuple[int, int], nonusers: tuple[int, int]) -> PValue:
    """users and nonusers as (responders, nonresponders); the paper's rule picks the test."""
    table = (users, nonusers)
    if sum(users) == 0 or sum(nonusers) == 0:
        return PValue(counts=table, result=None, reason="a group has no patients: no comparison")
    try:
        result = compare(table, rule="paper")
    except ValueError:
        # Everyone (or no one) responded: chi-squared has an empty expected column and is
        # undefined, while Fisher's exact test handles the empty margin.
        return PValue(
            counts=table,
            result=fisher(table),
            reason="chi-squared undefined (an outcome has no patients): Fisher exact",
        )
    smallest = min(sum(users), sum(nonusers))
    why = "a subgroup under 6 patients" if smallest < 6 else "every subgroup 6 or more"
    return PValue(counts=table, result=result, reason=f"paper's rule, {why}: {result.test}")
