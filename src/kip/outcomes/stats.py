"""The statistics of Oh et al. 2021 as small pure functions over plain counts.

The paper's "Statistical Analysis" names one rule (chi-squared, or Fisher's exact test when a
subgroup has fewer than six patients), but its printed P values come from several tests (see
docs/published-figures.md): the P value rows of Tables 2, 3 and 5 are one-way goodness-of-fit tests
against equal counts, and Table 4 mixes Pearson, Yates and Fisher. So every function here names the
test it ran, and a caller states which one it wants instead of relying on a default.

Errors are `ValueError("argument: rule")`, the shape the rest of kip uses for bad input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from numbers import Integral
from typing import ClassVar, Literal

from scipy import stats as _scipy_stats

__all__ = [
    "DEFAULT_MIN_SUBGROUP",
    "Rule",
    "StatTest",
    "TestResult",
    "clopper_pearson",
    "compare",
    "fisher",
    "format_p",
    "goodness_of_fit",
    "pearson",
    "yates",
]

DEFAULT_MIN_SUBGROUP = 6
"""The paper: "If subgroups had fewer than six patients, Fisher's exact test was applied"."""

Rule = Literal["paper", "pearson", "yates", "fisher"]
_RULES: tuple[str, ...] = ("paper", "pearson", "yates", "fisher")


class StatTest(StrEnum):
    GOODNESS_OF_FIT = "chi-squared goodness-of-fit"
    PEARSON = "Pearson chi-squared"
    YATES = "Yates chi-squared"
    FISHER = "Fisher exact"


@dataclass(frozen=True, slots=True)
class TestResult:
    """One test's outcome. `statistic` and `dof` are None for Fisher's exact test, which has no
    chi-squared statistic (its odds ratio is not comparable with the others' statistics)."""

    __test__: ClassVar[bool] = False  # a library class, not a pytest test class

    test: StatTest
    statistic: float | None
    dof: int | None
    p_value: float

    @property
    def label(self) -> str:
        """A table-cell note, e.g. 'Yates chi-squared, χ²(1) = 9.82, P = 0.0017'."""
        p = format_p(self.p_value, style="precise")
        if self.statistic is None or self.dof is None:
            return f"{self.test}, P = {p}"
        return f"{self.test}, χ²({self.dof}) = {self.statistic:.2f}, P = {p}"


def format_p(p: float, style: Literal["table", "precise"] = "table") -> str:
    """A P value as the paper prints it.

    "table": two decimals, "<0.01" below 0.01 (Tables 2-5: "0.17", "<0.01", "1.00").
    "precise": four decimals, "<0.0001" below 0.0001 (the text: "P = 0.0007", "P = 0.7985").
    """
    if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p):
        raise ValueError(f"p: must be a finite number, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: must be between 0 and 1, got {p!r}")
    if style == "table":
        return "<0.01" if p < 0.01 else f"{p:.2f}"
    if style == "precise":
        return "<0.0001" if p < 0.0001 else f"{p:.4f}"
    raise ValueError(f"style: must be 'table' or 'precise', got {style!r}")


def goodness_of_fit(counts: Sequence[int]) -> TestResult:
    """One-way chi-squared test of `counts` against equal expected counts.

    This is what the "P value" rows of Tables 2, 3 and 5 are (e.g. CIPN 21 responders vs 4
    nonresponders: χ² = 11.56, P = 0.0007): each column's categories against a uniform split.
    """
    values = _counts("counts", counts)
    if len(values) < 2:
        raise ValueError(f"counts: needs at least 2 categories, got {len(values)}")
    if sum(values) == 0:
        raise ValueError("counts: total must be above zero")
    res = _scipy_stats.chisquare(values)
    return _result(StatTest.GOODNESS_OF_FIT, float(res.statistic), len(values) - 1, res.pvalue)


def pearson(table: Sequence[Sequence[int]]) -> TestResult:
    """Pearson chi-squared test of independence on a 2x2 or r x c table, uncorrected."""
    rows = _table("table", table)
    return _chi2(rows, correction=False, test=StatTest.PEARSON)


def yates(table: Sequence[Sequence[int]]) -> TestResult:
    """Chi-squared test with Yates' continuity correction; 2x2 only, where it is defined.

    SciPy caps the correction at |observed - expected| so it never overshoots; R's chisq.test does
    the same, so results match R's default output.
    """
    rows = _table("table", table, two_by_two=True)
    return _chi2(rows, correction=True, test=StatTest.YATES)


def fisher(table: Sequence[Sequence[int]]) -> TestResult:
    """Two-sided Fisher's exact test on a 2x2 table. Zero margins are allowed (P is then 1)."""
    rows = _table("table", table, two_by_two=True)
    res = _scipy_stats.fisher_exact(rows, alternative="two-sided")
    return _result(StatTest.FISHER, None, None, res.pvalue)


def compare(
    table: Sequence[Sequence[int]],
    rule: Rule = "paper",
    *,
    min_subgroup: int = DEFAULT_MIN_SUBGROUP,
    correction: bool = True,
) -> TestResult:
    """Compare the groups in `table`'s rows by the named rule.

    Orientation: one row per subgroup being compared (e.g. SNRI users, non-users), one column per
    outcome (e.g. responders, nonresponders). Transposing a table can change the "paper" choice.

    rule="paper" reads the paper's "if subgroups had fewer than six patients, Fisher's exact test
    was applied" as: Fisher's exact test when ANY ROW TOTAL is below `min_subgroup`, otherwise a
    chi-squared test. Row totals, not cells or expected counts, because the paper's subgroups are
    groups of patients (the users of a drug within one etiology), and a cell is a subset of one.
    The chi-squared test is Yates-corrected on a 2x2 table unless `correction=False`, because that
    is what SciPy's chi2_contingency and R's chisq.test do by default, and it reproduces more of the
    printed comparisons (text: SNRIs P = 0.0017, TCAs P = 0.5681; Table 4: opioid CIPN 0.53,
    gabapentinoid CIPN 0.42 and postsurgical 0.20) than Pearson does (gabapentinoids P = 0.7985,
    opioid tumor compression 0.57). r x c tables use Pearson; a small subgroup in an r x c table is
    an error, since Fisher's exact test is 2x2 only here.

    The printed Table 4 does not follow this rule consistently (opioid tumor compression has a
    subgroup of 5 yet prints Pearson's 0.57), so a reproduction should name its test per cell.

    rule="pearson" | "yates" | "fisher" runs that test whatever the counts.
    """
    if rule not in _RULES:
        raise ValueError(f"rule: must be one of {', '.join(_RULES)}, got {rule!r}")
    if isinstance(min_subgroup, bool) or not isinstance(min_subgroup, int) or min_subgroup < 0:
        raise ValueError(f"min_subgroup: must be a non-negative integer, got {min_subgroup!r}")
    if rule == "pearson":
        return pearson(table)
    if rule == "yates":
        return yates(table)
    if rule == "fisher":
        return fisher(table)
    rows = _table("table", table)
    is_2x2 = len(rows) == 2 and len(rows[0]) == 2
    if any(sum(row) < min_subgroup for row in rows):
        if not is_2x2:
            raise ValueError(
                f"table: rule 'paper' needs Fisher's exact test for a subgroup under "
                f"{min_subgroup}, which is available for 2x2 tables only"
            )
        return fisher(rows)
    if is_2x2 and correction:
        return yates(rows)
    return pearson(rows)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for a proportion k/n, as (low, high).

    n = 0 is an error rather than (0, 1): an interval over no patients would look like a result in
    a table, and the caller should print "no patients" instead.
    """
    k_ = _count("k", k)
    n_ = _count("n", n)
    if n_ == 0:
        raise ValueError("n: must be at least 1; a proportion of no patients has no interval")
    if k_ > n_:
        raise ValueError(f"k: must not exceed n ({n_}), got {k_}")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0.0 < confidence < 1.0
    ):
        raise ValueError(f"confidence: must be strictly between 0 and 1, got {confidence!r}")
    # The exact interval's closed form as beta quantiles: the same bounds binomtest's
    # proportion_ci(method="exact") finds by root search, at a fraction of the cost (a report
    # computes hundreds of them).
    alpha = 1.0 - float(confidence)
    low = 0.0 if k_ == 0 else float(_scipy_stats.beta.ppf(alpha / 2, k_, n_ - k_ + 1))
    high = 1.0 if k_ == n_ else float(_scipy_stats.beta.ppf(1 - alpha / 2, k_ + 1, n_ - k_))
    return low, high


def _count(name: str, value: object) -> int:
    # bool is an Integral, but True as a patient count is a bug upstream, not a 1.
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name}: must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name}: must be a non-negative integer, got {value!r}")
    return int(value)


def _counts(name: str, values: Sequence[int]) -> list[int]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError(f"{name}: must be a sequence of counts, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"{name}: must not be empty")
    return [_count(f"{name}[{i}]", v) for i, v in enumerate(values)]


def _table(
    name: str, table: Sequence[Sequence[int]], *, two_by_two: bool = False
) -> list[list[int]]:
    if isinstance(table, str | bytes) or not isinstance(table, Sequence):
        raise ValueError(f"{name}: must be a sequence of rows, got {type(table).__name__}")
    if len(table) == 0:
        raise ValueError(f"{name}: must not be empty")
    rows = [_counts(f"{name}[{i}]", row) for i, row in enumerate(table)]
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ValueError(f"{name}: rows must all have the same length")
    if two_by_two and (len(rows) != 2 or width != 2):
        raise ValueError(f"{name}: must be 2x2, got {len(rows)}x{width}")
    if len(rows) < 2 or width < 2:
        raise ValueError(
            f"{name}: must have at least 2 rows and 2 columns, got {len(rows)}x{width}"
        )
    if sum(map(sum, rows)) == 0:
        raise ValueError(f"{name}: total must be above zero")
    return rows


def _chi2(rows: list[list[int]], *, correction: bool, test: StatTest) -> TestResult:
    # An empty row or column makes an expected count zero and the statistic undefined; SciPy would
    # raise its own message, which does not say which argument or rule.
    if any(sum(row) == 0 for row in rows) or any(sum(col) == 0 for col in zip(*rows, strict=True)):
        raise ValueError(
            f"table: {test} needs every row and column total above zero "
            "(Fisher's exact test allows empty margins)"
        )
    res = _scipy_stats.chi2_contingency(rows, correction=correction)
    return _result(test, float(res.statistic), int(res.dof), res.pvalue)


def _result(test: StatTest, statistic: float | None, dof: int | None, p: float) -> TestResult:
    # Floating-point sums can land a hair outside [0, 1]; a P value of 1.0000000000000002 would
    # fail format_p's range check for no real reason.
    p_value = min(1.0, max(0.0, float(p)))
    return TestResult(test=test, statistic=statistic, dof=dof, p_value=p_value)
