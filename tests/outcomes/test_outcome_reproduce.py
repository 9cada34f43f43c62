"""kip.outcomes.reproduce: every printed figure has a status, and every mismatch a reason."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from functools import cache

import pytest
from test_study_cohort import DEVIATIONS, TEXT_DEVIATIONS

from kip.outcomes import engines
from kip.outcomes.dataset import Row
from kip.outcomes.paper_errata import (
    INCONSISTENCIES,
    NO_TEST_REPRODUCES,
    NOT_IN_DATASET,
    NOT_PRINTED,
)
from kip.outcomes.published import Kind, by_id, load
from kip.outcomes.reproduce import FigureCheck, Reproduction, Status, reproduce
from kip.outcomes.tables import study_tables
from kip.synth.study import study_cohort


def _run(cohort: Mapping[str, Sequence[Row]] | None = None) -> Reproduction:
    con = engines.connect("duckdb://")
    tables = engines.load_dataset(con, cohort or study_cohort())
    return reproduce(study_tables(tables), engine="duckdb://")


@cache
def _study() -> Reproduction:
    return _run()


def _check(figure_id: str) -> FigureCheck:
    return next(c for c in _study().checks if c.figure_id == figure_id)


class TestEveryFigure:
    def test_one_check_per_published_figure_in_file_order(self) -> None:
        assert [c.figure_id for c in _study().checks] == [f.figure_id for f in load()]

    def test_every_figure_is_accounted_for(self) -> None:
        unexplained = [
            (c.figure_id, c.why) for c in _study().checks if c.status is Status.UNEXPLAINED
        ]
        assert unexplained == []
        assert _study().ok

    def test_every_mismatch_says_why(self) -> None:
        for check in _study().checks:
            if check.status is not Status.MATCH:
                assert check.why.strip(), check.figure_id

    def test_every_figure_except_the_unrecorded_is_recomputed(self) -> None:
        for check in _study().checks:
            if check.figure_id not in NOT_IN_DATASET:
                assert check.recomputed is not None and check.source is not None, check.figure_id

    def test_summary_adds_up(self) -> None:
        summary = _study().summary
        assert summary["figures"] == len(load()) == 994
        assert summary["match"] + summary["explained"] + summary["unexplained"] == 994
        assert summary["match"] > 900


class TestMismatchesAreThePapers:
    @pytest.mark.parametrize("figure_id", sorted(DEVIATIONS))
    def test_each_cohort_deviation_is_explained_with_its_value(self, figure_id: str) -> None:
        check = _check(figure_id)
        assert check.status is Status.EXPLAINED
        assert check.recomputed == DEVIATIONS[figure_id][0]

    @pytest.mark.parametrize("figure_id", sorted(TEXT_DEVIATIONS))
    def test_each_text_deviation_is_explained(self, figure_id: str) -> None:
        check = _check(figure_id)
        assert check.status is Status.EXPLAINED
        assert check.recomputed == str(TEXT_DEVIATIONS[figure_id][0])

    def test_non_p_mismatches_are_exactly_the_documented_ones(self) -> None:
        documented = set(DEVIATIONS) | set(TEXT_DEVIATIONS) | set(NOT_IN_DATASET)
        text_repeats = {  # text figures that repeat a deviating table cell
            "text.results.response.pae_limited.total.percent",
            "text.discussion.pae_limited.total.percent",
            "text.abstract.ae_infusions.total.percent",
            "text.results.adjuvant.snris.responders_nonusers.total.percent",
            "text.discussion.snris.nonresponders_nonusers.total.count",
            "text.discussion.snris.nonresponders_nonusers.total.percent",
            "text.discussion.opioids.responders_users.total.percent",
        }
        mismatched = {
            c.figure_id
            for c in _study().checks
            if c.status is not Status.MATCH and c.figure.kind is not Kind.P_VALUE
        }
        assert mismatched == documented | text_repeats


# docs/published-figures.md, "Where the printed P values come from": the test that gives each
# printed Table 4 P value from the printed counts ("none" = no test does).
TABLE_4_PRINTED_TESTS = {
    ("opioids", "tumor_compression"): "Pearson",
    ("opioids", "cipn"): "Yates",
    ("opioids", "postsurgical"): "none",
    ("opioids", "postradiation"): "none",
    ("opioids", "total"): "none",
    ("snris", "tumor_compression"): "none",
    ("snris", "cipn"): "Pearson, Yates, Fisher",
    ("snris", "postsurgical"): "none",
    ("snris", "postradiation"): "none",
    ("snris", "total"): "Pearson, Yates, Fisher",
    ("tcas", "tumor_compression"): "Fisher",
    ("tcas", "postsurgical"): "Fisher",
    ("tcas", "total"): "none",
    ("gabapentinoids", "tumor_compression"): "none",
    ("gabapentinoids", "cipn"): "Yates",
    ("gabapentinoids", "postsurgical"): "Yates",
    ("gabapentinoids", "postradiation"): "none",
    ("gabapentinoids", "total"): "Pearson",
}


class TestPValues:
    @pytest.mark.parametrize("cell", sorted(TABLE_4_PRINTED_TESTS), ids=".".join)
    def test_table_4_mismatch_names_the_documented_test(self, cell: tuple[str, str]) -> None:
        check = _check(f"T4.{cell[0]}.p_value.{cell[1]}.p_value")
        test = TABLE_4_PRINTED_TESTS[cell]
        if check.status is Status.MATCH:
            # kip's own rule landed on the printed test (CIPN opioids and gabapentinoids: Yates;
            # TCA tumor compression and postsurgical: Fisher).
            assert test in ("Yates", "Fisher")
            return
        assert check.status is Status.EXPLAINED
        if test == "none":
            assert check.why.startswith("no test gives"), check.why
        else:
            assert check.why.startswith(f"{test} on the printed counts"), check.why

    def test_text_p_values_traced(self) -> None:
        assert _check("text.results.adjuvant.snris.total.p_value").why.startswith("Yates")
        assert _check("text.results.adjuvant.gabapentinoids.total.p_value").why.startswith(
            "Pearson"
        )
        assert _check("text.results.adjuvant.tcas.total.p_value").why.startswith("Yates")
        assert _check("text.results.response.responders.cipn.p_value").status is Status.MATCH

    def test_untraceable_list_is_not_stale(self) -> None:
        # Each listed P value is a mismatch no test reproduces; a listed one that now matches
        # or traces to a test should leave the list.
        for figure_id in NO_TEST_REPRODUCES:
            check = _check(figure_id)
            assert check.status is Status.EXPLAINED, figure_id
            assert check.why.startswith("no test gives"), figure_id


class TestErrataList:
    def test_numbers_follow_the_docs(self) -> None:
        assert [i.number for i in INCONSISTENCIES] == list(range(1, 15))

    def test_every_pattern_names_a_published_figure(self) -> None:
        ids = list(by_id())
        patterns = [p for i in INCONSISTENCIES for p in i.figures]
        patterns += [*NOT_PRINTED, *NO_TEST_REPRODUCES, *NOT_IN_DATASET]
        for pattern in patterns:
            assert fnmatch.filter(ids, pattern), pattern


class TestUnexplainedIsPossible:
    def test_a_changed_cohort_leaves_figures_unexplained(self) -> None:
        cohort = study_cohort()
        patients = [dict(p) for p in cohort["patients"]]
        first = next(p for p in patients if p["etiology"] == "cipn" and p["sex"] == "female")
        first["sex"] = "male"
        cohort = {**cohort, "patients": patients}
        result = _run(cohort)
        unexplained = {c.figure_id for c in result.checks if c.status is Status.UNEXPLAINED}
        assert "T1.sex.male.cipn.count" in unexplained
        assert not result.ok
