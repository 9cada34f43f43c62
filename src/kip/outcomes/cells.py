"""The cells, rows and tables of the recomputed study tables, as plain frozen values.

A report renders these (terminal, HTML, CSV); `kip reproduce` compares them with the printed
figures. They hold integers, never engine floats: a mean and SD are kept as n, sum and sum of
squares and a percent as count over denominator, so the same data give equal cells on every engine
(a float SD summed in a different order by SQLite and PostgreSQL would not compare equal), and the
printed rounding (half up) is applied to the exact value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from typing import Literal

from kip.outcomes.stats import TestResult, clopper_pearson, format_p

__all__ = [
    "BLANK",
    "COLUMNS",
    "Cell",
    "Count",
    "GroupSize",
    "MeanSD",
    "OutcomeTable",
    "PValue",
    "TableRow",
    "count",
    "half_up",
]

COLUMNS: tuple[str, ...] = ("tumor_compression", "cipn", "postsurgical", "postradiation", "total")
"""The paper's columns: the four etiologies, then all patients."""

BLANK = "–"
"""What the paper prints for a percent of nobody or a comparison it did not make."""

# 40 significant digits: enough that a quotient of two 64-bit counts rounds to its exact value
# at the printed precision, so half-up is decided on the true digits.
_CONTEXT = Context(prec=40)


def half_up(value: Fraction, places: int) -> str:
    """`value` rounded half up to `places` decimals, as the paper prints (2 of 32 is 6.3)."""
    exact = _CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))
    return str(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class GroupSize:
    """A group's size ("n = 13", "192 infusions")."""

    n: int


@dataclass(frozen=True, slots=True)
class Count:
    """`count` of `denominator_n` (kip.outcomes.published.DENOMINATORS names the denominator),
    with its exact 95% Clopper-Pearson interval; no interval over an empty denominator."""

    count: int
    denominator: str
    denominator_n: int
    interval: tuple[float, float] | None = field(default=None, compare=True)

    @property
    def percent(self) -> Fraction | None:
        return None if self.denominator_n == 0 else Fraction(100 * self.count, self.denominator_n)

    @property
    def percent_text(self) -> str:
        percent = self.percent
        return BLANK if percent is None else half_up(percent, 1)


def count(k: int, denominator: str, n: int) -> Count:
    """A Count cell with its interval computed."""
    interval = None if n == 0 else clopper_pearson(k, n)
    return Count(count=k, denominator=denominator, denominator_n=n, interval=interval)


@dataclass(frozen=True, slots=True)
class MeanSD:
    """Mean ± sample SD (n - 1), as Table 1 prints age, kept as exact sums."""

    n: int
    total: int
    total_squares: int

    @property
    def mean(self) -> Fraction | None:
        return None if self.n == 0 else Fraction(self.total, self.n)

    @property
    def variance(self) -> Fraction | None:
        if self.n < 2:
            return None
        return Fraction(self.n * self.total_squares - self.total**2, self.n * (self.n - 1))

    def text(self, kind: Literal["mean", "sd"]) -> str:
        if kind == "mean":
            mean = self.mean
            return BLANK if mean is None else half_up(mean, 2)
        variance = self.variance
        if variance is None:
            return BLANK
        root = _CONTEXT.divide(Decimal(variance.numerator), Decimal(variance.denominator))
        return str(_CONTEXT.sqrt(root).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class PValue:
    """A comparison's P value with the test that produced it and why that test.

    `counts` are the counts the test ran on (one row per group compared). `result` is None when
    no comparison can be made (e.g. a drug class with no users in the column); `reason` then says
    why, and the cell prints "–" as the paper does.
    """

    counts: tuple[tuple[int, ...], ...]
    result: TestResult | None
    reason: str

    def text(self, style: Literal["table", "precise"] = "table") -> str:
        return BLANK if self.result is None else format_p(self.result.p_value, style)


Cell = GroupSize | Count | MeanSD | PValue


@dataclass(frozen=True, slots=True)
class TableRow:
    """One printed row; `key` is the row slug of kip.outcomes.published (e.g. "sex.male")."""

    key: str
    label: str
    cells: tuple[tuple[str, Cell], ...]

    def cell(self, column: str) -> Cell | None:
        for name, cell in self.cells:
            if name == column:
                return cell
        return None


@dataclass(frozen=True, slots=True)
class OutcomeTable:
    """A table in the paper's layout: `key` "T1".."T6" (or "S" for text-only figures)."""

    key: str
    title: str
    rows: tuple[TableRow, ...]
    columns: tuple[str, ...] = COLUMNS

    def row(self, key: str) -> TableRow | None:
        for row in self.rows:
            if row.key == key:
                return row
        return None

    def cell(self, row: str, column: str) -> Cell | None:
        found = self.row(row)
        return None if found is None else found.cell(column)
