"""Odds ratios of response for users vs non-users of each adjuvant class (Table 4's comparison).

The estimate is SciPy's conditional maximum-likelihood odds ratio with its exact 95% interval
(`scipy.stats.contingency.odds_ratio(kind="conditional")`, the interval that inverts Fisher's
exact test). It needs no correction for a zero cell: a class whose users all (or none) responded
gets an estimate of infinity (or 0) and a one-sided interval, which the figure draws as an arrow
to the axis edge instead of inventing a finite value with a Haldane 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kip.outcomes.cells import Count, OutcomeTable
from kip.outcomes.tables import DRUG_ROWS

__all__ = ["OddsRatio", "adjuvant_odds_ratios", "odds_ratio_text"]


@dataclass(frozen=True, slots=True)
class OddsRatio:
    """Odds of response among users over odds among non-users of `label` in `column`."""

    label: str
    column: str
    users: tuple[int, int]
    """(responders, nonresponders) among users."""
    nonusers: tuple[int, int]
    estimate: float | None
    low: float | None
    high: float | None
    note: str


def _groups(t4: OutcomeTable, prefix: str, column: str) -> tuple[Count, Count] | None:
    users = t4.cell(f"{prefix}.responders_users", column)
    nonusers = t4.cell(f"{prefix}.responders_nonusers", column)
    if isinstance(users, Count) and isinstance(nonusers, Count):
        return users, nonusers
    return None


def _split(cell: Count) -> tuple[int, int]:
    return cell.count, cell.denominator_n - cell.count


def _estimate(users: tuple[int, int], nonusers: tuple[int, int]) -> tuple[float, float, float]:
    from scipy.stats.contingency import odds_ratio

    result = odds_ratio([list(users), list(nonusers)], kind="conditional")
    interval = result.confidence_interval(confidence_level=0.95)
    return float(result.statistic), float(interval.low), float(interval.high)


def adjuvant_odds_ratios(t4: OutcomeTable, column: str = "total") -> tuple[OddsRatio, ...]:
    """One odds ratio per Table 4 drug class; without an estimate where a group is empty."""
    ratios: list[OddsRatio] = []
    for prefix, _, label in DRUG_ROWS:
        groups = _groups(t4, prefix, column)
        if groups is None:
            continue
        users, nonusers = _split(groups[0]), _split(groups[1])
        if sum(users) == 0 or sum(nonusers) == 0:
            empty = "users" if sum(users) == 0 else "non-users"
            ratios.append(
                OddsRatio(label, column, users, nonusers, None, None, None, f"no {empty}")
            )
            continue
        if users[0] + nonusers[0] == 0 or users[1] + nonusers[1] == 0:
            # Nobody (or everybody) responded: the odds ratio is undefined, not 1.
            outcome = "responders" if users[0] + nonusers[0] == 0 else "nonresponders"
            ratios.append(
                OddsRatio(label, column, users, nonusers, None, None, None, f"no {outcome}")
            )
            continue
        estimate, low, high = _estimate(users, nonusers)
        ratios.append(OddsRatio(label, column, users, nonusers, estimate, low, high, ""))
    return tuple(ratios)


def _number(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:.2f}"


def odds_ratio_text(ratio: OddsRatio) -> str:
    """e.g. "4.86 (0.59 to 228.85)"; the reason when there is no estimate."""
    if ratio.estimate is None or ratio.low is None or ratio.high is None:
        return f"not estimable ({ratio.note})"
    return f"{_number(ratio.estimate)} ({_number(ratio.low)} to {_number(ratio.high)})"
