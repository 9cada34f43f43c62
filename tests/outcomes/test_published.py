"""The published-figures file: it loads, it is complete, and the paper's arithmetic is recorded.

Checks come in two kinds. Consistency checks assert the arithmetic that holds (columns add up,
percents match their counts). The `TestPaperInconsistencies` class pins the places where the paper
disagrees with itself, so a reproduction that "fails" there is measured against a recorded fact,
not a surprise. docs/published-figures.md lists the same inconsistencies in prose.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

import pytest

from kip.outcomes import published
from kip.outcomes.published import (
    BLANK,
    COLUMNS,
    DENOMINATORS,
    FIELDS,
    TABLES,
    Column,
    Kind,
    PublishedDataError,
    PublishedFigure,
    by_id,
    load,
    parse,
    select,
)
from kip.outcomes.stats import fisher, format_p, goodness_of_fit, pearson, yates

ETIOLOGIES = ("tumor_compression", "cipn", "postsurgical", "postradiation")
ALL_COLUMNS = (*ETIOLOGIES, "total")
FIG = by_id()


def fig(figure_id: str) -> PublishedFigure:
    return FIG[figure_id]


def val(figure_id: str) -> int:
    return fig(figure_id).integer


def counts(table: str, row: str, columns: tuple[str, ...] = ETIOLOGIES) -> list[int]:
    """Counts along a row; Tables 1, 4 and 5 print "–" for no patients, read here as 0."""
    out = []
    for column in columns:
        f = fig(f"{table}.{row}.{column}.count")
        out.append(0 if f.is_blank else f.integer)
    return out


def pct(k: int, n: int) -> str:
    # The paper rounds half up: 2 of 32 infusions prints 6.3, where round-half-even gives 6.2.
    return str((Decimal(100 * k) / Decimal(n)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- the file ------------------------------------------------------------------------------------


def test_file_ships_as_package_data() -> None:
    resource = resources.files("kip.outcomes") / "published" / published.PUBLISHED_FILE
    assert resource.is_file()
    assert resource.read_text(encoding="utf-8").startswith(",".join(FIELDS) + "\n")


def test_loads_every_figure() -> None:
    figures = load()
    assert len(figures) == 994
    assert {f.table for f in figures} == set(TABLES)
    assert load() is figures  # parsed once per process


def test_ids_unique_and_derived() -> None:
    figures = load()
    assert len({f.figure_id for f in figures}) == len(figures)
    for f in figures:
        assert f.figure_id == f"{f.table}.{f.row}.{f.column.value}.{f.kind.value}"


def test_known_vocabularies() -> None:
    for f in load():
        assert f.column.value in COLUMNS
        assert f.kind in set(Kind)
        assert f.denominator in DENOMINATORS
        assert f.source_text


def test_every_table_row_has_all_five_columns() -> None:
    rows: dict[tuple[str, str, Kind], set[str]] = {}
    for f in load():
        if f.table != "text" and f.kind is not Kind.PERCENT:
            rows.setdefault((f.table, f.row, f.kind), set()).add(f.column.value)
    assert rows
    for key, columns in rows.items():
        assert columns == set(ALL_COLUMNS), key


def test_table_sizes() -> None:
    tables = {t: len({f.row for f in load() if f.table == t}) for t in TABLES if t != "text"}
    # Table 1 prints 51 data rows: total, age, 2 genders, 16 cancers, 2 metastases, 3 compression
    # sites, 20 CIPN regimens, 4 postsurgical types, 2 radiation sites. Table 4's "users/non-users"
    # cells are two rows each here, so its 4 drug blocks of 4 printed rows are 20 rows, plus total.
    assert tables == {"T1": 51, "T2": 5, "T3": 5, "T4": 21, "T5": 18, "T6": 13}


def test_record_helpers() -> None:
    assert fig("T2.responders.cipn.count").integer == 21
    assert fig("T2.responders.cipn.percent").number == 84.0
    assert fig("T2.p_value.cipn.p_value").number is None
    assert fig("T2.p_value.cipn.p_value").upper_bound == 0.01
    assert fig("text.results.response.responders.cipn.p_value").number == 0.0007
    dash = fig("T1.cancer.breast.postradiation.count")
    assert dash.is_blank and dash.value == BLANK and dash.number is None
    with pytest.raises(ValueError, match="is not a printed count"):
        _ = dash.integer
    with pytest.raises(ValueError, match="is not a printed count"):
        _ = fig("T2.responders.cipn.percent").integer
    assert fig("T2.responders.cipn.count").column is Column.CIPN


def test_select() -> None:
    responders = select(table="T2", row="responders", kind="count")
    assert [f.column.value for f in responders] == list(ALL_COLUMNS)
    assert select(load()[:3], table="T1") == load()[:3]
    assert select(table="T9") == ()


def test_p_values_normalised_without_spaces() -> None:
    # Table 4 prints "< 0.01"; the file stores "<0.01" so values compare with format_p's output.
    assert fig("T4.snris.p_value.total.p_value").value == "<0.01"


# --- validation ----------------------------------------------------------------------------------

HEADER = ",".join(FIELDS)
GOOD = "T2.responders.cipn.count,T2,responders,cipn,count,21,patients,25,Table 2"


def _parse(*lines: str) -> tuple[PublishedFigure, ...]:
    return parse("\n".join([HEADER, *lines]) + "\n", "x.csv")


def test_parse_good_line() -> None:
    (figure,) = _parse(GOOD)
    assert figure == PublishedFigure(
        figure_id="T2.responders.cipn.count",
        table="T2",
        row="responders",
        column=Column.CIPN,
        kind=Kind.COUNT,
        value="21",
        denominator="patients",
        denominator_n=25,
        source_text="Table 2",
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (GOOD.replace(",cipn,", ",CIPN,"), r"x\.csv:2: column: must be one of"),
        (GOOD.replace(",count,", ",number,"), r"x\.csv:2: kind: must be one of"),
        (GOOD.replace(",T2,", ",T7,"), r"x\.csv:2: table: must be one of"),
        (GOOD.replace(",responders,", ",Responders,"), r"x\.csv:2: row: must be dotted"),
        (GOOD.replace("T2.responders.cipn.count", "T2.resp.cipn"), r"x\.csv:2: figure_id: must be"),
        (GOOD.replace(",21,", ",21.0,"), r"x\.csv:2: value: '21\.0' is not a printed count"),
        (GOOD.replace(",patients,", ",people,"), r"x\.csv:2: denominator: must be one of"),
        (GOOD.replace(",patients,25,", ",-,,"), r"x\.csv:2: denominator: a count needs"),
        (GOOD.replace(",25,", ",,"), r"x\.csv:2: denominator_n: needed with denominator"),
        (GOOD.replace(",25,", ",2.5,"), r"x\.csv:2: denominator_n: must be a non-negative"),
        (GOOD.replace(",Table 2", ","), r"x\.csv:2: source_text: must not be empty"),
        (GOOD.replace(",Table 2", ", Table 2"), r"x\.csv:2: source_text: must not start or end"),
        (GOOD + ",extra", r"x\.csv:2: row: must have 9 fields"),
        (
            "T2.p_value.cipn.p_value,T2,p_value,cipn,p_value,0.5,patients,25,Table 2",
            r"x\.csv:2: denominator: a p_value takes denominator '-'",
        ),
        (
            "T2.p_value.cipn.p_value,T2,p_value,cipn,p_value,< 0.01,-,,Table 2",
            r"x\.csv:2: value: '< 0\.01' is not a printed p_value",
        ),
        (
            "T2.p.cipn.percent,T2,p,cipn,percent,84,patients,25,Table 2",
            r"x\.csv:2: value: '84' is not a printed percent",
        ),
    ],
)
def test_parse_rejects(line: str, message: str) -> None:
    with pytest.raises(PublishedDataError, match=message):
        _parse(line)


def test_parse_rejects_duplicate_ids() -> None:
    with pytest.raises(PublishedDataError, match=r"x\.csv:3: figure_id: .* already used on line 2"):
        _parse(GOOD, GOOD)


def test_parse_rejects_bad_header_and_empty_file() -> None:
    with pytest.raises(PublishedDataError, match=r"x\.csv:1: header: must be"):
        parse("id,value\n", "x.csv")
    with pytest.raises(PublishedDataError, match=r"x\.csv:1: header: must be"):
        parse("", "x.csv")
    with pytest.raises(PublishedDataError, match=r"x\.csv: holds no figures"):
        parse(HEADER + "\n", "x.csv")


def test_error_is_a_value_error() -> None:
    assert issubclass(PublishedDataError, ValueError)


# --- consistency that holds ----------------------------------------------------------------------


def test_group_sizes_sum_and_agree_across_tables() -> None:
    sizes = [val(f"T1.patients.{c}.n") for c in ETIOLOGIES]
    assert sizes == [13, 25, 13, 6]
    assert sum(sizes) == val("T1.patients.total.n") == 57
    for table in ("T2", "T4", "T5"):
        assert [val(f"{table}.patients.{c}.n") for c in ALL_COLUMNS] == [*sizes, 57]
    assert [val(f"text.abstract.patients.{c}.n") for c in ETIOLOGIES] == sizes
    assert [val(f"text.results.demographics.patients.{c}.n") for c in ETIOLOGIES] == sizes


@pytest.mark.parametrize(
    "block",
    [
        ("sex.male", "sex.female"),
        ("metastases.yes", "metastases.no"),
        tuple(
            f.row
            for f in select(table="T1", column="total", kind="count")
            if f.row[:7] == "cancer."
        ),
    ],
)
def test_table1_blocks_sum_to_column_sizes(block: tuple[str, ...]) -> None:
    for column in ALL_COLUMNS:
        assert sum(counts("T1", row, (column,))[0] for row in block) == val(
            f"T1.patients.{column}.n"
        )
    for row in block:
        assert sum(counts("T1", row)) == counts("T1", row, ("total",))[0]


@pytest.mark.parametrize(
    ("prefix", "column"),
    [
        ("compression_site.", "tumor_compression"),
        ("cipn_regimen.", "cipn"),
        ("postsurgical_type.", "postsurgical"),
        ("radiation_site.", "postradiation"),
    ],
)
def test_table1_etiology_details_sum_to_their_column(prefix: str, column: str) -> None:
    rows = {f.row for f in select(table="T1") if f.row.startswith(prefix)}
    assert sum(val(f"T1.{row}.{column}.count") for row in rows) == val(f"T1.patients.{column}.n")


def test_table1_age_means_and_sds_pool_to_the_total() -> None:
    n = [val(f"T1.patients.{c}.n") for c in ETIOLOGIES]
    mean = [fig(f"T1.age_years.{c}.mean").number or 0.0 for c in ETIOLOGIES]
    sd = [fig(f"T1.age_years.{c}.sd").number or 0.0 for c in ETIOLOGIES]
    total = sum(n)
    grand = sum(k * m for k, m in zip(n, mean, strict=True)) / total
    within = sum((k - 1) * s * s for k, s in zip(n, sd, strict=True))
    between = sum(k * (m - grand) ** 2 for k, m in zip(n, mean, strict=True))
    assert f"{grand:.2f}" == fig("T1.age_years.total.mean").value == "52.23"
    assert (
        f"{math.sqrt((within + between) / (total - 1)):.2f}" == fig("T1.age_years.total.sd").value
    )


def test_table2_adds_up() -> None:
    responders = counts("T2", "responders")
    assert responders == [9, 21, 9, 3]
    assert sum(responders) == val("T2.responders.total.count") == 42
    assert sum(counts("T2", "nonresponders")) == val("T2.nonresponders.total.count") == 15
    assert sum(counts("T2", "pae_limited")) == val("T2.pae_limited.total.count") == 12
    for column in ALL_COLUMNS:
        assert val(f"T2.responders.{column}.count") + val(
            f"T2.nonresponders.{column}.count"
        ) == val(f"T2.patients.{column}.n")


def test_table3_adds_up() -> None:
    for column in ALL_COLUMNS:
        durations = (
            counts("T3", "relief_lt_2wk", (column,))[0]
            + counts("T3", "relief_2_3wk", (column,))[0]
            + counts("T3", "relief_ge_3wk", (column,))[0]
        )
        assert durations == val(f"T3.responders_ge2_infusions.{column}.count")
        assert val(f"T3.responders_ge2_infusions.{column}.count") <= val(
            f"T2.responders.{column}.count"
        )
    for row in ("relief_lt_2wk", "relief_2_3wk", "relief_ge_3wk", "responders_ge2_infusions"):
        assert sum(counts("T3", row)) == val(f"T3.{row}.total.count")
    assert val("T3.responders_ge2_infusions.total.count") == 39


def test_table4_users_and_nonusers_make_up_each_column() -> None:
    for drug in ("opioids", "snris", "tcas", "gabapentinoids"):
        for column in ALL_COLUMNS:
            users = fig(f"T4.{drug}.users.{column}.count")
            if users.is_blank:
                continue
            nonusers = val(f"T4.{drug}.nonusers.{column}.count")
            assert users.integer + nonusers == val(f"T4.patients.{column}.n"), (drug, column)


def test_table4_gabapentinoid_responders_match_table2() -> None:
    # The one drug block whose responder counts agree with Table 2 in every column.
    for column in ALL_COLUMNS:
        assert val(f"T4.gabapentinoids.responders_users.{column}.count") + val(
            f"T4.gabapentinoids.responders_nonusers.{column}.count"
        ) == val(f"T2.responders.{column}.count")


def test_table5_adds_up() -> None:
    infusions = [val(f"T5.infusions.{c}.n") for c in ETIOLOGIES]
    assert sum(infusions) == val("T5.infusions.total.n") == 192
    for column in ALL_COLUMNS:
        assert val(f"T5.any_ae.yes.{column}.count") + val(f"T5.any_ae.no.{column}.count") == val(
            f"T5.patients.{column}.n"
        )
        types = [f.row for f in select(table="T5", column=column, kind="count")]
        kinds = [r for r in types if r.startswith("ae_type.") and r != "ae_type.any"]
        assert len(kinds) == 9
        assert sum(val(f"T5.{r}.{column}.count") for r in kinds) == val(
            f"T5.ae_type.any.{column}.count"
        )
        resolution = (
            counts("T5", "resolution.self_resolved", (column,))[0]
            + counts("T5", "resolution.intervention", (column,))[0]
            + counts("T5", "resolution.no", (column,))[0]
        )
        assert resolution == val(f"T5.ae_type.any.{column}.count")
    assert val("T5.ae_type.any.total.count") == 34
    assert sum(counts("T5", "any_ae.yes")) == val("T5.any_ae.yes.total.count") == 25


def test_table6_adds_up() -> None:
    sizes = [val(f"T6.patients.{c}.n") for c in ALL_COLUMNS]
    assert sizes == [2, 9, 3, 0, 14]
    for i, column in enumerate(ALL_COLUMNS):
        relief = sum(
            counts("T6", r, (column,))[0]
            for r in ("relief_lt_2wk", "relief_2_3wk", "relief_ge_3wk")
        )
        assert relief == sizes[i]
        ae = sum(
            counts("T6", f"ae.{r}", (column,))[0]
            for r in ("gastrointestinal", "neurological", "psychiatric", "none")
        )
        assert ae == sizes[i]
    # Medication changes count the 13 whose pain returned: all but one postsurgical patient.
    returned = [
        sum(
            counts("T6", f"medication_change.{r}", (c,))[0]
            for r in ("opioids", "gabapentinoids", "cannabis", "no_change")
        )
        for c in ALL_COLUMNS
    ]
    assert returned == [2, 9, 2, 0, 13]
    assert [
        fig(f"T6.medication_change.opioids.{c}.count").denominator_n for c in ALL_COLUMNS
    ] == returned
    increased = 13 - val("T6.medication_change.no_change.total.count")
    assert (
        pct(increased, 13) == fig("text.abstract.pandemic_medication_increased.total.percent").value
    )


# The only percents in the paper that do not follow from their own count and denominator.
KNOWN_PERCENT_MISMATCHES = {
    "T2.pae_limited.total.percent": "12 of 42 responders printed 26.7 (12/45)",
    "text.results.response.pae_limited.total.percent": "same as Table 2",
    "text.discussion.pae_limited.total.percent": "same as Table 2",
    "text.results.response.pae_limited.cipn.percent": "4 of 25 printed 19.0 (4/21)",
    "text.discussion.pae_limited.cipn.percent": "4 of 25 printed 19.0 (4/21)",
    "text.discussion.snris.nonresponders_nonusers.total.percent": "16 of 45 printed 78.9 (45/57)",
    "T4.snris.nonusers.postsurgical.percent": "10 of 13 printed 77.0 (76.9)",
    "T4.tcas.responders_nonusers.postsurgical.percent": "9 of 12 printed 90.0 (9/10)",
    "T4.gabapentinoids.responders_nonusers.cipn.percent": "8 of 11 printed 72.3 (72.7)",
}


def test_percents_follow_from_counts_except_known() -> None:
    mismatches = set()
    checked = 0
    for f in select(kind="percent"):
        count = FIG.get(f.figure_id.removesuffix("percent") + "count")
        if count is None or f.denominator_n in (None, 0):
            continue
        assert f.denominator_n is not None
        checked += 1
        if pct(count.integer, f.denominator_n) != f.value:
            mismatches.add(f.figure_id)
    assert checked > 300
    assert mismatches == set(KNOWN_PERCENT_MISMATCHES)


def test_percents_round_half_up() -> None:
    # 2 of 32 infusions is exactly 6.25: printed 6.3, where round-half-even would give 6.2.
    assert fig("T5.ae_type.gastrointestinal.postsurgical.percent").value == "6.3"
    assert round(6.25, 1) == 6.2


# Text figures that restate a table cell and agree with it.
RESTATED = [
    ("text.abstract.responders.total.count", "T2.responders.total.count"),
    ("text.abstract.responders.total.percent", "T2.responders.total.percent"),
    ("text.abstract.relief_gt_3wk.total.percent", "T3.relief_ge_3wk.total.percent"),
    ("text.results.demographics.cancer_breast.total.count", "T1.cancer.breast.total.count"),
    ("text.results.demographics.cancer_breast.total.percent", "T1.cancer.breast.total.percent"),
    (
        "text.results.demographics.cancer_nerve_sheath.total.count",
        "T1.cancer.nerve_sheath.total.count",
    ),
    ("text.results.demographics.metastases.total.percent", "T1.metastases.yes.total.percent"),
    ("text.results.demographics.age_years.total.mean", "T1.age_years.total.mean"),
    ("text.results.demographics.age_years.total.sd", "T1.age_years.total.sd"),
    (
        "text.results.demographics.nerve_root_compression.tumor_compression.percent",
        "T1.compression_site.nerve_roots.tumor_compression.percent",
    ),
    (
        "text.results.demographics.radiation_head_and_neck.postradiation.percent",
        "T1.radiation_site.head_and_neck.postradiation.percent",
    ),
    ("text.results.response.responders.cipn.count", "T2.responders.cipn.count"),
    (
        "text.results.response.responders.postradiation.percent",
        "T2.responders.postradiation.percent",
    ),
    (
        "text.results.response.pae_limited.postsurgical.percent",
        "T2.pae_limited.postsurgical.percent",
    ),
    ("text.results.response.pae_limited.total.percent", "T2.pae_limited.total.percent"),
    ("text.results.response.pae_limited.cipn.percent", "T2.pae_limited.cipn.percent"),
    (
        "text.results.duration.responders_ge2_infusions.total.percent",
        "T3.responders_ge2_infusions.total.percent",
    ),
    ("text.results.duration.relief_lt_2wk.total.percent", "T3.relief_lt_2wk.total.percent"),
    ("text.results.duration.relief_gt_3wk.cipn.count", "T3.relief_ge_3wk.cipn.count"),
    (
        "text.results.adjuvant.snris.responders_users.total.percent",
        "T4.snris.responders_users.total.percent",
    ),
    (
        "text.results.adjuvant.snris.responders_nonusers.total.percent",
        "T4.snris.responders_nonusers.total.percent",
    ),
    ("text.results.adverse.any_ae_patients.total.percent", "T5.any_ae.yes.total.percent"),
    ("text.results.adverse.any_ae_infusions.total.count", "T5.ae_type.any.total.count"),
    ("text.results.adverse.neurological.total.percent", "T5.ae_type.neurological.total.percent"),
    (
        "text.results.adverse.gastrointestinal.total.percent",
        "T5.ae_type.gastrointestinal.total.percent",
    ),
    (
        "text.results.adverse.cardiovascular.total.percent",
        "T5.ae_type.cardiovascular.total.percent",
    ),
    (
        "text.results.adverse.self_resolved.total.percent",
        "T5.resolution.self_resolved.total.percent",
    ),
    ("text.results.adverse.intervention.total.percent", "T5.resolution.intervention.total.percent"),
    ("text.results.pandemic.responders.total.percent", "T6.responders.total.percent"),
    ("text.results.pandemic.relief_gt_3wk.total.percent", "T6.relief_ge_3wk.total.percent"),
    ("text.results.pandemic.no_ae.total.percent", "T6.ae.none.total.percent"),
    ("text.results.pandemic.neurological.total.percent", "T6.ae.neurological.total.percent"),
    (
        "text.results.pandemic.opioids_increased.total.percent",
        "T6.medication_change.opioids.total.percent",
    ),
    ("text.results.pandemic.no_change.total.count", "T6.medication_change.no_change.total.count"),
    (
        "text.discussion.opioids.responders_users.total.percent",
        "T4.opioids.responders_users.total.percent",
    ),
    (
        "text.discussion.opioids.responders_nonusers.total.percent",
        "T4.opioids.responders_nonusers.total.percent",
    ),
    ("text.discussion.snris.responders_users.total.count", "T4.snris.responders_users.total.count"),
    ("text.discussion.any_ae_infusions.total.percent", "T5.ae_type.any.total.percent"),
    ("text.discussion.pandemic_responders.total.percent", "T6.responders.total.percent"),
]


@pytest.mark.parametrize(("text_id", "table_id"), RESTATED)
def test_text_restates_tables(text_id: str, table_id: str) -> None:
    assert fig(text_id).value == fig(table_id).value


# Table 2, 3 and 5 "P value" rows are goodness-of-fit tests of each column's own categories.
GOF_ROWS = {
    "T2": ("responders", "nonresponders"),
    "T3": ("relief_lt_2wk", "relief_2_3wk", "relief_ge_3wk"),
    "T5": ("any_ae.yes", "any_ae.no"),
}


@pytest.mark.parametrize(("table", "column"), [(t, c) for t in GOF_ROWS for c in ALL_COLUMNS])
def test_p_value_rows_are_goodness_of_fit(table: str, column: str) -> None:
    observed = [counts(table, row, (column,))[0] for row in GOF_ROWS[table]]
    printed = fig(f"{table}.p_value.{column}.p_value").value
    assert format_p(goodness_of_fit(observed).p_value) == printed


def test_text_p_values_that_reproduce() -> None:
    assert (
        format_p(goodness_of_fit([21, 4]).p_value, style="precise")
        == fig("text.results.response.responders.cipn.p_value").value
    )
    assert (
        format_p(pearson([[24, 8], [18, 7]]).p_value, style="precise")
        == fig("text.results.adjuvant.gabapentinoids.total.p_value").value
    )
    assert (
        format_p(yates([[11, 1], [16, 29]]).p_value, style="precise")
        == fig("text.results.adjuvant.snris.total.p_value").value
    )
    assert (
        format_p(yates([[0, 3], [18, 36]]).p_value, style="precise")
        == fig("text.results.adjuvant.tcas.total.p_value").value
    )


# Table 4 P values recomputed from Table 4's own counts (rows: users, non-users; columns:
# responders, nonresponders): the first test whose two-decimal P equals the printed one, or None.
TABLE4_REPRODUCTION = {
    ("opioids", "tumor_compression"): "Pearson chi-squared",
    ("opioids", "cipn"): "Yates chi-squared",
    ("opioids", "postsurgical"): None,
    ("opioids", "postradiation"): None,
    ("opioids", "total"): None,
    ("snris", "tumor_compression"): None,
    ("snris", "cipn"): "Pearson chi-squared",  # all three print <0.01
    ("snris", "postsurgical"): None,
    ("snris", "postradiation"): None,
    ("snris", "total"): "Pearson chi-squared",  # all three print <0.01; the text's 0.0017 is Yates
    ("tcas", "tumor_compression"): "Fisher exact",
    ("tcas", "postsurgical"): "Fisher exact",
    ("tcas", "total"): None,
    ("gabapentinoids", "tumor_compression"): None,
    ("gabapentinoids", "cipn"): "Yates chi-squared",
    ("gabapentinoids", "postsurgical"): "Yates chi-squared",
    ("gabapentinoids", "postradiation"): None,
    ("gabapentinoids", "total"): "Pearson chi-squared",
}


@pytest.mark.parametrize(("drug", "column"), list(TABLE4_REPRODUCTION))
def test_table4_p_values_by_test(drug: str, column: str) -> None:
    users = val(f"T4.{drug}.users.{column}.count")
    nonusers = val(f"T4.{drug}.nonusers.{column}.count")
    r_users = val(f"T4.{drug}.responders_users.{column}.count")
    r_nonusers = val(f"T4.{drug}.responders_nonusers.{column}.count")
    table = [[r_users, users - r_users], [r_nonusers, nonusers - r_nonusers]]
    printed = fig(f"T4.{drug}.p_value.{column}.p_value").value
    matching = [
        run(table).test.value
        for run in (pearson, yates, fisher)
        if format_p(run(table).p_value) == printed
    ]
    expected = TABLE4_REPRODUCTION[(drug, column)]
    assert (matching[0] if matching else None) == expected


# --- the paper's own inconsistencies, recorded ---------------------------------------------------


class TestPaperInconsistencies:
    def test_table4_opioid_responders_sum_to_41(self) -> None:
        users = val("T4.opioids.responders_users.total.count")
        nonusers = val("T4.opioids.responders_nonusers.total.count")
        assert (users, nonusers) == (22, 19)
        assert users + nonusers == 41 != val("T2.responders.total.count")
        # Every column adds up to Table 2's responders, so the 22 is the odd one out: the opioid
        # column counts sum to 23 (69.7% of 33), not the printed 22 (66.7%).
        for column in ETIOLOGIES:
            assert val(f"T4.opioids.responders_users.{column}.count") + val(
                f"T4.opioids.responders_nonusers.{column}.count"
            ) == val(f"T2.responders.{column}.count")
        assert sum(counts("T4", "opioids.responders_users")) == 23
        assert sum(counts("T4", "opioids.responders_nonusers")) == nonusers

    def test_table4_snri_cipn_nonuser_responders_printed_as_zero(self) -> None:
        assert fig("T4.snris.responders_nonusers.cipn.count").value == "0"
        cipn = val("T4.snris.responders_users.cipn.count") + val(
            "T4.snris.responders_nonusers.cipn.count"
        )
        assert cipn == 6 != val("T2.responders.cipn.count") == 21
        total = val("T4.snris.responders_users.total.count") + val(
            "T4.snris.responders_nonusers.total.count"
        )
        assert total == 27
        assert total != val("T2.responders.total.count")
        # The totals follow the printed 0 (8 + 0 + 6 + 2 = 16), and so does the headline P = 0.0017.
        # With the 15 CIPN non-user responders that Table 2 implies, it would be 31 of 45, P = 0.22.
        assert sum(counts("T4", "snris.responders_nonusers")) == 16
        assert format_p(yates([[11, 1], [31, 14]]).p_value) == "0.22"

    def test_table4_tca_nonuser_responders_cover_two_columns(self) -> None:
        # CIPN and postradiation print "–" (no TCA users), so their non-users' responders are left
        # out of the total 18, while the total's denominator (54 non-users) includes those patients.
        assert counts("T4", "tcas.responders_nonusers") == [9, 0, 9, 0]
        assert val("T4.tcas.responders_nonusers.total.count") == 18
        assert fig("T4.tcas.responders_nonusers.total.percent").denominator_n == 54
        assert val("T2.responders.total.count") - val("T4.tcas.responders_users.total.count") == 42
        # Postsurgical: 9 of 12 non-users printed as 90.0%, which is 9 of 10.
        assert fig("T4.tcas.responders_nonusers.postsurgical.percent").value == "90.0"
        assert pct(9, 12) == "75.0" and pct(9, 10) == "90.0"

    def test_table4_gabapentinoid_user_totals_disagree_with_columns(self) -> None:
        assert sum(counts("T4", "gabapentinoids.users")) == 33
        assert val("T4.gabapentinoids.users.total.count") == 32
        assert sum(counts("T4", "gabapentinoids.nonusers")) == 24
        assert val("T4.gabapentinoids.nonusers.total.count") == 25
        # The printed P = 0.7985 uses the printed totals (24 of 32 vs 18 of 25).
        assert format_p(pearson([[24, 8], [18, 7]]).p_value, style="precise") == "0.7985"
        assert format_p(pearson([[24, 9], [18, 6]]).p_value, style="precise") == "0.8474"

    def test_table2_pae_limited_total_is_12_of_45(self) -> None:
        f = fig("T2.pae_limited.total.percent")
        assert (f.value, f.denominator, f.denominator_n) == ("26.7", "responders", 42)
        assert pct(12, 42) == "28.6" and pct(12, 45) == "26.7"
        # The etiology columns of the same row use responders correctly.
        for column in ETIOLOGIES:
            p = fig(f"T2.pae_limited.{column}.percent")
            assert (
                pct(val(f"T2.pae_limited.{column}.count"), val(f"T2.responders.{column}.count"))
                == p.value
            )

    def test_abstract_32_vs_34_infusions_with_an_adverse_event(self) -> None:
        assert (
            val("text.abstract.ae_infusions.total.count"),
            fig("text.abstract.ae_infusions.total.percent").value,
        ) == (32, "16.7")
        assert (
            val("T5.ae_type.any.total.count")
            == val("text.results.adverse.any_ae_infusions.total.count")
            == 34
        )
        assert fig("T5.ae_type.any.total.percent").value == "17.7"
        # Each figure is consistent with itself; they disagree with each other. 32 is also the
        # number of patients with no adverse event (Table 5, "No", total).
        assert pct(32, 192) == "16.7" and pct(34, 192) == "17.7"
        assert val("T5.any_ae.no.total.count") == 32

    def test_text_tca_p_value_disagrees_with_table4(self) -> None:
        assert fig("text.results.adjuvant.tcas.total.p_value").value == "0.5681"
        assert fig("T4.tcas.p_value.total.p_value").value == "0.31"
        # 0.5681 is Yates on the total counts; 0.31 is the postsurgical cell's Fisher P repeated.
        assert format_p(yates([[0, 3], [18, 36]]).p_value, style="precise") == "0.5681"
        assert fig("T4.tcas.p_value.postsurgical.p_value").value == "0.31"
        assert format_p(fisher([[0, 1], [9, 3]]).p_value) == "0.31"

    def test_text_opioid_p_value_does_not_reproduce(self) -> None:
        assert fig("text.results.adjuvant.opioids.total.p_value").value == "0.9299"
        for table in ([[22, 11], [19, 5]], [[23, 10], [19, 5]]):
            for run in (pearson, yates, fisher):
                assert format_p(run(table).p_value) != "0.93"

    def test_cipn_pae_limited_said_of_25_but_is_of_21(self) -> None:
        for section in ("results.response", "discussion"):
            count = fig(f"text.{section}.pae_limited.cipn.count")
            assert (count.value, count.denominator_n) == ("4", 25)
            assert fig(f"text.{section}.pae_limited.cipn.percent").value == "19.0"
        assert pct(4, 21) == "19.0" and pct(4, 25) == "16.0"
        assert fig("T2.pae_limited.cipn.percent").value == "19.0"

    def test_discussion_calls_snri_nonuser_responders_nonresponders(self) -> None:
        text = fig("text.discussion.snris.nonresponders_nonusers.total.count")
        assert "deemed nonresponders" in text.source_text
        assert text.value == fig("T4.snris.responders_nonusers.total.count").value == "16"
        # Its 78.9% is the share of patients not on SNRIs (45 of 57), not 16 of 45 (35.6%).
        assert fig("text.discussion.snris.nonresponders_nonusers.total.percent").value == "78.9"
        assert fig("T4.snris.nonusers.total.percent").value == "78.9"
        assert fig("T4.snris.responders_nonusers.total.percent").value == "35.6"

    def test_p_0_0003_sits_beside_12_of_42_but_tests_42_vs_15(self) -> None:
        assert fig("text.results.response.pae_limited.total.p_value").value == "0.0003"
        assert format_p(goodness_of_fit([42, 15]).p_value, style="precise") == "0.0003"
        assert format_p(goodness_of_fit([12, 30]).p_value, style="precise") == "0.0055"

    def test_abstract_71_8_percent_of_responders_is_of_39(self) -> None:
        f = fig("text.abstract.relief_gt_3wk.total.percent")
        assert "71.8% of responders" in f.source_text
        assert (f.denominator, f.denominator_n) == ("responders_ge2_infusions", 39)
        assert pct(28, 39) == "71.8" and pct(28, 42) == "66.7"

    def test_wrong_table_references_in_the_discussion(self) -> None:
        # Adverse events are Table 5 and adjuvants Table 4; the Discussion cites 4 and 3.
        assert "(Table 4)" in fig("text.discussion.any_ae_infusions.total.percent").source_text
        assert "Table 3)" in fig("text.discussion.snris.total.p_value").source_text
        assert (
            fig("text.discussion.any_ae_infusions.total.percent").value
            == fig("T5.ae_type.any.total.percent").value
        )

    def test_paper_rule_not_followed_in_table4(self) -> None:
        # Non-opioid tumor compression patients number 5 (< 6), so the stated rule calls for Fisher
        # (P = 1.00), but the table prints Pearson's 0.57.
        assert val("T4.opioids.nonusers.tumor_compression.count") == 5
        assert fig("T4.opioids.p_value.tumor_compression.p_value").value == "0.57"
        assert format_p(fisher([[6, 2], [3, 2]]).p_value) == "1.00"
