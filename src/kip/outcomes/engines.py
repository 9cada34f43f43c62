"""SQL engines for the analysis dataset, reached through Ibis by URL.

The outcome tables count inside the engine (kip.outcomes.counts), so the same code runs on a file
on a laptop (SQLite, DuckDB), on a shared server (PostgreSQL) and on Spark for data that outgrows
one machine (`pyspark://local`, a local session; PySpark is the optional `spark` extra). This
module only connects, and moves the analysis dataset (docs/analysis-dataset.md) in and out with
the dataset's column types:
types are declared, not inferred, because an engine guessing from data would make a boolean column
of a table with no rows a NULL-typed one, and a count over it would differ between engines.

Errors are `EngineError("engine: ...")`, a ValueError, with any password in a URL hidden.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
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
    "table_prefix",
    "table_schema",
]

DEFAULT_URL = "duckdb://"
"""An in-memory DuckDB database: the engine `kip reproduce` uses when given none."""

SCHEMES: tuple[str, ...] = ("duckdb", "sqlite", "postgresql", "postgres", "pyspark")

SPARK_THREADS = 2
"""Worker threads of a `pyspark://local` session unless the URL says `?threads=N`."""

# A local session serves tests and one-machine runs: a few shuffle partitions instead of Spark's
# 200 (each is a task, and the count tables are tiny), no web UI or console progress bar to
# fight over ports and terminals, and a UTC session so `date` columns round-trip unshifted.
_SPARK_CONF: Mapping[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}

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


def table_prefix(url: str) -> tuple[str, str]:
    """The URL without its `prefix` option, and the prefix (e.g. `?prefix=analysis_`, the
    registry's views of the dataset; migration registry 0005)."""
    parsed = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
    prefixes = [v for k, v in query if k == "prefix"]
    if not prefixes:
        return url, ""
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "prefix"])
    # Cut by hand: urlunsplit would turn sqlite:////abs/path into sqlite://abs/path.
    base = url.split("?", 1)[0]
    return (f"{base}?{rest}" if rest else base), prefixes[-1]


def connect(url: str) -> Any:
    """An Ibis backend for `duckdb://[path]`, `sqlite:///path`, `postgresql://user@host/db` or
    `pyspark://local[?threads=N&warehouse=DIR]`.

    DuckDB and SQLite are opened here rather than by `ibis.connect` so that `duckdb://` and
    `sqlite://` without a path mean an in-memory database (ibis.connect rejects both forms).
    A `prefix` option is for analysis_tables, not the driver (table_prefix).
    """
    url, _ = table_prefix(url)
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
            # As the registry reads it (kip.site.database): sqlite:///relative/path and
            # sqlite:////absolute/path, so one URL names one file for every kip command.
            return ibis.sqlite.connect(parsed.path.removeprefix("/") or None)
        if parsed.scheme == "pyspark":
            return _connect_spark(parsed)
        return ibis.connect(url)
    except EngineError:
        raise
    except Exception as exc:  # drivers raise their own types; the caller needs one
        raise EngineError(
            f"engine: cannot connect to {redact(url)}: {type(exc).__name__}: {exc}"
        ) from exc


def _connect_spark(parsed: urllib.parse.SplitResult) -> Any:
    """A local SparkSession (one per process, as Spark allows) wrapped by Ibis's PySpark backend.

    Only `local` is accepted: reaching a cluster is a deployment's business (its master URL, auth
    and storage), and a guessed default would silently run on one machine anyway.
    """
    if parsed.netloc != "local" or parsed.path not in ("", "/"):
        raise EngineError(
            f"engine: PySpark URL must be pyspark://local[?threads=N&warehouse=DIR], "
            f"got {redact(parsed.geturl())!r}"
        )
    query = urllib.parse.parse_qs(parsed.query)
    unknown = sorted(set(query) - {"threads", "warehouse"})
    if unknown:
        raise EngineError(f"engine: unknown PySpark URL option(s) {', '.join(unknown)}")
    threads = query.get("threads", [str(SPARK_THREADS)])[-1]
    if not threads.isdigit() or int(threads) < 1:
        raise EngineError(f"engine: threads must be a positive integer, got {threads!r}")
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError(
            "engine: pyspark:// needs PySpark and Java 17+ (pip install 'kip[spark]')"
        ) from exc
    if "warehouse" in query:
        warehouse = query["warehouse"][-1]
    else:
        # load_dataset writes managed tables; without a warehouse directory Spark would create
        # spark-warehouse/ in whatever the current directory is, and leave it there.
        warehouse = tempfile.mkdtemp(prefix="kip-spark-warehouse-")
        atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
    # Otherwise Spark warns at start-up when the hostname resolves to a loopback address.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(f"local[{int(threads)}]").appName("kip")
    for key, value in {**_SPARK_CONF, "spark.sql.warehouse.dir": warehouse}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)


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


def analysis_tables(con: Any, prefix: str = "") -> AnalysisTables:
    """The engine's analysis tables (named `prefix` + table, e.g. the registry's views
    `analysis_patients`), checked to have every column of the dataset's schema."""
    present = set(con.list_tables())
    tables: dict[str, Any] = {}
    for name, spec in TABLES.items():
        if prefix + name not in present:
            raise EngineError(
                f"engine: table {prefix + name!r} not found (the analysis dataset has "
                f"{', '.join(prefix + t for t in TABLES)})"
            )
        table = con.table(prefix + name)
        missing = [c for c in spec.column_names if c not in table.columns]
        if missing:
            raise EngineError(f"engine: {name}: missing column(s) {', '.join(missing)}")
        if prefix:
            # A view's computed columns have no declared type (SQLite reads a boolean as an
            # integer, PostgreSQL a rate as numeric): give them the dataset's.
            declared = table_schema(name)
            wrong = {
                c: declared[c].copy(nullable=True)
                for c in spec.column_names
                if type(table.schema()[c]) is not type(declared[c])
            }
            if wrong:
                table = table.cast(wrong)
        tables[name] = table
    return AnalysisTables(**tables)
