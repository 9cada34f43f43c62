"""The check-in rules: a check that records a value cannot pass without it, an empty check-in is
refused when the protocol says a check-in captures the baseline, and a weight-based protocol needs
the weight."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kip.protocol import check_in
from kip.protocol.loader import load
from kip.protocol.model import Check, CheckKind, Protocol, RecordedValue

V = RecordedValue
MSKCC = load("mskcc-2021")
SCHWARTZMAN = load("schwartzman-2009")
ALL_BASELINE = {
    V.BASELINE_NPRS,
    V.BASELINE_FUNCTION,
    V.BASELINE_SATISFACTION,
    V.BASELINE_ANALGESICS,
}


def _fields(missing: list[check_in.Missing]) -> list[tuple[str, str]]:
    return [(m.field, m.rule) for m in missing]


def _optional_baseline(protocol: Protocol) -> Protocol:
    eligibility = protocol.eligibility.model_copy(update={"check_in_requires_baseline": False})
    return protocol.model_copy(update={"eligibility": eligibility})


@pytest.mark.parametrize(
    ("check_id", "recorded", "field"),
    [
        ("baseline_nprs", set(), "baseline_nprs"),
        ("baseline_nprs", {V.BASELINE_FUNCTION, V.WEIGHT_KG}, "baseline_nprs"),
        ("baseline_nprs", {V.BASELINE_NPRS}, None),
        ("baseline_function", {V.BASELINE_NPRS}, "baseline_function"),
        ("baseline_satisfaction", {V.BASELINE_NPRS}, "baseline_satisfaction"),
        ("current_analgesics", {V.BASELINE_NPRS}, "baseline_analgesics"),
        ("current_analgesics", {V.BASELINE_ANALGESICS}, None),
        # Checks that record nothing are the nurse's attestation or a test result.
        ("pregnancy_test", set(), None),
        ("covid_symptoms", set(), None),
        ("not_a_check", set(), None),
    ],
)
def test_a_check_passes_only_with_the_value_it_records(
    check_id: str, recorded: set[RecordedValue], field: str | None
) -> None:
    missing = check_in.to_pass(MSKCC, check_id, recorded)
    if field is None:
        assert missing is None
    else:
        assert missing is not None
        assert (missing.field, missing.rule) == (field, f"eligibility.checks.{check_id}.records")
        assert "cannot pass" in missing.text


@pytest.mark.parametrize(
    ("protocol", "recorded", "passed", "expected"),
    [
        (MSKCC, set(), set(), [("baseline", "eligibility.check_in_requires_baseline")]),
        (MSKCC, {V.WEIGHT_KG}, set(), [("baseline", "eligibility.check_in_requires_baseline")]),
        (MSKCC, {V.BASELINE_SATISFACTION}, set(), []),
        (
            MSKCC,
            ALL_BASELINE,
            {"baseline_nprs", "baseline_function", "baseline_satisfaction", "current_analgesics"},
            [],
        ),
        # A value cleared under a check that has passed.
        (
            MSKCC,
            {V.BASELINE_FUNCTION},
            {"baseline_nprs", "pregnancy_test"},
            [("baseline_nprs", "eligibility.checks.baseline_nprs.records")],
        ),
        (_optional_baseline(MSKCC), set(), set(), []),
        # Weight-based dosing: 0.35 mg/kg/h capped at 25 mg/h.
        (
            SCHWARTZMAN,
            {V.BASELINE_NPRS},
            set(),
            [("weight_kg", "limits.hard_max_rate")],
        ),
        (
            _optional_baseline(SCHWARTZMAN),
            set(),
            set(),
            [("weight_kg", "limits.hard_max_rate")],
        ),
        (SCHWARTZMAN, {V.BASELINE_NPRS, V.WEIGHT_KG}, {"baseline_nprs"}, []),
    ],
)
def test_what_a_check_in_must_leave_recorded(
    protocol: Protocol,
    recorded: set[RecordedValue],
    passed: set[str],
    expected: list[tuple[str, str]],
) -> None:
    assert _fields(check_in.at_check_in(protocol, recorded, passed)) == expected


def test_the_shipped_baseline_checks_name_their_values() -> None:
    records = {c.id: c.records for c in MSKCC.eligibility.checks if c.records is not None}
    assert records == {
        "baseline_nprs": V.BASELINE_NPRS,
        "baseline_function": V.BASELINE_FUNCTION,
        "baseline_satisfaction": V.BASELINE_SATISFACTION,
        "current_analgesics": V.BASELINE_ANALGESICS,
    }
    assert MSKCC.eligibility.check_in_requires_baseline


def test_only_a_record_check_can_name_a_value() -> None:
    with pytest.raises(ValidationError, match="only a 'record' check"):
        Check(
            id="pregnancy_test",
            label="Pregnancy test negative",
            kind=CheckKind.NEGATIVE_RESULT,
            records=V.BASELINE_NPRS,
        )
