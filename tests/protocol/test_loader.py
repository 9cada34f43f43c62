"""Protocol files: shipped ones load, and a broken one is refused with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kip.protocol.errors import InputError
from kip.protocol.loader import load, load_file, parse, shipped_ids

MSKCC_TEXT = (Path(__file__).parents[2] / "src/kip/protocol/protocols/mskcc-2021.toml").read_text()


def test_shipped_protocols_load() -> None:
    assert shipped_ids() == ["mskcc-2021", "schwartzman-2009"]
    for pid in shipped_ids():
        assert load(pid).id == pid


def test_study_numbers_are_in_the_shipped_file() -> None:
    p = load("mskcc-2021")
    # "The first ketamine infusion started at 10 mg/h and was titrated by 5 mg/h to a maximum of
    # 25 mg/h"; infusions 2-3 "starting at 25 mg/h ... to a maximum of 40 mg/h"; maintenance "to
    # a maximum dose of 70 mg/h".
    assert [(ph.start_rate.value, ph.max_rate[0].value) for ph in p.phases] == [
        (10, 25),
        (25, 40),
        (25, 70),
    ]
    assert {ph.session_minutes for ph in p.phases} == {240}
    assert [(m.drug, m.dose_mg) for m in p.premedication] == [
        ("ondansetron", 4),
        ("lorazepam", 0.5),
    ]
    lorazepam = p.prn_medication("lorazepam-oral")
    assert (lorazepam.dose_mg, lorazepam.interval_minutes, lorazepam.cap_mg) == (0.5, 240, 2)
    assert p.prn_medication("ondansetron-oral").interval_minutes == 360


BROKEN = [
    pytest.param("dose_mg = 4\n", 'dose_mg = "4"\n', r"premedication\[0\]\.dose_mg", id="text"),
    pytest.param(
        "session_minutes = 240", "sesion_minutes = 240", r"phases\[0\]\.", id="misspelt-key"
    ),
    pytest.param(
        "first_infusion = 2",
        "first_infusion = 3",
        r"phases\[1\] \(induction\): starts at infusion 3, expected 2",
        id="phase-gap",
    ),
    pytest.param(
        'period = "covid-19-screening"', 'period = "flu"', r"unknown period 'flu'", id="period"
    ),
    pytest.param(
        'prn = ["ondansetron-oral"]',
        'prn = ["metoclopramide"]',
        r"unknown PRN medication 'metoclopramide'",
        id="prn",
    ),
    pytest.param("[limits]", "[limits", r"not valid TOML", id="toml-syntax"),
    pytest.param(
        'hard_max_rate = [{ value = 70, unit = "mg/h" }]',
        "hard_max_rate = []",
        r"limits\.hard_max_rate: must not be empty$",
        id="no-hard-limit",
    ),
]


@pytest.mark.parametrize(("old", "new", "pattern"), BROKEN)
def test_broken_protocol_names_the_key(old: str, new: str, pattern: str) -> None:
    assert old in MSKCC_TEXT
    with pytest.raises(InputError, match=r"^my\.toml: ") as caught:
        parse(MSKCC_TEXT.replace(old, new, 1), "my.toml")
    assert caught.match(pattern)


def test_unknown_protocol_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"^protocol: unknown protocol 'nope' \(known: mskcc"):
        load("nope")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read protocol file"):
        load_file(tmp_path / "absent.toml")
