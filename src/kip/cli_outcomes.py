"""`kip reproduce`: every figure of Oh et al. 2021 against kip's recomputation of Tables 1-6.

The tables are counted inside an SQL engine through Ibis (kip.outcomes.tables); by default an
in-memory DuckDB loaded with the seeded study cohort (kip.synth.study). Output is a Rich table of
the mismatches for people, or every figure as JSON or CSV for scripts. Exit code 0 when every
mismatch is explained, 1 when one is not, 2 for bad input (e.g. an engine URL kip cannot use).
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from kip.cli_io import emit_json
from kip.cli_show import console
from kip.protocol.errors import InputError
from kip.synth.study import DEFAULT_SEED

if TYPE_CHECKING:
    from kip.outcomes.reproduce import FigureCheck, Reproduction

__all__ = ["reproduce_command", "run_reproduction"]

EXIT_UNEXPLAINED = 1

FIELDS: tuple[str, ...] = (
    "figure_id",
    "table",
    "row",
    "column",
    "kind",
    "published",
    "recomputed",
    "status",
    "source",
    "why",
)

_STYLE = {"match": "green", "explained": "yellow", "unexplained": "bold red"}


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def run_reproduction(url: str | None, *, seed: int, load_cohort: bool) -> Reproduction:
    """Connect, load the study cohort where asked (always for the default in-memory engine),
    count Tables 1-6 in the engine and compare every printed figure."""
    # Imported here: Ibis, PyArrow and SciPy take most of a second to load, which every other
    # kip command (kip protocol titrate at the bedside) would otherwise pay too.
    from kip.outcomes import engines
    from kip.outcomes.reproduce import reproduce
    from kip.outcomes.tables import study_tables
    from kip.synth.study import study_cohort

    target = engines.DEFAULT_URL if url is None else url
    try:
        con = engines.connect(target)
        if url is None or load_cohort:
            tables = engines.load_dataset(con, study_cohort(seed))
        else:
            tables = engines.analysis_tables(con)
        recomputed = study_tables(tables)
    except engines.EngineError as exc:
        raise InputError(str(exc)) from None
    return reproduce(recomputed, engine=engines.redact(target))


def _record(check: FigureCheck) -> dict[str, Any]:
    figure = check.figure
    return {
        "figure_id": figure.figure_id,
        "table": figure.table,
        "row": figure.row,
        "column": figure.column.value,
        "kind": figure.kind.value,
        "published": figure.value,
        "recomputed": check.recomputed,
        "status": check.status.value,
        "source": check.source,
        "why": check.why,
    }


def to_json(result: Reproduction) -> str:
    document = {
        "engine": result.engine,
        "summary": dict(result.summary),
        "figures": [_record(c) for c in result.checks],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def to_csv(result: Reproduction) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for check in result.checks:
        writer.writerow({k: "" if v is None else v for k, v in _record(check).items()})
    return buffer.getvalue()


def summary_line(result: Reproduction) -> str:
    s = result.summary
    return (
        f"{s['figures']} figures, {s['match']} match, {s['explained']} explained mismatches, "
        f"{s['unexplained']} unexplained"
    )


def render(result: Reproduction, *, show_all: bool) -> Group:
    table = Table(title=f"Oh et al. 2021 reproduced on {result.engine}", expand=True)
    for name, ratio in (("Figure", 3), ("Printed", 1), ("kip", 1), ("Status", 1), ("Why", 6)):
        table.add_column(name, ratio=ratio, overflow="fold")
    for check in result.checks:
        if show_all or check.status != "match":
            table.add_row(
                check.figure_id,
                check.figure.value,
                "" if check.recomputed is None else check.recomputed,
                Text(check.status.value, style=_STYLE[check.status]),
                check.why,
            )
    style = "green" if result.ok else "bold red"
    return Group(table, Text(summary_line(result), style=style))


def reproduce_command(
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            metavar="URL",
            help="Count in this engine: duckdb://[PATH], sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB. Its analysis tables are read as they are, "
            "unless --load-cohort. Default: an in-memory DuckDB with the study cohort.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="table (Rich), json or csv (every figure)."),
    ] = OutputFormat.TABLE,
    load_cohort: Annotated[
        bool,
        typer.Option(
            "--load-cohort",
            help="Write the seeded study cohort into --engine first, replacing its analysis "
            "tables.",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the study cohort.")] = DEFAULT_SEED,
    show_all: Annotated[
        bool,
        typer.Option("--all", help="In the table, list matching figures too.", show_default=False),
    ] = False,
) -> None:
    """Compare every figure the study printed with kip's recomputation of Tables 1-6.

    Each figure is a match, an explained mismatch (a documented error of the paper, or the test
    that gives a printed P value from the printed counts) or unexplained. Exit code 0 when none is
    unexplained, 1 otherwise.
    """
    result = run_reproduction(engine, seed=seed, load_cohort=load_cohort)
    if output is OutputFormat.JSON:
        emit_json(to_json(result))
    elif output is OutputFormat.CSV:
        typer.echo(to_csv(result), nl=False)
    else:
        console().print(render(result, show_all=show_all))
    if not result.ok:
        raise typer.Exit(EXIT_UNEXPLAINED)
