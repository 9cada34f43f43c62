"""The paper's own inconsistencies, as data: why a printed figure cannot be reproduced.

This is docs/published-figures.md ("The paper's internal inconsistencies") and the deviations of
docs/study-cohort.md in a form `kip reproduce` can apply: each entry names the printed figures it
accounts for (figure_id patterns of kip.outcomes.published). A mismatch that no entry names is
unexplained, which is the point: a change in kip that breaks a figure must not be excused by a
blanket rule.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "INCONSISTENCIES",
    "NOT_IN_DATASET",
    "NOT_PRINTED",
    "NO_TEST_REPRODUCES",
    "Inconsistency",
    "inconsistencies_for",
    "matches",
]


@dataclass(frozen=True, slots=True)
class Inconsistency:
    """One of the paper's disagreements; `number` is its item in docs/published-figures.md."""

    number: int
    summary: str
    figures: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"paper inconsistency {self.number}: {self.summary}"


INCONSISTENCIES: tuple[Inconsistency, ...] = (
    Inconsistency(
        1,
        "Table 4 opioid responders sum to 41, not Table 2's 42 (the column cells 6+9+6+2 sum "
        "to 23; 23 would be 69.7%)",
        (
            "T4.opioids.responders_users.total.*",
            "text.discussion.opioids.responders_users.total.percent",
        ),
    ),
    Inconsistency(
        2,
        "Table 4 prints 0 CIPN non-SNRI responders, but CIPN has 21 responders (Table 2), 6 on "
        "SNRIs, so 15; the non-SNRI total (16, 35.6%) and the SNRI P values follow the 0",
        (
            "T4.snris.responders_nonusers.cipn.count",
            "T4.snris.responders_nonusers.total.*",
            "T4.snris.p_value.cipn.p_value",
            "T4.snris.p_value.total.p_value",
            "text.results.adjuvant.snris.responders_nonusers.total.percent",
            "text.*.snris.total.p_value",
            "text.discussion.snris.cipn.p_value",
        ),
    ),
    Inconsistency(
        3,
        "Table 4 non-TCA responders print 18 (9+9 of two columns) over all 54 non-TCA "
        "patients; with no TCA responder all 42 responders are non-users; postsurgical "
        "9 (90.0) is 9/10, not 9/12",
        (
            "T4.tcas.responders_nonusers.total.*",
            "T4.tcas.responders_nonusers.postsurgical.percent",
        ),
    ),
    Inconsistency(
        4,
        "Table 4 gabapentinoid users by column sum to 33 and non-users to 24, but the totals "
        "print 32 and 25 (and the percents and P value follow the printed totals)",
        (
            "T4.gabapentinoids.users.total.*",
            "T4.gabapentinoids.nonusers.total.*",
            "T4.gabapentinoids.responders_users.total.percent",
            "T4.gabapentinoids.responders_nonusers.total.percent",
            "T4.gabapentinoids.p_value.total.p_value",
            "text.results.adjuvant.gabapentinoids.total.p_value",
        ),
    ),
    Inconsistency(
        5,
        "12 of 42 responders is printed 26.7%, which is 12/45 (12/42 is 28.6%)",
        (
            "T2.pae_limited.total.percent",
            "text.results.response.pae_limited.total.percent",
            "text.discussion.pae_limited.total.percent",
        ),
    ),
    Inconsistency(
        6,
        "the abstract's adverse events in 32 of 192 infusions (16.7%) contradict Table 5 and "
        "the Results (34 of 192, 17.7%)",
        ("text.abstract.ae_infusions.total.*",),
    ),
    Inconsistency(
        7,
        "TCA P value: the text's 0.5681 is Yates on the total counts; Table 4's total 0.31 "
        "equals the postsurgical cell's Fisher P",
        ("text.results.adjuvant.tcas.total.p_value", "T4.tcas.p_value.total.p_value"),
    ),
    Inconsistency(
        8,
        "CIPN pain/adverse event-limited 'four of 25 patients (19.0%)': 19.0% is 4 of 21 "
        "responders, as Table 2 has it",
        ("text.results.response.pae_limited.cipn.*", "text.discussion.pae_limited.cipn.*"),
    ),
    Inconsistency(
        9,
        "the P = 0.0003 printed beside the 12 pain/adverse event-limited patients is Table 2's "
        "responders vs nonresponders (42 vs 15) goodness-of-fit",
        ("text.results.response.pae_limited.total.p_value",),
    ),
    Inconsistency(
        10,
        "the Discussion's '16 of 45 patients (78.9%) not on SNRIs who were deemed "
        "nonresponders': Table 4 calls the 16 responders, and 78.9% is 45 of 57",
        ("text.discussion.snris.nonresponders_nonusers.total.*",),
    ),
    Inconsistency(
        11,
        "rounding slips in Table 4: 10/13 printed 77.0 (76.9), 8/11 printed 72.3 (72.7)",
        (
            "T4.snris.nonusers.postsurgical.percent",
            "T4.gabapentinoids.responders_nonusers.cipn.percent",
        ),
    ),
    Inconsistency(
        12,
        "the abstract's '71.8% of responders' is of the 39 responders with 2 or more "
        "infusions (of all 42 it would be 66.7%)",
        ("text.abstract.relief_gt_3wk.total.percent",),
    ),
    Inconsistency(
        13,
        "the Discussion cites Table 4 for Table 5's 17.7% and Table 3 for Table 4's SNRI "
        "comparison",
        ("text.discussion.any_ae_infusions.total.percent", "text.discussion.snris.total.p_value"),
    ),
    Inconsistency(
        14,
        "the opioid P value (0.9299 in the text, 0.93 in Table 4) reproduces from neither the "
        "printed counts nor the corrected ones by Pearson, Yates or Fisher",
        ("text.results.adjuvant.opioids.total.p_value", "T4.opioids.p_value.total.p_value"),
    ),
)

NOT_PRINTED: tuple[str, ...] = (
    "T1.compression_site.*.total.count",
    "T1.cipn_regimen.*.total.count",
    "T1.postsurgical_type.*.total.count",
    "T1.radiation_site.*.total.count",
    "T4.tcas.nonusers.cipn.count",
    "T4.tcas.nonusers.postradiation.count",
    "T4.tcas.responders_nonusers.cipn.count",
    "T4.tcas.responders_nonusers.postradiation.count",
)
"""Cells printed "–" that stand for "not reported", not for "no patients" (docs/study-cohort.md):
the paper left them out, and kip prints what the data hold."""

NO_TEST_REPRODUCES: tuple[str, ...] = (
    "T4.opioids.p_value.postsurgical.p_value",
    "T4.opioids.p_value.postradiation.p_value",
    "T4.opioids.p_value.total.p_value",
    "T4.snris.p_value.tumor_compression.p_value",
    "T4.snris.p_value.postsurgical.p_value",
    "T4.snris.p_value.postradiation.p_value",
    "T4.tcas.p_value.total.p_value",
    "T4.gabapentinoids.p_value.tumor_compression.p_value",
    "T4.gabapentinoids.p_value.postradiation.p_value",
    "text.results.adjuvant.opioids.total.p_value",
)
"""Printed P values that no test gives from the printed counts (docs/published-figures.md: 9 of
Table 4's 18, and the text's opioid 0.9299). Listed, so that a P value kip cannot trace back is
unexplained unless it was already found untraceable by hand."""

NOT_IN_DATASET: Mapping[str, str] = MappingProxyType(
    {
        "text.results.adverse.serious.total.count": (
            "the analysis dataset records no seriousness or hospitalization for an adverse "
            "event, so 'no serious adverse events requiring hospitalization' cannot be counted"
        ),
    }
)
"""Printed figures about something the analysis dataset does not record, with why."""


def matches(figure_id: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(figure_id, p) for p in patterns)


def inconsistencies_for(figure_id: str) -> tuple[Inconsistency, ...]:
    """The paper inconsistencies that name this printed figure."""
    return tuple(i for i in INCONSISTENCIES if matches(figure_id, i.figures))
