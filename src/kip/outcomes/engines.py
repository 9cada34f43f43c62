"""SQL engines for the analysis dataset, reached through Ibis by URL.

The outcome tables count inside the engine (kip.outcomes.counts), so the same code runs on a file
on a laptop (SQLite, DuckDB) and on a shared server (PostgreSQL). This module only connects, and
moves the analysis dataset (docs/analysis-dataset.md) in and out with the dataset's column types:
types are declared, not inferred, because an engine guessing from data would make a boolean column
of a table with no rows a NULL-typed one, and a count over it would differ between engines.

Errors are `EngineError("engine: ...")`, a ValueError, with any password in a URL hidden.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from kip.outcomes.dataset import TABLES, ColumnType, Row, validate_dataset

__all__ = [
    "DEFAULT_URL",
    "SCHEMES",
    "AnalysisTables",
    "EngineError",
    "analysis_tables",
    "connect",
    "load_dataset",
    "redact",
    "table_schema",
]

DEFAULT_URL = "duckdb://"
"""An in-memory DuckDB database: the engine `kip reproduce` uses when given none."""

SCHEMES: tuple[str, ...] = ("duckdb", "sqlite", "postgresql", "postgres")

_IBIS_TYPES: Mapping[ColumnType, str] = {
    "string": "string",
    "integer": "int64",
    "number": "float64",
    "boolean": "boolean",
    "date": "date",
}

# Errors from validate_dataset listed in an EngineError; the rest are counted, so the one-line
# CLI error stays readable on a broken import of thousands of rows.
_ERRORS_SHOWN = 5


class EngineError(ValueError):
    """An engine cannot be reached or does not hold a usable analysis dataset."""


@dataclass(frozen=True, slots=True)
class AnalysisTables:
    """The analysis dataset's tables as Ibis table expressions of one engine connection."""

    patients: Any
    infusions: Any
    adverse_events: Any
    adjuvants: Any
    pandemic_followups: Any


def redact(url: str) -> str:
    """The URL with its password replaced, for error messages and reports."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))


def connect(url: str) -> Any:
    """An Ibis backend for `duckdb://[path]`, `sqlite:///path` or `postgresql://user@host/db`.

    DuckDB and SQLite are opened here rather than by `ibis.connect` so that `duckdb://` and
    `sqlite://` without a path mean an in-memory database (ibis.connect rejects both forms).
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in SCHEMES:
        raise EngineError(
            f"engine: URL must start with one of {', '.join(s + '://' for s in SCHEMES)}, "
            f"got {redact(url)!r}"
        )
    try:
        if parsed.scheme == "duckdb":
            return ibis.duckdb.connect(parsed.netloc + parsed.path or ":memory:")
        if parsed.scheme == "sqlite":
            return ibis.sqlite.connect(parsed.path or None)
        return ibis.connect(url)
    except Exception as exc:  # drivers raise their own types; the caller needs one
        raise EngineError(
            f"engine: cannot connect to {redact(url)}: {type(exc).__name__}: {exc}"
        ) from exc


def table_schema(table: str) -> Any:
    """The Ibis schema of an analysis table; a "!" type is NOT NULL in the engine."""
    columns = TABLES[table].columns
    return ibis.schema({c.name: ("" if c.nullable else "!") + _IBIS_TYPES[c.type] for c in columns})


def load_dataset(
    con: Any,
    dataset: Mapping[str, Sequence[Row]],
    *,
    validate: bool = True,
    overwrite: bool = True,
) -> AnalysisTables:
    """Create the analysis tables in the engine from rows (e.g. kip.synth.study.study_cohort()).

    `validate` runs kip.outcomes.dataset.validate_dataset first: the engine would accept rows
    that break the study's definitions (a nonresponder counted as pain/AE-limited), and every
    table computed from them would be quietly wrong.
    """
    if validate:
        errors = validate_dataset(dataset)
        if errors:
            more = (
                f" (and {len(errors) - _ERRORS_SHOWN} more)" if len(errors) > _ERRORS_SHOWN else ""
            )
            raise EngineError(f"dataset: {'; '.join(errors[:_ERRORS_SHOWN])}{more}")
    for name in TABLES:
        schema = table_schema(name)
        arrow = pa.Table.from_pylist(list(dataset.get(name, ())), schema=schema.to_pyarrow())
        con.create_table(name, obj=arrow, schema=schema, overwrite=overwrite)
    return analysis_tables(con)


def analysis_tables(con: Any) -> AnalysisTables:
    """The engine's analysis tables, checked to have every column of the dataset's schema."""
    present = set(con.list_tables())
    tables: dict[str, Any] = {}
    for name, spec in TABLES.items():
        if name not in present:
            raise EngineError(
                f"engine: table {name!r} not found (the analysis dataset has {', '.join(TABLES)})"
            )
        table = con.table(name)
        missing = [c for c in spec.column_names if c not in table.columns]
        if missing:
            raise EngineError(f"engine: {name}: missing column(s) {', '.join(missing)}")
        tables[name] = table
    return AnalysisTables(**tables)
