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
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

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
from kip.protocol.wording import plain_message
from kip.site.database import DatabaseUrlError

if TYPE_CHECKING:
    from typer._click import exceptions as click_errors
else:
    try:  # Typer 0.26 and later run on their own copy of Click
        from typer._click import exceptions as click_errors
    except ImportError:
        from click import exceptions as click_errors

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


def _param_name(param: object) -> str | None:
    """An option by its long name (`--format`), an argument by its name in the usage (`FILE`)."""
    opts = [str(o) for o in getattr(param, "opts", ())]
    if getattr(param, "param_type_name", "") == "argument":
        metavar = getattr(param, "metavar", None)
        return (metavar or (opts[0] if opts else "argument")).strip("{}[]").upper()
    named = [o for o in opts if o.startswith("--")] or opts
    return named[0] if named else None


def _rule(message: str) -> str:
    # Typer validates choices and dates through pydantic-style ValueErrors.
    text = " ".join(message.split()).removeprefix("Value error, ").rstrip(".")
    return text[:1].lower() + text[1:]


def _typer_rule(exc: click_errors.BadParameter) -> str | None:
    """The rule in kip's words when Typer refused the value through pydantic ("must be between 1
    and 65535" for `--port 0`, where pydantic names the broken bound only); None otherwise."""
    cause = exc.__cause__
    errors = cause.errors(include_url=False) if isinstance(cause, ValidationError) else []
    if not errors:
        return None
    error = errors[0]
    # The option's own min and max (typer.Option(min=..., max=...)) are its bounds.
    bounds = {"ge": getattr(exc.param, "min", None), "le": getattr(exc.param, "max", None)}
    ctx = {**{k: v for k, v in bounds.items() if v is not None}, **error.get("ctx", {})}
    return plain_message({**error, "ctx": ctx})


def usage_error_line(exc: click_errors.UsageError) -> str:
    """`FIELD: RULE (try 'kip ... --help')`: the option or argument at fault, then what is wrong.

    Click's own rendering (Typer draws it as a Rich box over several lines) would reach a calling
    program's log as several records; this is the one line every other kip error is.
    """
    command = exc.ctx.command_path if exc.ctx is not None else "kip"
    field: str | None = None
    rule = _rule(exc.message)
    if isinstance(exc, click_errors.MissingParameter):
        field, rule = _param_name(exc.param), "required"
    elif isinstance(exc, click_errors.BadParameter):
        field = _param_name(exc.param) or (str(exc.param_hint) if exc.param_hint else None)
        rule = _rule(_typer_rule(exc) or exc.message)
    elif isinstance(exc, click_errors.NoSuchOption):
        field, rule = exc.option_name, "no such option"
        if exc.possibilities:
            rule += f"; did you mean {' or '.join(sorted(exc.possibilities))}?"
    elif isinstance(exc, click_errors.BadOptionUsage):
        field = exc.option_name
        rule = _rule(exc.message.replace(f"Option '{exc.option_name}' ", ""))
    return f"{field or command}: {rule} (try '{command} --help')"


def _run() -> int:
    """Run the command line; Click's usage errors come back as one line and exit code 2."""
    try:
        # Not standalone: Click raises its usage errors here instead of printing them itself.
        result = app(prog_name="kip", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        return exc.exit_code  # Typer has printed the help already, as `--help` would
    except click_errors.UsageError as exc:
        error(usage_error_line(exc))
        return EXIT_INPUT
    except click_errors.ClickException as exc:
        error(exc.format_message())
        return exc.exit_code
    except typer.Abort:
        error("aborted")
        return EXIT_INTERNAL
    # A command that ends with typer.Exit(code) returns its code; one that returns, nothing.
    return result if isinstance(result, int) else 0


def main() -> int:
    """Console-script entry point (`kip`)."""
    debug = os.environ.get("KIP_DEBUG", "") not in ("", "0")
    try:
        return _run()
    except (InputError, DatabaseUrlError) as exc:
        # A bad KIP_DATABASE_URL is the user's input too: one line, exit code 2.
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


if __name__ == "__main__":
    sys.exit(main())
