"""kip.outcomes.stats against the P values the paper printed (reference.md, "The study")."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from kip.outcomes.stats import (
    StatTest,
    TestResult,
    clopper_pearson,
    compare,
    fisher,
    format_p,
    goodness_of_fit,
    pearson,
    yates,
)

# --- the published values ------------------------------------------------------------------------


def test_cipn_responders_goodness_of_fit() -> None:
    # Text: "Twenty-one of 25 patients with CIPN (84.0%, P = 0.0007) responded"; Table 2 "<0.01".
    result = goodness_of_fit([21, 4])
    assert result.test is StatTest.GOODNESS_OF_FIT
    assert result.statistic == pytest.approx(11.56)
    assert result.dof == 1
    assert format_p(result.p_value, style="precise") == "0.0007"
    assert format_p(result.p_value) == "<0.01"


def test_postradiation_responders_goodness_of_fit() -> None:
    # Table 2, postradiation: 3 responders, 3 nonresponders, P 1.00.
    result = goodness_of_fit([3, 3])
    assert result.statistic == 0.0
    assert result.p_value == 1.0
    assert format_p(result.p_value) == "1.00"


def test_table3_tumor_compression_goodness_of_fit() -> None:
    # Table 3, tumor compression: <2 weeks 3, 2-3 weeks 1, >=3 weeks 5, P 0.26.
    result = goodness_of_fit([3, 1, 5])
    assert result.dof == 2
    assert result.p_value == pytest.approx(0.2636, abs=1e-4)
    assert format_p(result.p_value) == "0.26"


def test_table5_postradiation_adverse_events_goodness_of_fit() -> None:
    # Table 5, postradiation: AE yes 0, no 6 gives 0.014; the paper prints 0.01.
    result = goodness_of_fit([0, 6])
    assert result.p_value == pytest.approx(0.0143, abs=1e-4)
    assert format_p(result.p_value) == "0.01"


def test_gabapentinoid_total_is_uncorrected_pearson() -> None:
    # Text: gabapentinoids P = 0.7985. Users: 24 of 32 responders; non-users: 18 of 25.
    table = [[24, 32 - 24], [18, 25 - 18]]
    result = pearson(table)
    assert result.test is StatTest.PEARSON
    assert result.dof == 1
    assert format_p(result.p_value, style="precise") == "0.7985"
    assert format_p(result.p_value) == "0.80"  # Table 4
    # The corrected test does not give the printed figure: it is Pearson's, not Yates'.
    assert format_p(yates(table).p_value, style="precise") != "0.7985"


def test_snri_total_is_yates() -> None:
    # Text: SNRI users 11 of 12 responders vs non-users 16 of 45, P = 0.0017.
    table = [[11, 1], [16, 45 - 16]]
    result = yates(table)
    assert result.test is StatTest.YATES
    assert result.statistic == pytest.approx(9.8193, abs=1e-4)
    assert format_p(result.p_value, style="precise") == "0.0017"
    assert format_p(pearson(table).p_value, style="precise") != "0.0017"


def test_opioid_tumor_compression_is_uncorrected_pearson() -> None:
    # Table 4, tumor compression: opioid users 6 of 8 responders, non-users 3 of 5, P 0.57.
    table = [[6, 2], [3, 2]]
    assert format_p(pearson(table).p_value) == "0.57"
    assert format_p(yates(table).p_value) == "1.00"
    assert format_p(fisher(table).p_value) == "1.00"


def test_tca_cells_that_reproduce_are_fisher() -> None:
    # Table 4 TCAs: tumor compression 0/2 vs 9/11 prints 0.08, postsurgical 0/1 vs 9/12 prints 0.31.
    assert format_p(fisher([[0, 2], [9, 2]]).p_value) == "0.08"
    assert format_p(fisher([[0, 1], [9, 3]]).p_value) == "0.31"


def test_clopper_pearson_42_of_57_against_the_binomial_tails_by_hand() -> None:
    low, high = clopper_pearson(42, 57)

    # The exact interval is defined by its tails: P(X >= 42 | low) = P(X <= 42 | high) = 0.025.
    # Summing the binomial terms directly checks it without SciPy's binomial code.
    def pmf(i: int, p: float) -> float:
        return math.comb(57, i) * p**i * (1 - p) ** (57 - i)

    upper_tail_at_low = sum(pmf(i, low) for i in range(42, 58))
    lower_tail_at_high = sum(pmf(i, high) for i in range(0, 43))
    assert upper_tail_at_low == pytest.approx(0.025, abs=1e-9)
    assert lower_tail_at_high == pytest.approx(0.025, abs=1e-9)
    # The same bounds as beta quantiles, the textbook closed form.
    assert low == pytest.approx(scipy_stats.beta.ppf(0.025, 42, 57 - 42 + 1), abs=1e-9)
    assert high == pytest.approx(scipy_stats.beta.ppf(0.975, 42 + 1, 57 - 42), abs=1e-9)
    assert (round(low, 4), round(high, 4)) == (0.6034, 0.8446)


# --- the paper's rule ----------------------------------------------------------------------------


def test_compare_paper_rule_uses_yates_for_large_subgroups() -> None:
    result = compare([[11, 1], [16, 29]])
    assert result.test is StatTest.YATES
    assert format_p(result.p_value, style="precise") == "0.0017"


def test_compare_paper_rule_uses_fisher_below_six_in_a_row() -> None:
    # Non-opioid tumor compression patients number 5, so the rule picks Fisher, although the paper
    # printed Pearson's 0.57 for this cell: the rule as written is not what Table 4 did.
    result = compare([[6, 2], [3, 2]])
    assert result.test is StatTest.FISHER
    assert format_p(result.p_value) == "1.00"


def test_compare_threshold_and_correction_are_parameters() -> None:
    table = [[6, 2], [3, 2]]
    assert compare(table, min_subgroup=5).test is StatTest.YATES
    assert compare(table, min_subgroup=5, correction=False).test is StatTest.PEARSON
    assert compare([[24, 8], [18, 7]], correction=False).p_value == pytest.approx(0.7985, abs=5e-5)
    assert compare([[6, 0], [6, 0]], min_subgroup=7).test is StatTest.FISHER


def test_compare_subgroup_means_row_total_not_cell() -> None:
    # Cells of 1 and 2 but every row holds 6 patients or more: still chi-squared.
    assert compare([[5, 1], [4, 2]]).test is StatTest.YATES
    # Transposed, the second row holds 3 patients: Fisher.
    assert compare([[5, 4], [1, 2]]).test is StatTest.FISHER


def test_compare_named_rules_run_that_test() -> None:
    table = [[6, 2], [3, 2]]
    assert compare(table, "pearson") == pearson(table)
    assert compare(table, "yates") == yates(table)
    assert compare(table, "fisher") == fisher(table)


def test_compare_r_by_c_uses_pearson() -> None:
    result = compare([[10, 8, 7], [6, 9, 12]])
    assert result.test is StatTest.PEARSON
    assert result.dof == 2


def test_compare_r_by_c_with_small_subgroup_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^table: rule 'paper'"):
        compare([[1, 2, 1], [6, 9, 12]])


def test_compare_unknown_rule() -> None:
    with pytest.raises(ValueError, match=r"^rule: "):
        compare([[1, 2], [3, 4]], "cochran")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_compare_bad_threshold(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^min_subgroup: "):
        compare([[1, 2], [3, 4]], min_subgroup=bad)  # type: ignore[arg-type]


# --- results and labels --------------------------------------------------------------------------


def test_result_is_frozen() -> None:
    result = goodness_of_fit([21, 4])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 0.5  # type: ignore[misc]


def test_labels_name_the_test() -> None:
    assert (
        goodness_of_fit([21, 4]).label == "chi-squared goodness-of-fit, χ²(1) = 11.56, P = 0.0007"
    )
    assert yates([[11, 1], [16, 29]]).label == "Yates chi-squared, χ²(1) = 9.82, P = 0.0017"
    assert pearson([[24, 8], [18, 7]]).label == "Pearson chi-squared, χ²(1) = 0.07, P = 0.7985"
    assert fisher([[0, 2], [9, 2]]).label == "Fisher exact, P = 0.0769"


def test_fisher_has_no_chi_squared_statistic() -> None:
    result = fisher([[0, 2], [9, 2]])
    assert (result.statistic, result.dof) == (None, None)


def test_fisher_allows_empty_margins() -> None:
    assert fisher([[0, 0], [3, 4]]).p_value == 1.0
    assert fisher([[3, 0], [4, 0]]).p_value == 1.0


def test_test_names_are_the_documented_strings() -> None:
    assert [t.value for t in StatTest] == [
        "chi-squared goodness-of-fit",
        "Pearson chi-squared",
        "Yates chi-squared",
        "Fisher exact",
    ]


# --- format_p ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "table", "precise"),
    [
        (0.0006738585, "<0.01", "0.0007"),
        (0.000349, "<0.01", "0.0003"),
        (0.00001, "<0.01", "<0.0001"),
        (0.0, "<0.01", "<0.0001"),
        (0.00999, "<0.01", "0.0100"),
        (0.01, "0.01", "0.0100"),
        (0.1655, "0.17", "0.1655"),
        (0.7985447, "0.80", "0.7985"),
        (0.9299, "0.93", "0.9299"),
        (1.0, "1.00", "1.0000"),
        (1, "1.00", "1.0000"),
    ],
)
def test_format_p(p: float, table: str, precise: str) -> None:
    assert format_p(p) == table
    assert format_p(p, style="table") == table
    assert format_p(p, style="precise") == precise


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf, "0.5", None, True])
def test_format_p_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^p: "):
        format_p(bad)  # type: ignore[arg-type]


def test_format_p_unknown_style() -> None:
    with pytest.raises(ValueError, match=r"^style: "):
        format_p(0.5, style="apa")  # type: ignore[arg-type]


# --- input validation ----------------------------------------------------------------------------

TableTest = Callable[[Sequence[Sequence[int]]], TestResult]
TABLE_TESTS: list[TableTest] = [pearson, yates, fisher, compare]


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ([], r"^counts: must not be empty"),
        ([5], r"^counts: needs at least 2 categories"),
        ([3, -1], r"^counts\[1\]: must be a non-negative integer"),
        ([3, 1.5], r"^counts\[1\]: must be a non-negative integer"),
        ([True, 3], r"^counts\[0\]: must be a non-negative integer"),
        ([0, 0], r"^counts: total must be above zero"),
        ("21", r"^counts: must be a sequence"),
    ],
)
def test_goodness_of_fit_rejects(counts: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        goodness_of_fit(counts)  # type: ignore[arg-type]


@pytest.mark.parametrize("run", TABLE_TESTS)
@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([], r"^table: must not be empty"),
        ([[1, 2], [3, -4]], r"^table\[1\]\[1\]: must be a non-negative integer"),
        ([[1, 2], [3]], r"^table: rows must all have the same length"),
        ([[1, 2]], r"^table: must (be 2x2|have at least 2 rows)"),
        ([[1], [2]], r"^table: must (be 2x2|have at least 2 rows)"),
        ([[0, 0], [0, 0]], r"^table: total must be above zero"),
        ([[1, 2], []], r"^table\[1\]: must not be empty"),
        ([1, 2], r"^table\[0\]: must be a sequence"),
    ],
)
def test_tables_rejected_by_every_test(run: TableTest, table: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run(table)  # type: ignore[arg-type]


@pytest.mark.parametrize("run", [yates, fisher])
def test_two_by_two_only(run: TableTest) -> None:
    with pytest.raises(ValueError, match=r"^table: must be 2x2, got 2x3"):
        run([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match=r"^table: must be 2x2, got 3x2"):
        run([[1, 2], [3, 4], [5, 6]])


@pytest.mark.parametrize("run", [pearson, yates])
def test_chi_squared_needs_non_empty_margins(run: TableTest) -> None:
    with pytest.raises(ValueError, match=r"^table: .* needs every row and column total above zero"):
        run([[3, 0], [4, 0]])
    with pytest.raises(ValueError, match=r"^table: .* needs every row and column total above zero"):
        run([[0, 0], [4, 5]])


@pytest.mark.parametrize(
    ("k", "n", "confidence", "message"),
    [
        (0, 0, 0.95, r"^n: must be at least 1"),
        (5, 4, 0.95, r"^k: must not exceed n"),
        (-1, 4, 0.95, r"^k: must be a non-negative integer"),
        (1, -4, 0.95, r"^n: must be a non-negative integer"),
        (1.0, 4, 0.95, r"^k: must be a non-negative integer"),
        (1, 4, 1.0, r"^confidence: must be strictly between 0 and 1"),
        (1, 4, 0.0, r"^confidence: must be strictly between 0 and 1"),
        (1, 4, 95, r"^confidence: must be strictly between 0 and 1"),
    ],
)
def test_clopper_pearson_rejects(k: object, n: object, confidence: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clopper_pearson(k, n, confidence)  # type: ignore[arg-type]


def test_clopper_pearson_edges() -> None:
    assert clopper_pearson(0, 10)[0] == 0.0
    assert clopper_pearson(10, 10)[1] == 1.0
    low, high = clopper_pearson(0, 1)
    assert low == 0.0
    assert high == pytest.approx(0.975)


# --- properties ----------------------------------------------------------------------------------

counts_st = st.lists(st.integers(0, 300), min_size=2, max_size=6).filter(lambda c: sum(c) > 0)
row_st = st.tuples(st.integers(0, 60), st.integers(0, 60))
two_by_two_st = st.tuples(row_st, row_st).map(lambda rows: [list(r) for r in rows])


def _margins_positive(table: list[list[int]]) -> bool:
    return all(sum(r) > 0 for r in table) and all(sum(c) > 0 for c in zip(*table, strict=True))


@given(counts_st)
def test_goodness_of_fit_p_in_unit_interval(counts: list[int]) -> None:
    result = goodness_of_fit(counts)
    assert 0.0 <= result.p_value <= 1.0
    assert result.dof == len(counts) - 1
    format_p(result.p_value)


@given(two_by_two_st.filter(_margins_positive))
def test_table_tests_p_in_unit_interval(table: list[list[int]]) -> None:
    for run in TABLE_TESTS:
        result = run(table)
        assert 0.0 <= result.p_value <= 1.0
        format_p(result.p_value, style="precise")


@given(two_by_two_st.filter(lambda t: sum(map(sum, t)) > 0))
def test_fisher_p_in_unit_interval_for_any_non_empty_table(table: list[list[int]]) -> None:
    assert 0.0 <= fisher(table).p_value <= 1.0


@given(
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(0.5, 0.99),
    st.floats(0.5, 0.99),
)
def test_clopper_pearson_contains_estimate_and_widens(
    kn: tuple[int, int], c1: float, c2: float
) -> None:
    k, n = kn
    narrow, wide = sorted((c1, c2))
    low_n, high_n = clopper_pearson(k, n, narrow)
    low_w, high_w = clopper_pearson(k, n, wide)
    assert 0.0 <= low_n <= k / n <= high_n <= 1.0
    assert low_w <= low_n + 1e-12
    assert high_w >= high_n - 1e-12


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_equals_scipy_root_search(confidence: float) -> None:
    from scipy.stats import binomtest

    for n in (1, 2, 6, 13, 57, 192):
        for k in range(n + 1):
            expected = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
            low, high = clopper_pearson(k, n, confidence)
            assert low == pytest.approx(expected.low, abs=1e-9)
            assert high == pytest.approx(expected.high, abs=1e-9)
