"""`kip protocol ...`: read, check and apply protocol files.

Reading commands (list, show) print Rich tables for people (see kip.cli_show), or JSON with --json.
The decision commands (plan, titrate, adverse-event, classify) take a JSON request and print a JSON
decision, for scripts and EHR integrations (see kip.cli_io). Bad input is raised as InputError;
kip.cli.main turns it into one `error: field: rule` line and exit code 2.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import BaseModel

from kip.cli_io import emit_json, run_decision
from kip.cli_show import console, render_protocol, render_protocol_list
from kip.protocol import loader
from kip.protocol.errors import InputError

protocol_app = typer.Typer(
    name="protocol",
    help="Show, check and apply IV ketamine protocols (list, show, validate, schema, plan, "
    "titrate, adverse-event, classify).",
    no_args_is_help=True,
)


# --------------------------------------------------------------------------- options

RequestSource = Annotated[
    str,
    typer.Argument(
        metavar="FILE",
        help="Request as a JSON file, or - to read it from standard input.",
        show_default=False,
    ),
]
ProtocolFile = Annotated[
    Path | None,
    typer.Option(
        "--protocol-file",
        metavar="PATH",
        help="Use this protocol file (TOML) instead of the shipped protocol the request names. "
        "If the request names a protocol, its id must match the file's.",
        show_default=False,
    ),
]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON instead of tables.", show_default=False)
]


# --------------------------------------------------------------------------- list / validate


@protocol_app.command("list")
def list_command(as_json: JsonFlag = False) -> None:
    """List the protocols shipped with kip."""
    protocols = [loader.load(pid) for pid in loader.shipped_ids()]
    if as_json:
        rows = [
            {
                "id": p.id,
                "version": p.version,
                "title": p.title,
                "phases": len(p.phases),
                "delivery": p.delivery,
                "drug": p.drug,
            }
            for p in protocols
        ]
        emit_json(json.dumps(rows, indent=2))
        return
    console().print(render_protocol_list(protocols))


@protocol_app.command("validate", no_args_is_help=True)
def validate_command(
    path: Annotated[
        Path,
        typer.Argument(help="Protocol file (TOML) to check.", show_default=False),
    ],
) -> None:
    """Check a protocol file: prints 'ok: ID VERSION', or the first error and exit code 2."""
    protocol = loader.load_file(path)
    typer.echo(f"ok: {protocol.id} {protocol.version}")


# --------------------------------------------------------------------------- show


@protocol_app.command("show", no_args_is_help=True)
def show_command(
    protocol_id: Annotated[
        str | None,
        typer.Argument(
            metavar="ID",
            help="Shipped protocol id (see 'kip protocol list').",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            metavar="PATH",
            help="Show this protocol file (TOML) instead; it is validated first.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the validated protocol as JSON.", show_default=False),
    ] = False,
) -> None:
    """Show a whole protocol, readable: phases and rates, limits, eligibility, adverse events.

    Also premedication, monitoring and alert thresholds, PRN medications, follow-ups and the
    responder rule. With --json, the validated protocol as JSON.
    """
    if file is not None:
        protocol = loader.load_file(file)
        if protocol_id is not None and protocol_id != protocol.id:
            raise InputError(f"protocol: {file} is protocol {protocol.id!r}, not {protocol_id!r}")
    elif protocol_id is not None:
        protocol = loader.load(protocol_id)
    else:
        raise InputError("protocol: give a protocol id (see 'kip protocol list') or --file PATH")
    if as_json:
        emit_json(protocol.model_dump_json(indent=2))
        return
    console().print(render_protocol(protocol))


# --------------------------------------------------------------------------- schema

JsonSchemaMode = Literal["validation", "serialization"]

# Requests are documented as they are read, results as they are written.
SCHEMAS: dict[str, tuple[str, str, JsonSchemaMode]] = {
    "protocol": ("kip.protocol.model", "Protocol", "validation"),
    "plan-request": ("kip.protocol.plan", "PlanRequest", "validation"),
    "plan-result": ("kip.protocol.plan", "PlanResult", "serialization"),
    "titrate-request": ("kip.protocol.titrate", "TitrateRequest", "validation"),
    "titrate-result": ("kip.protocol.titrate", "TitrateResult", "serialization"),
    "adverse-event-request": ("kip.protocol.adverse", "AdverseEventRequest", "validation"),
    "adverse-event-result": ("kip.protocol.adverse", "AdverseEventResult", "serialization"),
    "classify-request": ("kip.protocol.classify", "ClassifyRequest", "validation"),
    "classify-result": ("kip.protocol.classify", "ClassifyResult", "serialization"),
}
SCHEMA_NAMES = tuple(SCHEMAS)


def _schema_model(name: str) -> type[BaseModel]:
    # Imported on demand: one engine module failing to import must not take the others down.
    module, attr, _ = SCHEMAS[name]
    model = getattr(importlib.import_module(module), attr)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{module}.{attr} is not a pydantic model")
    return model


def schema_text(name: str) -> str:
    """The JSON Schema document for one schema name, as written to docs/schemas/."""
    model, mode = _schema_model(name), SCHEMAS[name][2]
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **model.model_json_schema(mode=mode),
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@protocol_app.command("schema")
def schema_command(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help="One of: " + ", ".join(SCHEMA_NAMES) + ".",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Write NAME.schema.json files into DIR (all of them unless NAME is given).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the protocol format, or of a request or result.

    With --out DIR, write them as NAME.schema.json (docs/schemas/ is made this way).
    """
    if name is None and out is None:
        raise InputError("NAME: give a schema name (" + ", ".join(SCHEMA_NAMES) + ") or --out DIR")
    if name is not None and name not in SCHEMA_NAMES:
        raise InputError(f"NAME: unknown schema {name!r} (known: {', '.join(SCHEMA_NAMES)})")
    if out is None:
        assert name is not None
        sys.stdout.write(schema_text(name))
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for each in [name] if name else SCHEMA_NAMES:
            target = out / f"{each}.schema.json"
            target.write_text(schema_text(each), encoding="utf-8")
            typer.echo(f"wrote {target}")
    except OSError as exc:
        raise InputError(f"{out}: cannot write schema: {exc.strerror}") from None


# --------------------------------------------------------------------------- decisions


# The engine modules are imported inside each command: a command only pays for (and only depends
# on) its own module.


@protocol_app.command("plan", no_args_is_help=True)
def plan_command(source: RequestSource, protocol_file: ProtocolFile = None) -> None:
    """Plan the next infusion: eligibility, blockers, earliest date, rates, checklist.

    Reads a plan request (JSON; see 'kip protocol schema plan-request') and prints the plan: phase,
    start/step/maximum rates in mg/h, premedication, pre-infusion checks and follow-up dates.
    """
    from kip.protocol import plan

    run_decision(source, protocol_file, plan.PlanRequest, plan.decide)


@protocol_app.command("titrate", no_args_is_help=True)
def titrate_command(source: RequestSource, protocol_file: ProtocolFile = None) -> None:
    """Next step during an infusion: start, step up, hold, reduce or stop, and at which rate.

    Reads a titrate request (JSON; see 'kip protocol schema titrate-request'). A rate the nurse
    proposes is classified ok, soft limit (physician and reason) or refused.
    """
    from kip.protocol import titrate

    run_decision(source, protocol_file, titrate.TitrateRequest, titrate.decide)


@protocol_app.command("adverse-event", no_args_is_help=True)
def adverse_event_command(source: RequestSource, protocol_file: ProtocolFile = None) -> None:
    """Respond to an adverse event: PRN medication, physician evaluation or stop.

    Reads an adverse-event request (JSON; see 'kip protocol schema adverse-event-request') and
    prints the Table 5 category, the PRN doses allowed now within their caps and intervals, and
    what happens to the infusion.
    """
    from kip.protocol import adverse

    run_decision(source, protocol_file, adverse.AdverseEventRequest, adverse.decide)


@protocol_app.command("classify", no_args_is_help=True)
def classify_command(source: RequestSource, protocol_file: ProtocolFile = None) -> None:
    """Classify a follow-up: responder or not, relief duration band, continue or stop.

    Reads a classify request (JSON; see 'kip protocol schema classify-request').
    """
    from kip.protocol import classify

    run_decision(source, protocol_file, classify.ClassifyRequest, classify.decide)
