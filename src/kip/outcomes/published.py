"""Every figure Oh et al. 2021 printed, as data (package file `published/oh-2021.csv`).

A recomputation of the study's tables compares itself with these records, so that a mismatch can
be traced to one printed figure; where the paper disagrees with itself, both figures are kept as
printed (docs/published-figures.md lists the disagreements). Values stay strings as printed ("84.0",
"<0.01", "–") because the printed precision is part of what a reproduction must match.

The file is validated on load: a typo in an id, kind or column would otherwise make a comparison
silently skip a figure.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType

__all__ = [
    "BLANK",
    "COLUMNS",
    "DENOMINATORS",
    "FIELDS",
    "PUBLISHED_FILE",
    "TABLES",
    "Column",
    "Kind",
    "PublishedDataError",
    "PublishedFigure",
    "by_id",
    "load",
    "parse",
    "select",
]

PUBLISHED_FILE = "oh-2021.csv"

FIELDS: tuple[str, ...] = (
    "figure_id",
    "table",
    "row",
    "column",
    "kind",
    "value",
    "denominator",
    "denominator_n",
    "source_text",
)

BLANK = "–"
"""The paper's en dash: a cell printed as not applicable or not reported."""

TABLES: tuple[str, ...] = ("T1", "T2", "T3", "T4", "T5", "T6", "text")


class Column(StrEnum):
    TUMOR_COMPRESSION = "tumor_compression"
    CIPN = "cipn"
    POSTSURGICAL = "postsurgical"
    POSTRADIATION = "postradiation"
    TOTAL = "total"
    NONE = "-"


COLUMNS: tuple[str, ...] = tuple(c.value for c in Column)


class Kind(StrEnum):
    N = "n"  # a group's size ("n = 13", "192 infusions")
    COUNT = "count"  # how many of the denominator have the characteristic
    PERCENT = "percent"
    MEAN = "mean"
    SD = "sd"
    P_VALUE = "p_value"


DENOMINATORS: Mapping[str, str] = MappingProxyType(
    {
        "-": "none (group sizes and P values)",
        "patients": "patients in the column (57 overall)",
        "infusions": "infusions in the column (192 overall; the pandemic cohort's 14 last ones)",
        "responders": "responders in the column (42 overall)",
        "responders_ge2_infusions": "responders who received 2 or more infusions (39 overall)",
        "adverse_events": "infusions with an adverse event (34 overall)",
        "users": "patients in the column taking the row's drug class (Table 4)",
        "nonusers": "patients in the column not taking the row's drug class (Table 4)",
        "pandemic_patients": "patients enrolled when infusions stopped for COVID-19 (14)",
        "pandemic_pain_returned": "pandemic patients whose pain returned to baseline (13)",
    }
)

_ROW = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
_INTEGER = re.compile(r"0|[1-9][0-9]*")
_VALUE: Mapping[Kind, re.Pattern[str]] = MappingProxyType(
    {
        Kind.N: re.compile(r"0|[1-9][0-9]*"),
        Kind.COUNT: re.compile(rf"0|[1-9][0-9]*|{BLANK}"),
        Kind.PERCENT: re.compile(r"(0|[1-9][0-9]*)\.[0-9]"),
        Kind.MEAN: re.compile(r"[0-9]+\.[0-9]+"),
        Kind.SD: re.compile(r"[0-9]+\.[0-9]+"),
        Kind.P_VALUE: re.compile(rf"<0\.[0-9]*1|[01]\.[0-9]+|{BLANK}"),
    }
)
# A group size or a P value is not a share of anything; a count or percent always is.
_NEEDS_DENOMINATOR = frozenset({Kind.COUNT, Kind.PERCENT, Kind.MEAN, Kind.SD})


class PublishedDataError(ValueError):
    """The figures file breaks one of its rules; the message names file, line and field."""


@dataclass(frozen=True, slots=True)
class PublishedFigure:
    figure_id: str
    table: str
    row: str
    column: Column
    kind: Kind
    value: str
    denominator: str
    denominator_n: int | None
    source_text: str

    @property
    def is_blank(self) -> bool:
        return self.value == BLANK

    @property
    def number(self) -> float | None:
        """The printed value as a number; None for a blank cell or a bound such as "<0.01"."""
        if self.is_blank or self.value.startswith("<"):
            return None
        return float(self.value)

    @property
    def upper_bound(self) -> float | None:
        """0.01 for a value printed "<0.01"; None otherwise."""
        return float(self.value[1:]) if self.value.startswith("<") else None

    @property
    def integer(self) -> int:
        """A count or group size as an int; other kinds and blank cells are a caller's mistake."""
        if self.kind not in (Kind.N, Kind.COUNT) or self.is_blank:
            raise ValueError(f"{self.figure_id}: value {self.value!r} is not a printed count")
        return int(self.value)


def parse(text: str, origin: str = PUBLISHED_FILE) -> tuple[PublishedFigure, ...]:
    """Records from CSV text, validated; errors read "origin:line: field: rule"."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != FIELDS:
        raise PublishedDataError(f"{origin}:1: header: must be {','.join(FIELDS)}, got {header}")
    figures: list[PublishedFigure] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not cells:
            continue
        figure = _figure(cells, f"{origin}:{line}")
        if figure.figure_id in seen:
            raise PublishedDataError(
                f"{origin}:{line}: figure_id: {figure.figure_id!r} already used on line "
                f"{seen[figure.figure_id]}"
            )
        seen[figure.figure_id] = line
        figures.append(figure)
    if not figures:
        raise PublishedDataError(f"{origin}: holds no figures")
    return tuple(figures)


@cache
def load() -> tuple[PublishedFigure, ...]:
    """The shipped file, read through importlib.resources so it works from a wheel too."""
    resource = resources.files("kip.outcomes") / "published" / PUBLISHED_FILE
    return parse(resource.read_text(encoding="utf-8"), PUBLISHED_FILE)


@cache
def by_id() -> Mapping[str, PublishedFigure]:
    return MappingProxyType({f.figure_id: f for f in load()})


def select(
    figures: Iterable[PublishedFigure] | None = None,
    *,
    table: str | None = None,
    row: str | None = None,
    column: str | None = None,
    kind: str | None = None,
) -> tuple[PublishedFigure, ...]:
    """The figures matching every given field, in file order (all shipped figures by default)."""
    pool = load() if figures is None else figures
    return tuple(
        f
        for f in pool
        if (table is None or f.table == table)
        and (row is None or f.row == row)
        and (column is None or f.column == column)
        and (kind is None or f.kind == kind)
    )


def _figure(cells: list[str], where: str) -> PublishedFigure:
    if len(cells) != len(FIELDS):
        raise PublishedDataError(f"{where}: row: must have {len(FIELDS)} fields, got {len(cells)}")
    raw = dict(zip(FIELDS, cells, strict=True))
    for name, value in raw.items():
        if value != value.strip():
            raise PublishedDataError(f"{where}: {name}: must not start or end with whitespace")

    table = raw["table"]
    if table not in TABLES:
        raise PublishedDataError(
            f"{where}: table: must be one of {', '.join(TABLES)}, got {table!r}"
        )
    row = raw["row"]
    if not _ROW.fullmatch(row):
        raise PublishedDataError(
            f"{where}: row: must be dotted lower-case words (a-z, 0-9, _), got {row!r}"
        )
    if raw["column"] not in COLUMNS:
        raise PublishedDataError(
            f"{where}: column: must be one of {', '.join(COLUMNS)}, got {raw['column']!r}"
        )
    column = Column(raw["column"])
    if raw["kind"] not in tuple(Kind):
        kinds = ", ".join(k.value for k in Kind)
        raise PublishedDataError(f"{where}: kind: must be one of {kinds}, got {raw['kind']!r}")
    kind = Kind(raw["kind"])

    expected_id = f"{table}.{row}.{column.value}.{kind.value}"
    if raw["figure_id"] != expected_id:
        raise PublishedDataError(
            f"{where}: figure_id: must be table.row.column.kind ({expected_id!r}), "
            f"got {raw['figure_id']!r}"
        )
    value = raw["value"]
    if not _VALUE[kind].fullmatch(value):
        raise PublishedDataError(f"{where}: value: {value!r} is not a printed {kind.value}")

    denominator = raw["denominator"]
    if denominator not in DENOMINATORS:
        raise PublishedDataError(
            f"{where}: denominator: must be one of {', '.join(DENOMINATORS)}, got {denominator!r}"
        )
    if (kind in _NEEDS_DENOMINATOR) != (denominator != "-"):
        rule = "needs a denominator" if kind in _NEEDS_DENOMINATOR else "takes denominator '-'"
        raise PublishedDataError(f"{where}: denominator: a {kind.value} {rule}")
    denominator_n: int | None = None
    if raw["denominator_n"]:
        if denominator == "-":
            raise PublishedDataError(
                f"{where}: denominator_n: must be empty when denominator is '-'"
            )
        if not _INTEGER.fullmatch(raw["denominator_n"]):
            raise PublishedDataError(
                f"{where}: denominator_n: must be a non-negative integer, "
                f"got {raw['denominator_n']!r}"
            )
        denominator_n = int(raw["denominator_n"])
    elif denominator != "-" and (kind is not Kind.COUNT or value != BLANK):
        # Only a blank count (Table 4's "–" TCA cells) may leave its denominator size unknown.
        raise PublishedDataError(f"{where}: denominator_n: needed with denominator {denominator!r}")
    if not raw["source_text"]:
        raise PublishedDataError(f"{where}: source_text: must not be empty")

    return PublishedFigure(
        figure_id=expected_id,
        table=table,
        row=row,
        column=column,
        kind=kind,
        value=value,
        denominator=denominator,
        denominator_n=denominator_n,
        source_text=raw["source_text"],
    )
