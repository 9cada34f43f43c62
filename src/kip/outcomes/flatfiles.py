"""The flat-file form of the analysis dataset: one CSV or Parquet file per table.

`read_directory(path)` parses every table's file and checks it against kip.outcomes.dataset, and
returns either the rows or every problem as a `FileError` naming file, line and column (a data
manager fixes the file, not kip's row index). `write_directory` writes the same form, so the
seeded study cohort is a template a data manager can open and copy.

CSV cells are text, so each column's type decides how a cell is read: integers as digits, numbers
as decimal notation, booleans as true/false (any case), dates as YYYY-MM-DD, and an empty cell as
null. Nothing is guessed (no "1" for true, no 14.0 for 14): a guessed value in a clinical table is
an error that reaches every count silently.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kip.outcomes.dataset import TABLES, Column, Row, Value, validate_dataset, validate_rows

__all__ = [
    "FORMATS",
    "FileError",
    "FlatFormat",
    "ImportResult",
    "cell_text",
    "parse_cell",
    "read_directory",
    "write_directory",
]

FlatFormat = Literal["csv", "parquet"]
FORMATS: tuple[FlatFormat, ...] = ("csv", "parquet")

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BOOLEANS = {"true": True, "false": False}
# validate_dataset's messages read "table[index]: column: problem" (docs/analysis-dataset.md).
_LOCATED = re.compile(r"^(?P<table>\w+)\[(?P<index>[0-9]+)\]: (?P<rest>.*)$")
_DUPLICATE = re.compile(r"duplicates row (?P<index>[0-9]+)$")


@dataclass(frozen=True, slots=True)
class FileError:
    """One problem of one file. `line` is the CSV line (header = 1) or the 1-based Parquet row;
    None for a problem of the whole file."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The parsed dataset (valid only when `errors` is empty) and the files read, per table."""

    dataset: Mapping[str, Sequence[Row]]
    files: Mapping[str, Path]
    errors: tuple[FileError, ...]


def parse_cell(column: Column, text: str) -> Value:
    """A CSV cell as the column's type; ValueError with the rule it breaks."""
    if text == "":
        return None
    if column.type == "string":
        return text
    if column.type == "integer":
        if not _INTEGER.fullmatch(text):
            raise ValueError(f"{text!r} is not an integer")
        return int(text)
    if column.type == "number":
        if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
            raise ValueError(f"{text!r} is not a number")
        return float(text)
    if column.type == "boolean":
        if text.lower() not in _BOOLEANS:
            raise ValueError(f"{text!r} is not a boolean (true or false)")
        return _BOOLEANS[text.lower()]
    if not _DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date of the calendar") from None


def cell_text(value: Value) -> str:
    """A value as parse_cell reads it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True, slots=True)
class _Parsed:
    rows: list[dict[str, Value]]
    lines: list[int]
    """The file line (or Parquet row) of each row, to turn a row index into a location."""
    bad_cells: set[tuple[int, str]]
    """(row index, column) whose text did not parse: later checks of that cell are not repeated."""
    errors: list[FileError]
    readable: bool
    """The header (or Parquet schema) has the table's columns, so rows can be checked further."""


def _header_errors(
    name: str, table: str, header: Sequence[str], line: int | None
) -> list[FileError]:
    columns = TABLES[table].column_names
    errors = [FileError(name, line, f"{c}: column missing") for c in columns if c not in header] + [
        FileError(name, line, f"{c}: not a column of {table}") for c in header if c not in columns
    ]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    errors += [FileError(name, line, f"{c}: column given twice") for c in duplicated]
    return errors


def _read_csv(path: Path, table: str) -> _Parsed:
    spec = TABLES[table]
    rows: list[dict[str, Value]] = []
    lines: list[int] = []
    bad: set[tuple[int, str]] = set()
    errors: list[FileError] = []
    try:
        # utf-8-sig: spreadsheet programs on Windows start a CSV with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return _Parsed([], [], bad, [FileError(path.name, None, "empty file")], False)
            errors = _header_errors(path.name, table, header, 1)
            if errors:
                return _Parsed([], [], bad, errors, False)
            for cells in reader:
                if not any(cells):
                    continue  # a trailing blank line is not a row
                line = reader.line_num
                if len(cells) != len(header):
                    errors.append(
                        FileError(path.name, line, f"{len(cells)} cells, header has {len(header)}")
                    )
                    continue
                row: dict[str, Value] = {}
                for name, text in zip(header, cells, strict=True):
                    try:
                        row[name] = parse_cell(spec.column(name), text)
                    except ValueError as exc:
                        errors.append(FileError(path.name, line, f"{name}: {exc}"))
                        bad.add((len(rows), name))
                        row[name] = text
                rows.append(row)
                lines.append(line)
    except UnicodeDecodeError as exc:
        return _Parsed([], [], bad, [FileError(path.name, None, f"not UTF-8: {exc.reason}")], False)
    except csv.Error as exc:
        return _Parsed([], [], bad, [FileError(path.name, None, f"not valid CSV: {exc}")], False)
    return _Parsed(rows, lines, bad, errors, True)


def _read_parquet(path: Path, table: str) -> _Parsed:
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        return _Parsed([], [], set(), [FileError(path.name, None, f"not Parquet: {exc}")], False)
    errors = _header_errors(path.name, table, list(arrow.column_names), None)
    if errors:
        return _Parsed([], [], set(), errors, False)
    rows: list[dict[str, Value]] = arrow.to_pylist()
    return _Parsed(rows, list(range(1, len(rows) + 1)), set(), [], True)


def _files(directory: Path) -> tuple[dict[str, Path], list[FileError]]:
    found: dict[str, Path] = {}
    errors: list[FileError] = []
    for table in TABLES:
        paths = [directory / f"{table}.{ext}" for ext in FORMATS]
        present = [p for p in paths if p.is_file()]
        if not present:
            errors.append(
                FileError(
                    f"{table}.csv",
                    None,
                    f"missing: the dataset needs one file per table ({', '.join(TABLES)}); "
                    "a table without rows is a file with only the header",
                )
            )
        elif len(present) > 1:
            errors.append(
                FileError(present[0].name, None, f"{present[1].name} also given: keep one")
            )
        else:
            found[table] = present[0]
    return found, errors


def _locate(
    message: str, files: Mapping[str, Path], parsed: Mapping[str, _Parsed]
) -> tuple[FileError, tuple[str, int, str] | None]:
    """validate_dataset's "table[index]: column: ..." as a file error, and the cell it names."""
    match = _LOCATED.match(message)
    if match is None or match["table"] not in parsed:
        return FileError("dataset", None, message), None
    table, index, rest = match["table"], int(match["index"]), match["rest"]
    lines = parsed[table].lines
    duplicate = _DUPLICATE.search(rest)
    if duplicate is not None:
        noun = "line" if files[table].suffix == ".csv" else "row"
        rest = rest[: duplicate.start()] + f"duplicates {noun} {lines[int(duplicate['index'])]}"
    column = rest.split(":", 1)[0]
    return FileError(files[table].name, lines[index], rest), (table, index, column)


def read_directory(directory: Path) -> ImportResult:
    """Every table's file of `directory`, parsed and validated; no rows are trusted unless the
    whole dataset is valid, because a partly imported registry gives wrong tables silently."""
    if not directory.is_dir():
        error = FileError(str(directory), None, "not a directory")
        return ImportResult(dataset={}, files={}, errors=(error,))
    files, errors = _files(directory)
    parsed = {
        table: (_read_csv(path, table) if path.suffix == ".csv" else _read_parquet(path, table))
        for table, path in files.items()
    }
    for result in parsed.values():
        errors += result.errors
    readable = {t: p for t, p in parsed.items() if p.readable}
    dataset = {t: p.rows for t, p in readable.items()}
    # Links between tables are checked only when every table could be read: against a missing
    # table every row would be reported as an orphan.
    if len(readable) == len(TABLES):
        messages = validate_dataset(dataset)
    else:
        messages = [m for t in readable for m in validate_rows(t, readable[t].rows)]
    for message in messages:
        located, cell = _locate(message, files, readable)
        if cell is not None and (cell[1], cell[2]) in readable[cell[0]].bad_cells:
            continue  # already reported as text that does not parse
        errors.append(located)
    return ImportResult(dataset=dataset, files=files, errors=tuple(errors))


def write_directory(
    dataset: Mapping[str, Sequence[Row]], directory: Path, fmt: FlatFormat = "csv"
) -> dict[str, Path]:
    """Write one file per table (columns in schema order); returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for table, spec in TABLES.items():
        path = directory / f"{table}.{fmt}"
        rows = dataset.get(table, ())
        if fmt == "csv":
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(spec.column_names)
                for row in rows:
                    writer.writerow([cell_text(row.get(c)) for c in spec.column_names])
        else:
            _write_parquet(table, rows, path)
        written[table] = path
    return written


def _write_parquet(table: str, rows: Sequence[Row], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kip.outcomes.engines import table_schema

    # The engine's schema, so a Parquet file carries the same declared types as a loaded table.
    schema = table_schema(table).to_pyarrow()
    pq.write_table(pa.Table.from_pylist([dict(r) for r in rows], schema=schema), path)
