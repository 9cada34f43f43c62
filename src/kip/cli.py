"""The `kip` command line: the protocol engine for people (Rich tables) and for scripts (JSON).

Exit codes are part of the interface for scripts and EHR integrations: 0 done, 2 the input (or the
command line) was wrong, 1 kip itself failed. Every error is one line on stderr,
`error: field: rule`, so a calling program can log it as it is; a traceback is printed only when
KIP_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer

from kip import __version__
from kip.cli_demo import demo
from kip.cli_outcomes import (
    export_cohort_command,
    import_command,
    report_command,
    reproduce_command,
)
from kip.cli_protocol import protocol_app
from kip.cli_registry import audit_app
from kip.cli_web import init, serve
from kip.protocol.errors import InputError

EXIT_INPUT = 2
EXIT_INTERNAL = 1

app = typer.Typer(
    name="kip",
    no_args_is_help=True,
    add_completion=False,
    # Markdown mode reflows docstring paragraphs; the "rich" mode keeps their source line breaks.
    rich_markup_mode="markdown",
    # Our own handler in main() reports failures; Typer's pretty tracebacks would bypass it.
    pretty_exceptions_enable=False,
)
app.add_typer(protocol_app, name="protocol")
app.add_typer(audit_app, name="audit")
app.command("reproduce")(reproduce_command)
app.command("report")(report_command)
app.command("import")(import_command)
app.command("export-cohort")(export_cohort_command)
app.command("init")(init)
app.command("serve")(serve)
app.command("demo")(demo)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"kip {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print kip's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Ketamine Infusion Program: IV ketamine protocol engine for cancer-related neuropathic pain.

    Exit codes: 0 done, 2 bad input (one line on stderr: 'error: field: rule'), 1 internal error.
    """


def _one_line(message: str) -> str:
    # Callers log stderr line by line; a message that spans lines would be split into two records.
    return " ".join(message.split())


def error(message: str) -> None:
    print(f"error: {_one_line(message)}", file=sys.stderr)


def main() -> int:
    """Console-script entry point (`kip`)."""
    debug = os.environ.get("KIP_DEBUG", "") not in ("", "0")
    try:
        # Typer exits by itself (SystemExit) on success, --help and usage errors.
        app(prog_name="kip")
    except InputError as exc:
        if debug:
            traceback.print_exc()
        error(str(exc))
        return EXIT_INPUT
    except Exception as exc:
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run with KIP_DEBUG=1 for the traceback)"
        error(f"internal error: {type(exc).__name__}: {exc}{hint}")
        return EXIT_INTERNAL
    return 0


if __name__ == "__main__":
    sys.exit(main())
