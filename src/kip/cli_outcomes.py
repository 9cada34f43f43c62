"""`kip reproduce`, `kip report`, `kip import` and `kip export-cohort`.

`kip reproduce`: every figure of Oh et al. 2021 against kip's recomputation of Tables 1-6.

The tables are counted inside an SQL engine through Ibis (kip.outcomes.tables); by default an
in-memory DuckDB loaded with the seeded study cohort (kip.synth.study). Output is a Rich table of
the mismatches for people, or every figure as JSON or CSV for scripts. Exit code 0 when every
mismatch is explained, 1 when one is not, 2 for bad input (e.g. an engine URL kip cannot use).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, Group
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from kip.cli_io import emit_json
from kip.cli_show import console
from kip.protocol.errors import InputError
from kip.synth.study import DEFAULT_SEED

if TYPE_CHECKING:
    from kip.outcomes.flatfiles import FileError
    from kip.outcomes.report.filters import ReportFilter
    from kip.outcomes.report.model import Report
    from kip.outcomes.reproduce import FigureCheck, Reproduction

__all__ = [
    "export_cohort_command",
    "import_command",
    "report_command",
    "reproduce_command",
    "run_reproduction",
]

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


def run_reproduction(
    url: str | None,
    *,
    seed: int,
    load_cohort: bool,
    sites: Sequence[str] = (),
    date_to: date | None = None,
) -> Reproduction:
    """Connect, load the study cohort where asked (always for the default in-memory engine),
    count Tables 1-6 in the engine and compare every printed figure. `sites` and `date_to` pick
    the study's patients out of a registry that has more (`kip demo`: a second site, patients
    treated since)."""
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
            tables = engines.analysis_tables(con, engines.table_prefix(target)[1])
        if sites or date_to is not None:
            from kip.outcomes.report.filters import ReportFilter, apply_filter

            tables = apply_filter(tables, ReportFilter(date_to=date_to, sites=tuple(sites)))
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
    site: Annotated[
        list[str] | None,
        typer.Option(
            "--site", metavar="CODE", help="Patients of this site (repeatable).", show_default=False
        ),
    ] = None,
    date_to: Annotated[
        datetime | None,
        typer.Option(
            "--to",
            metavar="DATE",
            formats=["%Y-%m-%d"],
            help="Patients with an infusion on or before DATE, their infusions up to DATE (the "
            "study period, e.g. 2020-12-31).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Compare every figure the study printed with kip's recomputation of Tables 1-6.

    Each figure is a match, an explained mismatch (a documented error of the paper, or the test
    that gives a printed P value from the printed counts) or unexplained. Exit code 0 when none is
    unexplained, 1 otherwise.
    """
    result = run_reproduction(
        engine,
        seed=seed,
        load_cohort=load_cohort,
        sites=tuple(site or ()),
        date_to=None if date_to is None else date_to.date(),
    )
    if output is OutputFormat.JSON:
        emit_json(to_json(result))
    elif output is OutputFormat.CSV:
        typer.echo(to_csv(result), nl=False)
    else:
        console().print(render(result, show_all=show_all))
    if not result.ok:
        raise typer.Exit(EXIT_UNEXPLAINED)


# --- kip import / kip export-cohort -------------------------------------------------------------

# Problems listed per file before the rest are counted: enough to see a pattern (a whole column
# in the wrong format), few enough that the first one is still on screen.
ERRORS_PER_FILE = 20


class FlatFileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _report_file_errors(errors: Sequence[FileError]) -> None:
    by_file: dict[str, list[FileError]] = {}
    for problem in errors:
        by_file.setdefault(problem.file, []).append(problem)
    for name, problems in by_file.items():
        for problem in problems[:ERRORS_PER_FILE]:
            print(f"error: {_one_line(str(problem))}", file=sys.stderr)
        if len(problems) > ERRORS_PER_FILE:
            print(
                f"error: {name}: and {len(problems) - ERRORS_PER_FILE} more problem(s)",
                file=sys.stderr,
            )


def import_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="Folder with patients, infusions, adverse_events, adjuvants and "
            "pandemic_followups, each as .csv or .parquet.",
            show_default=False,
        ),
    ],
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            metavar="URL",
            help="Load into this engine: duckdb://PATH, sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB. Its analysis tables are replaced.",
            show_default=False,
        ),
    ],
) -> None:
    """Check the flat-file analysis dataset in DIR and load it into an engine.

    Every problem is one line, `error: FILE:LINE: column: rule` (LINE is the CSV line, header = 1;
    for Parquet the 1-based row). Nothing is loaded unless every file is valid. Exit code 0 when
    loaded, 2 when a file (or the engine URL) is wrong.
    """
    from kip.outcomes import engines
    from kip.outcomes.flatfiles import read_directory

    result = read_directory(directory)
    if result.errors:
        _report_file_errors(result.errors)
        files = len({e.file for e in result.errors})
        raise InputError(
            f"import: {len(result.errors)} problem(s) in {files} file(s); nothing loaded"
        )
    try:
        con = engines.connect(engine)
        engines.load_dataset(con, result.dataset)
    except engines.EngineError as exc:
        raise InputError(str(exc)) from None
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in result.dataset.items())
    typer.echo(f"loaded {counts} into {engines.redact(engine)}")


def export_cohort_command(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder to write into.", show_default=False)
    ],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the study cohort.")] = DEFAULT_SEED,
    fmt: Annotated[
        FlatFileFormat, typer.Option("--format", help="csv or parquet (one file per table).")
    ] = FlatFileFormat.CSV,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files already there.", show_default=False)
    ] = False,
) -> None:
    """Write the seeded study cohort (synthetic) as the flat-file dataset `kip import` reads.

    A template for a data manager: the columns, their order and how each type is written.
    """
    from kip.outcomes.dataset import TABLES
    from kip.outcomes.flatfiles import write_directory
    from kip.synth.study import study_cohort

    targets = [directory / f"{table}.{fmt.value}" for table in TABLES]
    existing = [p.name for p in targets if p.exists()]
    if existing and not force:
        raise InputError(f"{directory}: {', '.join(existing)} already there (--force replaces)")
    try:
        written = write_directory(study_cohort(seed), directory, fmt.value)
    except OSError as exc:
        raise InputError(f"{directory}: cannot write: {exc.strerror or exc}") from None
    typer.echo(f"wrote {', '.join(p.name for p in written.values())} to {directory}")


# --- kip report ----------------------------------------------------------------------------------


class ReportFormat(StrEnum):
    TERMINAL = "terminal"
    HTML = "html"
    MARKDOWN = "markdown"
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


class EtiologyName(StrEnum):
    TUMOR_COMPRESSION = "tumor_compression"
    CIPN = "cipn"
    POSTSURGICAL = "postsurgical"
    POSTRADIATION = "postradiation"


_BINARY = (ReportFormat.XLSX, ReportFormat.PDF)
_DRAWN = (ReportFormat.HTML, ReportFormat.PDF)


class _Steps:
    """A Rich progress bar on stderr when it is a terminal; silent in pipes, files and CI."""

    def __init__(self, total: int) -> None:
        self._progress: Progress | None = None
        if sys.stderr.isatty():
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("report", total=total)

    def step(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=description)

    def done(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=description)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def build_cli_report(url: str | None, filters: ReportFilter, *, seed: int, steps: _Steps) -> Report:
    from kip.outcomes import engines
    from kip.outcomes.report.model import EmptyReportError, build_report
    from kip.synth.study import study_cohort

    target = engines.DEFAULT_URL if url is None else url
    try:
        steps.step("connecting")
        con = engines.connect(target)
        if url is None:
            steps.step("loading the study cohort")
            tables = engines.load_dataset(con, study_cohort(seed))
            source = f"seeded study cohort (seed {seed}; synthetic, not patient data)"
        else:
            tables = engines.analysis_tables(con, engines.table_prefix(target)[1])
            source = f"analysis tables of {engines.redact(target)}"
        steps.done("counting Tables 1–6 in the engine")
        report = build_report(tables, filters, source=source, engine=engines.redact(target))
    except (engines.EngineError, EmptyReportError) as exc:
        raise InputError(str(exc)) from None
    steps.done("counted")
    return report


def render_report(report: Report, fmt: ReportFormat, steps: _Steps) -> str | bytes | Group:
    """The report in `fmt`: text, bytes (XLSX, PDF) or a Rich renderable (terminal)."""
    from kip.outcomes.report import render_csv, render_markdown, render_terminal, render_xlsx

    if fmt is ReportFormat.TERMINAL:
        return render_terminal.render_terminal(report)
    if fmt is ReportFormat.MARKDOWN:
        return render_markdown.render_markdown(report)
    if fmt is ReportFormat.CSV:
        return render_csv.render_csv(report)
    if fmt is ReportFormat.XLSX:
        return render_xlsx.render_xlsx(report)
    from kip.outcomes.report import render_html, render_pdf
    from kip.outcomes.report.figures import report_figures

    steps.step("drawing figures")
    figures = report_figures(report)
    steps.done("rendering")
    if fmt is ReportFormat.HTML:
        return render_html.render_html(report, figures)
    return render_pdf.render_pdf(report, figures)


def _write(rendered: str | bytes | Group, out: Path | None) -> None:
    if out is None:
        if isinstance(rendered, Group):
            console().print(rendered)
        else:
            assert isinstance(rendered, str)  # binary formats need --out (checked before)
            typer.echo(rendered, nl=not rendered.endswith("\n"))
        return
    try:
        if isinstance(rendered, bytes):
            out.write_bytes(rendered)
        elif isinstance(rendered, str):
            out.write_text(rendered, encoding="utf-8")
        else:
            with out.open("w", encoding="utf-8") as handle:
                Console(file=handle, width=140, highlight=False).print(rendered)
    except OSError as exc:
        raise InputError(f"--out: cannot write {out}: {exc.strerror or exc}") from None


def report_command(
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            metavar="URL",
            help="Count the analysis tables of this engine (duckdb://PATH, sqlite:///PATH, "
            "postgresql://USER@HOST:PORT/DB). Default: the seeded study cohort in an in-memory "
            "DuckDB.",
            show_default=False,
        ),
    ] = None,
    date_from: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            metavar="DATE",
            formats=["%Y-%m-%d"],
            help="Patients with an infusion on or after DATE (YYYY-MM-DD); their infusions "
            "from DATE.",
            show_default=False,
        ),
    ] = None,
    date_to: Annotated[
        datetime | None,
        typer.Option(
            "--to",
            metavar="DATE",
            formats=["%Y-%m-%d"],
            help="Patients with an infusion on or before DATE; their infusions up to DATE.",
            show_default=False,
        ),
    ] = None,
    site: Annotated[
        list[str] | None,
        typer.Option(
            "--site", metavar="CODE", help="Patients of this site (repeatable).", show_default=False
        ),
    ] = None,
    etiology: Annotated[
        list[EtiologyName] | None,
        typer.Option(
            "--etiology",
            metavar="NAME",
            help="Patients of this etiology (repeatable).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", help="terminal, html, markdown, csv, xlsx or pdf."),
    ] = ReportFormat.TERMINAL,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="PATH",
            help="Write here (needed for xlsx and pdf).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the default study cohort.")
    ] = DEFAULT_SEED,
) -> None:
    """Tables 1-6 of the study, counted in the engine after the filters, with figures.

    Filters (docs/report.md): --from/--to keep the patients with at least one infusion in the
    range (inclusive) and, for per-infusion counts, only their infusions in the range; --site
    and --etiology keep those patients. Exit code 0 when written, 2 for bad input or when no
    patient matches.
    """
    from kip.outcomes.report.filters import ReportFilter

    if fmt in _BINARY and out is None:
        raise InputError(f"--out: required for --format {fmt.value} (a binary file)")
    try:
        filters = ReportFilter(
            date_from=None if date_from is None else date_from.date(),
            date_to=None if date_to is None else date_to.date(),
            sites=tuple(site or ()),
            etiologies=tuple(e.value for e in etiology or ()),
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    steps = _Steps(total=4 if fmt in _DRAWN else 2)
    try:
        report = build_cli_report(engine, filters, seed=seed, steps=steps)
        rendered = render_report(report, fmt, steps)
    finally:
        steps.close()
    _write(rendered, out)
    if out is not None:
        typer.echo(f"wrote {out}", err=True)
